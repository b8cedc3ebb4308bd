/*
 * Shared pieces of the RPC handlers: requests decoded and responses assembled through
 * proto/pb.h (the project's one way into and out of protobuf), with its errors turned into
 * gRPC statuses; the method table.
 */
#include "node/rpc.h"

#include <stdint.h>

ProtobufCMessage *node_pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                                 node_status *st)
{
    ProtobufCMessage *m = NULL;
    xw_errbuf eb = {{0}};
    int rc = xw_pb_decode(d, p, n, SIZE_MAX, &m, &eb);
    if (rc == XW_ENOMEM)
        node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED,
                        "the node ran out of memory decoding %s (%zu bytes)", d->name, n);
    else if (rc != XW_OK)
        node_status_set(st, NODE_GRPC_INVALID_ARGUMENT,
                        "the request is not a valid %s protobuf (%zu bytes): %s; check the client's schema",
                        d->name, n, eb.msg);
    return m;
}

void node_pb_free(ProtobufCMessage *m) { xw_pb_free(m); }

int node_pb_pack(const ProtobufCMessage *m, xw_buf *out, node_status *st)
{
    xw_errbuf eb = {{0}};
    int rc = xw_pb_encode(m, out, &eb);
    if (rc == XW_ETOOBIG)
        return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED,
                               "the response would be %zu bytes, more than the node's message limit of %zu; "
                               "ask for less (smaller pages)",
                               out->len + protobuf_c_message_get_packed_size(m), out->max);
    if (rc != XW_OK)
        return node_status_set(st, NODE_GRPC_INTERNAL, "encoding the response failed: %s", eb.msg);
    return NODE_GRPC_OK;
}

int node_pb_append_field(xw_buf *out, uint32_t field, const uint8_t *p, size_t n)
{
    return xw_pb_append_bytes(out, field, p, n);
}

int node_pb_append_message(xw_buf *out, uint32_t field, const ProtobufCMessage *m)
{
    return xw_pb_append_message(out, field, m);
}

size_t node_rpc_methods(node_ctx *ctx, node_method *out, size_t cap)
{
    size_t n = node_rpc_mls_methods(ctx, out, cap);
    n += node_rpc_identity_methods(ctx, out + n, cap - n);
    return n;
}
