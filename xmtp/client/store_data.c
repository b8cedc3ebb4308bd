/*
 * The client store's conversation data (store.h): groups with their MLS state and metadata
 * views, rosters, messages, intents, quarantine, identity logs and the association-state
 * cache. Every function is one or two statements; transactions are the caller's.
 */
#include <string.h>

#include "common/alloc.h"
#include "xmtp/client/store_int.h"

/* --- groups --- */
void xc_group_row_init(xc_group_row *r)
{
    memset(r, 0, sizeof *r);
    xw_buf_init(&r->state, (size_t)64 << 20);
    xw_buf_init(&r->name, 1 << 16);
    xw_buf_init(&r->description, 1 << 16);
    xw_buf_init(&r->image_url, 1 << 16);
    xw_buf_init(&r->admins, 1 << 20);
    xw_buf_init(&r->super_admins, 1 << 20);
}

void xc_group_row_free(xc_group_row *r)
{
    xw_buf_free_secret(&r->state);
    xw_buf_free(&r->name);
    xw_buf_free(&r->description);
    xw_buf_free(&r->image_url);
    xw_buf_free(&r->admins);
    xw_buf_free(&r->super_admins);
}

static void bind_text_buf(sqlite3_stmt *s, int i, const xw_buf *b)
{
    sqlite3_bind_text(s, i, b->data ? (const char *)b->data : "", (int)b->len, SQLITE_TRANSIENT);
}

int xc_store_group_put(xc_store *st, const xc_group_row *r, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st,
        "INSERT INTO groups(id, created_ns, conversation_type, membership_state, consent, active, "
        "creator_inbox_id,"
        " added_by_inbox_id, added_by_installation, dm_id, welcome_id, cursor, epoch, rotated_at_ns,"
        " last_message_ns, state, name, description, image_url, admins, super_admins, seq)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
        "?21,"
        " (SELECT COALESCE(MAX(seq), 0) + 1 FROM groups))"
        " ON CONFLICT(id) DO UPDATE SET created_ns = ?2, conversation_type = ?3, membership_state = ?4,"
        " consent = ?5, active = ?6, creator_inbox_id = ?7, added_by_inbox_id = ?8, added_by_installation = "
        "?9,"
        " dm_id = ?10, welcome_id = ?11, cursor = ?12, epoch = ?13, rotated_at_ns = ?14, last_message_ns = "
        "?15,"
        " state = ?16, name = ?17, description = ?18, image_url = ?19, admins = ?20, super_admins = ?21",
        &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, r->id, r->id_len);
    sqlite3_bind_int64(s, 2, r->created_ns);
    sqlite3_bind_int(s, 3, r->conversation_type);
    sqlite3_bind_int(s, 4, r->membership_state);
    sqlite3_bind_int(s, 5, r->consent);
    sqlite3_bind_int(s, 6, r->active);
    sqlite3_bind_text(s, 7, r->creator_inbox_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 8, r->added_by_inbox_id, -1, SQLITE_TRANSIENT);
    xc_sql_bind_blob(s, 9, r->added_by_installation, XC_INSTALLATION_LEN);
    sqlite3_bind_text(s, 10, r->dm_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)r->welcome_id);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)r->cursor);
    sqlite3_bind_int64(s, 13, (sqlite3_int64)r->epoch);
    sqlite3_bind_int64(s, 14, r->rotated_at_ns);
    sqlite3_bind_int64(s, 15, r->last_message_ns);
    xc_sql_bind_blob(s, 16, r->state.data, r->state.len);
    bind_text_buf(s, 17, &r->name);
    bind_text_buf(s, 18, &r->description);
    bind_text_buf(s, 19, &r->image_url);
    bind_text_buf(s, 20, &r->admins);
    bind_text_buf(s, 21, &r->super_admins);
    return xc_sql_exec_stmt(st, s, "writing a group", eb);
}

