/*
 * The symmetric primitives under HPKE and MLS: hash, HMAC, HKDF (OpenSSL, SHA-NI where the
 * CPU has it) and the AEADs (AES-GCM on OpenSSL, ChaCha20-Poly1305 on libsodium).
 *
 * The OpenSSL algorithm objects are fetched once (EVP_MD_fetch / EVP_CIPHER_fetch) instead
 * of on every call: OpenSSL 3's implicit fetch behind EVP_sha256() costs more than hashing
 * the short inputs MLS feeds it. HMAC is written out (ipad/opad over digests) so that
 * its input can come in parts without being copied together.
 *
 * SHA-256, the hash of suites 1 and 3, goes through OpenSSL's one-shot SHA256_* functions
 * rather than EVP: they reach the same assembly (SHA-NI where present) without EVP's
 * per-call context allocation and dispatch, which cost more than the hashing itself for
 * the 50-100 byte inputs of ExpandWithLabel. They are marked deprecated in OpenSSL 3.0 but
 * are part of its stable ABI; SHA-384/512 stay on EVP.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "mls/hpke.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"

static pthread_once_t prim_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha384, *md_sha512;
static EVP_CIPHER *ciph_aes128gcm, *ciph_aes256gcm;
static int prim_ok;

static void prim_init(void)
{
    if (sodium_init() < 0)
        return;
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
    ciph_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    ciph_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    prim_ok = md_sha256 && md_sha384 && md_sha512 && ciph_aes128gcm && ciph_aes256gcm;
}

static int ensure(void)
{
    pthread_once(&prim_once, prim_init);
    return prim_ok;
}

void mls_random(uint8_t *out, size_t n)
{
    ensure();
    randombytes_buf(out, n);
}

/* A per-thread pool refilled 256 bytes at a time: one getrandom() call per 64 reuse guards
 * instead of one per message. Not for keys: those come from mls_random() directly. */
void mls_random_nonsecret(uint8_t *out, size_t n)
{
    static _Thread_local uint8_t pool[256];
    static _Thread_local size_t left;
    while (n) {
        if (left == 0) {
            mls_random(pool, sizeof pool);
            left = sizeof pool;
        }
        size_t take = n < left ? n : left;
        memcpy(out, pool + sizeof pool - left, take);
        sodium_memzero(pool + sizeof pool - left, take);
        left -= take;
        out += take;
        n -= take;
    }
}

static const EVP_MD *kdf_md(uint16_t kdf_id, size_t *block)
{
    if (!ensure())
        return NULL;
    switch (kdf_id) {
    case MLS_HPKE_KDF_HKDF_SHA256:
        *block = 64;
        return md_sha256;
    case MLS_HPKE_KDF_HKDF_SHA384:
        *block = 128;
        return md_sha384;
    case MLS_HPKE_KDF_HKDF_SHA512:
        *block = 128;
        return md_sha512;
    default:
        return NULL;
    }
}

size_t mls_hpke_kdf_nh(uint16_t kdf_id)
{
    switch (kdf_id) {
    case MLS_HPKE_KDF_HKDF_SHA256:
        return 32;
    case MLS_HPKE_KDF_HKDF_SHA384:
        return 48;
    case MLS_HPKE_KDF_HKDF_SHA512:
        return 64;
    default:
        return 0;
    }
}

static int digest_parts(EVP_MD_CTX *c, const EVP_MD *md, const uint8_t *pre, size_t pre_len,
                        const uint8_t *const *parts, const size_t *lens, size_t n, uint8_t *out)
{
    if (EVP_DigestInit_ex2(c, md, NULL) != 1)
        return XW_ECRYPTO;
    if (pre_len && EVP_DigestUpdate(c, pre, pre_len) != 1)
        return XW_ECRYPTO;
    for (size_t i = 0; i < n; i++)
        if (lens[i] && EVP_DigestUpdate(c, parts[i], lens[i]) != 1)
            return XW_ECRYPTO;
    return EVP_DigestFinal_ex(c, out, NULL) == 1 ? XW_OK : XW_ECRYPTO;
}

static void sha256_parts(const SHA256_CTX *start, const uint8_t *const *parts, const size_t *lens, size_t n,
                         uint8_t *out)
{
    SHA256_CTX c = *start;
    for (size_t i = 0; i < n; i++)
        if (lens[i])
            SHA256_Update(&c, parts[i], lens[i]);
    SHA256_Final(out, &c);
    sodium_memzero(&c, sizeof c);
}

