/*
 * Concurrency stress for pipeline/queue and pipeline/stage, meant for ThreadSanitizer
 * (`make tsan`) and also run under ASan in `make test`.
 *
 *   1. MPMC: 4 producers and 4 consumers through a queue of 8 slots, with blocking,
 *      timed and non-blocking calls mixed; every item arrives exactly once, and each
 *      consumer sees each producer's items in increasing order (FIFO per producer).
 *   2. A chain: 3 producer threads (each owning a third of the keys) -> keyed stage
 *      (3 threads) -> keyed stage (4 threads); per-key order must hold end to end, and
 *      every item must be freed.
 *   3. Close while producers and consumers are blocked: everyone returns.
 *
 * Prints "stress: P passed, F failed".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "pipeline/queue.h"
#include "pipeline/stage.h"

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 50000

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s\n", what);
    }
}

/* --- 1. MPMC ------------------------------------------------------------------------------- */
static pl_queue *mq;
static atomic_int seen[PRODUCERS * PER_PRODUCER];
static atomic_int order_errors;

static void *mp_producer(void *arg)
{
    uintptr_t p = (uintptr_t)arg;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
        void *item = (void *)(p * PER_PRODUCER + i + 1);
        int rc;
        switch (i % 3) {
        case 0:
            rc = pl_queue_push(mq, item, -1);
            break;
        case 1:
            while ((rc = pl_queue_push(mq, item, 1)) == XW_ETIMEOUT)
                ;
            break;
        default:
            while ((rc = pl_queue_try_push(mq, item)) == XW_EFULL)
                ;
            break;
        }
        if (rc != XW_OK)
            atomic_fetch_add(&order_errors, 1000000);
    }
    return NULL;
}

static void *mp_consumer(void *arg)
{
    (void)arg;
    long last[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        last[i] = -1;
    for (unsigned n = 0;; n++) {
        void *item;
        int rc = (n % 2) ? pl_queue_pop(mq, &item, 1) : pl_queue_pop(mq, &item, -1);
        if (rc == XW_ETIMEOUT)
            continue;
        if (rc != XW_OK)
            break;
        uintptr_t v = (uintptr_t)item - 1;
        unsigned p = (unsigned)(v / PER_PRODUCER);
        long i = (long)(v % PER_PRODUCER);
        if (i <= last[p])
            atomic_fetch_add(&order_errors, 1);
        last[p] = i;
        atomic_fetch_add(&seen[v], 1);
    }
    return NULL;
}

static void stress_mpmc(void)
{
    pl_queue_new(8, &mq, NULL);
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    for (uintptr_t i = 0; i < CONSUMERS; i++)
        pthread_create(&ct[i], NULL, mp_consumer, NULL);
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        pthread_create(&pt[i], NULL, mp_producer, (void *)i);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    pl_queue_close(mq);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(ct[i], NULL);
    int once = 1;
    for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++)
        if (atomic_load(&seen[i]) != 1)
            once = 0;
    check(once, "MPMC: every item delivered exactly once");
    check(atomic_load(&order_errors) == 0, "MPMC: per-producer FIFO order at each consumer");
    pl_queue_stats st;
    pl_queue_stats_get(mq, &st);
    check(st.pushed == PRODUCERS * PER_PRODUCER && st.popped == st.pushed, "MPMC: counters add up");
    check(st.high_water <= 8, "MPMC: never above capacity");
    pl_queue_free(mq, NULL);
}

/* --- 2. keyed chain ------------------------------------------------------------------------- */
#define CHAIN_KEYS 64
#define CHAIN_PER_KEY 2000

typedef struct {
    int key, seq;
} citem;

static pl_stage *hop1, *hop2;
static atomic_int chain_last[CHAIN_KEYS];
static atomic_int chain_errors, chain_done;

static void key_name(int k, char out[16]) { snprintf(out, 16, "g%d", k); }

static int hop1_handle(void *ctx, unsigned worker, void *p)
{
    (void)ctx;
    (void)worker;
    citem *it = p;
    char key[16];
    key_name(it->key, key);
    if (pl_stage_push(hop2, key, strlen(key), it, -1) != XW_OK) {
        xw_free(it);
        atomic_fetch_add(&chain_errors, 1);
    }
    return 0;
}