#define GROUP_COLS                                                                                           \
    "id, created_ns, conversation_type, membership_state, consent, active, creator_inbox_id,"                \
    " added_by_inbox_id, added_by_installation, dm_id, welcome_id, cursor, epoch, rotated_at_ns,"            \
    " last_message_ns, name, description, image_url, admins, super_admins"

static int group_read(sqlite3_stmt *s, xc_group_row *r)
{
    int n = sqlite3_column_bytes(s, 0);
    if (n <= 0 || n > XC_GROUP_ID_MAX)
        return XW_ECORRUPT;
    memcpy(r->id, sqlite3_column_blob(s, 0), (size_t)n);
    r->id_len = (size_t)n;
    r->created_ns = sqlite3_column_int64(s, 1);
    r->conversation_type = sqlite3_column_int(s, 2);
    r->membership_state = sqlite3_column_int(s, 3);
    r->consent = sqlite3_column_int(s, 4);
    r->active = sqlite3_column_int(s, 5);
    int rc = xc_sql_col_text(s, 6, r->creator_inbox_id, sizeof r->creator_inbox_id);
    rc |= xc_sql_col_text(s, 7, r->added_by_inbox_id, sizeof r->added_by_inbox_id);
    rc |= xc_sql_col_fixed(s, 8, r->added_by_installation, XC_INSTALLATION_LEN, 1);
    rc |= xc_sql_col_text(s, 9, r->dm_id, sizeof r->dm_id);
    r->welcome_id = (uint64_t)sqlite3_column_int64(s, 10);
    r->cursor = (uint64_t)sqlite3_column_int64(s, 11);
    r->epoch = (uint64_t)sqlite3_column_int64(s, 12);
    r->rotated_at_ns = sqlite3_column_int64(s, 13);
    r->last_message_ns = sqlite3_column_int64(s, 14);
    rc |= xc_sql_col_buf(s, 15, &r->name);
    rc |= xc_sql_col_buf(s, 16, &r->description);
    rc |= xc_sql_col_buf(s, 17, &r->image_url);
    rc |= xc_sql_col_buf(s, 18, &r->admins);
    rc |= xc_sql_col_buf(s, 19, &r->super_admins);
    return rc ? XW_ECORRUPT : XW_OK;
}

int xc_store_group_get(xc_store *st, const uint8_t *id, size_t len, xc_group_row *r, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "SELECT " GROUP_COLS ", state FROM groups WHERE id = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, id, len);
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE)
        rc = xw_errf(eb, XW_ENOTFOUND, "no such group in the client store");
    else if (step != SQLITE_ROW)
        rc = xc_sql_err(st, eb, "reading a group");
    else if (group_read(s, r) != XW_OK || xc_sql_col_buf(s, 20, &r->state) != XW_OK)
        rc = xw_errf(eb, XW_ECORRUPT, "client store: a group row is damaged");
    sqlite3_finalize(s);
    return rc;
}

int xc_store_group_exists(xc_store *st, const uint8_t *id, size_t len, int *yes, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "SELECT 1 FROM groups WHERE id = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, id, len);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = xc_sql_err(st, eb, "looking up a group");
    *yes = step == SQLITE_ROW;
    sqlite3_finalize(s);
    return rc;
}

int xc_store_group_set_cursor(xc_store *st, const uint8_t *id, size_t len, uint64_t cursor, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "UPDATE groups SET cursor = ? WHERE id = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)cursor);
    xc_sql_bind_blob(s, 2, id, len);
    return xc_sql_exec_stmt(st, s, "moving a group cursor", eb);
}

int xc_store_group_each(xc_store *st, xc_group_fn fn, void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "SELECT " GROUP_COLS " FROM groups ORDER BY seq", &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_group_row r;
    xc_group_row_init(&r);
    int step;
    while (rc == XW_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (group_read(s, &r) != XW_OK)
            rc = xw_errf(eb, XW_ECORRUPT, "client store: a group row is damaged");
        else
            rc = fn(ctx, &r);
    }
    if (rc == XW_OK && step != SQLITE_DONE)
        rc = xc_sql_err(st, eb, "listing groups");
    xc_group_row_free(&r);
    sqlite3_finalize(s);
    return rc;
}

