/*
 * Unit tests for what the application sees of and decides about the roster: the leaf check
 * (every reason, with its index, sender and previous leaf; refusals of each kind leave the
 * state unchanged; a retriable refusal can be retried), received commits staged for
 * inspection (mls_group_process, the change report, merge and discard), and the committer's
 * filtering of its cached proposals (RFC 9420 §12.2) while receivers stay strict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/group.h"
#include "mls/group_int.h"
#include "mls/keypackage.h"
#include "tests/unit/mls_group_helpers.h"

/* --- a recording leaf check --- */

typedef struct {
    mls_leaf_reason reason;
    uint32_t index, sender;
    int has_previous;
    char identity[32], previous[32];
    uint64_t epoch;
} seen_leaf;

typedef struct {
    seen_leaf log[64];
    size_t n;
    const char *refuse;            /* identity to refuse (NULL: accept everything) */
    mls_leaf_reason refuse_reason; /* 0: for any reason */
    int code;                      /* what a refusal returns */
    int unavailable;               /* refusals left with XW_EUNAVAILABLE */
} recorder;

static void copy_identity(char *dst, mls_span id)
{
    size_t n = id.len < 31 ? id.len : 31;
    if (n)
        memcpy(dst, id.p, n);
    dst[n] = 0;
}

static int record(void *arg, const mls_leaf_event *ev, xw_errbuf *eb)
{
    recorder *r = arg;
    char id[32];
    copy_identity(id, ev->leaf.identity);
    if (r->unavailable) {
        r->unavailable--;
        return xw_errf(eb, XW_EUNAVAILABLE, "identity service not reachable");
    }
    if (r->refuse && strcmp(id, r->refuse) == 0 && (!r->refuse_reason || r->refuse_reason == ev->reason))
        return xw_errf(eb, r->code, "%s is not allowed here", id);
    assert_true(r->n < 64);
    seen_leaf *s = &r->log[r->n++];
    s->reason = ev->reason;
    s->index = ev->index;
    s->sender = ev->sender;
    s->has_previous = ev->has_previous;
    s->epoch = ev->epoch;
    memcpy(s->identity, id, sizeof id);
    copy_identity(s->previous, ev->has_previous ? ev->previous.identity : (mls_span){NULL, 0});
    /* the view is the leaf's own encoding */
    assert_non_null(ev->leaf.leaf_node.p);
    assert_true(ev->leaf.signature_key.p >= ev->leaf.leaf_node.p &&
                ev->leaf.signature_key.p < ev->leaf.leaf_node.p + ev->leaf.leaf_node.len);
    assert_int_equal(ev->key_package.len != 0, ev->reason == MLS_LEAF_ADD);
    return XW_OK;
}

/* The recorded event with this reason and identity; fails when absent. */
static const seen_leaf *find(const recorder *r, mls_leaf_reason reason, const char *identity)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->log[i].reason == reason && strcmp(r->log[i].identity, identity) == 0)
            return &r->log[i];
    fail_msg("the leaf check never saw the %s leaf of %s", mls_leaf_reason_name(reason), identity);
    return NULL;
}

static void state_equal(const mls_group *g, const xw_buf *before)
{
    xw_buf now;
    save(g, &now);
    assert_int_equal(now.len, before->len);
    assert_memory_equal(now.data, before->data, now.len);
    xw_buf_free_secret(&now);
}

/* g must refuse msg with `want` and stay as it was. */
static void refused(mls_group *g, const xw_buf *msg, int want, const char *text)
{
    xw_buf before;
    save(g, &before);
    mls_received r;
    mls_received_init(&r);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_process(g, msg->data, msg->len, &r, &eb), want);
    if (text && !strstr(eb.msg, text))
        fail_msg("error \"%s\" does not say \"%s\"", eb.msg, text);
    assert_false(mls_group_has_incoming(g));
    assert_int_equal(r.changes.n, 0);
    state_equal(g, &before);
    mls_received_free(&r);
    xw_buf_free_secret(&before);
}

