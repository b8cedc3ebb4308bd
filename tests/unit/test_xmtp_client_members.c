/*
 * Tests for groups the client runs (xmtp/client/members.c, intent.c) on the fake node: the
 * bot creates a group with libxmtp's extensions, adds two other C clients (who join from
 * its welcomes and validate them as libxmtp does), everyone's member lists agree, texts go
 * both ways (each first send preceded by a self-update commit), the bot removes one member;
 * partial failures are reported per inbox; a commit that loses its epoch to another
 * member's is rebuilt and both sides end at the same epoch authenticator.
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
#include "xmtp/client/client_int.h"

#define N_CLIENTS 3 /* bot, amy, ben */

typedef struct {
    char dir[64];
    xw_clock *clock;
    xc_node *node;
    xmtp_wallet *wallet[N_CLIENTS];
    xc_client *c[N_CLIENTS];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/xc-members-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    f->clock = xw_clock_manual_new(xw_clock_now_ns(xw_clock_real()), 1);
    xw_errbuf eb = {{0}};
    if (xc_node_fake_new(f->clock, &f->node, &eb) != XW_OK)
        return -1;
    for (int i = 0; i < N_CLIENTS; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/c%d.db3", f->dir, i);
        xc_client_opts o = {.db_path = path, .node = f->node, .clock = f->clock};
        if (xmtp_wallet_generate(&f->wallet[i], &eb) != XW_OK ||
            xc_client_create(&o, f->wallet[i], &f->c[i], &eb) != XW_OK) {
            fprintf(stderr, "create: %s\n", eb.msg);
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < N_CLIENTS; i++) {
        xc_client_free(f->c[i]);
        xmtp_wallet_free(f->wallet[i]);
    }
    xc_node_free(f->node);
    xw_clock_free(f->clock);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void tick(fixture *f) { xw_clock_manual_advance(f->clock, 1000 * XW_NS_PER_MS); }

#define OK(expr)                                                                                             \
    do {                                                                                                     \
        xw_errbuf eb_ = {{0}};                                                                               \
        xw_errbuf *eb = &eb_;                                                                                \
        int rc_ = (expr);                                                                                    \
        if (rc_ != XW_OK)                                                                                    \
            fail_msg("%s -> %s: %s", #expr, xw_errname(rc_), eb_.msg);                                       \
        (void)eb;                                                                                            \
    } while (0)

static int cmp_str(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* The distinct inbox ids of a client's roster of the group, sorted, joined by ','. */
static void roster(xc_client *c, const uint8_t *gid, char *out, size_t n)
{
    xc_member_row *m = NULL;
    size_t nm = 0;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_members_get(xc_client_store(c), gid, 16, &m, &nm, &eb), XW_OK);
    char ids[16][XC_INBOX_LEN + 1];
    size_t k = 0;
    for (size_t i = 0; i < nm && k < 16; i++) {
        int dup = 0;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strcmp(ids[j], m[i].inbox_id) == 0;
        if (!dup)
            memcpy(ids[k++], m[i].inbox_id, XC_INBOX_LEN + 1);
    }
    xw_free(m);
    qsort(ids, k, sizeof ids[0], cmp_str);
    out[0] = 0;
    size_t used = 0;
    for (size_t i = 0; i < k; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? "," : "", ids[i]);
}

static void row(xc_client *c, const uint8_t *gid, xc_group_row *r)
{
    xw_errbuf eb = {{0}};
    xc_group_row_init(r);
    assert_int_equal(xc_store_group_get(xc_client_store(c), gid, 16, r, &eb), XW_OK);
}

static void assert_buf_str(const xw_buf *b, const char *s)
{
    assert_int_equal(b->len, strlen(s));
    if (b->len)
        assert_memory_equal(b->data, s, b->len);
}

typedef struct {
    size_t n;
    char last_text[128], last_sender[XC_INBOX_LEN + 1];
} texts;

static int take(void *ctx, const xc_message_row *m)
{
    texts *t = ctx;
    if (m->kind != XC_KIND_APPLICATION)
        return XW_OK;
    t->n++;
    snprintf(t->last_text, sizeof t->last_text, "%.*s", (int)m->decoded_len, m->decoded ? m->decoded : "");
    snprintf(t->last_sender, sizeof t->last_sender, "%s", m->sender_inbox_id);
    return XW_OK;
}

static void read_texts(xc_client *c, const uint8_t *gid, texts *t)
{
    memset(t, 0, sizeof *t);
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_message_each(xc_client_store(c), gid, 16, 0, take, t, &eb), XW_OK);
}

static void join(fixture *f, int who, size_t expect)
{
    xc_welcome_stats ws = {0};
    OK(xc_client_sync_welcomes(f->c[who], &ws, eb));
    assert_int_equal(ws.joined, expect);
    assert_int_equal(ws.quarantined, 0);
}

static void test_create_add_remove(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0], *amy = f->c[1], *ben = f->c[2];
    uint8_t gid[16];
    xc_group_opts go = {
        .name = "Moderated", .description = "a group the bot runs", .image_url = "https://x/i.png"};
    OK(xc_group_create(bot, &go, gid, eb));
    xc_group_row r;
    row(bot, gid, &r);
    assert_buf_str(&r.name, "Moderated");
    assert_buf_str(&r.description, "a group the bot runs");
    assert_buf_str(&r.image_url, "https://x/i.png");
    assert_buf_str(&r.super_admins, xc_client_inbox_id(bot));
    assert_buf_str(&r.admins, "");
    assert_int_equal(r.membership_state, XC_MEMBERSHIP_ALLOWED);
    xc_group_row_free(&r);

    /* add both in one commit; they join from the bot's welcomes */
    tick(f);
    const char *both[2] = {xc_client_inbox_id(amy), xc_client_inbox_id(ben)};
    xc_add_result res;
    OK(xc_group_add_members(bot, gid, 16, both, 2, &res, eb));
    assert_int_equal(res.inboxes_added, 2);
    assert_int_equal(res.installations_added, 2);
    assert_int_equal(res.n_errors, 0);
    join(f, 1, 1);
    join(f, 2, 1);
    char rb[1024], ra[1024], rn[1024];
    roster(bot, gid, rb, sizeof rb);
    roster(amy, gid, ra, sizeof ra);
    roster(ben, gid, rn, sizeof rn);
    assert_string_equal(rb, ra);
    assert_string_equal(rb, rn);
    assert_int_equal(strlen(rb), 3 * XC_INBOX_LEN + 2);
    row(amy, gid, &r);
    assert_buf_str(&r.name, "Moderated");
    assert_buf_str(&r.description, "a group the bot runs");
    assert_buf_str(&r.super_admins, xc_client_inbox_id(bot));
    assert_string_equal(r.added_by_inbox_id, xc_client_inbox_id(bot));
    xc_group_row_free(&r);
    /* adding a member again changes nothing */
    OK(xc_group_add_members(bot, gid, 16, both, 1, &res, eb));
    assert_int_equal(res.inboxes_added, 0);

    /* texts both ways; amy's first send rotates her key first (a commit the bot validates) */
    tick(f);
    OK(xc_group_send_text(bot, gid, 16, "welcome, both", NULL, eb));
    xc_sync_stats st = {0};
    OK(xc_group_sync(amy, gid, 16, &st, eb));
    texts t;
    read_texts(amy, gid, &t);
    assert_string_equal(t.last_text, "welcome, both");
    assert_string_equal(t.last_sender, xc_client_inbox_id(bot));
    tick(f);
    OK(xc_group_send_text(amy, gid, 16, "hi bot", NULL, eb));
    memset(&st, 0, sizeof st);
    OK(xc_group_sync(bot, gid, 16, &st, eb));
    assert_int_equal(st.quarantined, 0);
    assert_int_equal(st.commits, 1); /* amy's self-update */
    read_texts(bot, gid, &t);
    assert_string_equal(t.last_text, "hi bot");
    assert_string_equal(t.last_sender, xc_client_inbox_id(amy));

    /* refusals change nothing */
    const char *me = xc_client_inbox_id(bot);
    xw_errbuf er = {{0}};
    assert_int_equal(xc_group_remove_members(bot, gid, 16, &me, 1, &er), XW_EINVAL);
    assert_int_equal(xc_group_remove_members(amy, gid, 16, &me, 1, &er), XW_EDENIED);
    assert_non_null(strstr(er.msg, "super admin"));
    const char *stranger = "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(xc_group_remove_members(bot, gid, 16, &stranger, 1, &er), XW_ENOTFOUND);

    /* the bot removes ben */
    tick(f);
    OK(xc_group_remove_members(bot, gid, 16, &both[1], 1, eb));
    OK(xc_group_sync(ben, gid, 16, NULL, eb));
    row(ben, gid, &r);
    assert_int_equal(r.active, 0);
    xc_group_row_free(&r);
    assert_int_equal(xc_group_send_text(ben, gid, 16, "still here?", NULL, &er), XW_ESTATE);
    memset(&st, 0, sizeof st);
    OK(xc_group_sync(amy, gid, 16, &st, eb));
    assert_int_equal(st.quarantined, 0);
    roster(bot, gid, rb, sizeof rb);
    roster(amy, gid, ra, sizeof ra);
    assert_string_equal(rb, ra);
    assert_int_equal(strlen(rb), 2 * XC_INBOX_LEN + 1);
    assert_null(strstr(rb, both[1]));
    /* the bot's intents all went to done */
    xc_group g;
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_false(mls_group_has_staged_commit(g.mls));
    xc_group_release(&g);
}

static void test_add_partial_failure(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0], *amy = f->c[1];
    uint8_t gid[16];
    xc_group_opts go = {.preset = XC_PRESET_ADMINS_ONLY, .name = "Strict"};
    OK(xc_group_create(bot, &go, gid, eb));
    const char *unknown = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *two[2] = {unknown, xc_client_inbox_id(amy)};
    xc_add_result res;
    tick(f);
    OK(xc_group_add_members(bot, gid, 16, two, 2, &res, eb));
    assert_int_equal(res.inboxes_added, 1);
    assert_int_equal(res.n_errors, 1);
    assert_int_equal(res.errors[0].index, 0);
    assert_true(res.errors[0].reason[0] != 0);
    join(f, 1, 1);
    /* amy may not add members in an AdminsOnly group: her commit is refused by the policy */
    xw_errbuf er = {{0}};
    const char *ben = xc_client_inbox_id(f->c[2]);
    int rc = xc_group_add_members(amy, gid, 16, &ben, 1, &res, &er);
    assert_int_equal(rc, XW_EDENIED);
    assert_non_null(strstr(er.msg, "not accepted"));
    /* only unknown inboxes: nothing to add */
    assert_int_equal(xc_group_add_members(bot, gid, 16, &unknown, 1, &res, &er), XW_ENOTFOUND);
    assert_int_equal(res.n_errors, 1);
    /* by wallet address: ben's resolves, an address without an inbox is reported */
    tick(f);
    const char *addrs[2] = {f->c[2]->address, "0x000000000000000000000000000000000000dEaD"};
    OK(xc_group_add_members_by_address(bot, gid, 16, addrs, 2, &res, eb));
    assert_int_equal(res.inboxes_added, 1);
    assert_int_equal(res.n_errors, 1);
    assert_int_equal(res.errors[0].index, 1);
    assert_int_equal(res.errors[0].err, XW_ENOTFOUND);
    join(f, 2, 1);
    /* the group stays usable */
    tick(f);
    OK(xc_group_send_text(bot, gid, 16, "still fine", NULL, eb));
    OK(xc_group_sync(amy, gid, 16, NULL, eb));
    texts t;
    read_texts(amy, gid, &t);
    assert_string_equal(t.last_text, "still fine");
}

