/*
 * Internals shared by the two halves of the gRPC server: server.c (listening socket,
 * connections, epoll loop, shutdown) and call.c (one gRPC call per HTTP/2 stream: request
 * headers and body, dispatch, responses and trailers). Not for other modules.
 * Loop thread only.
 */
#ifndef XW_NODE_SERVER_INT_H
#define XW_NODE_SERVER_INT_H

#include <nghttp2/nghttp2.h>
#include <stdint.h>

#include "common/buf.h"
#include "node/server.h"

#define MAX_PATH_LEN 256

typedef struct conn conn;

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
    int64_t deadline_ns; /* from grpc-timeout; 0 = none */
    /* request */
    xw_buf req;
    int rejected;  /* answered early; ignore further data */
    int req_done;  /* the client ended its side of the stream */
    int rst_after; /* send RST_STREAM(NO_ERROR) once the early answer is sent */
    int late_http; /* an error decided from the headers, answered when the request ends */
    int late_code;
    char late_msg[XW_ERRBUF_SIZE];
    int dispatched; /* handler ran */
    /* response */
    int responded; /* response headers submitted */
    int streaming;
    xw_buf out;
    size_t out_off;
    int finishing;
    int trailers_sent;
    int deferred;
    int status;
    char status_msg[XW_ERRBUF_SIZE];
    const node_call_ops *ops;
    void *user;
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
    int64_t idle_since; /* while stopping: when the last call ended */
    conn *prev, *next;
    conn *next_dirty;
    node_call *calls;
    char peer[64];
};

struct node_server {
    int lfd, efd, sfd;
    int port;
    const node_method *methods;
    size_t nmethods;
    size_t max_msg;
    size_t max_call_buf;
    uint32_t max_streams;
    conn *conns;
    size_t nconns;
    conn *dirty;
    int stopping;
    nghttp2_session_callbacks *cbs;
};

/* server.c: queue c for a flush at the end of this loop turn. */
void node_conn_mark_dirty(conn *c);

/* call.c: nghttp2 callbacks of a server session, and the end of a call. */
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
/* Logs the call, tells its owner (ops->closed), unlinks and frees it. */
void node_call_gone(node_call *call, const char *why);

#endif
