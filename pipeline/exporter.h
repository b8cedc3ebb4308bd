/*
 * The exporter: moves events from the SQLite outbox to a sink, deleting each row only when
 * the sink reports it delivered.
 *
 * How it works: rows (batches of events, outbox.h) are read in seq order and their events
 * produced to the sink in order, at most max_in_flight at a time (a ring of slots, one per
 * event, in read order, so memory is bounded whatever the backlog; a row that does not fit
 * is produced in part and resumed). Delivery reports mark slots. The completed prefix of
 * the ring is settled row by row in one transaction: runs of fully delivered rows are
 * deleted as seq ranges; a row with permanently failed events is rewritten to keep only
 * those, marked failed (kept, logged, counted; `xw-export --list-failed` shows them); a row
 * with a retriable failure stays pending whole.
 *
 * Failures:
 *   - a permanent refusal or report (message too large, not authorised): the row is kept
 *     as failed and the export goes on;
 *   - a retriable report (broker trouble that outlived the producer's own retries, a
 *     purged message): the exporter stops producing, waits for what is in flight, settles
 *     it, restarts the sink if it is broken (fatal idempotence error), waits a backoff
 *     and reads again from the oldest pending row. Rows delivered meanwhile were deleted;
 *     the rest are produced again, in order, whole (events of them that were delivered
 *     are delivered again: same ids and bytes);
 *   - a crash or SIGKILL: rows not yet deleted are produced again by the next run.
 * So delivery is at least once and in order per group (first occurrences); a redelivered
 * event has the same event id and bytes, for consumers to drop (docs/events.md).
 *
 * Threads: pl_exporter_run() runs on one thread and owns the outbox handle and the sink;
 * pl_exporter_stop(), pl_exporter_notify() and pl_exporter_stats_get() may be called from
 * any thread (stop and notify are async-signal-safe).
 */
#ifndef XW_PIPELINE_EXPORTER_H
#define XW_PIPELINE_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "pipeline/outbox.h"
#include "pipeline/sink.h"

typedef struct pl_exporter pl_exporter;

typedef struct {
    size_t max_in_flight; /* default 100000; PL_OUTBOX_BATCH_MAX_EVENTS (raised to it)..10000000;
                           * also the most events a crash makes the next run repeat */
    size_t batch;         /* rows read per query; default 5000 */
    int settle_ms;        /* settle the completed prefix at least this often; default 100 */
    size_t settle_rows;   /* and whenever this many rows are completed; default 20000 */
    int idle_ms;          /* wait between reads when the outbox is empty, unless notified; default 100 */
    int backoff_ms;       /* first wait after a retriable failure, doubling; default 200 */
    int backoff_max_ms;   /* default 10000 */
    int stop_timeout_ms;  /* how long a stop waits for in-flight reports; default 10000 */
} pl_exporter_config;

typedef struct {
    uint64_t produced;  /* messages handed to the sink (redeliveries included) */
    uint64_t delivered; /* reports of success (rows deleted) */
    uint64_t failed;    /* rows marked failed for good */
    uint64_t retries;   /* rewinds after a retriable failure */
    uint64_t restarts;  /* sink restarts after a fatal error */
    uint64_t settles;   /* settle transactions */
    size_t in_flight;
} pl_exporter_stats;

/* The exporter borrows ob and sink (the caller frees them after pl_exporter_free) and sets
 * itself as the sink's report receiver. cfg may be NULL for the defaults.
 * One exporter per outbox: it takes the outbox's lease (pipeline/lease.h) until
 * pl_exporter_free; while another exporter, in any process, holds it, this fails at once with
 * XW_EBUSY and a sentence naming that exporter (pid, host, since when, program). */
int pl_exporter_new(pl_outbox *ob, pl_sink *sink, const pl_exporter_config *cfg, pl_exporter **out,
                    xw_errbuf *eb);
void pl_exporter_free(pl_exporter *ex);

/* Exports until pl_exporter_stop() is called, or, with until_empty, until the outbox has no
 * pending row and nothing is in flight. Returns XW_OK, or the error that stopped it
 * (a fatal database error, a sink that cannot be restarted). On return everything that
 * was reported has been settled. */
int pl_exporter_run(pl_exporter *ex, int until_empty, xw_errbuf *eb);
/* Asks a run to end (it collects outstanding reports, up to stop_timeout_ms, and settles
 * them). Final: an exporter that was stopped does not run again; make a new one. */
void pl_exporter_stop(pl_exporter *ex);
/* Tells an idle exporter that rows were committed, so it reads them now rather than after
 * its idle wait (idle_ms). The worker calls it after each store transaction. */
void pl_exporter_notify(pl_exporter *ex);
void pl_exporter_stats_get(pl_exporter *ex, pl_exporter_stats *out);

/* The exporter changes nothing process-wide. A program that runs one may want glibc's
 * fastbins off for speed; that setting is the program's choice (tools/process_setup.h). */

#endif
