/*
 * The cipher suite table and the RFC 9420 labeled functions over mls/hpke.h's primitives,
 * with Ed25519 from libsodium. Labeled inputs are fed to the KDF in parts, so ExpandWithLabel
 * and friends never allocate; SignWithLabel builds SignContent in a stack buffer when it is
 * small and on the heap otherwise (libsodium's Ed25519 takes one contiguous message).
 */
#include "mls/crypto.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/tls.h"

static const mls_suite suites[] = {
    {.id = 1,
     .name = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
     .hpke = {MLS_HPKE_KEM_X25519_SHA256, MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_AES128GCM},
     .sig_scheme = MLS_SIG_ED25519,
     .nh = 32,
     .nk = 16,
     .nn = 12,
     .sig_pub_len = 32,
     .sig_seed_len = 32,
     .sig_len = 64,
     .hpke_pub_len = 32,
     .hpke_priv_len = 32},
    {.id = 3,
     .name = "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
     .hpke = {MLS_HPKE_KEM_X25519_SHA256, MLS_HPKE_KDF_HKDF_SHA256, MLS_HPKE_AEAD_CHACHA20POLY1305},
     .sig_scheme = MLS_SIG_ED25519,
     .nh = 32,
     .nk = 32,
     .nn = 12,
     .sig_pub_len = 32,
     .sig_seed_len = 32,
     .sig_len = 64,
     .hpke_pub_len = 32,
     .hpke_priv_len = 32},
};

static const uint8_t mls_prefix[8] = {'M', 'L', 'S', ' ', '1', '.', '0', ' '};

const mls_suite *mls_suite_get(uint16_t id)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

int mls_suite_lookup(uint16_t id, const mls_suite **out, xw_errbuf *eb)
{
    *out = mls_suite_get(id);
    if (!*out)
        return xw_errf(
            eb, XW_EUNSUPPORTED,
            "cipher suite %u (0x%04x) is not supported; this implementation supports suites 1 and 3", id, id);
    return XW_OK;
}

int mls_hash(const mls_suite *s, const uint8_t *p, size_t n, uint8_t *out)
{
    const uint8_t *parts[1] = {p};
    return mls_hpke_kdf_hash(s->hpke.kdf_id, parts, &n, 1, out);
}

int mls_hash2(const mls_suite *s, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
              uint8_t *out)
{
    const uint8_t *parts[2] = {a, b};
    size_t lens[2] = {a_len, b_len};
    return mls_hpke_kdf_hash(s->hpke.kdf_id, parts, lens, 2, out);
}

int mls_mac(const mls_suite *s, const uint8_t *key, size_t key_len, const uint8_t *p, size_t n, uint8_t *out)
{
    const uint8_t *parts[1] = {p};
    return mls_hpke_kdf_mac(s->hpke.kdf_id, key, key_len, parts, &n, 1, out);
}

int mls_mac_verify(const mls_suite *s, const uint8_t *key, size_t key_len, const uint8_t *p, size_t n,
                   const uint8_t *tag, size_t tag_len)
{
    uint8_t want[MLS_MAX_HASH];
    int rc = mls_mac(s, key, key_len, p, n, want);
    if (rc)
        return rc;
    if (tag_len != s->nh || sodium_memcmp(want, tag, s->nh) != 0)
        return XW_EMLS_TAG;
    return XW_OK;
}

int mls_extract(const mls_suite *s, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                uint8_t *out)
{
    return mls_hpke_kdf_extract(s->hpke.kdf_id, salt, salt_len, ikm, ikm_len, out);
}

static size_t put_varint(uint8_t *out, size_t v)
{
    if (v < 0x40) {
        out[0] = (uint8_t)v;
        return 1;
    }
    if (v < 0x4000) {
        out[0] = (uint8_t)(0x40 | (v >> 8));
        out[1] = (uint8_t)v;
        return 2;
    }
    out[0] = (uint8_t)(0x80 | (v >> 24));
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
    return 4;
}

int mls_expand_with_label_keyed(const mls_suite *s, const mls_hmac_key *secret, const void *label,
                                size_t label_len, const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t L)
{
    if (L > 0xffff || label_len > MLS_VARINT_MAX - 8 || ctx_len > MLS_VARINT_MAX ||
        secret->kdf_id != s->hpke.kdf_id)
        return XW_EINVAL;
    uint8_t hdr[6], cl[4];
    hdr[0] = (uint8_t)(L >> 8);
    hdr[1] = (uint8_t)L;
    size_t hl = 2 + put_varint(hdr + 2, label_len + 8);
    size_t cll = put_varint(cl, ctx_len);
    const uint8_t *parts[5] = {hdr, mls_prefix, label, cl, ctx};
    size_t lens[5] = {hl, 8, label_len, cll, ctx_len};
    return mls_hpke_kdf_expand_keyed(secret, parts, lens, 5, out, L);
}

