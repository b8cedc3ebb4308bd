/*
 * Tests for xmtp/client/ steps 4-6: welcomes (join from an X-Wing-wrapped welcome, history
 * from the welcome's cursor, validation against association states, refused welcomes
 * quarantined), group sync (application messages with libxmtp's ids and senders, commits
 * of others with their GroupUpdated transcripts, invalid commits and damaged envelopes
 * quarantined with the group state byte-for-byte unchanged, restart without duplicates) and
 * sending (intent lifecycle, retry after a node failure, echo turning the message
 * published, the peer reading it). The other member is the libxmtp-like peer (xc_peer.h)
 * on the fake node.
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

#include "common/alloc.h"
#include "common/codec.h"
#include "tests/unit/xc_peer.h"
#include "xmtp/client/client_int.h"
#include "xmtp/content.h"
#include "xmtp/message_id.h"

typedef xc_fixture fixture;

static int setup(void **state) { return xc_fixture_setup(state, "sync"); }
static int teardown(void **state) { return xc_fixture_teardown(state); }
static void tick(fixture *f) { xc_fixture_tick(f); }

/* --- reading the bot's store --- */
typedef struct {
    size_t n;
    uint8_t id[64][32];
    char sender[64][65];
    char type[64][64];
    char text[64][128];
    int kind[64], delivery[64];
    uint64_t cursor[64];
    int64_t sent[64];
} msgs;

static int take(void *ctx, const xc_message_row *m)
{
    msgs *l = ctx;
    if (l->n >= 64)
        return XW_OK;
    memcpy(l->id[l->n], m->id, 32);
    snprintf(l->sender[l->n], 65, "%s", m->sender_inbox_id);
    snprintf(l->type[l->n], 64, "%.63s", m->content_type);
    snprintf(l->text[l->n], 128, "%.*s", (int)m->decoded_len, m->decoded ? m->decoded : "");
    l->kind[l->n] = m->kind;
    l->delivery[l->n] = m->delivery;
    l->cursor[l->n] = m->cursor;
    l->sent[l->n] = m->sent_at_ns;
    l->n++;
    return XW_OK;
}

static void messages(fixture *f, msgs *l)
{
    memset(l, 0, sizeof *l);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_message_each(xc_client_store(f->bot), gid, gl, 0, take, l, &eb), XW_OK);
}

static void group_row(fixture *f, xc_group_row *r)
{
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xw_errbuf eb = {{0}};
    xc_group_row_init(r);
    if (xc_store_group_get(xc_client_store(f->bot), gid, gl, r, &eb) != XW_OK)
        fail_msg("group: %s", eb.msg);
}

static int64_t quarantined(fixture *f, const char *kind)
{
    int64_t n = 0;
    xw_errbuf eb;
    assert_int_equal(xc_store_quarantine_count(xc_client_store(f->bot), kind, &n, &eb), XW_OK);
    return n;
}

typedef struct {
    char all[4096];
} reasons;

static int take_reason(void *ctx, const xc_quarantine_row *q)
{
    reasons *r = ctx;
    size_t used = strlen(r->all);
    snprintf(r->all + used, sizeof r->all - used, "%s %s: %s\n", q->kind, q->error, q->reason);
    return XW_OK;
}

/* Every quarantine record as "kind ERROR: reason" lines. */
static const char *quarantine_reasons(fixture *f)
{
    static reasons r;
    r.all[0] = 0;
    xw_errbuf eb;
    assert_int_equal(xc_store_quarantine_each(xc_client_store(f->bot), take_reason, &r, &eb), XW_OK);
    return r.all;
}

static void sync_all(fixture *f)
{
    xw_errbuf eb = {{0}};
    int rc = xc_client_sync_all(f->bot, NULL, &eb);
    if (rc != XW_OK)
        fail_msg("sync: %s: %s", xw_errname(rc), eb.msg);
}

/* Alice makes a group, says something, adds the bot, says two more things. */
static void join(fixture *f, uint8_t ids[2][32])
{
    xc_peer_create_group(f->alice, "g1");
    xc_peer_send_text(f->alice, "before", NULL);
    tick(f);
    xc_peer_add(f->alice, xc_client_inbox_id(f->bot), xc_client_installation_id(f->bot));
    tick(f);
    xc_peer_send_text(f->alice, "hello 1", ids ? ids[0] : NULL);
    tick(f);
    xc_peer_send_text(f->alice, "hello 2", ids ? ids[1] : NULL);
    tick(f);
}

