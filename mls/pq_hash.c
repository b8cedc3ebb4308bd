/*
 * SHA-3 and SHAKE on OpenSSL 3.0's EVP (see pq_hash.h). The four EVP_MD objects are fetched
 * from the default provider once (pthread_once) and kept for the life of the process; a
 * context wraps one EVP_MD_CTX that EVP_DigestInit_ex2 re-initialises for each hash.
 */
#include "mls/pq_hash.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>

#include "common/alloc.h"

struct mls_pq_hash {
    EVP_MD_CTX *ctx;
    mls_pq_alg alg; /* of the running streaming hash */
};

static EVP_MD *pq_mds[4];
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

static void pq_fetch(void)
{
    static const char *const names[4] = {"SHA3-256", "SHA3-512", "SHAKE128", "SHAKE256"};
    for (int i = 0; i < 4; i++)
        pq_mds[i] = EVP_MD_fetch(NULL, names[i], NULL);
}

static const EVP_MD *pq_md(mls_pq_alg alg)
{
    pthread_once(&pq_once, pq_fetch);
    if ((unsigned)alg > MLS_PQ_SHAKE256)
        return NULL;
    return pq_mds[alg];
}

mls_pq_hash *mls_pq_hash_new(void)
{
    mls_pq_hash *h = xw_calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx) {
        xw_free(h);
        return NULL;
    }
    return h;
}

void mls_pq_hash_free(mls_pq_hash *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx); /* OpenSSL cleanses the Keccak state */
    xw_free(h);
}

static int pq_final(mls_pq_hash *h, mls_pq_alg alg, uint8_t *out, size_t out_len)
{
    if (alg == MLS_PQ_SHAKE128 || alg == MLS_PQ_SHAKE256)
        return EVP_DigestFinalXOF(h->ctx, out, out_len) == 1 ? XW_OK : XW_ECRYPTO;
    if (out_len != (alg == MLS_PQ_SHA3_256 ? 32u : 64u))
        return XW_EINVAL;
    unsigned int n = 0;
    return EVP_DigestFinal_ex(h->ctx, out, &n) == 1 && n == out_len ? XW_OK : XW_ECRYPTO;
}

int mls_pq_hash_begin(mls_pq_hash *h, mls_pq_alg alg)
{
    const EVP_MD *md = pq_md(alg);
    if (!h || !md || EVP_DigestInit_ex2(h->ctx, md, NULL) != 1)
        return XW_ECRYPTO;
    h->alg = alg;
    return XW_OK;
}

int mls_pq_hash_absorb(mls_pq_hash *h, const uint8_t *p, size_t n)
{
    if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
        return XW_ECRYPTO;
    return XW_OK;
}

int mls_pq_hash_squeeze(mls_pq_hash *h, uint8_t *out, size_t out_len)
{
    return pq_final(h, h->alg, out, out_len);
}

int mls_pq_hash_run(mls_pq_hash *h, mls_pq_alg alg, const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len, uint8_t *out, size_t out_len)
{
    int rc = mls_pq_hash_begin(h, alg);
    if (rc == XW_OK)
        rc = mls_pq_hash_absorb(h, a, a_len);
    if (rc == XW_OK)
        rc = mls_pq_hash_absorb(h, b, b_len);
    if (rc == XW_OK)
        rc = pq_final(h, alg, out, out_len);
    return rc;
}

static int pq_sodium_ok;
static pthread_once_t pq_sodium_once = PTHREAD_ONCE_INIT;

static void pq_sodium_init(void) { pq_sodium_ok = sodium_init() >= 0; }

int mls_pq_random(uint8_t *out, size_t n)
{
    pthread_once(&pq_sodium_once, pq_sodium_init);
    if (!pq_sodium_ok)
        return XW_ECRYPTO;
    randombytes_buf(out, n);
    return XW_OK;
}
