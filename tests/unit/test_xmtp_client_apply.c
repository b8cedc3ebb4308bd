/*
 * Tests for the apply API (xmtp/client/apply.h): one welcome or group message applied
 * under the caller's transaction. The events returned are exactly what the store holds
 * afterwards, and what xc_group_sync stores from the same envelopes (a copy of the same
 * installation syncs them; state bytes, cursor and messages must be equal); a ROLLBACK by
 * the caller leaves state, cursor and rows as they were, and applying again gives the same
 * events; without an open transaction nothing is applied. The other member is the
 * libxmtp-like peer (xc_peer.h) on the fake node.
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
#include "tests/unit/xc_peer.h"
#include "xmtp/client/apply.h"
#include "xmtp/client/client_int.h"

typedef xc_fixture fixture;

static int setup(void **state) { return xc_fixture_setup(state, "apply"); }
static int teardown(void **state) { return xc_fixture_teardown(state); }
static void tick(fixture *f) { xc_fixture_tick(f); }

static xc_store *st(fixture *f) { return xc_client_store(f->bot); }

static void begin(fixture *f)
{
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_begin(st(f), &eb), XW_OK);
}

static void commit(fixture *f)
{
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_commit(st(f), &eb), XW_OK);
}

/* The bot's welcomes, applied one transaction each; returns the events of the last. */
static void apply_welcomes(fixture *f, xc_events *last)
{
    xw_errbuf eb = {{0}};
    xc_page p = {0};
    assert_int_equal(f->node->ops->query_welcomes(f->node->ctx, xc_client_installation_id(f->bot), 32, 0,
                                                  XC_PAGE_MAX, &p, &eb),
                     XW_OK);
    assert_true(p.n > 0);
    memset(last, 0, sizeof *last);
    for (size_t i = 0; i < p.n; i++) {
        xc_events_free(last);
        begin(f);
        uint8_t gid[XC_GROUP_ID_MAX];
        size_t gl = 0;
        int rc = xc_apply_welcome(f->bot, &p.welcomes[i], gid, &gl, last, &eb);
        if (rc != XW_OK)
            fail_msg("apply welcome: %s", eb.msg);
        commit(f);
    }
    xc_page_free(&p);
}

/* Alice makes a group, says something, adds the bot, says two more things. */
static void join(fixture *f)
{
    xc_peer_create_group(f->alice, "g1");
    xc_peer_send_text(f->alice, "before", NULL);
    tick(f);
    xc_peer_add(f->alice, xc_client_inbox_id(f->bot), xc_client_installation_id(f->bot));
    tick(f);
    xc_peer_send_text(f->alice, "hello 1", NULL);
    tick(f);
}

/* --- the store's view --- */
typedef struct {
    size_t n;
    uint8_t id[64][32];
    char sender[64][65];
    char type[64][64];
    char text[64][128];
    int kind[64];
    uint64_t cursor[64];
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
    l->cursor[l->n] = m->cursor;
    l->n++;
    return XW_OK;
}

static void messages_of(xc_client *c, const uint8_t *gid, size_t gl, msgs *l)
{
    memset(l, 0, sizeof *l);
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_message_each(xc_client_store(c), gid, gl, 0, take, l, &eb), XW_OK);
}

static int64_t quarantined(xc_client *c)
{
    int64_t n = 0;
    xw_errbuf eb;
    assert_int_equal(xc_store_quarantine_count(xc_client_store(c), NULL, &n, &eb), XW_OK);
    return n;
}

/* Row + state bytes of a group. */
static void group_of(xc_client *c, const uint8_t *gid, size_t gl, xc_group_row *r)
{
    xw_errbuf eb = {{0}};
    xc_group_row_init(r);
    if (xc_store_group_get(xc_client_store(c), gid, gl, r, &eb) != XW_OK)
        fail_msg("group: %s", eb.msg);
}

/* The group's envelopes after `after`, one page. */
static void envelopes(fixture *f, uint64_t after, xc_page *p)
{
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xw_errbuf eb = {{0}};
    assert_int_equal(f->node->ops->query_group(f->node->ctx, gid, gl, after, XC_PAGE_MAX, p, &eb), XW_OK);
}