static int has_identity(mls_span id, const char *name)
{
    return id.len == strlen(name) && memcmp(id.p, name, id.len) == 0;
}

static void test_leaf_check_reasons(void **st)
{
    (void)st;
    recorder rec0 = {0}, recj = {0};
    world w;
    world_init(&w, 3, 0);
    mls_group_set_leaf_check(w.m[0], record, &rec0);
    w.cfg.leaf_check = record; /* joiners check the tree they join */
    w.cfg.leaf_check_arg = &recj;
    add_members(&w, 0, 2);
    /* the committer's own Adds, with the indices they get */
    assert_int_equal(find(&rec0, MLS_LEAF_ADD, "member-1")->index, 1);
    assert_int_equal(find(&rec0, MLS_LEAF_ADD, "member-2")->index, 2);
    assert_int_equal(find(&rec0, MLS_LEAF_ADD, "member-2")->epoch, 1);
    /* every leaf of the joined tree, the GroupInfo signer as sender (twice: two joiners) */
    assert_int_equal(recj.n, 6);
    assert_int_equal(find(&recj, MLS_LEAF_JOIN, "member-0")->index, 0);
    assert_int_equal(find(&recj, MLS_LEAF_JOIN, "member-2")->sender, 0);
    assert_int_equal(find(&recj, MLS_LEAF_JOIN, "member-1")->epoch, 1);
    for (size_t i = 1; i < w.n; i++)
        mls_group_set_leaf_check(w.m[i], NULL, NULL);
    /* a commit's path: the committer's new leaf and the one it replaces */
    rec0.n = 0;
    mls_commit_opts none = {0};
    commit(&w, 1, &none, NULL, 0);
    const seen_leaf *p = find(&rec0, MLS_LEAF_COMMIT_PATH, "member-1");
    assert_int_equal(p->index, 1);
    assert_int_equal(p->sender, 1);
    assert_true(p->has_previous);
    assert_string_equal(p->previous, "member-1");
    /* an Update proposal, committed by reference */
    xw_buf prop;
    xw_buf_init(&prop, 1 << 20);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_propose_update(w.m[2], &prop, &eb), XW_OK);
    deliver(&w, &prop, 2);
    rec0.n = 0;
    mls_commit_opts inc = {.include_pending = 1};
    commit(&w, 1, &inc, NULL, 0);
    const seen_leaf *u = find(&rec0, MLS_LEAF_UPDATE, "member-2");
    assert_int_equal(u->index, 2);
    assert_int_equal(u->sender, 2);
    assert_true(u->has_previous);
    assert_int_equal(rec0.n, 2); /* and the committer's path */
    xw_buf_free(&prop);
    world_free(&w);
}