/* A plan that lets amy commit first (once), then asks for a self-update. */
typedef struct {
    fixture *f;
    uint8_t gid[16];
    int calls;
} race_ctx;

static int race_plan(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb)
{
    (void)c;
    (void)g;
    (void)plan;
    (void)eb;
    race_ctx *r = ctx;
    if (r->calls++ == 0) {
        const char *ben = xc_client_inbox_id(r->f->c[2]);
        xc_add_result res;
        xw_errbuf ae = {{0}};
        int rc = xc_group_add_members(r->f->c[1], r->gid, 16, &ben, 1, &res, &ae);
        if (rc != XW_OK)
            fprintf(stderr, "amy's add: %s\n", ae.msg);
        assert_int_equal(rc, XW_OK);
    }
    return XW_OK;
}

static void test_lost_race_rebuilt(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0], *amy = f->c[1];
    race_ctx r = {.f = f};
    OK(xc_group_create(bot, NULL, r.gid, eb));
    const char *a = xc_client_inbox_id(amy);
    tick(f);
    OK(xc_group_add_members(bot, r.gid, 16, &a, 1, NULL, eb));
    join(f, 1, 1);
    OK(xc_group_sync(amy, r.gid, 16, NULL, eb));
    tick(f);
    OK(xc_commit_intent(bot, r.gid, 16, XC_INTENT_KEY_UPDATE, race_plan, &r, eb));
    assert_int_equal(r.calls, 2); /* built, lost to amy's commit, rebuilt */
    OK(xc_group_sync(amy, r.gid, 16, NULL, eb));
    join(f, 2, 1);
    xc_group gb, ga;
    OK(xc_group_load(bot, r.gid, 16, &gb, eb));
    OK(xc_group_load(amy, r.gid, 16, &ga, eb));
    assert_int_equal(mls_group_epoch(gb.mls), mls_group_epoch(ga.mls));
    size_t lb = 0, la = 0;
    const uint8_t *eab = mls_group_epoch_authenticator(gb.mls, &lb);
    const uint8_t *eaa = mls_group_epoch_authenticator(ga.mls, &la);
    assert_int_equal(lb, la);
    assert_memory_equal(eab, eaa, lb);
    xc_group_release(&gb);
    xc_group_release(&ga);
    char rb[1024], ra[1024];
    roster(bot, r.gid, rb, sizeof rb);
    roster(amy, r.gid, ra, sizeof ra);
    assert_string_equal(rb, ra);
    assert_int_equal(strlen(rb), 3 * XC_INBOX_LEN + 2);
}

