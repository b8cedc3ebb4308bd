/*
 * SQLite outbox (see outbox.h for the contract).
 *
 * Statements are prepared once per handle. Reads are single statements (no long-lived read
 * transaction that would pin the WAL); settling is one IMMEDIATE transaction so that a
 * crash leaves either every delivered range deleted or none (a redelivery, never a loss).
 * The connection waits up to 10 s on a busy database, polling finely (pl_outbox_busy_wait):
 * the worker and the exporter write the same file, briefly each.
 */
#include "pipeline/outbox.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"

#define OUTBOX_BUSY_MS 10000

static const char outbox_ddl[] =
    "CREATE TABLE IF NOT EXISTS pl_outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " event_id TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " group_id TEXT NOT NULL,"
    " payload BLOB NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS pl_outbox_failed ON pl_outbox(seq) WHERE state <> 0;";

/* Rows per multi-row INSERT in pl_outbox_writer_add_many (5 parameters a row). */
#define WRITER_CHUNK 32

struct pl_outbox_writer {
    sqlite3 *db;
    sqlite3_stmt *ins;       /* one row */
    sqlite3_stmt *ins_chunk; /* WRITER_CHUNK rows */
    sqlite3_stmt *sp_begin, *sp_release, *sp_rollback;
    xw_buf enc;
    size_t off[WRITER_CHUNK + 1]; /* add_many: where each encoded event starts in enc */
};

struct pl_outbox {
    sqlite3 *db;
    sqlite3_stmt *scan;
    sqlite3_stmt *del;
    sqlite3_stmt *fail;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    sqlite3_stmt *rollback;
};

/* Busy handler: SQLite's default backs off to 100 ms sleeps, far longer than the few
 * milliseconds a writer's transaction holds the lock here; poll every 200 us instead, up
 * to OUTBOX_BUSY_MS in all. */
static int busy_wait(void *arg, int tries)
{
    (void)arg;
    if ((int64_t)tries * 200 >= (int64_t)OUTBOX_BUSY_MS * 1000)
        return 0;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    return 1;
}

void pl_outbox_busy_wait(sqlite3 *db) { sqlite3_busy_handler(db, busy_wait, NULL); }

static int db_err(xw_errbuf *eb, sqlite3 *db, const char *what)
{
    int code = sqlite3_errcode(db);
    int err = (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) ? XW_ECORRUPT : XW_EDB;
    return xw_errf(eb, err, "outbox: %s: %s (SQLite code %d)", what, sqlite3_errmsg(db), code);
}

int pl_outbox_schema(sqlite3 *db, xw_errbuf *eb)
{
    if (sqlite3_exec(db, outbox_ddl, NULL, NULL, NULL) != SQLITE_OK)
        return db_err(eb, db, "creating the outbox table");
    return XW_OK;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, xw_errbuf *eb)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_err(eb, db, "preparing a statement");
    return XW_OK;
}

/* --- writer ------------------------------------------------------------------------------------ */

int pl_outbox_writer_new(sqlite3 *db, pl_outbox_writer **out, xw_errbuf *eb)
{
    *out = NULL;
    int rc = pl_outbox_schema(db, eb);
    if (rc != XW_OK)
        return rc;
    pl_outbox_writer *w = xw_calloc(1, sizeof *w);
    if (!w)
        return xw_errf(eb, XW_ENOMEM, "out of memory creating an outbox writer");
    w->db = db;
    xw_buf_init(&w->enc, (size_t)WRITER_CHUNK * PL_EVENT_MAX_BYTES);
    char sql[64 + WRITER_CHUNK * 24];
    int n = snprintf(sql, sizeof sql,
                     "INSERT INTO pl_outbox(event_id, kind, group_id, payload, created_ns) VALUES ");
    for (int i = 0; i < WRITER_CHUNK; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, "%s(?,?,?,?,?)", i ? "," : "");
    if ((rc = prepare(
             db,
             "INSERT INTO pl_outbox(event_id, kind, group_id, payload, created_ns) VALUES (?1, ?2, ?3, "
             "?4, ?5)",
             &w->ins, eb)) != XW_OK ||
        (rc = prepare(db, sql, &w->ins_chunk, eb)) != XW_OK ||
        (rc = prepare(db, "SAVEPOINT pl_outbox_add", &w->sp_begin, eb)) != XW_OK ||
        (rc = prepare(db, "RELEASE pl_outbox_add", &w->sp_release, eb)) != XW_OK ||
        (rc = prepare(db, "ROLLBACK TO pl_outbox_add", &w->sp_rollback, eb)) != XW_OK) {
        pl_outbox_writer_free(w);
        return rc;
    }
    *out = w;
    return XW_OK;
}

