/*
 * Ethereum wallets: secp256k1 keys (libsecp256k1), EIP-191 personal-message signatures with
 * public-key recovery, and addresses (Keccak-256 of the public key, last 20 bytes) in the
 * lowercase form XMTP uses inside inbox ids and the EIP-55 checksummed form for display.
 *
 * A wallet is an opaque handle owning its 32-byte secret; xmtp_wallet_free() wipes it.
 * Functions are thread-safe; one wallet may be used from several threads for signing.
 */
#ifndef XMTP_WALLET_H
#define XMTP_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define XMTP_ADDRESS_LEN 20
#define XMTP_ADDRESS_STRLEN 42 /* "0x" + 40 hex digits, without the NUL */
#define XMTP_WALLET_SECRET_LEN 32
#define XMTP_ECDSA_SIG_LEN 65 /* r(32) s(32) v(1) */

typedef struct xmtp_wallet xmtp_wallet;

/* A new random key (libsodium's CSPRNG). */
int xmtp_wallet_generate(xmtp_wallet **out, xw_errbuf *eb);
/* From a 32-byte secret; XW_EBADKEY if it is zero or not below the curve order. */
int xmtp_wallet_from_secret(const uint8_t secret[XMTP_WALLET_SECRET_LEN], xmtp_wallet **out, xw_errbuf *eb);
/* From 64 hex digits with or without "0x" (the XMTP_WALLET_KEY format). */
int xmtp_wallet_from_hex(const char *hex, xmtp_wallet **out, xw_errbuf *eb);
/* Wipes and frees; NULL is fine. */
void xmtp_wallet_free(xmtp_wallet *w);

/* Copies the secret out (for storage; the caller wipes its copy). */
void xmtp_wallet_secret(const xmtp_wallet *w, uint8_t out[XMTP_WALLET_SECRET_LEN]);
void xmtp_wallet_address(const xmtp_wallet *w, uint8_t out[XMTP_ADDRESS_LEN]);
/* Uncompressed public key: 0x04 || X || Y. */
void xmtp_wallet_public_key(const xmtp_wallet *w, uint8_t out[65]);

/* EIP-191 version 0x45: Keccak-256("\x19Ethereum Signed Message:\n" || decimal(len) || msg). */
void xmtp_eip191_hash(const void *msg, size_t len, uint8_t out[32]);
/* Signs the EIP-191 hash of msg: r || s || v with low s and v = 27 + parity, as wallets do. */
int xmtp_wallet_sign_personal(const xmtp_wallet *w, const void *msg, size_t len,
                              uint8_t sig[XMTP_ECDSA_SIG_LEN], xw_errbuf *eb);

/*
 * Recovers the address that signed msg with an EIP-191 signature. sig must be 65 bytes with
 * v in {0, 1, 27, 28} (what libxmtp accepts); a high s is accepted and normalised. When
 * replay_key is not NULL it receives the canonical form r || low-s || parity(0/1), the same
 * for every accepted encoding of one signature: use it for replay protection.
 * XW_EBADSIG when the bytes are not a recoverable signature.
 */
int xmtp_eip191_recover(const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
                        uint8_t addr[XMTP_ADDRESS_LEN], uint8_t replay_key[XMTP_ECDSA_SIG_LEN],
                        xw_errbuf *eb);

/* Address of an uncompressed (65-byte, 0x04-prefixed) secp256k1 public key. */
int xmtp_address_from_pubkey(const uint8_t *pub, size_t len, uint8_t out[XMTP_ADDRESS_LEN], xw_errbuf *eb);

/* "0x" + lowercase hex + NUL into out[43]. */
void xmtp_address_to_lower(const uint8_t a[XMTP_ADDRESS_LEN], char out[XMTP_ADDRESS_STRLEN + 1]);
/* "0x" + EIP-55 mixed-case hex + NUL into out[43]. */
void xmtp_address_to_eip55(const uint8_t a[XMTP_ADDRESS_LEN], char out[XMTP_ADDRESS_STRLEN + 1]);

/* Parsing flags. */
#define XMTP_ADDR_STRICT_CHECKSUM 1 /* mixed-case text must be a valid EIP-55 checksum */
/*
 * Parses "0x" + 40 hex digits (len bytes of s). All-lowercase and all-uppercase digits are
 * always accepted (libxmtp lowercases addresses without checking); mixed case is checked
 * against EIP-55 when XMTP_ADDR_STRICT_CHECKSUM is set. XW_EMALFORMED otherwise.
 */
int xmtp_address_parse(const char *s, size_t len, unsigned flags, uint8_t out[XMTP_ADDRESS_LEN],
                       xw_errbuf *eb);

#endif