/* Adds ben by hand (his key package from the fake node, the map with his latest sequence id)
 * and makes the node fail the next call: the publish. */
typedef struct {
    fixture *f;
    xw_buf mem, gce;
    const uint8_t *kp;
    size_t kp_len;
    uint8_t inst[1][XC_INSTALLATION_LEN];
} outage_ctx;

static int outage_plan(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb)
{
    outage_ctx *o = ctx;
    xc_client *ben = o->f->c[2];
    xmtp_assoc_state *st = NULL;
    int rc = xc_assoc_latest(c, xc_client_inbox_id(ben), &st, eb);
    if (rc != XW_OK)
        return rc;
    const char *names[2] = {g->membership.inboxes[0].inbox_id, xc_client_inbox_id(ben)};
    uint64_t seqs[2] = {g->membership.inboxes[0].sequence_id, xmtp_assoc_state_sequence_id(st)};
    xmtp_assoc_state_free(st);
    assert_int_equal(g->membership.n, 1);
    memcpy(o->inst[0], xc_client_installation_id(ben), XC_INSTALLATION_LEN);
    o->kp = xc_node_fake_key_package(o->f->node, o->inst[0], XC_INSTALLATION_LEN, &o->kp_len);
    assert_non_null(o->kp);
    mls_span exts = mls_group_extensions(g->mls);
    xw_buf_reset(&o->mem);
    xw_buf_reset(&o->gce);
    rc = xc_meta_membership_encode(names, seqs, 2, &o->mem, eb);
    if (rc == XW_OK)
        rc = xc_meta_replace_ext(exts.p, exts.len, XC_EXT_GROUP_MEMBERSHIP, o->mem.data, o->mem.len, &o->gce,
                                 eb);
    plan->o.add_kps = &o->kp;
    plan->o.add_lens = &o->kp_len;
    plan->o.n_add = 1;
    plan->o.gce = o->gce.data;
    plan->o.gce_len = o->gce.len;
    plan->add_installations = (const uint8_t(*)[XC_INSTALLATION_LEN])o->inst;
    xc_node_fake_fail_next(o->f->node, XW_EUNAVAILABLE, 1);
    return rc;
}

