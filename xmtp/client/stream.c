/*
 * Streams over the node's subscriptions (stream.h): filters with cursors, a page of
 * delivered envelopes handed out one at a time, duplicates at the seam dropped by cursor,
 * and reconnection with a bounded, doubling backoff measured on the client's clock.
 */
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "xmtp/client/client_int.h"
#include "xmtp/client/stream.h"

#define MAX_FILTERS 100000

typedef struct {
    uint8_t key[XC_GROUP_ID_MAX]; /* group id, or the installation key */
    size_t len;
    uint64_t cursor; /* the last envelope handed out (or the store's cursor) */
} filter;

struct xc_stream {
    xc_client *c;
    int welcomes;
    filter *f;
    size_t n;
    xc_sub *sub;
    xc_page page;            /* the delivery being handed out */
    size_t next;             /* its next envelope */
    int64_t reconnect_at_ns; /* monotonic; 0: at once */
    int backoff_ms, backoff_min_ms, backoff_max_ms;
    xc_stream_stats stats;
};

void xc_stream_item_free(xc_stream_item *it)
{
    if (!it)
        return;
    for (size_t i = 0; i < sizeof it->own_ / sizeof it->own_[0]; i++)
        xw_free(it->own_[i]);
    memset(it, 0, sizeof *it);
}

static int add_filter(xc_stream *s, const uint8_t *key, size_t len, uint64_t cursor, xw_errbuf *eb)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->f[i].len == len && memcmp(s->f[i].key, key, len) == 0)
            return XW_OK;
    if (s->n >= MAX_FILTERS)
        return xw_errf(eb, XW_ELIMIT, "a stream follows at most %d groups", MAX_FILTERS);
    if (len == 0 || len > XC_GROUP_ID_MAX)
        return xw_errf(eb, XW_EINVAL, "a stream filter of %zu bytes (1 to %d accepted)", len,
                       XC_GROUP_ID_MAX);
    filter *a = xw_realloc(s->f, (s->n + 1) * sizeof *a);
    if (!a)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    s->f = a;
    memcpy(a[s->n].key, key, len);
    a[s->n].len = len;
    a[s->n].cursor = cursor;
    s->n++;
    return XW_OK;
}

static int new_stream(xc_client *c, int welcomes, const xc_stream_opts *o, xc_stream **out, xw_errbuf *eb)
{
    if (!c->node->ops->subscribe || !c->node->ops->sub_next || !c->node->ops->sub_close)
        return xw_errf(eb, XW_EUNSUPPORTED, "this node has no subscriptions");
    xc_stream *s = xw_calloc(1, sizeof *s);
    if (!s)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    s->c = c;
    s->welcomes = welcomes;
    s->backoff_min_ms = o && o->backoff_min_ms > 0 ? o->backoff_min_ms : 100;
    s->backoff_max_ms = o && o->backoff_max_ms > 0 ? o->backoff_max_ms : 5000;
    if (s->backoff_max_ms < s->backoff_min_ms)
        s->backoff_max_ms = s->backoff_min_ms;
    s->backoff_ms = s->backoff_min_ms;
    *out = s;
    return XW_OK;
}

static void drop_sub(xc_stream *s)
{
    if (s->sub)
        s->c->node->ops->sub_close(s->c->node->ctx, s->sub);
    s->sub = NULL;
    xc_page_free(&s->page);
    s->next = 0;
}

void xc_stream_close(xc_stream *s)
{
    if (!s)
        return;
    drop_sub(s);
    xw_free(s->f);
    xw_free(s);
}

static int group_cursor(xc_client *c, const uint8_t *gid, size_t len, uint64_t *cursor, int *active,
                        xw_errbuf *eb)
{
    xc_group_row r;
    xc_group_row_init(&r);
    int rc = xc_store_group_get(c->st, gid, len, &r, eb);
    *cursor = r.cursor;
    *active = r.active;
    xc_group_row_free(&r);
    return rc;
}

int xc_stream_open_group(xc_client *c, const uint8_t *gid, size_t len, const xc_stream_opts *o,
                         xc_stream **out, xw_errbuf *eb)
{
    uint64_t cur = 0;
    int active = 0;
    int rc = group_cursor(c, gid, len, &cur, &active, eb);
    if (rc == XW_OK)
        rc = new_stream(c, 0, o, out, eb);
    if (rc == XW_OK && (rc = add_filter(*out, gid, len, cur, eb)) != XW_OK)
        xc_stream_close(*out);
    return rc;
}

