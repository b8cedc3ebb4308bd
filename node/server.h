/*
 * The dev node's gRPC server: HTTP/2 over cleartext TCP (h2c, prior knowledge) with
 * libnghttp2, one thread, one epoll loop.
 *
 * A call is one HTTP/2 stream carrying one gRPC request message (5-byte prefix: compressed
 * flag, big-endian length) and answered either once (unary) or with a sequence of messages
 * (server streaming), then trailers with grpc-status and a percent-encoded grpc-message.
 * Errors before any message are sent as "Trailers-Only" responses.
 *
 * Handlers run on the loop thread and must not block for long: the store is local SQLite.
 * A streaming handler keeps the node_call and writes to it with node_call_send(); when the
 * call's outbound buffer runs low the server asks for more with the `drain` callback, and
 * when the stream goes away for any reason it says so once with `closed` (after which the
 * handle is invalid). Outbound data per call is bounded (node_call_send fails with
 * XW_EFULL), so a subscriber that does not read cannot make the node grow.
 *
 * No client can stall, exhaust or lock out the node (docs/devnode.md, "Limits"): the memory
 * held for each connection and for all of them is budgeted (past it the node stops reading
 * request bodies through HTTP/2 flow control, stops producing responses, refuses new
 * streams), complete requests are dispatched fairly across connections (the one that has
 * used the least time first), and connections are limited per address, in total (the
 * oldest idle one makes room) and in time (handshake, idle and stall timeouts).
 *
 * Everything here runs on the loop thread, except node_server_stop(), which is
 * async-signal-safe, and the counters (node_server_connections, node_server_get_stats).
 */
#ifndef XW_NODE_SERVER_H
#define XW_NODE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/grpc_status.h"

/* gRPC status codes: common/grpc_status.h (XW_GRPC_*). The NODE_GRPC_* names are kept, made
 * from the same table, for server.c, call.c, subs.c and rpc_common.c until they say XW_GRPC_*
 * themselves (another change holds them now). */
enum {
#define NODE_GRPC_ALIAS(name, number) NODE_GRPC_##name = XW_GRPC_##name,
    XW_GRPC_STATUSES(NODE_GRPC_ALIAS)
#undef NODE_GRPC_ALIAS
};

const char *node_grpc_code_name(int code);

/* A handler's answer when it is not OK: a code and a sentence for grpc-message. */
typedef struct {
    int code;
    char msg[XW_ERRBUF_SIZE];
} node_status;