static void test_commit_survives_outage_and_restart(void **state)
{
    fixture *f = *state;
    uint8_t gid[16];
    OK(xc_group_create(f->c[0], NULL, gid, eb));
    outage_ctx o = {.f = f};
    xw_buf_init(&o.mem, 1 << 20);
    xw_buf_init(&o.gce, 1 << 20);
    tick(f);
    xw_errbuf er = {{0}};
    assert_int_equal(xc_commit_intent(f->c[0], gid, 16, XC_INTENT_UPDATE_MEMBERSHIP, outage_plan, &o, &er),
                     XW_EUNAVAILABLE);
    /* nothing on the node yet, the staged commit kept in the saved state */
    xc_group g;
    OK(xc_group_load(f->c[0], gid, 16, &g, eb));
    assert_true(mls_group_has_staged_commit(g.mls));
    assert_int_equal(mls_group_epoch(g.mls), 0);
    xc_group_release(&g);
    join(f, 2, 0);
    /* a restart, then two syncs: the first publishes, the second merges and welcomes */
    char path[128];
    snprintf(path, sizeof path, "%s/c0.db3", f->dir);
    xc_client_free(f->c[0]);
    xc_client_opts co = {.db_path = path, .node = f->node, .clock = f->clock};
    OK(xc_client_open(&co, &f->c[0], eb));
    OK(xc_group_sync(f->c[0], gid, 16, NULL, eb));
    OK(xc_group_sync(f->c[0], gid, 16, NULL, eb));
    OK(xc_group_load(f->c[0], gid, 16, &g, eb));
    assert_false(mls_group_has_staged_commit(g.mls));
    assert_int_equal(mls_group_epoch(g.mls), 1);
    xc_group_release(&g);
    join(f, 2, 1);
    char rb[1024], rn[1024];
    roster(f->c[0], gid, rb, sizeof rb);
    roster(f->c[2], gid, rn, sizeof rn);
    assert_string_equal(rb, rn);
    assert_int_equal(strlen(rb), 2 * XC_INBOX_LEN + 1);
    xw_buf_free(&o.mem);
    xw_buf_free(&o.gce);
}

