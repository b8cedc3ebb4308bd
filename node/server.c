/*
 * gRPC over h2c with libnghttp2, the server half: the listening socket, accepting under
 * the connection limits, the epoll loop and its timers, graceful shutdown. A connection is
 * conn.c, a call (one gRPC call per stream) is call.c. See server.h for the contract and
 * server_int.h for the memory budget.
 *
 * Design: one thread runs an epoll loop over the listening socket, an eventfd used to stop,
 * and every connection. Bytes read from a connection go straight into its nghttp2 session;
 * nghttp2 calls back per frame into call.c; complete requests are dispatched fairly
 * (conn.c); after every batch of events each connection that has something to say is
 * serviced and flushed. Streaming calls deliver data from other connections' requests (a
 * publish fans out to subscribers), so node_call_send marks the subscriber's connection
 * dirty; the loop flushes dirty connections before it waits again.
 *
 * Connection limits: at most max_per_addr connections from one IPv4 address or IPv6 /64
 * (a seeded hash table of counts), and at most max_conns in all; when full, the connection
 * idle the longest (no calls) is closed to make room, so idle sockets cannot lock others
 * out. When accept4() fails for lack of descriptors, accepting pauses (logged once) until a
 * connection closes or 100 ms pass, instead of spinning on the still-readable socket.
 */
#include "node/server.h"
#include "node/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#define ADDR_BUCKETS 1024u
#define ACCEPT_PER_TURN 64
#define ACCEPT_PAUSE_NS (100 * XW_NS_PER_MS)
#define SWEEP_NS (100 * XW_NS_PER_MS)
#define DISPATCH_SLICE_NS (5 * XW_NS_PER_MS)
#define MEMORY_FREED_STEP (32u << 20) /* see node_server_opts.memory_freed */
/* Descriptors kept for the store (database, WAL, shared memory, the checkpointer's second
 * connection, journals) and the loop (epoll, eventfd, listening socket). */
#define FD_RESERVE 64

/* Defaults of node_server_opts (docs/devnode.md). */
#define DEF_CONN_MEM (64u << 20)
#define DEF_MEM (512u << 20)
#define DEF_CONNS 4096u
#define DEF_PER_ADDR 512u
#define DEF_HANDSHAKE_MS 10000
#define DEF_IDLE_MS 300000
#define DEF_STALL_MS 30000

struct node_addr {
    node_addr *next;
    uint8_t key[8];
    uint8_t klen;
    uint32_t count;
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

static int64_t now_ns(void) { return xw_clock_mono_ns(xw_clock_real()); }

/* ------------------------------------------------------------------------------------------ */
/* per-address counts */

/* The key of a peer: its IPv4 address (also when written as ::ffff:a.b.c.d), or the /64 of
 * an IPv6 address (one host usually owns a whole /64). */
static size_t addr_key_of(const struct sockaddr_storage *sa, uint8_t key[8])
{
    if (sa->ss_family == AF_INET) {
        memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 4;
    }
    if (sa->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0) {
            memcpy(key, a + 12, 4);
            return 4;
        }
        memcpy(key, a, 8);
        return 8;
    }
    return 0;
}

static node_addr **addr_slot(node_server *s, const uint8_t *key, size_t klen)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, klen, s->addr_key);
    uint32_t b = ((uint32_t)h[0] | (uint32_t)h[1] << 8) & (ADDR_BUCKETS - 1);
    node_addr **pp = &s->addrs[b];
    while (*pp && ((*pp)->klen != klen || memcmp((*pp)->key, key, klen) != 0))
        pp = &(*pp)->next;
    return pp;
}

void node_server_conn_closed(node_server *s, node_addr *a)
{
    if (s->accept_paused)
        s->fd_freed = 1;
    if (!a || --a->count > 0)
        return;
    node_addr **pp = addr_slot(s, a->key, a->klen);
    if (*pp == a)
        *pp = a->next;
    xw_free(a);
}

/* Warnings about refused connections: the first, then at most one a second with a count,
 * so a flood of connections is not also a flood of log lines. */
static void warn_refused(node_server *s, const char *peer, const char *why)
{
    int64_t now = now_ns();
    atomic_fetch_add_explicit(&s->ctr.refused, 1, memory_order_relaxed);
    if (now < s->next_warn_ns) {
        s->warn_suppressed++;
        return;
    }
    if (s->warn_suppressed)
        xw_log_warn("node", "refusing a connection from %s: %s (and %zu more refused in the last second)",
                    peer, why, s->warn_suppressed);
    else
        xw_log_warn("node", "refusing a connection from %s: %s", peer, why);
    s->warn_suppressed = 0;
    s->next_warn_ns = now + XW_NS_PER_SEC;
}

