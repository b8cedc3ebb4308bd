/*
 * X-Wing KEM, draft-connolly-cfrg-xwing-kem-06 (see xwing.h), on ML-KEM-768 from mlkem.c,
 * X25519 from libsodium and SHA-3 from OpenSSL.
 *
 * Decapsulation starts from the 32-byte seed, as the draft defines it: it regenerates the
 * ML-KEM key pair (sharing the sampled matrix with the re-encryption) and the X25519 public
 * key, which the combiner needs. libsodium's crypto_scalarmult returns -1 exactly when the
 * result is all zeros, which is the low-order refusal libcrux makes.
 */
#include "mls/xwing.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/mlkem_int.h"

#define MLKEM_EK MLS_MLKEM768_EK_LEN
#define MLKEM_CT MLS_MLKEM768_CT_LEN

static const uint8_t xwing_label[6] = {0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c}; /* \./ /^\ */

/* ss = SHA3-256(ss_M || ss_X || ct_X || pk_X || label) */
static int combine(mls_pq_hash *h, const uint8_t ss_m[32], const uint8_t ss_x[32], const uint8_t ct_x[32],
                   const uint8_t pk_x[32], uint8_t ss[32])
{
    uint8_t in[32 * 4 + sizeof xwing_label];
    memcpy(in, ss_m, 32);
    memcpy(in + 32, ss_x, 32);
    memcpy(in + 64, ct_x, 32);
    memcpy(in + 96, pk_x, 32);
    memcpy(in + 128, xwing_label, sizeof xwing_label);
    int rc = mls_pq_hash_run(h, MLS_PQ_SHA3_256, in, sizeof in, NULL, 0, ss, 32);
    xw_wipe(in, sizeof in);
    return rc;
}

/* SHAKE256(sk, 96) = d || z || sk_X */
static int expand(mls_pq_hash *h, const uint8_t sk[32], uint8_t out[96])
{
    return mls_pq_hash_run(h, MLS_PQ_SHAKE256, sk, 32, NULL, 0, out, 96);
}

static int sodium_ready(void)
{
    uint8_t b;
    return mls_pq_random(&b, 1); /* initialises libsodium once */
}

int mls_xwing_keygen_derand(const uint8_t sk[MLS_XWING_SK_LEN], uint8_t pk[MLS_XWING_PK_LEN], xw_errbuf *eb)
{
    uint8_t ex[96], out[MLS_XWING_PK_LEN];
    mls_pq_hash *h = mls_pq_hash_new();
    int rc = h ? sodium_ready() : XW_ENOMEM;
    if (rc == XW_OK)
        rc = expand(h, sk, ex);
    if (rc == XW_OK)
        rc = mls_mlkem768_int_keygen_ek(h, ex, ex + 32, out);
    if (rc == XW_OK && crypto_scalarmult_curve25519_base(out + MLKEM_EK, ex + 64) != 0)
        rc = XW_ECRYPTO; /* a clamped scalar never gives zero */
    if (rc == XW_OK)
        memcpy(pk, out, sizeof out);
    xw_wipe(ex, sizeof ex);
    mls_pq_hash_free(h);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "X-Wing key generation failed: %s", xw_strerror(rc));
    return XW_OK;
}

int mls_xwing_keygen(uint8_t sk[MLS_XWING_SK_LEN], uint8_t pk[MLS_XWING_PK_LEN], xw_errbuf *eb)
{
    uint8_t seed[MLS_XWING_SK_LEN];
    int rc = mls_pq_random(seed, sizeof seed);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "the random generator (libsodium) could not start");
    rc = mls_xwing_keygen_derand(seed, pk, eb);
    if (rc == XW_OK)
        memcpy(sk, seed, sizeof seed);
    xw_wipe(seed, sizeof seed);
    return rc;
}

int mls_xwing_pk_check(const uint8_t *pk, size_t pk_len, xw_errbuf *eb)
{
    if (!pk || pk_len != MLS_XWING_PK_LEN)
        return xw_errf(eb, XW_EBADKEY,
                       "X-Wing public key is %zu bytes; it must be exactly %d (1184 ML-KEM-768 + 32 X25519)",
                       pk ? pk_len : 0, MLS_XWING_PK_LEN);
    int rc = mls_mlkem768_ek_check(pk, MLKEM_EK, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "X-Wing public key");
    return XW_OK;
}

