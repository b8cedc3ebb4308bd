/*
 * Unit tests for the group half of mls/: groups of C members through creation, Welcome,
 * commits (add, remove, update, PSK, group context extensions, by reference), application
 * messages (current and past epochs), staged commits and save/load. Rejected inputs are in
 * test_mls_group_reject.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "mls/group.h"
#include "mls/group_int.h"
#include "mls/keypackage.h"
#include "mls/proposal.h"
#include "mls/treekem.h"
#include "mls/welcome.h"
#include "tests/unit/mls_group_helpers.h"

static void run_lifecycle(uint16_t suite, int public_handshake)
{
    world w;
    world_init(&w, suite, public_handshake);
    add_members(&w, 0, 1);
    send_all(&w, 0, "hello from 0");
    send_all(&w, 1, "hello from 1");
    add_members(&w, 1, 3);
    mls_commit_opts upd = {0};
    commit(&w, 2, &upd, NULL, 0); /* an empty commit: an update of member 2 */
    uint32_t rm = mls_group_own_leaf(w.m[3]);
    mls_commit_opts o = {.remove = &rm, .n_remove = 1};
    commit(&w, 0, &o, NULL, 0);
    assert_null(w.m[3]);
    send_all(&w, 4, "after the removal");
    add_members(&w, 4, 2); /* fills the blank leaf first */
    assert_int_equal(mls_group_own_leaf(w.m[5]), rm);
    send_all(&w, 6, "last");
    world_free(&w);
}

static void test_lifecycle_suite1(void **st)
{
    (void)st;
    run_lifecycle(1, 0);
}

static void test_lifecycle_suite3(void **st)
{
    (void)st;
    run_lifecycle(3, 0);
}

static void test_lifecycle_public_handshake(void **st)
{
    (void)st;
    run_lifecycle(3, 1);
}

static void test_psk_gce_and_reference(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 3);
    /* every member holds the external PSK */
    mls_external_psk psk = {(const uint8_t *)"psk-id", 6, (const uint8_t *)"0123456789abcdef", 16};
    for (size_t i = 0; i < w.n; i++)
        assert_int_equal(mls_group_add_external_psk(w.m[i], &psk, NULL), XW_OK);
    const mls_external_psk *pp = &psk;
    mls_commit_opts o = {.psks = &pp, .n_psks = 1, .no_path = 1};
    commit(&w, 1, &o, NULL, 0);
    /* group context extensions: an application extension (XMTP metadata lives there) */
    uint8_t ext[] = {0x00, 0x01, 0x03, 'a', 'p', 'p'}; /* application_id "app" */
    mls_commit_opts g = {.gce = ext, .gce_len = sizeof ext};
    commit(&w, 2, &g, NULL, 0);
    for (size_t i = 0; i < w.n; i++) {
        mls_span e = mls_group_extensions(w.m[i]);
        assert_int_equal(e.len, sizeof ext);
        assert_memory_equal(e.p, ext, sizeof ext);
    }
    /* member 1 proposes to remove member 3; member 0 commits it by reference */
    xw_buf prop;
    xw_buf_init(&prop, 1 << 20);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_propose_remove(w.m[1], mls_group_own_leaf(w.m[3]), &prop, &eb), XW_OK);
    deliver(&w, &prop, 1);
    /* pending proposals block application data until a commit */
    xw_buf m;
    xw_buf_init(&m, 1 << 20);
    assert_int_equal(mls_group_send(w.m[0], (const uint8_t *)"x", 1, &m, &eb), XW_ESTATE);
    mls_commit_opts r = {.include_pending = 1};
    commit(&w, 0, &r, NULL, 0);
    assert_null(w.m[3]);
    send_all(&w, 2, "after by-reference remove");
    xw_buf_free(&prop);
    xw_buf_free(&m);
    world_free(&w);
}

/* Member 1 proposes an Update of its own leaf; member 0 commits it; member 1's new key works. */
static void test_own_update_proposal(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 3);
    xw_buf prop;
    xw_buf_init(&prop, 1 << 20);
    xw_errbuf eb = {{0}};
    mls_span before = mls_tree_leaf(w.m[1]->tree, w.m[1]->me)->enc_key;
    uint8_t old_key[32];
    memcpy(old_key, before.p, 32);
    assert_int_equal(mls_group_propose_update(w.m[1], &prop, &eb), XW_OK);
    deliver(&w, &prop, 1);
    /* the proposer cannot commit its own Update: its commit leaves it out */
    mls_commit_opts inc = {.include_pending = 1};
    commit(&w, 0, &inc, NULL, 0);
    assert_memory_not_equal(mls_tree_leaf(w.m[2]->tree, w.m[1]->me)->enc_key.p, old_key, 32);
    /* member 2 commits: its path is encrypted to member 1's new leaf key */
    mls_commit_opts none = {0};
    commit(&w, 2, &none, NULL, 0);
    send_all(&w, 1, "after my update");
    /* an Update proposal not committed in its epoch is dropped with the epoch */
    xw_buf_reset(&prop);
    assert_int_equal(mls_group_propose_update(w.m[3], &prop, &eb), XW_OK);
    commit(&w, 3, &inc, NULL, 0); /* member 3 commits with a path instead */
    assert_int_equal(w.m[3]->update_len, 0);
    send_all(&w, 3, "after an empty commit");
    xw_buf_free(&prop);
    world_free(&w);
}