typedef struct {
    xc_stream *s;
    xw_errbuf *eb;
} each_ctx;

static int add_active(void *ctx, const xc_group_row *r)
{
    each_ctx *x = ctx;
    return r->active ? add_filter(x->s, r->id, r->id_len, r->cursor, x->eb) : XW_OK;
}

int xc_stream_open_all(xc_client *c, const xc_stream_opts *o, xc_stream **out, xw_errbuf *eb)
{
    int rc = new_stream(c, 0, o, out, eb);
    each_ctx x = {rc == XW_OK ? *out : NULL, eb};
    if (rc == XW_OK && (rc = xc_store_group_each(c->st, add_active, &x, eb)) != XW_OK)
        xc_stream_close(*out);
    return rc;
}

int xc_stream_open_welcomes(xc_client *c, const xc_stream_opts *o, xc_stream **out, xw_errbuf *eb)
{
    uint64_t cur = 0;
    int rc = xc_store_cursor_get(c->st, "welcomes", &cur, eb);
    if (rc == XW_OK)
        rc = new_stream(c, 1, o, out, eb);
    if (rc == XW_OK && (rc = add_filter(*out, c->installation_id, XC_INSTALLATION_LEN, cur, eb)) != XW_OK)
        xc_stream_close(*out);
    return rc;
}

int xc_stream_add_group(xc_stream *s, const uint8_t *gid, size_t len, xw_errbuf *eb)
{
    if (s->welcomes)
        return xw_errf(eb, XW_EINVAL, "a welcome stream follows no groups");
    for (size_t i = 0; i < s->n; i++)
        if (s->f[i].len == len && memcmp(s->f[i].key, gid, len) == 0)
            return XW_OK;
    uint64_t cur = 0;
    int active = 0;
    int rc = group_cursor(s->c, gid, len, &cur, &active, eb);
    if (rc == XW_OK)
        rc = add_filter(s, gid, len, cur, eb);
    if (rc == XW_OK) { /* resubscribe with the new set: the cursors of the others are kept */
        drop_sub(s);
        s->reconnect_at_ns = 0;
    }
    return rc;
}

static int64_t mono(const xc_stream *s) { return xw_clock_mono_ns(s->c->clock); }

/* Waits on the real clock; with any other clock the caller moves time. */
static void wait_ms(const xc_stream *s, int64_t ms)
{
    if (s->c->clock != xw_clock_real() || ms <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void schedule_reconnect(xc_stream *s)
{
    drop_sub(s);
    s->stats.reconnects++;
    s->reconnect_at_ns = mono(s) + (int64_t)s->backoff_ms * XW_NS_PER_MS;
    s->backoff_ms = s->backoff_ms * 2 > s->backoff_max_ms ? s->backoff_max_ms : s->backoff_ms * 2;
}

static int subscribe(xc_stream *s, xw_errbuf *eb)
{
    xc_sub_filter *f = xw_calloc(s->n ? s->n : 1, sizeof *f);
    if (!f)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++)
        f[i] = (xc_sub_filter){s->f[i].key, s->f[i].len, s->f[i].cursor};
    int rc = s->c->node->ops->subscribe(s->c->node->ctx, s->welcomes, f, s->n, &s->sub, eb);
    xw_free(f);
    if (rc == XW_OK)
        s->stats.subscriptions++;
    return rc;
}

static filter *filter_for(xc_stream *s, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->f[i].len == len && memcmp(s->f[i].key, key, len) == 0)
            return &s->f[i];
    return NULL;
}

static int copy_out(xc_stream_item *it, int slot, xc_bytes *dst, xc_bytes src)
{
    it->own_[slot] = xc_bytes_dup(src.p, src.len);
    *dst = (xc_bytes){it->own_[slot], src.len};
    return it->own_[slot] ? XW_OK : XW_ENOMEM;
}

