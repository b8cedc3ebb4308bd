/*
 * SHA-3 and SHAKE for the post-quantum code (ML-KEM-768, X-Wing), on the project's own
 * Keccak sponge (common/keccak.h).
 *
 * A caller makes one mls_pq_hash context per operation and reuses it for every hash of that
 * operation. Each one-shot call hashes the concatenation of up to two byte strings, the shape
 * every FIPS 203 and X-Wing hash has; the streaming calls absorb any number of times and
 * squeeze SHAKE output any number of times, so ML-KEM's matrix sampling reads exactly the
 * blocks it needs. The sponge is constant-time in the hashed data, and the context's state is
 * wiped when a hash finishes and when the context is freed.
 *
 * Not thread-safe per context; contexts on different threads are independent.
 */
#ifndef XW_MLS_PQ_HASH_H
#define XW_MLS_PQ_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum {
    MLS_PQ_SHA3_256 = 0,
    MLS_PQ_SHA3_512,
    MLS_PQ_SHAKE128,
    MLS_PQ_SHAKE256,
} mls_pq_alg;

typedef struct mls_pq_hash mls_pq_hash;

/* A new context, or NULL when out of memory. Free with mls_pq_hash_free (NULL is fine). */
mls_pq_hash *mls_pq_hash_new(void);
void mls_pq_hash_free(mls_pq_hash *h);

/* out = alg(a || b), out_len bytes (32 for SHA3-256, 64 for SHA3-512, any length for SHAKE).
 * b may be NULL when b_len is 0. XW_EINVAL for a wrong fixed length or an unknown alg. */
int mls_pq_hash_run(mls_pq_hash *h, mls_pq_alg alg, const uint8_t *a, size_t a_len, const uint8_t *b,
                    size_t b_len, uint8_t *out, size_t out_len);

/* n bytes from the system's random generator (libsodium's randombytes_buf, which cannot
 * fail once libsodium is initialised; this initialises it on first use). XW_ECRYPTO when
 * libsodium cannot start. */
int mls_pq_random(uint8_t *out, size_t n);

/* Four SHAKEs side by side (alg MLS_PQ_SHAKE128 or MLS_PQ_SHAKE256): out[j] = alg(in[j]),
 * out_len bytes each, for inputs of the same in_len, shorter than one block (168 or 136 bytes).
 * XW_EINVAL otherwise. About as fast as one and a half single SHAKEs on x86-64-v3. */
int mls_pq_shake_x4(mls_pq_alg alg, const uint8_t *const in[4], size_t in_len, uint8_t *const out[4],
                    size_t out_len);

/* Streaming: begin, absorb any number of times, then squeeze. A SHAKE may be squeezed any
 * number of times, each call continuing the output; SHA3-256/512 are squeezed once with their
 * fixed length. Absorbing after a squeeze, or squeezing a finished SHA-3, is XW_EINVAL. */
int mls_pq_hash_begin(mls_pq_hash *h, mls_pq_alg alg);
int mls_pq_hash_absorb(mls_pq_hash *h, const uint8_t *p, size_t n);
int mls_pq_hash_squeeze(mls_pq_hash *h, uint8_t *out, size_t out_len);

#endif
