/*
 * HPKE base mode (RFC 9180 §5.1) over the KEM registry, and DHKEM(X25519, HKDF-SHA256)
 * (§4.1, §7.1.3) on libsodium's X25519; public keys from private keys (key generation,
 * DeriveKeyPair, the ephemeral key of every encapsulation) go through mls_x25519_base, the
 * Ed25519 fixed-base table, which costs about half of a variable-base multiplication.
 *
 * The key schedule follows §5.1 with mode_base, empty psk and psk_id. Export is §5.3. The
 * registry is a fixed array: the built-in KEM plus up to 15 registered ones.
 */
#include "mls/hpke.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"

/* --- DHKEM(X25519, HKDF-SHA256) --- */

static const uint8_t x25519_suite_id[5] = {'K', 'E', 'M', 0x00, 0x20};

static int x25519_derive_keypair(const mls_hpke_kem *kem, const uint8_t *ikm, size_t ikm_len, uint8_t *sk,
                                 uint8_t *pk, xw_errbuf *eb)
{
    (void)kem;
    uint8_t prk[32];
    int rc = mls_hpke_labeled_extract(MLS_HPKE_KDF_HKDF_SHA256, x25519_suite_id, 5, NULL, 0, "dkp_prk", ikm,
                                      ikm_len, prk);
    if (rc == XW_OK)
        rc = mls_hpke_labeled_expand(MLS_HPKE_KDF_HKDF_SHA256, x25519_suite_id, 5, prk, 32, "sk", NULL, 0, sk,
                                     32);
    xw_wipe(prk, sizeof prk);
    if (rc == XW_OK && mls_x25519_base(pk, sk) != XW_OK)
        rc = XW_ECRYPTO;
    if (rc != XW_OK) {
        xw_wipe(sk, 32);
        return xw_errf(eb, rc, "X25519 key derivation failed");
    }
    return XW_OK;
}

static int x25519_public_key(const mls_hpke_kem *kem, const uint8_t *sk, uint8_t *pk, xw_errbuf *eb)
{
    (void)kem;
    if (mls_x25519_base(pk, sk) != XW_OK)
        return xw_errf(eb, XW_ECRYPTO, "X25519 public key derivation failed in libsodium");
    return XW_OK;
}

static int x25519_extract_and_expand(const uint8_t *dh, const uint8_t *enc, const uint8_t *pk_r,
                                     uint8_t *shared)
{
    uint8_t prk[32], kem_context[64];
    memcpy(kem_context, enc, 32);
    memcpy(kem_context + 32, pk_r, 32);
    int rc = mls_hpke_labeled_extract(MLS_HPKE_KDF_HKDF_SHA256, x25519_suite_id, 5, NULL, 0, "eae_prk", dh,
                                      32, prk);
    if (rc == XW_OK)
        rc = mls_hpke_labeled_expand(MLS_HPKE_KDF_HKDF_SHA256, x25519_suite_id, 5, prk, 32, "shared_secret",
                                     kem_context, 64, shared, 32);
    xw_wipe(prk, sizeof prk);
    return rc;
}

static int x25519_encap(const mls_hpke_kem *kem, const uint8_t *pk, const uint8_t *rand, uint8_t *shared,
                        uint8_t *enc, xw_errbuf *eb)
{
    uint8_t sk_e[32], dh[32];
    int rc = x25519_derive_keypair(kem, rand, 32, sk_e, enc, eb);
    if (rc)
        return rc;
    if (crypto_scalarmult(dh, sk_e, pk) != 0) {
        rc =
            xw_errf(eb, XW_EBADKEY, "X25519 public key is a low-order point; the recipient's key is invalid");
    } else {
        rc = x25519_extract_and_expand(dh, enc, pk, shared);
        if (rc)
            xw_errf(eb, rc, "HPKE key derivation failed");
    }
    xw_wipe(sk_e, sizeof sk_e);
    xw_wipe(dh, sizeof dh);
    return rc;
}

