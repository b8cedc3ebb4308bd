/*
 * SQLite store of the dev node (see store.h). Every statement is prepared once at open;
 * writes run inside the caller's transaction (node_store_begin/commit) so that one RPC is
 * one transaction.
 *
 * Durability: WAL with synchronous=NORMAL. A commit appends to the WAL without fsync, so a
 * crash of the process loses nothing and the database is never corrupted; a power loss or
 * OS crash may lose the transactions since the WAL was last synced. The WAL is synced by the
 * checkpointer below at least once a second while there is anything to checkpoint, which
 * bounds that window to about a second.
 *
 * Checkpoints run on a thread of their own with a second connection (file databases only):
 * the connection that serves requests has autocheckpoint off and never waits for an fsync.
 * The WAL hook wakes the checkpointer after every NODE_CKPT_SOFT WAL pages; a larger WAL
 * also lets a page the random-keyed dedupe index rewrites many times be copied into the
 * database once. The WAL restarts from its beginning only when every frame has been copied,
 * which a writer that always has work keeps the checkpointer from reaching (measured: the
 * benchmark's 4 publishers cycle the WAL up to the limit): at NODE_CKPT_HARD pages the serving
 * connection runs a FULL checkpoint (copying the few frames left, then the WAL starts over),
 * which bounds the WAL's size.
 * journal_size_limit truncates a WAL that grew past 64 MiB once it restarts.
 */
#include "node/store.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/sqlite_err.h"

enum {
    Q_GM_ADD,
    Q_GM_ASC,
    Q_GM_DESC,
    Q_GM_DESC0,
    Q_WM_ADD,
    Q_WM_ASC,
    Q_WM_DESC,
    Q_WM_DESC0,
    Q_KP_PUT,
    Q_KP_GET,
    Q_IN_COUNT,
    Q_IN_ADD,
    Q_IN_LOG,
    Q_AD_ASSOC,
    Q_AD_REVOKE,
    Q_AD_LOOKUP,
    Q_CL_ADD,
    Q_CL_ASC,
    Q_CL_DESC,
    Q_CL_DESC0,
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q__COUNT
};

