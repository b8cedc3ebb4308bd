/*
 * gRPC over h2c with libnghttp2: listening socket, connections, HTTP/2 sessions, gRPC
 * message framing, trailers, graceful shutdown. See server.h for the contract.
 *
 * Design: one thread runs an epoll loop over the listening socket, an eventfd used to stop,
 * and every connection. Bytes read from a connection go straight into its nghttp2 session;
 * nghttp2 calls back per frame. A request body is collected into the call's bounded buffer
 * (the 5-byte gRPC prefix is checked as soon as it arrives, so an oversized message is
 * refused before anything is allocated for it). When the stream ends the method's handler
 * runs. Responses are produced by one nghttp2 data provider per call that reads from the
 * call's outbound buffer and ends with trailers.
 *
 * Output: after every batch of events each connection that has something to say is
 * flushed (nghttp2_session_mem_send into write()). A connection whose socket would block
 * keeps the unwritten tail, waits for EPOLLOUT and stops reading until it is written, so a
 * peer that does not read cannot make the node buffer without bound.
 *
 * Streaming calls deliver data from other connections' requests (a publish fans out to
 * subscribers), so node_call_send marks the subscriber's connection dirty; the loop
 * flushes dirty connections before it waits again.
 */
#include "node/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#define READ_CHUNK 65536
#define MAX_PATH_LEN 256
#define NODE_MAX_CONNECTIONS 4096

typedef struct conn conn;

