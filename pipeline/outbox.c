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

#include <errno.h>
#include <lz4.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/sqlite_err.h"

#define OUTBOX_BUSY_MS 10000

static const char outbox_ddl[] =
    "CREATE TABLE IF NOT EXISTS pl_outbox_batch ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " n INTEGER NOT NULL,"
    " first_id TEXT NOT NULL,"
    " body BLOB NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " errors BLOB,"
    " codec INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS pl_outbox_batch_failed ON pl_outbox_batch(seq) WHERE state <> 0;";

struct pl_outbox_writer {
    sqlite3 *db;
    sqlite3_stmt *ins;
    sqlite3_stmt *sp_begin, *sp_release, *sp_rollback;
    xw_buf enc;
    xw_buf lz; /* a compressed body */
};

struct pl_outbox {
    sqlite3 *db;
    sqlite3_stmt *scan;
    sqlite3_stmt *del;
    sqlite3_stmt *get;
    sqlite3_stmt *fail;
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    sqlite3_stmt *rollback;
    xw_buf tmp; /* settle: a failed row's rewritten body and reasons */
    xw_buf tmp2;
    xw_buf raw; /* the framing of the compressed row being read */
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
    return xw_errf(eb, xw_sqlite_err(code), "outbox: %s: %s (SQLite code %d)", what, sqlite3_errmsg(db),
                   code);
}

/* --- batch framing ------------------------------------------------------------------------------ */

