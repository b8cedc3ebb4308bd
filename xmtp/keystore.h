/*
 * Key storage format: wallet and installation keys as small versioned blobs, meant for a
 * BLOB column of the installation's SQLite database (or any file the operator protects).
 *
 *   "XWK1" | kind (1 = wallet, 2 = installation) | 32-byte secret | public check
 *   public check: wallet -> its 20-byte address; installation -> its 32-byte public key
 *
 * Loading recomputes the public part from the secret and refuses a blob whose check does
 * not match (XW_ECORRUPT), so a truncated or bit-flipped key is caught before it signs
 * anything. The blobs are secrets: serialize into an xw_buf and release it with
 * xw_buf_free_secret(). Thread-safe.
 */
#ifndef XMTP_KEYSTORE_H
#define XMTP_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "xmtp/installation.h"
#include "xmtp/wallet.h"

#define XMTP_KEYBLOB_WALLET_LEN (4 + 1 + 32 + 20)
#define XMTP_KEYBLOB_INSTALLATION_LEN (4 + 1 + 32 + 32)

int xmtp_wallet_serialize(const xmtp_wallet *w, xw_buf *out, xw_errbuf *eb);
int xmtp_wallet_deserialize(const uint8_t *blob, size_t len, xmtp_wallet **out, xw_errbuf *eb);
int xmtp_installation_key_serialize(const xmtp_installation_key *k, xw_buf *out, xw_errbuf *eb);
int xmtp_installation_key_deserialize(const uint8_t *blob, size_t len, xmtp_installation_key **out,
                                      xw_errbuf *eb);

#endif
