/*
 * Stage runner: threads over bounded queues (see stage.h for the two shapes).
 *
 * Each thread loops on pl_queue_pop() of its queue (the shared one, or its own in a keyed
 * stage) until the queue is closed and drained. Counters are atomics so that stats can be
 * read while the stage runs. Routing uses FNV-1a: it is stable across runs, which keeps a
 * group on the same shard after a restart and makes tests reproducible.
 */
#include "pipeline/stage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

typedef struct {
    pl_stage *st;
    unsigned index;
    pthread_t tid;
    int started;
} stage_thread;

struct pl_stage {
    char name[32];
    unsigned nthreads;
    int keyed;
    pl_stage_fn handle;
    void *ctx;
    void (*free_item)(void *item);
    pl_queue **queues; /* 1 (shared) or nthreads (keyed) */
    unsigned nqueues;
    stage_thread *threads;
    int joined;
    atomic_uint_fast64_t handled;
    atomic_uint_fast64_t handler_errors;
};

uint64_t pl_hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void *stage_main(void *arg)
{
    stage_thread *t = arg;
    pl_stage *st = t->st;
    pl_queue *q = st->queues[st->keyed ? t->index : 0];
    char tname[16];
    snprintf(tname, sizeof tname, "%.10s/%u", st->name, t->index);
    pthread_setname_np(pthread_self(), tname);
    for (;;) {
        void *item;
        int rc = pl_queue_pop(q, &item, -1);
        if (rc != XW_OK)
            break; /* closed and drained */
        atomic_fetch_add(&st->handled, 1);
        if (st->handle(st->ctx, t->index, item) != 0)
            atomic_fetch_add(&st->handler_errors, 1);
    }
    return NULL;
}

static void stage_destroy(pl_stage *st)
{
    for (unsigned i = 0; st->queues && i < st->nqueues; i++)
        if (st->queues[i])
            pl_queue_free(st->queues[i], st->free_item);
    xw_free(st->queues);
    xw_free(st->threads);
    xw_free(st);
}

int pl_stage_start(const pl_stage_config *cfg, pl_stage **out, xw_errbuf *eb)
{
    *out = NULL;
    if (!cfg || !cfg->handle)
        return xw_errf(eb, XW_EINVAL, "stage configuration needs a handler function");
    const char *name = cfg->name ? cfg->name : "stage";
    if (cfg->threads == 0 || cfg->threads > PL_STAGE_MAX_THREADS)
        return xw_errf(eb, XW_EINVAL, "stage %s: %u threads is out of range; use 1 to %d", name, cfg->threads,
                       PL_STAGE_MAX_THREADS);
    pl_stage *st = xw_calloc(1, sizeof *st);
    if (!st)
        return xw_errf(eb, XW_ENOMEM, "out of memory creating stage %s", name);
    snprintf(st->name, sizeof st->name, "%s", name);
    st->nthreads = cfg->threads;
    st->keyed = cfg->keyed ? 1 : 0;
    st->handle = cfg->handle;
    st->ctx = cfg->ctx;
    st->free_item = cfg->free_item;
    st->nqueues = st->keyed ? st->nthreads : 1;
    st->queues = xw_calloc(st->nqueues, sizeof *st->queues);
    st->threads = xw_calloc(st->nthreads, sizeof *st->threads);
    if (!st->queues || !st->threads) {
        stage_destroy(st);
        return xw_errf(eb, XW_ENOMEM, "out of memory creating stage %s", name);
    }
    for (unsigned i = 0; i < st->nqueues; i++) {
        int rc = pl_queue_new(cfg->queue_capacity, &st->queues[i], eb);
        if (rc != XW_OK) {
            stage_destroy(st);
            return xw_errctx(eb, rc, "stage %s", name);
        }
    }
    for (unsigned i = 0; i < st->nthreads; i++) {
        stage_thread *t = &st->threads[i];
        t->st = st;
        t->index = i;
        if (pthread_create(&t->tid, NULL, stage_main, t) != 0) {
            pl_stage_free(st); /* joins the threads already started */
            return xw_errf(eb, XW_EAGAIN, "stage %s: cannot start thread %u of %u", name, i, cfg->threads);
        }
        t->started = 1;
    }
    *out = st;
    return XW_OK;
}

unsigned pl_stage_route(const pl_stage *st, const void *key, size_t key_len)
{
    if (!st->keyed)
        return 0;
    return (unsigned)(pl_hash64(key, key_len) % st->nthreads);
}

int pl_stage_push(pl_stage *st, const void *key, size_t key_len, void *item, int64_t timeout_ms)
{
    if (st->keyed && !key)
        return XW_EINVAL;
    return pl_queue_push(st->queues[pl_stage_route(st, key, key_len)], item, timeout_ms);
}

void pl_stage_close(pl_stage *st)
{
    for (unsigned i = 0; i < st->nqueues; i++)
        pl_queue_close(st->queues[i]);
}

void pl_stage_join(pl_stage *st)
{
    if (st->joined)
        return;
    for (unsigned i = 0; i < st->nthreads; i++)
        if (st->threads[i].started)
            pthread_join(st->threads[i].tid, NULL);
    st->joined = 1;
}

void pl_stage_free(pl_stage *st)
{
    if (!st)
        return;
    pl_stage_close(st);
    pl_stage_join(st);
    stage_destroy(st);
}

void pl_stage_stats_get(pl_stage *st, pl_stage_stats *out)
{
    memset(out, 0, sizeof *out);
    out->handled = atomic_load(&st->handled);
    out->handler_errors = atomic_load(&st->handler_errors);
    for (unsigned i = 0; i < st->nqueues; i++) {
        pl_queue_stats qs;
        pl_queue_stats_get(st->queues[i], &qs);
        out->push_waits += qs.push_waits;
        if (qs.high_water > out->high_water)
            out->high_water = qs.high_water;
    }
}