static int delete_group_rows(xc_store *st, const char *sql, const uint8_t *gid, size_t gid_len, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, sql, &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, gid, gid_len);
    return xc_sql_exec_stmt(st, s, "clearing a roster", eb);
}

int xc_store_members_replace(xc_store *st, const uint8_t *gid, size_t gid_len, const xc_member_row *m,
                             size_t n, const xc_inbox_row *inboxes, size_t n_inboxes, xw_errbuf *eb)
{
    int rc = delete_group_rows(st, "DELETE FROM group_members WHERE group_id = ?", gid, gid_len, eb);
    if (rc == XW_OK)
        rc = delete_group_rows(st, "DELETE FROM group_inboxes WHERE group_id = ?", gid, gid_len, eb);
    sqlite3_stmt *s = NULL;
    if (rc == XW_OK)
        rc = xc_sql_prepare(st,
                            "INSERT INTO group_members(group_id, leaf, inbox_id, installation_id, "
                            "since_epoch) VALUES(?,?,?,?,?)",
                            &s, eb);
    for (size_t i = 0; rc == XW_OK && i < n; i++) {
        sqlite3_reset(s);
        xc_sql_bind_blob(s, 1, gid, gid_len);
        sqlite3_bind_int64(s, 2, m[i].leaf);
        sqlite3_bind_text(s, 3, m[i].inbox_id, -1, SQLITE_TRANSIENT);
        xc_sql_bind_blob(s, 4, m[i].installation_id, XC_INSTALLATION_LEN);
        sqlite3_bind_int64(s, 5, (sqlite3_int64)m[i].since_epoch);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = xc_sql_err(st, eb, "writing a roster");
    }
    sqlite3_finalize(s);
    s = NULL;
    if (rc == XW_OK)
        rc = xc_sql_prepare(st, "INSERT INTO group_inboxes(group_id, inbox_id, sequence_id) VALUES(?,?,?)",
                            &s, eb);
    for (size_t i = 0; rc == XW_OK && i < n_inboxes; i++) {
        sqlite3_reset(s);
        xc_sql_bind_blob(s, 1, gid, gid_len);
        sqlite3_bind_text(s, 2, inboxes[i].inbox_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)inboxes[i].sequence_id);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = xc_sql_err(st, eb, "writing a membership map");
    }
    sqlite3_finalize(s);
    return rc;
}

