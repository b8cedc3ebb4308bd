/*
 * libFuzzer target for the dev node's request decoding: the first input byte picks one of
 * the node's unary RPC handlers (or the MLS message / key package decoders), the rest is
 * the request message. Handlers run against an in-memory store exactly as the server runs
 * them, so every decoder of untrusted bytes behind the gRPC framing is covered: protobuf
 * requests, MLS group messages, key packages, identity updates (through xmtp/'s folding).
 */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "node/mlswire.h"
#include "node/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static node_ctx ctx;
static node_method methods[NODE_RPC_MAX_METHODS];
static size_t nmethods;

static void setup(void)
{
    if (nmethods)
        return;
    if (sodium_init() < 0)
        abort();
    xw_log_set_level(XW_LOG_OFF);
    ctx.max_msg = 1 << 20;
    if (node_store_open(":memory:", &ctx.store, NULL) != XW_OK || node_ctx_init(&ctx, NULL) != XW_OK)
        abort();
    nmethods = node_rpc_methods(&ctx, methods, NODE_RPC_MAX_METHODS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    size_t pick = data[0] % (nmethods + 2);
    const uint8_t *req = data + 1;
    size_t len = size - 1;
    if (pick == nmethods) {
        node_mls_info info;
        node_mls_peek(req, len, &info, NULL);
        return 0;
    }
    if (pick == nmethods + 1) {
        node_kp_info info;
        node_kp_validate(req, len, &info, NULL);
        return 0;
    }
    const node_method *m = &methods[pick];
    if (!m->unary)
        return 0; /* streams need a live call; their request decoding is the same protobuf path */
    xw_buf resp;
    xw_buf_init(&resp, ctx.max_msg);
    node_status st = {0};
    m->unary(m->ctx, req, len, &resp, &st);
    xw_buf_free(&resp);
    return 0;
}
