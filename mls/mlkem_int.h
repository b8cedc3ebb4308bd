/*
 * ML-KEM-768 internals shared with X-Wing (mls/xwing.c) and the unit tests; not part of the
 * module's public contract.
 */
#ifndef XW_MLS_MLKEM_INT_H
#define XW_MLS_MLKEM_INT_H

#include <stdint.h>

#include "mls/mlkem.h"
#include "mls/pq_hash.h"

/* KeyGen_internal(d, z) writing ek only (X-Wing public key derivation). */
int mls_mlkem768_int_keygen_ek(mls_pq_hash *h, const uint8_t d[32], const uint8_t z[32],
                               uint8_t ek[MLS_MLKEM768_EK_LEN]);
/* Decaps with the key regenerated from (d, z), sharing the matrix between key generation and
 * re-encryption and skipping the §7.3 hash check (the key was just derived, so it holds). */
int mls_mlkem768_int_decaps_seed(mls_pq_hash *h, const uint8_t d[32], const uint8_t z[32],
                                 const uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN]);
/* Encaps_internal without the ek check (the caller has checked it). */
int mls_mlkem768_int_encaps(mls_pq_hash *h, const uint8_t ek[MLS_MLKEM768_EK_LEN], const uint8_t m[32],
                            uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN]);

/* Test hooks: the zeta tables must equal 17^BitRev7(i) (times 2^16, mod q). */
int16_t mls_mlkem768_int_zeta(int i);
int16_t mls_mlkem768_int_gamma(int i);

#endif