static int hop2_handle(void *ctx, unsigned worker, void *p)
{
    (void)ctx;
    (void)worker;
    citem *it = p;
    if (atomic_load(&chain_last[it->key]) != it->seq - 1)
        atomic_fetch_add(&chain_errors, 1);
    atomic_store(&chain_last[it->key], it->seq);
    atomic_fetch_add(&chain_done, 1);
    xw_free(it);
    return 0;
}

/* Producer t owns keys k with k % 3 == t, so each key has one producer (order defined). */
static void *chain_producer(void *arg)
{
    int t = (int)(uintptr_t)arg;
    for (int s = 0; s < CHAIN_PER_KEY; s++)
        for (int k = t; k < CHAIN_KEYS; k += 3) {
            citem *it = xw_malloc(sizeof *it);
            it->key = k;
            it->seq = s;
            char key[16];
            key_name(k, key);
            if (pl_stage_push(hop1, key, strlen(key), it, -1) != XW_OK) {
                xw_free(it);
                atomic_fetch_add(&chain_errors, 1);
            }
        }
    return NULL;
}

static void free_item(void *p) { xw_free(p); }

static void stress_chain(void)
{
    for (int k = 0; k < CHAIN_KEYS; k++)
        atomic_store(&chain_last[k], -1);
    pl_stage_config c1 = {.name = "hop1",
                          .threads = 3,
                          .queue_capacity = 4,
                          .keyed = 1,
                          .handle = hop1_handle,
                          .free_item = free_item};
    pl_stage_config c2 = {.name = "hop2",
                          .threads = 4,
                          .queue_capacity = 4,
                          .keyed = 1,
                          .handle = hop2_handle,
                          .free_item = free_item};
    int64_t base = xw_alloc_live();
    pl_stage_start(&c2, &hop2, NULL);
    pl_stage_start(&c1, &hop1, NULL);
    pthread_t pt[3];
    for (uintptr_t i = 0; i < 3; i++)
        pthread_create(&pt[i], NULL, chain_producer, (void *)i);
    for (int i = 0; i < 3; i++)
        pthread_join(pt[i], NULL);
    pl_stage_free(hop1); /* drains into hop2 */
    pl_stage_free(hop2);
    check(atomic_load(&chain_done) == CHAIN_KEYS * CHAIN_PER_KEY, "chain: every item arrived");
    check(atomic_load(&chain_errors) == 0, "chain: per-key order kept through two keyed stages");
    check(xw_alloc_live() == base, "chain: every item freed");
}

/* --- 3. close with blocked threads ------------------------------------------------------------ */
static pl_queue *cq;
static atomic_int closed_ok;

static void *close_pusher(void *arg)
{
    (void)arg;
    int rc;
    while ((rc = pl_queue_push(cq, (void *)1, -1)) == XW_OK)
        ;
    if (rc == XW_ECLOSED)
        atomic_fetch_add(&closed_ok, 1);
    return NULL;
}

static void *close_popper(void *arg)
{
    (void)arg;
    void *it;
    int rc;
    while ((rc = pl_queue_pop(cq, &it, -1)) == XW_OK)
        ;
    if (rc == XW_ECLOSED)
        atomic_fetch_add(&closed_ok, 1);
    return NULL;
}

static void stress_close(void)
{
    for (int round = 0; round < 50; round++) {
        pl_queue_new(2, &cq, NULL);
        atomic_store(&closed_ok, 0);
        pthread_t t[6];
        for (int i = 0; i < 6; i++)
            pthread_create(&t[i], NULL, i % 2 ? close_pusher : close_popper, NULL);
        for (volatile int spin = 0; spin < 20000 * (round % 5); spin++)
            ;
        pl_queue_close(cq);
        for (int i = 0; i < 6; i++)
            pthread_join(t[i], NULL);
        if (atomic_load(&closed_ok) != 6) {
            check(0, "close: every blocked thread returned XW_ECLOSED");
            pl_queue_free(cq, NULL);
            return;
        }
        pl_queue_free(cq, NULL);
    }
    check(1, "close: every blocked thread returned XW_ECLOSED (50 rounds)");
}

int main(void)
{
    stress_mpmc();
    stress_chain();
    stress_close();
    printf("stress: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