int xc_store_members_get(xc_store *st, const uint8_t *gid, size_t gid_len, xc_member_row **out, size_t *n,
                         xw_errbuf *eb)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st,
        "SELECT leaf, inbox_id, installation_id, since_epoch FROM group_members WHERE group_id = ? "
        "ORDER BY leaf",
        &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, gid, gid_len);
    int step;
    while (rc == XW_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        xc_member_row *np = xw_realloc(*out, (*n + 1) * sizeof *np);
        if (!np) {
            rc = xw_errf(eb, XW_ENOMEM, "out of memory");
            break;
        }
        *out = np;
        xc_member_row *m = &np[*n];
        m->leaf = (uint32_t)sqlite3_column_int64(s, 0);
        m->since_epoch = (uint64_t)sqlite3_column_int64(s, 3);
        if (xc_sql_col_text(s, 1, m->inbox_id, sizeof m->inbox_id) != XW_OK ||
            xc_sql_col_fixed(s, 2, m->installation_id, XC_INSTALLATION_LEN, 0) != XW_OK)
            rc = xw_errf(eb, XW_ECORRUPT, "client store: a roster row is damaged");
        (*n)++;
    }
    if (rc == XW_OK && step != SQLITE_DONE)
        rc = xc_sql_err(st, eb, "reading a roster");
    sqlite3_finalize(s);
    if (rc != XW_OK) {
        xw_free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* --- messages --- */
/* seq (insertion order) is the new row's rowid: MAX(rowid) is one B-tree lookup, where
 * MAX(seq) scanned the whole table on every insert. Rows are never deleted, so it still
 * only grows. */
int xc_store_message_insert(xc_store *st, const xc_message_row *m, int *inserted, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st,
        "INSERT OR IGNORE INTO messages(id, group_id, sender_inbox_id, sender_installation_id,"
        " kind, content_type, encoded, decoded, delivery, sent_at_ns, inserted_at_ns, cursor,"
        " epoch, seq) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?, (SELECT COALESCE(MAX(rowid), 0) + 1 FROM "
        "messages))",
        &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, m->id, 32);
    xc_sql_bind_blob(s, 2, m->group_id, m->group_id_len);
    sqlite3_bind_text(s, 3, m->sender_inbox_id, -1, SQLITE_TRANSIENT);
    xc_sql_bind_blob(s, 4, m->sender_installation_id, XC_INSTALLATION_LEN);
    sqlite3_bind_int(s, 5, m->kind);
    sqlite3_bind_text(s, 6, m->content_type, -1, SQLITE_TRANSIENT);
    xc_sql_bind_blob(s, 7, m->encoded, m->encoded_len);
    if (m->decoded)
        sqlite3_bind_text(s, 8, m->decoded, (int)m->decoded_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 8);
    sqlite3_bind_int(s, 9, m->delivery);
    sqlite3_bind_int64(s, 10, m->sent_at_ns);
    sqlite3_bind_int64(s, 11, m->inserted_at_ns);
    sqlite3_bind_int64(s, 12, (sqlite3_int64)m->cursor);
    sqlite3_bind_int64(s, 13, (sqlite3_int64)m->epoch);
    rc = xc_sql_exec_stmt(st, s, "storing a message", eb);
    if (inserted)
        *inserted = rc == XW_OK && sqlite3_changes(st->db) > 0;
    return rc;
}

int xc_store_message_set_delivery(xc_store *st, const uint8_t id[32], int delivery, uint64_t cursor,
                                  int64_t sent_at_ns, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc =
        xc_sql_prepare(st,
                       "UPDATE messages SET delivery = ?, cursor = ?, sent_at_ns = CASE WHEN ? > 0 THEN ? "
                       "ELSE sent_at_ns END WHERE id = ?",
                       &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_int(s, 1, delivery);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)cursor);
    sqlite3_bind_int64(s, 3, sent_at_ns);
    sqlite3_bind_int64(s, 4, sent_at_ns);
    xc_sql_bind_blob(s, 5, id, 32);
    return xc_sql_exec_stmt(st, s, "updating a message's delivery", eb);
}

int xc_store_message_each(xc_store *st, const uint8_t *gid, size_t gid_len, size_t limit, xc_message_fn fn,
                          void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "SELECT id, sender_inbox_id, sender_installation_id, kind, content_type, encoded,"
                            " decoded, delivery, sent_at_ns, inserted_at_ns, cursor, epoch FROM messages"
                            " WHERE group_id = ? ORDER BY sent_at_ns, seq LIMIT ?",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, gid, gid_len);
    sqlite3_bind_int64(s, 2, limit ? (sqlite3_int64)limit : -1);
    int step;
    while (rc == XW_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        xc_message_row m;
        memset(&m, 0, sizeof m);
        m.group_id = gid;
        m.group_id_len = gid_len;
        int bad = xc_sql_col_fixed(s, 0, m.id, 32, 0);
        bad |= xc_sql_col_text(s, 1, m.sender_inbox_id, sizeof m.sender_inbox_id);
        bad |= xc_sql_col_fixed(s, 2, m.sender_installation_id, XC_INSTALLATION_LEN, 1);
        m.kind = sqlite3_column_int(s, 3);
        bad |= xc_sql_col_text(s, 4, m.content_type, sizeof m.content_type);
        m.encoded = sqlite3_column_blob(s, 5);
        m.encoded_len = (size_t)sqlite3_column_bytes(s, 5);
        m.decoded = (const char *)sqlite3_column_text(s, 6);
        m.decoded_len = (size_t)sqlite3_column_bytes(s, 6);
        m.delivery = sqlite3_column_int(s, 7);
        m.sent_at_ns = sqlite3_column_int64(s, 8);
        m.inserted_at_ns = sqlite3_column_int64(s, 9);
        m.cursor = (uint64_t)sqlite3_column_int64(s, 10);
        m.epoch = (uint64_t)sqlite3_column_int64(s, 11);
        rc = bad ? xw_errf(eb, XW_ECORRUPT, "client store: a message row is damaged") : fn(ctx, &m);
    }
    if (rc == XW_OK && step != SQLITE_DONE)
        rc = xc_sql_err(st, eb, "listing messages");
    sqlite3_finalize(s);
    return rc;
}

