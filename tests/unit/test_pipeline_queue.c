/*
 * Tests for pipeline/queue and pipeline/stage: FIFO order, full/empty/timeout results,
 * close and drain, waking blocked threads, backpressure with flat memory, counters, keyed
 * routing and per-key order, shared stages, configuration errors, allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/alloc.h"
#include "pipeline/queue.h"
#include "pipeline/stage.h"

static void *tag(uintptr_t v) { return (void *)(v + 1); } /* never NULL */
static uintptr_t untag(void *p) { return (uintptr_t)p - 1; }

static void test_queue_fifo_full_empty(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    pl_queue *q;
    assert_int_equal(pl_queue_new(0, &q, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "capacity 0"));
    assert_null(q);
    assert_int_equal(pl_queue_new(PL_QUEUE_MAX_CAPACITY + 1, &q, &eb), XW_EINVAL);
    assert_int_equal(pl_queue_new(3, &q, &eb), XW_OK);
    void *out;
    assert_int_equal(pl_queue_try_pop(q, &out), XW_EEMPTY);
    assert_null(out);
    assert_int_equal(pl_queue_push(q, NULL, 0), XW_EINVAL);
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(pl_queue_try_push(q, tag(i)), XW_OK);
    assert_int_equal(pl_queue_try_push(q, tag(99)), XW_EFULL);
    assert_int_equal(pl_queue_push(q, tag(99), 20), XW_ETIMEOUT);
    assert_int_equal(pl_queue_length(q), 3);
    /* wrap around the ring several times, order kept */
    for (uintptr_t i = 3; i < 20; i++) {
        assert_int_equal(pl_queue_pop(q, &out, -1), XW_OK);
        assert_int_equal(untag(out), i - 3);
        assert_int_equal(pl_queue_push(q, tag(i), -1), XW_OK);
    }
    for (uintptr_t i = 17; i < 20; i++) {
        assert_int_equal(pl_queue_pop(q, &out, 0), XW_OK);
        assert_int_equal(untag(out), i);
    }
    assert_int_equal(pl_queue_pop(q, &out, 20), XW_ETIMEOUT);
    pl_queue_stats st;
    pl_queue_stats_get(q, &st);
    assert_int_equal(st.capacity, 3);
    assert_int_equal(st.length, 0);
    assert_int_equal(st.high_water, 3);
    assert_int_equal(st.pushed, 20);
    assert_int_equal(st.popped, 20);
    assert_int_equal(st.push_waits, 1); /* the timed push */
    assert_int_equal(st.pop_waits, 1);  /* the timed pop */
    assert_int_equal(st.closed, 0);
    pl_queue_free(q, NULL);
}

static void test_queue_close_drains(void **state)
{
    (void)state;
    pl_queue *q;
    assert_int_equal(pl_queue_new(8, &q, NULL), XW_OK);
    for (uintptr_t i = 0; i < 5; i++)
        assert_int_equal(pl_queue_push(q, tag(i), -1), XW_OK);
    pl_queue_close(q);
    pl_queue_close(q); /* idempotent */
    assert_true(pl_queue_is_closed(q));
    assert_int_equal(pl_queue_push(q, tag(7), -1), XW_ECLOSED);
    void *out;
    for (uintptr_t i = 0; i < 5; i++) {
        assert_int_equal(pl_queue_pop(q, &out, -1), XW_OK);
        assert_int_equal(untag(out), i);
    }
    assert_int_equal(pl_queue_pop(q, &out, -1), XW_ECLOSED);
    assert_int_equal(pl_queue_pop(q, &out, 0), XW_ECLOSED);
    pl_queue_free(q, NULL);
}

struct blocked {
    pl_queue *q;
    int rc;
    atomic_int entered;
};

static void *blocked_pop(void *arg)
{
    struct blocked *b = arg;
    void *out;
    atomic_store(&b->entered, 1);
    b->rc = pl_queue_pop(b->q, &out, -1);
    return NULL;
}

static void *blocked_push(void *arg)
{
    struct blocked *b = arg;
    atomic_store(&b->entered, 1);
    b->rc = pl_queue_push(b->q, tag(1), -1);
    return NULL;
}

