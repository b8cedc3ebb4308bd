/*
 * The node's RPC handlers (MlsApi in rpc_mls.c, IdentityApi in rpc_identity.c) and what
 * they share: the context, protobuf (un)packing into bounded buffers through the project's
 * allocator, and the method table.
 *
 * Every handler decodes its whole request and checks every field before it writes
 * anything, then writes in one store transaction: a refused request changes nothing.
 * Loop thread only.
 */
#ifndef XW_NODE_RPC_H
#define XW_NODE_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "node/server.h"
#include "node/store.h"
#include "node/subs.h"

typedef struct node_ctx {
    node_store *store;
    node_subs *group_subs;
    node_subs *welcome_subs;
    size_t max_msg;
} node_ctx;

/* Creates the subscription managers of ctx (store and max_msg must be set). */
int node_ctx_init(node_ctx *ctx, xw_errbuf *eb);
void node_ctx_fini(node_ctx *ctx);

/* Fills `out` (cap >= NODE_RPC_MAX_METHODS) with every method the node serves; returns the count. */
#define NODE_RPC_MAX_METHODS 32
size_t node_rpc_methods(node_ctx *ctx, node_method *out, size_t cap);

/* XMTP group ids are 16-32 bytes; every RPC that takes one refuses longer than this. */
#define NODE_MAX_GROUP_ID 256
/* INVALID_ARGUMENT naming `what` (and its index unless index < 0) if a group id of len bytes
 * is longer than NODE_MAX_GROUP_ID; NODE_GRPC_OK otherwise. */
int node_check_group_id(size_t len, const char *what, long index, node_status *st);

/* --- shared helpers --- */
extern ProtobufCAllocator node_pb_alloc;

/* The most items of any list in one request (messages, ids, filters, lookups). */
#define NODE_MAX_ITEMS 10000
/* Unpacks a request or fills st with INVALID_ARGUMENT naming the message type. A request
 * with more than NODE_MAX_ITEMS + 16 top-level fields is refused before it is decoded. */
ProtobufCMessage *node_pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                                 node_status *st);
void node_pb_free(ProtobufCMessage *m);
/* Packs m into out (appending). RESOURCE_EXHAUSTED if it would pass out's maximum. */
int node_pb_pack(const ProtobufCMessage *m, xw_buf *out, node_status *st);
/* Appends a length-delimited field (tag, length, bytes) to out. */
int node_pb_append_field(xw_buf *out, uint32_t field, const uint8_t *p, size_t n);
/* Appends message m as a length-delimited field. */
int node_pb_append_message(xw_buf *out, uint32_t field, const ProtobufCMessage *m);

/* Writes v as a protobuf varint (at most 10 bytes); returns its length. */
size_t node_pb_put_varint(uint8_t *b, uint64_t v);
/* Finds the one length-delimited field `field` at the top level of a message; XW_ENOTFOUND if
 * absent, XW_EMALFORMED if it appears twice or the message is malformed. */
int node_pb_find_field(const uint8_t *p, size_t n, uint32_t field, const uint8_t **out, size_t *outlen);

/* MlsApi and IdentityApi tables (used by node_rpc_methods). */
size_t node_rpc_mls_methods(node_ctx *ctx, node_method *out, size_t cap);
size_t node_rpc_identity_methods(node_ctx *ctx, node_method *out, size_t cap);

#endif
