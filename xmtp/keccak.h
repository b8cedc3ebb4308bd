/*
 * Keccak-256: the original Keccak submission with 0x01 padding, as Ethereum uses it for
 * addresses and EIP-191/EIP-55. It is not SHA3-256 (which pads with 0x06), so OpenSSL 3.0's
 * SHA-3 cannot stand in for it.
 *
 * One-shot xmtp_keccak256() or the streaming context. No allocation; thread-safe.
 */
#ifndef XMTP_KECCAK_H
#define XMTP_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include "common/keccak.h"

#define XMTP_KECCAK256_LEN 32

typedef struct {
    xw_keccak k; /* the shared sponge, rate 136, domain byte 0x01 */
} xmtp_keccak_ctx;

void xmtp_keccak256_init(xmtp_keccak_ctx *c);
void xmtp_keccak256_update(xmtp_keccak_ctx *c, const void *data, size_t len);
/* Writes the digest and wipes the context. */
void xmtp_keccak256_final(xmtp_keccak_ctx *c, uint8_t out[XMTP_KECCAK256_LEN]);
void xmtp_keccak256(const void *data, size_t len, uint8_t out[XMTP_KECCAK256_LEN]);

#endif
