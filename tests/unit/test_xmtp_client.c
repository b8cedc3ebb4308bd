/*
 * Tests for xmtp/client/ (steps 1-3 of the client): the store's schema and migrations, the
 * fake node's query semantics, registration of a new inbox and of a further installation of
 * an existing one (identity updates folded into an association state that names the
 * installation), an interrupted registration that resumes, the 10-installation limit, key
 * packages built byte-for-byte like libxmtp 1.9.1's and their rotation and expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "mls/tree.h"
#include "xmtp/welcome_wrap.h"
#include "tests/unit/xc_peer.h"
#include "xmtp/client/client_int.h"
#include "xmtp/client/store_int.h"
#include "xmtp/inbox.h"

#define T0 INT64_C(1780000000000000000)

typedef struct {
    char dir[64];
    char path[128];
    xw_clock *clock;
    xc_node *node;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/xc-test-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/a.db3", f->dir);
    f->clock = xw_clock_manual_new(T0, 1);
    xw_errbuf eb;
    if (xc_node_fake_new(f->clock, &f->node, &eb) != XW_OK) {
        xw_clock_free(f->clock);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    xc_node_free(f->node);
    xw_clock_free(f->clock);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static xc_client *create(fixture *f, const char *path, const xmtp_wallet *w)
{
    xc_client_opts o = {.db_path = path, .node = f->node, .clock = f->clock};
    xc_client *c = NULL;
    xw_errbuf eb = {{0}};
    int rc = xc_client_create(&o, w, &c, &eb);
    if (rc != XW_OK)
        fail_msg("create: %s: %s", xw_errname(rc), eb.msg);
    return c;
}

static void test_store_schema(void **state)
{
    fixture *f = *state;
    xc_store *st = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_open(f->path, &st, &eb), XW_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(xc_store_db(st), "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), XC_STORE_SCHEMA_VERSION);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(xc_store_db(st), "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    /* no identity yet */
    xc_identity_row row;
    xc_identity_row_init(&row);
    assert_int_equal(xc_store_identity_get(st, &row, &eb), XW_ENOTFOUND);
    /* cursors default to 0 and persist */
    uint64_t cur = 7;
    assert_int_equal(xc_store_cursor_get(st, "welcomes", &cur, &eb), XW_OK);
    assert_int_equal(cur, 0);
    assert_int_equal(xc_store_cursor_set(st, "welcomes", 42, &eb), XW_OK);
    xc_identity_row_free(&row);
    /* a file from a newer program is refused, not touched */
    assert_int_equal(sqlite3_exec(xc_store_db(st), "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    xc_store_close(st);
    assert_int_equal(xc_store_open(f->path, &st, &eb), XW_ECONFIG);
    assert_non_null(strstr(eb.msg, "schema version 99"));
    /* reopening at the current version keeps the data */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(xc_store_open(f->path, &st, &eb), XW_OK);
    assert_int_equal(xc_store_cursor_get(st, "welcomes", &cur, &eb), XW_OK);
    assert_int_equal(cur, 42);
    xc_store_close(st);
    /* a version 1 file (without the columns version 2 added) is migrated, its data kept */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "ALTER TABLE intents DROP COLUMN post_commit; ALTER TABLE intents DROP COLUMN "
                     "cursor; ALTER TABLE group_members DROP COLUMN since_epoch; PRAGMA user_version = 1",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(xc_store_open(f->path, &st, &eb), XW_OK);
    assert_int_equal(xc_store_cursor_get(st, "welcomes", &cur, &eb), XW_OK);
    assert_int_equal(cur, 42);
    assert_int_equal(sqlite3_prepare_v2(xc_store_db(st), "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 2);
    sqlite3_finalize(s);
    assert_int_equal(
        sqlite3_prepare_v2(xc_store_db(st),
                           "SELECT post_commit, cursor FROM intents UNION ALL SELECT since_epoch, 0 "
                           "FROM group_members",
                           -1, &s, NULL),
        SQLITE_OK);
    sqlite3_finalize(s);
    xc_store_close(st);
    /* not a database */
    char junk[160];
    snprintf(junk, sizeof junk, "%s/junk.db3", f->dir);
    FILE *fp = fopen(junk, "w");
    fputs("this is not an SQLite file, just some text long enough to have a header page.......", fp);
    fclose(fp);
    int rc = xc_store_open(junk, &st, &eb);
    assert_true(rc == XW_ECORRUPT || rc == XW_EDB);
}

static void test_fake_node_pages(void **state)
{
    fixture *f = *state;
    xw_errbuf eb = {{0}};
    uint8_t g1[4] = {1, 2, 3, 4}, g2[4] = {9, 9, 9, 9};
    for (int i = 0; i < 250; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof msg, "m%d", i);
        assert_int_equal(xc_node_fake_add_group_message(f->node, i % 2 ? g2 : g1, 4, (const uint8_t *)msg,
                                                        (size_t)n, 0, NULL, &eb),
                         XW_OK);
    }
    /* identical bytes are stored once */
    assert_int_equal(xc_node_fake_add_group_message(f->node, g1, 4, (const uint8_t *)"m0", 2, 0, NULL, &eb),
                     XW_OK);
    assert_int_equal(xc_node_fake_group_message_count(f->node), 250);
    uint64_t cursor = 0;
    size_t total = 0;
    for (;;) {
        xc_page p;
        assert_int_equal(f->node->ops->query_group(f->node->ctx, g1, 4, cursor, XC_PAGE_MAX, &p, &eb), XW_OK);
        for (size_t i = 0; i < p.n; i++) {
            assert_true(p.groups[i].id > cursor);
            cursor = p.groups[i].id;
            assert_memory_equal(p.groups[i].group_id.p, g1, 4);
        }
        total += p.n;
        size_t n = p.n;
        xc_page_free(&p);
        if (n < XC_PAGE_MAX)
            break;
    }
    assert_int_equal(total, 125);
    /* injected failures are retriable and then stop */
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 1);
    xc_page p;
    assert_int_equal(f->node->ops->query_group(f->node->ctx, g1, 4, 0, 10, &p, &eb), XW_EUNAVAILABLE);
    assert_int_equal(f->node->ops->query_group(f->node->ctx, g1, 4, 0, 10, &p, &eb), XW_OK);
    assert_int_equal(p.n, 10);
    xc_page_free(&p);
}

/* The node's log for the inbox, folded. */
static xmtp_assoc_state *node_state(fixture *f, const char *inbox)
{
    xc_idlog log = {0};
    xw_errbuf eb = {{0}};
    assert_int_equal(f->node->ops->get_identity_updates(f->node->ctx, inbox, 0, &log, &eb), XW_OK);
    xmtp_assoc_state *st = NULL;
    assert_int_equal(xmtp_assoc_state_new(inbox, &st, &eb), XW_OK);
    for (size_t i = 0; i < log.n; i++)
        if (xmtp_assoc_state_apply_at(st, log.e[i].sequence_id, log.e[i].update, log.e[i].len, &eb) != XW_OK)
            fail_msg("update %zu: %s", i, eb.msg);
    xc_idlog_free(&log);
    return st;
}

static size_t installations(const xmtp_assoc_state *st)
{
    size_t n = 0;
    for (size_t i = 0; i < xmtp_assoc_state_member_count(st); i++)
        n += xmtp_assoc_state_member_at(st, i)->id.kind == XMTP_MEMBER_INSTALLATION;
    return n;
}

static void test_register_new_inbox(void **state)
{
    fixture *f = *state;
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    xc_client *c = create(f, f->path, w);
    /* inbox id: SHA-256(address || "1"), the SDKs' default nonce */
    uint8_t addr[20];
    char expect[65];
    xmtp_wallet_address(w, addr);
    xmtp_inbox_id_for_address(addr, 1, expect);
    assert_string_equal(xc_client_inbox_id(c), expect);
    /* the node's log creates the inbox and names the installation */
    xmtp_assoc_state *st = node_state(f, expect);
    assert_true(xmtp_assoc_state_has_installation(st, xc_client_installation_id(c)));
    assert_int_equal(installations(st), 1);
    xmtp_assoc_state_free(st);
    /* GetInboxIds finds it by address */
    char text[43], found_inbox[65];
    int found = 0;
    xmtp_address_to_lower(addr, text);
    assert_int_equal(f->node->ops->get_inbox_id(f->node->ctx, text, found_inbox, &found, &eb), XW_OK);
    assert_true(found);
    assert_string_equal(found_inbox, expect);
    uint8_t inst[32];
    memcpy(inst, xc_client_installation_id(c), 32);
    xc_client_free(c);
    /* reopen: same installation, no new update */
    xc_client_opts o = {.db_path = f->path, .node = f->node, .clock = f->clock};
    assert_int_equal(xc_client_open(&o, &c, &eb), XW_OK);
    assert_memory_equal(xc_client_installation_id(c), inst, 32);
    xc_client_free(c);
    c = create(f, f->path, w);
    assert_memory_equal(xc_client_installation_id(c), inst, 32);
    xc_client_free(c);
    st = node_state(f, expect);
    assert_int_equal(xmtp_assoc_state_update_count(st), 1);
    xmtp_assoc_state_free(st);
    /* another wallet on this file is refused */
    xmtp_wallet *w2 = NULL;
    assert_int_equal(xmtp_wallet_generate(&w2, &eb), XW_OK);
    assert_int_equal(xc_client_create(&o, w2, &c, &eb), XW_EDENIED);
    assert_non_null(strstr(eb.msg, "belongs to wallet"));
    /* opening a fresh file is refused with advice */
    char other[160];
    snprintf(other, sizeof other, "%s/none.db3", f->dir);
    o.db_path = other;
    assert_int_equal(xc_client_open(&o, &c, &eb), XW_ENOTFOUND);
    assert_non_null(strstr(eb.msg, "init"));
    xmtp_wallet_free(w);
    xmtp_wallet_free(w2);
}

static void test_more_installations_and_limit(void **state)
{
    fixture *f = *state;
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    char inbox[65] = "";
    for (int i = 0; i < XC_MAX_INSTALLATIONS; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/i%d.db3", f->dir, i);
        xc_client *c = create(f, path, w);
        if (i == 0)
            memcpy(inbox, xc_client_inbox_id(c), 65);
        assert_string_equal(xc_client_inbox_id(c), inbox);
        xc_client_free(c);
    }
    xmtp_assoc_state *st = node_state(f, inbox);
    assert_int_equal(installations(st), XC_MAX_INSTALLATIONS);
    /* one CreateInbox, then only AddAssociations */
    assert_int_equal(xmtp_assoc_state_update_count(st), XC_MAX_INSTALLATIONS);
    xmtp_assoc_state_free(st);
    char path[160];
    snprintf(path, sizeof path, "%s/eleventh.db3", f->dir);
    xc_client_opts o = {.db_path = path, .node = f->node, .clock = f->clock};
    xc_client *c = NULL;
    assert_int_equal(xc_client_create(&o, w, &c, &eb), XW_ELIMIT);
    assert_non_null(strstr(eb.msg, "revoke"));
    xmtp_wallet_free(w);
}

static void test_registration_resumes(void **state)
{
    fixture *f = *state;
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    xc_client_opts o = {.db_path = f->path, .node = f->node, .clock = f->clock};
    xc_client *c = NULL;
    xc_store *st = NULL;
    /* the node is unreachable: a retriable error, nothing published */
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 100);
    assert_int_equal(xc_client_create(&o, w, &c, &eb), XW_EUNAVAILABLE);
    assert_true(xw_err_is_retriable(XW_EUNAVAILABLE));
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 0);
    /* the second attempt completes */
    c = create(f, f->path, w);
    uint8_t inst[32];
    memcpy(inst, xc_client_installation_id(c), 32);
    xmtp_assoc_state *as = node_state(f, xc_client_inbox_id(c));
    assert_true(xmtp_assoc_state_has_installation(as, inst));
    xmtp_assoc_state_free(as);
    xc_client_free(c);
    /* an identity stored but not registered (crash after the store) resumes with its key */
    assert_int_equal(xc_store_open(f->path, &st, &eb), XW_OK);
    assert_int_equal(sqlite3_exec(xc_store_db(st), "UPDATE identity SET registered = 0", NULL, NULL, NULL),
                     SQLITE_OK);
    xc_store_close(st);
    assert_int_equal(xc_client_open(&o, &c, &eb), XW_ESTATE);
    c = create(f, f->path, w);
    assert_memory_equal(xc_client_installation_id(c), inst, 32);
    as = node_state(f, xc_client_inbox_id(c));
    assert_int_equal(installations(as), 1);
    assert_int_equal(xmtp_assoc_state_update_count(as), 1); /* not published twice */
    xmtp_assoc_state_free(as);
    xc_client_free(c);
    xmtp_wallet_free(w);
}