static int x25519_decap(const mls_hpke_kem *kem, const uint8_t *enc, const uint8_t *sk, const uint8_t *pk,
                        uint8_t *shared, xw_errbuf *eb)
{
    uint8_t dh[32], pk_buf[32];
    if (!pk) {
        int rc = x25519_public_key(kem, sk, pk_buf, eb);
        if (rc)
            return rc;
        pk = pk_buf;
    }
    if (crypto_scalarmult(dh, sk, enc) != 0)
        return xw_errf(eb, XW_EDECRYPT,
                       "HPKE encapsulated key is a low-order X25519 point; the sender is broken "
                       "or malicious");
    int rc = x25519_extract_and_expand(dh, enc, pk, shared);
    xw_wipe(dh, sizeof dh);
    if (rc)
        return xw_errf(eb, rc, "HPKE key derivation failed");
    return XW_OK;
}

static const mls_hpke_kem kem_x25519 = {
    .id = MLS_HPKE_KEM_X25519_SHA256,
    .name = "DHKEM(X25519, HKDF-SHA256)",
    .n_secret = 32,
    .n_enc = 32,
    .n_pk = 32,
    .n_sk = 32,
    .n_encap_rand = 32,
    .derive_keypair = x25519_derive_keypair,
    .encap = x25519_encap,
    .decap = x25519_decap,
    .public_key = x25519_public_key,
};

#define KEM_SLOTS 16
static const mls_hpke_kem *kems[KEM_SLOTS] = {&kem_x25519};

const mls_hpke_kem *mls_hpke_kem_get(uint16_t id)
{
    for (size_t i = 0; i < KEM_SLOTS && kems[i]; i++)
        if (kems[i]->id == id)
            return kems[i];
    return NULL;
}

int mls_hpke_kem_register(const mls_hpke_kem *kem)
{
    if (!kem || !kem->derive_keypair || !kem->encap || !kem->decap || !kem->public_key ||
        kem->n_secret > MLS_HPKE_MAX_SECRET || kem->n_enc > MLS_HPKE_MAX_ENC || kem->n_pk > MLS_HPKE_MAX_PK ||
        kem->n_sk > MLS_HPKE_MAX_SK || kem->n_encap_rand > MLS_HPKE_MAX_RAND)
        return XW_EINVAL;
    if (mls_hpke_kem_get(kem->id))
        return XW_EEXISTS;
    for (size_t i = 0; i < KEM_SLOTS; i++)
        if (!kems[i]) {
            kems[i] = kem;
            return XW_OK;
        }
    return XW_ELIMIT;
}

/* --- key schedule --- */

int mls_hpke_suite_check(const mls_hpke_suite *s, xw_errbuf *eb)
{
    if (!mls_hpke_kem_get(s->kem_id))
        return xw_errf(eb, XW_EUNSUPPORTED, "HPKE KEM 0x%04x is not supported (built in: 0x0020 X25519)",
                       s->kem_id);
    if (!mls_hpke_kdf_nh(s->kdf_id))
        return xw_errf(eb, XW_EUNSUPPORTED, "HPKE KDF 0x%04x is not supported (HKDF-SHA256/384/512 are)",
                       s->kdf_id);
    if (s->aead_id != MLS_HPKE_AEAD_EXPORT_ONLY && !mls_hpke_aead_nk(s->aead_id))
        return xw_errf(eb, XW_EUNSUPPORTED,
                       "HPKE AEAD 0x%04x is not supported (AES-GCM and ChaCha20-Poly1305 are)", s->aead_id);
    return XW_OK;
}

static void hpke_suite_id(const mls_hpke_suite *s, uint8_t id[10])
{
    memcpy(id, "HPKE", 4);
    id[4] = (uint8_t)(s->kem_id >> 8);
    id[5] = (uint8_t)s->kem_id;
    id[6] = (uint8_t)(s->kdf_id >> 8);
    id[7] = (uint8_t)s->kdf_id;
    id[8] = (uint8_t)(s->aead_id >> 8);
    id[9] = (uint8_t)s->aead_id;
}

