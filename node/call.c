/*
 * One gRPC call per HTTP/2 stream (see server.h and server_int.h): request headers are
 * checked when they are complete (method, content type, encoding, grpc-timeout, path), the
 * body is collected into a bounded buffer whose 5-byte gRPC prefix is checked as soon as it
 * arrives (an oversized message is refused before anything is allocated for it), and the
 * complete request waits in its connection's ready queue until the server's fair queue
 * dispatches it to the method's handler. Responses come from one nghttp2 data provider per
 * call that reads the call's outbound buffer and ends with trailers (grpc-status and a
 * percent-encoded grpc-message); errors before any message are Trailers-Only responses.
 * Errors found in the headers are answered when the request ends, and an answer sent
 * before the request ended is followed by RST_STREAM(NO_ERROR) once it is out.
 *
 * Memory: every change to a call's buffers is charged to its connection
 * (node_call_account), and request bytes are granted back to the peer (HTTP/2 flow control,
 * nghttp2_session_consume) only while the connection may grow; otherwise they are owed and
 * granted when memory frees (conn.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "node/server_int.h"

/* An emptied outbound buffer larger than this gives its storage back. */
#define KEEP_OUT_CAP (64u << 10)
/* A grpc-timeout longer than this (100 years) is the same as none; it keeps the deadline
 * arithmetic in range. */
#define MAX_TIMEOUT_NS (INT64_C(100) * 36525 * 864 * XW_NS_PER_SEC / 100)

static int64_t now_ns(void) { return xw_clock_mono_ns(xw_clock_real()); }

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
    char app[80] = "";
    if (call->app[0])
        snprintf(app, sizeof app, " [%s]", call->app);
    if (call->status == NODE_GRPC_OK)
        xw_log_info("node", "%s%s %s %s %lld.%03lld ms%s", call->c->peer, app,
                    call->path[0] ? call->path : "-", node_grpc_code_name(call->status),
                    (long long)(us / 1000), (long long)(us % 1000), why);
    else
        xw_log_info("node", "%s%s %s %s %lld.%03lld ms%s: %s", call->c->peer, app,
                    call->path[0] ? call->path : "-", node_grpc_code_name(call->status),
                    (long long)(us / 1000), (long long)(us % 1000), why, call->status_msg);
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
    if (call->out_off == call->out.len && !call->finishing && !call->yielded && call->ops &&
        call->ops->drain) {
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
        if (call->finishing || call->out.cap > KEEP_OUT_CAP)
            xw_buf_free(&call->out);
        else
            xw_buf_reset(&call->out);
        call->out_off = 0;
        node_call_account(call);
    }
    return (ssize_t)n;
}

static void resume(node_call *call)
{
    if (call->deferred) {
        call->deferred = 0;
        nghttp2_session_resume_data(call->c->h2, call->stream_id);
    }
    node_conn_mark_dirty(call->c);
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
    node_conn_ready_remove(call);
    node_call_account(call);
    node_call_grant(call); /* what it sent is dropped, and what follows will be */
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
    node_conn_mark_dirty(call->c);
}

static void respond_headers(node_call *call, int streaming)
{
    nghttp2_nv nva[] = {NV(":status", "200"), NV("content-type", "application/grpc"),
                        NV("subscribed", "true")};
    nghttp2_data_provider prd = {.source.ptr = call, .read_callback = data_read_cb};
    call->responded = 1;
    nghttp2_submit_response(call->c->h2, call->stream_id, nva, streaming ? 3 : 2, &prd);
    node_conn_mark_dirty(call->c);
}

/* Makes room for n more bytes in a request or response buffer, growing it by a quarter
 * (not doubling as xw_buf does) so that what is charged for it stays close to what it holds:
 * the memory budget counts capacity. */
static int buf_grow(xw_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return XW_ETOOBIG;
    if (b->data && b->len + n <= b->cap)
        return XW_OK;
    size_t want = b->cap + b->cap / 4;
    if (want < b->len + n)
        want = b->len + n;
    if (want < 4096)
        want = 4096;
    if (want > b->max)
        want = b->max;
    size_t max = b->max;
    b->max = want; /* xw_buf_reserve grows to at most its maximum */
    int rc = xw_buf_reserve(b, n);
    b->max = max;
    return rc;
}