static const char *const sql_text[Q__COUNT] = {
    [Q_GM_ADD] = "INSERT OR IGNORE INTO group_messages(created_ns, group_id, data, sender_hmac, should_push, "
                 "is_commit, content_hash) VALUES(?,?,?,?,?,?,?)",
    [Q_GM_ASC] =
        "SELECT id, created_ns, group_id, data, sender_hmac, should_push, is_commit FROM group_messages "
        "WHERE group_id = ? AND id > ? ORDER BY id ASC LIMIT ?",
    [Q_GM_DESC] = "SELECT id, created_ns, group_id, data, sender_hmac, should_push, is_commit FROM "
                  "group_messages WHERE group_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
    [Q_GM_DESC0] = "SELECT id, created_ns, group_id, data, sender_hmac, should_push, is_commit FROM "
                   "group_messages WHERE group_id = ? AND ? = 0 ORDER BY id DESC LIMIT ?",
    [Q_WM_ADD] =
        "INSERT OR IGNORE INTO welcome_messages(created_ns, installation_key, data, hpke_public_key, "
        "wrapper_algorithm, welcome_metadata, is_pointer, content_hash) VALUES(?,?,?,?,?,?,?,?)",
    [Q_WM_ASC] = "SELECT id, created_ns, installation_key, data, hpke_public_key, wrapper_algorithm, "
                 "welcome_metadata, is_pointer FROM welcome_messages WHERE installation_key = ? AND id > ? "
                 "ORDER BY id ASC LIMIT ?",
    [Q_WM_DESC] = "SELECT id, created_ns, installation_key, data, hpke_public_key, wrapper_algorithm, "
                  "welcome_metadata, is_pointer FROM welcome_messages WHERE installation_key = ? AND id < ? "
                  "ORDER BY id DESC LIMIT ?",
    [Q_WM_DESC0] = "SELECT id, created_ns, installation_key, data, hpke_public_key, wrapper_algorithm, "
                   "welcome_metadata, is_pointer FROM welcome_messages WHERE installation_key = ? AND ? = 0 "
                   "ORDER BY id DESC LIMIT ?",
    [Q_KP_PUT] =
        "INSERT INTO key_packages(installation_key, key_package, inbox_id, updated_ns) VALUES(?,?,?,?) "
        "ON CONFLICT(installation_key) DO UPDATE SET key_package = excluded.key_package, "
        "inbox_id = excluded.inbox_id, updated_ns = excluded.updated_ns",
    [Q_KP_GET] = "SELECT key_package FROM key_packages WHERE installation_key = ?",
    [Q_IN_COUNT] = "SELECT count(*) FROM inbox_log WHERE inbox_id = ?",
    [Q_IN_ADD] = "INSERT INTO inbox_log(inbox_id, server_timestamp_ns, identity_update) VALUES(?,?,?)",
    [Q_IN_LOG] = "SELECT sequence_id, server_timestamp_ns, identity_update FROM inbox_log WHERE inbox_id = ? "
                 "AND sequence_id > ? ORDER BY sequence_id ASC",
    [Q_AD_ASSOC] = "INSERT INTO address_log(identifier, kind, inbox_id, association_sequence_id, "
                   "revocation_sequence_id) VALUES(?,?,?,?,NULL) ON CONFLICT(identifier, kind, inbox_id) DO "
                   "UPDATE SET association_sequence_id = excluded.association_sequence_id, "
                   "revocation_sequence_id = NULL",
    [Q_AD_REVOKE] = "UPDATE address_log SET revocation_sequence_id = ? WHERE identifier = ? AND kind = ? AND "
                    "inbox_id = ?",
    [Q_AD_LOOKUP] = "SELECT inbox_id FROM address_log WHERE identifier = ? AND kind = ? AND "
                    "revocation_sequence_id IS NULL ORDER BY association_sequence_id DESC LIMIT 1",
    [Q_CL_ADD] = "INSERT INTO commit_log(group_id, entry, sig, sig_pubkey) VALUES(?,?,?,?)",
    [Q_CL_ASC] = "SELECT id, group_id, entry, sig, sig_pubkey FROM commit_log WHERE group_id = ? AND id > ? "
                 "ORDER BY id ASC LIMIT ?",
    [Q_CL_DESC] = "SELECT id, group_id, entry, sig, sig_pubkey FROM commit_log WHERE group_id = ? AND id < ? "
                  "ORDER BY id DESC LIMIT ?",
    [Q_CL_DESC0] = "SELECT id, group_id, entry, sig, sig_pubkey FROM commit_log WHERE group_id = ? AND ? = 0 "
                   "ORDER BY id DESC LIMIT ?",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS group_messages(id INTEGER PRIMARY KEY AUTOINCREMENT, created_ns INTEGER NOT "
    "NULL, group_id BLOB NOT NULL, data BLOB NOT NULL, sender_hmac BLOB, should_push INTEGER NOT NULL, "
    "is_commit INTEGER NOT NULL, content_hash BLOB NOT NULL UNIQUE);"
    "CREATE INDEX IF NOT EXISTS group_messages_by_group ON group_messages(group_id, id);"
    "CREATE TABLE IF NOT EXISTS welcome_messages(id INTEGER PRIMARY KEY AUTOINCREMENT, created_ns INTEGER "
    "NOT "
    "NULL, installation_key BLOB NOT NULL, data BLOB NOT NULL, hpke_public_key BLOB, wrapper_algorithm "
    "INTEGER NOT NULL, welcome_metadata BLOB, is_pointer INTEGER NOT NULL, content_hash BLOB NOT NULL "
    "UNIQUE);"
    "CREATE INDEX IF NOT EXISTS welcome_messages_by_key ON welcome_messages(installation_key, id);"
    "CREATE TABLE IF NOT EXISTS key_packages(installation_key BLOB PRIMARY KEY, key_package BLOB NOT NULL, "
    "inbox_id TEXT, updated_ns INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS inbox_log(sequence_id INTEGER PRIMARY KEY AUTOINCREMENT, inbox_id TEXT NOT "
    "NULL, server_timestamp_ns INTEGER NOT NULL, identity_update BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS inbox_log_by_inbox ON inbox_log(inbox_id, sequence_id);"
    "CREATE TABLE IF NOT EXISTS address_log(identifier TEXT NOT NULL, kind INTEGER NOT NULL, inbox_id TEXT "
    "NOT "
    "NULL, association_sequence_id INTEGER NOT NULL, revocation_sequence_id INTEGER, PRIMARY KEY(identifier, "
    "kind, inbox_id));"
    "CREATE TABLE IF NOT EXISTS commit_log(id INTEGER PRIMARY KEY AUTOINCREMENT, group_id BLOB NOT NULL, "
    "entry "
    "BLOB NOT NULL, sig BLOB, sig_pubkey BLOB);"
    "CREATE INDEX IF NOT EXISTS commit_log_by_group ON commit_log(group_id, id);";

enum {
    NODE_CKPT_SOFT = 8192,  /* WAL pages (32 MiB at 4 KiB) that wake the checkpointer */
    NODE_CKPT_HARD = 65536, /* WAL pages (256 MiB) at which the serving connection checkpoints */
    NODE_CKPT_PERIOD_MS = 1000
};

struct node_store {
    sqlite3 *db;
    sqlite3_stmt *q[Q__COUNT];
    int in_tx;
    /* background checkpointer; ck_db is used by ck_thread only */
    sqlite3 *ck_db;
    pthread_t ck_thread;
    int ck_inited, ck_started;
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    int ck_stop, ck_wanted; /* under ck_mu */
};

static int db_err(node_store *st, xw_errbuf *eb, const char *what)
{
    return xw_errf(eb, xw_sqlite_err(sqlite3_errcode(st->db)), "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static sqlite3_stmt *stmt(node_store *st, int q)
{
    sqlite3_stmt *s = st->q[q];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static void *ck_main(void *arg)
{
    node_store *st = arg;
    pthread_mutex_lock(&st->ck_mu);
    while (!st->ck_stop) {
        if (!st->ck_wanted) {
            struct timespec until;
            xw_deadline_after_ms(&until, NODE_CKPT_PERIOD_MS);
            pthread_cond_timedwait(&st->ck_cv, &st->ck_mu, &until);
            if (st->ck_stop)
                break;
        }
        st->ck_wanted = 0;
        pthread_mutex_unlock(&st->ck_mu);
        /* PASSIVE: copies what it can without blocking the writer; syncs the WAL first */
        sqlite3_wal_checkpoint_v2(st->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&st->ck_mu);
    }
    pthread_mutex_unlock(&st->ck_mu);
    return NULL;
}

static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
    node_store *st = arg;
    if (pages >= NODE_CKPT_HARD) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_FULL, NULL, NULL);
    } else if (pages >= NODE_CKPT_SOFT) {
        pthread_mutex_lock(&st->ck_mu);
        st->ck_wanted = 1;
        pthread_cond_signal(&st->ck_cv);
        pthread_mutex_unlock(&st->ck_mu);
    }
    return SQLITE_OK;
}

/* Starts the checkpointer for a file database; a memory database needs none. */
static int ck_start(node_store *st, const char *path, xw_errbuf *eb)
{
    const char *file = sqlite3_db_filename(st->db, "main");
    if (!file || !*file)
        return XW_OK;
    int bad = pthread_mutex_init(&st->ck_mu, NULL) || xw_cond_init_monotonic(&st->ck_cv);
    if (bad)
        return xw_errf(eb, XW_ENOMEM, "store: cannot create the checkpointer's lock");
    st->ck_inited = 1;
    if (sqlite3_open_v2(file, &st->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(st->ck_db, 5000) != SQLITE_OK)
        return xw_errf(eb, xw_sqlite_err(st->ck_db ? sqlite3_errcode(st->ck_db) : SQLITE_NOMEM),
                       "cannot open the node database '%s' for checkpoints: %s", path,
                       st->ck_db ? sqlite3_errmsg(st->ck_db) : "out of memory");
    if (pthread_create(&st->ck_thread, NULL, ck_main, st) != 0)
        return xw_errf(eb, XW_ENOMEM, "store: cannot start the checkpointer thread");
    st->ck_started = 1;
    sqlite3_wal_autocheckpoint(st->db, 0);
    sqlite3_wal_hook(st->db, on_wal, st);
    return XW_OK;
}

int node_store_open(const char *path, node_store **out, xw_errbuf *eb)
{
    node_store *st = xw_calloc(1, sizeof *st);
    if (!st)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    int rc;
    if ((rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              NULL)) != SQLITE_OK) {
        rc = xw_errf(eb, xw_sqlite_err(rc), "cannot open the node database '%s': %s", path,
                     st->db ? sqlite3_errmsg(st->db) : "out of memory");
        node_store_close(st);
        return rc;
    }
    char *err = NULL;
    if ((rc = sqlite3_exec(
             st->db,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; "
             "PRAGMA cache_size=-16384; PRAGMA busy_timeout=5000; PRAGMA journal_size_limit=67108864;",
             NULL, NULL, &err)) != SQLITE_OK ||
        (rc = sqlite3_exec(st->db, schema, NULL, NULL, &err)) != SQLITE_OK) {
        rc = xw_errf(eb, xw_sqlite_err(rc),
                     "cannot set up the node database '%s': %s (is it a devnode database?)", path,
                     err ? err : "?");
        sqlite3_free(err);
        node_store_close(st);
        return rc;
    }
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i], NULL) !=
            SQLITE_OK) {
            rc = db_err(st, eb, "prepare");
            node_store_close(st);
            return rc;
        }
    }
    if ((rc = ck_start(st, path, eb)) != XW_OK) {
        node_store_close(st);
        return rc;
    }
    *out = st;
    return XW_OK;
}

