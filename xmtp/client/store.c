/*
 * The client store's file, schema and migrations (store.h), and the rows of the
 * installation itself: identity, key packages, cursors. Groups, messages, intents and
 * quarantine live in store_data.c.
 *
 * Migrations: MIGRATIONS[v] brings a file from user_version v to v + 1; each runs in its own
 * transaction together with the user_version bump, so a crash leaves the file at a version
 * it really has. Never edit a shipped migration: add the next one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "xmtp/client/store_int.h"

static const char *const MIGRATIONS[] = {
    /* 0 -> 1 */
    "CREATE TABLE identity(id INTEGER PRIMARY KEY CHECK(id = 1), inbox_id TEXT NOT NULL, address TEXT NOT "
    "NULL,"
    " nonce INTEGER NOT NULL, installation_key BLOB NOT NULL, installation_id BLOB NOT NULL,"
    " registered INTEGER NOT NULL, created_ns INTEGER NOT NULL);"
    "CREATE TABLE key_packages(id INTEGER PRIMARY KEY AUTOINCREMENT, key_package BLOB NOT NULL,"
    " init_pub BLOB NOT NULL, wrap_pub BLOB NOT NULL, secrets BLOB NOT NULL, created_ns INTEGER NOT NULL,"
    " not_after_ns INTEGER NOT NULL, delete_after_ns INTEGER NOT NULL DEFAULT 0,"
    " uploaded INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX key_packages_init ON key_packages(init_pub);"
    "CREATE INDEX key_packages_wrap ON key_packages(wrap_pub);"
    "CREATE TABLE cursors(entity TEXT PRIMARY KEY, cursor INTEGER NOT NULL);"
    "CREATE TABLE groups(id BLOB PRIMARY KEY, created_ns INTEGER NOT NULL, conversation_type INTEGER NOT "
    "NULL,"
    " membership_state INTEGER NOT NULL, consent INTEGER NOT NULL, active INTEGER NOT NULL,"
    " creator_inbox_id TEXT NOT NULL, added_by_inbox_id TEXT NOT NULL, added_by_installation BLOB NOT NULL,"
    " dm_id TEXT NOT NULL, welcome_id INTEGER NOT NULL, cursor INTEGER NOT NULL, epoch INTEGER NOT NULL,"
    " rotated_at_ns INTEGER NOT NULL, last_message_ns INTEGER NOT NULL, state BLOB NOT NULL,"
    " name TEXT NOT NULL, description TEXT NOT NULL, image_url TEXT NOT NULL, admins TEXT NOT NULL,"
    " super_admins TEXT NOT NULL, seq INTEGER NOT NULL);"
    "CREATE TABLE group_members(group_id BLOB NOT NULL, leaf INTEGER NOT NULL, inbox_id TEXT NOT NULL,"
    " installation_id BLOB NOT NULL, PRIMARY KEY(group_id, leaf));"
    "CREATE TABLE group_inboxes(group_id BLOB NOT NULL, inbox_id TEXT NOT NULL, sequence_id INTEGER NOT NULL,"
    " PRIMARY KEY(group_id, inbox_id));"
    "CREATE TABLE messages(id BLOB PRIMARY KEY, group_id BLOB NOT NULL, sender_inbox_id TEXT NOT NULL,"
    " sender_installation_id BLOB NOT NULL, kind INTEGER NOT NULL, content_type TEXT NOT NULL,"
    " encoded BLOB NOT NULL, decoded TEXT, delivery INTEGER NOT NULL, sent_at_ns INTEGER NOT NULL,"
    " inserted_at_ns INTEGER NOT NULL, cursor INTEGER NOT NULL, epoch INTEGER NOT NULL,"
    " seq INTEGER NOT NULL);"
    "CREATE INDEX messages_by_group ON messages(group_id, sent_at_ns, seq);"
    "CREATE TABLE intents(id INTEGER PRIMARY KEY AUTOINCREMENT, group_id BLOB NOT NULL, kind INTEGER NOT "
    "NULL,"
    " state INTEGER NOT NULL, attempts INTEGER NOT NULL, payload BLOB NOT NULL, payload_hash BLOB NOT NULL,"
    " message_id BLOB NOT NULL, created_ns INTEGER NOT NULL, error TEXT NOT NULL);"
    "CREATE INDEX intents_by_hash ON intents(payload_hash);"
    "CREATE INDEX intents_by_group ON intents(group_id, state);"
    "CREATE TABLE quarantine(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, group_id BLOB NOT "
    "NULL,"
    " cursor INTEGER NOT NULL, created_ns INTEGER NOT NULL, error TEXT NOT NULL, reason TEXT NOT NULL,"
    " data BLOB NOT NULL, inserted_at_ns INTEGER NOT NULL);"
    "CREATE TABLE identity_updates(inbox_id TEXT NOT NULL, sequence_id INTEGER NOT NULL,"
    " server_ns INTEGER NOT NULL, update_bytes BLOB NOT NULL, PRIMARY KEY(inbox_id, sequence_id));"
    "CREATE TABLE association_cache(inbox_id TEXT NOT NULL, sequence_id INTEGER NOT NULL, state BLOB NOT "
    "NULL,"
    " update_count INTEGER NOT NULL, PRIMARY KEY(inbox_id, sequence_id));",
    /* 1 -> 2: commit intents (the welcomes to send once the commit is merged, its cursor) */
    "ALTER TABLE intents ADD COLUMN post_commit BLOB NOT NULL DEFAULT x'';"
    "ALTER TABLE intents ADD COLUMN cursor INTEGER NOT NULL DEFAULT 0;"
    /* and the epoch since which each leaf has its member (senders of late messages) */
    "ALTER TABLE group_members ADD COLUMN since_epoch INTEGER NOT NULL DEFAULT 0;",
};
#define N_MIGRATIONS (sizeof MIGRATIONS / sizeof MIGRATIONS[0])

