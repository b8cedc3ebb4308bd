/*
 * Tests for streams (xmtp/client/stream.h) on the fake node: catch-up from the stored
 * cursor then live envelopes as one sequence; a stream dropped in the middle and a node
 * that repeats itself at the seam give no gap and no duplicate; reconnection waits for its
 * backoff on the client's clock (a manual clock here: nothing happens until the test moves
 * it) and the backoff is bounded; the welcome stream joins a group, which an all-groups
 * stream then follows.
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
#include "xmtp/client/client_int.h"
#include "xmtp/client/stream.h"

typedef xc_fixture fixture;

static int setup(void **state) { return xc_fixture_setup(state, "stream"); }
static int teardown(void **state) { return xc_fixture_teardown(state); }
static void tick(fixture *f) { xc_fixture_tick(f); }

static void join_and_sync(fixture *f)
{
    xc_peer_create_group(f->alice, "g1");
    xc_peer_add(f->alice, xc_client_inbox_id(f->bot), xc_client_installation_id(f->bot));
    tick(f);
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_client_sync_all(f->bot, NULL, &eb), XW_OK);
}

/* Reads items until `want` were handed out or the stream has nothing (clock moved 10 s
 * between empty polls, at most `polls` of them); applies each; returns how many. */
static size_t drain(fixture *f, xc_stream *s, size_t want, uint64_t *ids, size_t polls, xc_stream *also)
{
    size_t n = 0;
    for (size_t p = 0; n < want && p < polls;) {
        xc_stream_item it;
        int got = 0;
        xw_errbuf eb = {{0}};
        int rc = xc_stream_next(s, 1000, &it, &got, &eb);
        if (rc != XW_OK)
            fail_msg("next: %s: %s", xw_errname(rc), eb.msg);
        if (!got) {
            p++;
            xw_clock_manual_advance(f->clock, 10 * 1000 * XW_NS_PER_MS);
            continue;
        }
        ids[n++] = it.kind == XC_ITEM_WELCOME ? it.welcome.id : it.group.id;
        xc_events ev;
        rc = xc_stream_apply(f->bot, &it, also, &ev, &eb);
        if (rc != XW_OK)
            fail_msg("apply: %s: %s", xw_errname(rc), eb.msg);
        assert_true(ev.n >= 1);
        assert_int_not_equal(ev.ev[0].kind, XC_EVENT_QUARANTINE);
        xc_events_free(&ev);
        xc_stream_item_free(&it);
    }
    return n;
}

typedef struct {
    size_t n;
    char text[128][32];
} texts;

static int take_text(void *ctx, const xc_message_row *m)
{
    texts *t = ctx;
    if (m->kind == XC_KIND_APPLICATION && t->n < 128)
        snprintf(t->text[t->n++], 32, "%.*s", (int)m->decoded_len, m->decoded ? m->decoded : "");
    return XW_OK;
}

static void stored_texts(fixture *f, texts *t)
{
    memset(t, 0, sizeof *t);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_message_each(xc_client_store(f->bot), gid, gl, 0, take_text, t, &eb), XW_OK);
}

static void test_drop_in_the_middle(void **state)
{
    fixture *f = *state;
    join_and_sync(f);
    char text[32];
    for (int i = 0; i < 30; i++) {
        snprintf(text, sizeof text, "m%02d", i);
        xc_peer_send_text(f->alice, text, NULL);
        tick(f);
    }
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xc_stream *s = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_stream_open_group(f->bot, gid, gl, NULL, &s, &eb), XW_OK);
    /* the stream drops after 12 envelopes; on (re)subscribing the node resends up to 3 old
     * ones */
    xc_node_fake_stream_drop_after(f->node, 12);
    xc_node_fake_stream_replay(f->node, 3);
    uint64_t ids[64];
    assert_int_equal(drain(f, s, 30, ids, 5, NULL), 30);
    for (int i = 1; i < 30; i++)
        assert_true(ids[i] > ids[i - 1]);
    /* live: more after the catch-up, through the same stream */
    for (int i = 30; i < 35; i++) {
        snprintf(text, sizeof text, "m%02d", i);
        xc_peer_send_text(f->alice, text, NULL);
        tick(f);
    }
    assert_int_equal(drain(f, s, 5, ids + 30, 5, NULL), 5);
    uint64_t extra[4];
    assert_int_equal(drain(f, s, 1, extra, 3, NULL), 0); /* nothing more, nothing twice */
    xc_stream_stats st;
    xc_stream_stats_get(s, &st);
    assert_int_equal(st.delivered, 35);
    assert_int_equal(st.reconnects, 1);
    /* resent: the commit at the stored cursor (the only envelope at or before it) when the
     * stream first subscribed, then the last 3 handed out before the drop */
    assert_int_equal(st.duplicates, 4);
    assert_int_equal(st.subscriptions, 2);
    assert_int_equal(xc_node_fake_subscriptions(f->node), 2);
    /* the store: every text once, in order; the group's cursor is the last envelope's */
    texts t;
    stored_texts(f, &t);
    assert_int_equal(t.n, 35);
    for (int i = 0; i < 35; i++) {
        snprintf(text, sizeof text, "m%02d", i);
        assert_string_equal(t.text[i], text);
    }
    xc_group_row r;
    xc_group_row_init(&r);
    assert_int_equal(xc_store_group_get(xc_client_store(f->bot), gid, gl, &r, &eb), XW_OK);
    assert_int_equal(r.cursor, ids[34]);
    xc_group_row_free(&r);
    xc_stream_close(s);
}

