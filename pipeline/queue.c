/*
 * Bounded MPMC queue: a ring of void* under one mutex and two condition variables.
 *
 * One lock is simple and, for the item rates of this pipeline (a few hundred thousand per
 * second at most), not the bottleneck: each operation holds it for a few instructions.
 * Waiters are counted so that a signal is only sent when someone waits. Deadlines use
 * CLOCK_MONOTONIC (the condition variables are created with that clock) so that a wall
 * clock step does not stretch or cut a timeout.
 */
#include "pipeline/queue.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"

struct pl_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_full;
    pthread_cond_t not_empty;
    void **slots;
    size_t cap;
    size_t head; /* index of the oldest item */
    size_t len;
    int closed;
    int push_waiters;
    int pop_waiters;
    size_t high_water;
    uint64_t pushed, popped, push_waits, pop_waits;
};

int pl_queue_new(size_t capacity, pl_queue **out, xw_errbuf *eb)
{
    *out = NULL;
    if (capacity == 0 || capacity > PL_QUEUE_MAX_CAPACITY)
        return xw_errf(eb, XW_EINVAL, "queue capacity %zu is out of range; use 1 to %lu", capacity,
                       (unsigned long)PL_QUEUE_MAX_CAPACITY);
    pl_queue *q = xw_calloc(1, sizeof *q);
    if (!q)
        return xw_errf(eb, XW_ENOMEM, "out of memory allocating a queue");
    q->slots = xw_calloc(capacity, sizeof *q->slots);
    if (!q->slots) {
        xw_free(q);
        return xw_errf(eb, XW_ENOMEM, "out of memory allocating %zu queue slots", capacity);
    }
    pthread_mutex_init(&q->mu, NULL);
    xw_cond_init_monotonic(&q->not_full);
    xw_cond_init_monotonic(&q->not_empty);
    q->cap = capacity;
    *out = q;
    return XW_OK;
}

void pl_queue_free(pl_queue *q, void (*free_item)(void *item))
{
    if (!q)
        return;
    if (free_item)
        for (size_t i = 0; i < q->len; i++)
            free_item(q->slots[(q->head + i) % q->cap]);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->mu);
    xw_free(q->slots);
    xw_free(q);
}

/* Waits on cv until woken or the deadline passes. Returns 0 or ETIMEDOUT. Needs q->mu. */
static int wait_on(pl_queue *q, pthread_cond_t *cv, const struct timespec *deadline)
{
    if (!deadline) {
        pthread_cond_wait(cv, &q->mu);
        return 0;
    }
    return pthread_cond_timedwait(cv, &q->mu, deadline);
}

int pl_queue_push(pl_queue *q, void *item, int64_t timeout_ms)
{
    if (!item)
        return XW_EINVAL;
    struct timespec dl, *dlp = NULL;
    pthread_mutex_lock(&q->mu);
    int counted = 0;
    while (!q->closed && q->len == q->cap) {
        if (timeout_ms == 0) {
            pthread_mutex_unlock(&q->mu);
            return XW_EFULL;
        }
        if (!counted) {
            q->push_waits++;
            counted = 1;
            if (timeout_ms > 0) {
                xw_deadline_after_ms(&dl, timeout_ms);
                dlp = &dl;
            }
        }
        q->push_waiters++;
        int rc = wait_on(q, &q->not_full, dlp);
        q->push_waiters--;
        if (rc == ETIMEDOUT && !q->closed && q->len == q->cap) {
            pthread_mutex_unlock(&q->mu);
            return XW_ETIMEOUT;
        }
    }
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return XW_ECLOSED;
    }
    q->slots[(q->head + q->len) % q->cap] = item;
    q->len++;
    q->pushed++;
    if (q->len > q->high_water)
        q->high_water = q->len;
    if (q->pop_waiters)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return XW_OK;
}

int pl_queue_pop(pl_queue *q, void **out, int64_t timeout_ms)
{
    *out = NULL;
    struct timespec dl, *dlp = NULL;
    pthread_mutex_lock(&q->mu);
    int counted = 0;
    while (q->len == 0) {
        if (q->closed) {
            pthread_mutex_unlock(&q->mu);
            return XW_ECLOSED;
        }
        if (timeout_ms == 0) {
            pthread_mutex_unlock(&q->mu);
            return XW_EEMPTY;
        }
        if (!counted) {
            q->pop_waits++;
            counted = 1;
            if (timeout_ms > 0) {
                xw_deadline_after_ms(&dl, timeout_ms);
                dlp = &dl;
            }
        }
        q->pop_waiters++;
        int rc = wait_on(q, &q->not_empty, dlp);
        q->pop_waiters--;
        if (rc == ETIMEDOUT && q->len == 0 && !q->closed) {
            pthread_mutex_unlock(&q->mu);
            return XW_ETIMEOUT;
        }
    }
    *out = q->slots[q->head];
    q->slots[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->len--;
    q->popped++;
    if (q->push_waiters)
        pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return XW_OK;
}

void pl_queue_close(pl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

int pl_queue_is_closed(pl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int c = q->closed;
    pthread_mutex_unlock(&q->mu);
    return c;
}

size_t pl_queue_length(pl_queue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void pl_queue_stats_get(pl_queue *q, pl_queue_stats *out)
{
    pthread_mutex_lock(&q->mu);
    out->capacity = q->cap;
    out->length = q->len;
    out->high_water = q->high_water;
    out->pushed = q->pushed;
    out->popped = q->popped;
    out->push_waits = q->push_waits;
    out->pop_waits = q->pop_waits;
    out->closed = q->closed;
    pthread_mutex_unlock(&q->mu);
}
