/*
 * X-Wing (draft-connolly-cfrg-xwing-kem-06), the hybrid of ML-KEM-768 and X25519 that libxmtp
 * (through libcrux-kem 0.0.4, XWingKemDraft06) puts in every key package's 0xff03 extension.
 *
 *   sk (32 bytes) --SHAKE256--> d || z || sk_X (96 bytes)
 *   pk = ML-KEM-768 ek (1184) || X25519(sk_X, 9) (32)                          1216 bytes
 *   ct = ML-KEM-768 ciphertext (1088) || X25519 ephemeral public key (32)      1120 bytes
 *   ss = SHA3-256(ss_M || ss_X || ct_X || pk_X || "\./" "/^\")                  32 bytes
 *
 * Encapsulation refuses a public key whose ML-KEM half fails the FIPS 203 §7.2 check, and both
 * directions refuse an all-zero X25519 result (a low-order point), as libcrux does. Lengths are
 * checked exactly; refusals are XW_EBADKEY (public key), XW_EMALFORMED (ciphertext length) or
 * XW_EDECRYPT (low-order point in a ciphertext), each with a sentence in `eb`. Outputs are
 * written only on success. Thread-safe.
 */
#ifndef XW_MLS_XWING_H
#define XW_MLS_XWING_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MLS_XWING_SK_LEN 32
#define MLS_XWING_PK_LEN 1216
#define MLS_XWING_CT_LEN 1120
#define MLS_XWING_SS_LEN 32
#define MLS_XWING_ESEED_LEN 64 /* ML-KEM message m (32) || X25519 ephemeral secret (32) */

/* The public key of a 32-byte private key (the draft's GenerateKeyPairDerand). */
int mls_xwing_keygen_derand(const uint8_t sk[MLS_XWING_SK_LEN], uint8_t pk[MLS_XWING_PK_LEN], xw_errbuf *eb);
/* A fresh key pair. */
int mls_xwing_keygen(uint8_t sk[MLS_XWING_SK_LEN], uint8_t pk[MLS_XWING_PK_LEN], xw_errbuf *eb);

int mls_xwing_encaps_derand(const uint8_t *pk, size_t pk_len, const uint8_t eseed[MLS_XWING_ESEED_LEN],
                            uint8_t ct[MLS_XWING_CT_LEN], uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb);
int mls_xwing_encaps(const uint8_t *pk, size_t pk_len, uint8_t ct[MLS_XWING_CT_LEN],
                     uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb);

/* mls_xwing_key_new + mls_xwing_key_decaps + mls_xwing_key_free. */
int mls_xwing_decaps(const uint8_t *sk, size_t sk_len, const uint8_t *ct, size_t ct_len,
                     uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb);

/*
 * A private key prepared for repeated decapsulation: the ML-KEM-768 key pair regenerated from
 * the seed (with its sampled matrix) and the X25519 public key, computed once. A bot opens
 * every welcome sent to one key package with the same key, and this halves the cost of each.
 * Read-only after creation: one key may be used from several threads at once.
 */
typedef struct mls_xwing_key mls_xwing_key;
/* On success *out owns a new key (free with mls_xwing_key_free, which wipes it). */
int mls_xwing_key_new(const uint8_t *sk, size_t sk_len, mls_xwing_key **out, xw_errbuf *eb);
void mls_xwing_key_free(mls_xwing_key *key);
/* The 1216-byte public key, owned by `key`. */
const uint8_t *mls_xwing_key_public(const mls_xwing_key *key);
int mls_xwing_key_decaps(const mls_xwing_key *key, const uint8_t *ct, size_t ct_len,
                         uint8_t ss[MLS_XWING_SS_LEN], xw_errbuf *eb);

/* Checks a peer's public key without encapsulating: length, then the ML-KEM key check. (Any
 * 32-byte string is an X25519 key; a low-order one is caught when encapsulating.) */
int mls_xwing_pk_check(const uint8_t *pk, size_t pk_len, xw_errbuf *eb);

#endif