struct node_call {
    node_server *srv;
    conn *c;
    int32_t stream_id;
    const node_method *method;
    char path[MAX_PATH_LEN];
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

static const char *const code_names[] = {
    "OK",        "CANCELLED",       "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",    "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED",
};

const char *node_grpc_code_name(int code)
{
    if (code < 0 || code > 16)
        return "UNKNOWN_CODE";
    return code_names[code];
}

int node_status_set(node_status *st, int code, const char *fmt, ...)
{
    if (st) {
        st->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ------------------------------------------------------------------------------------------ */
/* small helpers */

static void mark_dirty(conn *c)
{
    if (c->dirty)
        return;
    c->dirty = 1;
    c->next_dirty = c->srv->dirty;
    c->srv->dirty = c;
}

static void epoll_set(conn *c, uint32_t ev)
{
    if (c->ev == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(c->srv->efd, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->ev = ev;
}

/* Percent-encodes a grpc-message value (grpc/doc/PROTOCOL-HTTP2.md). */
static size_t pct_encode(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < cap; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = 0;
    return n;
}

#define NV(name, value)                                                                                      \
    {                                                                                                        \
        (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value), NGHTTP2_NV_FLAG_NONE         \
    }

static void call_log(node_call *call, const char *why)
{
    int64_t us = (xw_clock_mono_ns(xw_clock_real()) - call->start_ns) / 1000;
    if (call->status == NODE_GRPC_OK)
        xw_log_info("node", "%s %s %s %lld.%03lld ms%s", call->c->peer, call->path[0] ? call->path : "-",
                    node_grpc_code_name(call->status), (long long)(us / 1000), (long long)(us % 1000), why);
    else
        xw_log_info("node", "%s %s %s %lld.%03lld ms%s: %s", call->c->peer, call->path[0] ? call->path : "-",
                    node_grpc_code_name(call->status), (long long)(us / 1000), (long long)(us % 1000), why,
                    call->status_msg);
}

/* ------------------------------------------------------------------------------------------ */
/* responses */

static int submit_trailers(node_call *call)
{
    char code[12], msg[3 * XW_ERRBUF_SIZE + 1];
    snprintf(code, sizeof code, "%d", call->status);
    pct_encode(call->status_msg, msg, sizeof msg);
    nghttp2_nv nva[2] = {NV("grpc-status", code), NV("grpc-message", msg)};
    return nghttp2_submit_trailer(call->c->h2, call->stream_id, nva, msg[0] ? 2 : 1);
}

static ssize_t data_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    node_call *call = source->ptr;
    if (call->trailers_sent) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        return 0;
    }
    if (call->out_off == call->out.len && !call->finishing && call->ops && call->ops->drain) {
        xw_buf_reset(&call->out);
        call->out_off = 0;
        call->ops->drain(call, call->user);
    }
    size_t avail = call->out.len - call->out_off;
    if (avail == 0) {
        if (call->finishing) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (submit_trailers(call) != 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
            call->trailers_sent = 1;
            return 0;
        }
        call->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = avail < length ? avail : length;
    memcpy(buf, call->out.data + call->out_off, n);
    call->out_off += n;
    if (call->out_off == call->out.len) {
        xw_buf_reset(&call->out);
        call->out_off = 0;
    }
    return (ssize_t)n;
}

static void resume(node_call *call)
{
    if (call->deferred) {
        call->deferred = 0;
        nghttp2_session_resume_data(call->c->h2, call->stream_id);
    }
    mark_dirty(call->c);
}

/* Headers-only answer (Trailers-Only, or a plain HTTP error when http_status != 200). */
static void respond_error(node_call *call, int http_status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void respond_error(node_call *call, int http_status, int code, const char *fmt, ...)
{
    if (call->responded)
        return;
    call->responded = 1;
    call->rejected = 1;
    call->status = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->status_msg, sizeof call->status_msg, fmt, ap);
    va_end(ap);
    xw_buf_free(&call->req);
    char st[8], cs[12], msg[3 * XW_ERRBUF_SIZE + 1];
    snprintf(st, sizeof st, "%d", http_status);
    snprintf(cs, sizeof cs, "%d", code);
    pct_encode(call->status_msg, msg, sizeof msg);
    nghttp2_nv nva[] = {NV(":status", st), NV("content-type", "application/grpc"), NV("grpc-status", cs),
                        NV("grpc-message", msg)};
    nghttp2_submit_response(call->c->h2, call->stream_id, nva, 4, NULL);
    call->trailers_sent = 1;
    /* answered before the request ended: once the answer is out, ask the client to stop
     * sending (RFC 9113 §8.1); see on_frame_send */
    if (!call->req_done)
        call->rst_after = 1;
    mark_dirty(call->c);
}

static void respond_headers(node_call *call, int streaming)
{
    nghttp2_nv nva[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                        NV("subscribed", "true")};
    nghttp2_data_provider prd = {.source.ptr = call, .read_callback = data_read_cb};
    call->responded = 1;
    nghttp2_submit_response(call->c->h2, call->stream_id, nva, streaming ? 3 : 2, &prd);
    mark_dirty(call->c);
}

static int frame_append(xw_buf *b, const uint8_t *msg, size_t len)
{
    uint8_t hdr[5] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    if (xw_buf_reserve(b, 5 + len) != XW_OK)
        return XW_EFULL;
    xw_buf_append(b, hdr, 5);
    xw_buf_append(b, msg, len);
    return XW_OK;
}

void node_call_set_ops(node_call *call, const node_call_ops *ops, void *user)
{
    call->ops = ops;
    call->user = user;
}

int node_call_send(node_call *call, const uint8_t *msg, size_t len)
{
    if (call->finishing)
        return XW_ECLOSED;
    if (len > call->srv->max_msg)
        return XW_ETOOBIG;
    if (call->out.len - call->out_off + 5 + len > call->srv->max_call_buf && call->out.len > call->out_off)
        return XW_EFULL;
    if (call->out_off > 0 && call->out_off == call->out.len) {
        xw_buf_reset(&call->out);
        call->out_off = 0;
    }
    /* compact when the consumed head is large, so the buffer's bound means pending bytes */
    if (call->out_off > 0 && call->out.len + 5 + len > call->out.max) {
        memmove(call->out.data, call->out.data + call->out_off, call->out.len - call->out_off);
        call->out.len -= call->out_off;
        call->out_off = 0;
    }
    if (frame_append(&call->out, msg, len) != XW_OK)
        return XW_EFULL;
    resume(call);
    return XW_OK;
}

size_t node_call_pending(const node_call *call) { return call->out.len - call->out_off; }

const char *node_call_path(const node_call *call) { return call->path; }

void node_call_finish(node_call *call, int code, const char *msg, int discard)
{
    if (call->finishing)
        return;
    if (discard && call->out.len > call->out_off) {
        /* keep the frame being sent (the buffer starts at a frame boundary), drop the rest */
        size_t pos = 0;
        while (pos < call->out_off && pos + 5 <= call->out.len) {
            size_t flen = ((size_t)call->out.data[pos + 1] << 24) | ((size_t)call->out.data[pos + 2] << 16) |
                          ((size_t)call->out.data[pos + 3] << 8) | call->out.data[pos + 4];
            pos += 5 + flen;
        }
        if (pos < call->out.len)
            xw_buf_truncate(&call->out, pos);
    }
    call->finishing = 1;
    call->status = code;
    snprintf(call->status_msg, sizeof call->status_msg, "%s", msg ? msg : "");
    if (!call->responded) {
        respond_error(call, 200, code, "%s", msg ? msg : "");
    } else if (discard && call->out.len == call->out_off && !call->trailers_sent &&
               nghttp2_session_get_stream_remote_window_size(call->c->h2, call->stream_id) <= 0) {
        /* nothing left to send: the trailers go now, even if the peer's flow-control window
         * is closed (HEADERS are not flow-controlled; the data provider would never run) */
        if (submit_trailers(call) == 0)
            call->trailers_sent = 1;
        mark_dirty(call->c);
    } else {
        resume(call);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* requests */

static const node_method *find_method(node_server *s, const char *path)
{
    for (size_t i = 0; i < s->nmethods; i++)
        if (strcmp(s->methods[i].path, path) == 0)
            return &s->methods[i];
    return NULL;
}

static void dispatch(node_call *call)
{
    node_server *s = call->srv;
    call->dispatched = 1;
    if (call->req.len < 5) {
        respond_error(call, 200, NODE_GRPC_INVALID_ARGUMENT,
                      "the request has no gRPC message (%zu bytes of body); send exactly one length-prefixed "
                      "message",
                      call->req.len);
        return;
    }
    size_t mlen = ((size_t)call->req.data[1] << 24) | ((size_t)call->req.data[2] << 16) |
                  ((size_t)call->req.data[3] << 8) | call->req.data[4];
    if (call->req.len != 5 + mlen) {
        respond_error(call, 200, NODE_GRPC_INVALID_ARGUMENT,
                      call->req.len < 5 + mlen
                          ? "the request body ends inside its gRPC message (%zu of %zu bytes)"
                          : "the request body holds more than one gRPC message (%zu bytes "
                            "after a %zu-byte message); unary and server-streaming calls "
                            "take exactly one",
                      call->req.len < 5 + mlen ? call->req.len - 5 : call->req.len - 5 - mlen, mlen);
        return;
    }
    const uint8_t *msg = call->req.data + 5;
    node_status st = {0};
    if (call->method->unary) {
        xw_buf resp;
        xw_buf_init(&resp, s->max_msg);
        int rc = call->method->unary(call->method->ctx, msg, mlen, &resp, &st);
        xw_buf_free(&call->req);
        if (rc != NODE_GRPC_OK) {
            xw_buf_free(&resp);
            respond_error(call, 200, rc, "%s", st.msg);
            return;
        }
        xw_buf_init(&call->out, 5 + s->max_msg);
        if (frame_append(&call->out, resp.data ? resp.data : (const uint8_t *)"", resp.len) != XW_OK) {
            xw_buf_free(&resp);
            respond_error(call, 200, NODE_GRPC_RESOURCE_EXHAUSTED, "response too large");
            return;
        }
        xw_buf_free(&resp);
        call->finishing = 1;
        call->status = NODE_GRPC_OK;
        respond_headers(call, 0);
        return;
    }
    call->streaming = 1;
    xw_buf_init(&call->out, s->max_call_buf + 5 + s->max_msg);
    int rc = call->method->stream(call->method->ctx, call, msg, mlen, &st);
    xw_buf_free(&call->req);
    if (rc != NODE_GRPC_OK) {
        call->ops = NULL;
        respond_error(call, 200, rc, "%s", st.msg);
        return;
    }
    if (!call->responded)
        respond_headers(call, 1);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    node_call *call = xw_calloc(1, sizeof *call);
    if (!call)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    call->srv = c->srv;
    call->c = c;
    call->stream_id = frame->hd.stream_id;
    call->start_ns = xw_clock_mono_ns(xw_clock_real());
    xw_buf_init(&call->req, 5 + c->srv->max_msg);
    xw_buf_init(&call->out, 0);
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    node_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
    if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
        if (valuelen >= sizeof call->path)
            valuelen = sizeof call->path - 1; /* too long to be one of ours: stays unknown */
        memcpy(call->path, value, valuelen);
        call->path[valuelen] = 0;
    } else if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
        call->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
    } else if (namelen == 12 && memcmp(name, "content-type", 12) == 0) {
        call->ctype_ok = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                         (valuelen == 16 || value[16] == '+' || value[16] == ';');
    } else if (namelen == 12 && memcmp(name, "grpc-timeout", 12) == 0) {
        /* TimeoutValue (1-8 digits) and a unit: H M S m u n */
        int64_t v = 0;
        size_t i = 0;
        while (i < valuelen && i < 8 && value[i] >= '0' && value[i] <= '9')
            v = v * 10 + (value[i++] - '0');
        if (i > 0 && i + 1 == valuelen) {
            static const char units[] = "HMSmun";
            static const int64_t ns[] = {
                3600 * XW_NS_PER_SEC, 60 * XW_NS_PER_SEC, XW_NS_PER_SEC, XW_NS_PER_MS, 1000, 1};
            const char *u = memchr(units, value[i], 6);
            if (u)
                call->deadline_ns = call->start_ns + v * ns[u - units];
        }
    } else if (namelen == 13 && memcmp(name, "grpc-encoding", 13) == 0) {
        if (!(valuelen == 8 && memcmp(value, "identity", 8) == 0))
            call->rejected = -1; /* decided when the headers are complete */
    }
    return 0;
}

/* Errors found in the headers are answered when the request ends (its body is dropped):
 * answering early would make clients like libcurl 7.88 see a reset stream. */
static void late_error(node_call *call, int http_status, int code, const char *msg)
{
    call->late_http = http_status;
    call->late_code = code;
    snprintf(call->late_msg, sizeof call->late_msg, "%s", msg);
}

static void headers_done(node_call *call)
{
    char msg[XW_ERRBUF_SIZE];
    if (!call->is_post) {
        late_error(call, 405, NODE_GRPC_UNIMPLEMENTED, "gRPC calls use POST");
        return;
    }
    if (!call->ctype_ok) {
        late_error(call, 415, NODE_GRPC_UNKNOWN,
                   "content-type must be application/grpc (this node speaks gRPC over HTTP/2)");
        return;
    }
    if (call->rejected == -1) {
        call->rejected = 0;
        late_error(call, 200, NODE_GRPC_UNIMPLEMENTED,
                   "message compression is not supported by this node; send grpc-encoding identity");
        return;
    }
    call->method = find_method(call->srv, call->path);
    if (!call->method) {
        snprintf(msg, sizeof msg, "unknown method %.200s", call->path);
        late_error(call, 200, NODE_GRPC_UNIMPLEMENTED, msg);
    }
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    node_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call || call->rejected || call->dispatched || call->late_code)
        return 0;
    node_server *s = call->srv;
    size_t have = call->req.len;
    /* check the prefix as soon as it is complete, before buffering the message */
    if (have < 5 && have + len >= 5) {
        uint8_t hdr[5];
        memcpy(hdr, call->req.data ? call->req.data : hdr, have);
        memcpy(hdr + have, data, 5 - have);
        size_t mlen = ((size_t)hdr[1] << 24) | ((size_t)hdr[2] << 16) | ((size_t)hdr[3] << 8) | hdr[4];
        if (hdr[0] > 1) {
            respond_error(call, 200, NODE_GRPC_INTERNAL,
                          "bad gRPC message prefix: compressed flag is %u (only 0 and 1 exist)", hdr[0]);
            return 0;
        }
        if (hdr[0] == 1) {
            respond_error(call, 200, NODE_GRPC_UNIMPLEMENTED,
                          "compressed gRPC messages are not supported by this node; send them uncompressed");
            return 0;
        }
        if (mlen > s->max_msg) {
            respond_error(call, 200, NODE_GRPC_RESOURCE_EXHAUSTED,
                          "request message is %zu bytes; the node accepts at most %zu", mlen, s->max_msg);
            return 0;
        }
    }
    if (xw_buf_append(&call->req, data, len) != XW_OK) {
        respond_error(call, 200, NODE_GRPC_RESOURCE_EXHAUSTED,
                      "request body is larger than one message of at most %zu bytes", s->max_msg);
        return 0;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    node_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        call->req_done = 1;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        headers_done(call);
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !call->rejected && !call->dispatched) {
        if (call->late_code)
            respond_error(call, call->late_http, call->late_code, "%s", call->late_msg);
        else
            dispatch(call);
    }
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    node_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (call && call->rst_after && !call->req_done) {
        call->rst_after = 0;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

static void call_free(node_call *call)
{
    conn *c = call->c;
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    xw_buf_free(&call->req);
    xw_buf_free(&call->out);
    xw_free(call);
}

static void call_gone(node_call *call, const char *why)
{
    if (call->srv->stopping && !call->c->closing)
        mark_dirty(call->c);
    if (!call->trailers_sent) {
        call->status = NODE_GRPC_CANCELLED;
        snprintf(call->status_msg, sizeof call->status_msg, "the client went away");
    }
    call_log(call, why);
    if (call->ops && call->ops->closed)
        call->ops->closed(call, call->user);
    call_free(call);
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    conn *c = user_data;
    if (c->closing)
        return 0;
    node_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    call_gone(call, error_code && !call->trailers_sent ? " (stream reset)" : "");
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* connections */

static void conn_free(conn *c)
{
    node_server *s = c->srv;
    c->closing = 1;
    while (c->calls) {
        node_call *call = c->calls;
        if (call->stream_id)
            nghttp2_session_set_stream_user_data(c->h2, call->stream_id, NULL);
        call_gone(call, " (connection closed)");
    }
    nghttp2_session_del(c->h2);
    epoll_ctl(s->efd, EPOLL_CTL_DEL, c->fd, NULL);
    /* close gently: a close() with unread input makes the kernel send RST, and the peer
     * may then lose the last frames we sent (trailers, GOAWAY) */
    shutdown(c->fd, SHUT_WR);
    uint8_t sink[4096];
    for (int i = 0; i < 64 && read(c->fd, sink, sizeof sink) > 0; i++)
        ;
    close(c->fd);
    xw_free(c->wpend);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    xw_log_debug("node", "%s disconnected", c->peer);
    xw_free(c);
}

/* Writes what nghttp2 has to send; keeps an unwritten tail. Returns -1 if the connection broke. */
static int conn_flush(conn *c)
{
    while (c->wpend_off < c->wpend_len) {
        ssize_t n = write(c->fd, c->wpend + c->wpend_off, c->wpend_len - c->wpend_off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                epoll_set(c, EPOLLOUT);
                return 0;
            }
            return -1;
        }
        c->wpend_off += (size_t)n;
    }
    c->wpend_off = c->wpend_len = 0;
    for (;;) {
        const uint8_t *data;
        ssize_t len = nghttp2_session_mem_send(c->h2, &data);
        if (len < 0)
            return -1;
        if (len == 0)
            break;
        size_t off = 0;
        while (off < (size_t)len) {
            ssize_t n = write(c->fd, data + off, (size_t)len - off);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                return -1;
            }
            off += (size_t)n;
        }
        if (off < (size_t)len) {
            size_t rest = (size_t)len - off;
            uint8_t *p = xw_realloc(c->wpend, rest);
            if (!p)
                return -1;
            memcpy(p, data + off, rest);
            c->wpend = p;
            c->wpend_len = rest;
            c->wpend_off = 0;
            epoll_set(c, EPOLLOUT);
            return 0;
        }
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        xw_log_debug("node", "%s: HTTP/2 session finished", c->peer);
        return -1;
    }
    epoll_set(c, EPOLLIN);
    return 0;
}

static void conn_read(conn *c)
{
    uint8_t buf[READ_CHUNK];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                xw_log_debug("node", "%s: read: %s", c->peer, strerror(errno));
                c->dead = 1;
            }
            break;
        }
        if (n == 0) {
            xw_log_debug("node", "%s: peer closed the connection", c->peer);
            c->dead = 1;
            break;
        }
        ssize_t r = nghttp2_session_mem_recv(c->h2, buf, (size_t)n);
        xw_log_trace("node", "%s: read %zd bytes, nghttp2 took %zd", c->peer, n, r);
        if (r < 0) {
            xw_log_warn("node", "%s: HTTP/2 error: %s; closing the connection", c->peer,
                        nghttp2_strerror((int)r));
            c->dead = 1;
            break;
        }
        mark_dirty(c);
        if (c->wpend_len)
            break; /* stop reading until the peer reads what we owe it */
    }
}

static void conn_accept(node_server *s)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (s->stopping || s->nconns >= NODE_MAX_CONNECTIONS) {
            if (!s->stopping)
                xw_log_warn("node", "refusing a connection: %d already open", NODE_MAX_CONNECTIONS);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = xw_calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (sa.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
        } else if (sa.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
        if (nghttp2_session_server_new(&c->h2, s->cbs, c) != 0) {
            close(fd);
            xw_free(c);
            continue;
        }
        nghttp2_settings_entry iv[] = {
            {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->max_streams},
            {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
        };
        nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
        nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 16 << 20);
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        c->ev = EPOLLIN;
        if (epoll_ctl(s->efd, EPOLL_CTL_ADD, fd, &e) != 0) {
            nghttp2_session_del(c->h2);
            close(fd);
            xw_free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        xw_log_debug("node", "%s connected", c->peer);
        mark_dirty(c);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* server */

static int parse_listen(const char *spec, struct sockaddr_storage *sa, socklen_t *salen, xw_errbuf *eb)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host)
        return xw_errf(eb, XW_ECONFIG, "listen address '%s' is not HOST:PORT (e.g. 127.0.0.1:5556)", spec);
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = 0;
        h++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    int rc = getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &ai);
    if (rc != 0)
        return xw_errf(eb, XW_ECONFIG, "listen address '%s': %s", spec, gai_strerror(rc));
    memcpy(sa, ai->ai_addr, ai->ai_addrlen);
    *salen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return XW_OK;
}

int node_server_new(const node_server_opts *opts, const node_method *methods, size_t n, node_server **out,
                    xw_errbuf *eb)
{
    struct sockaddr_storage sa;
    socklen_t salen = 0;
    int rc = parse_listen(opts->listen ? opts->listen : "127.0.0.1:5556", &sa, &salen, eb);
    if (rc)
        return rc;
    node_server *s = xw_calloc(1, sizeof *s);
    if (!s)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    s->methods = methods;
    s->nmethods = n;
    s->max_msg = opts->max_message_size ? opts->max_message_size : NODE_DEFAULT_MAX_MESSAGE;
    s->max_call_buf = opts->max_call_buffer ? opts->max_call_buffer : 16u << 20;
    s->max_streams = opts->max_streams ? opts->max_streams : 1024;
    s->lfd = s->efd = s->sfd = -1;
    s->lfd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->lfd, (struct sockaddr *)&sa, salen) != 0 || listen(s->lfd, 1024) != 0) {
        rc = xw_errf(eb, XW_EIO, "cannot listen on %s: %s; is another node running there?", opts->listen,
                     strerror(errno));
        node_server_free(s);
        return rc;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(s->lfd, (struct sockaddr *)&bound, &blen);
    s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    s->efd = epoll_create1(EPOLL_CLOEXEC);
    s->sfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0 || s->sfd < 0) {
        rc = xw_errf(eb, XW_EIO, "epoll/eventfd: %s", strerror(errno));
        node_server_free(s);
        return rc;
    }
    struct epoll_event el = {.events = EPOLLIN, .data.ptr = &s->lfd};
    struct epoll_event es = {.events = EPOLLIN, .data.ptr = &s->sfd};
    epoll_ctl(s->efd, EPOLL_CTL_ADD, s->lfd, &el);
    epoll_ctl(s->efd, EPOLL_CTL_ADD, s->sfd, &es);

    if (nghttp2_session_callbacks_new(&s->cbs) != 0) {
        node_server_free(s);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(s->cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(s->cbs, on_frame_send);
    *out = s;
    return XW_OK;
}

int node_server_port(const node_server *s) { return s->port; }
size_t node_server_connections(const node_server *s) { return s->nconns; }

void node_server_stop(node_server *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->sfd, &one, sizeof one);
    (void)r;
}