static void test_join_and_read(void **state)
{
    fixture *f = *state;
    uint8_t ids[2][32];
    size_t kp_len = 0;
    const uint8_t *kp = xc_node_fake_key_package(f->node, xc_client_installation_id(f->bot), 32, &kp_len);
    uint8_t *kp_before = xw_memdup(kp, kp_len);
    join(f, ids);
    xc_welcome_stats ws;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_client_sync_welcomes(f->bot, &ws, &eb), XW_OK);
    assert_int_equal(ws.joined, 1);
    assert_int_equal(ws.quarantined, 0);
    /* the group: pending, consent unknown, added by alice, named, current epoch */
    xc_group_row r;
    group_row(f, &r);
    assert_int_equal(r.membership_state, XC_MEMBERSHIP_PENDING);
    assert_int_equal(r.consent, XC_CONSENT_UNKNOWN);
    assert_int_equal(r.conversation_type, XC_CONV_GROUP);
    assert_string_equal(r.added_by_inbox_id, xc_peer_inbox(f->alice));
    assert_string_equal(r.creator_inbox_id, xc_peer_inbox(f->alice));
    assert_memory_equal(r.added_by_installation, xc_peer_installation(f->alice), 32);
    assert_int_equal(r.name.len, 2);
    assert_memory_equal(r.name.data, "g1", 2);
    assert_int_equal(r.epoch, 1);
    assert_true(r.active);
    xc_group_row_free(&r);
    /* messages: our "added" transcript, then alice's two texts with libxmtp's ids */
    msgs l;
    messages(f, &l);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.kind[0], XC_KIND_MEMBERSHIP_CHANGE);
    assert_string_equal(l.type[0], "xmtp.org/group_updated:1.0");
    assert_string_equal(l.sender[0], xc_peer_inbox(f->alice));
    assert_string_equal(l.text[1], "hello 1");
    assert_string_equal(l.text[2], "hello 2");
    assert_memory_equal(l.id[1], ids[0], 32);
    assert_memory_equal(l.id[2], ids[1], 32);
    assert_string_equal(l.sender[1], xc_peer_inbox(f->alice));
    assert_string_equal(l.type[1], "xmtp.org/text:1.0");
    assert_int_equal(l.delivery[1], XC_DELIVERY_PUBLISHED);
    assert_int_equal(quarantined(f, NULL), 0); /* "before" was never fetched */
    /* the key package was rotated after the welcome */
    kp = xc_node_fake_key_package(f->node, xc_client_installation_id(f->bot), 32, &kp_len);
    assert_false(memcmp(kp, kp_before, kp_len) == 0);
    xw_free(kp_before);
    /* a second sync finds nothing new */
    xc_sync_stats st = {0};
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    assert_int_equal(xc_group_sync(f->bot, gid, gl, &st, &eb), XW_OK);
    assert_int_equal(st.envelopes, 0);
    assert_int_equal(xc_client_sync_welcomes(f->bot, &ws, &eb), XW_OK);
    assert_int_equal(ws.welcomes, 0);
}

static void test_commits_of_others(void **state)
{
    fixture *f = *state;
    join(f, NULL);
    sync_all(f);
    /* alice renames the group and adds bob */
    xc_peer *bob = xc_peer_new(f->node, f->clock);
    xc_peer_set_name(f->alice, "renamed");
    tick(f);
    xc_peer_add(f->alice, xc_peer_inbox(bob), xc_peer_installation(bob));
    tick(f);
    xc_peer_send_text(f->alice, "after", NULL);
    sync_all(f);
    xc_group_row r;
    group_row(f, &r);
    assert_int_equal(r.epoch, 3);
    assert_memory_equal(r.name.data, "renamed", 7);
    xc_group_row_free(&r);
    msgs l;
    messages(f, &l);
    assert_int_equal(l.n, 6);
    /* the rename transcript: GroupUpdated{initiated_by alice, group_name g1 -> renamed} */
    assert_int_equal(l.kind[3], XC_KIND_MEMBERSHIP_CHANGE);
    assert_int_equal(l.kind[4], XC_KIND_MEMBERSHIP_CHANGE);
    assert_string_equal(l.text[5], "after");
    xw_errbuf eb = {{0}};
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xc_member_row *m = NULL;
    size_t n = 0;
    assert_int_equal(xc_store_members_get(xc_client_store(f->bot), gid, gl, &m, &n, &eb), XW_OK);
    assert_int_equal(n, 3);
    int has_bob = 0;
    for (size_t i = 0; i < n; i++)
        has_bob |= strcmp(m[i].inbox_id, xc_peer_inbox(bob)) == 0;
    assert_true(has_bob);
    xw_free(m);
    assert_int_equal(quarantined(f, NULL), 0);
    xc_peer_free(bob);
}