/* The capabilities libxmtp 1.9.1 writes (captured from an uploaded key package). */
static const uint8_t LIBXMTP_CAPS[] = {0x02, 0x00, 0x01, 0x02, 0x00, 0x03, 0x10, 0x00, 0x0a, 0x00,
                                       0x01, 0xff, 0x02, 0xff, 0x00, 0xff, 0x01, 0xff, 0x03, 0xff,
                                       0x04, 0xf0, 0x00, 0x02, 0x00, 0x07, 0x02, 0x00, 0x01};

static void test_key_package_shape(void **state)
{
    fixture *f = *state;
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    xc_client *c = create(f, f->path, w);
    size_t len = 0;
    const uint8_t *raw = xc_node_fake_key_package(f->node, xc_client_installation_id(c), 32, &len);
    assert_non_null(raw);
    mls_key_package *kp = NULL;
    assert_int_equal(mls_key_package_decode(raw, len, &kp, &eb), XW_OK);
    const mls_suite *s = mls_suite_get(XC_SUITE);
    assert_int_equal(
        mls_key_package_validate(s, kp, (uint64_t)(T0 / XW_NS_PER_SEC), (mls_span){NULL, 0}, &eb), XW_OK);
    assert_int_equal(kp->cipher_suite, 3);
    /* credential: Basic{MlsCredential{inbox id}}, signature key = installation id */
    char inbox[65];
    assert_int_equal(xc_inbox_from_credential(kp->leaf->identity.p, kp->leaf->identity.len, inbox, &eb),
                     XW_OK);
    assert_string_equal(inbox, xc_client_inbox_id(c));
    assert_memory_equal(kp->leaf->sig_key.p, xc_client_installation_id(c), 32);
    /* capabilities byte for byte */
    assert_int_equal(kp->leaf->capabilities.len, sizeof LIBXMTP_CAPS);
    assert_memory_equal(kp->leaf->capabilities.p, LIBXMTP_CAPS, sizeof LIBXMTP_CAPS);
    /* lifetime: 84 days + 1 h, starting an hour back */
    assert_int_equal(kp->leaf->not_after - kp->leaf->not_before, 7261200);
    assert_int_equal(kp->leaf->not_before, (uint64_t)(T0 / XW_NS_PER_SEC - 3600));
    /* application_id = opaque<V>(inbox id text): 0x4040 + 64 characters */
    mls_span app;
    assert_true(mls_extensions_find(kp->leaf->extensions, MLS_EXT_APPLICATION_ID, &app));
    assert_int_equal(app.len, 66);
    assert_int_equal(app.p[0], 0x40);
    assert_int_equal(app.p[1], 0x40);
    assert_memory_equal(app.p + 2, xc_client_inbox_id(c), 64);
    /* KeyPackage extensions: last_resort first, then 0xff03 with an X-Wing key; no 0xff04 */
    assert_int_equal(kp->extensions.p[0], 0x00);
    assert_int_equal(kp->extensions.p[1], 0x0a);
    assert_int_equal(kp->extensions.p[2], 0x00);
    mls_span ff03;
    assert_true(mls_extensions_find(kp->extensions, XMTP_WELCOME_EXT_WRAPPER_ENCRYPTION, &ff03));
    xmtp_welcome_key key;
    assert_int_equal(xmtp_welcome_wrapper_ext_decode(ff03.p, ff03.len, &key, &eb), XW_OK);
    assert_int_equal(key.alg, XMTP_WELCOME_XWING);
    assert_int_equal(key.pub_len, 1216);
    assert_false(mls_extensions_find(kp->extensions, XMTP_WELCOME_EXT_POINTEE_AEAD_TYPES, NULL));
    mls_key_package_free(kp);
    xc_client_free(c);
    xmtp_wallet_free(w);
}