/* Closes the connection idle the longest (no calls), to make room; 0 if there is none. */
static int evict_idle(node_server *s)
{
    conn *old = NULL;
    for (conn *c = s->conns; c; c = c->next)
        if (!c->calls && !c->dead && (!old || c->idle_since < old->idle_since))
            old = c;
    if (!old)
        return 0;
    xw_log_debug("node", "%s: closing this idle connection to make room for a new one", old->peer);
    atomic_fetch_add_explicit(&s->ctr.evicted, 1, memory_order_relaxed);
    if (old->h2)
        nghttp2_session_terminate_session(old->h2, NGHTTP2_NO_ERROR);
    old->dead = 1; /* freed at the end of this turn, after a last flush of its GOAWAY */
    node_conn_mark_dirty(old);
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* accepting */

static void pause_accepting(node_server *s, int err)
{
    if (!s->accept_paused) {
        if (!s->accept_logged)
            xw_log_warn("node",
                        "cannot accept connections: %s (%zu open); new connections wait until a descriptor "
                        "frees (raise the limit with ulimit -n, or lower --max-connections)",
                        strerror(err), s->nconns);
        s->accept_logged = 1;
        evict_idle(s);
        struct epoll_event e = {.events = 0, .data.ptr = &s->lfd};
        epoll_ctl(s->efd, EPOLL_CTL_MOD, s->lfd, &e);
        s->accept_paused = 1;
        s->fd_freed = 0;
        atomic_store_explicit(&s->ctr.accept_paused, 1, memory_order_relaxed);
    }
    s->accept_resume_ns = now_ns() + ACCEPT_PAUSE_NS;
}

static void resume_accepting(node_server *s)
{
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &s->lfd};
    epoll_ctl(s->efd, EPOLL_CTL_MOD, s->lfd, &e);
    s->accept_paused = 0;
    atomic_store_explicit(&s->ctr.accept_paused, 0, memory_order_relaxed);
}

static void peer_name(const struct sockaddr_storage *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    } else if (sa->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    snprintf(out, cap, "%s:%d", host, port);
}

static void conn_accept(node_server *s)
{
    for (int i = 0; i < ACCEPT_PER_TURN && !s->accept_paused; i++) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof sa;
        atomic_fetch_add_explicit(&s->ctr.accept_calls, 1, memory_order_relaxed);
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                pause_accepting(s, errno);
            return;
        }
        if (s->accept_logged) {
            xw_log_info("node", "accepting connections again (%zu open)", s->nconns);
            s->accept_logged = 0;
        }
        if (s->stopping) {
            close(fd);
            continue;
        }
        char peer[64];
        peer_name(&sa, peer, sizeof peer);
        uint8_t key[8];
        size_t klen = addr_key_of(&sa, key);
        node_addr **slot = klen ? addr_slot(s, key, klen) : NULL;
        if (slot && *slot && (*slot)->count >= s->max_per_addr) {
            warn_refused(s, peer, "too many connections from this address (--max-connections-per-address)");
            close(fd);
            continue;
        }
        if (s->nconns >= s->max_conns && !evict_idle(s)) {
            warn_refused(s, peer,
                         "the node has its maximum of connections open, all busy (--max-connections)");
            close(fd);
            continue;
        }
        node_addr *a = NULL;
        if (slot) {
            if (!*slot) {
                *slot = xw_calloc(1, sizeof **slot);
                if (!*slot) {
                    close(fd);
                    continue;
                }
                memcpy((*slot)->key, key, klen);
                (*slot)->klen = (uint8_t)klen;
            }
            a = *slot;
            a->count++;
        }
        conn *c = node_conn_new(s, fd, peer, a);
        if (!c) {
            node_server_conn_closed(s, a);
            close(fd);
            continue;
        }
        /* a client usually sends its preface and first request right behind the handshake:
         * take them now rather than one loop turn later */
        node_conn_read(c);
        node_conn_mark_dirty(c);
    }
}