static size_t leaves(xc_client *c, const uint8_t *gid)
{
    xc_member_row *m = NULL;
    size_t nm = 0;
    xw_errbuf eb = {{0}};
    assert_int_equal(xc_store_members_get(xc_client_store(c), gid, 16, &m, &nm, &eb), XW_OK);
    xw_free(m);
    return nm;
}

static void test_new_installation_added_before_send(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0], *amy = f->c[1];
    uint8_t gid[16];
    OK(xc_group_create(bot, NULL, gid, eb));
    const char *a = xc_client_inbox_id(amy);
    tick(f);
    OK(xc_group_add_members(bot, gid, 16, &a, 1, NULL, eb));
    join(f, 1, 1);
    /* nothing changed: no commit */
    xc_group g;
    OK(xc_group_load(bot, gid, 16, &g, eb));
    uint64_t epoch = mls_group_epoch(g.mls);
    xc_group_release(&g);
    OK(xc_group_update_installations(bot, gid, 16, eb));
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_int_equal(mls_group_epoch(g.mls), epoch);
    xc_group_release(&g);
    /* amy registers a second installation (same wallet, another file) */
    char path[128];
    snprintf(path, sizeof path, "%s/amy2.db3", f->dir);
    xc_client_opts o = {.db_path = path, .node = f->node, .clock = f->clock};
    xc_client *amy2 = NULL;
    OK(xc_client_create(&o, f->wallet[1], &amy2, eb));
    assert_string_equal(xc_client_inbox_id(amy2), a);
    /* more than 5 s later the bot's send first adds it (libxmtp's check before a message) */
    for (int i = 0; i < 6; i++)
        tick(f);
    OK(xc_group_send_text(bot, gid, 16, "for both of amy's devices", NULL, eb));
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_int_equal(mls_group_epoch(g.mls), epoch + 1);
    xc_group_release(&g);
    assert_int_equal(leaves(bot, gid), 3);
    xc_welcome_stats ws = {0};
    OK(xc_client_sync_welcomes(amy2, &ws, eb));
    assert_int_equal(ws.joined, 1);
    assert_int_equal(ws.quarantined, 0);
    texts t;
    read_texts(amy2, gid, &t);
    assert_string_equal(t.last_text, "for both of amy's devices");
    xc_sync_stats st = {0};
    OK(xc_group_sync(amy, gid, 16, &st, eb));
    assert_int_equal(st.quarantined, 0);
    assert_int_equal(leaves(amy, gid), 3);
    assert_int_equal(leaves(amy2, gid), 3);
    /* within 5 s no check: the next send commits nothing */
    tick(f);
    OK(xc_group_send_text(bot, gid, 16, "again", NULL, eb));
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_int_equal(mls_group_epoch(g.mls), epoch + 1);
    xc_group_release(&g);
    xc_client_free(amy2);
}

