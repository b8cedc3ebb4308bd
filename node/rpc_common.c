/*
 * Shared pieces of the RPC handlers: protobuf-c through the project's allocator, packing
 * into bounded buffers, the method table, the context.
 */
#include "node/rpc.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

static void *pb_alloc(void *data, size_t size)
{
    (void)data;
    return xw_malloc(size ? size : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    xw_free(p);
}

ProtobufCAllocator node_pb_alloc = {.alloc = pb_alloc, .free = pb_free, .allocator_data = NULL};

/* Top-level fields of a message, counted without decoding it (stops at malformed input and
 * at limit + 1: protobuf-c then says what is wrong, or the caller refuses). */
static size_t count_top_fields(const uint8_t *p, size_t n, size_t limit)
{
    size_t off = 0, count = 0;
    while (off < n && count <= limit) {
        uint64_t key = 0, v = 0;
        int shift = 0;
        do {
            if (off >= n || shift > 63)
                return count;
            key |= (uint64_t)(p[off] & 0x7f) << shift;
            shift += 7;
        } while (p[off++] & 0x80);
        unsigned wt = key & 7;
        if (wt == 0 || wt == 2) {
            shift = 0;
            do {
                if (off >= n || shift > 63)
                    return count;
                v |= (uint64_t)(p[off] & 0x7f) << shift;
                shift += 7;
            } while (p[off++] & 0x80);
            if (wt == 2) {
                if (v > n - off)
                    return count;
                off += (size_t)v;
            }
        } else if (wt == 1 || wt == 5) {
            off += wt == 1 ? 8 : 4;
        } else {
            return count;
        }
        count++;
    }
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
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &node_pb_alloc, n, p);
    if (!m)
        node_status_set(st, NODE_GRPC_INVALID_ARGUMENT,
                        "the request is not a valid %s protobuf (%zu bytes); check the client's schema",
                        d->name, n);
    return m;
}

void node_pb_free(ProtobufCMessage *m)
{
    if (m)
        protobuf_c_message_free_unpacked(m, &node_pb_alloc);
}

int node_pb_pack(const ProtobufCMessage *m, xw_buf *out, node_status *st)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *p = xw_buf_extend(out, n);
    if (!p)
        return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED,
                               "the response would be %zu bytes, more than the node's message limit of %zu; "
                               "ask for less (smaller pages)",
                               out->len + n, out->max);
    protobuf_c_message_pack(m, p);
    return NODE_GRPC_OK;
}

size_t node_pb_put_varint(uint8_t *b, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        b[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[i++] = (uint8_t)v;
    return i;
}

int node_pb_append_field(xw_buf *out, uint32_t field, const uint8_t *p, size_t n)
{
    uint8_t hdr[20];
    size_t h = node_pb_put_varint(hdr, ((uint64_t)field << 3) | 2);
    h += node_pb_put_varint(hdr + h, n);
    if (xw_buf_reserve(out, h + n) != XW_OK)
        return XW_ETOOBIG;
    xw_buf_append(out, hdr, h);
    xw_buf_append(out, p, n);
    return XW_OK;
}

int node_pb_append_message(xw_buf *out, uint32_t field, const ProtobufCMessage *m)
{
    uint8_t hdr[20];
    size_t n = protobuf_c_message_get_packed_size(m);
    size_t h = node_pb_put_varint(hdr, ((uint64_t)field << 3) | 2);
    h += node_pb_put_varint(hdr + h, n);
    if (xw_buf_reserve(out, h + n) != XW_OK)
        return XW_ETOOBIG;
    xw_buf_append(out, hdr, h);
    protobuf_c_message_pack(m, xw_buf_extend(out, n));
    return XW_OK;
}

size_t node_rpc_methods(node_ctx *ctx, node_method *out, size_t cap)
{
    size_t n = node_rpc_mls_methods(ctx, out, cap);
    n += node_rpc_identity_methods(ctx, out + n, cap - n);
    return n;
}

int node_pb_find_field(const uint8_t *p, size_t n, uint32_t field, const uint8_t **out, size_t *outlen)
{
    size_t off = 0;
    int found = 0;
    while (off < n) {
        uint64_t key = 0, v = 0;
        int shift = 0;
        do {
            if (off >= n || shift > 63)
                return XW_EMALFORMED;
            key |= (uint64_t)(p[off] & 0x7f) << shift;
            shift += 7;
        } while (p[off++] & 0x80);
        unsigned wt = key & 7;
        if (wt == 0 || wt == 2) {
            shift = 0;
            do {
                if (off >= n || shift > 63)
                    return XW_EMALFORMED;
                v |= (uint64_t)(p[off] & 0x7f) << shift;
                shift += 7;
            } while (p[off++] & 0x80);
            if (wt == 2) {
                if (v > n - off)
                    return XW_ETRUNCATED;
                if ((key >> 3) == field) {
                    if (found)
                        return XW_EMALFORMED;
                    found = 1;
                    *out = p + off;
                    *outlen = (size_t)v;
                }
                off += (size_t)v;
            }
        } else if (wt == 1 || wt == 5) {
            size_t k = wt == 1 ? 8 : 4;
            if (n - off < k)
                return XW_ETRUNCATED;
            off += k;
        } else {
            return XW_EMALFORMED;
        }
    }
    return found ? XW_OK : XW_ENOTFOUND;
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
