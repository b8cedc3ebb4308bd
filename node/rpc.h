/*
 * The node's RPC handlers (MlsApi in rpc_mls.c, IdentityApi in rpc_identity.c) and what
 * they share: the context, protobuf decoding and packing through proto/pb.h with errors as
 * gRPC statuses, and the method table.
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
#include "proto/pb.h"

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

/* The most items of any list in one request (messages, ids, filters, lookups). */
#define NODE_MAX_ITEMS 10000
/* --- shared helpers: protobuf through proto/pb.h, errors as gRPC statuses --- */

/* Decodes a request with xw_pb_decode (framing, depth, UTF-8 and NUL checks; the transport
 * already bounds its size to max_msg) or fills st: INVALID_ARGUMENT naming the message type
 * and what is wrong with the bytes, RESOURCE_EXHAUSTED when memory ran out. */
ProtobufCMessage *node_pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                                 node_status *st);
/* Frees a request from node_pb_unpack (xw_pb_free); NULL is fine. */
void node_pb_free(ProtobufCMessage *m);
/* Packs m into out (appending). RESOURCE_EXHAUSTED if it would pass out's maximum. */
int node_pb_pack(const ProtobufCMessage *m, xw_buf *out, node_status *st);

/* MlsApi and IdentityApi tables (used by node_rpc_methods). */
size_t node_rpc_mls_methods(node_ctx *ctx, node_method *out, size_t cap);
size_t node_rpc_identity_methods(node_ctx *ctx, node_method *out, size_t cap);

#endif