static int same_list(const xc_inbox_list *l, const char *one)
{
    return l->n == 1 && strcmp(l->v[0], one) == 0;
}

/* Applies every envelope after the group's cursor, one transaction each; all events kept. */
static void apply_all(fixture *f, xc_events *all)
{
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xc_group_row r;
    group_of(f->bot, gid, gl, &r);
    xc_page p = {0};
    envelopes(f, r.cursor, &p);
    xc_group_row_free(&r);
    for (size_t i = 0; i < p.n; i++) {
        xc_events ev;
        xc_apply_result res;
        xw_errbuf eb = {{0}};
        begin(f);
        int rc = xc_apply_group_message(f->bot, &p.groups[i], &res, &ev, &eb);
        if (rc != XW_OK)
            fail_msg("apply %zu: %s: %s", i, xw_errname(rc), eb.msg);
        commit(f);
        assert_int_equal(res.applied, 1);
        assert_int_equal(res.cursor, p.groups[i].id);
        /* move the events over */
        all->ev = xw_realloc(all->ev, (all->n + ev.n) * sizeof *all->ev);
        assert_non_null(all->ev);
        memcpy(all->ev + all->n, ev.ev, ev.n * sizeof *ev.ev);
        all->n += ev.n;
        xw_free(ev.ev);
    }
    xc_page_free(&p);
}

