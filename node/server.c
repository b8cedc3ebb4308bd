/*
 * gRPC over h2c with libnghttp2, the connection half: listening socket, connections and
 * their HTTP/2 sessions, the epoll loop, stream deadlines, graceful shutdown. The call half
 * (one gRPC call per stream) is call.c. See server.h for the contract.
 *
 * Design: one thread runs an epoll loop over the listening socket, an eventfd used to stop,
 * and every connection. Bytes read from a connection go straight into its nghttp2 session;
 * nghttp2 calls back per frame into call.c.
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
#include "node/server_int.h"

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
#define NODE_MAX_CONNECTIONS 4096

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

void node_conn_mark_dirty(conn *c)
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
        node_call_gone(call, " (connection closed)");
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
        ssize_t n = send(c->fd, c->wpend + c->wpend_off, c->wpend_len - c->wpend_off, MSG_NOSIGNAL);
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
            ssize_t n = send(c->fd, data + off, (size_t)len - off, MSG_NOSIGNAL);
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
        node_conn_mark_dirty(c);
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
        node_conn_mark_dirty(c);
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
    nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, node_call_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(s->cbs, node_call_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->cbs, node_call_on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, node_call_on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, node_call_on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(s->cbs, node_call_on_frame_send);
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
        node_conn_mark_dirty(c);
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
                    node_conn_mark_dirty(c);
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
                node_conn_mark_dirty(c);
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
