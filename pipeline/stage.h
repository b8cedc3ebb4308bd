/*
 * Stage runner: N threads that take items from bounded queues and hand each to a handler.
 *
 * Two shapes:
 *   - shared (keyed = 0): one queue, N threads pop from it; items are handled in parallel
 *     in no particular order. For work where order does not matter (enrich, validate).
 *   - keyed (keyed = 1): one queue per thread; pl_stage_push() routes an item to thread
 *     hash(key) mod N, so all items with the same key (a group id) are handled by one
 *     thread, in the order they were pushed (by one producer). This is how a group's MLS
 *     state gets exactly one writer (docs/architecture.md, "decrypt[shard]").
 *
 * Backpressure: a push waits while the target queue is full (or fails after its timeout),
 * so a slow stage slows its producers instead of growing memory.
 *
 * Ownership: a successful push hands the item to the stage; the handler receives it and
 * owns it from then on (it frees it or passes it on). A failed push leaves it with the
 * caller. Items still queued when pl_stage_free() runs without a drain go to free_item.
 *
 * Threads: pl_stage_push() from any thread; pl_stage_close/join/free from one controlling
 * thread, never from a handler of the same stage.
 */
#ifndef XW_PIPELINE_STAGE_H
#define XW_PIPELINE_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "pipeline/queue.h"

typedef struct pl_stage pl_stage;

#define PL_STAGE_MAX_THREADS 256

/* Handles one item; owns it. `worker` is the thread's index (0..threads-1). A non-zero
 * return is counted as a handler error in the stats; the stage keeps running. */
typedef int (*pl_stage_fn)(void *ctx, unsigned worker, void *item);

typedef struct {
    const char *name;      /* for thread names and logs; copied */
    unsigned threads;      /* 1..PL_STAGE_MAX_THREADS */
    size_t queue_capacity; /* capacity of each queue (one shared, or one per thread) */
    int keyed;
    pl_stage_fn handle;
    void *ctx;
    void (*free_item)(void *item); /* may be NULL if items need no freeing */
} pl_stage_config;

typedef struct {
    uint64_t handled;        /* items handed to the handler */
    uint64_t handler_errors; /* non-zero returns */
    uint64_t push_waits;     /* summed over the stage's queues */
    size_t high_water;       /* the largest high-water mark of the stage's queues */
} pl_stage_stats;

/* Creates the stage and starts its threads. */
int pl_stage_start(const pl_stage_config *cfg, pl_stage **out, xw_errbuf *eb);

/* Queues item for the stage. key/key_len choose the thread of a keyed stage (ignored by a
 * shared stage; a keyed stage requires a key). Same results as pl_queue_push(). */
int pl_stage_push(pl_stage *st, const void *key, size_t key_len, void *item, int64_t timeout_ms);

/* The thread a key routes to in a keyed stage (0 for a shared stage). */
unsigned pl_stage_route(const pl_stage *st, const void *key, size_t key_len);

/* Closes the input: pushes fail with XW_ECLOSED; threads handle what is queued, then exit. */
void pl_stage_close(pl_stage *st);
/* Waits for every thread to exit (call after pl_stage_close). */
void pl_stage_join(pl_stage *st);
/* Closes, joins and frees. NULL is fine. */
void pl_stage_free(pl_stage *st);

void pl_stage_stats_get(pl_stage *st, pl_stage_stats *out);

/* 64-bit FNV-1a, the routing hash (stable across runs and builds). */
uint64_t pl_hash64(const void *data, size_t len);

#endif
