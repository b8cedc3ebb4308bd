/*
 * SHA-3 and SHAKE on the shared Keccak sponge (see pq_hash.h). A context is the sponge plus
 * the running function; SHA3-256/512 finish with their fixed length and wipe the state, SHAKE
 * keeps squeezing until the next begin or free.
 */
#include "mls/pq_hash.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "common/keccak.h"

struct mls_pq_hash {
    xw_keccak k;
    mls_pq_alg alg;
    int done; /* a SHA-3 output was taken: nothing more until the next begin */
};

mls_pq_hash *mls_pq_hash_new(void) { return xw_calloc(1, sizeof(mls_pq_hash)); }

void mls_pq_hash_free(mls_pq_hash *h) { xw_free_secret(h, sizeof *h); }

int mls_pq_hash_begin(mls_pq_hash *h, mls_pq_alg alg)
{
    static const unsigned rates[4] = {XW_KECCAK_RATE_SHAKE256, XW_KECCAK_RATE_SHA3_512,
                                      XW_KECCAK_RATE_SHAKE128, XW_KECCAK_RATE_SHAKE256};
    if (!h || (unsigned)alg > MLS_PQ_SHAKE256)
        return XW_EINVAL;
    int xof = alg == MLS_PQ_SHAKE128 || alg == MLS_PQ_SHAKE256;
    xw_keccak_init(&h->k, rates[alg], xof ? XW_KECCAK_DS_SHAKE : XW_KECCAK_DS_SHA3);
    h->alg = alg;
    h->done = 0;
    return XW_OK;
}

int mls_pq_hash_absorb(mls_pq_hash *h, const uint8_t *p, size_t n)
{
    if (h->k.squeezing || h->done)
        return XW_EINVAL;
    if (n)
        xw_keccak_absorb(&h->k, p, n);
    return XW_OK;
}

int mls_pq_hash_squeeze(mls_pq_hash *h, uint8_t *out, size_t out_len)
{
    if (h->k.rate == 0)
        return XW_EINVAL; /* no begin since the last one-shot hash */
    if (h->alg == MLS_PQ_SHAKE128 || h->alg == MLS_PQ_SHAKE256) {
        xw_keccak_squeeze(&h->k, out, out_len);
        return XW_OK;
    }
    if (h->done || out_len != (h->alg == MLS_PQ_SHA3_256 ? 32u : 64u))
        return XW_EINVAL;
    xw_keccak_squeeze(&h->k, out, out_len);
    xw_keccak_wipe(&h->k);
    h->done = 1;
    return XW_OK;
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
        rc = mls_pq_hash_squeeze(h, out, out_len);
    if (alg == MLS_PQ_SHAKE128 || alg == MLS_PQ_SHAKE256)
        xw_keccak_wipe(&h->k); /* one-shot: the remaining output is nobody's */
    return rc;
}

int mls_pq_shake_x4(mls_pq_alg alg, const uint8_t *const in[4], size_t in_len, uint8_t *const out[4],
                    size_t out_len)
{
    const unsigned rate = alg == MLS_PQ_SHAKE128   ? XW_KECCAK_RATE_SHAKE128
                          : alg == MLS_PQ_SHAKE256 ? XW_KECCAK_RATE_SHAKE256
                                                   : 0;
    if (!rate || in_len >= rate)
        return XW_EINVAL;
    xw_keccak_lanes4 st[25];
    memset(st, 0, sizeof st);
    for (int j = 0; j < 4; j++) {
        for (size_t i = 0; i < in_len; i++)
            st[i / 8][j] ^= (uint64_t)in[j][i] << (8 * (i % 8));
        st[in_len / 8][j] ^= (uint64_t)XW_KECCAK_DS_SHAKE << (8 * (in_len % 8));
        st[(rate - 1) / 8][j] ^= (uint64_t)0x80 << (8 * ((rate - 1) % 8));
    }
    for (size_t off = 0; off < out_len; off += rate) {
        xw_keccak_f1600_x4(st);
        size_t take = out_len - off < rate ? out_len - off : rate;
        for (int j = 0; j < 4; j++) {
            uint8_t *o = out[j] + off;
            size_t i = 0;
            for (; i + 8 <= take; i += 8)
                for (int b = 0; b < 8; b++) /* gcc merges this into one store */
                    o[i + (size_t)b] = (uint8_t)(st[i / 8][j] >> (8 * b));
            for (; i < take; i++)
                o[i] = (uint8_t)(st[i / 8][j] >> (8 * (i % 8)));
        }
    }
    explicit_bzero(st, sizeof st);
    return XW_OK;
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
