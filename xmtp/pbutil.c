/*
 * protobuf-c glue for xmtp/: the allocator routes through xw_malloc so that the
 * allocation-failure hooks of the tests reach inside the decoder; sizes are checked
 * before protobuf-c sees the bytes.
 */
#include "xmtp/pbutil.h"

#include "common/alloc.h"

static void *pb_alloc(void *data, size_t n)
{
    (void)data;
    return xw_malloc(n ? n : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    xw_free(p);
}

static ProtobufCAllocator allocator = {pb_alloc, pb_free, NULL};

int xmtp_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, size_t max,
                   ProtobufCMessage **out, xw_errbuf *eb)
{
    *out = NULL;
    if (len > max)
        return xw_errf(eb, XW_ETOOBIG, "%s is %zu bytes, more than the %zu accepted", desc->short_name, len,
                       max);
    if (!data && len)
        return xw_errf(eb, XW_EINVAL, "no bytes given for %s", desc->short_name);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &allocator, len, data ? data : (const uint8_t *)"");
    if (!m)
        return xw_errf(eb, XW_EMALFORMED, "%zu bytes are not a valid %s protobuf", len, desc->short_name);
    *out = m;
    return XW_OK;
}

void xmtp_pb_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, &allocator);
}

int xmtp_pb_pack(const ProtobufCMessage *m, xw_buf *out, xw_errbuf *eb)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *p = xw_buf_extend(out, n);
    if (!p)
        return xw_errf(eb, XW_ETOOBIG, "%s encodes to %zu bytes, more than the buffer allows",
                       m->descriptor->short_name, n);
    protobuf_c_message_pack(m, p);
    return XW_OK;
}