static int frame_append(xw_buf *b, const uint8_t *msg, size_t len)
{
    uint8_t hdr[5] = {0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    if (buf_grow(b, 5 + len) != XW_OK)
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

void node_call_yield(node_call *call)
{
    call->yielded = 1;
    call->c->yielded = 1; /* flush_dirty services the connection again next turn */
}

int node_call_send(node_call *call, const uint8_t *msg, size_t len)
{
    if (call->finishing)
        return XW_ECLOSED;
    if (len > call->srv->max_msg)
        return XW_ETOOBIG;
    if (call->out.len - call->out_off + 5 + len > call->srv->max_call_buf && call->out.len > call->out_off)
        return XW_EFULL;
    if (!node_conn_may_send(call->c)) {
        call->c->starved = 1; /* conn.c resumes its subscriptions when memory frees */
        return XW_EFULL;
    }
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
    node_call_account(call);
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
        node_conn_mark_dirty(call->c);
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

void node_call_dispatch(node_call *call)
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
        xw_buf_init(&call->out, 5 + resp.len); /* exactly: the buffer never grows past its max */
        if (frame_append(&call->out, resp.data ? resp.data : (const uint8_t *)"", resp.len) != XW_OK) {
            xw_buf_free(&resp);
            respond_error(call, 200, NODE_GRPC_RESOURCE_EXHAUSTED, "response too large");
            return;
        }
        xw_buf_free(&resp);
        call->finishing = 1;
        call->status = NODE_GRPC_OK;
        node_call_account(call);
        respond_headers(call, 0);
        return;
    }
    call->streaming = 1;
    xw_buf_init(&call->out, s->max_call_buf + 5 + s->max_msg);
    int rc = call->method->stream(call->method->ctx, call, msg, mlen, &st);
    xw_buf_free(&call->req);
    node_call_account(call);
    if (rc != NODE_GRPC_OK) {
        call->ops = NULL;
        respond_error(call, 200, rc, "%s", st.msg);
        return;
    }
    if (!call->responded)
        respond_headers(call, 1);
}

void node_call_account(node_call *call)
{
    conn *c = call->c;
    node_server *s = call->srv;
    size_t before = s->mem;
    size_t now = sizeof *call + NODE_STREAM_OVERHEAD + call->req.cap + call->out.cap + call->charged;
    c->mem = c->mem - call->mem + now;
    c->out_mem = c->out_mem - call->out_mem + call->out.cap;
    s->mem = s->mem - call->mem + now;
    int shrank = now < call->mem;
    call->mem = now;
    call->out_mem = call->out.cap;
    node_server_mem_changed(s, before);
    /* less held: what waited for memory on this connection may go on (conn.c) */
    if (shrank && !c->closing && (c->owed || c->starved || (c->ready_head && !c->in_rr)))
        node_conn_mark_dirty(c);
}

void node_call_grant(node_call *call)
{
    if (!call->owed)
        return;
    nghttp2_session_consume(call->c->h2, call->stream_id, call->owed);
    call->c->owed -= call->owed;
    call->owed = 0;
    call->last_data_ns = now_ns();
}

void node_call_refuse(node_call *call, int code, const char *msg)
{
    respond_error(call, 200, code, "%s", msg);
}

int node_call_has_output(const node_call *call)
{
    return call->out.len > call->out_off || (call->finishing && call->responded && !call->trailers_sent);
}

int node_call_charge(node_call *call, size_t bytes)
{
    if (!node_conn_may_grow(call->c))
        return XW_EFULL;
    call->charged += bytes;
    node_call_account(call);
    return XW_OK;
}

void node_call_uncharge(node_call *call, size_t bytes)
{
    call->charged -= bytes < call->charged ? bytes : call->charged;
    node_call_account(call);
}

int node_call_filters_add(node_call *call, size_t n, size_t max, size_t *total)
{
    conn *c = call->c;
    *total = c->filters;
    if (n > max || c->filters > max - n)
        return XW_ELIMIT;
    c->filters += n;
    return XW_OK;
}

void node_call_filters_sub(node_call *call, size_t n)
{
    call->c->filters -= n < call->c->filters ? n : call->c->filters;
}

int node_call_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (!node_conn_may_grow(c)) {
        /* no memory for another call: the client may retry it (RFC 9113 §8.7) */
        xw_log_debug("node", "%s: refusing stream %d: the connection holds %zu bytes", c->peer,
                     frame->hd.stream_id, c->mem);
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    node_call *call = xw_calloc(1, sizeof *call);
    if (!call)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    call->srv = c->srv;
    call->c = c;
    call->stream_id = frame->hd.stream_id;
    call->start_ns = call->last_data_ns = now_ns();
    xw_buf_init(&call->req, 5 + c->srv->max_msg);
    xw_buf_init(&call->out, 0);
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    node_call_account(call);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    return 0;
}

/* grpc-timeout (PROTOCOL-HTTP2.md): TimeoutValue, 1 to 8 ASCII digits, then a unit, one of
 * H M S m u n. Returns the timeout in ns, at most MAX_TIMEOUT_NS, or -1 if malformed. */
static int64_t parse_timeout(const uint8_t *v, size_t n)
{
    static const char units[] = "HMSmun";
    static const int64_t unit_ns[] = {
        3600 * XW_NS_PER_SEC, 60 * XW_NS_PER_SEC, XW_NS_PER_SEC, XW_NS_PER_MS, 1000, 1};
    if (n < 2 || n > 9)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0'); /* at most 99999999 */
    }
    const char *u = memchr(units, v[n - 1], 6);
    if (!u)
        return -1;
    int64_t per = unit_ns[u - units];
    return x > MAX_TIMEOUT_NS / per ? MAX_TIMEOUT_NS : x * per;
}