/* --- intents --- */
void xc_intent_row_init(xc_intent_row *r)
{
    memset(r, 0, sizeof *r);
    xw_buf_init(&r->payload, (size_t)64 << 20);
    xw_buf_init(&r->post_commit, (size_t)64 << 20);
}

void xc_intent_row_free(xc_intent_row *r)
{
    xw_buf_free(&r->payload);
    xw_buf_free_secret(&r->post_commit);
}

int xc_store_intent_insert(xc_store *st, const xc_intent_row *r, int64_t *id, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st,
        "INSERT INTO intents(group_id, kind, state, attempts, payload, payload_hash, message_id,"
        " created_ns, error, post_commit, cursor) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, r->group_id, r->group_id_len);
    sqlite3_bind_int(s, 2, r->kind);
    sqlite3_bind_int(s, 3, r->state);
    sqlite3_bind_int(s, 4, r->attempts);
    xc_sql_bind_blob(s, 5, r->payload.data, r->payload.len);
    xc_sql_bind_blob(s, 6, r->payload_hash, 32);
    xc_sql_bind_blob(s, 7, r->message_id, 32);
    sqlite3_bind_int64(s, 8, r->created_ns);
    sqlite3_bind_text(s, 9, r->error, -1, SQLITE_TRANSIENT);
    xc_sql_bind_blob(s, 10, r->post_commit.data, r->post_commit.len);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)r->cursor);
    rc = xc_sql_exec_stmt(st, s, "storing an intent", eb);
    if (rc == XW_OK && id)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int xc_store_intent_set_state(xc_store *st, int64_t id, int state, int attempts, const char *error,
                              xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "UPDATE intents SET state = ?, attempts = ?, error = ? WHERE id = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_int(s, 1, state);
    sqlite3_bind_int(s, 2, attempts);
    sqlite3_bind_text(s, 3, error ? error : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, id);
    return xc_sql_exec_stmt(st, s, "updating an intent", eb);
}

int xc_store_intent_set_committed(xc_store *st, int64_t id, int state, uint64_t cursor, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "UPDATE intents SET state = ?, cursor = ? WHERE id = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_int(s, 1, state);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)cursor);
    sqlite3_bind_int64(s, 3, id);
    return xc_sql_exec_stmt(st, s, "updating an intent", eb);
}

#define INTENT_COLS                                                                                          \
    "id, group_id, kind, state, attempts, payload, payload_hash, message_id, created_ns, error, "            \
    "post_commit,"                                                                                           \
    " cursor"