static xc_client *second_installation(fixture *f, int who, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.db3", f->dir, name);
    xc_client_opts o = {.db_path = path, .node = f->node, .clock = f->clock};
    xc_client *c = NULL;
    OK(xc_client_create(&o, f->wallet[who], &c, eb));
    return c;
}

static void test_add_updates_existing_members(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0];
    uint8_t gid[16];
    OK(xc_group_create(bot, NULL, gid, eb));
    /* the bot's own second installation, registered after the group was made */
    xc_client *bot2 = second_installation(f, 0, "bot2");
    tick(f);
    const char *a = xc_client_inbox_id(f->c[1]);
    xc_add_result res;
    OK(xc_group_add_members(bot, gid, 16, &a, 1, &res, eb));
    assert_int_equal(res.inboxes_added, 1);
    assert_int_equal(leaves(bot, gid), 3); /* bot, bot2 (brought in by the add), amy */
    xc_welcome_stats ws = {0};
    OK(xc_client_sync_welcomes(bot2, &ws, eb));
    assert_int_equal(ws.joined, 1);
    assert_int_equal(ws.quarantined, 0);
    join(f, 1, 1);
    /* amy's second installation joins with the next add (ben's) */
    xc_client *amy2 = second_installation(f, 1, "amy2");
    tick(f);
    const char *b = xc_client_inbox_id(f->c[2]);
    OK(xc_group_add_members(bot, gid, 16, &b, 1, &res, eb));
    assert_int_equal(leaves(bot, gid), 5);
    memset(&ws, 0, sizeof ws);
    OK(xc_client_sync_welcomes(amy2, &ws, eb));
    assert_int_equal(ws.joined, 1);
    join(f, 2, 1);
    xc_sync_stats st = {0};
    OK(xc_group_sync(f->c[1], gid, 16, &st, eb));
    assert_int_equal(st.quarantined, 0);
    assert_int_equal(leaves(f->c[1], gid), 5);
    assert_int_equal(leaves(f->c[2], gid), 5);
    xc_client_free(bot2);
    xc_client_free(amy2);
}