static int64_t count(fixture *f, const char *sql)
{
    xc_store *st = NULL;
    xw_errbuf eb;
    assert_int_equal(xc_store_open(f->path, &st, &eb), XW_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(xc_store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    xc_store_close(st);
    return n;
}

static void test_key_package_rotation(void **state)
{
    fixture *f = *state;
    xmtp_wallet *w = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_wallet_generate(&w, &eb), XW_OK);
    xc_client *c = create(f, f->path, w);
    size_t len = 0;
    const uint8_t *kp1 = xc_node_fake_key_package(f->node, xc_client_installation_id(c), 32, &len);
    uint8_t *first = xw_memdup(kp1, len);
    size_t first_len = len;
    xw_clock_manual_advance(f->clock, 10 * XW_NS_PER_SEC);
    assert_int_equal(xc_client_rotate_key_package(c, &eb), XW_OK);
    const uint8_t *kp2 = xc_node_fake_key_package(f->node, xc_client_installation_id(c), 32, &len);
    assert_false(len == first_len && memcmp(kp2, first, len) == 0);
    /* both private keys kept; the old one marked for deletion a day later */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM key_packages"), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM key_packages WHERE delete_after_ns = 0"), 1);
    assert_int_equal(count(f, "SELECT MAX(delete_after_ns) FROM key_packages"),
                     T0 + 10 * XW_NS_PER_SEC + 86400 * XW_NS_PER_SEC);
    /* the old key package can still be found for a late welcome */
    mls_key_package *k = NULL;
    assert_int_equal(mls_key_package_decode(first, first_len, &k, &eb), XW_OK);
    xc_kp_keys keys;
    assert_int_equal(xc_kp_keys_for(c, k->init_key.p, k->init_key.len, XMTP_WELCOME_CURVE25519, &keys, &eb),
                     XW_OK);
    xc_kp_keys_free(&keys);
    /* a day and a bit later, the next rotation purges it */
    xw_clock_manual_advance(f->clock, 86401 * XW_NS_PER_SEC);
    assert_int_equal(xc_client_rotate_key_package(c, &eb), XW_OK);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM key_packages"), 2);
    assert_int_equal(xc_kp_keys_for(c, k->init_key.p, k->init_key.len, XMTP_WELCOME_CURVE25519, &keys, &eb),
                     XW_ENOTFOUND);
    assert_non_null(strstr(eb.msg, "HPKE public key"));
    /* a failed upload leaves the current key package as it was */
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 1);
    assert_int_equal(xc_client_rotate_key_package(c, &eb), XW_EUNAVAILABLE);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM key_packages WHERE uploaded = 1 AND delete_after_ns = 0"),
                     1);
    mls_key_package_free(k);
    xw_free(first);
    xc_client_free(c);
    xmtp_wallet_free(w);
}

/* Regression: a field that was empty ("" decoded by protobuf-c, i.e. protobuf_c_empty_string)
 * keeps old_value "" in the transcript, as libxmtp writes it (the id depends on it). */
static void test_transcript_empty_old_value(void **state)
{
    (void)state;
    const char *name = "description", *old = protobuf_c_empty_string, *nw = "a test group";
    xc_group_updated u = {
        .initiated_by = "a", .field_names = &name, .old_values = &old, .new_values = &nw, .n_fields = 1};
    xw_buf b;
    xw_buf_init(&b, 4096);
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_group_updated_encode(&u, &b, &eb), XW_OK);
    static const uint8_t change[] = {0x0a, 0x0b, 'd', 'e', 's', 'c',  'r', 'i',
                                     'p',  't',  'i', 'o', 'n', 0x12, 0x00};
    assert_non_null(memmem(b.data, b.len, change, sizeof change));
    xw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fake_node_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_new_inbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_installations_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_package_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_package_rotation, setup, teardown),
        cmocka_unit_test(test_transcript_empty_old_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