int xc_sql_err(xc_store *st, xw_errbuf *eb, const char *what)
{
    int code = sqlite3_errcode(st->db);
    int err = (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) ? XW_ECORRUPT : XW_EDB;
    return xw_errf(eb, err, "client store: %s: %s (SQLite code %d)", what, sqlite3_errmsg(st->db), code);
}

int xc_sql_prepare(xc_store *st, const char *sql, sqlite3_stmt **out, xw_errbuf *eb)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK) {
        *out = NULL;
        return xc_sql_err(st, eb, "preparing a statement");
    }
    return XW_OK;
}

int xc_sql_exec_stmt(xc_store *st, sqlite3_stmt *s, const char *what, xw_errbuf *eb)
{
    int rc = sqlite3_step(s);
    int out = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? XW_OK : xc_sql_err(st, eb, what);
    sqlite3_finalize(s);
    return out;
}

int xc_sql_col_buf(sqlite3_stmt *s, int col, xw_buf *b)
{
    xw_buf_reset(b);
    const void *p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    if (n <= 0)
        return XW_OK;
    return xw_buf_append(b, p, (size_t)n) == XW_OK ? XW_OK : XW_ECORRUPT;
}

int xc_sql_col_text(sqlite3_stmt *s, int col, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    int len = sqlite3_column_bytes(s, col);
    if (len < 0 || (size_t)len >= n)
        return XW_ECORRUPT;
    if (len)
        memcpy(out, t, (size_t)len);
    out[len] = 0;
    return XW_OK;
}

int xc_sql_col_fixed(sqlite3_stmt *s, int col, uint8_t *out, size_t n, int allow_empty)
{
    const void *p = sqlite3_column_blob(s, col);
    int len = sqlite3_column_bytes(s, col);
    if (len == 0 && allow_empty) {
        memset(out, 0, n);
        return XW_OK;
    }
    if (len < 0 || (size_t)len != n)
        return XW_ECORRUPT;
    memcpy(out, p, n);
    return XW_OK;
}

int xc_sql_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len)
{
    if (len == 0)
        return sqlite3_bind_zeroblob(s, i, 0);
    return sqlite3_bind_blob64(s, i, p, len, SQLITE_TRANSIENT);
}

static int busy_wait(void *arg, int tries)
{
    (void)arg;
    if (tries >= 10000) /* about 10 s */
        return 0;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    return 1;
}

static int exec(xc_store *st, const char *sql, const char *what, xw_errbuf *eb)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return xc_sql_err(st, eb, what);
    return XW_OK;
}

static int user_version(xc_store *st, int *v, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "PRAGMA user_version", &s, eb);
    if (rc != XW_OK)
        return rc;
    if (sqlite3_step(s) != SQLITE_ROW)
        rc = xc_sql_err(st, eb, "reading the schema version");
    else
        *v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return rc;
}

static int migrate(xc_store *st, const char *path, xw_errbuf *eb)
{
    int v = 0;
    int rc = user_version(st, &v, eb);
    if (rc != XW_OK)
        return rc;
    if (v > (int)N_MIGRATIONS)
        return xw_errf(eb, XW_ECONFIG,
                       "client store %s has schema version %d but this program knows %d at most; use a newer "
                       "program or another --db-dir",
                       path, v, (int)N_MIGRATIONS);
    for (; v < (int)N_MIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        rc = exec(st, "BEGIN IMMEDIATE", "starting a migration", eb);
        if (rc == XW_OK)
            rc = exec(st, MIGRATIONS[v], "migrating the schema", eb);
        if (rc == XW_OK)
            rc = exec(st, bump, "recording the schema version", eb);
        if (rc == XW_OK)
            rc = exec(st, "COMMIT", "committing a migration", eb);
        if (rc != XW_OK) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return xw_errctx(eb, rc, "upgrading %s from schema version %d", path, v);
        }
    }
    return XW_OK;
}