/* The group's stored MLS state. */
static void state_of(fixture *f, xw_buf *out)
{
    xc_group_row r;
    group_row(f, &r);
    xw_buf_init(out, r.state.len + 1);
    assert_int_equal(xw_buf_append(out, r.state.data, r.state.len), XW_OK);
    xc_group_row_free(&r);
}

static void test_bad_envelopes_quarantined(void **state)
{
    fixture *f = *state;
    join(f, NULL);
    sync_all(f);
    xw_buf before;
    state_of(f, &before);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xw_errbuf eb = {{0}};
    /* 1: not an MLSMessage; 2: an application message with a damaged tag; 3: another group's */
    assert_int_equal(
        xc_node_fake_add_group_message(f->node, gid, gl, (const uint8_t *)"garbage", 7, 0, NULL, &eb), XW_OK);
    uint8_t *m = NULL;
    size_t mlen = 0;
    xc_peer_encrypt(f->alice, (const uint8_t *)"x", 1, &m, &mlen);
    m[mlen - 3] ^= 0x40;
    assert_int_equal(xc_node_fake_add_group_message(f->node, gid, gl, m, mlen, 0, NULL, &eb), XW_OK);
    xw_free(m);
    xc_peer *carol = xc_peer_new(f->node, f->clock);
    xc_peer_create_group(carol, "other");
    xc_peer_encrypt(carol, (const uint8_t *)"y", 1, &m, &mlen);
    assert_int_equal(xc_node_fake_add_group_message(f->node, gid, gl, m, mlen, 0, NULL, &eb), XW_OK);
    xw_free(m);
    /* a valid PrivateMessage whose plaintext is not a PlaintextEnvelope */
    xc_peer_encrypt(f->alice, (const uint8_t *)"\xff\xff", 2, &m, &mlen);
    assert_int_equal(xc_node_fake_add_group_message(f->node, gid, gl, m, mlen, 0, NULL, &eb), XW_OK);
    xw_free(m);
    xc_sync_stats st = {0};
    assert_int_equal(xc_group_sync(f->bot, gid, gl, &st, &eb), XW_OK);
    assert_int_equal(st.quarantined, 4);
    assert_int_equal(quarantined(f, "group_message"), 4);
    const char *why = quarantine_reasons(f);
    print_message("%s", why);
    assert_non_null(strstr(why, "not an MLSMessage"));
    assert_non_null(strstr(why, "XW_EDECRYPT"));
    assert_non_null(strstr(why, "another group"));
    assert_non_null(strstr(why, "PlaintextEnvelope"));
    xw_buf after;
    state_of(f, &after);
    /* the three refused before decryption leave the state as it was; the fourth consumed a
     * ratchet key that the restore gave back: byte for byte the same */
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);
    xw_buf_free(&before);
    xw_buf_free(&after);
    /* the cursor moved on and alice's next message still reads */
    xc_peer_send_text(f->alice, "still here", NULL);
    sync_all(f);
    msgs l;
    messages(f, &l);
    assert_string_equal(l.text[l.n - 1], "still here");
    xc_peer_free(carol);
}

static void test_invalid_commit_quarantined(void **state)
{
    fixture *f = *state;
    join(f, NULL);
    sync_all(f);
    xw_buf before;
    state_of(f, &before);
    /* alice adds dave's installation but records him at a sequence id that is not his:
     * the expected installations cannot be computed, the commit is refused */
    xc_peer *dave = xc_peer_new(f->node, f->clock);
    xc_peer_add_at(f->alice, xc_peer_inbox(dave), xc_peer_installation(dave), 1);
    sync_all(f);
    assert_int_equal(quarantined(f, "group_message"), 1);
    const char *why = quarantine_reasons(f);
    print_message("%s", why);
    assert_non_null(strstr(why, "XW_EXMTP_SEQUENCE"));
    xw_buf after;
    state_of(f, &after);
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);
    xc_group_row r;
    group_row(f, &r);
    assert_int_equal(r.epoch, 1);
    xc_group_row_free(&r);
    xw_buf_free(&before);
    xw_buf_free(&after);
    xc_peer_free(dave);
}