static void test_leaf_check_refusals(void **st)
{
    (void)st;
    recorder rec = {.code = XW_EDENIED};
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 2);
    mls_group *g = w.m[2];
    mls_group_set_leaf_check(g, record, &rec);
    /* an Add the application refuses: the commit is rejected, nothing changes */
    kpkg bad;
    make_kp(w.s, "mallory", &bad);
    const uint8_t *kps[1] = {bad.kp.data};
    size_t lens[1] = {bad.kp.len};
    mls_commit_opts add = {.add_kps = kps, .add_lens = lens, .n_add = 1};
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_commit(w.m[1], &add, &cm, &wm, &eb), XW_OK);
    rec.refuse = "mallory";
    refused(g, &cm, XW_EDENIED, "mallory is not allowed here");
    /* not known yet: a retriable refusal, and the same message goes through later */
    rec.refuse = NULL;
    rec.unavailable = 1;
    refused(g, &cm, XW_EUNAVAILABLE, "identity service not reachable");
    mls_group_commit_discard(w.m[1]);
    /* the committer's own hook refuses its explicit Add: no commit */
    mls_group_set_leaf_check(w.m[1], record, &rec);
    rec.refuse = "mallory";
    xw_buf_reset(&cm);
    assert_int_equal(mls_group_commit(w.m[1], &add, &cm, &wm, &eb), XW_EDENIED);
    assert_false(mls_group_has_staged_commit(w.m[1]));
    assert_int_equal(cm.len, 0);
    mls_group_set_leaf_check(w.m[1], NULL, NULL);
    /* the committer's path leaf refused */
    rec.refuse = "member-1";
    rec.refuse_reason = MLS_LEAF_COMMIT_PATH;
    mls_commit_opts none = {0};
    xw_buf_reset(&cm);
    assert_int_equal(mls_group_commit(w.m[1], &none, &cm, &wm, &eb), XW_OK);
    refused(g, &cm, XW_EDENIED, "committer's new leaf 1");
    mls_group_commit_discard(w.m[1]);
    /* an Update refused (by reference): member 0 proposes, member 1 commits */
    xw_buf prop;
    xw_buf_init(&prop, 1 << 20);
    assert_int_equal(mls_group_propose_update(w.m[0], &prop, &eb), XW_OK);
    deliver(&w, &prop, 0);
    rec.refuse = "member-0";
    rec.refuse_reason = MLS_LEAF_UPDATE;
    mls_commit_opts inc = {.include_pending = 1};
    xw_buf_reset(&cm);
    assert_int_equal(mls_group_commit(w.m[1], &inc, &cm, &wm, &eb), XW_OK);
    refused(g, &cm, XW_EDENIED, "updated leaf 0");
    /* accepted once the application agrees */
    rec.refuse = NULL;
    mls_received r;
    mls_received_init(&r);
    assert_int_equal(mls_group_receive(g, cm.data, cm.len, &r, &eb), XW_OK);
    mls_received_free(&r);
    mls_group_set_leaf_check(g, NULL, NULL);
    mls_group_commit_discard(w.m[1]);
    /* a Welcome into a tree with a refused member: no group */
    recorder jr = {.code = XW_EDENIED, .refuse = "member-2", .refuse_reason = MLS_LEAF_JOIN};
    kpkg k;
    make_kp(w.s, "joiner", &k);
    const uint8_t *jk[1] = {k.kp.data};
    size_t jl[1] = {k.kp.len};
    mls_commit_opts addj = {.add_kps = jk, .add_lens = jl, .n_add = 1};
    xw_buf_reset(&cm);
    xw_buf_reset(&wm);
    assert_int_equal(mls_group_commit(w.m[0], &addj, &cm, &wm, &eb), XW_OK);
    mls_group_config jc = w.cfg;
    jc.leaf_check = record;
    jc.leaf_check_arg = &jr;
    mls_group *j = NULL;
    assert_int_equal(
        mls_group_join(&jc, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, NULL, 0, NULL, 0, &j, &eb),
        XW_EDENIED);
    assert_null(j);
    assert_non_null(strstr(eb.msg, "joined tree's leaf 2"));
    mls_group_commit_discard(w.m[0]);
    kp_free(&k);
    kp_free(&bad);
    xw_buf_free(&prop);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    world_free(&w);
}

