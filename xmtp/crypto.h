/*
 * One-time initialisation shared by the xmtp/ crypto files: libsodium's sodium_init() and
 * a randomised libsecp256k1 signing context. Every public function that needs them calls
 * xmtp_crypto_init() itself; callers never have to. Thread-safe (pthread_once).
 */
#ifndef XMTP_CRYPTO_H
#define XMTP_CRYPTO_H

#include <secp256k1.h>

/* Returns 0, or -1 when libsodium cannot start (no entropy source): then nothing works. */
int xmtp_crypto_init(void);
/* The shared signing/verification context (after xmtp_crypto_init() returned 0). */
const secp256k1_context *xmtp_secp_ctx(void);

#endif
