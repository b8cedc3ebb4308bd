/*
 * ML-KEM-768 (FIPS 203, August 2024): key generation, encapsulation with the encapsulation-key
 * check of §7.2, decapsulation with the decapsulation-key check of §7.3 and implicit rejection.
 *
 * Keys and ciphertexts are byte strings of the FIPS 203 sizes below. Functions that take
 * bytes from outside say how long they are, and anything of the wrong length or that fails
 * its check is refused with XW_EBADKEY / XW_EMALFORMED and a sentence in `eb`; outputs are
 * written only on success. Everything that touches secrets runs in constant time: no branch
 * or table index depends on a secret, and decapsulation compares the re-encrypted ciphertext
 * without an early exit (the implicit-rejection key replaces the real one through a mask).
 *
 * The `_derand` variants take the randomness FIPS 203 calls d, z and m (KeyGen_internal,
 * Encaps_internal) and exist for test vectors and X-Wing; the others draw it from libsodium.
 *
 * All functions are thread-safe. Return XW_OK, or XW_ENOMEM / XW_ECRYPTO (libsodium could not start).
 */
#ifndef XW_MLS_MLKEM_H
#define XW_MLS_MLKEM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MLS_MLKEM768_EK_LEN 1184
#define MLS_MLKEM768_DK_LEN 2400
#define MLS_MLKEM768_CT_LEN 1088
#define MLS_MLKEM768_SS_LEN 32
#define MLS_MLKEM768_SEED_LEN 32 /* each of d, z and m */

/* ML-KEM.KeyGen_internal(d, z) -> (ek, dk). */
int mls_mlkem768_keygen_derand(const uint8_t d[MLS_MLKEM768_SEED_LEN], const uint8_t z[MLS_MLKEM768_SEED_LEN],
                               uint8_t ek[MLS_MLKEM768_EK_LEN], uint8_t dk[MLS_MLKEM768_DK_LEN]);
/* The same from the 64-byte seed form d || z (the private key format of Wycheproof and the
 * IETF drafts); XW_EBADKEY unless seed_len is 64. */
int mls_mlkem768_keygen_seed(const uint8_t *seed, size_t seed_len, uint8_t ek[MLS_MLKEM768_EK_LEN],
                             uint8_t dk[MLS_MLKEM768_DK_LEN], xw_errbuf *eb);
/* ML-KEM.KeyGen with fresh randomness. */
int mls_mlkem768_keygen(uint8_t ek[MLS_MLKEM768_EK_LEN], uint8_t dk[MLS_MLKEM768_DK_LEN]);

/* FIPS 203 §7.2: ek is 1184 bytes and every coefficient of its 12-bit encoding is below 3329.
 * XW_EBADKEY, naming the first bad coefficient, when not. */
int mls_mlkem768_ek_check(const uint8_t *ek, size_t ek_len, xw_errbuf *eb);
/* FIPS 203 §7.3: dk is 2400 bytes and SHA3-256 of its embedded ek equals its stored hash. */
int mls_mlkem768_dk_check(const uint8_t *dk, size_t dk_len, xw_errbuf *eb);

/* ML-KEM.Encaps_internal(ek, m) after the ek check -> (ct, ss). */
int mls_mlkem768_encaps_derand(const uint8_t *ek, size_t ek_len, const uint8_t m[MLS_MLKEM768_SEED_LEN],
                               uint8_t ct[MLS_MLKEM768_CT_LEN], uint8_t ss[MLS_MLKEM768_SS_LEN],
                               xw_errbuf *eb);
int mls_mlkem768_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[MLS_MLKEM768_CT_LEN],
                        uint8_t ss[MLS_MLKEM768_SS_LEN], xw_errbuf *eb);

/* ML-KEM.Decaps(dk, ct) after the length checks and the dk check. A ciphertext of the right
 * length always "succeeds": a forged one yields the implicit-rejection key SHAKE256(z || ct). */
int mls_mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
                        uint8_t ss[MLS_MLKEM768_SS_LEN], xw_errbuf *eb);

#endif
