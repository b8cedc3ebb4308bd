/*
 * Subscription index and catch-up/live state machine (see subs.h).
 *
 * Every filter of every subscription is an entry in one hash table keyed by its topic key,
 * so a publish touches only the subscribers of that key. The hash is SipHash-2-4
 * (libsodium's crypto_shorthash) under a random key chosen when the index is created, so a
 * client cannot choose keys that land in one bucket. Duplicate keys in a request are merged
 * after sorting the request's own filters, never by scanning the shared table. A
 * subscription catches its filters up one at a time, a page per `drain` callback (the
 * server calls it when the stream's outbound buffer is empty), and marks each filter live
 * when a page comes back short.
 *
 * Bounds: at most NODE_SUBS_MAX_FILTERS filters per request, NODE_SUBS_MAX_CONN_FILTERS
 * per connection, keys of NODE_SUBS_MAX_KEY bytes, and the index's memory for a
 * subscription is charged to its connection's memory budget (server.h).
 */
#include "node/subs.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

#define NBUCKETS 65536u
#define CATCHUP_PAGE 100u
/* Store reads per drain: a subscription with thousands of filters catches up a slice per
 * loop turn instead of holding the loop for all of them. */
#define CATCHUP_FETCHES 32

typedef struct sub sub;

typedef struct fent {
    struct fent *hnext;
    sub *owner;
    uint64_t cursor; /* last id sent (or the client's cursor) */
    int live;
    uint64_t hash;
    size_t klen;
    const uint8_t *key; /* in the owner's key block */
} fent;

struct sub {
    node_subs *s;
    node_call *call;
    fent *f;
    size_t n;
    uint8_t *keys;  /* every filter's key, one block */
    size_t charged; /* bytes charged to the connection */
    size_t catchup; /* filters before this index are live */
    int dead;
    sub *prev, *next;
};

struct node_subs {
    const char *name;
    node_subs_fetch_fn fetch;
    void *fetch_ctx;
    fent **buckets;
    unsigned char hkey[crypto_shorthash_KEYBYTES];
    atomic_size_t count;   /* written by the loop thread, read from any (node_subs_count) */
    atomic_size_t longest; /* longest bucket chain seen (node_subs_longest_chain) */
    sub *list;
};

static uint64_t hash_key(const node_subs *s, const uint8_t *k, size_t n)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, k, n, s->hkey);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | h[i];
    return v;
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
    if (sodium_init() < 0) {
        xw_free(s->buckets);
        xw_free(s);
        return NULL;
    }
    randombytes_buf(s->hkey, sizeof s->hkey);
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
    }
    if (u->prev)
        u->prev->next = u->next;
    else
        s->list = u->next;
    if (u->next)
        u->next->prev = u->prev;
    atomic_fetch_sub_explicit(&s->count, 1, memory_order_relaxed);
    node_call_filters_sub(u->call, u->n);
    node_call_uncharge(u->call, u->charged);
    xw_free(u->keys);
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

size_t node_subs_longest_chain(const node_subs *s)
{
    return atomic_load_explicit(&s->longest, memory_order_relaxed);
}

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
    for (int fetches = 0; !u->dead && u->catchup < u->n; fetches++) {
        if (fetches == CATCHUP_FETCHES) {
            node_call_yield(u->call); /* the rest on the next loop turn */
            return;
        }
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

static int filter_cmp(const void *a, const void *b)
{
    const node_sub_filter *x = a, *y = b;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    int c = memcmp(x->key, y->key, x->key_len);
    if (c)
        return c;
    return x->cursor < y->cursor ? -1 : x->cursor > y->cursor;
}

/* Sorts a copy of the filters and keeps one per key, with the smallest cursor. Returns the
 * count of distinct keys and their total length. */
static size_t merge_duplicates(node_sub_filter *f, size_t n, size_t *key_bytes)
{
    qsort(f, n, sizeof *f, filter_cmp);
    size_t k = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && f[k - 1].key_len == f[i].key_len && memcmp(f[k - 1].key, f[i].key, f[i].key_len) == 0)
            continue; /* same key, a cursor no smaller (sorted) */
        f[k++] = f[i];
        bytes += f[i].key_len;
    }
    *key_bytes = bytes;
    return k;
}