/* The next envelope of the current delivery that is after its filter's cursor. */
static int take(xc_stream *s, xc_stream_item *it, int *got, xw_errbuf *eb)
{
    while (s->next < s->page.n) {
        size_t i = s->next++;
        const uint8_t *key;
        size_t klen;
        uint64_t id;
        if (s->welcomes) {
            key = s->page.welcomes[i].installation_key.p;
            klen = s->page.welcomes[i].installation_key.len;
            id = s->page.welcomes[i].id;
        } else {
            key = s->page.groups[i].group_id.p;
            klen = s->page.groups[i].group_id.len;
            id = s->page.groups[i].id;
        }
        filter *f = filter_for(s, key, klen);
        if (!f || id <= f->cursor) {
            s->stats.duplicates++;
            continue;
        }
        memset(it, 0, sizeof *it);
        int rc = XW_OK;
        if (s->welcomes) {
            const xc_welcome_env *w = &s->page.welcomes[i];
            it->kind = XC_ITEM_WELCOME;
            it->welcome = *w;
            rc |= copy_out(it, 0, &it->welcome.installation_key, w->installation_key);
            rc |= copy_out(it, 1, &it->welcome.data, w->data);
            rc |= copy_out(it, 2, &it->welcome.hpke_public_key, w->hpke_public_key);
            rc |= copy_out(it, 3, &it->welcome.metadata, w->metadata);
        } else {
            const xc_group_env *g = &s->page.groups[i];
            it->kind = XC_ITEM_GROUP_MESSAGE;
            it->group = *g;
            rc |= copy_out(it, 0, &it->group.group_id, g->group_id);
            rc |= copy_out(it, 1, &it->group.data, g->data);
        }
        if (rc != XW_OK) {
            xc_stream_item_free(it);
            s->next--;
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        }
        f->cursor = id;
        s->stats.delivered++;
        *got = 1;
        return XW_OK;
    }
    xc_page_free(&s->page);
    s->next = 0;
    return XW_OK;
}

int xc_stream_next(xc_stream *s, int timeout_ms, xc_stream_item *it, int *got, xw_errbuf *eb)
{
    *got = 0;
    if (timeout_ms < 0)
        timeout_ms = 0;
    int64_t deadline = mono(s) + (int64_t)timeout_ms * XW_NS_PER_MS;
    for (;;) {
        int rc = take(s, it, got, eb);
        if (rc != XW_OK || *got)
            return rc;
        int64_t now = mono(s);
        if (!s->sub) {
            if (now < s->reconnect_at_ns) {
                int64_t until = s->reconnect_at_ns < deadline ? s->reconnect_at_ns : deadline;
                if (until <= now || s->c->clock != xw_clock_real())
                    return XW_OK; /* still backing off */
                wait_ms(s, (until - now + XW_NS_PER_MS - 1) / XW_NS_PER_MS);
                continue;
            }
            xw_errbuf se = {{0}};
            rc = subscribe(s, &se);
            if (rc != XW_OK) {
                s->sub = NULL;
                if (!xw_err_is_retriable(rc))
                    return xw_errf(eb, rc, "subscribing: %s", se.msg);
                schedule_reconnect(s);
                continue;
            }
        }
        int left = (int)((deadline - now) / XW_NS_PER_MS);
        xw_errbuf ne = {{0}};
        rc = s->c->node->ops->sub_next(s->c->node->ctx, s->sub, left > 0 ? left : 0, &s->page, &ne);
        if (rc != XW_OK) {
            xc_page_free(&s->page);
            if (rc == XW_EGRPC) {
                drop_sub(s);
                return xw_errf(eb, rc, "the stream: %s", ne.msg);
            }
            schedule_reconnect(s); /* dropped: reopened from the last envelope handed out */
            continue;
        }
        s->next = 0;
        if (s->page.n) {
            s->backoff_ms = s->backoff_min_ms;
            continue;
        }
        xc_page_free(&s->page);
        if (mono(s) >= deadline || s->c->clock != xw_clock_real())
            return XW_OK;
    }
}

int xc_stream_apply(xc_client *c, const xc_stream_item *it, xc_stream *also, xc_events *ev, xw_errbuf *eb)
{
    int rc = xc_store_begin(c->st, eb);
    if (rc != XW_OK)
        return rc;
    uint8_t gid[XC_GROUP_ID_MAX];
    size_t gl = 0;
    if (it->kind == XC_ITEM_WELCOME)
        rc = xc_apply_welcome(c, &it->welcome, gid, &gl, ev, eb);
    else
        rc = xc_apply_group_message(c, &it->group, NULL, ev, eb);
    if (rc == XW_OK)
        rc = xc_store_commit(c->st, eb);
    else
        xc_store_rollback(c->st);
    if (rc == XW_OK && gl && also)
        rc = xc_stream_add_group(also, gid, gl, eb);
    return rc;
}

void xc_stream_stats_get(const xc_stream *s, xc_stream_stats *out) { *out = s->stats; }