void node_store_close(node_store *st)
{
    if (!st)
        return;
    if (st->ck_started) {
        pthread_mutex_lock(&st->ck_mu);
        st->ck_stop = 1;
        pthread_cond_signal(&st->ck_cv);
        pthread_mutex_unlock(&st->ck_mu);
        pthread_join(st->ck_thread, NULL);
        sqlite3_wal_hook(st->db, NULL, NULL);
    }
    if (st->ck_inited) {
        pthread_mutex_destroy(&st->ck_mu);
        pthread_cond_destroy(&st->ck_cv);
    }
    sqlite3_close(st->ck_db); /* first: the last connection to close checkpoints the rest */
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    xw_free(st);
}

int node_store_begin(node_store *st, xw_errbuf *eb)
{
    if (sqlite3_step(stmt(st, Q_BEGIN)) != SQLITE_DONE)
        return db_err(st, eb, "begin");
    st->in_tx = 1;
    return XW_OK;
}

int node_store_commit(node_store *st, xw_errbuf *eb)
{
    st->in_tx = 0;
    if (sqlite3_step(stmt(st, Q_COMMIT)) != SQLITE_DONE) {
        int rc = db_err(st, eb, "commit");
        sqlite3_step(stmt(st, Q_ROLLBACK));
        return rc;
    }
    return XW_OK;
}