static void test_permission_policies(void **state)
{
    fixture *f = *state;
    join(f, NULL);
    sync_all(f);
    const char *alice = xc_peer_inbox(f->alice), *bot = xc_client_inbox_id(f->bot);
    const char *keys[2] = {"group_name", "message_disappear_in_ns"}, *vals[2] = {"g1", "1000"};
    /* 1. alice, the only super admin, demotes herself: one must remain; refused */
    xc_peer_set_mutable(f->alice, keys, vals, 1, NULL, 0, NULL, 0);
    sync_all(f);
    assert_int_equal(quarantined(f, "group_message"), 1);
    assert_non_null(strstr(quarantine_reasons(f), "one must remain"));
    xc_peer_free(f->alice); /* alice's own view moved on: a fresh group for the next steps */
    f->alice = xc_peer_new(f->node, f->clock);
    join(f, NULL);
    sync_all(f);
    alice = xc_peer_inbox(f->alice);
    /* 2. alice makes the bot a super admin, then steps down: both allowed */
    const char *both[2] = {alice, bot};
    xc_peer_set_mutable(f->alice, keys, vals, 1, NULL, 0, both, 2);
    xc_peer_set_mutable(f->alice, keys, vals, 1, NULL, 0, &bot, 1);
    sync_all(f);
    xc_group_row r;
    group_row(f, &r);
    assert_int_equal(r.super_admins.len, 64);
    assert_memory_equal(r.super_admins.data, bot, 64);
    xc_group_row_free(&r);
    int64_t before = quarantined(f, "group_message");
    /* 3. alice, now a plain member, sets an admin-only field: refused */
    xc_peer_set_mutable(f->alice, keys, vals, 2, NULL, 0, &bot, 1);
    sync_all(f);
    assert_int_equal(quarantined(f, "group_message"), before + 1);
    assert_non_null(strstr(quarantine_reasons(f), "not allowed to change message_disappear_in_ns"));
    group_row(f, &r);
    assert_int_equal(r.epoch, 3);
    xc_group_row_free(&r);
}

static void test_invalid_welcome_quarantined(void **state)
{
    fixture *f = *state;
    size_t kp_len = 0;
    const uint8_t *kp = xc_node_fake_key_package(f->node, xc_client_installation_id(f->bot), 32, &kp_len);
    uint8_t *kp_before = xw_memdup(kp, kp_len);
    xc_peer_create_group(f->alice, "g1");
    /* the bot recorded at a sequence id that names none of its updates */
    xc_peer_add_at(f->alice, xc_client_inbox_id(f->bot), xc_client_installation_id(f->bot), 999999);
    xc_welcome_stats ws;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_client_sync_welcomes(f->bot, &ws, &eb), XW_OK);
    assert_int_equal(ws.joined, 0);
    assert_int_equal(ws.quarantined, 1);
    assert_int_equal(quarantined(f, "welcome"), 1);
    const char *why = quarantine_reasons(f);
    print_message("%s", why);
    assert_non_null(strstr(why, "sequence id 999999"));
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    int exists = 1;
    assert_int_equal(xc_store_group_exists(xc_client_store(f->bot), gid, gl, &exists, &eb), XW_OK);
    assert_false(exists);
    /* no rotation for a refused welcome; the cursor moved past it */
    kp = xc_node_fake_key_package(f->node, xc_client_installation_id(f->bot), 32, &kp_len);
    assert_memory_equal(kp, kp_before, kp_len);
    assert_int_equal(xc_client_sync_welcomes(f->bot, &ws, &eb), XW_OK);
    assert_int_equal(ws.welcomes, 0);
    xw_free(kp_before);
}