typedef struct {
    size_t n;
    char reason[256];
} quarantined;

static int take_q(void *ctx, const xc_quarantine_row *q)
{
    quarantined *l = ctx;
    l->n++;
    snprintf(l->reason, sizeof l->reason, "%s", q->reason);
    return XW_OK;
}

/* A message sent in an epoch before its sender's leaf went to someone else. */
static void test_late_message_from_a_reused_leaf(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0], *amy = f->c[1];
    uint8_t gid[16];
    OK(xc_group_create(bot, NULL, gid, eb));
    const char *two[2] = {xc_client_inbox_id(amy), xc_client_inbox_id(f->c[2])};
    tick(f);
    OK(xc_group_add_members(bot, gid, 16, two, 2, NULL, eb));
    join(f, 1, 1);
    join(f, 2, 1);
    tick(f);
    OK(xc_group_send_text(amy, gid, 16, "on time", NULL, eb)); /* her key update, then the text */
    OK(xc_group_sync(bot, gid, 16, NULL, eb));
    /* amy's next text is encrypted but the node is down: it stays queued */
    tick(f);
    xc_node_fake_fail_next(f->node, XW_EUNAVAILABLE, 1);
    xw_errbuf er = {{0}};
    assert_int_equal(xc_group_send_text(amy, gid, 16, "late", NULL, &er), XW_EUNAVAILABLE);
    /* the bot removes amy; ben's second installation takes her leaf */
    OK(xc_group_remove_members(bot, gid, 16, &two[0], 1, eb));
    xc_client *ben2 = second_installation(f, 2, "ben2");
    tick(f);
    OK(xc_group_update_installations(bot, gid, 16, eb));
    assert_int_equal(leaves(bot, gid), 3);
    /* amy's queued message reaches the node after both commits */
    OK(xc_group_publish(amy, gid, 16, eb));
    xc_sync_stats st = {0};
    OK(xc_group_sync(bot, gid, 16, &st, eb));
    assert_int_equal(st.quarantined, 1);
    quarantined q = {0};
    OK(xc_store_quarantine_each(xc_client_store(bot), take_q, &q, eb));
    assert_int_equal(q.n, 1);
    assert_non_null(strstr(q.reason, "sender is not known"));
    texts t;
    read_texts(bot, gid, &t);
    assert_string_equal(t.last_text, "on time");
    xc_client_free(ben2);
}

static int refused_plan(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb)
{
    (void)c;
    (void)g;
    (void)plan;
    (void)eb;
    xc_node_fake_fail_next(((fixture *)ctx)->node, XW_EGRPC, 1); /* the publish */
    return XW_OK;
}

/* A commit the node refuses three times is given up and its staged epoch dropped. */
static void test_refused_commit_given_up(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0];
    uint8_t gid[16];
    OK(xc_group_create(bot, NULL, gid, eb));
    tick(f);
    xw_errbuf er = {{0}};
    assert_int_equal(xc_commit_intent(bot, gid, 16, XC_INTENT_KEY_UPDATE, refused_plan, f, &er), XW_EGRPC);
    for (int i = 0; i < 2; i++) {
        xc_node_fake_fail_next(f->node, XW_EGRPC, 1);
        assert_int_equal(xc_group_publish(bot, gid, 16, &er), XW_EGRPC);
    }
    assert_non_null(strstr(er.msg, "attempt 3 of 3"));
    xc_group g;
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_false(mls_group_has_staged_commit(g.mls));
    assert_int_equal(mls_group_epoch(g.mls), 0);
    xc_group_release(&g);
    /* the next commit goes through */
    const char *a = xc_client_inbox_id(f->c[1]);
    OK(xc_group_add_members(bot, gid, 16, &a, 1, NULL, eb));
    join(f, 1, 1);
}

/* Puts a key package on the node for client c's installation, built with another inbox id
 * or an old time. */
