/*
 * The SQLite outbox: events waiting to be exported, one row each, in commit order.
 *
 * The worker writes events with a pl_outbox_writer on its own database connection, inside
 * the same transaction as the state they describe, so an event exists if and only if its
 * state change committed. The exporter opens the same file with pl_outbox_open(), reads
 * pending rows in seq order and settles them: delivered rows are deleted, permanently
 * failed ones are kept with state "failed" and their error so that nothing disappears
 * silently (an operator lists them and requeues them once the cause is fixed).
 *
 * Row order: seq is an AUTOINCREMENT key assigned inside the writer's transaction, and
 * SQLite has one writer at a time, so a reader that has seen seq S will never later see a
 * new row with a seq below S. The exporter relies on this to read incrementally.
 *
 * Table (created if missing):
 *   pl_outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, kind TEXT, group_id TEXT,
 *             payload BLOB, created_ns INTEGER, state INTEGER (0 pending, 1 failed),
 *             attempts INTEGER, last_error TEXT)
 *
 * Threads: a pl_outbox and a pl_outbox_writer are used by one thread at a time (SQLite
 * connections are not shared between threads here).
 */
#ifndef XW_PIPELINE_OUTBOX_H
#define XW_PIPELINE_OUTBOX_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "pipeline/event.h"

typedef struct pl_outbox pl_outbox;
typedef struct pl_outbox_writer pl_outbox_writer;

/* Installs on db the busy handler the outbox uses: wait up to 10 s for the lock, polling
 * every 200 us (SQLite's own busy timeout sleeps up to 100 ms at a time, which stalls a
 * writer and the exporter that share the file). The worker may use it on its connection. */
void pl_outbox_busy_wait(sqlite3 *db);

/* Creates the outbox table on db if it does not exist. */
int pl_outbox_schema(sqlite3 *db, xw_errbuf *eb);

/* --- writing (the worker's connection) --- */
int pl_outbox_writer_new(sqlite3 *db, pl_outbox_writer **out, xw_errbuf *eb);
void pl_outbox_writer_free(pl_outbox_writer *w);
/* Encodes ev and inserts it. Call inside the transaction of the state change it describes;
 * on error nothing is inserted and the caller rolls back. created_ns is stored for
 * operators (age of the backlog). *seq_out (if not NULL) receives the row's seq. */
int pl_outbox_writer_add(pl_outbox_writer *w, const pl_event *ev, int64_t created_ns, int64_t *seq_out,
                         xw_errbuf *eb);

/* Encodes and inserts n events, in order, as if by n calls of pl_outbox_writer_add but
 * cheaper (multi-row INSERTs of up to 32 rows). All or nothing: on error no row of this
 * call is left (a savepoint is rolled back) and the caller rolls back its transaction.
 * seqs (if not NULL, n entries) receives each row's seq. */
int pl_outbox_writer_add_many(pl_outbox_writer *w, const pl_event *evs, size_t n, int64_t created_ns,
                              int64_t *seqs, xw_errbuf *eb);

/* --- reading and settling (the exporter's connection) --- */
/* Opens (creating if needed) the outbox in the SQLite file at path, in WAL mode. */
int pl_outbox_open(const char *path, pl_outbox **out, xw_errbuf *eb);
void pl_outbox_close(pl_outbox *ob);
/* The connection, for callers that write events through the same handle (tools, tests). */
sqlite3 *pl_outbox_db(pl_outbox *ob);

typedef struct {
    int64_t seq;
    const char *event_id;
    const char *kind;
    const char *group_id;
    const void *payload;
    size_t payload_len;
    int attempts; /* times this row was requeued after a permanent failure */
} pl_outbox_row;

/* Called for each row; pointers are valid during the call only. Return 0 to continue,
 * non-zero to stop the scan before this row (it is not counted as visited). */
typedef int (*pl_outbox_row_fn)(void *ctx, const pl_outbox_row *row);

/* Visits up to max pending rows with seq > after_seq in seq order. *visited receives the
 * number of rows the callback accepted. */
int pl_outbox_scan(pl_outbox *ob, int64_t after_seq, size_t max, pl_outbox_row_fn fn, void *ctx,
                   size_t *visited, xw_errbuf *eb);

typedef struct {
    int64_t first, last; /* inclusive */
} pl_outbox_range;

typedef struct {
    int64_t seq;
    const char *error; /* why delivery failed for good */
} pl_outbox_failure;

/* In one transaction: deletes the pending rows in the delivered ranges and marks the
 * failures as failed with their error. All or nothing. */
int pl_outbox_settle(pl_outbox *ob, const pl_outbox_range *done, size_t ndone,
                     const pl_outbox_failure *failed, size_t nfailed, xw_errbuf *eb);

/* Rows pending and failed. */
int pl_outbox_counts(pl_outbox *ob, int64_t *pending, int64_t *failed, xw_errbuf *eb);
/* Visits failed rows in seq order (for listing); stops when fn returns non-zero. */
int pl_outbox_scan_failed(pl_outbox *ob, int (*fn)(void *ctx, const pl_outbox_row *row, const char *error),
                          void *ctx, xw_errbuf *eb);
/* Makes every failed row pending again, as new rows at the end of the outbox (attempts + 1,
 * same event id and bytes); *count receives how many. */
int pl_outbox_requeue_failed(pl_outbox *ob, int64_t *count, xw_errbuf *eb);

#endif