/* A received commit is checked, reported, kept aside, and only merged on request. */
static void test_incoming_commit(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 3);
    kpkg k;
    make_kp(w.s, "newcomer", &k);
    const uint8_t *kps[1] = {k.kp.data};
    size_t lens[1] = {k.kp.len};
    uint32_t gone = mls_group_own_leaf(w.m[3]);
    uint8_t ext[] = {0x00, 0x01, 0x03, 'a', 'p', 'p'};
    mls_commit_opts o = {.add_kps = kps,
                         .add_lens = lens,
                         .n_add = 1,
                         .remove = &gone,
                         .n_remove = 1,
                         .gce = ext,
                         .gce_len = 6};
    xw_buf cm, wm, other;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_commit(w.m[1], &o, &cm, &wm, &eb), XW_OK);
    mls_group *g = w.m[2];
    uint64_t epoch = mls_group_epoch(g);
    xw_buf before;
    save(g, &before);
    mls_received r;
    mls_received_init(&r);
    assert_int_equal(mls_group_process(g, cm.data, cm.len, &r, &eb), XW_OK);
    assert_true(r.incoming);
    assert_true(mls_group_has_incoming(g));
    assert_int_equal(mls_group_epoch(g), epoch);
    state_equal(g, &before); /* nothing is saved until the merge */
    /* the report: removed member-3, added newcomer, the committer's new leaf, extensions */
    const mls_commit_changes *c = &r.changes;
    assert_int_equal(c->committer, 1);
    assert_int_equal(c->epoch, epoch + 1);
    assert_int_equal(c->n, 3);
    assert_int_equal(c->n_removed, 1);
    assert_int_equal(c->n_added, 1);
    assert_int_equal(c->n_updated, 1);
    assert_false(c->removes_self);
    for (size_t i = 0; i < c->n; i++) {
        const mls_roster_change *e = &c->entries[i];
        if (e->kind == MLS_ROSTER_REMOVED) {
            assert_int_equal(e->index, gone);
            assert_true(has_identity(e->leaf.identity, "member-3"));
            assert_int_equal(e->proposer, 1);
        } else if (e->kind == MLS_ROSTER_ADDED) {
            assert_int_equal(e->index, gone); /* the freed slot */
            assert_true(has_identity(e->leaf.identity, "newcomer"));
            assert_int_equal(e->leaf.credential_type, 1);
        } else {
            assert_int_equal(e->kind, MLS_ROSTER_UPDATED);
            assert_int_equal(e->index, 1);
            assert_true(has_identity(e->previous.identity, "member-1"));
            assert_int_equal(e->leaf.source, 3);
            assert_int_equal(e->previous.source, 1);
        }
    }
    assert_true(c->extensions_changed);
    assert_int_equal(c->extensions_before.len, 0);
    assert_int_equal(c->extensions_after.len, sizeof ext);
    assert_memory_equal(c->extensions_after.p, ext, sizeof ext);
    /* while it waits, the group does nothing else */
    xw_buf_init(&other, 1 << 20);
    assert_int_equal(mls_group_send(g, (const uint8_t *)"x", 1, &other, &eb), XW_ESTATE);
    assert_int_equal(mls_group_propose_remove(g, 0, &other, &eb), XW_ESTATE);
    mls_commit_opts none = {0};
    assert_int_equal(mls_group_commit(g, &none, &other, &wm, &eb), XW_ESTATE);
    mls_received r2;
    mls_received_init(&r2);
    assert_int_equal(mls_group_process(g, cm.data, cm.len, &r2, &eb), XW_ESTATE);
    assert_int_equal(mls_group_commit_confirm(g, &eb), XW_ESTATE);
    /* discarded: exactly as before; the same commit can be processed again */
    mls_group_incoming_discard(g);
    state_equal(g, &before);
    assert_int_equal(mls_group_incoming_merge(g, &eb), XW_ESTATE);
    assert_int_equal(mls_group_process(g, cm.data, cm.len, &r, &eb), XW_OK);
    assert_int_equal(r.changes.n, 3);
    assert_int_equal(mls_group_incoming_merge(g, &eb), XW_OK);
    assert_int_equal(mls_group_epoch(g), epoch + 1);
    assert_false(mls_group_has_incoming(g));
    /* the report outlives the merge */
    assert_true(has_identity(r.changes.entries[0].leaf.identity, "member-3"));
    /* the removed member sees itself removed; merged, it is inactive */
    if (mls_group_process(w.m[3], cm.data, cm.len, &r2, &eb) != XW_OK)
        fail_msg("removed member: %s", eb.msg);
    assert_true(r2.removed);
    assert_true(r2.changes.removes_self);
    assert_int_equal(mls_group_incoming_merge(w.m[3], &eb), XW_OK);
    assert_false(mls_group_active(w.m[3]));
    mls_group_free(w.m[3]);
    w.m[3] = NULL;
    /* the others follow; the newcomer joins */
    mls_received_free(&r2);
    mls_received_init(&r2);
    assert_int_equal(mls_group_receive(w.m[0], cm.data, cm.len, &r2, &eb), XW_OK);
    assert_int_equal(r2.changes.n_added, 1);
    assert_false(r2.incoming);
    assert_int_equal(mls_group_commit_confirm(w.m[1], &eb), XW_OK);
    assert_int_equal(mls_group_join(&w.cfg, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, NULL, 0, NULL, 0,
                                    &w.m[w.n], &eb),
                     XW_OK);
    w.n++;
    agree(&w);
    send_all(&w, 4, "hello from the newcomer");
    mls_received_free(&r);
    mls_received_free(&r2);
    xw_buf_free_secret(&before);
    xw_buf_free(&other);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    kp_free(&k);
    world_free(&w);
}

