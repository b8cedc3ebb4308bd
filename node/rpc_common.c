/*
 * Shared pieces of the RPC handlers: requests decoded and responses assembled through
 * proto/pb.h (the project's one way into and out of protobuf), with its errors turned into
 * gRPC statuses; the method table.
 */
#include "node/rpc.h"

#include <stdint.h>
#include <stdio.h>

/* Top-level fields of a message, counted without decoding it (stops at malformed input and
 * at limit + 1: protobuf-c then says what is wrong, or the caller refuses). */
static size_t count_top_fields(const uint8_t *p, size_t n, size_t limit)
{
    size_t off = 0, count = 0;
    xw_pb_field f;
    while (off < n && count <= limit && xw_pb_field_next(p, n, &off, "request", &f, NULL) == XW_OK)
        count++;
    return count;
}

ProtobufCMessage *node_pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                                 node_status *st)
{
    /* every list in a request is capped at NODE_MAX_ITEMS; refusing a longer one before
     * decoding it keeps a request of a million tiny items from holding the loop for seconds */
    size_t fields = count_top_fields(p, n, NODE_MAX_ITEMS + 16);
    if (fields > NODE_MAX_ITEMS + 16) {
        node_status_set(st, NODE_GRPC_INVALID_ARGUMENT,
                        "the %s holds more than %d items; the node accepts at most %d per request", d->name,
                        NODE_MAX_ITEMS + 16, NODE_MAX_ITEMS);
        return NULL;
    }
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

size_t node_rpc_methods(node_ctx *ctx, node_method *out, size_t cap)
{
    size_t n = node_rpc_mls_methods(ctx, out, cap);
    n += node_rpc_identity_methods(ctx, out + n, cap - n);
    return n;
}

int node_check_group_id(size_t len, const char *what, long index, node_status *st)
{
    if (len <= NODE_MAX_GROUP_ID)
        return NODE_GRPC_OK;
    char at[24] = "";
    if (index >= 0)
        snprintf(at, sizeof at, " %ld", index);
    return node_status_set(st, NODE_GRPC_INVALID_ARGUMENT,
                           "%s%s: the group id is %zu bytes; the node accepts at most %d (XMTP group ids are "
                           "16-32 bytes)",
                           what, at, len, NODE_MAX_GROUP_ID);
}
