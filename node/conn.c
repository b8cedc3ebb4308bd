/*
 * gRPC over h2c, one connection (see server_int.h): its socket and HTTP/2 session, reading
 * and writing, what unblocks when memory frees, the fair dispatch of complete
 * requests across connections, and the connection's timers.
 *
 * Output: each loop turn, every connection that has something to say is serviced: what
 * memory now allows is unblocked (owed request bytes granted, subscriptions resumed, the
 * connection put back in the fair queue), then nghttp2's output is written, at most
 * NODE_FLUSH_PER_TURN per turn. A connection whose socket would block keeps the unwritten
 * tail, waits for EPOLLOUT and stops reading until it is written, so a peer that does not
 * read cannot make the node buffer without bound.
 *
 * Dispatch: a complete request waits in its connection's ready queue; the server takes one
 * request at a time from the ready connection that has used the least handler time so far
 * (start-time fair queueing: a connection's clock starts at the server's when it becomes
 * ready, and advances by what each of its requests took), for a few milliseconds per loop
 * turn. A connection's pipelined heavy requests thus delay another's cheap one by at most
 * the request already running, and the loop still reads sockets between turns.
 *
 * Timers (checked every 100 ms): a connection that has not sent its HTTP/2 SETTINGS within
 * the handshake timeout is closed; one without calls for the idle timeout gets GOAWAY; one
 * with output waiting and no byte written for the stall timeout is closed; a call whose
 * request body stops arriving for the stall timeout, or whose grpc-timeout passes before
 * it ends, is answered with an error.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "node/server_int.h"

#define READ_CHUNK 65536
#define READ_PER_TURN (4 * READ_CHUNK)
/* What a dispatch costs its connection at least, in the fair queue's time. */
#define DISPATCH_MIN_NS (10 * 1000)

static int64_t now_ns(void) { return xw_clock_mono_ns(xw_clock_real()); }

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

/* ------------------------------------------------------------------------------------------ */
/* memory rules */

int node_conn_may_grow(const conn *c)
{
    const node_server *s = c->srv;
    return c->mem < s->max_conn_mem && (s->mem < s->max_mem || c->mem < NODE_MEM_FLOOR);
}

int node_conn_may_send(const conn *c)
{
    const node_server *s = c->srv;
    return c->out_mem < s->max_conn_mem / 2 && (s->mem < s->max_mem || c->out_mem < NODE_MEM_FLOOR);
}

/* ------------------------------------------------------------------------------------------ */
/* the fair queue of connections with ready requests */

static void rr_push(conn *c)
{
    node_server *s = c->srv;
    if (c->in_rr)
        return;
    if (c->vtime < s->vnow)
        c->vtime = s->vnow; /* time not used while idle is not saved up */
    c->in_rr = 1;
    c->rr_next = NULL;
    c->rr_prev = s->rr_tail;
    if (s->rr_tail)
        s->rr_tail->rr_next = c;
    else
        s->rr_head = c;
    s->rr_tail = c;
}

static void rr_remove(conn *c)
{
    node_server *s = c->srv;
    if (!c->in_rr)
        return;
    if (c->rr_prev)
        c->rr_prev->rr_next = c->rr_next;
    else
        s->rr_head = c->rr_next;
    if (c->rr_next)
        c->rr_next->rr_prev = c->rr_prev;
    else
        s->rr_tail = c->rr_prev;
    c->in_rr = 0;
    c->rr_prev = c->rr_next = NULL;
}

void node_conn_ready_push(conn *c, node_call *call)
{
    call->ready = 1;
    call->rnext = NULL;
    call->rprev = c->ready_tail;
    if (c->ready_tail)
        c->ready_tail->rnext = call;
    else
        c->ready_head = call;
    c->ready_tail = call;
    if (node_conn_may_send(c))
        rr_push(c);
}

void node_conn_ready_remove(node_call *call)
{
    conn *c = call->c;
    if (!call->ready)
        return;
    if (call->rprev)
        call->rprev->rnext = call->rnext;
    else
        c->ready_head = call->rnext;
    if (call->rnext)
        call->rnext->rprev = call->rprev;
    else
        c->ready_tail = call->rprev;
    call->ready = 0;
    call->rprev = call->rnext = NULL;
    if (!c->ready_head)
        rr_remove(c);
}