int node_subs_open(node_subs *s, node_call *call, const node_sub_filter *flt, size_t n, node_status *st)
{
    if (n > NODE_SUBS_MAX_FILTERS)
        return node_status_set(
            st, NODE_GRPC_INVALID_ARGUMENT,
            "subscription has %zu filters; the node accepts at most %d per request (and %d "
            "per connection)",
            n, NODE_SUBS_MAX_FILTERS, NODE_SUBS_MAX_CONN_FILTERS);
    for (size_t i = 0; i < n; i++) {
        if (flt[i].key_len == 0 || flt[i].key_len > NODE_SUBS_MAX_KEY)
            return node_status_set(
                st, NODE_GRPC_INVALID_ARGUMENT,
                "filter %zu (%s subscription) has a %zu-byte key; the node accepts 1 to %d "
                "bytes (XMTP group ids are 16-32 bytes, installation keys 32)",
                i, s->name, flt[i].key_len, NODE_SUBS_MAX_KEY);
    }
    node_sub_filter *uniq = n ? xw_malloc(n * sizeof *uniq) : NULL;
    if (n && !uniq)
        return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    if (n)
        memcpy(uniq, flt, n * sizeof *uniq);
    size_t key_bytes = 0;
    size_t m = merge_duplicates(uniq, n, &key_bytes);
    size_t open = 0;
    if (node_call_filters_add(call, m, NODE_SUBS_MAX_CONN_FILTERS, &open) != XW_OK) {
        xw_free(uniq);
        return node_status_set(
            st, NODE_GRPC_RESOURCE_EXHAUSTED,
            "this connection already has %zu subscription filters open and asks for %zu more; "
            "the node accepts at most %d per connection",
            open, m, NODE_SUBS_MAX_CONN_FILTERS);
    }
    size_t charge = sizeof(sub) + m * sizeof(fent) + key_bytes;
    if (node_call_charge(call, charge) != XW_OK) {
        node_call_filters_sub(call, m);
        xw_free(uniq);
        return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED,
                               "the node is holding its memory limit for this connection or for all; close "
                               "other streams or retry later");
    }
    sub *u = xw_calloc(1, sizeof *u);
    if (u) {
        u->f = m ? xw_calloc(m, sizeof *u->f) : NULL;
        u->keys = key_bytes ? xw_malloc(key_bytes) : NULL;
    }
    if (!u || (m && (!u->f || !u->keys))) {
        if (u) {
            xw_free(u->f);
            xw_free(u->keys);
        }
        xw_free(u);
        xw_free(uniq);
        node_call_filters_sub(call, m);
        node_call_uncharge(call, charge);
        return node_status_set(st, NODE_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
    u->s = s;
    u->call = call;
    u->n = m;
    u->charged = charge;
    size_t off = 0;
    size_t longest = atomic_load_explicit(&s->longest, memory_order_relaxed);
    for (size_t i = 0; i < m; i++) {
        fent *f = &u->f[i];
        memcpy(u->keys + off, uniq[i].key, uniq[i].key_len);
        f->key = u->keys + off;
        off += uniq[i].key_len;
        f->owner = u;
        f->klen = uniq[i].key_len;
        f->cursor = uniq[i].cursor;
        f->hash = hash_key(s, f->key, f->klen);
        fent **b = &s->buckets[f->hash & (NBUCKETS - 1)];
        f->hnext = *b;
        *b = f;
        size_t chain = 0;
        for (const fent *e = f; e; e = e->hnext)
            chain++;
        if (chain > longest)
            longest = chain;
    }
    atomic_store_explicit(&s->longest, longest, memory_order_relaxed);
    xw_free(uniq);
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
    uint64_t h = hash_key(s, key, klen);
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