int mls_xwing_encaps_derand(const uint8_t *pk, size_t pk_len, const uint8_t eseed[MLS_XWING_ESEED_LEN],
                            uint8_t ct[MLS_XWING_CT_LEN], uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb)
{
    int rc = mls_xwing_pk_check(pk, pk_len, eb);
    if (rc != XW_OK)
        return rc;
    const uint8_t *pk_x = pk + MLKEM_EK;
    uint8_t ss_m[32], ss_x[32], out[MLS_XWING_CT_LEN];
    mls_pq_hash *h = mls_pq_hash_new();
    rc = h ? sodium_ready() : XW_ENOMEM;
    if (rc == XW_OK)
        rc = mls_mlkem768_int_encaps(h, pk, eseed, out, ss_m);
    if (rc == XW_OK && crypto_scalarmult_curve25519_base(out + MLKEM_CT, eseed + 32) != 0)
        rc = XW_ECRYPTO;
    if (rc == XW_OK && crypto_scalarmult_curve25519(ss_x, eseed + 32, pk_x) != 0) {
        rc = xw_errf(eb, XW_EBADKEY,
                     "X-Wing public key's X25519 part is a low-order point (the shared secret would be all "
                     "zeros); refuse this key package");
        goto done;
    }
    if (rc == XW_OK)
        rc = combine(h, ss_m, ss_x, out + MLKEM_CT, pk_x, ss);
    if (rc == XW_OK)
        memcpy(ct, out, sizeof out);
    else
        rc = xw_errf(eb, rc, "X-Wing encapsulation failed: %s", xw_strerror(rc));
done:
    xw_wipe(ss_m, sizeof ss_m);
    xw_wipe(ss_x, sizeof ss_x);
    mls_pq_hash_free(h);
    return rc;
}

int mls_xwing_encaps(const uint8_t *pk, size_t pk_len, uint8_t ct[MLS_XWING_CT_LEN],
                     uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb)
{
    uint8_t eseed[MLS_XWING_ESEED_LEN];
    int rc = mls_pq_random(eseed, sizeof eseed);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "the random generator (libsodium) could not start");
    rc = mls_xwing_encaps_derand(pk, pk_len, eseed, ct, ss, eb);
    xw_wipe(eseed, sizeof eseed);
    return rc;
}

int mls_xwing_decaps(const uint8_t *sk, size_t sk_len, const uint8_t *ct, size_t ct_len,
                     uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb)
{
    if (!sk || sk_len != MLS_XWING_SK_LEN)
        return xw_errf(eb, XW_EBADKEY, "X-Wing private key is %zu bytes; it must be exactly %d (the seed)",
                       sk ? sk_len : 0, MLS_XWING_SK_LEN);
    if (!ct || ct_len != MLS_XWING_CT_LEN)
        return xw_errf(eb, XW_EMALFORMED,
                       "X-Wing ciphertext is %zu bytes; it must be exactly %d (1088 ML-KEM-768 + 32 X25519)",
                       ct ? ct_len : 0, MLS_XWING_CT_LEN);
    const uint8_t *ct_x = ct + MLKEM_CT;
    uint8_t ex[96], ss_m[32], ss_x[32], pk_x[32];
    mls_pq_hash *h = mls_pq_hash_new();
    int rc = h ? sodium_ready() : XW_ENOMEM;
    if (rc == XW_OK)
        rc = expand(h, sk, ex);
    if (rc == XW_OK)
        rc = mls_mlkem768_int_decaps_seed(h, ex, ex + 32, ct, ss_m);
    if (rc == XW_OK && crypto_scalarmult_curve25519_base(pk_x, ex + 64) != 0)
        rc = XW_ECRYPTO;
    if (rc == XW_OK && crypto_scalarmult_curve25519(ss_x, ex + 64, ct_x) != 0) {
        rc = xw_errf(eb, XW_EDECRYPT,
                     "X-Wing ciphertext's X25519 part is a low-order point (the shared secret would be all "
                     "zeros); the ciphertext was forged or corrupted");
        goto done;
    }
    if (rc == XW_OK)
        rc = combine(h, ss_m, ss_x, ct_x, pk_x, ss);
    if (rc != XW_OK)
        rc = xw_errf(eb, rc, "X-Wing decapsulation failed: %s", xw_strerror(rc));
done:
    xw_wipe(ex, sizeof ex);
    xw_wipe(ss_m, sizeof ss_m);
    xw_wipe(ss_x, sizeof ss_x);
    mls_pq_hash_free(h);
    return rc;
}