void pl_outbox_writer_free(pl_outbox_writer *w)
{
    if (!w)
        return;
    sqlite3_finalize(w->ins);
    sqlite3_finalize(w->ins_chunk);
    sqlite3_finalize(w->sp_begin);
    sqlite3_finalize(w->sp_release);
    sqlite3_finalize(w->sp_rollback);
    xw_buf_free(&w->enc);
    xw_free(w);
}

int pl_outbox_writer_add(pl_outbox_writer *w, const pl_event *ev, int64_t created_ns, int64_t *seq_out,
                         xw_errbuf *eb)
{
    xw_buf_reset(&w->enc);
    int rc = pl_event_encode(ev, &w->enc, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_stmt *st = w->ins;
    sqlite3_bind_text(st, 1, ev->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pl_event_kind_name(ev->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ev->group_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, w->enc.data, (int)w->enc.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, created_ns);
    int src = sqlite3_step(st);
    sqlite3_reset(st); /* every parameter is bound again by the next call */
    if (src != SQLITE_DONE)
        return db_err(eb, w->db, "inserting an event");
    if (seq_out)
        *seq_out = sqlite3_last_insert_rowid(w->db);
    return XW_OK;
}

static int writer_step(pl_outbox_writer *w, sqlite3_stmt *st, const char *what, xw_errbuf *eb)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? XW_OK : db_err(eb, w->db, what);
}

/* Inserts one chunk of n (<= WRITER_CHUNK) events whose encodings are in w->enc. */
static int writer_insert_chunk(pl_outbox_writer *w, const pl_event *evs, size_t n, int64_t created_ns,
                               int64_t *seqs, xw_errbuf *eb)
{
    if (n < WRITER_CHUNK) {
        for (size_t i = 0; i < n; i++) {
            sqlite3_stmt *st = w->ins;
            sqlite3_bind_text(st, 1, evs[i].id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, pl_event_kind_name(evs[i].kind), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, evs[i].group_id, -1, SQLITE_STATIC);
            sqlite3_bind_blob(st, 4, w->enc.data + w->off[i], (int)(w->off[i + 1] - w->off[i]),
                              SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, created_ns);
            int rc = writer_step(w, st, "inserting an event", eb);
            if (rc != XW_OK)
                return rc;
            if (seqs)
                seqs[i] = sqlite3_last_insert_rowid(w->db);
        }
        return XW_OK;
    }
    sqlite3_stmt *st = w->ins_chunk;
    for (size_t i = 0; i < n; i++) {
        int p = (int)i * 5;
        sqlite3_bind_text(st, p + 1, evs[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, p + 2, pl_event_kind_name(evs[i].kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, p + 3, evs[i].group_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, p + 4, w->enc.data + w->off[i], (int)(w->off[i + 1] - w->off[i]),
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, p + 5, created_ns);
    }
    int rc = writer_step(w, st, "inserting events", eb);
    if (rc != XW_OK)
        return rc;
    /* the rows of one statement get consecutive seqs, in order (AUTOINCREMENT, one writer) */
    int64_t last = sqlite3_last_insert_rowid(w->db);
    for (size_t i = 0; seqs && i < n; i++)
        seqs[i] = last - (int64_t)(n - 1 - i);
    return XW_OK;
}

int pl_outbox_writer_add_many(pl_outbox_writer *w, const pl_event *evs, size_t n, int64_t created_ns,
                              int64_t *seqs, xw_errbuf *eb)
{
    if (n == 0)
        return XW_OK;
    if (n == 1)
        return pl_outbox_writer_add(w, evs, created_ns, seqs, eb);
    int rc = writer_step(w, w->sp_begin, "starting a savepoint", eb);
    if (rc != XW_OK)
        return rc;
    for (size_t done = 0; done < n && rc == XW_OK;) {
        size_t k = n - done < WRITER_CHUNK ? n - done : WRITER_CHUNK;
        xw_buf_reset(&w->enc);
        for (size_t i = 0; i < k && rc == XW_OK; i++) {
            w->off[i] = w->enc.len;
            rc = pl_event_encode(&evs[done + i], &w->enc, eb);
        }
        w->off[k] = w->enc.len;
        if (rc == XW_OK)
            rc = writer_insert_chunk(w, evs + done, k, created_ns, seqs ? seqs + done : NULL, eb);
        done += k;
    }
    if (rc == XW_OK)
        return writer_step(w, w->sp_release, "releasing a savepoint", eb);
    /* all or nothing: undo the chunks already inserted, then end the savepoint */
    writer_step(w, w->sp_rollback, "rolling back to a savepoint", NULL);
    writer_step(w, w->sp_release, "releasing a savepoint", NULL);
    return rc;
}

/* --- exporter side ----------------------------------------------------------------------------- */

void pl_outbox_close(pl_outbox *ob)
{
    if (!ob)
        return;
    sqlite3_finalize(ob->scan);
    sqlite3_finalize(ob->del);
    sqlite3_finalize(ob->fail);
    sqlite3_finalize(ob->begin);
    sqlite3_finalize(ob->commit);
    sqlite3_finalize(ob->rollback);
    sqlite3_close(ob->db);
    xw_free(ob);
}

int pl_outbox_open(const char *path, pl_outbox **out, xw_errbuf *eb)
{
    *out = NULL;
    pl_outbox *ob = xw_calloc(1, sizeof *ob);
    if (!ob)
        return xw_errf(eb, XW_ENOMEM, "out of memory opening the outbox");
    int rc;
    if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = xw_errf(eb, XW_EIO, "cannot open outbox database %s: %s; check the path and its permissions",
                     path, ob->db ? sqlite3_errmsg(ob->db) : "out of memory");
        goto fail;
    }
    pl_outbox_busy_wait(ob->db);
    /* Settings (docs/export.md, "SQLite settings"): 16 KiB pages if this creates the file
     * (fewer WAL frames and system calls per event; no effect on an existing file), WAL with
     * synchronous=NORMAL (commits are atomic; a power cut may undo the last deletes, which
     * only redelivers), secure_delete=OFF for this connection only (Debian's default ON
     * re-zeroes the whole coalesced free block of a page at every delete, which made each
     * in-order delete cost ~7k instructions; the content lives on in the worker's own
     * tables and in the WAL anyway), 256 MiB of mmap reads and a 64 MiB page cache. */
    if (sqlite3_exec(ob->db,
                     "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA secure_delete=OFF; PRAGMA mmap_size=268435456; PRAGMA cache_size=-65536;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(eb, ob->db, "setting WAL mode");
        goto fail;
    }
    if ((rc = pl_outbox_schema(ob->db, eb)) != XW_OK ||
        (rc = prepare(ob->db,
                      "SELECT seq, event_id, kind, group_id, payload, attempts FROM pl_outbox"
                      " WHERE seq > ?1 AND state = 0 ORDER BY seq LIMIT ?2",
                      &ob->scan, eb)) != XW_OK ||
        (rc = prepare(ob->db, "DELETE FROM pl_outbox WHERE seq BETWEEN ?1 AND ?2 AND state = 0", &ob->del,
                      eb)) != XW_OK ||
        (rc = prepare(ob->db, "UPDATE pl_outbox SET state = 1, last_error = ?2 WHERE seq = ?1", &ob->fail,
                      eb)) != XW_OK ||
        (rc = prepare(ob->db, "BEGIN IMMEDIATE", &ob->begin, eb)) != XW_OK ||
        (rc = prepare(ob->db, "COMMIT", &ob->commit, eb)) != XW_OK ||
        (rc = prepare(ob->db, "ROLLBACK", &ob->rollback, eb)) != XW_OK)
        goto fail;
    *out = ob;
    return XW_OK;
fail:
    if (rc != XW_OK)
        xw_errctx(eb, rc, "opening outbox %s", path);
    pl_outbox_close(ob);
    return rc;
}

sqlite3 *pl_outbox_db(pl_outbox *ob) { return ob->db; }

int pl_outbox_scan(pl_outbox *ob, int64_t after_seq, size_t max, pl_outbox_row_fn fn, void *ctx,
                   size_t *visited, xw_errbuf *eb)
{
    *visited = 0;
    sqlite3_stmt *st = ob->scan;
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(max > INT64_MAX ? INT64_MAX : max));
    int rc = XW_OK, src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        pl_outbox_row row = {
            .seq = sqlite3_column_int64(st, 0),
            .event_id = (const char *)sqlite3_column_text(st, 1),
            .kind = (const char *)sqlite3_column_text(st, 2),
            .group_id = (const char *)sqlite3_column_text(st, 3),
            .payload = sqlite3_column_blob(st, 4),
            .payload_len = (size_t)sqlite3_column_bytes(st, 4),
            .attempts = sqlite3_column_int(st, 5),
        };
        if (!row.event_id || !row.kind || !row.group_id || !row.payload) {
            rc = xw_errf(eb, XW_ECORRUPT, "outbox row %lld has an empty column; the outbox table is damaged",
                         (long long)row.seq);
            break;
        }
        if (fn(ctx, &row) != 0)
            break;
        (*visited)++;
    }
    if (rc == XW_OK && src != SQLITE_ROW && src != SQLITE_DONE)
        rc = db_err(eb, ob->db, "reading pending events");
    sqlite3_reset(st);
    return rc;
}

static int step_done(pl_outbox *ob, sqlite3_stmt *st, const char *what, xw_errbuf *eb)
{
    int src = sqlite3_step(st);
    int rc = src == SQLITE_DONE ? XW_OK : db_err(eb, ob->db, what);
    sqlite3_reset(st);
    return rc;
}

int pl_outbox_settle(pl_outbox *ob, const pl_outbox_range *done, size_t ndone,
                     const pl_outbox_failure *failed, size_t nfailed, xw_errbuf *eb)
{
    if (ndone == 0 && nfailed == 0)
        return XW_OK;
    int rc = step_done(ob, ob->begin, "starting a transaction", eb);
    if (rc != XW_OK)
        return rc;
    for (size_t i = 0; i < ndone && rc == XW_OK; i++) {
        sqlite3_bind_int64(ob->del, 1, done[i].first);
        sqlite3_bind_int64(ob->del, 2, done[i].last);
        rc = step_done(ob, ob->del, "deleting delivered events", eb);
    }
    for (size_t i = 0; i < nfailed && rc == XW_OK; i++) {
        sqlite3_bind_int64(ob->fail, 1, failed[i].seq);
        sqlite3_bind_text(ob->fail, 2, failed[i].error ? failed[i].error : "unknown error", -1,
                          SQLITE_STATIC);
        rc = step_done(ob, ob->fail, "marking a failed event", eb);
        sqlite3_clear_bindings(ob->fail);
    }
    if (rc == XW_OK)
        rc = step_done(ob, ob->commit, "committing settled events", eb);
    if (rc != XW_OK)
        step_done(ob, ob->rollback, "rolling back", NULL);
    return rc;
}

int pl_outbox_counts(pl_outbox *ob, int64_t *pending, int64_t *failed, xw_errbuf *eb)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ob->db,
                           "SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state <> 0)"
                           " FROM pl_outbox",
                           -1, &st, NULL) != SQLITE_OK)
        return db_err(eb, ob->db, "counting events");
    int rc = XW_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (pending)
            *pending = sqlite3_column_int64(st, 0);
        if (failed)
            *failed = sqlite3_column_int64(st, 1);
    } else {
        rc = db_err(eb, ob->db, "counting events");
    }
    sqlite3_finalize(st);
    return rc;
}