static void test_backoff_bounded(void **state)
{
    fixture *f = *state;
    join_and_sync(f);
    size_t gl;
    const uint8_t *gid = xc_peer_group_id(f->alice, &gl);
    xc_stream *s = NULL;
    xw_errbuf eb = {{0}};
    xc_stream_opts o = {.backoff_min_ms = 100, .backoff_max_ms = 400};
    assert_int_equal(xc_stream_open_group(f->bot, gid, gl, &o, &s, &eb), XW_OK);
    xc_peer_send_text(f->alice, "after the outage", NULL);
    /* the node is unavailable for the next 5 calls (subscribes) */
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 5);
    xc_stream_item it;
    int got = 1;
    xc_stream_stats st;
    /* the expected waits: 100, 200, 400, 400, 400 ms; each attempt only once its time came */
    const int waits[5] = {100, 200, 400, 400, 400};
    assert_int_equal(xc_stream_next(s, 1000, &it, &got, &eb), XW_OK); /* attempt 1 fails */
    assert_false(got);
    for (int i = 0; i < 5; i++) {
        xc_stream_stats_get(s, &st);
        assert_int_equal(st.reconnects, (size_t)i + 1);
        /* just before the backoff ends: no new attempt */
        xw_clock_manual_advance(f->clock, (int64_t)(waits[i] - 1) * XW_NS_PER_MS);
        assert_int_equal(xc_stream_next(s, 1000, &it, &got, &eb), XW_OK);
        assert_false(got);
        xc_stream_stats_get(s, &st);
        assert_int_equal(st.reconnects, (size_t)i + 1);
        xw_clock_manual_advance(f->clock, XW_NS_PER_MS);
        assert_int_equal(xc_stream_next(s, 1000, &it, &got, &eb), XW_OK);
        if (i < 4)
            assert_false(got);
    }
    assert_true(got); /* the sixth attempt subscribed and delivered */
    assert_int_equal(it.kind, XC_ITEM_GROUP_MESSAGE);
    xc_events ev;
    assert_int_equal(xc_stream_apply(f->bot, &it, NULL, &ev, &eb), XW_OK);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.ev[0].text, "after the outage");
    xc_events_free(&ev);
    xc_stream_item_free(&it);
    xc_stream_stats_get(s, &st);
    assert_int_equal(st.subscriptions, 1);
    xc_stream_close(s);
}

static void test_welcomes_then_all_groups(void **state)
{
    fixture *f = *state;
    xc_stream *w = NULL, *all = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_stream_open_welcomes(f->bot, NULL, &w, &eb), XW_OK);
    assert_int_equal(xc_stream_open_all(f->bot, NULL, &all, &eb), XW_OK);
    uint64_t ids[8];
    assert_int_equal(drain(f, w, 1, ids, 2, all), 0);
    xc_peer_create_group(f->alice, "g1");
    xc_peer_send_text(f->alice, "not for us", NULL);
    xc_peer_add(f->alice, xc_client_inbox_id(f->bot), xc_client_installation_id(f->bot));
    tick(f);
    xc_peer_send_text(f->alice, "first", NULL);
    tick(f);
    assert_int_equal(drain(f, w, 1, ids, 3, all), 1); /* joined; the all-groups stream follows it */
    xc_peer_send_text(f->alice, "second", NULL);
    tick(f);
    assert_int_equal(drain(f, all, 2, ids, 3, NULL), 2);
    texts t;
    stored_texts(f, &t);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.text[0], "first");
    assert_string_equal(t.text[1], "second");
    assert_int_equal(drain(f, w, 1, ids, 2, all), 0);
    xc_stream_close(w);
    xc_stream_close(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_drop_in_the_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_welcomes_then_all_groups, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