/* Member `c` commits its cached proposals; member `obs` processes the commit and the report
 * is returned in r (merged); everyone else follows. */
static void commit_pending(world *w, size_t c, size_t obs, const mls_commit_opts *o, mls_received *r)
{
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_errbuf eb = {{0}};
    if (mls_group_commit(w->m[c], o, &cm, &wm, &eb) != XW_OK)
        fail_msg("commit: %s", eb.msg);
    if (mls_group_process(w->m[obs], cm.data, cm.len, r, &eb) != XW_OK)
        fail_msg("observer: %s", eb.msg);
    assert_int_equal(mls_group_incoming_merge(w->m[obs], &eb), XW_OK);
    for (size_t i = 0; i < w->n; i++) {
        if (!w->m[i] || i == c || i == obs)
            continue;
        mls_received x;
        mls_received_init(&x);
        if (mls_group_receive(w->m[i], cm.data, cm.len, &x, &eb) != XW_OK)
            fail_msg("member %zu: %s", i, eb.msg);
        if (x.removed) {
            mls_group_free(w->m[i]);
            w->m[i] = NULL;
        }
        mls_received_free(&x);
    }
    assert_int_equal(mls_group_commit_confirm(w->m[c], &eb), XW_OK);
    agree(w);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
}

static void propose(world *w, size_t from, xw_buf *m)
{
    deliver(w, m, from);
    xw_buf_free(m);
}

static size_t count_kind(const mls_commit_changes *c, mls_roster_kind kind, uint32_t index)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->entries[i].kind == kind && c->entries[i].index == index;
    return n;
}