static void test_send_text(void **state)
{
    fixture *f = *state;
    join(f, NULL);
    sync_all(f);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    uint8_t id[32];
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_group_send_text(f->bot, gid, gl, "hi from the bot", id, &eb), XW_OK);
    msgs l;
    messages(f, &l);
    assert_memory_equal(l.id[l.n - 1], id, 32);
    assert_int_equal(l.delivery[l.n - 1], XC_DELIVERY_UNPUBLISHED);
    assert_string_equal(l.sender[l.n - 1], xc_client_inbox_id(f->bot));
    /* alice reads it */
    assert_string_equal(xc_peer_sync(f->alice), "hi from the bot");
    /* the echo makes it published, at the node's cursor, without a duplicate */
    sync_all(f);
    messages(f, &l);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.delivery[3], XC_DELIVERY_PUBLISHED);
    assert_true(l.cursor[3] > 0);
    /* a node outage: the message stays queued with its id and goes out on the next sync */
    tick(f);
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 1);
    assert_int_equal(xc_group_send_text(f->bot, gid, gl, "second", id, &eb), XW_EUNAVAILABLE);
    messages(f, &l);
    assert_memory_equal(l.id[l.n - 1], id, 32);
    assert_int_equal(l.delivery[l.n - 1], XC_DELIVERY_UNPUBLISHED);
    assert_string_equal(xc_peer_sync(f->alice), "");
    int64_t sent_at = l.sent[l.n - 1];
    tick(f);
    sync_all(f); /* publishes */
    assert_string_equal(xc_peer_sync(f->alice), "second");
    sync_all(f); /* sees the echo */
    messages(f, &l);
    assert_int_equal(l.delivery[l.n - 1], XC_DELIVERY_PUBLISHED);
    /* re-dated to the node's time, as libxmtp does */
    assert_int_equal(l.sent[l.n - 1], sent_at + XW_NS_PER_SEC);
    /* alice answers, the bot reads */
    xc_peer_send_text(f->alice, "thanks", NULL);
    sync_all(f);
    messages(f, &l);
    assert_string_equal(l.text[l.n - 1], "thanks");
}

static void test_removed_group_inactive(void **state)
{
    fixture *f = *state;
    join(f, NULL);
    sync_all(f);
    xc_peer_remove(f->alice, xc_client_inbox_id(f->bot));
    tick(f);
    xc_peer_send_text(f->alice, "after the bot left", NULL);
    sync_all(f);
    xc_group_row r;
    group_row(f, &r);
    assert_false(r.active);
    assert_int_equal(r.epoch, 2);
    xc_group_row_free(&r);
    /* the removal is a transcript; nothing after it was read or quarantined */
    msgs l;
    messages(f, &l);
    assert_int_equal(l.kind[l.n - 1], XC_KIND_MEMBERSHIP_CHANGE);
    assert_int_equal(quarantined(f, NULL), 0);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    uint8_t id[32];
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_group_send_text(f->bot, gid, gl, "no", id, &eb), XW_ESTATE);
    assert_non_null(strstr(eb.msg, "no longer a member"));
    size_t before = xc_node_fake_group_message_count(f->node);
    sync_all(f);
    assert_int_equal(xc_node_fake_group_message_count(f->node), before);
}

static void test_restart_no_duplicates(void **state)
{
    fixture *f = *state;
    join(f, NULL);
    sync_all(f);
    xc_client_free(f->bot);
    f->bot = NULL;
    for (int i = 0; i < 130; i++) { /* more than a page */
        char t[16];
        snprintf(t, sizeof t, "m%d", i);
        xc_peer_send_text(f->alice, t, NULL);
        tick(f);
    }
    xc_client_opts o = {.db_path = f->path, .node = f->node, .clock = f->clock};
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_client_open(&o, &f->bot, &eb), XW_OK);
    sync_all(f);
    sync_all(f);
    msgs l;
    messages(f, &l);
    assert_int_equal(l.n, 64); /* the reader keeps 64 */
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    size_t total = 0;
    assert_int_equal(xc_store_message_each(xc_client_store(f->bot), gid, gl, 0, take, &(msgs){0}, &eb),
                     XW_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(xc_store_db(xc_client_store(f->bot)),
                                        "SELECT COUNT(*), COUNT(DISTINCT id) FROM messages", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    total = (size_t)sqlite3_column_int64(s, 0);
    assert_int_equal(total, 3 + 130);
    assert_int_equal(sqlite3_column_int64(s, 1), 3 + 130);
    sqlite3_finalize(s);
    /* a node outage mid-sync leaves the cursor; the next sync completes */
    for (int i = 0; i < 5; i++)
        xc_peer_send_text(f->alice, "late", NULL);
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 1);
    assert_int_equal(xc_group_sync(f->bot, gid, gl, NULL, &eb), XW_EUNAVAILABLE);
    sync_all(f);
    messages(f, &l);
    assert_string_equal(l.text[63], "m60");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits_of_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_envelopes_quarantined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_commit_quarantined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_welcome_quarantined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_group_inactive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_no_duplicates, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