static void test_past_epochs(void **st)
{
    (void)st;
    world w;
    world_init(&w, 1, 0);
    add_members(&w, 0, 1);
    xw_buf late[5];
    xw_errbuf eb = {{0}};
    for (int i = 0; i < 5; i++) {
        xw_buf_init(&late[i], 1 << 20);
        assert_int_equal(mls_group_send(w.m[1], (const uint8_t *)"late", 4, &late[i], &eb), XW_OK);
        mls_commit_opts o = {0};
        commit(&w, 0, &o, NULL, 0);
    }
    /* messages of the last 3 epochs still open; older ones are refused */
    for (int i = 0; i < 5; i++) {
        mls_received r;
        mls_received_init(&r);
        int rc = mls_group_receive(w.m[0], late[i].data, late[i].len, &r, &eb);
        assert_int_equal(rc, i >= 2 ? XW_OK : XW_EMLS_EPOCH);
        mls_received_free(&r);
        xw_buf_free(&late[i]);
    }
    world_free(&w);
}

static void test_staged_commit(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 2);
    xw_buf a, b, wm;
    xw_buf_init(&a, 1 << 20);
    xw_buf_init(&b, 1 << 20);
    xw_buf_init(&wm, 1 << 20);
    xw_errbuf eb = {{0}};
    mls_commit_opts o = {0};
    /* both 0 and 1 commit in the same epoch; the delivery service orders 1 first */
    assert_int_equal(mls_group_commit(w.m[0], &o, &a, &wm, &eb), XW_OK);
    assert_int_equal(mls_group_commit(w.m[0], &o, &a, &wm, &eb), XW_ESTATE); /* one at a time */
    assert_int_equal(mls_group_commit(w.m[1], &o, &b, &wm, &eb), XW_OK);
    deliver(&w, &b, 1); /* 0 drops its staged commit and follows 1's */
    assert_false(mls_group_has_staged_commit(w.m[0]));
    assert_int_equal(mls_group_commit_confirm(w.m[1], &eb), XW_OK);
    agree(&w);
    /* 0's old commit is now for a past epoch: refused */
    mls_received r;
    mls_received_init(&r);
    assert_int_not_equal(mls_group_receive(w.m[2], a.data, a.len, &r, &eb), XW_OK);
    /* a staged commit that comes back from the delivery service confirms itself */
    xw_buf_reset(&a);
    assert_int_equal(mls_group_commit(w.m[2], &o, &a, &wm, &eb), XW_OK);
    deliver(&w, &a, 2);
    assert_int_equal(mls_group_receive(w.m[2], a.data, a.len, &r, &eb), XW_OK);
    assert_true(r.own_commit);
    agree(&w);
    /* discard */
    xw_buf_reset(&a);
    assert_int_equal(mls_group_commit(w.m[1], &o, &a, &wm, &eb), XW_OK);
    uint64_t e = mls_group_epoch(w.m[1]);
    mls_group_commit_discard(w.m[1]);
    assert_int_equal(mls_group_epoch(w.m[1]), e);
    send_all(&w, 1, "still in the old epoch");
    mls_received_free(&r);
    xw_buf_free(&a);
    xw_buf_free(&b);
    xw_buf_free(&wm);
    world_free(&w);
}

static void test_save_load(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 2);
    mls_commit_opts o = {0};
    commit(&w, 1, &o, NULL, 0);
    xw_buf b1, b2;
    save(w.m[2], &b1);
    mls_group *copy = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_load(b1.data, b1.len, &copy, &eb), XW_OK);
    save(copy, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    /* the restored member behaves identically: replace member 2 with it */
    mls_group_free(w.m[2]);
    w.m[2] = copy;
    send_all(&w, 0, "to the restored member");
    send_all(&w, 2, "from the restored member");
    commit(&w, 2, &o, NULL, 0);
    add_members(&w, 2, 1);
    /* corrupt states are refused with XW_ECORRUPT */
    for (size_t cut = 0; cut < b1.len; cut += b1.len / 17 + 1) {
        mls_group *x = NULL;
        assert_int_not_equal(mls_group_load(b1.data, cut, &x, &eb), XW_OK);
        assert_null(x);
    }
    xw_buf_free_secret(&b1);
    xw_buf_free_secret(&b2);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_suite1),
        cmocka_unit_test(test_lifecycle_suite3),
        cmocka_unit_test(test_lifecycle_public_handshake),
        cmocka_unit_test(test_psk_gce_and_reference),
        cmocka_unit_test(test_own_update_proposal),
        cmocka_unit_test(test_past_epochs),
        cmocka_unit_test(test_staged_commit),
        cmocka_unit_test(test_save_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