static void bad_key_package(fixture *f, xc_client *c, const char *inbox, int64_t now_ns)
{
    xw_buf kp;
    xw_buf_init(&kp, 1 << 20);
    mls_key_package_secrets sec;
    OK(xc_kp_build(c->suite, &c->sig, inbox, NULL, now_ns, &kp, &sec, eb));
    mls_key_package_secrets_wipe(&sec);
    OK(f->node->ops->upload_key_package(f->node->ctx, kp.data, kp.len, eb));
    xw_buf_free(&kp);
}

static void test_bad_key_packages_reported(void **state)
{
    fixture *f = *state;
    xc_client *bot = f->c[0], *amy = f->c[1], *ben = f->c[2];
    uint8_t gid[16];
    OK(xc_group_create(bot, NULL, gid, eb));
    /* amy's key package names ben's inbox; ben's expired 100 days ago */
    bad_key_package(f, amy, xc_client_inbox_id(ben), xw_clock_now_ns(f->clock));
    bad_key_package(f, ben, xc_client_inbox_id(ben),
                    xw_clock_now_ns(f->clock) - (int64_t)100 * 86400 * XW_NS_PER_SEC);
    const char *two[2] = {xc_client_inbox_id(amy), xc_client_inbox_id(ben)};
    xc_add_result res;
    xw_errbuf er = {{0}};
    tick(f);
    assert_int_equal(xc_group_add_members(bot, gid, 16, two, 2, &res, &er), XW_ENOTFOUND);
    assert_int_equal(res.n_errors, 2);
    assert_int_equal(res.installations_failed, 2);
    assert_int_equal(res.errors[0].index, 0);
    assert_non_null(strstr(res.errors[0].reason, "names inbox"));
    assert_int_equal(res.errors[1].index, 1);
    assert_int_equal(leaves(bot, gid), 1);
    xc_group g;
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_int_equal(mls_group_epoch(g.mls), 0);
    xc_group_release(&g);
    /* amy uploads a good one: she is added, ben still reported */
    OK(xc_client_rotate_key_package(amy, eb));
    tick(f);
    OK(xc_group_add_members(bot, gid, 16, two, 2, &res, eb));
    assert_int_equal(res.inboxes_added, 1);
    assert_int_equal(res.n_errors, 1);
    assert_int_equal(res.errors[0].index, 1);
    join(f, 1, 1);
    assert_int_equal(leaves(amy, gid), 2);
    /* ben was left out, so his installation is not listed as failed */
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_int_equal(g.membership.n_failed, 0);
    assert_int_equal(g.membership.n, 2);
    xc_group_release(&g);
    /* ben fixes his key package, but his new second installation has a bad one: ben is added
     * with one installation, the other listed as failed; ben and amy accept that */
    OK(xc_client_rotate_key_package(ben, eb));
    xc_client *ben2 = second_installation(f, 2, "ben2");
    bad_key_package(f, ben2, xc_client_inbox_id(amy), xw_clock_now_ns(f->clock));
    tick(f);
    OK(xc_group_add_members(bot, gid, 16, &two[1], 1, &res, eb));
    assert_int_equal(res.inboxes_added, 1);
    assert_int_equal(res.installations_added, 1);
    assert_int_equal(res.installations_failed, 1);
    OK(xc_group_load(bot, gid, 16, &g, eb));
    assert_int_equal(g.membership.n_failed, 1);
    assert_memory_equal(g.membership.failed[0], xc_client_installation_id(ben2), XC_INSTALLATION_LEN);
    xc_group_release(&g);
    join(f, 2, 1);
    xc_sync_stats st = {0};
    OK(xc_group_sync(amy, gid, 16, &st, eb));
    assert_int_equal(st.quarantined, 0);
    assert_int_equal(leaves(amy, gid), 3);
    assert_int_equal(leaves(ben, gid), 3);
    xc_client_free(ben2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_add_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_partial_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_race_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_survives_outage_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_installation_added_before_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_updates_existing_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_message_from_a_reused_leaf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_commit_given_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_key_packages_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
