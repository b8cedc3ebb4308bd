/*
 * Ed25519ph (RFC 8032 §5.1, pre-hashed with SHA-512, phflag 1, with a context string of
 * at most 255 bytes), which XMTP uses for installation-key signatures over identity updates
 * (context "IDENTITY UPDATE SIGNATURE") and for app-level signatures ("PUBLIC SIGNATURE
 * CONTEXT"). OpenSSL 3.0 lacks it; this is built on libsodium's scalar and point
 * operations. Keys are the usual Ed25519 32-byte seed and 32-byte public key.
 *
 * Thread-safe; no allocation.
 */
#ifndef XMTP_ED25519PH_H
#define XMTP_ED25519PH_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define XMTP_ED25519_SEED_LEN 32
#define XMTP_ED25519_PK_LEN 32
#define XMTP_ED25519_SIG_LEN 64

#define XMTP_CTX_IDENTITY_UPDATE "IDENTITY UPDATE SIGNATURE"
#define XMTP_CTX_PUBLIC "PUBLIC SIGNATURE CONTEXT"

/* The public key of a seed (identical to plain Ed25519's). */
int xmtp_ed25519_public_key(const uint8_t seed[XMTP_ED25519_SEED_LEN], uint8_t pk[XMTP_ED25519_PK_LEN]);

/* Signs SHA-512(msg) with the context (ctx_len <= 255). Deterministic. */
int xmtp_ed25519ph_sign(const uint8_t seed[XMTP_ED25519_SEED_LEN], const void *ctx, size_t ctx_len,
                        const void *msg, size_t msg_len, uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb);

/*
 * XW_OK when sig is a valid Ed25519ph signature of msg under pk and the context.
 * XW_EBADKEY for a public key that is not a canonical point of the prime-order subgroup
 * (including the small-order keys), XW_EBADSIG otherwise (non-canonical S, invalid R, or
 * the equation does not hold).
 */
int xmtp_ed25519ph_verify(const uint8_t pk[XMTP_ED25519_PK_LEN], const void *ctx, size_t ctx_len,
                          const void *msg, size_t msg_len, const uint8_t sig[XMTP_ED25519_SIG_LEN],
                          xw_errbuf *eb);

#endif