int node_server_adopt(node_server *s, int fd, const char *peer)
{
    return node_conn_new(s, fd, peer, NULL) ? 0 : -1;
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

/* Fills the limits from opts (0 = default) and checks that they fit together. */
static int set_limits(node_server *s, const node_server_opts *o, xw_errbuf *eb)
{
    s->max_msg = o->max_message_size ? o->max_message_size : NODE_DEFAULT_MAX_MESSAGE;
    s->max_call_buf = o->max_call_buffer ? o->max_call_buffer : 16u << 20;
    s->max_streams = o->max_streams ? o->max_streams : 1024;
    /* a connection must be able to hold one request of the largest size and some more */
    size_t least = s->max_msg + 5 + NODE_MEM_FLOOR;
    s->max_conn_mem =
        o->max_connection_memory ? o->max_connection_memory : (DEF_CONN_MEM > least ? DEF_CONN_MEM : least);
    if (s->max_conn_mem < least)
        return xw_errf(eb, XW_ECONFIG,
                       "the per-connection memory limit (%zu bytes) must hold a message of the maximum size "
                       "(%zu) and 1 MiB more; raise it to %zu or more, or lower the message size",
                       s->max_conn_mem, s->max_msg, least);
    s->max_mem = o->max_memory ? o->max_memory : (DEF_MEM > s->max_conn_mem ? DEF_MEM : s->max_conn_mem);
    if (s->max_mem < s->max_conn_mem)
        return xw_errf(
            eb, XW_ECONFIG,
            "the node's memory limit (%zu bytes) is below the per-connection limit (%zu); raise it",
            s->max_mem, s->max_conn_mem);
    s->max_conns = o->max_connections ? o->max_connections : DEF_CONNS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)s->max_conns + FD_RESERVE) {
        uint32_t fit = rl.rlim_cur > 2 * FD_RESERVE ? (uint32_t)(rl.rlim_cur - FD_RESERVE) : FD_RESERVE;
        xw_log_info("node", "%u connections at most: the process may open %llu descriptors (ulimit -n)", fit,
                    (unsigned long long)rl.rlim_cur);
        if (fit < s->max_conns)
            s->max_conns = fit;
    }
    s->max_per_addr = o->max_per_address ? o->max_per_address : DEF_PER_ADDR;
    s->handshake_ns = (o->handshake_timeout_ms ? o->handshake_timeout_ms : DEF_HANDSHAKE_MS) * XW_NS_PER_MS;
    s->idle_ns = (o->idle_timeout_ms ? o->idle_timeout_ms : DEF_IDLE_MS) * XW_NS_PER_MS;
    s->stall_ns = (o->stall_timeout_ms ? o->stall_timeout_ms : DEF_STALL_MS) * XW_NS_PER_MS;
    s->memory_freed = o->memory_freed;
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
    if (sodium_init() < 0)
        return xw_errf(eb, XW_ECRYPTO, "libsodium failed to initialise");
    node_server *s = xw_calloc(1, sizeof *s);
    if (!s)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    s->lfd = s->efd = s->sfd = -1;
    s->methods = methods;
    s->nmethods = n;
    if ((rc = set_limits(s, opts, eb)) != XW_OK) {
        node_server_free(s);
        return rc;
    }
    randombytes_buf(s->addr_key, sizeof s->addr_key);
    s->addrs = xw_calloc(ADDR_BUCKETS, sizeof *s->addrs);
    if (!s->addrs) {
        node_server_free(s);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
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

    if (nghttp2_session_callbacks_new(&s->cbs) != 0 || nghttp2_option_new(&s->h2opt) != 0) {
        node_server_free(s);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    /* request bytes are granted back to the peer only while memory allows (call.c) */
    nghttp2_option_set_no_auto_window_update(s->h2opt, 1);
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

size_t node_server_connections(const node_server *s)
{
    return atomic_load_explicit(&s->ctr.connections, memory_order_relaxed);
}

void node_server_get_stats(const node_server *s, node_server_stats *out)
{
    const node_server_counters *k = &s->ctr;
    out->connections = atomic_load_explicit(&k->connections, memory_order_relaxed);
    out->memory = atomic_load_explicit(&k->memory, memory_order_relaxed);
    out->memory_peak = atomic_load_explicit(&k->memory_peak, memory_order_relaxed);
    out->refused = atomic_load_explicit(&k->refused, memory_order_relaxed);
    out->evicted = atomic_load_explicit(&k->evicted, memory_order_relaxed);
    out->timed_out = atomic_load_explicit(&k->timed_out, memory_order_relaxed);
    out->accept_calls = atomic_load_explicit(&k->accept_calls, memory_order_relaxed);
    out->accept_paused = atomic_load_explicit(&k->accept_paused, memory_order_relaxed);
}

void node_server_mem_changed(node_server *s, size_t before)
{
    atomic_store_explicit(&s->ctr.memory, s->mem, memory_order_relaxed);
    if (s->mem > atomic_load_explicit(&s->ctr.memory_peak, memory_order_relaxed))
        atomic_store_explicit(&s->ctr.memory_peak, s->mem, memory_order_relaxed);
    if (s->mem > s->mem_high)
        s->mem_high = s->mem;
    if (before >= s->max_mem && s->mem < s->max_mem)
        s->mem_released = 1;
}

void node_server_stop(node_server *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->sfd, &one, sizeof one);
    (void)r;
}

/* Services and flushes every dirty connection, frees the dead ones. Returns 1 if some have
 * more to write than one turn allows. */
static int flush_dirty(node_server *s)
{
    int more = 0;
    while (s->dirty) {
        conn *c = s->dirty;
        s->dirty = c->next_dirty;
        c->dirty = 0;
        int rc = c->dead ? -1 : node_conn_service(c);
        if (rc < 0 && !c->dead) {
            xw_log_debug("node", "%s: write failed or session over", c->peer);
            c->dead = 1;
        }
        if (c->dead) {
            if (!c->dirty) /* else it is queued again and freed when it comes up */
                node_conn_free(c);
            continue;
        }
        if (rc == 1 || c->yielded) {
            c->flush_more = 1;
            more = 1;
        }
    }
    if (more)
        for (conn *c = s->conns; c; c = c->next)
            if (c->flush_more) {
                c->flush_more = 0;
                node_conn_mark_dirty(c);
            }
    return more;
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

/* While stopping: GOAWAY goes 100 ms after a connection's last call ended (sent right
 * behind the trailers, libcurl 7.88 drops the stream before it reads them). */
static void goaway_idle(node_server *s, int64_t now)
{
    for (conn *c = s->conns; c; c = c->next) {
        if (c->calls || c->goaway_sent || c->dead || now - c->idle_since <= 100 * XW_NS_PER_MS)
            continue;
        if (!c->h2) { /* never spoke: nothing to say goodbye to */
            c->dead = 1;
            node_conn_mark_dirty(c);
            continue;
        }
        nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                              NGHTTP2_NO_ERROR, NULL, 0);
        c->goaway_sent = 1;
        node_conn_mark_dirty(c);
    }
}

int node_server_turn(node_server *s, int timeout_ms)
{
    struct epoll_event evs[256];
    int64_t now = now_ns();
    if (now >= s->next_sweep) {
        s->next_sweep = now + SWEEP_NS;
        for (conn *c = s->conns; c; c = c->next)
            node_conn_sweep(c, now);
        if (s->memory_freed && s->mem_high - s->mem >= MEMORY_FREED_STEP) {
            s->memory_freed();
            s->mem_high = s->mem;
        }
    }
    if (s->stopping)
        goaway_idle(s, now);
    if (s->mem_released) {
        /* the node's memory fell below its budget: whoever waited for it may go on */
        s->mem_released = 0;
        for (conn *c = s->conns; c; c = c->next)
            if (c->owed || c->starved || (c->ready_head && !c->in_rr))
                node_conn_mark_dirty(c);
    }
    if (s->accept_paused && (s->fd_freed || now >= s->accept_resume_ns))
        resume_accepting(s);
    int more = node_server_run_ready(s, DISPATCH_SLICE_NS);
    more |= flush_dirty(s);
    if (s->stopping && (!s->conns || now_ns() > s->stop_deadline))
        return 0;
    int wait = more ? 0 : timeout_ms;
    if (s->accept_paused && wait > (int)(ACCEPT_PAUSE_NS / XW_NS_PER_MS))
        wait = (int)(ACCEPT_PAUSE_NS / XW_NS_PER_MS);
    int n = epoll_wait(s->efd, evs, 256, s->stopping && wait > 20 ? 20 : wait);
    if (n < 0)
        return errno == EINTR ? 1 : -1;
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
                s->stop_deadline = now_ns() + (int64_t)s->grace_ms * XW_NS_PER_MS;
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
                node_conn_read(c);
            node_conn_mark_dirty(c);
        }
    }
    return 1;
}

int node_server_run(node_server *s, int grace_ms)
{
    s->grace_ms = grace_ms;
    int rc;
    while ((rc = node_server_turn(s, 100)) > 0)
        ;
    s->dirty = NULL;
    while (s->conns)
        node_conn_free(s->conns);
    return rc < 0 ? XW_EIO : XW_OK;
}

void node_server_free(node_server *s)
{
    if (!s)
        return;
    s->dirty = NULL;
    while (s->conns)
        node_conn_free(s->conns);
    if (s->addrs) {
        for (size_t i = 0; i < ADDR_BUCKETS; i++)
            while (s->addrs[i]) {
                node_addr *a = s->addrs[i];
                s->addrs[i] = a->next;
                xw_free(a);
            }
        xw_free(s->addrs);
    }
    if (s->cbs)
        nghttp2_session_callbacks_del(s->cbs);
    if (s->h2opt)
        nghttp2_option_del(s->h2opt);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->efd >= 0)
        close(s->efd);
    if (s->sfd >= 0)
        close(s->sfd);
    xw_free(s);
}