void node_store_rollback(node_store *st)
{
    if (sqlite3_get_autocommit(st->db))
        return;
    st->in_tx = 0;
    sqlite3_step(stmt(st, Q_ROLLBACK));
}

static void bind_blob(sqlite3_stmt *s, int i, const uint8_t *p, size_t n)
{
    if (p)
        sqlite3_bind_blob64(s, i, p, n, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(s, i, 0);
}

static void content_hash(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t out[32])
{
    /* SHA-256(len(a) as 8 bytes ‖ a ‖ b): the length prefix keeps (a, b) pairs apart */
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)((uint64_t)alen >> (56 - 8 * i));
    /* libsodium's SHA-256: no allocation and no algorithm lookup per call (EVP had both) */
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, lenbuf, 8);
    crypto_hash_sha256_update(&h, a, alen);
    crypto_hash_sha256_update(&h, b, blen);
    crypto_hash_sha256_final(&h, out);
}

int node_store_group_msg_add(node_store *st, node_group_msg *m, xw_errbuf *eb)
{
    uint8_t h[32];
    content_hash(m->group_id, m->group_id_len, m->data, m->data_len, h);
    sqlite3_stmt *s = stmt(st, Q_GM_ADD);
    m->created_ns = (uint64_t)xw_clock_now_ns(xw_clock_real());
    sqlite3_bind_int64(s, 1, (sqlite3_int64)m->created_ns);
    bind_blob(s, 2, m->group_id, m->group_id_len);
    bind_blob(s, 3, m->data, m->data_len);
    bind_blob(s, 4, m->sender_hmac, m->sender_hmac_len);
    sqlite3_bind_int(s, 5, m->should_push != 0);
    sqlite3_bind_int(s, 6, m->is_commit != 0);
    sqlite3_bind_blob(s, 7, h, 32, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_err(st, eb, "insert group message");
    m->id = sqlite3_changes(st->db) ? (uint64_t)sqlite3_last_insert_rowid(st->db) : 0;
    return XW_OK;
}

int node_store_welcome_add(node_store *st, node_welcome *w, xw_errbuf *eb)
{
    uint8_t h[32];
    content_hash(w->installation_key, w->installation_key_len, w->data, w->data_len, h);
    sqlite3_stmt *s = stmt(st, Q_WM_ADD);
    w->created_ns = (uint64_t)xw_clock_now_ns(xw_clock_real());
    sqlite3_bind_int64(s, 1, (sqlite3_int64)w->created_ns);
    bind_blob(s, 2, w->installation_key, w->installation_key_len);
    bind_blob(s, 3, w->data, w->data_len);
    bind_blob(s, 4, w->hpke_public_key, w->hpke_public_key_len);
    sqlite3_bind_int(s, 5, w->wrapper_algorithm);
    bind_blob(s, 6, w->welcome_metadata, w->welcome_metadata_len);
    sqlite3_bind_int(s, 7, w->is_pointer != 0);
    sqlite3_bind_blob(s, 8, h, 32, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_err(st, eb, "insert welcome");
    w->id = sqlite3_changes(st->db) ? (uint64_t)sqlite3_last_insert_rowid(st->db) : 0;
    return XW_OK;
}

static sqlite3_stmt *range_stmt(node_store *st, int q_asc, const uint8_t *key, size_t len, int ascending,
                                uint64_t cursor, uint32_t limit)
{
    int q = ascending ? q_asc : cursor ? q_asc + 1 : q_asc + 2;
    sqlite3_stmt *s = stmt(st, q);
    bind_blob(s, 1, key, len);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)cursor);
    sqlite3_bind_int64(s, 3, limit);
    return s;
}