static void test_events_equal_sync(void **state)
{
    fixture *f = *state;
    join(f);
    xc_events w;
    apply_welcomes(f, &w);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.ev[0].kind, XC_EVENT_JOINED);
    assert_memory_equal(w.ev[0].group_id, gid, gl);
    assert_string_equal(w.ev[0].sender_inbox_id, xc_peer_inbox(f->alice));
    xc_events_free(&w);
    /* a copy of the installation, made now, will sync the same envelopes */
    xw_errbuf eb = {{0}};
    xc_client_free(f->bot);
    char copy[160], cmd[400];
    snprintf(copy, sizeof copy, "%s/copy.db3", f->dir);
    snprintf(cmd, sizeof cmd, "cp %s %s", f->path, copy);
    assert_int_equal(system(cmd), 0);
    xc_client_opts o = {.db_path = f->path, .node = f->node, .clock = f->clock};
    assert_int_equal(xc_client_open(&o, &f->bot, &eb), XW_OK);
    xc_client_opts oc = {.db_path = copy, .node = f->node, .clock = f->clock};
    xc_client *twin = NULL;
    assert_int_equal(xc_client_open(&oc, &twin, &eb), XW_OK);
    /* alice: text, rename, add bob, admins, text; plus a damaged envelope */
    xc_peer *bob = xc_peer_new(f->node, f->clock);
    uint8_t hid[32];
    xc_peer_send_text(f->alice, "hello 2", hid);
    tick(f);
    xc_peer_set_name(f->alice, "renamed");
    tick(f);
    xc_peer_add(f->alice, xc_peer_inbox(bob), xc_peer_installation(bob));
    tick(f);
    const char *alice = xc_peer_inbox(f->alice), *bot = xc_client_inbox_id(f->bot);
    const char *keys[1] = {"group_name"}, *vals[1] = {"renamed"}, *supers[1] = {alice};
    xc_peer_set_mutable(f->alice, keys, vals, 1, &bot, 1, supers, 1);
    tick(f);
    assert_int_equal(
        xc_node_fake_add_group_message(f->node, gid, gl, (const uint8_t *)"junk", 4, 0, NULL, &eb), XW_OK);
    xc_peer_send_text(f->alice, "bye", NULL);
    xc_events all = {0};
    apply_all(f, &all);
    assert_int_equal(xc_group_sync(twin, gid, gl, NULL, &eb), XW_OK);
    /* the events, in order */
    static const xc_event_kind want[] = {XC_EVENT_MESSAGE,    XC_EVENT_MESSAGE, XC_EVENT_METADATA,
                                         XC_EVENT_MEMBERSHIP, XC_EVENT_ADMINS,  XC_EVENT_QUARANTINE,
                                         XC_EVENT_MESSAGE};
    assert_int_equal(all.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < all.n; i++)
        assert_int_equal(all.ev[i].kind, want[i]);
    assert_string_equal(all.ev[1].text, "hello 2");
    assert_memory_equal(all.ev[1].message_id, hid, 32);
    assert_non_null(all.ev[1].content);
    assert_int_equal(all.ev[1].content->kind, XMTP_CT_TEXT);
    assert_string_equal(all.ev[1].content_type, "xmtp.org/text:1.0");
    assert_int_equal(all.ev[2].n_fields, 1);
    assert_string_equal(all.ev[2].fields[0].name, "group_name");
    assert_string_equal(all.ev[2].fields[0].old_value, "g1");
    assert_string_equal(all.ev[2].fields[0].new_value, "renamed");
    assert_string_equal(all.ev[2].sender_inbox_id, alice);
    assert_true(same_list(&all.ev[3].added, xc_peer_inbox(bob)));
    assert_int_equal(all.ev[3].removed.n, 0);
    assert_true(same_list(&all.ev[4].added_admins, bot));
    assert_true(all.ev[5].error != XW_OK && !xw_err_is_retriable(all.ev[5].error));
    assert_non_null(strstr(all.ev[5].reason, "MLSMessage"));
    assert_string_equal(all.ev[6].text, "bye");
    /* the store holds exactly what the events say, and what sync stored in the twin */
    msgs a, b;
    messages_of(f->bot, gid, gl, &a);
    messages_of(twin, gid, gl, &b);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.n, 7); /* added transcript, hello 1, hello 2, rename, bob, admins, bye */
    for (size_t i = 0; i < a.n; i++) {
        assert_memory_equal(a.id[i], b.id[i], 32);
        assert_string_equal(a.text[i], b.text[i]);
        assert_string_equal(a.sender[i], b.sender[i]);
        assert_int_equal(a.kind[i], b.kind[i]);
        assert_int_equal(a.cursor[i], b.cursor[i]);
    }
    size_t j = 1; /* every event but the quarantine is one row, after the "added" transcript */
    for (size_t i = 0; i < all.n; i++) {
        if (all.ev[i].kind == XC_EVENT_QUARANTINE)
            continue;
        assert_true(j < a.n);
        assert_memory_equal(all.ev[i].message_id, a.id[j], 32);
        assert_int_equal(all.ev[i].cursor, a.cursor[j]);
        assert_string_equal(all.ev[i].sender_inbox_id, a.sender[j]);
        j++;
    }
    assert_int_equal(j, a.n);
    assert_int_equal(quarantined(f->bot), quarantined(twin));
    assert_int_equal(quarantined(f->bot), 1);
    xc_group_row ra, rb;
    group_of(f->bot, gid, gl, &ra);
    group_of(twin, gid, gl, &rb);
    assert_int_equal(ra.cursor, rb.cursor);
    assert_int_equal(ra.epoch, rb.epoch);
    assert_int_equal(ra.epoch, 4);
    assert_int_equal(ra.state.len, rb.state.len);
    assert_memory_equal(ra.state.data, rb.state.data, ra.state.len);
    assert_int_equal(ra.admins.len, rb.admins.len);
    xc_group_row_free(&ra);
    xc_group_row_free(&rb);
    xc_events_free(&all);
    xc_client_free(twin);
    xc_peer_free(bob);
}

static void same_events(const xc_events *x, const xc_events *y)
{
    assert_int_equal(x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
        const xc_event *a = &x->ev[i], *b = &y->ev[i];
        assert_int_equal(a->kind, b->kind);
        assert_memory_equal(a->message_id, b->message_id, 32);
        assert_int_equal(a->cursor, b->cursor);
        assert_int_equal(a->epoch, b->epoch);
        assert_string_equal(a->sender_inbox_id, b->sender_inbox_id);
        assert_string_equal(a->text ? a->text : "", b->text ? b->text : "");
        assert_int_equal(a->added.n, b->added.n);
        assert_int_equal(a->n_fields, b->n_fields);
        assert_int_equal(a->error, b->error);
    }
}