/* The part of KeyScheduleContext that depends only on the suite and info (mode_base,
 * psk_id_hash, info_hash): 1 + 2 * Nh bytes into ksc. */
static int key_schedule_context(const mls_hpke_suite *s, const uint8_t *info, size_t info_len, uint8_t *ksc)
{
    uint8_t sid[10];
    size_t nh = mls_hpke_kdf_nh(s->kdf_id);
    hpke_suite_id(s, sid);
    ksc[0] = 0; /* mode_base */
    int rc = mls_hpke_labeled_extract(s->kdf_id, sid, 10, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1);
    if (rc == XW_OK)
        rc = mls_hpke_labeled_extract(s->kdf_id, sid, 10, NULL, 0, "info_hash", info, info_len, ksc + 1 + nh);
    return rc;
}

/* The rest of KeySchedule from the shared secret; the exporter secret only if want_exporter
 * (single-shot sealing never exports). */
static int key_schedule_ksc(const mls_hpke_suite *s, const uint8_t *shared, size_t shared_len,
                            const uint8_t *ksc, int want_exporter, mls_hpke_ctx *ctx)
{
    uint8_t sid[10], secret[MLS_HPKE_MAX_NH];
    size_t nh = mls_hpke_kdf_nh(s->kdf_id);
    hpke_suite_id(s, sid);
    memset(ctx, 0, sizeof *ctx);
    ctx->suite = *s;
    int rc = mls_hpke_labeled_extract(s->kdf_id, sid, 10, shared, shared_len, "secret", NULL, 0, secret);
    if (rc == XW_OK && s->aead_id != MLS_HPKE_AEAD_EXPORT_ONLY) {
        rc = mls_hpke_labeled_expand(s->kdf_id, sid, 10, secret, nh, "key", ksc, 1 + 2 * nh, ctx->key,
                                     mls_hpke_aead_nk(s->aead_id));
        if (rc == XW_OK)
            rc = mls_hpke_labeled_expand(s->kdf_id, sid, 10, secret, nh, "base_nonce", ksc, 1 + 2 * nh,
                                         ctx->base_nonce, MLS_HPKE_NN);
    }
    if (rc == XW_OK && want_exporter)
        rc = mls_hpke_labeled_expand(s->kdf_id, sid, 10, secret, nh, "exp", ksc, 1 + 2 * nh,
                                     ctx->exporter_secret, nh);
    xw_wipe(secret, sizeof secret);
    if (rc)
        mls_hpke_ctx_wipe(ctx);
    return rc;
}

/* The base mode's key schedule from the KEM's shared secret; a failure is said in eb. */
static int key_schedule(const mls_hpke_suite *s, const uint8_t *shared, size_t shared_len,
                        const uint8_t *info, size_t info_len, mls_hpke_ctx *ctx, xw_errbuf *eb)
{
    uint8_t ksc[1 + 2 * MLS_HPKE_MAX_NH];
    int rc = key_schedule_context(s, info, info_len, ksc);
    if (rc == XW_OK)
        rc = key_schedule_ksc(s, shared, shared_len, ksc, 1, ctx);
    return rc ? xw_errf(eb, rc, "HPKE key schedule failed") : XW_OK;
}

int mls_hpke_setup_base_s(const mls_hpke_suite *s, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                          size_t info_len, const uint8_t *rand, uint8_t *enc, mls_hpke_ctx *ctx,
                          xw_errbuf *eb)
{
    int rc = mls_hpke_suite_check(s, eb);
    if (rc)
        return rc;
    const mls_hpke_kem *kem = mls_hpke_kem_get(s->kem_id);
    if (pk_r_len != kem->n_pk)
        return xw_errf(eb, XW_EBADKEY, "HPKE public key is %zu bytes; %s keys are %zu", pk_r_len, kem->name,
                       kem->n_pk);
    uint8_t rnd[MLS_HPKE_MAX_RAND], shared[MLS_HPKE_MAX_SECRET];
    if (!rand) {
        mls_random(rnd, kem->n_encap_rand);
        rand = rnd;
    }
    rc = kem->encap(kem, pk_r, rand, shared, enc, eb);
    if (rc == XW_OK)
        rc = key_schedule(s, shared, kem->n_secret, info, info_len, ctx, eb);
    xw_wipe(rnd, sizeof rnd);
    xw_wipe(shared, sizeof shared);
    return rc;
}