static int intent_read(sqlite3_stmt *s, xc_intent_row *r)
{
    r->id = sqlite3_column_int64(s, 0);
    int n = sqlite3_column_bytes(s, 1);
    if (n <= 0 || n > XC_GROUP_ID_MAX)
        return XW_ECORRUPT;
    memcpy(r->group_id, sqlite3_column_blob(s, 1), (size_t)n);
    r->group_id_len = (size_t)n;
    r->kind = sqlite3_column_int(s, 2);
    r->state = sqlite3_column_int(s, 3);
    r->attempts = sqlite3_column_int(s, 4);
    int rc = xc_sql_col_buf(s, 5, &r->payload);
    rc |= xc_sql_col_fixed(s, 6, r->payload_hash, 32, 0);
    rc |= xc_sql_col_fixed(s, 7, r->message_id, 32, 0);
    r->created_ns = sqlite3_column_int64(s, 8);
    rc |= xc_sql_col_text(s, 9, r->error, sizeof r->error);
    rc |= xc_sql_col_buf(s, 10, &r->post_commit);
    r->cursor = (uint64_t)sqlite3_column_int64(s, 11);
    return rc ? XW_ECORRUPT : XW_OK;
}

int xc_store_intent_by_hash(xc_store *st, const uint8_t hash[32], xc_intent_row *r, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st, "SELECT " INTENT_COLS " FROM intents WHERE payload_hash = ? ORDER BY id LIMIT 1", &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, hash, 32);
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE)
        rc = XW_ENOTFOUND; /* the common case: not ours; no sentence needed */
    else if (step != SQLITE_ROW)
        rc = xc_sql_err(st, eb, "looking up an intent");
    else if (intent_read(s, r) != XW_OK)
        rc = xw_errf(eb, XW_ECORRUPT, "client store: an intent row is damaged");
    sqlite3_finalize(s);
    return rc;
}

int xc_store_intent_each(xc_store *st, const uint8_t *gid, size_t gid_len, int state, xc_intent_fn fn,
                         void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st, "SELECT " INTENT_COLS " FROM intents WHERE group_id = ? AND state = ? ORDER BY id", &s, eb);
    if (rc != XW_OK)
        return rc;
    xc_sql_bind_blob(s, 1, gid, gid_len);
    sqlite3_bind_int(s, 2, state);
    xc_intent_row r;
    xc_intent_row_init(&r);
    int step;
    while (rc == XW_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
        rc = intent_read(s, &r) != XW_OK ? xw_errf(eb, XW_ECORRUPT, "client store: an intent row is damaged")
                                         : fn(ctx, &r);
    if (rc == XW_OK && step != SQLITE_DONE)
        rc = xc_sql_err(st, eb, "listing intents");
    xc_intent_row_free(&r);
    sqlite3_finalize(s);
    return rc;
}

/* --- quarantine --- */
int xc_store_quarantine_add(xc_store *st, const xc_quarantine_row *q, int64_t now, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "INSERT INTO quarantine(kind, group_id, cursor, created_ns, error, reason, data,"
                            " inserted_at_ns) VALUES(?,?,?,?,?,?,?,?)",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, q->kind, -1, SQLITE_TRANSIENT);
    xc_sql_bind_blob(s, 2, q->group_id, q->group_id_len);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)q->cursor);
    sqlite3_bind_int64(s, 4, q->created_ns);
    sqlite3_bind_text(s, 5, q->error, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, q->reason, -1, SQLITE_TRANSIENT);
    xc_sql_bind_blob(s, 7, q->data, q->len);
    sqlite3_bind_int64(s, 8, now);
    return xc_sql_exec_stmt(st, s, "recording a quarantined envelope", eb);
}

int xc_store_quarantine_count(xc_store *st, const char *kind, int64_t *n, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st, "SELECT COUNT(*) FROM quarantine WHERE ?1 IS NULL OR kind = ?1", &s, eb);
    if (rc != XW_OK)
        return rc;
    if (kind)
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW)
        *n = sqlite3_column_int64(s, 0);
    else
        rc = xc_sql_err(st, eb, "counting quarantined envelopes");
    sqlite3_finalize(s);
    return rc;
}