/* Everything the store holds about the group, to compare before and after. */
typedef struct {
    xc_group_row r;
    msgs m;
    int64_t q;
    uint64_t welcomes;
} snapshot;

static void snap(fixture *f, snapshot *s)
{
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    group_of(f->bot, gid, gl, &s->r);
    messages_of(f->bot, gid, gl, &s->m);
    s->q = quarantined(f->bot);
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_cursor_get(st(f), "welcomes", &s->welcomes, &eb), XW_OK);
}

static void same_snap(snapshot *a, snapshot *b)
{
    assert_int_equal(a->r.cursor, b->r.cursor);
    assert_int_equal(a->r.epoch, b->r.epoch);
    assert_int_equal(a->r.state.len, b->r.state.len);
    assert_memory_equal(a->r.state.data, b->r.state.data, a->r.state.len);
    assert_int_equal(a->r.name.len, b->r.name.len);
    assert_int_equal(a->m.n, b->m.n);
    assert_int_equal(a->q, b->q);
    assert_int_equal(a->welcomes, b->welcomes);
    xc_group_row_free(&a->r);
    xc_group_row_free(&b->r);
}

static void test_rollback_then_reapply(void **state)
{
    fixture *f = *state;
    join(f);
    xc_events w;
    apply_welcomes(f, &w);
    xc_events_free(&w);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xw_errbuf eb = {{0}};
    xc_peer *bob = xc_peer_new(f->node, f->clock);
    xc_peer_set_name(f->alice, "renamed");
    tick(f);
    xc_peer_add(f->alice, xc_peer_inbox(bob), xc_peer_installation(bob));
    tick(f);
    assert_int_equal(
        xc_node_fake_add_group_message(f->node, gid, gl, (const uint8_t *)"junk", 4, 0, NULL, &eb), XW_OK);
    xc_peer_send_text(f->alice, "after", NULL);
    xc_group_row r;
    group_of(f->bot, gid, gl, &r);
    xc_page p = {0};
    envelopes(f, r.cursor, &p);
    xc_group_row_free(&r);
    assert_int_equal(p.n, 5); /* hello 1, rename, add, junk, after */
    for (size_t i = 0; i < p.n; i++) {
        /* applied, then rolled back by the caller: nothing changed */
        snapshot s0, s1;
        snap(f, &s0);
        xc_events e1, e2;
        xc_apply_result r1, r2;
        begin(f);
        assert_int_equal(xc_apply_group_message(f->bot, &p.groups[i], &r1, &e1, &eb), XW_OK);
        assert_int_equal(r1.applied, 1);
        assert_true(e1.n >= 1);
        xc_store_rollback(st(f));
        snap(f, &s1);
        same_snap(&s0, &s1);
        /* applied again: the same result and events; committed */
        begin(f);
        assert_int_equal(xc_apply_group_message(f->bot, &p.groups[i], &r2, &e2, &eb), XW_OK);
        commit(f);
        assert_int_equal(r1.cursor, r2.cursor);
        assert_int_equal(r1.epoch, r2.epoch);
        assert_int_equal(r2.cursor, p.groups[i].id);
        same_events(&e1, &e2);
        xc_events_free(&e1);
        xc_events_free(&e2);
        /* a third time: already applied, skipped, nothing returned */
        begin(f);
        assert_int_equal(xc_apply_group_message(f->bot, &p.groups[i], &r2, &e2, &eb), XW_OK);
        commit(f);
        assert_int_equal(r2.applied, 0);
        assert_int_equal(e2.n, 0);
        xc_events_free(&e2);
    }
    group_of(f->bot, gid, gl, &r);
    assert_int_equal(r.epoch, 3);
    assert_memory_equal(r.name.data, "renamed", 7);
    xc_group_row_free(&r);
    assert_int_equal(quarantined(f->bot), 1);
    xc_page_free(&p);
    xc_peer_free(bob);
}

