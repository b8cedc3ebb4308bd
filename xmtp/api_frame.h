/*
 * gRPC message framing on the client side (grpc/doc/PROTOCOL-HTTP2.md): a response body is
 * a sequence of messages, each a 1-byte compressed flag, a 4-byte big-endian length and the
 * message. The deframer takes the body in whatever pieces HTTP/2 delivers and hands out
 * whole messages; a length above the maximum is refused from the prefix alone, before
 * anything is buffered. Also the percent-decoding of grpc-message.
 *
 * One owner at a time.
 */
#ifndef XW_XMTP_API_FRAME_H
#define XW_XMTP_API_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct {
    uint8_t hdr[5];
    size_t hdr_have;
    size_t need; /* bytes of the current message still to come */
    int in_msg;
    size_t max;
    xw_buf msg;
} xmtp_grpc_deframer;

void xmtp_grpc_deframer_init(xmtp_grpc_deframer *d, size_t max_message);
void xmtp_grpc_deframer_free(xmtp_grpc_deframer *d);

/* Returns 0 to go on, non-zero to stop. msg is valid during the call only. */
typedef int (*xmtp_grpc_msg_fn)(void *ctx, const uint8_t *msg, size_t len);

/* Feeds n body bytes. XW_OK; XW_ECLOSED when fn asked to stop; XW_EPROTOCOL (compressed
 * flag) or XW_ETOOBIG (length above the maximum) with a sentence in eb. */
int xmtp_grpc_deframe(xmtp_grpc_deframer *d, const uint8_t *p, size_t n, xmtp_grpc_msg_fn fn, void *ctx,
                      xw_errbuf *eb);
/* 1 when the body so far ends inside a message (a truncated response). */
int xmtp_grpc_deframer_partial(const xmtp_grpc_deframer *d);

/* Decodes a percent-encoded grpc-message value (n bytes) into out (NUL-terminated, cut to cap). */
void xmtp_grpc_pct_decode(const char *in, size_t n, char *out, size_t cap);

#endif
