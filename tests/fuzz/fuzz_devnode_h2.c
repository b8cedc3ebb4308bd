/*
 * libFuzzer target for the dev node's HTTP/2 and gRPC framing: the bytes a client sends on
 * a connection, fed through the server's real input path (socket read, nghttp2 session,
 * call.c's header, prefix and body checks, the ready queue, dispatch to the real handlers
 * on an in-memory store, responses, flow control, memory accounting, stream and connection
 * teardown). The connection is one end of a socketpair adopted by a node_server; the loop
 * runs turn by turn (node_server_turn) while the input is written in chunks and whatever
 * the node answers is read and dropped; then the client end closes and the connection
 * must go away.
 *
 * Input: byte 0 holds options (bit 0: send the client preface and an empty SETTINGS first,
 * so the rest reaches the frame parser; bits 1-3: chunk size, 16 << n bytes); the rest is
 * the byte stream. Seeds in tests/fuzz/corpus/fuzz_devnode_h2 are sessions of a real
 * nghttp2 client (unary calls, a subscription, a bad grpc-timeout, a reset stream).
 */
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "node/rpc.h"
#include "node/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static node_ctx ctx;
static node_method methods[NODE_RPC_MAX_METHODS];
static node_server *srv;

static void setup(void)
{
    if (srv)
        return;
    if (sodium_init() < 0)
        abort();
    signal(SIGPIPE, SIG_IGN); /* writing to a connection the node closed */
    xw_log_set_level(XW_LOG_OFF);
    ctx.max_msg = 64 << 10;
    if (node_store_open(":memory:", &ctx.store, NULL) != XW_OK || node_ctx_init(&ctx, NULL) != XW_OK)
        abort();
    size_t n = node_rpc_methods(&ctx, methods, NODE_RPC_MAX_METHODS);
    node_server_opts o = {.listen = "127.0.0.1:0",
                          .max_message_size = 64 << 10,
                          .max_call_buffer = 256 << 10,
                          .max_streams = 64,
                          .max_connection_memory = 2u << 20,
                          .max_memory = 4u << 20};
    if (node_server_new(&o, methods, n, &srv, NULL) != XW_OK)
        abort();
}

/* Reads and drops what the node wrote. */
static void drain_peer(int fd)
{
    uint8_t sink[16384];
    while (read(fd, sink, sizeof sink) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    if (node_server_adopt(srv, sv[0], "fuzz") != 0)
        abort();
    uint8_t opts = data[0];
    size_t chunk = (size_t)16 << ((opts >> 1) & 7);
    if (opts & 1) {
        static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                         "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
        if (write(sv[1], preface, sizeof preface - 1) != (ssize_t)(sizeof preface - 1))
            abort();
    }
    for (size_t off = 1; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t w = write(sv[1], data + off, n);
        if (w > 0)
            off += (size_t)w;
        node_server_turn(srv, 0);
        drain_peer(sv[1]);
        if (w <= 0 && node_server_connections(srv) == 0)
            break; /* the node closed it */
    }
    for (int i = 0; i < 4; i++) { /* let queued requests run and answers go out */
        node_server_turn(srv, 0);
        drain_peer(sv[1]);
    }
    close(sv[1]);
    for (int i = 0; i < 100 && node_server_connections(srv) > 0; i++)
        node_server_turn(srv, 0);
    if (node_server_connections(srv) != 0)
        abort(); /* a connection whose peer is gone must be freed */
    node_server_stats st;
    node_server_get_stats(srv, &st);
    if (st.memory != 0)
        abort(); /* everything charged to it was given back */
    return 0;
}
