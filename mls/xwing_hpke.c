/*
 * X-Wing HPKE KEM tables for the registry of mls/hpke.c (see xwing_hpke.h). Each function
 * is a thin adapter over mls/xwing.h; the two tables differ only in their id.
 */
#include "mls/xwing_hpke.h"

#include <pthread.h>
#include <string.h>

#include "mls/hpke.h"
#include "mls/pq_hash.h"
#include "mls/xwing.h"

static int xw_hpke_derive_keypair(const mls_hpke_kem *kem, const uint8_t *ikm, size_t ikm_len, uint8_t *sk,
                                  uint8_t *pk, xw_errbuf *eb)
{
    (void)kem;
    uint8_t seed[MLS_XWING_SK_LEN];
    mls_pq_hash *h = mls_pq_hash_new();
    if (!h)
        return xw_errf(eb, XW_ENOMEM, "out of memory deriving an X-Wing key pair");
    int rc = mls_pq_hash_run(h, MLS_PQ_SHAKE256, ikm, ikm_len, NULL, 0, seed, sizeof seed);
    mls_pq_hash_free(h);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "SHAKE256 failed in OpenSSL while deriving an X-Wing key pair");
    rc = mls_xwing_keygen_derand(seed, pk, eb);
    if (rc == XW_OK)
        memcpy(sk, seed, sizeof seed);
    explicit_bzero(seed, sizeof seed);
    return rc;
}

static int xw_hpke_encap(const mls_hpke_kem *kem, const uint8_t *pk, const uint8_t *rand, uint8_t *shared,
                         uint8_t *enc, xw_errbuf *eb)
{
    return mls_xwing_encaps_derand(pk, kem->n_pk, rand, enc, shared, eb);
}

static int xw_hpke_decap(const mls_hpke_kem *kem, const uint8_t *enc, const uint8_t *sk, const uint8_t *pk,
                         uint8_t *shared, xw_errbuf *eb)
{
    (void)pk; /* X-Wing derives everything from the seed */
    return mls_xwing_decaps(sk, kem->n_sk, enc, kem->n_enc, shared, eb);
}

static int xw_hpke_public_key(const mls_hpke_kem *kem, const uint8_t *sk, uint8_t *pk, xw_errbuf *eb)
{
    (void)kem;
    return mls_xwing_keygen_derand(sk, pk, eb);
}

#define XWING_KEM(kem_id, kem_name)                                                                          \
    {                                                                                                        \
        .id = (kem_id), .name = (kem_name), .n_secret = MLS_XWING_SS_LEN, .n_enc = MLS_XWING_CT_LEN,         \
        .n_pk = MLS_XWING_PK_LEN, .n_sk = MLS_XWING_SK_LEN, .n_encap_rand = MLS_XWING_ESEED_LEN,             \
        .derive_keypair = xw_hpke_derive_keypair, .encap = xw_hpke_encap, .decap = xw_hpke_decap,            \
        .public_key = xw_hpke_public_key,                                                                    \
    }

static const mls_hpke_kem kem_xwing_libxmtp =
    XWING_KEM(MLS_HPKE_KEM_XWING_LIBXMTP, "X-Wing (libxmtp id 0x004D)");
static const mls_hpke_kem kem_xwing_draft = XWING_KEM(MLS_HPKE_KEM_XWING_DRAFT, "X-Wing (draft id 0x647A)");

static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static int reg_rc;

static void reg_run(void)
{
    reg_rc = mls_hpke_kem_register(&kem_xwing_libxmtp);
    if (reg_rc == XW_OK || reg_rc == XW_EEXISTS)
        reg_rc = mls_hpke_kem_register(&kem_xwing_draft);
    if (reg_rc == XW_EEXISTS)
        reg_rc = XW_OK;
}

int mls_xwing_hpke_register(xw_errbuf *eb)
{
    pthread_once(&reg_once, reg_run);
    if (reg_rc != XW_OK)
        return xw_errf(eb, reg_rc, "cannot register X-Wing with HPKE: %s", xw_strerror(reg_rc));
    return XW_OK;
}
