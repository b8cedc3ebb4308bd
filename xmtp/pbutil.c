/*
 * protobuf-c glue for xmtp/: thin wrappers over proto/pb.h, which walks the wire bytes
 * before protobuf-c sees them (nesting limit, UTF-8 and NUL-free strings, well-formed tags)
 * and allocates through common/alloc.h. Keeping the xmtp_pb_* names lets xmtp/ tighten its
 * decoding in one place.
 */
#include "xmtp/pbutil.h"

#include "proto/pb.h"

int xmtp_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, size_t max,
                   ProtobufCMessage **out, xw_errbuf *eb)
{
    *out = NULL;
    if (!data && len)
        return xw_errf(eb, XW_EINVAL, "no bytes given for %s", desc->short_name);
    return xw_pb_decode(desc, data ? data : (const uint8_t *)"", len, max, out, eb);
}

void xmtp_pb_free(ProtobufCMessage *m) { xw_pb_free(m); }

int xmtp_pb_pack(const ProtobufCMessage *m, xw_buf *out, xw_errbuf *eb) { return xw_pb_encode(m, out, eb); }