int mls_expand_with_label(const mls_suite *s, const uint8_t *secret, const void *label, size_t label_len,
                          const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t L)
{
    mls_hmac_key k;
    int rc = mls_hmac_key_init(&k, s->hpke.kdf_id, secret, s->nh);
    if (rc == XW_OK)
        rc = mls_expand_with_label_keyed(s, &k, label, label_len, ctx, ctx_len, out, L);
    mls_hmac_key_wipe(&k);
    return rc;
}

int mls_derive_tree_secret_keyed(const mls_suite *s, const mls_hmac_key *secret, const char *label,
                                 uint32_t generation, uint8_t *out, size_t L)
{
    uint8_t g[4] = {(uint8_t)(generation >> 24), (uint8_t)(generation >> 16), (uint8_t)(generation >> 8),
                    (uint8_t)generation};
    return mls_expand_with_label_keyed(s, secret, label, strlen(label), g, 4, out, L);
}

int mls_derive_secret(const mls_suite *s, const uint8_t *secret, const char *label, uint8_t *out)
{
    return mls_expand_with_label(s, secret, label, strlen(label), NULL, 0, out, s->nh);
}

int mls_derive_tree_secret(const mls_suite *s, const uint8_t *secret, const char *label, uint32_t generation,
                           uint8_t *out, size_t L)
{
    uint8_t g[4] = {(uint8_t)(generation >> 24), (uint8_t)(generation >> 16), (uint8_t)(generation >> 8),
                    (uint8_t)generation};
    return mls_expand_with_label(s, secret, label, strlen(label), g, 4, out, L);
}

int mls_ref_hash(const mls_suite *s, const void *label, size_t label_len, const uint8_t *value, size_t n,
                 uint8_t *out)
{
    if (label_len > MLS_VARINT_MAX || n > MLS_VARINT_MAX)
        return XW_EINVAL;
    uint8_t ll[4], vl[4];
    const uint8_t *parts[4] = {ll, label, vl, value};
    size_t lens[4] = {put_varint(ll, label_len), label_len, put_varint(vl, n), n};
    return mls_hpke_kdf_hash(s->hpke.kdf_id, parts, lens, 4, out);
}

int mls_aead_seal(const mls_suite *s, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                  size_t aad_len, const uint8_t *pt, size_t n, uint8_t *out)
{
    return mls_hpke_aead_seal(s->hpke.aead_id, key, nonce, aad, aad_len, pt, n, out);
}

int mls_aead_open(const mls_suite *s, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                  size_t aad_len, const uint8_t *ct, size_t n, uint8_t *out)
{
    return mls_hpke_aead_open(s->hpke.aead_id, key, nonce, aad, aad_len, ct, n, out);
}

/* --- signatures --- */

int mls_sig_priv_from_seed(const mls_suite *s, const uint8_t *seed, size_t n, mls_sig_priv *out,
                           xw_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (s->sig_scheme != MLS_SIG_ED25519)
        return xw_errf(eb, XW_EUNSUPPORTED, "signature scheme 0x%04x is not supported", s->sig_scheme);
    if (n != crypto_sign_SEEDBYTES)
        return xw_errf(eb, XW_EBADKEY, "Ed25519 private key is %zu bytes; it must be the 32-byte seed", n);
    mls_random(out->pub, 0); /* initialises libsodium */
    crypto_sign_seed_keypair(out->pub, out->sk, seed);
    out->pub_len = 32;
    out->scheme = s->sig_scheme;
    return XW_OK;
}

int mls_sig_priv_generate(const mls_suite *s, mls_sig_priv *out)
{
    uint8_t seed[32];
    mls_random(seed, sizeof seed);
    int rc = mls_sig_priv_from_seed(s, seed, sizeof seed, out, NULL);
    xw_wipe(seed, sizeof seed);
    return rc;
}

void mls_sig_priv_wipe(mls_sig_priv *k) { xw_wipe(k, sizeof *k); }

/* Builds SignContent {opaque label<V> = "MLS 1.0 " + label; opaque content<V>} in buf or on the heap. */
static uint8_t *sign_content(const char *label, const uint8_t *content, size_t n, uint8_t *buf,
                             size_t buf_len, size_t *out_len)
{
    size_t ll = strlen(label) + 8;
    if (ll > MLS_VARINT_MAX || n > MLS_VARINT_MAX)
        return NULL;
    size_t total = mls_varint_size(ll) + ll + mls_varint_size(n) + n;
    uint8_t *p = total <= buf_len ? buf : xw_malloc(total);
    if (!p)
        return NULL;
    size_t o = put_varint(p, ll);
    memcpy(p + o, mls_prefix, 8);
    memcpy(p + o + 8, label, ll - 8);
    o += ll;
    o += put_varint(p + o, n);
    if (n)
        memcpy(p + o, content, n);
    *out_len = total;
    return p;
}

