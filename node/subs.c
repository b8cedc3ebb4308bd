/*
 * Subscription index and catch-up/live state machine (see subs.h).
 *
 * Every filter of every subscription is an entry in one hash table keyed by its topic key,
 * so a publish touches only the subscribers of that key. A subscription catches its filters
 * up one at a time, a page per `drain` callback (the server calls it when the stream's
 * outbound buffer is empty), and marks each filter live when a page comes back short.
 */
#include "node/subs.h"

#include <stdatomic.h>

#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

#define NBUCKETS 65536u
#define CATCHUP_PAGE 100u

typedef struct sub sub;

typedef struct fent {
    struct fent *hnext;
    sub *owner;
    uint64_t cursor; /* last id sent (or the client's cursor) */
    int live;
    uint32_t hash;
    size_t klen;
    uint8_t *key;
} fent;

struct sub {
    node_subs *s;
    node_call *call;
    fent *f;
    size_t n;
    size_t catchup; /* filters before this index are live */
    int dead;
    sub *prev, *next;
};

struct node_subs {
    const char *name;
    node_subs_fetch_fn fetch;
    void *fetch_ctx;
    fent **buckets;
    atomic_size_t count; /* written by the loop thread, read from any (node_subs_count) */
    sub *list;
};

static uint32_t hash_key(const uint8_t *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 16777619u;
    return h;
}

node_subs *node_subs_new(const char *name, node_subs_fetch_fn fetch, void *fetch_ctx)
{
    node_subs *s = xw_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->buckets = xw_calloc(NBUCKETS, sizeof *s->buckets);
    if (!s->buckets) {
        xw_free(s);
        return NULL;
    }
    s->name = name;
    s->fetch = fetch;
    s->fetch_ctx = fetch_ctx;
    return s;
}

static void sub_unindex_free(sub *u)
{
    node_subs *s = u->s;
    for (size_t i = 0; i < u->n; i++) {
        fent *f = &u->f[i];
        fent **pp = &s->buckets[f->hash & (NBUCKETS - 1)];
        while (*pp && *pp != f)
            pp = &(*pp)->hnext;
        if (*pp)
            *pp = f->hnext;
        xw_free(f->key);
    }
    if (u->prev)
        u->prev->next = u->next;
    else
        s->list = u->next;
    if (u->next)
        u->next->prev = u->prev;
    atomic_fetch_sub_explicit(&s->count, 1, memory_order_relaxed);
    xw_free(u->f);
    xw_free(u);
}

void node_subs_free(node_subs *s)
{
    if (!s)
        return;
    while (s->list) {
        node_call_set_ops(s->list->call, NULL, NULL);
        sub_unindex_free(s->list);
    }
    xw_free(s->buckets);
    xw_free(s);
}

size_t node_subs_count(const node_subs *s) { return atomic_load_explicit(&s->count, memory_order_relaxed); }

typedef struct {
    sub *u;
    fent *f;
    uint32_t count;
    int full;
} emit_ctx;

static int emit(void *e, uint64_t id, const uint8_t *msg, size_t len)
{
    emit_ctx *x = e;
    if (id <= x->f->cursor) {
        x->count++;
        return 0;
    }
    int rc = node_call_send(x->u->call, msg, len);
    if (rc == XW_EFULL) {
        x->full = 1;
        return 1;
    }
    if (rc != XW_OK) {
        x->full = -1;
        return 1;
    }
    x->f->cursor = id;
    x->count++;
    return 0;
}

static void drain(node_call *call, void *user)
{
    sub *u = user;
    (void)call;
    while (!u->dead && u->catchup < u->n) {
        emit_ctx x = {.u = u, .f = &u->f[u->catchup]};
        int rc = u->s->fetch(u->s->fetch_ctx, x.f->key, x.f->klen, x.f->cursor, CATCHUP_PAGE, emit, &x);
        if (rc != XW_OK || x.full < 0) {
            u->dead = 1;
            node_call_finish(u->call, NODE_GRPC_INTERNAL, "the node could not read its store; retry later",
                             0);
            return;
        }
        if (x.full)
            return;
        if (x.count < CATCHUP_PAGE) {
            x.f->live = 1;
            u->catchup++;
        }
        if (node_call_pending(u->call) > 0)
            return;
    }
}