static void flush_dirty(node_server *s)
{
    while (s->dirty) {
        conn *c = s->dirty;
        s->dirty = c->next_dirty;
        c->dirty = 0;

        if (!c->dead && conn_flush(c) != 0) {
            xw_log_debug("node", "%s: write failed or session over", c->peer);
            c->dead = 1;
        }
        if (c->dead)
            conn_free(c);
    }
}

static void begin_shutdown(node_server *s)
{
    s->stopping = 1;
    epoll_ctl(s->efd, EPOLL_CTL_DEL, s->lfd, NULL);
    close(s->lfd);
    s->lfd = -1;
    for (conn *c = s->conns; c; c = c->next) {
        for (node_call *call = c->calls; call; call = call->next)
            if (call->streaming && !call->finishing)
                node_call_finish(call, NODE_GRPC_UNAVAILABLE, "the node is shutting down; reconnect later",
                                 1);
        /* GOAWAY follows once the connection's calls have ended (flush_dirty), so it never
         * overtakes their trailers: libcurl 7.88 drops open streams on any GOAWAY */
        mark_dirty(c);
    }
}

int node_server_run(node_server *s, int grace_ms)
{
    struct epoll_event evs[256];
    int64_t deadline = 0, next_sweep = 0;
    for (;;) {
        /* streams past their grpc-timeout end with DEADLINE_EXCEEDED (checked every 100 ms) */
        int64_t now = xw_clock_mono_ns(xw_clock_real());
        if (now >= next_sweep) {
            next_sweep = now + 100 * XW_NS_PER_MS;
            for (conn *c = s->conns; c; c = c->next)
                for (node_call *call = c->calls; call; call = call->next)
                    if (call->streaming && !call->finishing && call->deadline_ns && now > call->deadline_ns)
                        node_call_finish(call, NODE_GRPC_DEADLINE_EXCEEDED, "deadline exceeded", 1);
        }
        if (s->stopping) {
            /* GOAWAY goes 100 ms after a connection's last call ended: sent right behind the
             * trailers, libcurl 7.88 drops the stream before it reads them */
            for (conn *c = s->conns; c; c = c->next) {
                if (c->calls || c->goaway_sent || c->dead)
                    continue;
                if (!c->idle_since) {
                    c->idle_since = now;
                } else if (now - c->idle_since > 100 * XW_NS_PER_MS) {
                    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                                          nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
                                          NULL, 0);
                    c->goaway_sent = 1;
                    mark_dirty(c);
                }
            }
        }
        flush_dirty(s);
        if (s->stopping) {
            if (!s->conns || xw_clock_mono_ns(xw_clock_real()) > deadline)
                break;
        }
        int n = epoll_wait(s->efd, evs, 256, s->stopping ? 20 : 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return XW_EIO;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &s->lfd) {
                conn_accept(s);
            } else if (p == &s->sfd) {
                uint64_t v;
                ssize_t r = read(s->sfd, &v, sizeof v);
                (void)r;
                if (!s->stopping) {
                    xw_log_info("node", "shutting down: ending %zu connection(s)", s->nconns);
                    begin_shutdown(s);
                    deadline = xw_clock_mono_ns(xw_clock_real()) + (int64_t)grace_ms * XW_NS_PER_MS;
                }
            } else {
                conn *c = p;
                if (c->dead)
                    continue;
                if ((evs[i].events & (EPOLLERR | EPOLLHUP)) && !(evs[i].events & EPOLLIN)) {
                    xw_log_debug("node", "%s: socket error or hang-up", c->peer);
                    c->dead = 1;
                }
                if (evs[i].events & EPOLLIN)
                    conn_read(c);
                mark_dirty(c);
            }
        }
    }
    while (s->conns)
        conn_free(s->conns);
    return XW_OK;
}

void node_server_free(node_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_free(s->conns);
    if (s->cbs)
        nghttp2_session_callbacks_del(s->cbs);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->efd >= 0)
        close(s->efd);
    if (s->sfd >= 0)
        close(s->sfd);
    xw_free(s);
}
