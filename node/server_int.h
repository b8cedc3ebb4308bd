/*
 * Internals shared by the three parts of the gRPC server: server.c (listening socket,
 * accepting under connection limits, the epoll loop, timers, shutdown), conn.c (one
 * connection: its socket, its HTTP/2 session, its memory, the fair dispatch of its
 * requests) and call.c (one gRPC call per HTTP/2 stream: request headers and body,
 * dispatch, responses and trailers). Not for other modules; tests and the framing fuzzer
 * may include it. Loop thread only.
 *
 * Memory budget (docs/devnode.md, "Limits"): every byte the server holds for a client is
 * charged to its connection and to the server: the call structures, request bodies being
 * received, responses not yet sent, and what handlers charge (subscription filters). Two
 * rules decide whether a connection may take more: node_conn_may_grow() for input (below
 * its own budget, and below the server's unless the connection holds almost nothing: the
 * floor, so small well-behaved clients keep working while others hold the rest) and
 * node_conn_may_send() for output (half the connection's budget, the floor counting only
 * unsent output). Where they say no, the server stops taking more instead of failing:
 * request bytes are not granted back to the peer (HTTP/2 flow control, manual window
 * updates), new streams are refused (REFUSED_STREAM), complete requests wait in the
 * connection's ready queue and subscriptions stop reading the store. Only a live message
 * that cannot be queued ends its subscription (ABORTED), as before.
 */
#ifndef XW_NODE_SERVER_INT_H
#define XW_NODE_SERVER_INT_H

#include <nghttp2/nghttp2.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"
#include "node/server.h"

#define MAX_PATH_LEN 256
/* A connection holding less than this may always grow (see above). */
#define NODE_MEM_FLOOR (1u << 20)
/* What nghttp2 keeps per open stream, charged with the call (an estimate, rounded up). */
#define NODE_STREAM_OVERHEAD 512u
/* HTTP/2 receive windows (stream and connection): what a peer may send before the node
 * grants more, so also what a connection can make the node buffer beyond its budget. */
#define NODE_RECV_WINDOW (256u << 10)
/* Output produced for one connection per loop turn, so one fast reader of a long backlog
 * cannot keep the loop from everyone else. */
#define NODE_FLUSH_PER_TURN (1u << 20)

typedef struct conn conn;
typedef struct node_addr node_addr;

struct node_call {
    node_server *srv;
    conn *c;
    int32_t stream_id;
    const node_method *method;
    char path[MAX_PATH_LEN];
    char app[48]; /* x-app-version, for the log */
    int is_post;
    int ctype_ok;
    int64_t start_ns;
    int64_t deadline_ns;  /* from grpc-timeout; 0 = none */
    int64_t last_data_ns; /* last request bytes received or granted (stall timer) */
    /* request */
    xw_buf req;
    int rejected;  /* answered early; ignore further data */
    int req_done;  /* the client ended its side of the stream */
    int rst_after; /* send RST_STREAM(NO_ERROR) once the early answer is sent */
    int late_http; /* an error decided from the headers, answered when the request ends */
    int late_code;
    char late_msg[XW_ERRBUF_SIZE];
    int dispatched; /* handler ran */
    int ready;      /* complete, waiting in the connection's ready queue */
    node_call *rprev, *rnext;
    /* response */
    int responded; /* response headers submitted */
    int streaming;
    xw_buf out;
    size_t out_off;
    int finishing;
    int trailers_sent;
    int deferred;
    int yielded; /* drain asked to run again next turn (node_call_yield) */
    int status;
    char status_msg[XW_ERRBUF_SIZE];
    const node_call_ops *ops;
    void *user;
    /* memory */
    size_t mem;             /* charged to the connection for this call, all included */
    size_t out_mem;         /* of which: the outbound buffer */
    size_t charged;         /* of which: what the handler charged (node_call_charge) */
    size_t owed;            /* request bytes received and not yet granted back to the peer */
    node_call *prev, *next; /* conn's list */
};

struct conn {
    node_server *srv;
    int fd;
    nghttp2_session *h2;
    uint8_t *wpend;
    size_t wpend_len, wpend_off;
    uint32_t ev; /* current epoll mask */
    int dead;
    int dirty;
    int closing; /* being freed: ignore stream-close callbacks */
    int goaway_sent;
    int handshake_done; /* the client's SETTINGS arrived */
    int64_t created_ns;
    int64_t idle_since;       /* no calls since then (also used while stopping) */
    int64_t last_progress_ns; /* bytes written to the socket */
    /* memory */
    size_t mem;     /* everything charged to this connection */
    size_t out_mem; /* of which: outbound buffers (responses not yet sent) */
    size_t owed;    /* request bytes not yet granted back (sum over its calls) */
    int starved;    /* a subscription stopped reading the store for lack of memory */
    int yielded;    /* a call yielded: service it again next turn */
    size_t filters; /* subscription filters open on this connection */
    /* requests ready to dispatch, oldest first; the connection is in the server's fair
     * queue while it has some and may produce more output */
    node_call *ready_head, *ready_tail;
    int in_rr;
    int64_t vtime; /* fair queueing: handler time used, from the server's clock when it joined */
    conn *rr_prev, *rr_next;
    int flush_more;  /* stopped at the per-turn output limit, or a call yielded */
    node_addr *addr; /* per-address count (server.c) */
    conn *prev, *next;
    conn *next_dirty;
    node_call *calls;
    char peer[64];
};