static void test_queue_close_wakes_waiters(void **state)
{
    (void)state;
    pl_queue *empty, *full;
    assert_int_equal(pl_queue_new(1, &empty, NULL), XW_OK);
    assert_int_equal(pl_queue_new(1, &full, NULL), XW_OK);
    assert_int_equal(pl_queue_push(full, tag(0), 0), XW_OK);
    struct blocked c = {.q = empty, .rc = -1}, p = {.q = full, .rc = -1};
    pthread_t tc, tp;
    pthread_create(&tc, NULL, blocked_pop, &c);
    pthread_create(&tp, NULL, blocked_push, &p);
    /* wait until both are blocked inside the queue */
    for (;;) {
        pl_queue_stats a, b;
        pl_queue_stats_get(empty, &a);
        pl_queue_stats_get(full, &b);
        if (a.pop_waits == 1 && b.push_waits == 1)
            break;
        xw_sleep_ms(1);
    }
    pl_queue_close(empty);
    pl_queue_close(full);
    pthread_join(tc, NULL);
    pthread_join(tp, NULL);
    assert_int_equal(c.rc, XW_ECLOSED);
    assert_int_equal(p.rc, XW_ECLOSED); /* the item stayed with the pusher */
    pl_queue_free(empty, NULL);
    pl_queue_free(full, NULL);
}

/* Backpressure: a fast producer and a slow consumer through a queue of 4. Items are
 * allocated by the producer and freed by the consumer; the number alive at any moment
 * stays within capacity + the one each side holds. */
struct bp {
    pl_queue *q;
    int n;
    atomic_int alive, max_alive;
    int64_t live_base;
    int64_t max_live;
};

static void *bp_producer(void *arg)
{
    struct bp *b = arg;
    for (int i = 0; i < b->n; i++) {
        int *item = xw_malloc(sizeof *item);
        *item = i;
        int a = atomic_fetch_add(&b->alive, 1) + 1;
        int m = atomic_load(&b->max_alive);
        while (a > m && !atomic_compare_exchange_weak(&b->max_alive, &m, a))
            ;
        assert_int_equal(pl_queue_push(b->q, item, -1), XW_OK);
    }
    pl_queue_close(b->q);
    return NULL;
}

static void test_queue_backpressure(void **state)
{
    (void)state;
    struct bp b = {.n = 2000};
    assert_int_equal(pl_queue_new(4, &b.q, NULL), XW_OK);
    b.live_base = xw_alloc_live();
    pthread_t t;
    pthread_create(&t, NULL, bp_producer, &b);
    void *out;
    int expect = 0;
    while (pl_queue_pop(b.q, &out, -1) == XW_OK) {
        int64_t live = xw_alloc_live() - b.live_base;
        if (live > b.max_live)
            b.max_live = live;
        assert_int_equal(*(int *)out, expect++);
        if (expect % 100 == 0)
            xw_sleep_ms(1); /* slow consumer */
        xw_free(out);
        atomic_fetch_sub(&b.alive, 1);
    }
    pthread_join(t, NULL);
    assert_int_equal(expect, b.n);
    pl_queue_stats st;
    pl_queue_stats_get(b.q, &st);
    assert_true(st.push_waits > 0); /* the producer did block */
    assert_int_equal(st.high_water, 4);
    /* memory stayed flat: at most capacity + one in each thread's hands */
    assert_true(atomic_load(&b.max_alive) <= 4 + 2);
    assert_true(b.max_live <= 4 + 2);
    pl_queue_free(b.q, NULL);
}

static void free_int(void *p) { xw_free(p); }

static void test_queue_free_leftovers_and_oom(void **state)
{
    (void)state;
    int64_t base = xw_alloc_live();
    pl_queue *q;
    assert_int_equal(pl_queue_new(4, &q, NULL), XW_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pl_queue_push(q, xw_malloc(16), 0), XW_OK);
    pl_queue_free(q, free_int);
    assert_int_equal(xw_alloc_live(), base);
    /* allocation failures: each one reported, nothing leaked */
    for (uint64_t nth = 1; nth <= 2; nth++) {
        xw_errbuf eb = {{0}};
        xw_alloc_fail_at(nth, 0);
        assert_int_equal(pl_queue_new(4, &q, &eb), XW_ENOMEM);
        xw_alloc_fail_at(0, 0);
        assert_null(q);
        assert_int_equal(xw_alloc_live(), base);
    }
}