static void closed(node_call *call, void *user)
{
    (void)call;
    sub_unindex_free(user);
}

static const node_call_ops sub_ops = {.drain = drain, .closed = closed};

int node_subs_open(node_subs *s, node_call *call, const node_sub_filter *flt, size_t n, node_status *st)
{
    if (n > NODE_SUBS_MAX_FILTERS)
        return node_status_set(st, NODE_GRPC_INVALID_ARGUMENT,
                               "subscription has %zu filters; the node accepts at most %d per stream", n,
                               NODE_SUBS_MAX_FILTERS);
    for (size_t i = 0; i < n; i++) {
        if (flt[i].key_len == 0 || flt[i].key_len > NODE_SUBS_MAX_KEY)
            return node_status_set(st, NODE_GRPC_INVALID_ARGUMENT,
                                   "filter %zu has a %zu-byte key; keys are 1 to %d bytes", i, flt[i].key_len,
                                   NODE_SUBS_MAX_KEY);
    }
    sub *u = xw_calloc(1, sizeof *u);
    if (!u)
        return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    u->f = n ? xw_calloc(n, sizeof *u->f) : NULL;
    if (n && !u->f) {
        xw_free(u);
        return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
    u->s = s;
    u->call = call;
    /* copy, merging duplicate keys (the smallest cursor wins) */
    for (size_t i = 0; i < n; i++) {
        uint32_t h = hash_key(flt[i].key, flt[i].key_len);
        fent *dup = NULL;
        for (fent *e = s->buckets[h & (NBUCKETS - 1)]; e; e = e->hnext)
            if (e->owner == u && e->klen == flt[i].key_len && memcmp(e->key, flt[i].key, e->klen) == 0)
                dup = e;
        if (dup) {
            if (flt[i].cursor < dup->cursor)
                dup->cursor = flt[i].cursor;
            continue;
        }
        fent *f = &u->f[u->n];
        f->key = xw_memdup(flt[i].key, flt[i].key_len);
        if (!f->key) {
            atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed); /* balanced by sub_unindex_free */
            sub_unindex_free(u);
            return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        }
        f->owner = u;
        f->klen = flt[i].key_len;
        f->cursor = flt[i].cursor;
        f->hash = h;
        f->hnext = s->buckets[h & (NBUCKETS - 1)];
        s->buckets[h & (NBUCKETS - 1)] = f;
        u->n++;
    }
    u->next = s->list;
    if (s->list)
        s->list->prev = u;
    s->list = u;
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    node_call_set_ops(call, &sub_ops, u);
    drain(call, u); /* first page (or live at once) without waiting for the client to read */
    xw_log_debug("node", "%s subscription with %zu filter(s)", s->name, u->n);
    return NODE_GRPC_OK;
}

void node_subs_publish(node_subs *s, const uint8_t *key, size_t klen, uint64_t id, const uint8_t *msg,
                       size_t len)
{
    uint32_t h = hash_key(key, klen);
    for (fent *f = s->buckets[h & (NBUCKETS - 1)]; f; f = f->hnext) {
        sub *u = f->owner;
        if (u->dead || !f->live || f->hash != h || f->klen != klen || memcmp(f->key, key, klen) != 0 ||
            id <= f->cursor)
            continue;
        int rc = node_call_send(u->call, msg, len);
        if (rc == XW_OK) {
            f->cursor = id;
        } else {
            u->dead = 1;
            node_call_finish(u->call, NODE_GRPC_ABORTED, "caller did not read all messages fast enough", 1);
        }
    }
}