static void test_filter_remove_update(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 4);
    xw_errbuf eb = {{0}};
    xw_buf m;
    uint32_t l2 = mls_group_own_leaf(w.m[2]), l3 = mls_group_own_leaf(w.m[3]);
    /* member 2 proposes an Update, then member 1 its removal; member 3 two Updates */
    xw_buf_init(&m, 1 << 20);
    assert_int_equal(mls_group_propose_update(w.m[2], &m, &eb), XW_OK);
    propose(&w, 2, &m);
    xw_buf_init(&m, 1 << 20);
    assert_int_equal(mls_group_propose_remove(w.m[1], l2, &m, &eb), XW_OK);
    propose(&w, 1, &m);
    for (int i = 0; i < 2; i++) {
        xw_buf_init(&m, 1 << 20);
        assert_int_equal(mls_group_propose_update(w.m[3], &m, &eb), XW_OK);
        propose(&w, 3, &m);
    }
    /* committed unfiltered (as a careless committer would), receivers refuse the list */
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    mls_commit_opts inc = {.include_pending = 1};
    mls_group_test_unchecked = 1;
    assert_int_equal(mls_group_commit(w.m[0], &inc, &cm, &wm, &eb), XW_OK);
    mls_group_test_unchecked = 0;
    refused(w.m[1], &cm, XW_EMLS_PROPOSAL, "Update or Remove of leaf");
    mls_group_commit_discard(w.m[0]);
    /* filtered: the Remove wins over member 2's Update, member 3's latest Update wins */
    mls_received r;
    mls_received_init(&r);
    commit_pending(&w, 0, 1, &inc, &r);
    assert_int_equal(count_kind(&r.changes, MLS_ROSTER_REMOVED, l2), 1);
    assert_int_equal(count_kind(&r.changes, MLS_ROSTER_UPDATED, l2), 0);
    assert_int_equal(count_kind(&r.changes, MLS_ROSTER_UPDATED, l3), 1);
    assert_int_equal(r.changes.n, 3); /* with the committer's path */
    assert_null(w.m[2]);
    /* member 3 holds the key of its latest Update: it reads the next epoch */
    mls_commit_opts none = {0};
    commit(&w, 1, &none, NULL, 0);
    send_all(&w, 3, "after my second update");
    mls_received_free(&r);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    world_free(&w);
}

static void test_filter_adds_and_self(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 3);
    xw_errbuf eb = {{0}};
    xw_buf m;
    kpkg k, clash;
    make_kp(w.s, "twice", &k);
    /* the same key package proposed by two members */
    for (size_t from = 1; from <= 2; from++) {
        xw_buf_init(&m, 1 << 20);
        assert_int_equal(mls_group_propose_add(w.m[from], k.kp.data, k.kp.len, &m, &eb), XW_OK);
        propose(&w, from, &m);
    }
    /* a client already in the group (member 3's signature key) */
    mls_key_package_opts ko = {
        .identity = {(const uint8_t *)"clash", 5}, .not_before = 0, .not_after = UINT64_MAX};
    xw_buf_init(&clash.kp, 1 << 20);
    assert_int_equal(mls_key_package_create(w.s, &w.m[3]->sig, &ko, &clash.kp, &clash.sec, &eb), XW_OK);
    xw_buf_init(&m, 1 << 20);
    assert_int_equal(mls_group_propose_add(w.m[1], clash.kp.data, clash.kp.len, &m, &eb), XW_OK);
    propose(&w, 1, &m);
    /* the committer's own removal */
    xw_buf_init(&m, 1 << 20);
    assert_int_equal(mls_group_propose_remove(w.m[2], mls_group_own_leaf(w.m[0]), &m, &eb), XW_OK);
    propose(&w, 2, &m);
    mls_received r;
    mls_received_init(&r);
    mls_commit_opts inc = {.include_pending = 1};
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    assert_int_equal(mls_group_commit(w.m[0], &inc, &cm, &wm, &eb), XW_OK);
    assert_int_equal(mls_group_process(w.m[1], cm.data, cm.len, &r, &eb), XW_OK);
    assert_int_equal(r.changes.n_added, 1);
    assert_int_equal(r.changes.n_removed, 0);
    assert_true(has_identity(r.changes.entries[0].leaf.identity, "twice"));
    mls_group_incoming_discard(w.m[1]);
    mls_group_commit_discard(w.m[0]);
    /* the committer's own explicit Add conflicts with nothing it gave: the cached duplicate
     * of it is left out, and a conflict among its own is an error */
    const uint8_t *kps[2] = {k.kp.data, k.kp.data};
    size_t lens[2] = {k.kp.len, k.kp.len};
    mls_commit_opts own = {.add_kps = kps, .add_lens = lens, .n_add = 1, .include_pending = 1};
    commit_pending(&w, 0, 1, &own, &r);
    assert_int_equal(r.changes.n_added, 1);
    assert_int_equal(r.changes.n_removed, 0);
    own.n_add = 2;
    own.include_pending = 0;
    xw_buf_reset(&cm);
    assert_int_equal(mls_group_commit(w.m[0], &own, &cm, &wm, &eb), XW_EMLS_PROPOSAL);
    assert_false(mls_group_has_staged_commit(w.m[0]));
    mls_received_free(&r);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    kp_free(&k);
    kp_free(&clash);
    world_free(&w);
}