/* --- stages ------------------------------------------------------------------------------- */

#define NKEYS 50
#define PER_KEY 400

struct item {
    int key;
    int seq;
};

struct keyed_ctx {
    pl_stage *st;
    atomic_int last[NKEYS];   /* last seq handled per key */
    atomic_int worker[NKEYS]; /* which thread handled the key, -1 = none yet */
    atomic_int violations;
    atomic_int handled;
};

static int keyed_handle(void *ctx, unsigned worker, void *p)
{
    struct keyed_ctx *c = ctx;
    struct item *it = p;
    int expected = -1;
    if (!atomic_compare_exchange_strong(&c->worker[it->key], &expected, (int)worker) &&
        expected != (int)worker)
        atomic_fetch_add(&c->violations, 1); /* a key moved to another thread */
    if (atomic_load(&c->last[it->key]) != it->seq - 1)
        atomic_fetch_add(&c->violations, 1); /* out of order */
    atomic_store(&c->last[it->key], it->seq);
    atomic_fetch_add(&c->handled, 1);
    xw_free(it);
    return 0;
}

static void test_stage_keyed_order(void **state)
{
    (void)state;
    struct keyed_ctx c;
    memset(&c, 0, sizeof c);
    for (int k = 0; k < NKEYS; k++) {
        atomic_store(&c.last[k], -1);
        atomic_store(&c.worker[k], -1);
    }
    pl_stage_config cfg = {.name = "keyed",
                           .threads = 4,
                           .queue_capacity = 8,
                           .keyed = 1,
                           .handle = keyed_handle,
                           .ctx = &c,
                           .free_item = free_int};
    xw_errbuf eb = {{0}};
    assert_int_equal(pl_stage_start(&cfg, &c.st, &eb), XW_OK);
    int64_t base = xw_alloc_live();
    for (int s = 0; s < PER_KEY; s++)
        for (int k = 0; k < NKEYS; k++) {
            struct item *it = xw_malloc(sizeof *it);
            it->key = k;
            it->seq = s;
            char key[24];
            snprintf(key, sizeof key, "group-%d", k);
            assert_int_equal(pl_stage_push(c.st, key, strlen(key), it, -1), XW_OK);
        }
    assert_int_equal(pl_stage_push(c.st, NULL, 0, tag(0), -1), XW_EINVAL); /* keyed needs a key */
    pl_stage_close(c.st);
    pl_stage_join(c.st);
    assert_int_equal(atomic_load(&c.handled), NKEYS * PER_KEY);
    assert_int_equal(atomic_load(&c.violations), 0);
    unsigned used[4] = {0};
    for (int k = 0; k < NKEYS; k++) {
        char key[24];
        snprintf(key, sizeof key, "group-%d", k);
        assert_int_equal(atomic_load(&c.last[k]), PER_KEY - 1);
        assert_int_equal(atomic_load(&c.worker[k]), (int)pl_stage_route(c.st, key, strlen(key)));
        used[atomic_load(&c.worker[k])]++;
    }
    for (int w = 0; w < 4; w++)
        assert_true(used[w] > 0); /* 50 keys spread over all 4 threads */
    pl_stage_stats st;
    pl_stage_stats_get(c.st, &st);
    assert_int_equal(st.handled, NKEYS * PER_KEY);
    assert_int_equal(st.handler_errors, 0);
    assert_true(st.high_water <= 8);
    assert_int_equal(xw_alloc_live(), base);
    pl_stage_free(c.st);
}

struct shared_ctx {
    atomic_llong sum;
    atomic_int odd_errors;
};

static int shared_handle(void *ctx, unsigned worker, void *p)
{
    (void)worker;
    struct shared_ctx *c = ctx;
    uintptr_t v = untag(p);
    atomic_fetch_add(&c->sum, (long long)v);
    return (v % 2) ? -1 : 0; /* odd values count as handler errors */
}

