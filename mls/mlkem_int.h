/*
 * ML-KEM-768 internals shared with X-Wing (mls/xwing.c) and the unit tests; not part of the
 * module's public contract.
 */
#ifndef XW_MLS_MLKEM_INT_H
#define XW_MLS_MLKEM_INT_H

#include <stdint.h>

#include "mls/hpke.h" /* mls_x25519_base */
#include "mls/mlkem.h"
#include "mls/pq_hash.h"

/* A key pair held expanded (matrix, s_hat, H(ek), z), for X-Wing, which keeps only the seed
 * and regenerates the pair; from_seed is KeyGen_internal(d, z). The key is read-only after
 * creation, so one key may serve several threads (each with its own hash context). */
typedef struct mls_mlkem768_int_key mls_mlkem768_int_key;
int mls_mlkem768_int_key_from_seed(mls_pq_hash *h, const uint8_t d[32], const uint8_t z[32],
                                   mls_mlkem768_int_key **out);
const uint8_t *mls_mlkem768_int_key_ek(const mls_mlkem768_int_key *k); /* 1184 bytes */
/* Decaps_internal, reusing the stored matrix for the re-encryption. */
int mls_mlkem768_int_key_decaps(mls_pq_hash *h, const mls_mlkem768_int_key *k,
                                const uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN]);
void mls_mlkem768_int_key_free(mls_mlkem768_int_key *k); /* wipes the secrets; NULL is fine */
/* Encaps_internal without the ek check (the caller has checked it). */
int mls_mlkem768_int_encaps(mls_pq_hash *h, const uint8_t ek[MLS_MLKEM768_EK_LEN], const uint8_t m[32],
                            uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN]);

/* Test hooks: the zeta tables must equal 17^BitRev7(i) (times 2^16, mod q). */
int16_t mls_mlkem768_int_zeta(int i);
int16_t mls_mlkem768_int_gamma(int i);

#endif