int mls_sign_with_label(const mls_suite *s, const mls_sig_priv *k, const char *label, const uint8_t *content,
                        size_t n, uint8_t *sig, xw_errbuf *eb)
{
    if (k->scheme != s->sig_scheme)
        return xw_errf(eb, XW_EBADKEY, "signature key is for scheme 0x%04x but the suite uses 0x%04x",
                       k->scheme, s->sig_scheme);
    uint8_t buf[1024];
    size_t len = 0;
    uint8_t *msg = sign_content(label, content, n, buf, sizeof buf, &len);
    if (!msg)
        return xw_errf(eb, XW_ENOMEM, "cannot build the %zu-byte content to sign", n);
    crypto_sign_detached(sig, NULL, msg, len, k->sk);
    if (msg != buf)
        xw_free(msg);
    return XW_OK;
}

int mls_verify_with_label(const mls_suite *s, const uint8_t *pub, size_t pub_len, const char *label,
                          const uint8_t *content, size_t n, const uint8_t *sig, size_t sig_len, xw_errbuf *eb)
{
    if (pub_len != s->sig_pub_len)
        return xw_errf(eb, XW_EBADKEY, "signature public key is %zu bytes; Ed25519 keys are %zu", pub_len,
                       s->sig_pub_len);
    if (sig_len != s->sig_len)
        return xw_errf(eb, XW_EBADSIG, "%s signature is %zu bytes; Ed25519 signatures are %zu", label,
                       sig_len, s->sig_len);
    uint8_t buf[1024];
    size_t len = 0;
    uint8_t *msg = sign_content(label, content, n, buf, sizeof buf, &len);
    if (!msg)
        return xw_errf(eb, XW_ENOMEM, "cannot build the %zu-byte signed content", n);
    mls_random(buf, 0);
    int ok = crypto_sign_verify_detached(sig, msg, len, pub) == 0;
    if (msg != buf)
        xw_free(msg);
    if (!ok)
        return xw_errf(eb, XW_EBADSIG, "%s signature does not verify with the sender's key", label);
    return XW_OK;
}

/* --- public-key encryption --- */

/* EncryptContext {opaque label<V> = "MLS 1.0 " + label; opaque context<V>} */
static int encrypt_context(const char *label, const uint8_t *ctx, size_t ctx_len, xw_buf *out)
{
    mls_writer w;
    mls_writer_init(&w, out);
    size_t ll = strlen(label);
    mls_write_varint(&w, ll + 8);
    mls_write_fixed(&w, mls_prefix, 8);
    mls_write_fixed(&w, label, ll);
    mls_write_opaque(&w, ctx, ctx_len);
    return w.err;
}

int mls_label_sealer_init(mls_hpke_sealer *z, const mls_suite *s, const char *label, const uint8_t *ctx,
                          size_t ctx_len, xw_errbuf *eb)
{
    xw_buf info;
    xw_buf_init(&info, (size_t)1 << 28);
    int rc = encrypt_context(label, ctx, ctx_len, &info);
    if (rc)
        rc = xw_errf(eb, rc, "cannot build the %s encryption context", label);
    else
        rc = mls_hpke_sealer_init(z, &s->hpke, info.data, info.len, eb);
    xw_buf_free(&info);
    return rc;
}

int mls_encrypt_with_label(const mls_suite *s, const uint8_t *pub, size_t pub_len, const char *label,
                           const uint8_t *ctx, size_t ctx_len, const uint8_t *pt, size_t n,
                           xw_buf *kem_output, xw_buf *ct, xw_errbuf *eb)
{
    mls_hpke_sealer z;
    int rc = mls_label_sealer_init(&z, s, label, ctx, ctx_len, eb);
    if (rc == XW_OK)
        rc = mls_hpke_sealer_seal(&z, pub, pub_len, NULL, 0, pt, n, kem_output, ct, eb);
    return rc;
}

int mls_decrypt_with_label(const mls_suite *s, const uint8_t *priv, size_t priv_len, const uint8_t *pub,
                           const char *label, const uint8_t *ctx, size_t ctx_len, const uint8_t *kem_output,
                           size_t kem_len, const uint8_t *ct, size_t ct_len, xw_buf *pt, xw_errbuf *eb)
{
    xw_buf info;
    xw_buf_init(&info, (size_t)1 << 28);
    int rc = encrypt_context(label, ctx, ctx_len, &info);
    if (rc)
        rc = xw_errf(eb, rc, "cannot build the %s encryption context", label);
    else
        rc = mls_hpke_open_base(&s->hpke, kem_output, kem_len, priv, priv_len, pub, info.data, info.len, NULL,
                                0, ct, ct_len, pt, eb);
    xw_buf_free(&info);
    return rc;
}

int mls_derive_keypair(const mls_suite *s, const uint8_t *secret, size_t n, uint8_t *priv, uint8_t *pub,
                       xw_errbuf *eb)
{
    const mls_hpke_kem *kem = mls_hpke_kem_get(s->hpke.kem_id);
    if (!kem)
        return xw_errf(eb, XW_EUNSUPPORTED, "HPKE KEM 0x%04x is not available", s->hpke.kem_id);
    return kem->derive_keypair(kem, secret, n, priv, pub, eb);
}
