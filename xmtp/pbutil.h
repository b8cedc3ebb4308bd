/*
 * The xmtp/ module's door to protobuf-c: decode with a size limit and a specific error,
 * allocate through common/alloc.h, encode into a bounded buffer. One place to tighten
 * decoding for every xmtp/ decoder.
 */
#ifndef XMTP_PBUTIL_H
#define XMTP_PBUTIL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* XW_ETOOBIG past max, XW_EMALFORMED for bytes that are not the message, XW_ENOMEM. On
 * success *out owns the message; free with xmtp_pb_free. */
int xmtp_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, size_t max,
                   ProtobufCMessage **out, xw_errbuf *eb);
void xmtp_pb_free(ProtobufCMessage *m);
/* Appends the encoding of m to out; out unchanged on error. */
int xmtp_pb_pack(const ProtobufCMessage *m, xw_buf *out, xw_errbuf *eb);

#endif