/* The end of a loop over s's rows: rc is SQLITE_ROW when the callback stopped it early,
 * SQLITE_DONE after the last row, anything else an error. */
static int rows_end(node_store *st, sqlite3_stmt *s, int rc, const char *what, xw_errbuf *eb)
{
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(st, eb, what);
    sqlite3_reset(s);
    return XW_OK;
}

static const uint8_t *col_blob(sqlite3_stmt *s, int i, size_t *len)
{
    const uint8_t *p = sqlite3_column_blob(s, i);
    *len = (size_t)sqlite3_column_bytes(s, i);
    return p;
}

int node_store_group_msgs(node_store *st, const uint8_t *group_id, size_t len, int ascending, uint64_t cursor,
                          uint32_t limit, node_group_msg_fn fn, void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s = range_stmt(st, Q_GM_ASC, group_id, len, ascending, cursor, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        node_group_msg m = {0};
        m.id = (uint64_t)sqlite3_column_int64(s, 0);
        m.created_ns = (uint64_t)sqlite3_column_int64(s, 1);
        m.group_id = col_blob(s, 2, &m.group_id_len);
        m.data = col_blob(s, 3, &m.data_len);
        m.sender_hmac = col_blob(s, 4, &m.sender_hmac_len);
        m.should_push = sqlite3_column_int(s, 5);
        m.is_commit = sqlite3_column_int(s, 6);
        if (fn(ctx, &m))
            break;
    }
    return rows_end(st, s, rc, "query group messages", eb);
}

int node_store_welcomes(node_store *st, const uint8_t *installation_key, size_t len, int ascending,
                        uint64_t cursor, uint32_t limit, node_welcome_fn fn, void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s = range_stmt(st, Q_WM_ASC, installation_key, len, ascending, cursor, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        node_welcome w = {0};
        w.id = (uint64_t)sqlite3_column_int64(s, 0);
        w.created_ns = (uint64_t)sqlite3_column_int64(s, 1);
        w.installation_key = col_blob(s, 2, &w.installation_key_len);
        w.data = col_blob(s, 3, &w.data_len);
        w.hpke_public_key = col_blob(s, 4, &w.hpke_public_key_len);
        w.wrapper_algorithm = sqlite3_column_int(s, 5);
        w.welcome_metadata = col_blob(s, 6, &w.welcome_metadata_len);
        w.is_pointer = sqlite3_column_int(s, 7);
        if (fn(ctx, &w))
            break;
    }
    return rows_end(st, s, rc, "query welcomes", eb);
}

int node_store_kp_put(node_store *st, const uint8_t *installation_key, size_t iklen, const uint8_t *kp,
                      size_t kplen, const char *inbox_id, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_KP_PUT);
    bind_blob(s, 1, installation_key, iklen);
    bind_blob(s, 2, kp, kplen);
    sqlite3_bind_text(s, 3, inbox_id ? inbox_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, xw_clock_now_ns(xw_clock_real()));
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_err(st, eb, "store key package");
    return XW_OK;
}

int node_store_kp_get(node_store *st, const uint8_t *installation_key, size_t iklen,
                      void (*fn)(void *ctx, const uint8_t *kp, size_t len), void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_KP_GET);
    bind_blob(s, 1, installation_key, iklen);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        size_t n;
        const uint8_t *p = col_blob(s, 0, &n);
        fn(ctx, p, n);
    } else if (rc == SQLITE_DONE) {
        fn(ctx, NULL, 0);
    } else {
        return db_err(st, eb, "fetch key package");
    }
    sqlite3_reset(s);
    return XW_OK;
}

