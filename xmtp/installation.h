/*
 * Installation keys: the Ed25519 key of one XMTP installation (one device or one worker).
 * Its public key is the installation id, the MLS credential's signature key, and the
 * identity that identity updates grant messaging access to. It signs identity updates with
 * Ed25519ph under the context "IDENTITY UPDATE SIGNATURE" and MLS objects with plain Ed25519.
 *
 * Opaque handle owning the 32-byte seed; xmtp_installation_key_free() wipes it. Thread-safe.
 */
#ifndef XMTP_INSTALLATION_H
#define XMTP_INSTALLATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "xmtp/ed25519ph.h"

typedef struct xmtp_installation_key xmtp_installation_key;

int xmtp_installation_key_generate(xmtp_installation_key **out, xw_errbuf *eb);
int xmtp_installation_key_from_seed(const uint8_t seed[XMTP_ED25519_SEED_LEN], xmtp_installation_key **out,
                                    xw_errbuf *eb);
void xmtp_installation_key_free(xmtp_installation_key *k);

/* The 32-byte public key (the installation id); valid as long as k. */
const uint8_t *xmtp_installation_key_public(const xmtp_installation_key *k);
/* Copies the seed out (for storage; the caller wipes its copy). */
void xmtp_installation_key_seed(const xmtp_installation_key *k, uint8_t out[XMTP_ED25519_SEED_LEN]);

/* Ed25519ph over text with XMTP_CTX_IDENTITY_UPDATE: the identity-update signature. */
int xmtp_installation_key_sign_identity(const xmtp_installation_key *k, const void *text, size_t len,
                                        uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb);
/* Ed25519ph with any context (e.g. XMTP_CTX_PUBLIC for app-level signatures). */
int xmtp_installation_key_sign_ph(const xmtp_installation_key *k, const char *ctx, const void *msg,
                                  size_t len, uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb);
/* Plain Ed25519 (RFC 8032 pure), as MLS signs with the installation key. */
int xmtp_installation_key_sign(const xmtp_installation_key *k, const void *msg, size_t len,
                               uint8_t sig[XMTP_ED25519_SIG_LEN], xw_errbuf *eb);

#endif