static void put_be(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint32_t get_be(const uint8_t *p, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

int pl_outbox_rec_next(const uint8_t *body, size_t len, size_t *pos, pl_outbox_rec *rec, xw_errbuf *eb)
{
    size_t p = *pos;
    if (p > len || len - p < PL_OUTBOX_REC_HEADER)
        return xw_errf(eb, XW_ECORRUPT,
                       "batch record at byte %zu is cut short (%zu bytes left, header needs %d)", p,
                       p > len ? 0 : len - p, PL_OUTBOX_REC_HEADER);
    const uint8_t *h = body + p;
    uint32_t kind = h[0], idl = h[1], gl = get_be(h + 2, 2), pll = get_be(h + 4, 4);
    if (kind >= PL_EVENT__KIND_COUNT)
        return xw_errf(eb, XW_ECORRUPT, "batch record at byte %zu has unknown event kind %u", p, kind);
    if (idl == 0 || idl > PL_EVENT_ID_MAX)
        return xw_errf(eb, XW_ECORRUPT, "batch record at byte %zu has an event id length of %u (1..%d)", p,
                       idl, PL_EVENT_ID_MAX);
    if (gl == 0 || gl > PL_EVENT_GROUP_MAX)
        return xw_errf(eb, XW_ECORRUPT, "batch record at byte %zu has a group id length of %u (1..%d)", p, gl,
                       PL_EVENT_GROUP_MAX);
    if (pll == 0 || pll > PL_EVENT_MAX_BYTES)
        return xw_errf(eb, XW_ECORRUPT, "batch record at byte %zu has an event length of %u (1..%d)", p, pll,
                       PL_EVENT_MAX_BYTES);
    size_t need = (size_t)idl + gl + pll;
    if (len - p - PL_OUTBOX_REC_HEADER < need)
        return xw_errf(eb, XW_ECORRUPT, "batch record at byte %zu claims %zu bytes but only %zu remain", p,
                       need, len - p - PL_OUTBOX_REC_HEADER);
    rec->kind = (pl_event_kind)kind;
    rec->id = (const char *)h + PL_OUTBOX_REC_HEADER;
    rec->id_len = idl;
    rec->group = rec->id + idl;
    rec->group_len = gl;
    rec->payload = rec->group + gl;
    rec->payload_len = pll;
    if (memchr(rec->id, 0, idl) || memchr(rec->group, 0, gl))
        return xw_errf(eb, XW_ECORRUPT, "batch record at byte %zu has a NUL byte in its event or group id",
                       p);
    *pos = p + PL_OUTBOX_REC_HEADER + need;
    return XW_OK;
}

int pl_outbox_body_check(const uint8_t *body, size_t len, int64_t n, xw_errbuf *eb)
{
    if (n < 1 || n > PL_OUTBOX_BATCH_MAX_EVENTS)
        return xw_errf(eb, XW_ECORRUPT, "batch claims %lld events (1..%d)", (long long)n,
                       PL_OUTBOX_BATCH_MAX_EVENTS);
    if (len > PL_OUTBOX_BATCH_MAX_BYTES)
        return xw_errf(eb, XW_ECORRUPT, "batch body of %zu bytes is over the %u-byte limit", len,
                       PL_OUTBOX_BATCH_MAX_BYTES);
    size_t pos = 0;
    pl_outbox_rec rec;
    for (int64_t i = 0; i < n; i++) {
        int rc = pl_outbox_rec_next(body, len, &pos, &rec, eb);
        if (rc != XW_OK)
            return rc;
    }
    if (pos != len)
        return xw_errf(eb, XW_ECORRUPT, "batch has %zu bytes after its %lld events", len - pos, (long long)n);
    return XW_OK;
}

/* Stored LZ4 bodies: the framing's length (u32 big-endian), then one LZ4 block. */
#define LZ4_HEADER 4

int pl_outbox_body_compress(const uint8_t *body, size_t len, xw_buf *out)
{
    xw_buf_reset(out);
    if (len == 0 || len > PL_OUTBOX_BATCH_MAX_BYTES)
        return PL_OUTBOX_CODEC_NONE;
    int bound = LZ4_compressBound((int)len);
    uint8_t *dst = xw_buf_extend(out, LZ4_HEADER + (size_t)bound);
    if (!dst)
        return PL_OUTBOX_CODEC_NONE; /* no room: stored as it is */
    put_be(dst, (uint32_t)len, 4);
    int cl = LZ4_compress_default((const char *)body, (char *)dst + LZ4_HEADER, (int)len, bound);
    if (cl <= 0 || LZ4_HEADER + (size_t)cl >= len) {
        xw_buf_reset(out);
        return PL_OUTBOX_CODEC_NONE; /* incompressible: stored as it is */
    }
    xw_buf_truncate(out, LZ4_HEADER + (size_t)cl);
    return PL_OUTBOX_CODEC_LZ4;
}

int pl_outbox_body_decode(int codec, const uint8_t *stored, size_t len, xw_buf *raw, const uint8_t **body,
                          size_t *body_len, xw_errbuf *eb)
{
    *body = NULL;
    *body_len = 0;
    if (codec == PL_OUTBOX_CODEC_NONE) {
        *body = stored;
        *body_len = len;
        return XW_OK;
    }
    if (codec != PL_OUTBOX_CODEC_LZ4)
        return xw_errf(
            eb, XW_ECORRUPT,
            "batch body has codec %d, which this version does not know (%d plain, %d LZ4); was the "
            "file written by a newer version?",
            codec, PL_OUTBOX_CODEC_NONE, PL_OUTBOX_CODEC_LZ4);
    if (!stored || len <= LZ4_HEADER)
        return xw_errf(eb, XW_ECORRUPT, "LZ4 batch body of %zu bytes is cut short", len);
    uint32_t rl = get_be(stored, 4);
    if (rl == 0 || rl > PL_OUTBOX_BATCH_MAX_BYTES)
        return xw_errf(eb, XW_ECORRUPT, "LZ4 batch body claims %u bytes of framing (1..%u)", rl,
                       PL_OUTBOX_BATCH_MAX_BYTES);
    if (len - LZ4_HEADER > (size_t)LZ4_compressBound((int)rl))
        return xw_errf(eb, XW_ECORRUPT,
                       "LZ4 batch body of %zu bytes is longer than any compression of %u bytes", len, rl);
    xw_buf_reset(raw);
    uint8_t *dst = xw_buf_extend(raw, rl);
    if (!dst)
        return xw_errf(eb, XW_ENOMEM, "out of memory decompressing a batch body of %u bytes", rl);
    int got =
        LZ4_decompress_safe((const char *)stored + LZ4_HEADER, (char *)dst, (int)(len - LZ4_HEADER), (int)rl);
    if (got != (int)rl) {
        xw_buf_reset(raw);
        return got < 0 ? xw_errf(eb, XW_ECORRUPT, "LZ4 batch body is not a valid LZ4 block")
                       : xw_errf(eb, XW_ECORRUPT,
                                 "LZ4 batch body decompresses to %d bytes, not the %u it claims", got, rl);
    }
    *body = dst;
    *body_len = rl;
    return XW_OK;
}

/* Reads row column `col` (the stored body) with its codec column `ccol`, decodes it into raw
 * if compressed, and checks it holds n events: *body is then the framing. */
static int row_body(sqlite3_stmt *st, int col, int ccol, int64_t n, xw_buf *raw, const uint8_t **body,
                    size_t *len, xw_errbuf *eb)
{
    const uint8_t *stored = sqlite3_column_blob(st, col);
    size_t slen = (size_t)sqlite3_column_bytes(st, col);
    if (!stored)
        return xw_errf(eb, XW_ECORRUPT, "its body is empty");
    sqlite3_int64 codec = sqlite3_column_int64(st, ccol); /* not column_int: no truncation */
    if (codec < 0 || codec > 255)
        return xw_errf(eb, XW_ECORRUPT, "its codec column holds %lld, not a codec", (long long)codec);
    int rc = pl_outbox_body_decode((int)codec, stored, slen, raw, body, len, eb);
    return rc != XW_OK ? rc : pl_outbox_body_check(*body, *len, n, eb);
}

/* Appends one record (header, id, group, payload) to b. */
static int rec_append(xw_buf *b, pl_event_kind kind, const char *id, size_t idl, const char *group, size_t gl,
                      const void *payload, size_t pll)
{
    if (xw_buf_reserve(b, PL_OUTBOX_REC_HEADER + idl + gl + pll) != XW_OK)
        return XW_ETOOBIG;
    uint8_t *h = xw_buf_extend(b, PL_OUTBOX_REC_HEADER);
    if (!h)
        return XW_ETOOBIG;
    h[0] = (uint8_t)kind;
    h[1] = (uint8_t)idl;
    put_be(h + 2, (uint32_t)gl, 2);
    put_be(h + 4, (uint32_t)pll, 4);
    if (xw_buf_append(b, id, idl) != XW_OK || xw_buf_append(b, group, gl) != XW_OK ||
        xw_buf_append(b, payload, pll) != XW_OK)
        return XW_ETOOBIG;
    return XW_OK;
}

/* Appends ev as a record: header, id, group, then the encoding written in place. */
static int rec_encode(xw_buf *b, const pl_event *ev, xw_errbuf *eb)
{
    size_t start = b->len;
    size_t idl = ev->id ? strlen(ev->id) : 0, gl = ev->group_id ? strlen(ev->group_id) : 0;
    if (idl == 0 || idl > PL_EVENT_ID_MAX || gl == 0 || gl > PL_EVENT_GROUP_MAX) {
        /* let the encoder say precisely what is wrong */
        int rc = pl_event_encode(ev, b, eb);
        xw_buf_truncate(b, start);
        return rc != XW_OK ? rc : xw_errf(eb, XW_EINVAL, "event id or group id length out of range");
    }
    uint8_t *h = xw_buf_extend(b, PL_OUTBOX_REC_HEADER);
    if (!h || xw_buf_append(b, ev->id, idl) != XW_OK || xw_buf_append(b, ev->group_id, gl) != XW_OK) {
        xw_buf_truncate(b, start);
        return xw_errf(eb, XW_ETOOBIG, "event %s does not fit in an outbox batch", ev->id);
    }
    size_t at = b->len;
    int rc = pl_event_encode(ev, b, eb);
    if (rc != XW_OK) {
        xw_buf_truncate(b, start);
        return rc;
    }
    h = b->data + start; /* the buffer may have moved */
    h[0] = (uint8_t)ev->kind;
    h[1] = (uint8_t)idl;
    put_be(h + 2, (uint32_t)gl, 2);
    put_be(h + 4, (uint32_t)(b->len - at), 4);
    return XW_OK;
}

/* --- schema, and conversion of older tables ---------------------------------------------------- */

static int table_exists(sqlite3 *db, const char *name, int *yes, xw_errbuf *eb)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_err(eb, db, "looking for the outbox table");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    *yes = src == SQLITE_ROW;
    sqlite3_finalize(st);
    return (src == SQLITE_ROW || src == SQLITE_DONE) ? XW_OK : db_err(eb, db, "looking for the outbox table");
}

/* Converts every row of the old one-event-per-row table pl_outbox into a one-event batch
 * row, in seq order, and drops the old table; inside the caller's savepoint. */
static int migrate_rows(sqlite3 *db, xw_errbuf *eb)
{
    sqlite3_stmt *sel = NULL, *ins = NULL;
    int rc = XW_OK;
    xw_buf body, errs;
    xw_buf_init(&body, PL_OUTBOX_BATCH_MAX_BYTES);
    xw_buf_init(&errs, 1 << 16);
    if (sqlite3_prepare_v2(
            db,
            "SELECT seq, event_id, kind, group_id, payload, created_ns, state, attempts, last_error"
            " FROM pl_outbox ORDER BY seq",
            -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(
            db,
            "INSERT INTO pl_outbox_batch(n, first_id, body, created_ns, state, attempts, errors)"
            " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            -1, &ins, NULL) != SQLITE_OK) {
        rc = db_err(eb, db, "converting the old outbox table");
        goto out;
    }
    int src;
    while ((src = sqlite3_step(sel)) == SQLITE_ROW) {
        long long seq = sqlite3_column_int64(sel, 0);
        const char *id = (const char *)sqlite3_column_text(sel, 1);
        const char *kind = (const char *)sqlite3_column_text(sel, 2);
        const char *group = (const char *)sqlite3_column_text(sel, 3);
        const void *payload = sqlite3_column_blob(sel, 4);
        size_t pll = (size_t)sqlite3_column_bytes(sel, 4);
        pl_event_kind k;
        if (!id || !kind || !group || !payload || pl_event_kind_parse(kind, &k) != XW_OK ||
            !pl_event_id_valid(id) || !*group || strlen(group) > PL_EVENT_GROUP_MAX ||
            pll > PL_EVENT_MAX_BYTES) {
            rc = xw_errf(
                eb, XW_ECORRUPT,
                "row %lld of the old outbox table pl_outbox is damaged (empty or out-of-range column); "
                "nothing was converted: repair or delete that row with sqlite3, then open the outbox "
                "again",
                seq);
            goto out;
        }
        xw_buf_reset(&body);
        xw_buf_reset(&errs);
        if (rec_append(&body, k, id, strlen(id), group, strlen(group), payload, pll) != XW_OK) {
            rc = xw_errf(eb, XW_ETOOBIG, "row %lld of the old outbox table is too large to convert", seq);
            goto out;
        }
        int failed = sqlite3_column_int(sel, 6) != 0;
        if (failed) {
            const char *e = (const char *)sqlite3_column_text(sel, 8);
            size_t el = e ? strlen(e) : 0;
            if (el > 65535)
                el = 65535;
            if (!xw_buf_extend(&errs, 2) || xw_buf_append(&errs, e ? e : "", el) != XW_OK) {
                rc = xw_errf(eb, XW_ENOMEM, "out of memory converting the old outbox table");
                goto out;
            }
            put_be(errs.data, (uint32_t)el, 2);
        }
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(ins, 2, body.data, (int)body.len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, sqlite3_column_int64(sel, 5));
        sqlite3_bind_int(ins, 4, failed);
        sqlite3_bind_int(ins, 5, sqlite3_column_int(sel, 7));
        if (failed)
            sqlite3_bind_blob(ins, 6, errs.data, (int)errs.len, SQLITE_STATIC);
        else
            sqlite3_bind_null(ins, 6);
        int isrc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (isrc != SQLITE_DONE) {
            rc = db_err(eb, db, "converting the old outbox table");
            goto out;
        }
    }
    if (src != SQLITE_DONE) {
        rc = db_err(eb, db, "reading the old outbox table");
        goto out;
    }
    sqlite3_finalize(sel);
    sel = NULL;
    if (sqlite3_exec(db, "DROP TABLE pl_outbox", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(eb, db, "dropping the old outbox table");
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    xw_buf_free(&body);
    xw_buf_free(&errs);
    return rc;
}

static int column_exists(sqlite3 *db, const char *table, const char *column, int *yes, xw_errbuf *eb)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) !=
        SQLITE_OK)
        return db_err(eb, db, "looking at the outbox table's columns");
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    *yes = src == SQLITE_ROW;
    sqlite3_finalize(st);
    return (src == SQLITE_ROW || src == SQLITE_DONE)
               ? XW_OK
               : db_err(eb, db, "looking at the outbox table's columns");
}

/* What the file holds: the first version's table (old), the batch table (batch), and
 * whether that has the codec column that compressed bodies need (codec). */
static int schema_state(sqlite3 *db, int *old, int *batch, int *codec, xw_errbuf *eb)
{
    *codec = 0;
    int rc = table_exists(db, "pl_outbox", old, eb);
    if (rc == XW_OK)
        rc = table_exists(db, "pl_outbox_batch", batch, eb);
    if (rc == XW_OK && *batch)
        rc = column_exists(db, "pl_outbox_batch", "codec", codec, eb);
    return rc;
}

int pl_outbox_schema(sqlite3 *db, xw_errbuf *eb)
{
    int old, batch, codec;
    int rc = schema_state(db, &old, &batch, &codec, eb);
    if (rc != XW_OK)
        return rc;
    if (!old && batch && codec)
        return XW_OK;     /* up to date */
    if (!old && !batch) { /* a new file */
        if (sqlite3_exec(db, outbox_ddl, NULL, NULL, NULL) != SQLITE_OK)
            return db_err(eb, db, "creating the outbox table");
        return XW_OK;
    }
    /* an older file: the first version's table to convert, or a batch table from before
     * compressed bodies (no codec column) to extend; under the write lock when we can take
     * it, looking again once we hold it (another process may have done it meanwhile) */
    int own = sqlite3_get_autocommit(db);
    if (sqlite3_exec(db, own ? "BEGIN IMMEDIATE" : "SAVEPOINT pl_outbox_migrate", NULL, NULL, NULL) !=
        SQLITE_OK)
        return db_err(eb, db, "starting the conversion of an older outbox table");
    if ((rc = schema_state(db, &old, &batch, &codec, eb)) == XW_OK) {
        if (batch && !codec &&
            sqlite3_exec(db, "ALTER TABLE pl_outbox_batch ADD COLUMN codec INTEGER NOT NULL DEFAULT 0", NULL,
                         NULL, NULL) != SQLITE_OK)
            rc = db_err(eb, db, "adding the codec column to the outbox table");
        if (rc == XW_OK && sqlite3_exec(db, outbox_ddl, NULL, NULL, NULL) != SQLITE_OK)
            rc = db_err(eb, db, "creating the outbox table");
        if (rc == XW_OK && old)
            rc = migrate_rows(db, eb);
    }
    if (rc == XW_OK &&
        sqlite3_exec(db, own ? "COMMIT" : "RELEASE pl_outbox_migrate", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(eb, db, "committing the conversion of an older outbox table");
    if (rc != XW_OK) {
        if (own)
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        else
            sqlite3_exec(db, "ROLLBACK TO pl_outbox_migrate; RELEASE pl_outbox_migrate", NULL, NULL, NULL);
        return xw_errctx(eb, rc, "converting an outbox written by an older version");
    }
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
    /* room for a full batch plus one more maximal record (the one that did not fit) */
    xw_buf_init(&w->enc, PL_OUTBOX_BATCH_MAX_BYTES + PL_EVENT_MAX_BYTES + PL_OUTBOX_REC_HEADER + 512);
    xw_buf_init(&w->lz, LZ4_HEADER + (size_t)LZ4_COMPRESSBOUND(PL_OUTBOX_BATCH_MAX_BYTES));
    if ((rc = prepare(
             db,
             "INSERT INTO pl_outbox_batch(n, first_id, body, created_ns, codec) VALUES (?1, ?2, ?3, ?4, ?5)",
             &w->ins, eb)) != XW_OK ||
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
    sqlite3_finalize(w->sp_begin);
    sqlite3_finalize(w->sp_release);
    sqlite3_finalize(w->sp_rollback);
    xw_buf_free(&w->enc);
    xw_buf_free(&w->lz);
    xw_free(w);
}

static int writer_step(pl_outbox_writer *w, sqlite3_stmt *st, const char *what, xw_errbuf *eb)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? XW_OK : db_err(eb, w->db, what);
}

/* Inserts the first len bytes of w->enc as one row of n events starting with ev0, compressed
 * when that saves space. */
static int writer_insert(pl_outbox_writer *w, const pl_event *ev0, size_t n, size_t len, int64_t created_ns,
                         int64_t *seq, xw_errbuf *eb)
{
    sqlite3_stmt *st = w->ins;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
    sqlite3_bind_text(st, 2, ev0->id, -1, SQLITE_STATIC);
    int codec = pl_outbox_body_compress(w->enc.data, len, &w->lz);
    if (codec == PL_OUTBOX_CODEC_NONE)
        sqlite3_bind_blob(st, 3, w->enc.data, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_blob(st, 3, w->lz.data, (int)w->lz.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, created_ns);
    sqlite3_bind_int(st, 5, codec);
    int rc = writer_step(w, st, "inserting events", eb);
    if (rc == XW_OK)
        *seq = sqlite3_last_insert_rowid(w->db);
    return rc;
}

int pl_outbox_writer_add(pl_outbox_writer *w, const pl_event *ev, int64_t created_ns, int64_t *seq_out,
                         xw_errbuf *eb)
{
    xw_buf_reset(&w->enc);
    int rc = rec_encode(&w->enc, ev, eb);
    if (rc != XW_OK)
        return rc;
    int64_t seq;
    rc = writer_insert(w, ev, 1, w->enc.len, created_ns, &seq, eb);
    if (rc == XW_OK && seq_out)
        *seq_out = seq;
    return rc;
}

/* Encodes and inserts evs[0..n) as rows of at most the batch limits. */
static int writer_add_rows(pl_outbox_writer *w, const pl_event *evs, size_t n, int64_t created_ns,
                           int64_t *seqs, xw_errbuf *eb)
{
    size_t first = 0; /* first event of the row being built */
    xw_buf_reset(&w->enc);
    for (size_t i = 0; i < n; i++) {
        size_t before = w->enc.len;
        int rc = rec_encode(&w->enc, &evs[i], eb);
        if (rc != XW_OK)
            return rc;
        int full = i - first == PL_OUTBOX_BATCH_MAX_EVENTS || w->enc.len > PL_OUTBOX_BATCH_MAX_BYTES;
        if (full && i > first) { /* evs[first..i) make a row; evs[i] starts the next */
            int64_t seq;
            if ((rc = writer_insert(w, &evs[first], i - first, before, created_ns, &seq, eb)) != XW_OK)
                return rc;
            for (size_t j = first; seqs && j < i; j++)
                seqs[j] = seq;
            size_t rest = w->enc.len - before;
            memmove(w->enc.data, w->enc.data + before, rest);
            xw_buf_truncate(&w->enc, rest);
            first = i;
        }
    }
    int64_t seq;
    int rc = writer_insert(w, &evs[first], n - first, w->enc.len, created_ns, &seq, eb);
    for (size_t j = first; rc == XW_OK && seqs && j < n; j++)
        seqs[j] = seq;
    return rc;
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
    rc = writer_add_rows(w, evs, n, created_ns, seqs, eb);
    if (rc == XW_OK)
        return writer_step(w, w->sp_release, "releasing a savepoint", eb);
    /* all or nothing: undo the rows already inserted, then end the savepoint */
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
    sqlite3_finalize(ob->get);
    sqlite3_finalize(ob->fail);
    sqlite3_finalize(ob->begin);
    sqlite3_finalize(ob->commit);
    sqlite3_finalize(ob->rollback);
    sqlite3_close(ob->db);
    xw_buf_free(&ob->tmp);
    xw_buf_free(&ob->tmp2);
    xw_buf_free(&ob->raw);
    xw_free(ob);
}

/* An existing file must be there and hold an outbox table (of any layout) before anything
 * is written to it: no file is created, no journal mode changed. */
static int check_existing(const char *path, sqlite3 *db, xw_errbuf *eb)
{
    int old, batch, codec;
    int rc = schema_state(db, &old, &batch, &codec, eb);
    if (rc != XW_OK)
        return rc;
    if (!old && !batch)
        return xw_errf(eb, XW_ENOTFOUND,
                       "%s holds no outbox (no table pl_outbox_batch); is it the worker's database?", path);
    return XW_OK;
}

static int outbox_open(const char *path, int create, pl_outbox **out, xw_errbuf *eb)
{
    *out = NULL;
    struct stat st;
    if (!create && stat(path, &st) != 0 && errno == ENOENT)
        return xw_errf(
            eb, XW_ENOTFOUND,
            "no outbox at %s: the file does not exist; check the path (the worker creates the outbox)", path);
    pl_outbox *ob = xw_calloc(1, sizeof *ob);
    if (!ob)
        return xw_errf(eb, XW_ENOMEM, "out of memory opening the outbox");
    xw_buf_init(&ob->tmp, PL_OUTBOX_BATCH_MAX_BYTES);
    xw_buf_init(&ob->tmp2, (size_t)PL_OUTBOX_BATCH_MAX_EVENTS * 65538);
    xw_buf_init(&ob->raw, PL_OUTBOX_BATCH_MAX_BYTES);
    int rc;
    if (sqlite3_open_v2(path, &ob->db,
                        SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = xw_errf(eb, XW_EIO, "cannot open outbox database %s: %s; check the path and its permissions",
                     path, ob->db ? sqlite3_errmsg(ob->db) : "out of memory");
        goto fail;
    }
    pl_outbox_busy_wait(ob->db);
    if (!create && (rc = check_existing(path, ob->db, eb)) != XW_OK)
        goto fail;
    /* Settings (docs/export.md, "SQLite settings"): 16 KiB pages if this creates the file
     * (fewer WAL frames and system calls per event; no effect on an existing file), WAL with
     * synchronous=NORMAL (commits are atomic; a power cut may undo the last deletes, which
     * only redelivers), secure_delete=OFF for this connection only (Debian's default ON
     * re-zeroes the whole coalesced free block of a page at every delete; the content
     * lives on in the worker's own tables and in the WAL anyway), 256 MiB of mmap reads
     * and a 64 MiB page cache. */
    if (sqlite3_exec(ob->db,
                     "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA secure_delete=OFF; PRAGMA mmap_size=268435456; PRAGMA cache_size=-65536;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(eb, ob->db, "setting WAL mode");
        goto fail;
    }
    if ((rc = pl_outbox_schema(ob->db, eb)) != XW_OK ||
        (rc = prepare(ob->db,
                      "SELECT seq, n, body, attempts, codec FROM pl_outbox_batch"
                      " WHERE seq > ?1 AND state = 0 ORDER BY seq LIMIT ?2",
                      &ob->scan, eb)) != XW_OK ||
        (rc = prepare(ob->db, "DELETE FROM pl_outbox_batch WHERE seq BETWEEN ?1 AND ?2 AND state = 0",
                      &ob->del, eb)) != XW_OK ||
        (rc = prepare(ob->db, "SELECT n, body, codec FROM pl_outbox_batch WHERE seq = ?1 AND state = 0",
                      &ob->get, eb)) != XW_OK ||
        (rc = prepare(ob->db,
                      "UPDATE pl_outbox_batch SET state = 1, n = ?2, first_id = ?3, body = ?4, errors = ?5,"
                      " codec = 0 WHERE seq = ?1",
                      &ob->fail, eb)) != XW_OK ||
        (rc = prepare(ob->db, "BEGIN IMMEDIATE", &ob->begin, eb)) != XW_OK ||
        (rc = prepare(ob->db, "COMMIT", &ob->commit, eb)) != XW_OK ||
        (rc = prepare(ob->db, "ROLLBACK", &ob->rollback, eb)) != XW_OK)
        goto fail;
    *out = ob;
    return XW_OK;
fail:
    if (rc != XW_OK && rc != XW_ENOTFOUND)
        xw_errctx(eb, rc, "opening outbox %s", path);
    pl_outbox_close(ob);
    return rc;
}

int pl_outbox_open(const char *path, pl_outbox **out, xw_errbuf *eb) { return outbox_open(path, 1, out, eb); }

int pl_outbox_open_existing(const char *path, pl_outbox **out, xw_errbuf *eb)
{
    return outbox_open(path, 0, out, eb);
}

sqlite3 *pl_outbox_db(pl_outbox *ob) { return ob->db; }

const char *pl_outbox_path(pl_outbox *ob)
{
    const char *p = sqlite3_db_filename(ob->db, "main");
    return p ? p : "";
}

/* The error for a damaged row: its reason first (the buffer is short, and the reason is what
 * an operator needs most), then what to do. */
static int damaged(xw_errbuf *eb, long long seq, int rc)
{
    if (!eb)
        return rc;
    char why[XW_ERRBUF_SIZE];
    snprintf(why, sizeof why, "%s", eb->msg[0] ? eb->msg : xw_strerror(rc));
    return xw_errf(
        eb, rc,
        "outbox row %lld is damaged (%s); not exported: restore the file from a backup, or give up "
        "its events with: DELETE FROM pl_outbox_batch WHERE seq = %lld",
        seq, why, seq);
}

/* Visits the events of one row's body (already checked). */
static int visit_body(int64_t seq, const uint8_t *body, size_t len, size_t n, int attempts,
                      pl_outbox_row_fn fn, void *ctx, size_t *visited, int *stopped, xw_errbuf *eb)
{
    size_t pos = 0;
    char id[PL_EVENT_ID_MAX + 1], group[PL_EVENT_GROUP_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        pl_outbox_rec rec;
        int rc = pl_outbox_rec_next(body, len, &pos, &rec, eb);
        if (rc != XW_OK)
            return damaged(eb, seq, rc);
        memcpy(id, rec.id, rec.id_len);
        id[rec.id_len] = '\0';
        memcpy(group, rec.group, rec.group_len);
        group[rec.group_len] = '\0';
        pl_outbox_row row = {
            .seq = seq,
            .index = i,
            .count = n,
            .event_id = id,
            .kind = pl_event_kind_name(rec.kind),
            .group_id = group,
            .payload = rec.payload,
            .payload_len = rec.payload_len,
            .attempts = attempts,
        };
        if (fn(ctx, &row) != 0) {
            *stopped = 1;
            return XW_OK;
        }
        if (visited)
            (*visited)++;
    }
    return XW_OK;
}

int pl_outbox_scan(pl_outbox *ob, int64_t after_seq, size_t max, pl_outbox_row_fn fn, void *ctx,
                   size_t *visited, xw_errbuf *eb)
{
    *visited = 0;
    sqlite3_stmt *st = ob->scan;
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(max > INT64_MAX ? INT64_MAX : max));
    int rc = XW_OK, src, stopped = 0;
    while (!stopped && (src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        const uint8_t *body;
        size_t len;
        if ((rc = row_body(st, 2, 4, n, &ob->raw, &body, &len, eb)) != XW_OK) {
            rc = damaged(eb, (long long)seq, rc);
            break;
        }
        rc = visit_body(seq, body, len, (size_t)n, sqlite3_column_int(st, 3), fn, ctx, visited, &stopped, eb);
        if (rc != XW_OK)
            break;
    }
    if (rc == XW_OK && !stopped && src != SQLITE_ROW && src != SQLITE_DONE)
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

/* Rewrites row seq to keep only the events failed[0..k) name (same seq, sorted indexes),
 * marked failed with their reasons. */
static int rewrite_failed(pl_outbox *ob, const pl_outbox_failure *failed, size_t k, xw_errbuf *eb)
{
    int64_t seq = failed[0].seq;
    sqlite3_stmt *st = ob->get;
    sqlite3_bind_int64(st, 1, seq);
    int src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        sqlite3_reset(st);
        /* not pending any more (requeued meanwhile or already settled): nothing to record */
        return src == SQLITE_DONE ? XW_OK : db_err(eb, ob->db, "reading a row to mark failed events");
    }
    int64_t n = sqlite3_column_int64(st, 0);
    const uint8_t *body;
    size_t len;
    int rc = row_body(st, 1, 2, n, &ob->raw, &body, &len, eb);
    if (rc != XW_OK) {
        sqlite3_reset(st);
        return damaged(eb, (long long)seq, rc);
    }
    xw_buf_reset(&ob->tmp);
    xw_buf_reset(&ob->tmp2);
    size_t pos = 0, j = 0, kept = 0;
    char first_id[PL_EVENT_ID_MAX + 1] = "";
    for (int64_t i = 0; i < n && j < k && rc == XW_OK; i++) {
        pl_outbox_rec rec;
        if ((rc = pl_outbox_rec_next(body, len, &pos, &rec, eb)) != XW_OK)
            break;
        if ((size_t)i != failed[j].index)
            continue;
        if (!kept) {
            memcpy(first_id, rec.id, rec.id_len);
            first_id[rec.id_len] = '\0';
        }
        const char *e = failed[j].error ? failed[j].error : "unknown error";
        size_t el = strlen(e) > 65535 ? 65535 : strlen(e);
        size_t at = ob->tmp2.len;
        if (rec_append(&ob->tmp, rec.kind, rec.id, rec.id_len, rec.group, rec.group_len, rec.payload,
                       rec.payload_len) != XW_OK ||
            !xw_buf_extend(&ob->tmp2, 2) || xw_buf_append(&ob->tmp2, e, el) != XW_OK) {
            rc = xw_errf(eb, XW_ENOMEM, "out of memory recording failed events");
            break;
        }
        put_be(ob->tmp2.data + at, (uint32_t)el, 2); /* after the appends: the buffer may move */
        kept++;
        while (j < k && failed[j].index == (size_t)i)
            j++;
    }
    sqlite3_reset(st); /* body points into the row: done with it */
    if (rc != XW_OK)
        return rc;
    if (kept == 0)
        return xw_errf(eb, XW_EINVAL, "failed event index %zu is not in outbox row %lld", failed[0].index,
                       (long long)seq);
    sqlite3_bind_int64(ob->fail, 1, seq);
    sqlite3_bind_int64(ob->fail, 2, (sqlite3_int64)kept);
    sqlite3_bind_text(ob->fail, 3, first_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(ob->fail, 4, ob->tmp.data, (int)ob->tmp.len, SQLITE_STATIC);
    sqlite3_bind_blob(ob->fail, 5, ob->tmp2.data, (int)ob->tmp2.len, SQLITE_STATIC);
    rc = step_done(ob, ob->fail, "marking failed events", eb);
    sqlite3_clear_bindings(ob->fail);
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
    for (size_t i = 0; i < nfailed && rc == XW_OK;) {
        size_t k = 1;
        while (i + k < nfailed && failed[i + k].seq == failed[i].seq)
            k++;
        rc = rewrite_failed(ob, failed + i, k, eb);
        i += k;
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
                           "SELECT coalesce(sum(n) FILTER (WHERE state = 0), 0),"
                           " coalesce(sum(n) FILTER (WHERE state <> 0), 0) FROM pl_outbox_batch",
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

struct failed_ctx {
    int (*fn)(void *ctx, const pl_outbox_row *row, const char *error);
    void *ctx;
    const uint8_t *errs;
    size_t errs_len, errs_pos;
};

/* Pairs each failed event with its reason (the next u16-prefixed text of errors). */
static int failed_visit(void *ctx, const pl_outbox_row *row)
{
    struct failed_ctx *f = ctx;
    char reason[1024] = "unknown error";
    if (f->errs && f->errs_len - f->errs_pos >= 2) {
        size_t el = get_be(f->errs + f->errs_pos, 2);
        if (el <= f->errs_len - f->errs_pos - 2) {
            size_t cl = el < sizeof reason - 1 ? el : sizeof reason - 1;
            memcpy(reason, f->errs + f->errs_pos + 2, cl);
            reason[cl] = '\0';
            f->errs_pos += 2 + el;
        } else {
            f->errs_pos = f->errs_len;
        }
    }
    return f->fn(f->ctx, row, reason);
}

int pl_outbox_scan_failed(pl_outbox *ob, int (*fn)(void *ctx, const pl_outbox_row *row, const char *error),
                          void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            ob->db,
            "SELECT seq, n, body, attempts, errors, codec FROM pl_outbox_batch WHERE state <> 0 ORDER BY seq",
            -1, &st, NULL) != SQLITE_OK)
        return db_err(eb, ob->db, "listing failed events");
    int src, rc = XW_OK, stopped = 0;
    while (!stopped && (src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0), n = sqlite3_column_int64(st, 1);
        const uint8_t *body;
        size_t len;
        if ((rc = row_body(st, 2, 5, n, &ob->raw, &body, &len, eb)) != XW_OK) {
            rc = damaged(eb, (long long)seq, rc);
            break;
        }
        struct failed_ctx f = {fn, ctx, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), 0};
        if ((rc = visit_body(seq, body, len, (size_t)n, sqlite3_column_int(st, 3), failed_visit, &f, NULL,
                             &stopped, eb)) != XW_OK)
            break;
    }
    if (rc == XW_OK && !stopped && src != SQLITE_ROW && src != SQLITE_DONE)
        rc = db_err(eb, ob->db, "listing failed events");
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
    int64_t failed = 0;
    if ((rc = pl_outbox_counts(ob, NULL, &failed, eb)) != XW_OK) {
        step_done(ob, ob->rollback, "rolling back", NULL);
        return rc;
    }
    if (sqlite3_exec(ob->db,
                     "INSERT INTO pl_outbox_batch(n, first_id, body, created_ns, attempts, codec)"
                     " SELECT n, first_id, body, created_ns, attempts + 1, codec FROM pl_outbox_batch"
                     " WHERE state <> 0 ORDER BY seq;"
                     "DELETE FROM pl_outbox_batch WHERE state <> 0;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(eb, ob->db, "requeueing failed events");
        step_done(ob, ob->rollback, "rolling back", NULL);
        return rc;
    }
    if ((rc = step_done(ob, ob->commit, "committing requeued events", eb)) != XW_OK) {
        step_done(ob, ob->rollback, "rolling back", NULL);
        return rc;
    }
    *count = failed;
    return XW_OK;
}