int node_server_run_ready(node_server *s, int64_t budget_ns)
{
    int64_t start = now_ns(), end = start + budget_ns;
    while (s->rr_head) {
        /* start-time fair queueing: the connection that has used the least handler time
         * goes first, so a cheap request waits for at most the one heavy request running */
        conn *c = s->rr_head;
        for (conn *o = c->rr_next; o; o = o->rr_next)
            if (o->vtime < c->vtime)
                c = o;
        rr_remove(c);
        if (c->dead || !c->ready_head)
            continue;
        if (!node_conn_may_send(c))
            continue; /* node_conn_service puts it back once memory frees */
        node_call *call = c->ready_head;
        node_conn_ready_remove(call);
        s->vnow = c->vtime;
        node_call_dispatch(call);
        int64_t t = now_ns();
        c->vtime += (t - start > DISPATCH_MIN_NS ? t - start : DISPATCH_MIN_NS);
        start = t;
        if (c->ready_head)
            rr_push(c);
        if (t >= end)
            break;
    }
    return s->rr_head != NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* connections */

conn *node_conn_new(node_server *s, int fd, const char *peer, node_addr *addr)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* not a TCP socket: no matter */
    conn *c = xw_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = s;
    c->fd = fd;
    c->addr = addr;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    c->ev = EPOLLIN;
    if (epoll_ctl(s->efd, EPOLL_CTL_ADD, fd, &e) != 0) {
        xw_free(c);
        return NULL;
    }
    c->created_ns = c->idle_since = c->last_progress_ns = now_ns();
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    atomic_store_explicit(&s->ctr.connections, s->nconns, memory_order_relaxed);
    xw_log_debug("node", "%s connected", c->peer);
    return c;
}

/* The HTTP/2 session starts with the client's first bytes: a socket that never sends any
 * costs the node its descriptor and this structure, not a session (~30 KiB). */
static int conn_start_h2(conn *c)
{
    node_server *s = c->srv;
    if (nghttp2_session_server_new2(&c->h2, s->cbs, c, s->h2opt) != 0) {
        c->h2 = NULL;
        return -1;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, NODE_RECV_WINDOW},
    };
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, NODE_RECV_WINDOW);
    return 0;
}

void node_conn_free(conn *c)
{
    node_server *s = c->srv;
    c->closing = 1;
    while (c->calls) {
        node_call *call = c->calls;
        if (call->stream_id)
            nghttp2_session_set_stream_user_data(c->h2, call->stream_id, NULL);
        node_call_gone(call, " (connection closed)");
    }
    rr_remove(c);
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
    atomic_store_explicit(&s->ctr.connections, s->nconns, memory_order_relaxed);
    node_server_conn_closed(s, c->addr);
    xw_log_debug("node", "%s disconnected", c->peer);
    xw_free(c);
}

/* Writes what nghttp2 has to send, at most NODE_FLUSH_PER_TURN; keeps an unwritten tail.
 * Returns -1 if the connection broke, 1 if it stopped at the limit, 0 otherwise. */
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
        c->last_progress_ns = now_ns();
    }
    c->wpend_off = c->wpend_len = 0;
    if (!c->h2)
        return 0; /* the client has not spoken yet */
    size_t sent = 0;
    while (sent < NODE_FLUSH_PER_TURN) {
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
        if (off)
            c->last_progress_ns = now_ns();
        sent += off;
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
    return sent >= NODE_FLUSH_PER_TURN ? 1 : 0;
}