_Static_assert(2 * sizeof(SHA256_CTX) <= sizeof(((mls_hmac_key *)0)->state), "HMAC state does not fit");

int mls_hmac_key_init(mls_hmac_key *k, uint16_t kdf_id, const uint8_t *key, size_t key_len)
{
    memset(k, 0, sizeof *k);
    k->kdf_id = kdf_id;
    if (kdf_id != MLS_HPKE_KDF_HKDF_SHA256) {
        if (!mls_hpke_kdf_nh(kdf_id))
            return XW_EUNSUPPORTED;
        if (key_len > sizeof k->state)
            return XW_EINVAL;
        memcpy(k->state, key, key_len);
        k->key_len = key_len;
        return XW_OK;
    }
    uint8_t kb[64] = {0}, pad[64];
    SHA256_CTX *st = (SHA256_CTX *)(void *)k->state;
    if (key_len > 64)
        SHA256(key, key_len, kb);
    else if (key_len)
        memcpy(kb, key, key_len);
    for (int i = 0; i < 64; i++)
        pad[i] = kb[i] ^ 0x36;
    SHA256_Init(&st[0]);
    SHA256_Update(&st[0], pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = kb[i] ^ 0x5c;
    SHA256_Init(&st[1]);
    SHA256_Update(&st[1], pad, 64);
    sodium_memzero(kb, sizeof kb);
    sodium_memzero(pad, sizeof pad);
    return XW_OK;
}

void mls_hmac_key_wipe(mls_hmac_key *k) { sodium_memzero(k, sizeof *k); }

static int hmac_generic(uint16_t kdf_id, const uint8_t *key, size_t key_len, const uint8_t *const *parts,
                        const size_t *lens, size_t n, uint8_t *out);

int mls_hmac_keyed(const mls_hmac_key *k, const uint8_t *const *parts, const size_t *lens, size_t n,
                   uint8_t *out)
{
    if (k->kdf_id != MLS_HPKE_KDF_HKDF_SHA256)
        return hmac_generic(k->kdf_id, k->state, k->key_len, parts, lens, n, out);
    const SHA256_CTX *st = (const SHA256_CTX *)(const void *)k->state;
    uint8_t inner[32];
    sha256_parts(&st[0], parts, lens, n, inner);
    const uint8_t *ip[1] = {inner};
    size_t il[1] = {32};
    sha256_parts(&st[1], ip, il, 1, out);
    sodium_memzero(inner, sizeof inner);
    return XW_OK;
}

int mls_hpke_kdf_hash(uint16_t kdf_id, const uint8_t *const *parts, const size_t *lens, size_t n,
                      uint8_t *out)
{
    if (kdf_id == MLS_HPKE_KDF_HKDF_SHA256) {
        SHA256_CTX c;
        SHA256_Init(&c);
        sha256_parts(&c, parts, lens, n, out);
        return XW_OK;
    }
    size_t block;
    const EVP_MD *md = kdf_md(kdf_id, &block);
    if (!md)
        return XW_EUNSUPPORTED;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c)
        return XW_ENOMEM;
    int rc = digest_parts(c, md, NULL, 0, parts, lens, n, out);
    EVP_MD_CTX_free(c);
    return rc;
}

int mls_hpke_kdf_mac(uint16_t kdf_id, const uint8_t *key, size_t key_len, const uint8_t *const *parts,
                     const size_t *lens, size_t n, uint8_t *out)
{
    if (kdf_id == MLS_HPKE_KDF_HKDF_SHA256) {
        mls_hmac_key k;
        int rc = mls_hmac_key_init(&k, kdf_id, key, key_len);
        if (rc == XW_OK)
            rc = mls_hmac_keyed(&k, parts, lens, n, out);
        mls_hmac_key_wipe(&k);
        return rc;
    }
    return hmac_generic(kdf_id, key, key_len, parts, lens, n, out);
}