int mls_hpke_setup_base_r(const mls_hpke_suite *s, const uint8_t *enc, size_t enc_len, const uint8_t *sk_r,
                          size_t sk_r_len, const uint8_t *pk_r, const uint8_t *info, size_t info_len,
                          mls_hpke_ctx *ctx, xw_errbuf *eb)
{
    int rc = mls_hpke_suite_check(s, eb);
    if (rc)
        return rc;
    const mls_hpke_kem *kem = mls_hpke_kem_get(s->kem_id);
    if (enc_len != kem->n_enc)
        return xw_errf(eb, XW_EDECRYPT, "HPKE encapsulated key is %zu bytes; %s needs %zu", enc_len,
                       kem->name, kem->n_enc);
    if (sk_r_len != kem->n_sk)
        return xw_errf(eb, XW_EBADKEY, "HPKE private key is %zu bytes; %s keys are %zu", sk_r_len, kem->name,
                       kem->n_sk);
    uint8_t shared[MLS_HPKE_MAX_SECRET];
    rc = kem->decap(kem, enc, sk_r, pk_r, shared, eb);
    if (rc == XW_OK)
        rc = key_schedule(s, shared, kem->n_secret, info, info_len, ctx, eb);
    xw_wipe(shared, sizeof shared);
    return rc;
}

int mls_hpke_setup_base_r_shared(const mls_hpke_suite *s, const uint8_t *shared, size_t shared_len,
                                 const uint8_t *info, size_t info_len, mls_hpke_ctx *ctx, xw_errbuf *eb)
{
    int rc = mls_hpke_suite_check(s, eb);
    if (rc)
        return rc;
    const mls_hpke_kem *kem = mls_hpke_kem_get(s->kem_id);
    if (!shared || shared_len != kem->n_secret)
        return xw_errf(eb, XW_EINVAL, "HPKE shared secret is %zu bytes; %s gives %zu",
                       shared ? shared_len : 0, kem->name, kem->n_secret);
    return key_schedule(s, shared, shared_len, info, info_len, ctx, eb);
}