int node_store_inbox_count(node_store *st, const char *inbox_id, uint64_t *count, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_IN_COUNT);
    sqlite3_bind_text(s, 1, inbox_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_ROW)
        return db_err(st, eb, "count inbox log");
    *count = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return XW_OK;
}

int node_store_inbox_add(node_store *st, const char *inbox_id, const uint8_t *update, size_t len,
                         uint64_t *sequence_id, uint64_t *server_ts_ns, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_IN_ADD);
    uint64_t now = (uint64_t)xw_clock_now_ns(xw_clock_real());
    sqlite3_bind_text(s, 1, inbox_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
    bind_blob(s, 3, update, len);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_err(st, eb, "append to inbox log");
    *sequence_id = (uint64_t)sqlite3_last_insert_rowid(st->db);
    if (server_ts_ns)
        *server_ts_ns = now;
    return XW_OK;
}

int node_store_inbox_log(node_store *st, const char *inbox_id, uint64_t after, node_inbox_fn fn, void *ctx,
                         xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_IN_LOG);
    sqlite3_bind_text(s, 1, inbox_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t n;
        const uint8_t *p = col_blob(s, 2, &n);
        int r = fn(ctx, (uint64_t)sqlite3_column_int64(s, 0), (uint64_t)sqlite3_column_int64(s, 1), p, n);
        if (r) {
            sqlite3_reset(s);
            return r < 0 ? XW_EINTERNAL : XW_OK;
        }
    }
    return rows_end(st, s, rc, "read inbox log", eb);
}

int node_store_address_associate(node_store *st, const char *identifier, int kind, const char *inbox_id,
                                 uint64_t sequence_id, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_AD_ASSOC);
    sqlite3_bind_text(s, 1, identifier, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_text(s, 3, inbox_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)sequence_id);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_err(st, eb, "update address log");
    return XW_OK;
}

int node_store_address_revoke(node_store *st, const char *identifier, int kind, const char *inbox_id,
                              uint64_t sequence_id, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_AD_REVOKE);
    sqlite3_bind_int64(s, 1, (sqlite3_int64)sequence_id);
    sqlite3_bind_text(s, 2, identifier, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, kind);
    sqlite3_bind_text(s, 4, inbox_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_err(st, eb, "update address log");
    return XW_OK;
}

int node_store_address_lookup(node_store *st, const char *identifier, int kind, char *out, size_t cap,
                              int *found, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_AD_LOOKUP);
    sqlite3_bind_text(s, 1, identifier, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, kind);
    int rc = sqlite3_step(s);
    *found = 0;
    if (rc == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
        *found = 1;
    } else if (rc != SQLITE_DONE) {
        return db_err(st, eb, "look up address");
    }
    sqlite3_reset(s);
    return XW_OK;
}

int node_store_commit_add(node_store *st, node_commit_entry *e, xw_errbuf *eb)
{
    sqlite3_stmt *s = stmt(st, Q_CL_ADD);
    bind_blob(s, 1, e->group_id, e->group_id_len);
    bind_blob(s, 2, e->entry, e->entry_len);
    bind_blob(s, 3, e->sig, e->sig_len);
    bind_blob(s, 4, e->sig_pubkey, e->sig_pubkey_len);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_err(st, eb, "append to commit log");
    e->id = (uint64_t)sqlite3_last_insert_rowid(st->db);
    return XW_OK;
}

int node_store_commits(node_store *st, const uint8_t *group_id, size_t len, int ascending, uint64_t cursor,
                       uint32_t limit, node_commit_fn fn, void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s = range_stmt(st, Q_CL_ASC, group_id, len, ascending, cursor, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        node_commit_entry e = {0};
        e.id = (uint64_t)sqlite3_column_int64(s, 0);
        e.group_id = col_blob(s, 1, &e.group_id_len);
        e.entry = col_blob(s, 2, &e.entry_len);
        e.sig = col_blob(s, 3, &e.sig_len);
        e.sig_pubkey = col_blob(s, 4, &e.sig_pubkey_len);
        if (fn(ctx, &e))
            break;
    }
    return rows_end(st, s, rc, "query commit log", eb);
}

int64_t node_store_group_msg_total(node_store *st)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT max(id) FROM group_messages", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}