/* HMAC over EVP digests, for the KDFs other than HKDF-SHA256. */
static int hmac_generic(uint16_t kdf_id, const uint8_t *key, size_t key_len, const uint8_t *const *parts,
                        const size_t *lens, size_t n, uint8_t *out)
{
    size_t block;
    const EVP_MD *md = kdf_md(kdf_id, &block);
    if (!md)
        return XW_EUNSUPPORTED;
    size_t nh = mls_hpke_kdf_nh(kdf_id);
    uint8_t k[128], pad[128], inner[MLS_HPKE_MAX_NH];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c)
        return XW_ENOMEM;
    int rc = XW_OK;
    memset(k, 0, block);
    if (key_len > block) {
        rc = digest_parts(c, md, key, key_len, NULL, NULL, 0, k);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    if (rc == XW_OK) {
        for (size_t i = 0; i < block; i++)
            pad[i] = k[i] ^ 0x36;
        rc = digest_parts(c, md, pad, block, parts, lens, n, inner);
    }
    if (rc == XW_OK) {
        for (size_t i = 0; i < block; i++)
            pad[i] = k[i] ^ 0x5c;
        const uint8_t *ip[1] = {inner};
        size_t il[1] = {nh};
        rc = digest_parts(c, md, pad, block, ip, il, 1, out);
    }
    EVP_MD_CTX_free(c);
    xw_wipe(k, sizeof k);
    xw_wipe(pad, sizeof pad);
    xw_wipe(inner, sizeof inner);
    return rc;
}

/* HKDF-Extract of the concatenated parts; an empty salt is Nh zero bytes (RFC 5869 2.2). */
static int extract_parts(uint16_t kdf_id, const uint8_t *salt, size_t salt_len, const uint8_t *const *parts,
                         const size_t *lens, size_t n, uint8_t *prk)
{
    size_t nh = mls_hpke_kdf_nh(kdf_id);
    if (!nh)
        return XW_EUNSUPPORTED;
    uint8_t zero[MLS_HPKE_MAX_NH] = {0};
    if (salt_len == 0) {
        salt = zero;
        salt_len = nh;
    }
    return mls_hpke_kdf_mac(kdf_id, salt, salt_len, parts, lens, n, prk);
}

int mls_hpke_kdf_extract(uint16_t kdf_id, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                         size_t ikm_len, uint8_t *prk)
{
    const uint8_t *p[1] = {ikm};
    size_t l[1] = {ikm_len};
    return extract_parts(kdf_id, salt, salt_len, p, l, 1, prk);
}

int mls_hpke_kdf_expand_keyed(const mls_hmac_key *prk, const uint8_t *const *info, const size_t *info_lens,
                              size_t n_info, uint8_t *out, size_t L)
{
    size_t nh = mls_hpke_kdf_nh(prk->kdf_id);
    if (!nh)
        return XW_EUNSUPPORTED;
    if (L > 255 * nh || n_info > 14)
        return XW_EINVAL;
    const uint8_t *parts[16];
    size_t lens[16];
    uint8_t t[MLS_HPKE_MAX_NH];
    uint8_t ctr = 0;
    size_t done = 0;
    int rc = XW_OK;
    while (done < L) {
        size_t k = 0;
        if (ctr > 0) {
            parts[k] = t;
            lens[k++] = nh;
        }
        for (size_t i = 0; i < n_info; i++) {
            parts[k] = info[i];
            lens[k++] = info_lens[i];
        }
        ctr++;
        parts[k] = &ctr;
        lens[k++] = 1;
        rc = mls_hmac_keyed(prk, parts, lens, k, t);
        if (rc)
            break;
        size_t take = L - done < nh ? L - done : nh;
        memcpy(out + done, t, take);
        done += take;
    }
    sodium_memzero(t, sizeof t);
    if (rc)
        sodium_memzero(out, L);
    return rc;
}

int mls_hpke_kdf_expand(uint16_t kdf_id, const uint8_t *prk, size_t prk_len, const uint8_t *const *info,
                        const size_t *info_lens, size_t n_info, uint8_t *out, size_t L)
{
    mls_hmac_key k;
    int rc = mls_hmac_key_init(&k, kdf_id, prk, prk_len);
    if (rc == XW_OK)
        rc = mls_hpke_kdf_expand_keyed(&k, info, info_lens, n_info, out, L);
    mls_hmac_key_wipe(&k);
    return rc;
}

static const uint8_t hpke_v1[7] = {'H', 'P', 'K', 'E', '-', 'v', '1'};