typedef struct {
    atomic_size_t connections, memory, memory_peak, refused, evicted, timed_out;
    atomic_uint_least64_t accept_calls;
    atomic_int accept_paused;
} node_server_counters;

struct node_server {
    int lfd, efd, sfd;
    int port;
    const node_method *methods;
    size_t nmethods;
    size_t max_msg;
    size_t max_call_buf;
    uint32_t max_streams;
    size_t max_conn_mem, max_mem;
    uint32_t max_conns, max_per_addr;
    int64_t handshake_ns, idle_ns, stall_ns;
    conn *conns;
    size_t nconns;
    conn *dirty;
    conn *rr_head, *rr_tail; /* connections with requests to dispatch (fair queue) */
    int64_t vnow;            /* the fair queue's clock: the time of the last one served */
    size_t mem;
    int mem_released;           /* the server's memory fell below its budget: wake blocked connections */
    size_t mem_high;            /* the most held since memory_freed was last called */
    void (*memory_freed)(void); /* node_server_opts */
    int stopping;
    int grace_ms;
    int64_t stop_deadline;
    int64_t next_sweep;
    int accept_paused;
    int accept_logged; /* the descriptor shortage was logged; logged again once it ends */
    int64_t accept_resume_ns;
    int fd_freed; /* a connection closed while accepting was paused */
    node_addr **addrs;
    unsigned char addr_key[16];
    int64_t next_warn_ns; /* rate limit of connection-refusal warnings */
    size_t warn_suppressed;
    node_server_counters ctr;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *h2opt;
};

/* --- conn.c --- */
/* Takes over a connected socket (non-blocking); peer names it in logs; addr may be NULL. */
conn *node_conn_new(node_server *s, int fd, const char *peer, node_addr *addr);
void node_conn_free(conn *c);
/* Reads what the socket has and feeds it to the session. */
void node_conn_read(conn *c);
/* queue c for service (unblocking, then flushing) at the end of this loop turn. */
void node_conn_mark_dirty(conn *c);
/* Unblocks what memory now allows, then writes what nghttp2 has to send, at most
 * NODE_FLUSH_PER_TURN. Returns -1 if the connection broke or its session ended, 1 if it
 * stopped at the per-turn limit, 0 otherwise. */
int node_conn_service(conn *c);
/* The memory rule (see the top of this file) for taking more requests: granting request
 * bytes, new streams, handler charges. */
int node_conn_may_grow(const conn *c);
/* The same for producing output: dispatching a request, queueing a message. Responses have
 * half the connection's budget, and the floor counts only unsent output, so a subscriber
 * that keeps up is never cut off because others hold the node's memory. */
int node_conn_may_send(const conn *c);
/* Adds call to c's ready queue. */
void node_conn_ready_push(conn *c, node_call *call);
void node_conn_ready_remove(node_call *call);
/* Dispatches ready requests, fairly across connections (conn.c), for at most budget_ns.
 * Returns 1 if some are still waiting (and may run). */
int node_server_run_ready(node_server *s, int64_t budget_ns);
/* Timers of one connection (handshake, idle, stalled peer, calls' deadlines). */
void node_conn_sweep(conn *c, int64_t now);

/* --- call.c --- */
int node_call_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data);
int node_call_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data);
int node_call_on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                            size_t len, void *user_data);
int node_call_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data);
int node_call_on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data);
int node_call_on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                              void *user_data);
/* Runs the method of a ready call (the fair queue chose it). */
void node_call_dispatch(node_call *call);
/* Recomputes what call holds and charges the difference to its connection and the server. */
void node_call_account(node_call *call);
/* Grants the peer the request bytes owed on call (flow control). */
void node_call_grant(node_call *call);
/* Ends a call whose request cannot complete: RESOURCE_EXHAUSTED with msg, body dropped. */
void node_call_refuse(node_call *call, int code, const char *msg);
/* Whether call has response bytes that wait for the peer to read. */
int node_call_has_output(const node_call *call);
/* Logs the call, tells its owner (ops->closed), unlinks and frees it. */
void node_call_gone(node_call *call, const char *why);

/* --- server.c --- */
/* A connection closed: its address slot and descriptor are free again. */
void node_server_conn_closed(node_server *s, node_addr *addr);
/* Counts memory at the server level (peak, wake-ups). */
void node_server_mem_changed(node_server *s, size_t before);
/* Takes over a connected socket as if accepted (the framing fuzzer); -1 on failure. */
int node_server_adopt(node_server *s, int fd, const char *peer);
/* One loop turn: timers, dispatch, flushes, then waits at most timeout_ms for events and
 * handles them. Returns 1 while serving, 0 once stopped, -1 on an epoll failure. */
int node_server_turn(node_server *s, int timeout_ms);

#endif