static void test_stage_shared_drain(void **state)
{
    (void)state;
    struct shared_ctx c = {0};
    pl_stage *st;
    pl_stage_config cfg = {
        .name = "shared", .threads = 3, .queue_capacity = 16, .handle = shared_handle, .ctx = &c};
    assert_int_equal(pl_stage_start(&cfg, &st, NULL), XW_OK);
    assert_int_equal(pl_stage_route(st, "x", 1), 0);
    long long want = 0;
    for (uintptr_t i = 0; i < 10000; i++) {
        assert_int_equal(pl_stage_push(st, NULL, 0, tag(i), -1), XW_OK);
        want += (long long)i;
    }
    pl_stage_close(st);
    assert_int_equal(pl_stage_push(st, NULL, 0, tag(1), 0), XW_ECLOSED);
    pl_stage_join(st);
    assert_int_equal(atomic_load(&c.sum), want);
    pl_stage_stats s;
    pl_stage_stats_get(st, &s);
    assert_int_equal(s.handled, 10000);
    assert_int_equal(s.handler_errors, 5000);
    pl_stage_free(st);
}

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    atomic_int handled;
};

static int gated_handle(void *ctx, unsigned worker, void *p)
{
    (void)worker;
    (void)p;
    struct gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_add(&g->handled, 1);
    return 0;
}

static void test_stage_backpressure_and_config(void **state)
{
    (void)state;
    struct gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pl_stage *st;
    pl_stage_config cfg = {
        .name = "gated", .threads = 2, .queue_capacity = 2, .keyed = 1, .handle = gated_handle, .ctx = &g};
    assert_int_equal(pl_stage_start(&cfg, &st, NULL), XW_OK);
    /* one key: its thread holds one item in the handler, its queue holds 2; then full */
    int pushed = 0, rc;
    while ((rc = pl_stage_push(st, "k", 1, tag(1), 10)) == XW_OK)
        pushed++;
    assert_int_equal(rc, XW_ETIMEOUT);
    assert_true(pushed >= 2 && pushed <= 3);
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pl_stage_free(st); /* closes, drains, joins */
    assert_int_equal(atomic_load(&g.handled), pushed);

    xw_errbuf eb = {{0}};
    pl_stage_config bad = {.name = "bad", .threads = 0, .queue_capacity = 2, .handle = gated_handle};
    assert_int_equal(pl_stage_start(&bad, &st, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "0 threads"));
    bad.threads = 1;
    bad.queue_capacity = 0;
    assert_int_equal(pl_stage_start(&bad, &st, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "capacity"));
    bad.queue_capacity = 1;
    bad.handle = NULL;
    assert_int_equal(pl_stage_start(&bad, &st, &eb), XW_EINVAL);
    assert_null(st);
    /* allocation failures while starting a stage: ENOMEM, nothing leaked, no thread left */
    int64_t base = xw_alloc_live();
    pl_stage_config ok = {
        .name = "oom", .threads = 3, .queue_capacity = 4, .keyed = 1, .handle = gated_handle, .ctx = &g};
    int started = 0;
    for (uint64_t nth = 1; nth < 20 && !started; nth++) {
        xw_alloc_fail_at(nth, 0);
        rc = pl_stage_start(&ok, &st, &eb);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK) {
            started = 1;
            pl_stage_free(st);
        } else {
            assert_int_equal(rc, XW_ENOMEM);
            assert_null(st);
        }
        assert_int_equal(xw_alloc_live(), base);
    }
    assert_true(started);
    /* the routing hash is stable (FNV-1a test values) */
    assert_true(pl_hash64("", 0) == UINT64_C(0xcbf29ce484222325));
    assert_true(pl_hash64("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_fifo_full_empty),
        cmocka_unit_test(test_queue_close_drains),
        cmocka_unit_test(test_queue_close_wakes_waiters),
        cmocka_unit_test(test_queue_backpressure),
        cmocka_unit_test(test_queue_free_leftovers_and_oom),
        cmocka_unit_test(test_stage_keyed_order),
        cmocka_unit_test(test_stage_shared_drain),
        cmocka_unit_test(test_stage_backpressure_and_config),
    };
    return cmocka_run_group_tests_name("pipeline_queue", tests, NULL, NULL);
}