int mls_hpke_labeled_extract(uint16_t kdf_id, const uint8_t *suite_id, size_t suite_id_len,
                             const uint8_t *salt, size_t salt_len, const char *label, const uint8_t *ikm,
                             size_t ikm_len, uint8_t *prk)
{
    const uint8_t *p[4] = {hpke_v1, suite_id, (const uint8_t *)label, ikm};
    size_t l[4] = {sizeof hpke_v1, suite_id_len, strlen(label), ikm_len};
    return extract_parts(kdf_id, salt, salt_len, p, l, 4, prk);
}

int mls_hpke_labeled_expand(uint16_t kdf_id, const uint8_t *suite_id, size_t suite_id_len, const uint8_t *prk,
                            size_t prk_len, const char *label, const uint8_t *info, size_t info_len,
                            uint8_t *out, size_t L)
{
    if (L > 0xffff)
        return XW_EINVAL;
    uint8_t l2[2] = {(uint8_t)(L >> 8), (uint8_t)L};
    const uint8_t *p[5] = {l2, hpke_v1, suite_id, (const uint8_t *)label, info};
    size_t l[5] = {2, sizeof hpke_v1, suite_id_len, strlen(label), info_len};
    return mls_hpke_kdf_expand(kdf_id, prk, prk_len, p, l, 5, out, L);
}

/* --- AEAD --- */

size_t mls_hpke_aead_nk(uint16_t aead_id)
{
    switch (aead_id) {
    case MLS_HPKE_AEAD_AES128GCM:
        return 16;
    case MLS_HPKE_AEAD_AES256GCM:
    case MLS_HPKE_AEAD_CHACHA20POLY1305:
        return 32;
    default:
        return 0;
    }
}

static int gcm(const EVP_CIPHER *ciph, int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
               size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag)
{
    if (in_len > INT32_MAX || aad_len > INT32_MAX)
        return XW_ETOOBIG;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return XW_ENOMEM;
    int rc = XW_ECRYPTO, n = 0;
    if (EVP_CipherInit_ex2(c, ciph, key, nonce, enc, NULL) != 1)
        goto done;
    if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
        goto done;
    if (in_len && EVP_CipherUpdate(c, out, &n, in, (int)in_len) != 1)
        goto done;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, MLS_HPKE_TAG, tag) != 1)
        goto done;
    if (EVP_CipherFinal_ex(c, out + n, &n) != 1) {
        rc = enc ? XW_ECRYPTO : XW_EDECRYPT;
        goto done;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, MLS_HPKE_TAG, tag) != 1)
        goto done;
    rc = XW_OK;
done:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int mls_hpke_aead_seal(uint16_t aead_id, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    if (!ensure())
        return XW_ECRYPTO;
    switch (aead_id) {
    case MLS_HPKE_AEAD_AES128GCM:
        return gcm(ciph_aes128gcm, 1, key, nonce, aad, aad_len, pt, pt_len, out, out + pt_len);
    case MLS_HPKE_AEAD_AES256GCM:
        return gcm(ciph_aes256gcm, 1, key, nonce, aad, aad_len, pt, pt_len, out, out + pt_len);
    case MLS_HPKE_AEAD_CHACHA20POLY1305:
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + pt_len, NULL, pt, pt_len, aad, aad_len,
                                                           NULL, nonce, key);
        return XW_OK;
    default:
        return XW_EUNSUPPORTED;
    }
}

int mls_hpke_aead_open(uint16_t aead_id, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *out)
{
    if (!ensure())
        return XW_ECRYPTO;
    if (ct_len < MLS_HPKE_TAG)
        return XW_EDECRYPT;
    size_t n = ct_len - MLS_HPKE_TAG;
    uint8_t tag[MLS_HPKE_TAG];
    memcpy(tag, ct + n, MLS_HPKE_TAG);
    int rc;
    switch (aead_id) {
    case MLS_HPKE_AEAD_AES128GCM:
        rc = gcm(ciph_aes128gcm, 0, key, nonce, aad, aad_len, ct, n, out, tag);
        break;
    case MLS_HPKE_AEAD_AES256GCM:
        rc = gcm(ciph_aes256gcm, 0, key, nonce, aad, aad_len, ct, n, out, tag);
        break;
    case MLS_HPKE_AEAD_CHACHA20POLY1305:
        rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, ct, n, tag, aad, aad_len, nonce,
                                                                key) == 0
                 ? XW_OK
                 : XW_EDECRYPT;
        break;
    default:
        return XW_EUNSUPPORTED;
    }
    if (rc != XW_OK && n)
        xw_wipe(out, n);
    return rc;
}