int pl_outbox_scan_failed(pl_outbox *ob, int (*fn)(void *ctx, const pl_outbox_row *row, const char *error),
                          void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            ob->db,
            "SELECT seq, event_id, kind, group_id, payload, attempts, last_error FROM pl_outbox"
            " WHERE state <> 0 ORDER BY seq",
            -1, &st, NULL) != SQLITE_OK)
        return db_err(eb, ob->db, "listing failed events");
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        pl_outbox_row row = {
            .seq = sqlite3_column_int64(st, 0),
            .event_id = (const char *)sqlite3_column_text(st, 1),
            .kind = (const char *)sqlite3_column_text(st, 2),
            .group_id = (const char *)sqlite3_column_text(st, 3),
            .payload = sqlite3_column_blob(st, 4),
            .payload_len = (size_t)sqlite3_column_bytes(st, 4),
            .attempts = sqlite3_column_int(st, 5),
        };
        const char *err = (const char *)sqlite3_column_text(st, 6);
        if (fn(ctx, &row, err ? err : "") != 0)
            break;
    }
    int rc = (src == SQLITE_ROW || src == SQLITE_DONE) ? XW_OK : db_err(eb, ob->db, "listing failed events");
    sqlite3_finalize(st);
    return rc;
}

int pl_outbox_requeue_failed(pl_outbox *ob, int64_t *count, xw_errbuf *eb)
{
    *count = 0;
    /* New rows (new, higher seqs) rather than an UPDATE in place: a running exporter reads
     * forward from its cursor and deletes delivered seq ranges, and a row brought back to
     * life inside such a range could be deleted without having been delivered. */
    int rc = step_done(ob, ob->begin, "starting a transaction", eb);
    if (rc != XW_OK)
        return rc;
    if (sqlite3_exec(ob->db,
                     "INSERT INTO pl_outbox(event_id, kind, group_id, payload, created_ns, attempts)"
                     " SELECT event_id, kind, group_id, payload, created_ns, attempts + 1 FROM pl_outbox"
                     " WHERE state <> 0 ORDER BY seq;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(eb, ob->db, "requeueing failed events");
        step_done(ob, ob->rollback, "rolling back", NULL);
        return rc;
    }
    int64_t n = sqlite3_changes64(ob->db);
    if (sqlite3_exec(ob->db, "DELETE FROM pl_outbox WHERE state <> 0;", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(eb, ob->db, "requeueing failed events");
        step_done(ob, ob->rollback, "rolling back", NULL);
        return rc;
    }
    if ((rc = step_done(ob, ob->commit, "committing requeued events", eb)) != XW_OK) {
        step_done(ob, ob->rollback, "rolling back", NULL);
        return rc;
    }
    *count = n;
    return XW_OK;
}
