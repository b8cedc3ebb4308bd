/*
 * The SQLite outbox: events waiting to be exported, in commit order, one row per batch (the
 * events a caller adds with one pl_outbox_writer_add_many call, usually one transaction).
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
 *   pl_outbox_batch(seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER (events in the row),
 *             first_id TEXT (the first event's id, for operators), body BLOB (the framed
 *             events, stored as codec says), created_ns INTEGER, state INTEGER (0 pending,
 *             1 failed), attempts INTEGER, errors BLOB (failed rows: one framed reason per
 *             event), codec INTEGER (0: body is the framing; 1: body is the framing's length,
 *             u32 big-endian, then the framing as one LZ4 block))
 *
 * Compression: the writer stores a body LZ4-compressed (codec 1) when that makes it smaller,
 * as it does for any batch of JSON events (why, and what it saves: docs/export.md). Readers
 * check the declared length (at most PL_OUTBOX_BATCH_MAX_BYTES) before decompressing into a
 * buffer they own, and treat a body that does not decompress to exactly that length as
 * damaged. Failed rows are rewritten plain.
 *
 * Batch framing (body): n records, each an 8-byte header — kind (u8, the pl_event_kind),
 * id length (u8, 1..PL_EVENT_ID_MAX), group length (u16 big-endian, 1..PL_EVENT_GROUP_MAX),
 * payload length (u32 big-endian, 1..PL_EVENT_MAX_BYTES) — then the id, the group id and
 * the encoded event (pl_event_encode's bytes, exported as they are). Readers check every
 * length against these bounds and the row's size and count: a damaged row is an error
 * (XW_ECORRUPT naming the row), never skipped. errors of a failed row: n records of
 * u16 big-endian length + reason text.
 *
 * Older files: opening a file written by an earlier layout (writer or exporter) converts it
 * in one transaction, keeping every event, its order and any failure reason; nothing needs
 * doing by hand (the layouts and their conversion: docs/export.md). An exporter older than
 * compression reports compressed rows damaged and stops: upgrade it with the worker.
 *
 * Threads: a pl_outbox and a pl_outbox_writer are used by one thread at a time (SQLite
 * connections are not shared between threads here).
 */
#ifndef XW_PIPELINE_OUTBOX_H
#define XW_PIPELINE_OUTBOX_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "pipeline/event.h"

typedef struct pl_outbox pl_outbox;
typedef struct pl_outbox_writer pl_outbox_writer;

#define PL_OUTBOX_BATCH_MAX_EVENTS 512       /* events in one row */
#define PL_OUTBOX_BATCH_MAX_BYTES (4u << 20) /* bytes of one row's body */
#define PL_OUTBOX_REC_HEADER 8               /* bytes of a record header in a body */

/* One event of a batch body, as framed (pointers into the body; not NUL-terminated). */
typedef struct {
    pl_event_kind kind;
    const char *id;
    size_t id_len;
    const char *group;
    size_t group_len;
    const void *payload;
    size_t payload_len;
} pl_outbox_rec;

/* Reads the record at *pos of a batch body of len bytes (untrusted: every length is
 * checked) and advances *pos. XW_ECORRUPT with a sentence on a damaged record. */
int pl_outbox_rec_next(const uint8_t *body, size_t len, size_t *pos, pl_outbox_rec *rec, xw_errbuf *eb);
/* Checks a whole body: exactly n (1..PL_OUTBOX_BATCH_MAX_EVENTS) valid records, nothing
 * after them. */
int pl_outbox_body_check(const uint8_t *body, size_t len, int64_t n, xw_errbuf *eb);

/* How a row's body is stored (column codec). */
#define PL_OUTBOX_CODEC_NONE 0 /* the framing itself */
#define PL_OUTBOX_CODEC_LZ4 1  /* u32 big-endian framing length, then one LZ4 block */

/* Compresses the framing body[0..len) into out (emptied first; its max should allow
 * 4 + LZ4_compressBound(len) bytes) and returns PL_OUTBOX_CODEC_LZ4, or returns
 * PL_OUTBOX_CODEC_NONE with out empty when compression would not make it smaller (the
 * framing is then stored as it is). */
int pl_outbox_body_compress(const uint8_t *body, size_t len, xw_buf *out);
/* Turns a stored body (untrusted, from the file) back into the framing: for
 * PL_OUTBOX_CODEC_NONE, *body = stored; for PL_OUTBOX_CODEC_LZ4, the declared length is
 * checked (1..PL_OUTBOX_BATCH_MAX_BYTES, and consistent with the stored size) before
 * decompressing into raw (emptied first), and must be exactly what comes out. XW_ECORRUPT
 * with a sentence on a damaged body or an unknown codec; the framing itself is checked by
 * pl_outbox_body_check. */