int xc_store_open(const char *path, xc_store **out, xw_errbuf *eb)
{
    xc_store *st = xw_calloc(1, sizeof *st);
    if (!st)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    /* The file holds private keys: create it 0600 ourselves (SQLite gives its -wal and -shm
     * files the database file's mode). No umask(): that is process-wide state. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    int orc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              NULL);
    if (orc != SQLITE_OK) {
        int rc = xw_errf(eb, XW_EIO,
                         "cannot open the client store %s: %s; check the directory exists and is writable",
                         path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sqlite3_close(st->db);
        xw_free(st);
        return rc;
    }
    sqlite3_busy_handler(st->db, busy_wait, NULL);
    int rc = exec(st, "PRAGMA journal_mode = WAL", "turning on WAL", eb);
    if (rc == XW_OK)
        rc = exec(st, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", "setting pragmas", eb);
    if (rc == XW_OK)
        rc = migrate(st, path, eb);
    if (rc != XW_OK) {
        xc_store_close(st);
        return rc;
    }
    *out = st;
    return XW_OK;
}

void xc_store_close(xc_store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    xw_free(st);
}

sqlite3 *xc_store_db(xc_store *st) { return st->db; }

int xc_store_begin(xc_store *st, xw_errbuf *eb)
{
    int rc = exec(st, "BEGIN IMMEDIATE", "starting a transaction", eb);
    if (rc == XW_OK)
        st->in_tx = 1;
    return rc;
}

int xc_store_commit(xc_store *st, xw_errbuf *eb)
{
    int rc = exec(st, "COMMIT", "committing", eb);
    if (rc != XW_OK)
        xc_store_rollback(st);
    st->in_tx = 0;
    return rc;
}

void xc_store_rollback(xc_store *st)
{
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_tx = 0;
}

/* --- identity --- */
void xc_identity_row_init(xc_identity_row *r)
{
    memset(r, 0, sizeof *r);
    xw_buf_init(&r->install_key, 4096);
}

void xc_identity_row_free(xc_identity_row *r) { xw_buf_free_secret(&r->install_key); }

int xc_store_identity_get(xc_store *st, xc_identity_row *r, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "SELECT inbox_id, address, nonce, installation_key, installation_id, registered, "
                            "created_ns FROM identity WHERE id = 1",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = xw_errf(eb, XW_ENOTFOUND, "the client store holds no identity yet");
    } else if (step != SQLITE_ROW) {
        rc = xc_sql_err(st, eb, "reading the identity");
    } else {
        rc = xc_sql_col_text(s, 0, r->inbox_id, sizeof r->inbox_id);
        rc |= xc_sql_col_text(s, 1, r->address, sizeof r->address);
        r->nonce = (uint64_t)sqlite3_column_int64(s, 2);
        rc |= xc_sql_col_buf(s, 3, &r->install_key);
        rc |= xc_sql_col_fixed(s, 4, r->installation_id, XC_INSTALLATION_LEN, 0);
        r->registered = sqlite3_column_int(s, 5);
        r->created_ns = sqlite3_column_int64(s, 6);
        if (rc != XW_OK)
            rc = xw_errf(eb, XW_ECORRUPT, "client store: the identity row is damaged");
    }
    sqlite3_finalize(s);
    return rc;
}

int xc_store_identity_put(xc_store *st, const xc_identity_row *r, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "INSERT OR REPLACE INTO identity(id, inbox_id, address, nonce, installation_key, "
                            "installation_id, registered, created_ns) VALUES(1, ?, ?, ?, ?, ?, ?, ?)",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, r->inbox_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, r->address, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)r->nonce);
    xc_sql_bind_blob(s, 4, r->install_key.data, r->install_key.len);
    xc_sql_bind_blob(s, 5, r->installation_id, XC_INSTALLATION_LEN);
    sqlite3_bind_int(s, 6, r->registered);
    sqlite3_bind_int64(s, 7, r->created_ns);
    return xc_sql_exec_stmt(st, s, "writing the identity", eb);
}

/* --- key packages --- */
void xc_kp_row_init(xc_kp_row *r)
{
    memset(r, 0, sizeof *r);
    xw_buf_init(&r->key_package, 1 << 20);
    xw_buf_init(&r->init_pub, 4096);
    xw_buf_init(&r->wrap_pub, 4096);
    xw_buf_init(&r->secrets, 4096);
}

void xc_kp_row_free(xc_kp_row *r)
{
    xw_buf_free(&r->key_package);
    xw_buf_free(&r->init_pub);
    xw_buf_free(&r->wrap_pub);
    xw_buf_free_secret(&r->secrets);
}