static void next_nonce(const mls_hpke_ctx *ctx, uint8_t nonce[MLS_HPKE_NN])
{
    memcpy(nonce, ctx->base_nonce, MLS_HPKE_NN);
    for (int i = 0; i < 8; i++)
        nonce[MLS_HPKE_NN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

int mls_hpke_seal(mls_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                  uint8_t *ct, xw_errbuf *eb)
{
    if (ctx->suite.aead_id == MLS_HPKE_AEAD_EXPORT_ONLY)
        return xw_errf(eb, XW_ESTATE, "this HPKE context is export-only and cannot seal");
    if (ctx->seq == UINT64_MAX)
        return xw_errf(eb, XW_ELIMIT, "HPKE message limit reached; set up a new context");
    if (pt_len > MLS_HPKE_MAX_PT)
        return xw_errf(eb, XW_ETOOBIG, "HPKE plaintext of %zu bytes is over the %u-byte limit", pt_len,
                       MLS_HPKE_MAX_PT);
    uint8_t nonce[MLS_HPKE_NN];
    next_nonce(ctx, nonce);
    int rc = mls_hpke_aead_seal(ctx->suite.aead_id, ctx->key, nonce, aad, aad_len, pt, pt_len, ct);
    if (rc)
        return xw_errf(eb, rc, "HPKE seal failed");
    ctx->seq++;
    return XW_OK;
}

int mls_hpke_open(mls_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                  uint8_t *pt, xw_errbuf *eb)
{
    if (ctx->suite.aead_id == MLS_HPKE_AEAD_EXPORT_ONLY)
        return xw_errf(eb, XW_ESTATE, "this HPKE context is export-only and cannot open");
    if (ctx->seq == UINT64_MAX)
        return xw_errf(eb, XW_ELIMIT, "HPKE message limit reached; set up a new context");
    if (ct_len < MLS_HPKE_TAG)
        return xw_errf(eb, XW_EDECRYPT, "HPKE ciphertext of %zu bytes is shorter than its %d-byte tag",
                       ct_len, MLS_HPKE_TAG);
    uint8_t nonce[MLS_HPKE_NN];
    next_nonce(ctx, nonce);
    int rc = mls_hpke_aead_open(ctx->suite.aead_id, ctx->key, nonce, aad, aad_len, ct, ct_len, pt);
    if (rc)
        return xw_errf(eb, rc, "HPKE ciphertext does not decrypt: wrong recipient key or tampered data");
    ctx->seq++;
    return XW_OK;
}

int mls_hpke_export(const mls_hpke_ctx *ctx, const uint8_t *exp_ctx, size_t exp_ctx_len, uint8_t *out,
                    size_t L, xw_errbuf *eb)
{
    uint8_t sid[10];
    size_t nh = mls_hpke_kdf_nh(ctx->suite.kdf_id);
    if (L > 255 * nh)
        return xw_errf(eb, XW_EINVAL, "HPKE export length %zu is over the limit of %zu", L, 255 * nh);
    hpke_suite_id(&ctx->suite, sid);
    int rc = mls_hpke_labeled_expand(ctx->suite.kdf_id, sid, 10, ctx->exporter_secret, nh, "sec", exp_ctx,
                                     exp_ctx_len, out, L);
    if (rc)
        return xw_errf(eb, rc, "HPKE export failed");
    return XW_OK;
}

void mls_hpke_ctx_wipe(mls_hpke_ctx *ctx) { xw_wipe(ctx, sizeof *ctx); }

/* The single-shot seal's output: enc, then pt sealed under ctx into ct (both emptied first,
 * and left empty on failure); wipes ctx. */
static int seal_out(mls_hpke_ctx *ctx, const uint8_t *e, size_t n_enc, const uint8_t *aad, size_t aad_len,
                    const uint8_t *pt, size_t pt_len, xw_buf *enc, xw_buf *ct, xw_errbuf *eb)
{
    xw_buf_reset(enc);
    xw_buf_reset(ct);
    uint8_t *c = NULL;
    int rc;
    if (xw_buf_append(enc, e, n_enc) != XW_OK || !(c = xw_buf_extend(ct, pt_len + MLS_HPKE_TAG)))
        rc = xw_errf(eb, XW_ETOOBIG, "HPKE output does not fit its buffer");
    else
        rc = mls_hpke_seal(ctx, aad, aad_len, pt, pt_len, c, eb);
    if (rc) {
        xw_buf_reset(enc);
        xw_buf_reset(ct);
    }
    mls_hpke_ctx_wipe(ctx);
    return rc;
}

int mls_hpke_seal_base(const mls_hpke_suite *s, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *info,
                       size_t info_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                       xw_buf *enc, xw_buf *ct, xw_errbuf *eb)
{
    int rc = mls_hpke_suite_check(s, eb);
    if (rc)
        return rc;
    if (pt_len > MLS_HPKE_MAX_PT)
        return xw_errf(eb, XW_ETOOBIG, "HPKE plaintext of %zu bytes is over the %u-byte limit", pt_len,
                       MLS_HPKE_MAX_PT);
    const mls_hpke_kem *kem = mls_hpke_kem_get(s->kem_id);
    mls_hpke_ctx ctx;
    uint8_t e[MLS_HPKE_MAX_ENC];
    rc = mls_hpke_setup_base_s(s, pk_r, pk_r_len, info, info_len, NULL, e, &ctx, eb);
    if (rc)
        return rc;
    return seal_out(&ctx, e, kem->n_enc, aad, aad_len, pt, pt_len, enc, ct, eb);
}

int mls_hpke_sealer_init(mls_hpke_sealer *z, const mls_hpke_suite *s, const uint8_t *info, size_t info_len,
                         xw_errbuf *eb)
{
    memset(z, 0, sizeof *z);
    int rc = mls_hpke_suite_check(s, eb);
    if (rc)
        return rc;
    z->suite = *s;
    if ((rc = key_schedule_context(s, info, info_len, z->ksc)) != XW_OK)
        return xw_errf(eb, rc, "HPKE key schedule failed");
    return XW_OK;
}

int mls_hpke_sealer_seal(const mls_hpke_sealer *z, const uint8_t *pk_r, size_t pk_r_len, const uint8_t *aad,
                         size_t aad_len, const uint8_t *pt, size_t pt_len, xw_buf *enc, xw_buf *ct,
                         xw_errbuf *eb)
{
    const mls_hpke_suite *s = &z->suite;
    const mls_hpke_kem *kem = mls_hpke_kem_get(s->kem_id);
    if (!kem)
        return xw_errf(eb, XW_EINVAL, "HPKE sealer used before mls_hpke_sealer_init succeeded");
    if (pt_len > MLS_HPKE_MAX_PT)
        return xw_errf(eb, XW_ETOOBIG, "HPKE plaintext of %zu bytes is over the %u-byte limit", pt_len,
                       MLS_HPKE_MAX_PT);
    if (pk_r_len != kem->n_pk)
        return xw_errf(eb, XW_EBADKEY, "HPKE public key is %zu bytes; %s keys are %zu", pk_r_len, kem->name,
                       kem->n_pk);
    uint8_t rnd[MLS_HPKE_MAX_RAND], shared[MLS_HPKE_MAX_SECRET], e[MLS_HPKE_MAX_ENC];
    mls_hpke_ctx ctx;
    mls_random(rnd, kem->n_encap_rand);
    int rc = kem->encap(kem, pk_r, rnd, shared, e, eb);
    xw_wipe(rnd, sizeof rnd);
    if (rc == XW_OK && (rc = key_schedule_ksc(s, shared, kem->n_secret, z->ksc, 0, &ctx)) != XW_OK)
        xw_errf(eb, rc, "HPKE key schedule failed");
    xw_wipe(shared, sizeof shared);
    if (rc)
        return rc;
    return seal_out(&ctx, e, kem->n_enc, aad, aad_len, pt, pt_len, enc, ct, eb);
}

int mls_hpke_open_base(const mls_hpke_suite *s, const uint8_t *enc, size_t enc_len, const uint8_t *sk_r,
                       size_t sk_r_len, const uint8_t *pk_r, const uint8_t *info, size_t info_len,
                       const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, xw_buf *pt,
                       xw_errbuf *eb)
{
    mls_hpke_ctx ctx;
    int rc = mls_hpke_setup_base_r(s, enc, enc_len, sk_r, sk_r_len, pk_r, info, info_len, &ctx, eb);
    if (rc)
        return rc;
    if (ct_len < MLS_HPKE_TAG) {
        mls_hpke_ctx_wipe(&ctx);
        return xw_errf(eb, XW_EDECRYPT, "HPKE ciphertext of %zu bytes is shorter than its %d-byte tag",
                       ct_len, MLS_HPKE_TAG);
    }
    xw_buf_reset(pt);
    uint8_t dummy[1];
    uint8_t *p = ct_len > MLS_HPKE_TAG ? xw_buf_extend(pt, ct_len - MLS_HPKE_TAG) : dummy;
    if (!p)
        rc = xw_errf(eb, XW_ETOOBIG, "HPKE plaintext of %zu bytes does not fit its buffer",
                     ct_len - MLS_HPKE_TAG);
    else
        rc = mls_hpke_open(&ctx, aad, aad_len, ct, ct_len, p, eb);
    if (rc)
        xw_buf_reset(pt);
    mls_hpke_ctx_wipe(&ctx);
    return rc;
}