/* A proposal as a PublicMessage from member `from` (which caches it too when it gets it back). */
static void public_proposal(world *w, size_t from, const uint8_t *body, size_t n, xw_buf *out)
{
    mls_group *g = w->m[from];
    mls_framing_ctx ctx;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_framing_ctx(g, &ctx, &eb), XW_OK);
    mls_framed_content fc = {{g->group_id.data, g->group_id.len},
                             g->epoch,
                             {MLS_SENDER_MEMBER, g->me},
                             {NULL, 0},
                             MLS_CONTENT_PROPOSAL,
                             {body, n}};
    xw_buf_init(out, 1 << 20);
    assert_int_equal(mls_protect_public(&ctx, &fc, &g->sig, NULL, out, &eb), XW_OK);
}

static void test_filter_gce_and_replay(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 1);
    add_members(&w, 0, 2);
    /* two GroupContextExtensions from member 1: application_id "a", then "b" */
    uint8_t gce[2][9] = {{0x00, 0x07, 0x06, 0x00, 0x01, 0x03, 'a', 'p', 'p'},
                         {0x00, 0x07, 0x06, 0x00, 0x01, 0x03, 'b', 'p', 'p'}};
    xw_buf m[2];
    for (int i = 0; i < 2; i++) {
        public_proposal(&w, 1, gce[i], sizeof gce[i], &m[i]);
        deliver(&w, &m[i], SIZE_MAX);
    }
    /* a replayed PublicMessage proposal is taken once */
    size_t n = w.m[0]->n_props;
    mls_received r;
    mls_received_init(&r);
    xw_errbuf eb = {{0}};
    xw_buf before;
    save(w.m[0], &before);
    assert_int_equal(mls_group_receive(w.m[0], m[0].data, m[0].len, &r, &eb), XW_OK);
    assert_int_equal(w.m[0]->n_props, n);
    state_equal(w.m[0], &before);
    xw_buf_free_secret(&before);
    /* the committer's own GroupContextExtensions wins over the cached ones */
    uint8_t mine[] = {0x00, 0x01, 0x03, 'c', 'p', 'p'};
    mls_commit_opts own = {.gce = mine, .gce_len = sizeof mine, .include_pending = 1};
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    assert_int_equal(mls_group_commit(w.m[0], &own, &cm, &wm, &eb), XW_OK);
    assert_int_equal(mls_group_process(w.m[2], cm.data, cm.len, &r, &eb), XW_OK);
    assert_int_equal(r.changes.extensions_after.len, sizeof mine);
    assert_memory_equal(r.changes.extensions_after.p, mine, sizeof mine);
    mls_group_incoming_discard(w.m[2]);
    mls_group_commit_discard(w.m[0]);
    /* otherwise the latest */
    mls_commit_opts inc = {.include_pending = 1};
    commit_pending(&w, 0, 2, &inc, &r);
    mls_span e = mls_group_extensions(w.m[1]);
    assert_int_equal(e.len, 6);
    assert_memory_equal(e.p, gce[1] + 3, 6);
    assert_int_equal(r.changes.n, 1); /* only the committer's path */
    mls_received_free(&r);
    for (int i = 0; i < 2; i++)
        xw_buf_free(&m[i]);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_check_reasons),   cmocka_unit_test(test_leaf_check_refusals),
        cmocka_unit_test(test_incoming_commit),      cmocka_unit_test(test_filter_remove_update),
        cmocka_unit_test(test_filter_adds_and_self), cmocka_unit_test(test_filter_gce_and_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
