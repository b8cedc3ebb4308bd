/*
 * Bounded multi-producer multi-consumer queue of pointers (docs/style.md #5, #6, #7).
 *
 * A fixed ring of `capacity` slots under one mutex with two condition variables (not full,
 * not empty). Producers block while the queue is full, so a slow consumer pushes back on
 * its producers and memory stays flat however large the backlog upstream is.
 *
 * Timeouts, everywhere a call can wait: timeout_ms < 0 waits for ever, 0 never waits (the
 * non-blocking variants: XW_EFULL / XW_EEMPTY), > 0 waits at most that long (XW_ETIMEOUT).
 *
 * Ownership: a successful push hands the item to the queue and then to whoever pops it; a
 * failed push (full, timeout, closed) leaves it with the caller, who must free or retry it.
 *
 * Close: pl_queue_close() wakes every waiter. Pushes fail with XW_ECLOSED from then on;
 * pops keep returning what is left and XW_ECLOSED once the queue is empty, so consumers
 * drain it and stop.
 *
 * Every function is thread-safe except pl_queue_free(), which the last user calls after
 * every other thread is done with the queue.
 */
#ifndef XW_PIPELINE_QUEUE_H
#define XW_PIPELINE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct pl_queue pl_queue;

/* Largest capacity accepted; a queue holds pointers, so this is 128 MiB of slots. */
#define PL_QUEUE_MAX_CAPACITY (UINT32_C(1) << 24)

typedef struct {
    size_t capacity;
    size_t length;       /* items in the queue now */
    size_t high_water;   /* the largest length ever seen */
    uint64_t pushed;     /* successful pushes */
    uint64_t popped;     /* successful pops */
    uint64_t push_waits; /* times a producer had to wait because the queue was full */
    uint64_t pop_waits;  /* times a consumer had to wait because the queue was empty */
    int closed;
} pl_queue_stats;

/* Creates a queue of `capacity` slots (1..PL_QUEUE_MAX_CAPACITY). */
int pl_queue_new(size_t capacity, pl_queue **out, xw_errbuf *eb);
/* Frees the queue. Items still inside are passed to free_item (if not NULL) first. */
void pl_queue_free(pl_queue *q, void (*free_item)(void *item));

/* Appends item (not NULL). XW_OK, XW_EFULL (timeout 0), XW_ETIMEOUT or XW_ECLOSED. */
int pl_queue_push(pl_queue *q, void *item, int64_t timeout_ms);
static inline int pl_queue_try_push(pl_queue *q, void *item) { return pl_queue_push(q, item, 0); }

/* Takes the oldest item into *out. XW_OK, XW_EEMPTY (timeout 0), XW_ETIMEOUT, or
 * XW_ECLOSED when the queue is closed and empty. */
int pl_queue_pop(pl_queue *q, void **out, int64_t timeout_ms);
static inline int pl_queue_try_pop(pl_queue *q, void **out) { return pl_queue_pop(q, out, 0); }

/* Closes the queue and wakes every waiter. Idempotent. */
void pl_queue_close(pl_queue *q);
int pl_queue_is_closed(pl_queue *q);
size_t pl_queue_length(pl_queue *q);
void pl_queue_stats_get(pl_queue *q, pl_queue_stats *out);

#endif
