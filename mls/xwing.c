/*
 * X-Wing KEM, draft-connolly-cfrg-xwing-kem-06 (see xwing.h), on ML-KEM-768 from mlkem.c,
 * X25519 from libsodium and SHA-3 from the Keccak sponge in common/keccak.c.
 *
 * The private key is the 32-byte seed, as the draft and libxmtp define it. Everything else is
 * derived from it: mls_xwing_key regenerates the ML-KEM key pair (keeping the sampled matrix
 * for the re-encryption of every decapsulation) and the X25519 public key that the combiner
 * needs. libsodium's crypto_scalarmult returns -1 exactly when the result is all zeros, which
 * is the low-order refusal libcrux makes. Secrets are wiped with explicit_bzero before return.
 */
#include "mls/xwing.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/mlkem_int.h"

#define MLKEM_EK MLS_MLKEM768_EK_LEN
#define MLKEM_CT MLS_MLKEM768_CT_LEN

static const uint8_t xwing_label[6] = {0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c}; /* \./ /^\ */

struct mls_xwing_key {
    mls_mlkem768_int_key *mk;
    uint8_t sk_x[32];
    uint8_t pk[MLS_XWING_PK_LEN]; /* ek_M || pk_X */
};

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
    explicit_bzero(in, sizeof in);
    return rc;
}

static int sodium_ready(void)
{
    uint8_t b;
    return mls_pq_random(&b, 1); /* initialises libsodium once */
}

void mls_xwing_key_free(mls_xwing_key *key)
{
    if (!key)
        return;
    mls_mlkem768_int_key_free(key->mk);
    explicit_bzero(key->sk_x, sizeof key->sk_x);
    xw_free(key);
}

/* The key from the seed, with h supplied by the caller. */
static int key_new(mls_pq_hash *h, const uint8_t sk[32], mls_xwing_key **out)
{
    uint8_t ex[96]; /* SHAKE256(sk, 96) = d || z || sk_X */
    mls_xwing_key *key = xw_calloc(1, sizeof *key);
    int rc = key ? sodium_ready() : XW_ENOMEM;
    if (rc == XW_OK)
        rc = mls_pq_hash_run(h, MLS_PQ_SHAKE256, sk, 32, NULL, 0, ex, sizeof ex);
    if (rc == XW_OK)
        rc = mls_mlkem768_int_key_from_seed(h, ex, ex + 32, &key->mk);
    if (rc == XW_OK) {
        memcpy(key->pk, mls_mlkem768_int_key_ek(key->mk), MLKEM_EK);
        memcpy(key->sk_x, ex + 64, 32);
        if (mls_x25519_base(key->pk + MLKEM_EK, key->sk_x) != XW_OK)
            rc = XW_ECRYPTO; /* a clamped scalar never gives zero */
    }
    explicit_bzero(ex, sizeof ex);
    if (rc != XW_OK) {
        mls_xwing_key_free(key);
        return rc;
    }
    *out = key;
    return XW_OK;
}

int mls_xwing_key_new(const uint8_t *sk, size_t sk_len, mls_xwing_key **out, xw_errbuf *eb)
{
    if (!sk || sk_len != MLS_XWING_SK_LEN)
        return xw_errf(eb, XW_EBADKEY, "X-Wing private key is %zu bytes; it must be exactly %d (the seed)",
                       sk ? sk_len : 0, MLS_XWING_SK_LEN);
    mls_pq_hash *h = mls_pq_hash_new();
    int rc = h ? key_new(h, sk, out) : XW_ENOMEM;
    mls_pq_hash_free(h);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "X-Wing key expansion failed: %s", xw_strerror(rc));
    return XW_OK;
}

const uint8_t *mls_xwing_key_public(const mls_xwing_key *key) { return key->pk; }