void node_conn_read(conn *c)
{
    uint8_t buf[READ_CHUNK];
    for (size_t total = 0; total < READ_PER_TURN;) {
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
        total += (size_t)n;
        if (!c->h2 && conn_start_h2(c) != 0) {
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

/* Everything c holds is request bodies still arriving, and none can finish without more
 * memory: refuse the largest so the others can (the client sent more at once than the
 * connection's budget). */
static void break_deadlock(conn *c)
{
    node_call *big = NULL;
    for (node_call *call = c->calls; call; call = call->next) {
        if (node_call_has_output(call) || call->ready)
            return; /* memory will free without help */
        if (!call->rejected && !call->dispatched && !call->req_done && (!big || call->req.len > big->req.len))
            big = call;
    }
    if (!big)
        return;
    char msg[XW_ERRBUF_SIZE];
    snprintf(msg, sizeof msg,
             "the requests on this connection hold %zu bytes, its limit (--max-connection-memory %zu); send "
             "large messages one at a time",
             c->mem, c->srv->max_conn_mem);
    xw_log_info("node", "%s: %s", c->peer, msg);
    node_call_refuse(big, NODE_GRPC_RESOURCE_EXHAUSTED, msg);
}

int node_conn_service(conn *c)
{
    if (c->owed) {
        if (node_conn_may_grow(c)) {
            for (node_call *call = c->calls; call && c->owed; call = call->next)
                node_call_grant(call);
        } else if (c->mem >= c->srv->max_conn_mem) {
            break_deadlock(c);
        }
    }
    if (c->starved && node_conn_may_send(c)) {
        c->starved = 0;
        for (node_call *call = c->calls; call; call = call->next)
            if (call->streaming && call->deferred && !call->finishing) {
                call->deferred = 0;
                nghttp2_session_resume_data(c->h2, call->stream_id);
            }
    }
    if (c->yielded) {
        c->yielded = 0;
        for (node_call *call = c->calls; call; call = call->next)
            if (call->yielded) {
                call->yielded = 0;
                if (call->deferred) {
                    call->deferred = 0;
                    nghttp2_session_resume_data(c->h2, call->stream_id);
                }
            }
    }
    if (c->ready_head && !c->in_rr && node_conn_may_send(c))
        rr_push(c);
    return conn_flush(c);
}

/* ------------------------------------------------------------------------------------------ */
/* timers */

void node_conn_sweep(conn *c, int64_t now)
{
    node_server *s = c->srv;
    if (c->dead)
        return;
    if (!c->handshake_done) {
        if (now - c->created_ns > s->handshake_ns) {
            xw_log_info("node", "%s: no HTTP/2 preface and SETTINGS within %lld ms; closing", c->peer,
                        (long long)(s->handshake_ns / XW_NS_PER_MS));
            atomic_fetch_add_explicit(&s->ctr.timed_out, 1, memory_order_relaxed);
            c->dead = 1;
            node_conn_mark_dirty(c);
        }
        return;
    }
    if (!c->calls && !s->stopping && !c->goaway_sent && now - c->idle_since > s->idle_ns) {
        xw_log_debug("node", "%s: idle for %lld ms; closing (GOAWAY)", c->peer,
                     (long long)(s->idle_ns / XW_NS_PER_MS));
        atomic_fetch_add_explicit(&s->ctr.timed_out, 1, memory_order_relaxed);
        nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
        c->goaway_sent = 1;
        node_conn_mark_dirty(c);
        return;
    }
    int waiting = c->wpend_len > 0;
    for (node_call *call = c->calls; call; call = call->next) {
        waiting |= node_call_has_output(call);
        if (call->trailers_sent || call->rejected)
            continue;
        if (call->deadline_ns && now > call->deadline_ns && (call->streaming || !call->dispatched)) {
            if (call->streaming)
                node_call_finish(call, NODE_GRPC_DEADLINE_EXCEEDED, "deadline exceeded", 1);
            else
                node_call_refuse(call, NODE_GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
        } else if (!call->req_done && !call->dispatched && now - call->last_data_ns > s->stall_ns) {
            char msg[XW_ERRBUF_SIZE];
            if (call->owed)
                snprintf(msg, sizeof msg,
                         "the node is short of memory for requests and could not take this one for %lld "
                         "ms; retry later",
                         (long long)(s->stall_ns / XW_NS_PER_MS));
            else
                snprintf(msg, sizeof msg, "no request data for %lld ms; send the request at once",
                         (long long)(s->stall_ns / XW_NS_PER_MS));
            node_call_refuse(call, call->owed ? NODE_GRPC_RESOURCE_EXHAUSTED : NODE_GRPC_DEADLINE_EXCEEDED,
                             msg);
        }
    }
    if (!waiting) {
        c->last_progress_ns = now; /* nothing to write: the stall timer starts when there is */
    } else if (now - c->last_progress_ns > s->stall_ns) {
        xw_log_info("node", "%s: has not read what the node sent for %lld ms; closing", c->peer,
                    (long long)(s->stall_ns / XW_NS_PER_MS));
        atomic_fetch_add_explicit(&s->ctr.timed_out, 1, memory_order_relaxed);
        c->dead = 1;
        node_conn_mark_dirty(c);
    }
}