int xc_store_quarantine_each(xc_store *st, xc_quarantine_fn fn, void *ctx, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "SELECT kind, group_id, cursor, created_ns, error, reason, data FROM quarantine "
                            "ORDER BY id",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    int step;
    while (rc == XW_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        xc_quarantine_row q = {
            .kind = (const char *)sqlite3_column_text(s, 0),
            .group_id = sqlite3_column_blob(s, 1),
            .group_id_len = (size_t)sqlite3_column_bytes(s, 1),
            .cursor = (uint64_t)sqlite3_column_int64(s, 2),
            .created_ns = sqlite3_column_int64(s, 3),
            .error = (const char *)sqlite3_column_text(s, 4),
            .reason = (const char *)sqlite3_column_text(s, 5),
            .data = sqlite3_column_blob(s, 6),
            .len = (size_t)sqlite3_column_bytes(s, 6),
        };
        rc = fn(ctx, &q);
    }
    if (rc == XW_OK && step != SQLITE_DONE)
        rc = xc_sql_err(st, eb, "listing quarantined envelopes");
    sqlite3_finalize(s);
    return rc;
}

/* --- identity logs --- */
int xc_store_idlog_add(xc_store *st, const char *inbox, uint64_t seq, uint64_t server_ns,
                       const uint8_t *update, size_t len, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st,
        "INSERT OR IGNORE INTO identity_updates(inbox_id, sequence_id, server_ns, update_bytes)"
        " VALUES(?,?,?,?)",
        &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, inbox, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)server_ns);
    xc_sql_bind_blob(s, 4, update, len);
    return xc_sql_exec_stmt(st, s, "storing an identity update", eb);
}

int xc_store_idlog_max(xc_store *st, const char *inbox, uint64_t *seq, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(
        st, "SELECT COALESCE(MAX(sequence_id), 0) FROM identity_updates WHERE inbox_id = ?", &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, inbox, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(s, 0);
    else
        rc = xc_sql_err(st, eb, "reading an identity log");
    sqlite3_finalize(s);
    return rc;
}

int xc_store_idlog_each(xc_store *st, const char *inbox, uint64_t up_to, xc_idlog_fn fn, void *ctx,
                        xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "SELECT sequence_id, update_bytes FROM identity_updates WHERE inbox_id = ? AND "
                            "sequence_id <= ? ORDER BY sequence_id",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, inbox, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, up_to > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)up_to);
    int step;
    while (rc == XW_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
        rc = fn(ctx, (uint64_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
                (size_t)sqlite3_column_bytes(s, 1));
    if (rc == XW_OK && step != SQLITE_DONE)
        rc = xc_sql_err(st, eb, "reading an identity log");
    sqlite3_finalize(s);
    return rc;
}

int xc_store_assoc_get(xc_store *st, const char *inbox, uint64_t seq, xw_buf *state, uint64_t *updates,
                       xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc = xc_sql_prepare(st,
                            "SELECT state, update_count FROM association_cache WHERE inbox_id = ? AND "
                            "sequence_id = ?",
                            &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, inbox, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = XW_ENOTFOUND;
    } else if (step != SQLITE_ROW) {
        rc = xc_sql_err(st, eb, "reading the association cache");
    } else {
        *updates = (uint64_t)sqlite3_column_int64(s, 1);
        if (xc_sql_col_buf(s, 0, state) != XW_OK)
            rc = xw_errf(eb, XW_ECORRUPT, "client store: an association cache row is too large");
    }
    sqlite3_finalize(s);
    return rc;
}

int xc_store_assoc_put(xc_store *st, const char *inbox, uint64_t seq, const uint8_t *state, size_t len,
                       uint64_t updates, xw_errbuf *eb)
{
    sqlite3_stmt *s;
    int rc =
        xc_sql_prepare(st,
                       "INSERT OR REPLACE INTO association_cache(inbox_id, sequence_id, state, update_count)"
                       " VALUES(?,?,?,?)",
                       &s, eb);
    if (rc != XW_OK)
        return rc;
    sqlite3_bind_text(s, 1, inbox, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)seq);
    xc_sql_bind_blob(s, 3, state, len);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)updates);
    return xc_sql_exec_stmt(st, s, "writing the association cache", eb);
}