int pl_outbox_body_decode(int codec, const uint8_t *stored, size_t len, xw_buf *raw, const uint8_t **body,
                          size_t *body_len, xw_errbuf *eb);

/* Installs on db the busy handler the outbox uses: wait up to 10 s for the lock, polling
 * every 200 µs rather than sleeping up to 100 ms at a time like SQLite's busy timeout
 * (docs/export.md). The worker may use it on its connection. */
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

/* Encodes n events and inserts them as one batch row (or, past PL_OUTBOX_BATCH_MAX_EVENTS
 * events or PL_OUTBOX_BATCH_MAX_BYTES bytes, as several consecutive rows), in order. All
 * or nothing: on error no row of this call is left (a savepoint is rolled back) and the
 * caller rolls back its transaction. seqs (if not NULL, n entries) receives the seq of the
 * row holding each event. pl_outbox_writer_add is a one-event batch. */
int pl_outbox_writer_add_many(pl_outbox_writer *w, const pl_event *evs, size_t n, int64_t created_ns,
                              int64_t *seqs, xw_errbuf *eb);

/* --- reading and settling (the exporter's connection) --- */
/* Opens (creating if needed) the outbox in the SQLite file at path, in WAL mode. */
int pl_outbox_open(const char *path, pl_outbox **out, xw_errbuf *eb);
/* Opens an outbox that must exist already (an operator's tool must not create one from a
 * mistyped path): XW_ENOTFOUND, with nothing created or changed, when there is no file at
 * path or the file holds no outbox table; otherwise as pl_outbox_open. */
int pl_outbox_open_existing(const char *path, pl_outbox **out, xw_errbuf *eb);
void pl_outbox_close(pl_outbox *ob);
/* The connection, for callers that write events through the same handle (tools, tests). */
sqlite3 *pl_outbox_db(pl_outbox *ob);
/* The database file's absolute path, as SQLite reports it ("" for an in-memory database). */
const char *pl_outbox_path(pl_outbox *ob);

/* One event, as the scans visit it: seq is its row's, index its place in the row (0..count-1). */
typedef struct {
    int64_t seq;
    size_t index, count;
    const char *event_id;
    const char *kind;
    const char *group_id;
    const void *payload;
    size_t payload_len;
    int attempts; /* times this row was requeued after a permanent failure */
} pl_outbox_row;

/* Called for each event; pointers are valid during the call only. Return 0 to continue,
 * non-zero to stop the scan before this event (it is not counted as visited). */
typedef int (*pl_outbox_row_fn)(void *ctx, const pl_outbox_row *row);

/* Visits the events of up to max pending rows with seq > after_seq, in seq order and in
 * order within a row. *visited receives the number of events the callback accepted. A
 * damaged row stops the scan with XW_ECORRUPT naming the row (events before it were
 * visited). */
int pl_outbox_scan(pl_outbox *ob, int64_t after_seq, size_t max, pl_outbox_row_fn fn, void *ctx,
                   size_t *visited, xw_errbuf *eb);

typedef struct {
    int64_t first, last; /* inclusive */
} pl_outbox_range;

typedef struct {
    int64_t seq;
    const char *error; /* why delivery failed for good */
    size_t index;      /* the event's place in its row */
} pl_outbox_failure;

/* In one transaction: deletes the pending rows in the delivered ranges and rewrites each
 * row named by failures (sorted by seq, then index) to keep only those events, marked
 * failed with their errors (its other events were delivered). All or nothing. */
int pl_outbox_settle(pl_outbox *ob, const pl_outbox_range *done, size_t ndone,
                     const pl_outbox_failure *failed, size_t nfailed, xw_errbuf *eb);

/* Events pending and failed. */
int pl_outbox_counts(pl_outbox *ob, int64_t *pending, int64_t *failed, xw_errbuf *eb);
/* Visits failed events in order (for listing), each with its reason; stops when fn returns
 * non-zero. */
int pl_outbox_scan_failed(pl_outbox *ob, int (*fn)(void *ctx, const pl_outbox_row *row, const char *error),
                          void *ctx, xw_errbuf *eb);
/* Makes every failed event pending again, as new rows at the end of the outbox (attempts + 1,
 * same event ids and bytes); *count receives how many events. */
int pl_outbox_requeue_failed(pl_outbox *ob, int64_t *count, xw_errbuf *eb);

#endif