int node_call_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
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
    } else if (namelen == 13 && memcmp(name, "x-app-version", 13) == 0) {
        /* printable ASCII only, cut to fit: it goes into log lines */
        size_t k = 0;
        for (size_t i = 0; i < valuelen && k + 1 < sizeof call->app; i++)
            if (value[i] >= 0x20 && value[i] < 0x7f)
                call->app[k++] = (char)value[i];
        call->app[k] = 0;
    } else if (namelen == 12 && memcmp(name, "grpc-timeout", 12) == 0) {
        int64_t t = parse_timeout(value, valuelen);
        if (t < 0 && !call->late_code) {
            char shown[24];
            size_t k = 0;
            for (size_t i = 0; i < valuelen && k + 1 < sizeof shown; i++)
                shown[k++] = value[i] >= 0x20 && value[i] < 0x7f ? (char)value[i] : '?';
            shown[k] = 0;
            call->late_http = 200;
            call->late_code = NODE_GRPC_INVALID_ARGUMENT;
            snprintf(call->late_msg, sizeof call->late_msg,
                     "grpc-timeout '%s%s' is not valid: 1 to 8 digits, then a unit H, M, S, m, u or n", shown,
                     valuelen > k ? "..." : "");
        } else if (t >= 0) {
            call->deadline_ns = call->start_ns + t;
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
    if (call->late_code) /* a bad grpc-timeout */
        return;
    call->method = find_method(call->srv, call->path);
    if (!call->method) {
        snprintf(msg, sizeof msg, "unknown method %.200s", call->path);
        late_error(call, 200, NODE_GRPC_UNIMPLEMENTED, msg);
    }
}

int node_call_on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                            size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    node_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call || call->rejected || call->dispatched || call->ready || call->late_code) {
        nghttp2_session_consume(session, stream_id, len); /* dropped: nothing held */
        return 0;
    }
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
        } else if (hdr[0] == 1) {
            respond_error(call, 200, NODE_GRPC_UNIMPLEMENTED,
                          "compressed gRPC messages are not supported by this node; send them uncompressed");
        } else if (mlen > s->max_msg) {
            respond_error(call, 200, NODE_GRPC_RESOURCE_EXHAUSTED,
                          "request message is %zu bytes; the node accepts at most %zu", mlen, s->max_msg);
        }
        if (call->rejected) {
            nghttp2_session_consume(session, stream_id, len);
            return 0;
        }
    }
    if (buf_grow(&call->req, len) != XW_OK || xw_buf_append(&call->req, data, len) != XW_OK) {
        respond_error(call, 200, NODE_GRPC_RESOURCE_EXHAUSTED,
                      "request body is larger than one message of at most %zu bytes", s->max_msg);
        nghttp2_session_consume(session, stream_id, len);
        return 0;
    }
    call->last_data_ns = now_ns();
    node_call_account(call);
    /* flow control: the peer may send more only while the connection may hold more */
    if (node_conn_may_grow(call->c)) {
        nghttp2_session_consume(session, stream_id, len);
    } else {
        call->owed += len;
        call->c->owed += len;
    }
    return 0;
}

int node_call_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    conn *c = user_data;
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK))
        c->handshake_done = 1;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    node_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        call->req_done = 1;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        headers_done(call);
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !call->rejected && !call->dispatched && !call->ready) {
        if (call->late_code)
            respond_error(call, call->late_http, call->late_code, "%s", call->late_msg);
        else
            node_conn_ready_push(c, call); /* dispatched in turn (conn.c) */
    }
    return 0;
}

int node_call_on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
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
    node_conn_ready_remove(call);
    if (call->owed) {
        /* the stream is gone with bytes never granted: the connection's window gets them */
        if (!c->closing)
            nghttp2_session_consume_connection(c->h2, call->owed);
        c->owed -= call->owed;
        call->owed = 0;
    }
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    if (!c->calls)
        c->idle_since = now_ns();
    xw_buf_free(&call->req);
    xw_buf_free(&call->out);
    call->charged = 0;
    size_t before = call->srv->mem;
    c->mem -= call->mem;
    c->out_mem -= call->out_mem;
    call->srv->mem -= call->mem;
    node_server_mem_changed(call->srv, before);
    if (!c->closing && (c->owed || c->starved || (c->ready_head && !c->in_rr)))
        node_conn_mark_dirty(c);
    xw_free(call);
}

void node_call_gone(node_call *call, const char *why)
{
    if (call->srv->stopping && !call->c->closing)
        node_conn_mark_dirty(call->c);
    if (!call->trailers_sent) {
        call->status = NODE_GRPC_CANCELLED;
        snprintf(call->status_msg, sizeof call->status_msg, "the client went away");
    }
    call_log(call, why);
    if (call->ops && call->ops->closed)
        call->ops->closed(call, call->user);
    call_free(call);
}

int node_call_on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                              void *user_data)
{
    conn *c = user_data;
    if (c->closing)
        return 0;
    node_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    node_call_gone(call, error_code && !call->trailers_sent ? " (stream reset)" : "");
    return 0;
}