int xc_store_kp_insert(xc_store *st, const xc_kp_row *r, int64_t *id, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "INSERT INTO key_packages(key_package, init_pub, wrap_pub, secrets, created_ns, "
                            "not_after_ns, delete_after_ns, uploaded) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, r->key_package.data, r->key_package.len);
    xc_sql_bind_blob(s, 2, r->init_pub.data, r->init_pub.len);
    xc_sql_bind_blob(s, 3, r->wrap_pub.data, r->wrap_pub.len);
    xc_sql_bind_blob(s, 4, r->secrets.data, r->secrets.len);
    sqlite3_bind_int64(s, 5, r->created_ns);
    sqlite3_bind_int64(s, 6, r->not_after_ns);
    sqlite3_bind_int64(s, 7, r->delete_after_ns);
    sqlite3_bind_int(s, 8, r->uploaded);
    rc = xc_sql_exec_stmt(st, s, "storing a key package", eb);
    if (rc == XW_OK && id)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int xc_store_kp_mark_uploaded(xc_store *st, int64_t id, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "UPDATE key_packages SET uploaded = 1 WHERE id = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    return xc_sql_exec_stmt(st, s, "marking a key package uploaded", eb);
}

static int kp_read(xc_store *st, sqlite3_stmt *s, xc_kp_row *r, const char *what, xw_errbuf *eb)
{
    int step = sqlite3_step(s);
    int rc;
    if (step == SQLITE_DONE) {
        rc = xw_errf(eb, XW_ENOTFOUND, "no key package %s", what);
    } else if (step != SQLITE_ROW) {
        rc = xc_sql_err(st, eb, "reading a key package");
    } else {
        r->id = sqlite3_column_int64(s, 0);
        rc = xc_sql_col_buf(s, 1, &r->key_package);
        rc |= xc_sql_col_buf(s, 2, &r->init_pub);
        rc |= xc_sql_col_buf(s, 3, &r->wrap_pub);
        rc |= xc_sql_col_buf(s, 4, &r->secrets);
        r->created_ns = sqlite3_column_int64(s, 5);
        r->not_after_ns = sqlite3_column_int64(s, 6);
        r->delete_after_ns = sqlite3_column_int64(s, 7);
        r->uploaded = sqlite3_column_int(s, 8);
        if (rc != XW_OK)
            rc = xw_errf(eb, XW_ECORRUPT, "client store: key package row %lld is damaged", (long long)r->id);
    }
    sqlite3_finalize(s);
    return rc;
}

#define KP_COLS                                                                                              \
    "id, key_package, init_pub, wrap_pub, secrets, created_ns, not_after_ns, delete_after_ns, uploaded"

int xc_store_kp_find(xc_store *st, const uint8_t *pub, size_t len, xc_kp_row *r, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "SELECT " KP_COLS " FROM key_packages WHERE init_pub = ?1 OR wrap_pub = ?1 "
                            "ORDER BY id DESC LIMIT 1",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, pub, len);
    return kp_read(st, s, r, "matches the welcome's HPKE public key (it was never ours or has expired)", eb);
}

int xc_store_kp_current(xc_store *st, xc_kp_row *r, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st, "SELECT " KP_COLS " FROM key_packages WHERE uploaded = 1 ORDER BY id DESC LIMIT 1", &s, eb);
    if (rc != XW_OK)
        return rc;
    return kp_read(st, s, r, "has been uploaded yet", eb);
}

int xc_store_kp_supersede_before(xc_store *st, int64_t id, int64_t at, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st, "UPDATE key_packages SET delete_after_ns = ? WHERE id < ? AND delete_after_ns = 0", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_int64(s, 2, id);
    return xc_sql_exec_stmt(st, s, "superseding key packages", eb);
}

int xc_store_kp_purge(xc_store *st, int64_t now, int *n, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "DELETE FROM key_packages WHERE delete_after_ns > 0 AND delete_after_ns <= ?",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_int64(s, 1, now);
    rc = xc_sql_exec_stmt(st, s, "deleting expired key packages", eb);
    if (n)
        *n = rc == XW_OK ? sqlite3_changes(st->db) : 0;
    return rc;
}

/* --- cursors --- */
int xc_store_cursor_get(xc_store *st, const char *entity, uint64_t *out, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "SELECT cursor FROM cursors WHERE entity = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, entity, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    else if (step == SQLITE_DONE)
        *out = 0;
    else
        rc = xc_sql_err(st, eb, "reading a cursor");
    sqlite3_finalize(s);
    return rc;
}

int xc_store_cursor_set(xc_store *st, const char *entity, uint64_t v, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "INSERT OR REPLACE INTO cursors(entity, cursor) VALUES(?, ?)", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, entity, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)v);
    return xc_sql_exec_stmt(st, s, "writing a cursor", eb);
}