int node_status_set(node_status *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

typedef struct node_server node_server;
typedef struct node_call node_call;

/* Unary: decode req, write the serialized response message into resp (without the gRPC
 * prefix); return XW_GRPC_OK or fill st and return its code. */
typedef int (*node_unary_fn)(void *ctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st);
/* Server streaming: decode req; on success keep `call` and return XW_GRPC_OK (the server
 * sends the response headers, with `subscribed: true`, at once). On failure fill st. */
typedef int (*node_stream_fn)(void *ctx, node_call *call, const uint8_t *req, size_t len, node_status *st);

typedef struct {
    const char *path; /* "/xmtp.mls.api.v1.MlsApi/SendGroupMessages" */
    node_unary_fn unary;
    node_stream_fn stream;
    void *ctx;
} node_method;

typedef struct {
    const char *listen;      /* "127.0.0.1:5556"; port 0 picks a free port */
    size_t max_message_size; /* per request and response message; 0 = 50 MiB */
    size_t max_call_buffer;  /* outbound bytes queued per streaming call; 0 = 16 MiB */
    uint32_t max_streams;    /* concurrent streams per connection; 0 = 1024 */
    /* Limits against clients that take more than their share (docs/devnode.md, "Limits");
     * 0 = the default. */
    size_t max_connection_memory; /* held for one connection; 64 MiB, at least a message + 1 MiB */
    size_t max_memory;            /* held for all connections together; 512 MiB */
    uint32_t max_connections;     /* open at once; 4096 (fewer if the descriptor limit is lower) */
    uint32_t max_per_address;     /* open at once from one IPv4 address or IPv6 /64; 512 */
    int64_t handshake_timeout_ms; /* to send the HTTP/2 preface and SETTINGS; 10 s */
    int64_t idle_timeout_ms;      /* a connection without calls is closed (GOAWAY); 300 s */
    int64_t stall_timeout_ms;     /* a peer that neither sends its request nor reads; 30 s */
    /* Optional, called on the loop thread when the memory held for clients has fallen by
     * 32 MiB or more since the last call (at most every 100 ms): a program may give freed
     * memory back to the system there (xmtp-devnode calls glibc's malloc_trim). */
    void (*memory_freed)(void);
} node_server_opts;

#define NODE_DEFAULT_MAX_MESSAGE (50u * 1024 * 1024)

/* Binds and listens. `methods` (n of them) must outlive the server. */
int node_server_new(const node_server_opts *opts, const node_method *methods, size_t n, node_server **out,
                    xw_errbuf *eb);
/* The bound port (useful with port 0). */
int node_server_port(const node_server *s);
/* Serves until node_server_stop(); then ends every open stream with UNAVAILABLE, sends
 * GOAWAY, flushes for at most `grace_ms` and returns. */
int node_server_run(node_server *s, int grace_ms);
/* Async-signal-safe; may be called from any thread or a signal handler. */
void node_server_stop(node_server *s);
void node_server_free(node_server *s);

/* Number of open connections (tests and logs); safe from any thread. */
size_t node_server_connections(const node_server *s);

/* Counters of the server, readable from any thread (a snapshot; tests and logs). */
typedef struct {
    size_t connections;    /* open now */
    size_t memory;         /* bytes held for clients now (see "Limits" in docs/devnode.md) */
    size_t memory_peak;    /* the most ever held */
    size_t refused;        /* connections refused (per-address limit, or full with none idle) */
    size_t evicted;        /* idle connections closed to make room for a new one */
    size_t timed_out;      /* connections closed by the handshake, idle or stall timeout */
    uint64_t accept_calls; /* accept4() calls, successful or not */
    int accept_paused;     /* accepting is paused: the process is out of descriptors */
} node_server_stats;
void node_server_get_stats(const node_server *s, node_server_stats *out);

/* --- streaming calls --- */
typedef struct {
    void (*drain)(node_call *call, void *user);  /* outbound queue ran low: produce more (optional) */
    void (*closed)(node_call *call, void *user); /* the call is gone; drop the handle */
} node_call_ops;

void node_call_set_ops(node_call *call, const node_call_ops *ops, void *user);
/* From `drain`: the handler did a bounded slice of work and has more; drain is called
 * again on the next loop turn (after other connections had theirs) even if it queued
 * nothing. */
void node_call_yield(node_call *call);
/* Queues one message (serialized protobuf, no prefix). XW_EFULL when the call's outbound
 * buffer would pass its maximum (nothing queued), XW_ECLOSED once the call is finishing. */
int node_call_send(node_call *call, const uint8_t *msg, size_t len);
/* Outbound bytes still queued. */
size_t node_call_pending(const node_call *call);
/* Ends the call with a status once queued data is sent. With `discard`, queued messages
 * not yet started are dropped first (used for ABORTED on slow readers). `closed` is still
 * called later, when the stream is gone. */
void node_call_finish(node_call *call, int code, const char *msg, int discard);
/* The call's method path, for logs. */
const char *node_call_path(const node_call *call);
/* Charges `bytes` a handler keeps for this call (subscription filters) to the call's
 * connection's memory budget: XW_EFULL (nothing charged) when the connection or the node is
 * over budget. What is still charged is given back when the call ends. */
int node_call_charge(node_call *call, size_t bytes);
void node_call_uncharge(node_call *call, size_t bytes);
/* Adds n to the count of subscription filters open on the call's connection if the count
 * stays at most max (XW_ELIMIT otherwise, *total set to the current count either way);
 * node_call_filters_sub takes them off again. */
int node_call_filters_add(node_call *call, size_t n, size_t max, size_t *total);
void node_call_filters_sub(node_call *call, size_t n);

#endif