int mls_xwing_key_decaps(const mls_xwing_key *key, const uint8_t *ct, size_t ct_len,
                         uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb)
{
    if (!ct || ct_len != MLS_XWING_CT_LEN)
        return xw_errf(eb, XW_EMALFORMED,
                       "X-Wing ciphertext is %zu bytes; it must be exactly %d (1088 ML-KEM-768 + 32 X25519)",
                       ct ? ct_len : 0, MLS_XWING_CT_LEN);
    const uint8_t *ct_x = ct + MLKEM_CT;
    uint8_t ss_m[32], ss_x[32], out[32];
    mls_pq_hash *h = mls_pq_hash_new();
    int rc = h ? XW_OK : XW_ENOMEM;
    if (rc == XW_OK && crypto_scalarmult_curve25519(ss_x, key->sk_x, ct_x) != 0) {
        rc = xw_errf(eb, XW_EDECRYPT,
                     "X-Wing ciphertext's X25519 part is a low-order point (the shared secret would be all "
                     "zeros); the ciphertext was forged or corrupted");
        goto done;
    }
    if (rc == XW_OK)
        rc = mls_mlkem768_int_key_decaps(h, key->mk, ct, ss_m);
    if (rc == XW_OK)
        rc = combine(h, ss_m, ss_x, ct_x, key->pk + MLKEM_EK, out);
    if (rc == XW_OK)
        memcpy(ss, out, sizeof out);
    else
        rc = xw_errf(eb, rc, "X-Wing decapsulation failed: %s", xw_strerror(rc));
done:
    explicit_bzero(ss_m, sizeof ss_m);
    explicit_bzero(ss_x, sizeof ss_x);
    explicit_bzero(out, sizeof out);
    mls_pq_hash_free(h);
    return rc;
}

int mls_xwing_decaps(const uint8_t *sk, size_t sk_len, const uint8_t *ct, size_t ct_len,
                     uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb)
{
    if (!sk || sk_len != MLS_XWING_SK_LEN)
        return xw_errf(eb, XW_EBADKEY, "X-Wing private key is %zu bytes; it must be exactly %d (the seed)",
                       sk ? sk_len : 0, MLS_XWING_SK_LEN);
    if (!ct || ct_len != MLS_XWING_CT_LEN) /* checked before the expensive expansion */
        return xw_errf(eb, XW_EMALFORMED,
                       "X-Wing ciphertext is %zu bytes; it must be exactly %d (1088 ML-KEM-768 + 32 X25519)",
                       ct ? ct_len : 0, MLS_XWING_CT_LEN);
    mls_xwing_key *key = NULL;
    int rc = mls_xwing_key_new(sk, sk_len, &key, eb);
    if (rc == XW_OK)
        rc = mls_xwing_key_decaps(key, ct, ct_len, ss, eb);
    mls_xwing_key_free(key);
    return rc;
}

int mls_xwing_keygen_derand(const uint8_t sk[MLS_XWING_SK_LEN], uint8_t pk[MLS_XWING_PK_LEN], xw_errbuf *eb)
{
    mls_xwing_key *key = NULL;
    int rc = mls_xwing_key_new(sk, MLS_XWING_SK_LEN, &key, eb);
    if (rc == XW_OK)
        memcpy(pk, key->pk, MLS_XWING_PK_LEN);
    mls_xwing_key_free(key);
    return rc;
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
    explicit_bzero(seed, sizeof seed);
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
    uint8_t ss_m[32], ss_x[32], out_ss[32], out[MLS_XWING_CT_LEN];
    mls_pq_hash *h = mls_pq_hash_new();
    rc = h ? sodium_ready() : XW_ENOMEM;
    if (rc == XW_OK && crypto_scalarmult_curve25519(ss_x, eseed + 32, pk_x) != 0) {
        rc = xw_errf(eb, XW_EBADKEY,
                     "X-Wing public key's X25519 part is a low-order point (the shared secret would be all "
                     "zeros); refuse this key package");
        goto done;
    }
    if (rc == XW_OK && mls_x25519_base(out + MLKEM_CT, eseed + 32) != XW_OK)
        rc = XW_ECRYPTO;
    if (rc == XW_OK)
        rc = mls_mlkem768_int_encaps(h, pk, eseed, out, ss_m);
    if (rc == XW_OK)
        rc = combine(h, ss_m, ss_x, out + MLKEM_CT, pk_x, out_ss);
    if (rc == XW_OK) {
        memcpy(ct, out, sizeof out);
        memcpy(ss, out_ss, sizeof out_ss);
    } else {
        rc = xw_errf(eb, rc, "X-Wing encapsulation failed: %s", xw_strerror(rc));
    }
done:
    explicit_bzero(ss_m, sizeof ss_m);
    explicit_bzero(ss_x, sizeof ss_x);
    explicit_bzero(out_ss, sizeof out_ss);
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
    explicit_bzero(eseed, sizeof eseed);
    return rc;
}