static void test_welcome_rollback(void **state)
{
    fixture *f = *state;
    join(f);
    xw_errbuf eb = {{0}};
    xc_page p = {0};
    assert_int_equal(f->node->ops->query_welcomes(f->node->ctx, xc_client_installation_id(f->bot), 32, 0,
                                                  XC_PAGE_MAX, &p, &eb),
                     XW_OK);
    assert_int_equal(p.n, 1);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xc_events e1, e2;
    uint8_t g1[XC_GROUP_ID_MAX], g2[XC_GROUP_ID_MAX];
    size_t l1 = 0, l2 = 0;
    begin(f);
    assert_int_equal(xc_apply_welcome(f->bot, &p.welcomes[0], g1, &l1, &e1, &eb), XW_OK);
    assert_int_equal(l1, gl);
    assert_memory_equal(g1, gid, gl);
    xc_store_rollback(st(f));
    int exists = 1;
    assert_int_equal(xc_store_group_exists(st(f), gid, gl, &exists, &eb), XW_OK);
    assert_false(exists);
    uint64_t cur = 1;
    assert_int_equal(xc_store_cursor_get(st(f), "welcomes", &cur, &eb), XW_OK);
    assert_int_equal(cur, 0);
    begin(f);
    assert_int_equal(xc_apply_welcome(f->bot, &p.welcomes[0], g2, &l2, &e2, &eb), XW_OK);
    commit(f);
    assert_int_equal(l2, l1);
    same_events(&e1, &e2);
    assert_int_equal(e2.ev[0].kind, XC_EVENT_JOINED);
    /* the JOINED event's id is the stored "added" transcript's */
    msgs m;
    messages_of(f->bot, gid, gl, &m);
    assert_int_equal(m.n, 1);
    assert_memory_equal(m.id[0], e2.ev[0].message_id, 32);
    xc_events_free(&e1);
    xc_events_free(&e2);
    /* again: skipped */
    begin(f);
    assert_int_equal(xc_apply_welcome(f->bot, &p.welcomes[0], g2, &l2, &e2, &eb), XW_OK);
    commit(f);
    assert_int_equal(e2.n, 0);
    assert_int_equal(l2, 0);
    /* a damaged welcome: quarantined, with the cursor moved past it */
    xc_welcome_env bad = p.welcomes[0];
    bad.data = (xc_bytes){(const uint8_t *)"junk", 4};
    uint64_t id = 0;
    assert_int_equal(xc_node_fake_add_welcome(f->node, &bad, &id, &eb), XW_OK);
    bad.id = id;
    begin(f);
    assert_int_equal(xc_apply_welcome(f->bot, &bad, g2, &l2, &e2, &eb), XW_OK);
    commit(f);
    assert_int_equal(e2.n, 1);
    assert_int_equal(e2.ev[0].kind, XC_EVENT_QUARANTINE);
    assert_int_equal(e2.ev[0].cursor, id);
    assert_true(e2.ev[0].reason[0] != 0);
    assert_int_equal(xc_store_cursor_get(st(f), "welcomes", &cur, &eb), XW_OK);
    assert_int_equal(cur, id);
    xc_events_free(&e2);
    xc_page_free(&p);
}

static void test_needs_transaction(void **state)
{
    fixture *f = *state;
    join(f);
    xc_events w;
    apply_welcomes(f, &w);
    xc_events_free(&w);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xc_page p = {0};
    xc_group_row r;
    group_of(f->bot, gid, gl, &r);
    envelopes(f, r.cursor, &p);
    xc_group_row_free(&r);
    assert_int_equal(p.n, 1);
    snapshot s0, s1;
    snap(f, &s0);
    xc_events ev;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_apply_group_message(f->bot, &p.groups[0], NULL, &ev, &eb), XW_ESTATE);
    assert_non_null(strstr(eb.msg, "no transaction"));
    assert_int_equal(ev.n, 0);
    snap(f, &s1);
    same_snap(&s0, &s1);
    /* an unknown group */
    xc_group_env other = p.groups[0];
    other.group_id = (xc_bytes){(const uint8_t *)"nope", 4};
    begin(f);
    assert_int_equal(xc_apply_group_message(f->bot, &other, NULL, &ev, &eb), XW_ENOTFOUND);
    xc_store_rollback(st(f));
    xc_page_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_equal_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_then_reapply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_welcome_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_needs_transaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
