/*
 * Unit tests for the group half of mls/: rejected inputs (bad commits, update paths, external
 * senders, tree validation, GroupInfo, wire format policy, Welcomes, key packages, ReInit and
 * external init), each checked to leave the saved state byte-identical, and unknown
 * extensions preserved. The group lifecycle is in test_mls_group.c.
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

/* Receiving msg must fail with `want` (0: any error) and leave m's saved state unchanged. */
static void reject_unchanged(mls_group *m, const uint8_t *msg, size_t n, int want)
{
    xw_buf before, after;
    save(m, &before);
    mls_received r;
    mls_received_init(&r);
    xw_errbuf eb = {{0}};
    int rc = mls_group_receive(m, msg, n, &r, &eb);
    assert_int_not_equal(rc, XW_OK);
    if (want)
        assert_int_equal(rc, want);
    assert_true(eb.msg[0] != 0);
    save(m, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    mls_received_free(&r);
    xw_buf_free_secret(&before);
    xw_buf_free_secret(&after);
}

/* Member c builds an invalid commit (checks skipped); every other member must reject it. */
static void bad_commit(world *w, size_t c, const mls_commit_opts *o, int want)
{
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_errbuf eb = {{0}};
    mls_group_test_unchecked = 1;
    int rc = mls_group_commit(w->m[c], o, &cm, &wm, &eb);
    mls_group_test_unchecked = 0;
    if (rc != XW_OK)
        fail_msg("crafting: %s", eb.msg);
    for (size_t i = 0; i < w->n; i++)
        if (w->m[i] && i != c)
            reject_unchanged(w->m[i], cm.data, cm.len, want);
    mls_group_commit_discard(w->m[c]);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
}

static void test_reject_bad_commits(void **st)
{
    (void)st;
    world w;
    world_init(&w, 1, 1);
    add_members(&w, 0, 3);
    uint32_t self = mls_group_own_leaf(w.m[1]);
    mls_commit_opts o1 = {.remove = &self, .n_remove = 1, .no_path = 1};
    bad_commit(&w, 1, &o1, XW_EMLS_PROPOSAL); /* removes the committer */
    uint32_t twice[2] = {mls_group_own_leaf(w.m[2]), mls_group_own_leaf(w.m[2])};
    mls_commit_opts o2 = {.remove = twice, .n_remove = 2};
    bad_commit(&w, 1, &o2, XW_EMLS_PROPOSAL); /* two removes of one leaf */
    uint32_t blank = 7;
    mls_commit_opts o3 = {.remove = &blank, .n_remove = 1};
    bad_commit(&w, 1, &o3, XW_EMLS_PROPOSAL); /* removes a non-member */
    kpkg k;
    make_kp(w.s, "twice", &k);
    const uint8_t *kps[2] = {k.kp.data, k.kp.data};
    size_t lens[2] = {k.kp.len, k.kp.len};
    mls_commit_opts o4 = {.add_kps = kps, .add_lens = lens, .n_add = 2};
    bad_commit(&w, 1, &o4, XW_EMLS_PROPOSAL);            /* same client added twice */
    uint8_t e2[] = {0x00, 0x01, 0x00, 0x00, 0x01, 0x00}; /* application_id twice */
    mls_commit_opts o5 = {.gce = e2, .gce_len = sizeof e2};
    bad_commit(&w, 1, &o5, XW_EMALFORMED);
    mls_external_psk psk = {(const uint8_t *)"unknown", 7, (const uint8_t *)"k", 1};
    const mls_external_psk *pp = &psk;
    assert_int_equal(mls_group_add_external_psk(w.m[1], &psk, NULL), XW_OK);
    mls_commit_opts o6 = {.psks = &pp, .n_psks = 1};
    bad_commit(&w, 1, &o6, XW_ENOTFOUND); /* a PSK the others do not hold */
    /* tampered, replayed and misrouted messages */
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_errbuf eb = {{0}};
    mls_commit_opts none = {0};
    assert_int_equal(mls_group_commit(w.m[1], &none, &cm, &wm, &eb), XW_OK);
    for (size_t pos = 0; pos < cm.len; pos += cm.len / 23 + 1) {
        cm.data[pos] ^= 0x20;
        reject_unchanged(w.m[2], cm.data, cm.len, 0);
        cm.data[pos] ^= 0x20;
    }
    reject_unchanged(w.m[2], cm.data, cm.len - 1, 0);
    deliver(&w, &cm, 1);
    assert_int_equal(mls_group_commit_confirm(w.m[1], &eb), XW_OK);
    reject_unchanged(w.m[2], cm.data, cm.len, XW_EMLS_EPOCH); /* replay */
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    kp_free(&k);
    world_free(&w);
}

/* A PrivateMessage from member `from` with the given content, signed by `signer` (NULL: its
 * own key): lets tests send what the API would refuse to build. */
static void craft_private(world *w, size_t from, uint8_t content_type, const uint8_t *body, size_t n,
                          const mls_sig_priv *signer, xw_buf *out)
{
    mls_group *g = w->m[from];
    mls_framing_ctx ctx;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_framing_ctx(g, &ctx, &eb), XW_OK);
    mls_framed_content fc = {{g->group_id.data, g->group_id.len},
                             g->epoch,
                             {MLS_SENDER_MEMBER, g->me},
                             {NULL, 0},
                             content_type,
                             {body, n}};
    xw_buf_init(out, 1 << 20);
    assert_int_equal(mls_protect_private(&ctx, &fc, signer ? signer : &g->sig, NULL, 32, out, &eb), XW_OK);
}

static void send_text(mls_group *g, const char *text, xw_buf *out)
{
    xw_errbuf eb = {{0}};
    xw_buf_init(out, 1 << 20);
    assert_int_equal(mls_group_send(g, (const uint8_t *)text, strlen(text), out, &eb), XW_OK);
}

static void accept_text(mls_group *g, const xw_buf *m, const char *text)
{
    mls_received r;
    mls_received_init(&r);
    xw_errbuf eb = {{0}};
    int rc = mls_group_receive(g, m->data, m->len, &r, &eb);
    if (rc != XW_OK)
        fail_msg("receive: %s", eb.msg);
    assert_int_equal(r.kind, MLS_RECEIVED_APPLICATION);
    assert_int_equal(r.data.len, strlen(text));
    assert_memory_equal(r.data.data, text, r.data.len);
    mls_received_free(&r);
}

/* Every kind of rejected message, with XMTP's policy (PrivateMessage handshakes), leaves the
 * saved state byte-identical: bad tag, bad signature, wrong epoch, invalid proposal, bad
 * commit, and generations outside the window, with valid messages still accepted after. */
static void test_private_rejects_leave_state(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    w.cfg.max_forward = 10; /* the joiners' window: a generation 11 ahead is refused */
    add_members(&w, 0, 3);
    mls_group *rcv = w.m[2];
    /* bad tag: the first message of member 1 in this epoch, one ciphertext byte flipped (the
     * secret tree used to derive member 1's ratchets before the tag was checked) */
    xw_buf m;
    send_text(w.m[1], "first", &m);
    m.data[m.len - 3] ^= 0x40;
    reject_unchanged(rcv, m.data, m.len, XW_EDECRYPT);
    m.data[m.len - 3] ^= 0x40;
    accept_text(rcv, &m, "first");
    reject_unchanged(rcv, m.data, m.len, XW_EMLS_GENERATION); /* replayed */
    xw_buf_free(&m);
    /* bad signature: encrypted with member 1's ratchet, signed with another key */
    mls_sig_priv other;
    assert_int_equal(mls_sig_priv_generate(w.s, &other), XW_OK);
    const char *text = "forged";
    craft_private(&w, 1, MLS_CONTENT_APPLICATION, (const uint8_t *)text, strlen(text), &other, &m);
    reject_unchanged(rcv, m.data, m.len, XW_EBADSIG);
    xw_buf_free(&m);
    /* a proposal that is invalid (Remove of a blank leaf), and one signed by another key */
    uint8_t rm[6] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x07};
    craft_private(&w, 1, MLS_CONTENT_PROPOSAL, rm, sizeof rm, NULL, &m);
    reject_unchanged(rcv, m.data, m.len, XW_EMLS_PROPOSAL);
    xw_buf_free(&m);
    rm[5] = (uint8_t)mls_group_own_leaf(w.m[3]);
    craft_private(&w, 1, MLS_CONTENT_PROPOSAL, rm, sizeof rm, &other, &m);
    reject_unchanged(rcv, m.data, m.len, XW_EBADSIG);
    xw_buf_free(&m);
    /* a commit whose proposal list is invalid, sent as a PrivateMessage: its handshake
     * generation stays unconsumed */
    uint32_t twice[2] = {mls_group_own_leaf(w.m[3]), mls_group_own_leaf(w.m[3])};
    mls_commit_opts o2 = {.remove = twice, .n_remove = 2};
    bad_commit(&w, 1, &o2, XW_EMLS_PROPOSAL);
    /* a tampered private commit */
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_errbuf eb = {{0}};
    mls_commit_opts none = {0};
    assert_int_equal(mls_group_commit(w.m[1], &none, &cm, &wm, &eb), XW_OK);
    cm.data[cm.len - 5] ^= 1;
    reject_unchanged(rcv, cm.data, cm.len, XW_EDECRYPT);
    cm.data[cm.len - 5] ^= 1;
    mls_group_commit_discard(w.m[1]);
    /* the generation window: member 3 sends 16 messages; the receiver gets #3 first */
    xw_buf g[16];
    for (int i = 0; i < 16; i++) {
        char t[16];
        snprintf(t, sizeof t, "gen %d", i);
        send_text(w.m[3], t, &g[i]);
    }
    accept_text(rcv, &g[3], "gen 3");                                 /* #0-#2 are kept in the window */
    reject_unchanged(rcv, g[15].data, g[15].len, XW_EMLS_GENERATION); /* 11 ahead of #4 */
    g[1].data[g[1].len - 1] ^= 1;                                     /* in the window, bad tag */
    reject_unchanged(rcv, g[1].data, g[1].len, XW_EDECRYPT);
    g[1].data[g[1].len - 1] ^= 1;
    g[9].data[g[9].len - 1] ^= 1; /* ahead, within reach, bad tag */
    reject_unchanged(rcv, g[9].data, g[9].len, XW_EDECRYPT);
    g[9].data[g[9].len - 1] ^= 1;
    reject_unchanged(rcv, g[3].data, g[3].len, XW_EMLS_GENERATION); /* replay */
    accept_text(rcv, &g[1], "gen 1");
    accept_text(rcv, &g[2], "gen 2");
    accept_text(rcv, &g[9], "gen 9");   /* #4-#8 enter the window, #0 leaves it */
    accept_text(rcv, &g[15], "gen 15"); /* 6 ahead of #10: #10-#14 replace #4-#8 */
    reject_unchanged(rcv, g[0].data, g[0].len, XW_EMLS_GENERATION);
    reject_unchanged(rcv, g[4].data, g[4].len, XW_EMLS_GENERATION);
    accept_text(rcv, &g[12], "gen 12");
    /* wrong epoch: after a commit, a handshake of the old epoch and an application message
     * older than the kept epochs */
    xw_buf prop;
    xw_buf_init(&prop, 1 << 20);
    assert_int_equal(mls_group_propose_remove(w.m[1], mls_group_own_leaf(w.m[3]), &prop, &eb), XW_OK);
    mls_group_free(w.m[1]); /* its pending proposal must not block the next commits */
    w.m[1] = NULL;
    xw_buf old;
    send_text(w.m[0], "old", &old);
    for (size_t i = 0; i < 4; i++)
        commit(&w, 0, &none, NULL, 0);
    reject_unchanged(rcv, prop.data, prop.len, XW_EMLS_EPOCH);
    reject_unchanged(rcv, old.data, old.len, XW_EMLS_EPOCH);
    for (int i = 0; i < 16; i++)
        xw_buf_free(&g[i]);
    xw_buf_free(&old);
    xw_buf_free(&prop);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    world_free(&w);
}

static void test_reject_more(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 3);
    xw_errbuf eb = {{0}};
    /* an Add of a client already in the group (member 2's signature key) */
    kpkg dup;
    mls_key_package_opts ko = {
        .identity = {(const uint8_t *)"dup", 3}, .not_before = 0, .not_after = UINT64_MAX};
    xw_buf_init(&dup.kp, 1 << 20);
    assert_int_equal(mls_key_package_create(w.s, &w.m[2]->sig, &ko, &dup.kp, &dup.sec, &eb), XW_OK);
    const uint8_t *kps[1] = {dup.kp.data};
    size_t lens[1] = {dup.kp.len};
    mls_commit_opts o1 = {.add_kps = kps, .add_lens = lens, .n_add = 1};
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    assert_int_equal(mls_group_commit(w.m[1], &o1, &cm, &wm, &eb),
                     XW_EMLS_KEYPACKAGE);       /* the sender refuses */
    bad_commit(&w, 1, &o1, XW_EMLS_KEYPACKAGE); /* and so do receivers */
    /* an expired key package: the sender and the receivers refuse it */
    kpkg old;
    mls_key_package_opts oo = {.identity = {(const uint8_t *)"old", 3}, .not_before = 1, .not_after = 1000};
    mls_sig_priv osig;
    mls_sig_priv_generate(w.s, &osig);
    xw_buf_init(&old.kp, 1 << 20);
    assert_int_equal(mls_key_package_create(w.s, &osig, &oo, &old.kp, &old.sec, &eb), XW_OK);
    const uint8_t *okp[1] = {old.kp.data};
    size_t olen[1] = {old.kp.len};
    mls_commit_opts o0 = {.add_kps = okp, .add_lens = olen, .n_add = 1};
    xw_buf_reset(&cm);
    assert_int_equal(mls_group_commit(w.m[1], &o0, &cm, &wm, &eb), XW_EMLS_KEYPACKAGE);
    bad_commit(&w, 1, &o0, XW_EMLS_KEYPACKAGE);
    kp_free(&old);
    /* a group policy of at most 30 days of key package lifetime */
    for (size_t i = 0; i < w.n; i++)
        if (w.m[i])
            w.m[i]->cfg.max_lifetime = 30 * 86400;
    kpkg longkp;
    make_kp(w.s, "long", &longkp); /* valid for 90 days + 1 hour */
    const uint8_t *lkp[1] = {longkp.kp.data};
    size_t llen[1] = {longkp.kp.len};
    mls_commit_opts ol = {.add_kps = lkp, .add_lens = llen, .n_add = 1};
    bad_commit(&w, 1, &ol, XW_EMLS_KEYPACKAGE);
    kp_free(&longkp);
    for (size_t i = 0; i < w.n; i++)
        if (w.m[i])
            w.m[i]->cfg.max_lifetime = 0;
    /* required_capabilities that members do not support */
    uint8_t req[] = {0x00, 0x03, 0x07, 0x02, 0xff, 0x01, 0x00, 0x02, 0x00, 0x01};
    mls_commit_opts o2 = {.gce = req, .gce_len = sizeof req};
    bad_commit(&w, 1, &o2, XW_EMLS_PROPOSAL);
    /* a Remove without the update path it requires */
    uint32_t leaf = mls_group_own_leaf(w.m[3]);
    mls_commit_opts o3 = {.remove = &leaf, .n_remove = 1, .no_path = 1};
    bad_commit(&w, 1, &o3, XW_EMLS_COMMIT);
    /* a commit by reference to a proposal member 2 never received */
    xw_buf prop;
    xw_buf_init(&prop, 1 << 20);
    assert_int_equal(mls_group_propose_remove(w.m[1], leaf, &prop, &eb), XW_OK);
    mls_received r;
    mls_received_init(&r);
    assert_int_equal(mls_group_receive(w.m[0], prop.data, prop.len, &r, &eb), XW_OK);
    assert_int_equal(r.kind, MLS_RECEIVED_PROPOSAL);
    mls_commit_opts o4 = {.include_pending = 1};
    xw_buf_reset(&cm);
    assert_int_equal(mls_group_commit(w.m[0], &o4, &cm, &wm, &eb), XW_OK);
    reject_unchanged(w.m[2], cm.data, cm.len, XW_EMLS_PROPOSAL);
    mls_group_commit_discard(w.m[0]);
    /* a proposal for another group or a future epoch */
    prop.data[6] ^= 1; /* inside the group id */
    reject_unchanged(w.m[2], prop.data, prop.len, 0);
    mls_received_free(&r);
    xw_buf_free(&prop);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    kp_free(&dup);
    world_free(&w);
}

static void test_update_path_checks(void **st)
{
    (void)st;
    world w;
    world_init(&w, 1, 0);
    add_members(&w, 0, 3);
    mls_group *a = w.m[0], *b = w.m[1];
    mls_span gid = {a->group_id.data, a->group_id.len};
    mls_tree *t = mls_tree_clone(a->tree, 1);
    mls_treekem_path p;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_treekem_prepare(t, a->me, &a->sig, NULL, gid, &p, &eb), XW_OK);
    uint8_t gc[] = "provisional group context";
    xw_buf up;
    xw_buf_init(&up, 1 << 20);
    assert_int_equal(mls_treekem_encrypt(t, &p, NULL, 0, gc, sizeof gc, &up, &eb), XW_OK);
    mls_update_path u;
    mls_reader r;
    mls_reader_init(&r, up.data, up.len, &eb);
    assert_int_equal(mls_update_path_read(&r, &u), XW_OK);
    /* the valid path merges and decrypts, with the committer's commit secret */
    mls_tree *bt = mls_tree_clone(b->tree, 1);
    uint8_t cs[MLS_MAX_HASH];
    assert_int_equal(mls_treekem_merge(bt, a->me, &u, gid, &eb), XW_OK);
    assert_int_equal(mls_treekem_decrypt(bt, a->me, b->me, &u, NULL, 0, gc, sizeof gc, cs, NULL, &eb), XW_OK);
    assert_memory_equal(cs, p.commit_secret, w.s->nh);
    /* another group context: the path secret does not decrypt */
    mls_tree_free(bt);
    bt = mls_tree_clone(b->tree, 1);
    assert_int_equal(mls_treekem_merge(bt, a->me, &u, gid, &eb), XW_OK);
    assert_int_equal(mls_treekem_decrypt(bt, a->me, b->me, &u, NULL, 0, gc, sizeof gc - 1, cs, NULL, &eb),
                     XW_EMLS_COMMIT);
    mls_tree_free(bt);
    /* a node key changed: the parent-hash chain no longer matches the signed leaf */
    uint8_t k0[32];
    memcpy(k0, u.enc_key[0].p, 32);
    uint8_t other[32];
    memcpy(other, k0, 32);
    other[0] ^= 1;
    u.enc_key[0].p = other;
    bt = mls_tree_clone(b->tree, 1);
    assert_int_equal(mls_treekem_merge(bt, a->me, &u, gid, &eb), XW_EMLS_COMMIT);
    mls_tree_free(bt);
    /* a path of the wrong length */
    u.enc_key[0] = (mls_span){NULL, 0};
    uint32_t n = u.n_nodes;
    u.n_nodes = n - 1;
    bt = mls_tree_clone(b->tree, 1);
    assert_int_equal(mls_treekem_merge(bt, a->me, &u, gid, &eb), XW_EMLS_COMMIT);
    mls_tree_free(bt);
    /* a key already in the tree (b's own leaf key) */
    u.n_nodes = n;
    u.enc_key[0] = mls_tree_leaf(b->tree, b->me)->enc_key;
    bt = mls_tree_clone(b->tree, 1);
    assert_int_equal(mls_treekem_merge(bt, a->me, &u, gid, &eb), XW_EMLS_COMMIT);
    mls_tree_free(bt);
    /* signed for another group: the leaf signature fails */
    u.enc_key[0] = (mls_span){k0, 32};
    bt = mls_tree_clone(b->tree, 1);
    assert_int_equal(mls_treekem_merge(bt, a->me, &u, (mls_span){(const uint8_t *)"other", 5}, &eb),
                     XW_EBADSIG);
    mls_tree_free(bt);
    /* a leaf with the wrong source */
    mls_leaf *kpleaf = mls_tree_leaf(b->tree, b->me);
    mls_leaf *saved_leaf = u.leaf;
    u.leaf = kpleaf;
    bt = mls_tree_clone(b->tree, 1);
    assert_int_equal(mls_treekem_merge(bt, a->me, &u, gid, &eb), XW_EMLS_COMMIT);
    mls_tree_free(bt);
    u.leaf = saved_leaf;
    mls_update_path_free(&u);
    mls_treekem_path_wipe(&p);
    mls_tree_free(t);
    xw_buf_free(&up);
    world_free(&w);
}

/* Proposals from an external sender listed in the external_senders extension. */
static void test_external_sender(void **st)
{
    (void)st;
    const mls_suite *s = mls_suite_get(1);
    mls_sig_priv ds;
    assert_int_equal(mls_sig_priv_generate(s, &ds), XW_OK);
    uint8_t ext[64];
    size_t n = 0;
    ext[n++] = 0x00, ext[n++] = 0x05;      /* external_senders */
    ext[n++] = 1 + 1 + 32 + 2 + 1 + 2 + 0; /* extension_data length (39) */
    ext[n++] = 1 + 32 + 2 + 1 + 2;         /* ExternalSender list length (38) */
    ext[n++] = 32;                         /* signature_key */
    memcpy(ext + n, ds.pub, 32), n += 32;
    ext[n++] = 0x00, ext[n++] = 0x01;             /* basic credential */
    ext[n++] = 2, ext[n++] = 'd', ext[n++] = 's'; /* identity "ds" */
    world w;
    memset(&w, 0, sizeof w);
    w.s = s;
    mls_group_config_default(&w.cfg);
    w.cfg.handshake_public = w.cfg.accept_public_handshake = 1;
    kpkg k;
    make_kp(s, "member-0", &k);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_create(&w.cfg, (const uint8_t *)"ext", 3, k.kp.data, k.kp.len, &k.sec, ext, n,
                                      &w.m[0], &eb),
                     XW_OK);
    w.n = 1;
    kp_free(&k);
    add_members(&w, 0, 3);
    /* the delivery service proposes to remove member 2 */
    uint32_t leaf = mls_group_own_leaf(w.m[2]);
    uint8_t body[6] = {0x00,         0x03, (uint8_t)(leaf >> 24), (uint8_t)(leaf >> 16), (uint8_t)(leaf >> 8),
                       (uint8_t)leaf};
    mls_framing_ctx ctx;
    assert_int_equal(mls_group_framing_ctx(w.m[0], &ctx, &eb), XW_OK);
    mls_framed_content fc = {{(const uint8_t *)"ext", 3}, mls_group_epoch(w.m[0]),
                             {MLS_SENDER_EXTERNAL, 0},    {NULL, 0},
                             MLS_CONTENT_PROPOSAL,        {body, sizeof body}};
    xw_buf prop, bad;
    xw_buf_init(&prop, 1 << 20);
    xw_buf_init(&bad, 1 << 20);
    assert_int_equal(mls_protect_public(&ctx, &fc, &ds, NULL, &prop, &eb), XW_OK);
    /* an unknown external sender index is refused */
    fc.sender.index = 1;
    assert_int_equal(mls_protect_public(&ctx, &fc, &ds, NULL, &bad, &eb), XW_OK);
    reject_unchanged(w.m[1], bad.data, bad.len, XW_EMLS_SENDER);
    /* signed by someone else: refused */
    mls_sig_priv other;
    mls_sig_priv_generate(s, &other);
    fc.sender.index = 0;
    xw_buf_reset(&bad);
    assert_int_equal(mls_protect_public(&ctx, &fc, &other, NULL, &bad, &eb), XW_OK);
    reject_unchanged(w.m[1], bad.data, bad.len, 0);
    deliver(&w, &prop, SIZE_MAX);
    mls_commit_opts o = {.include_pending = 1};
    commit(&w, 1, &o, NULL, 0);
    assert_null(w.m[2]);
    send_all(&w, 3, "after the external remove");
    xw_buf_free(&prop);
    xw_buf_free(&bad);
    world_free(&w);
}

/* Received trees that break §7.9.2 / §12.4.3.1 rules are refused. */
static void test_tree_validation_rules(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    add_members(&w, 0, 4);
    mls_commit_opts none = {0};
    commit(&w, 2, &none, NULL, 0);
    kpkg nk;
    make_kp(w.s, "unmerged", &nk);
    const uint8_t *nkp[1] = {nk.kp.data};
    size_t nkl[1] = {nk.kp.len};
    mls_commit_opts addo = {.add_kps = nkp, .add_lens = nkl, .n_add = 1, .no_path = 1};
    commit(&w, 1, &addo, &nk, 1); /* no path: the new leaf stays unmerged at its non-blank ancestors */
    kp_free(&nk);
    mls_group *g = w.m[0];
    mls_span gid = {g->group_id.data, g->group_id.len}, ext = {NULL, 0};
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_tree_validate(g->tree, gid, ext, &eb), XW_OK);
    /* another group id: leaf signatures (update/commit sources) fail */
    assert_int_not_equal(mls_tree_validate(g->tree, (mls_span){(const uint8_t *)"x", 1}, ext, &eb), XW_OK);
    uint32_t p = MLS_NODE_NONE, pu = MLS_NODE_NONE;
    for (uint32_t x = 1; x < mls_tree_nodes(g->tree); x += 2)
        if (g->tree->nodes[x].type == MLS_NODE_PARENT) {
            if (p == MLS_NODE_NONE && g->tree->nodes[x].parent->ph_len)
                p = x;
            if (g->tree->nodes[x].parent->n_unmerged)
                pu = x;
        }
    assert_int_not_equal(p, MLS_NODE_NONE);
    assert_int_not_equal(pu, MLS_NODE_NONE);
    /* a parent hash altered: the parent below no longer chains */
    mls_tree *t = mls_tree_clone(g->tree, 0);
    t->nodes[p].parent->parent_hash[0] ^= 1;
    mls_tree_touch(t, p);
    assert_int_equal(mls_tree_validate(t, gid, ext, &eb), XW_EMLS_TREE);
    mls_tree_free(t);
    /* a parent key replaced: nothing authenticates it */
    t = mls_tree_clone(g->tree, 0);
    t->nodes[p].parent->enc_key[3] ^= 1;
    mls_tree_touch(t, p);
    assert_int_equal(mls_tree_validate(t, gid, ext, &eb), XW_EMLS_TREE);
    mls_tree_free(t);
    /* an unmerged leaf that is not below the node */
    t = mls_tree_clone(g->tree, 0);
    t->nodes[pu].parent->unmerged[0] =
        t->n_leaves - 1 == t->nodes[pu].parent->unmerged[0] ? 0 : t->n_leaves - 1;
    mls_tree_touch(t, pu);
    assert_int_equal(mls_tree_validate(t, gid, ext, &eb), XW_EMLS_TREE);
    mls_tree_free(t);
    /* unmerged leaves dropped from a node: its parent-hash link breaks */
    t = mls_tree_clone(g->tree, 0);
    t->nodes[pu].parent->n_unmerged = 0;
    mls_tree_touch(t, pu);
    assert_int_equal(mls_tree_validate(t, gid, ext, &eb), XW_EMLS_TREE);
    mls_tree_free(t);
    /* a parent reusing a leaf's encryption key */
    t = mls_tree_clone(g->tree, 0);
    const mls_leaf *l0 = mls_tree_leaf(t, 0);
    memcpy(t->nodes[p].parent->enc_key, l0->enc_key.p, 32);
    mls_tree_touch(t, p);
    assert_int_equal(mls_tree_validate(t, gid, ext, &eb), XW_EMLS_TREE);
    mls_tree_free(t);
    /* trees that do not decode */
    xw_buf enc;
    xw_buf_init(&enc, 1 << 20);
    assert_int_equal(mls_tree_encode(g->tree, &enc), XW_OK);
    for (size_t cut = 1; cut < enc.len; cut += enc.len / 11 + 1) {
        t = NULL;
        assert_int_not_equal(mls_tree_decode(w.s, enc.data, cut, &t, &eb), XW_OK);
        assert_null(t);
    }
    uint8_t blank_end[] = {0x02, 0x00, 0x00}; /* two blank nodes */
    assert_int_equal(mls_tree_decode(w.s, blank_end, sizeof blank_end, &t, &eb), XW_EMLS_TREE);
    xw_buf_free(&enc);
    world_free(&w);
}

/* A Welcome whose GroupInfo signature or confirmation tag is wrong is refused. */
static void test_group_info_checks(void **st)
{
    (void)st;
    world w;
    world_init(&w, 1, 0);
    add_members(&w, 0, 1);
    kpkg k;
    make_kp(w.s, "joiner", &k);
    mls_key_package *kp = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_key_package_decode(k.kp.data, k.kp.len, &kp, &eb), XW_OK);
    const uint8_t *kps[1] = {k.kp.data};
    size_t lens[1] = {k.kp.len};
    mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = 1};
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    mls_group *g = w.m[0];
    g->cfg.external_pub = 1;
    assert_int_equal(mls_group_commit(g, &o, &cm, &wm, &eb), XW_OK);
    /* the GroupInfo carries external_pub = the public key derived from the epoch's external secret */
    mls_welcome_opened wo;
    assert_int_equal(mls_welcome_open(wm.data, wm.len, kp, k.sec.init_priv, NULL, 0, &wo, &eb), XW_OK);
    mls_group_info gi;
    assert_int_equal(mls_group_info_parse(wo.group_info.data, wo.group_info.len, &gi, &eb), XW_OK);
    mls_span ep;
    assert_true(mls_extensions_find(gi.extensions, MLS_EXT_EXTERNAL_PUB, &ep));
    uint8_t xpriv[32], xpub[32];
    assert_int_equal(mls_external_keypair(w.s, g->staged->sec.external_secret, xpriv, xpub, NULL), XW_OK);
    assert_int_equal(ep.len, 33);
    assert_memory_equal(ep.p + 1, xpub, 32);
    mls_welcome_opened_free(&wo);
    g->cfg.external_pub = 0;
    mls_group *next = g->staged;
    uint32_t added = mls_tree_find_leaf(next->tree, kp->leaf->raw, kp->leaf->raw_len);
    const mls_key_package *kpl[1] = {kp};
    uint8_t tag[MLS_MAX_HASH] = {0};
    mls_group *j = NULL;
    /* a wrong confirmation tag */
    xw_buf_reset(&wm);
    assert_int_equal(mls_group_welcome_build(g, next, tag, &added, kpl, 1, NULL, NULL, 0, &wm, &eb), XW_OK);
    assert_int_equal(
        mls_group_join(&w.cfg, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, NULL, 0, NULL, 0, &j, &eb),
        XW_EMLS_TAG);
    /* signed by member 0 but naming member 1 as the signer */
    uint32_t me = g->me;
    g->me = mls_group_own_leaf(w.m[1]);
    xw_buf_reset(&wm);
    assert_int_equal(mls_group_welcome_build(g, next, tag, &added, kpl, 1, NULL, NULL, 0, &wm, &eb), XW_OK);
    g->me = me;
    assert_int_equal(
        mls_group_join(&w.cfg, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, NULL, 0, NULL, 0, &j, &eb),
        XW_EBADSIG);
    assert_null(j);
    mls_group_commit_discard(g);
    mls_key_package_free(kp);
    kp_free(&k);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    world_free(&w);
}

static void test_wire_format_policy(void **st)
{
    (void)st;
    world pub;
    world_init(&pub, 3, 1);
    add_members(&pub, 0, 1);
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_errbuf eb = {{0}};
    mls_commit_opts none = {0};
    assert_int_equal(mls_group_commit(pub.m[0], &none, &cm, &wm, &eb), XW_OK);
    assert_int_equal(cm.data[3], MLS_WIRE_FORMAT_PUBLIC_MESSAGE);
    /* a member with XMTP's policy refuses PublicMessage handshakes */
    xw_buf saved;
    save(pub.m[1], &saved);
    mls_group *strict = NULL;
    assert_int_equal(mls_group_load(saved.data, saved.len, &strict, &eb), XW_OK);
    strict->cfg.accept_public_handshake = 0;
    reject_unchanged(strict, cm.data, cm.len, XW_EMLS_WIREFORMAT);
    mls_group_free(strict);
    xw_buf_free_secret(&saved);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    world_free(&pub);
}

static void test_welcome_checks(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    w.cfg.ratchet_tree_in_welcome = 0;
    w.m[0]->cfg.ratchet_tree_in_welcome = 0;
    kpkg k, other;
    make_kp(w.s, "joiner", &k);
    make_kp(w.s, "other", &other);
    const uint8_t *kps[1] = {k.kp.data};
    size_t lens[1] = {k.kp.len};
    mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = 1};
    xw_buf cm, wm, tree;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_buf_init(&tree, 1 << 24);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_commit(w.m[0], &o, &cm, &wm, &eb), XW_OK);
    assert_int_equal(mls_group_staged_tree(w.m[0], &tree), XW_OK);
    assert_int_equal(mls_group_commit_confirm(w.m[0], &eb), XW_OK);
    mls_group *g = NULL;
    /* not for this key package */
    assert_int_equal(mls_group_join(&w.cfg, wm.data, wm.len, other.kp.data, other.kp.len, &other.sec,
                                    tree.data, tree.len, NULL, 0, &g, &eb),
                     XW_EMLS_WELCOME);
    /* no tree in the Welcome and none given */
    assert_int_equal(
        mls_group_join(&w.cfg, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, NULL, 0, NULL, 0, &g, &eb),
        XW_EMLS_WELCOME);
    /* a tree of another epoch */
    xw_buf old;
    xw_buf_init(&old, 1 << 20);
    assert_int_equal(mls_tree_encode(w.m[0]->past[0].tree, &old), XW_OK);
    assert_int_not_equal(mls_group_join(&w.cfg, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, old.data,
                                        old.len, NULL, 0, &g, &eb),
                         XW_OK);
    /* tampered bytes */
    for (size_t pos = 4; pos < wm.len; pos += wm.len / 13 + 1) {
        wm.data[pos] ^= 1;
        assert_int_not_equal(mls_group_join(&w.cfg, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, tree.data,
                                            tree.len, NULL, 0, &g, &eb),
                             XW_OK);
        assert_null(g);
        wm.data[pos] ^= 1;
    }
    /* out of band: works */
    assert_int_equal(mls_group_join(&w.cfg, wm.data, wm.len, k.kp.data, k.kp.len, &k.sec, tree.data, tree.len,
                                    NULL, 0, &w.m[1], &eb),
                     XW_OK);
    w.n = 2;
    agree(&w);
    xw_buf_free(&old);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    xw_buf_free(&tree);
    kp_free(&k);
    kp_free(&other);
    world_free(&w);
}

static void test_key_package_checks(void **st)
{
    (void)st;
    const mls_suite *s = mls_suite_get(3);
    kpkg k;
    make_kp(s, "kp", &k);
    mls_key_package *kp = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_key_package_decode(k.kp.data, k.kp.len, &kp, &eb), XW_OK);
    assert_int_equal(mls_key_package_validate(s, kp, (uint64_t)time(NULL), (mls_span){NULL, 0}, &eb), XW_OK);
    /* expired */
    assert_int_equal(
        mls_key_package_validate(s, kp, (uint64_t)time(NULL) + 86400 * 365, (mls_span){NULL, 0}, &eb),
        XW_EMLS_KEYPACKAGE);
    /* wrong suite */
    assert_int_equal(mls_key_package_validate(mls_suite_get(1), kp, 0, (mls_span){NULL, 0}, &eb),
                     XW_EMLS_KEYPACKAGE);
    /* required capabilities the leaf lacks: extension 0xff01 */
    uint8_t req[] = {0x00, 0x03, 0x07, 0x02, 0xff, 0x01, 0x00, 0x02, 0x00, 0x01};
    assert_int_equal(mls_key_package_validate(s, kp, 0, (mls_span){req, sizeof req}, &eb),
                     XW_EMLS_KEYPACKAGE);
    mls_key_package_free(kp);
    /* signature: every byte flip is refused */
    for (size_t pos = 0; pos < k.kp.len; pos += 7) {
        k.kp.data[pos] ^= 0x01;
        kp = NULL;
        if (mls_key_package_decode(k.kp.data, k.kp.len, &kp, &eb) == XW_OK)
            assert_int_not_equal(mls_key_package_validate(s, kp, 0, (mls_span){NULL, 0}, &eb), XW_OK);
        mls_key_package_free(kp);
        k.kp.data[pos] ^= 0x01;
    }
    kp_free(&k);
}

/* A key package whose init key equals its leaf's encryption key, correctly signed. */
static void test_key_package_same_keys(void **st)
{
    (void)st;
    const mls_suite *s = mls_suite_get(3);
    mls_sig_priv sig;
    assert_int_equal(mls_sig_priv_generate(s, &sig), XW_OK);
    uint8_t seed[32] = {7}, priv[32], pub[32];
    assert_int_equal(mls_derive_keypair(s, seed, 32, priv, pub, NULL), XW_OK);
    uint8_t cred[] = {0x00, 0x01, 0x01, 'x'};
    xw_buf caps, b;
    xw_buf_init(&caps, 1 << 10);
    xw_buf_init(&b, 1 << 16);
    mls_writer w;
    mls_writer_init(&w, &caps);
    mls_capabilities_write(&w, s, (mls_span){NULL, 0});
    mls_leaf_fields f = {.enc_key = {pub, 32},
                         .sig_key = {sig.pub, sig.pub_len},
                         .credential = {cred, sizeof cred},
                         .capabilities = {caps.data, caps.len},
                         .source = MLS_LEAF_SOURCE_KEY_PACKAGE,
                         .not_before = 0,
                         .not_after = UINT64_MAX};
    xw_errbuf eb = {{0}};
    mls_leaf *leaf = mls_leaf_build(s, &f, &sig, (mls_span){NULL, 0}, 0, &eb);
    assert_non_null(leaf);
    mls_writer_init(&w, &b);
    mls_write_u16(&w, 1);
    mls_write_u16(&w, 3);
    mls_write_opaque(&w, pub, 32); /* init_key == encryption_key */
    mls_write_fixed(&w, leaf->raw, leaf->raw_len);
    mls_write_varint(&w, 0);
    uint8_t signature[64];
    assert_int_equal(mls_sign_with_label(s, &sig, "KeyPackageTBS", b.data, b.len, signature, &eb), XW_OK);
    mls_write_opaque(&w, signature, 64);
    mls_key_package *kp = NULL;
    assert_int_equal(mls_key_package_decode(b.data, b.len, &kp, &eb), XW_OK);
    assert_int_equal(mls_key_package_validate(s, kp, 0, (mls_span){NULL, 0}, &eb), XW_EMLS_KEYPACKAGE);
    assert_non_null(strstr(eb.msg, "init_key"));
    mls_key_package_free(kp);
    mls_leaf_unref(leaf);
    xw_buf_free(&caps);
    xw_buf_free(&b);
}

static void test_unknown_extension_preserved(void **st)
{
    (void)st;
    world w;
    world_init(&w, 3, 0);
    uint8_t ext[] = {0xff, 0x01, 0x05, 'x', 'm', 't', 'p', '!'};
    uint8_t types[] = {0xff, 0x01};
    kpkg k;
    make_kp_ext(w.s, "ext", (mls_span){ext, sizeof ext}, (mls_span){types, sizeof types}, &k);
    const uint8_t *kps[1] = {k.kp.data};
    size_t lens[1] = {k.kp.len};
    mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = 1};
    commit(&w, 0, &o, &k, 1);
    xw_buf t;
    xw_buf_init(&t, 1 << 20);
    assert_int_equal(mls_group_tree(w.m[1], &t), XW_OK);
    assert_non_null(memmem(t.data, t.len, ext, sizeof ext));
    xw_buf_free(&t);
    kp_free(&k);
    world_free(&w);
}

static void test_reinit_external_init_refused(void **st)
{
    (void)st;
    /* ReInit: group_id "g", version 1, suite 1, no extensions */
    uint8_t reinit[] = {0x00, 0x05, 0x01, 'g', 0x00, 0x01, 0x00, 0x01, 0x00};
    uint8_t extinit[] = {0x00, 0x06, 0x02, 0xaa, 0xbb};
    mls_proposal *p = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_proposal_decode(reinit, sizeof reinit, &p, &eb), XW_EUNSUPPORTED);
    assert_non_null(strstr(eb.msg, "ReInit"));
    assert_int_equal(mls_proposal_decode(extinit, sizeof extinit, &p, &eb), XW_EUNSUPPORTED);
    assert_non_null(strstr(eb.msg, "ExternalInit"));
    assert_null(p);
}
/* The committer validates the key packages it adds once, against the group's extensions
 * (mls_group_commit); a GroupContextExtensions of the same commit that brings
 * required_capabilities still applies to those Adds: a key package that lacks a newly
 * required extension fails the commit, and the group is unchanged. */
static void test_committer_add_with_new_required_capabilities(void **st)
{
    (void)st;
    const mls_suite *s = mls_suite_get(1);
    mls_group_config cfg;
    mls_group_config_default(&cfg);
    uint8_t ext[2] = {0xff, 0x01};
    kpkg ck, plain, with;
    make_kp_ext(s, "creator", (mls_span){NULL, 0}, (mls_span){ext, 2}, &ck);
    make_kp(s, "plain", &plain);
    make_kp_ext(s, "with", (mls_span){NULL, 0}, (mls_span){ext, 2}, &with);
    xw_errbuf eb = {{0}};
    mls_group *g = NULL;
    assert_int_equal(
        mls_group_create(&cfg, (const uint8_t *)"g-req", 5, ck.kp.data, ck.kp.len, &ck.sec, NULL, 0, &g, &eb),
        XW_OK);
    /* required_capabilities: extension 0xff01, no proposal type, credential basic */
    uint8_t req[] = {0x00, 0x03, 0x07, 0x02, 0xff, 0x01, 0x00, 0x02, 0x00, 0x01};
    xw_buf before, after, cm, wm;
    save(g, &before);
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    const uint8_t *kps[1] = {plain.kp.data};
    size_t lens[1] = {plain.kp.len};
    mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = 1, .gce = req, .gce_len = sizeof req};
    assert_int_not_equal(mls_group_commit(g, &o, &cm, &wm, &eb), XW_OK);
    assert_int_equal(cm.len, 0);
    assert_false(mls_group_has_staged_commit(g));
    save(g, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    /* the same commit with a key package that supports the extension goes through */
    kps[0] = with.kp.data;
    lens[0] = with.kp.len;
    assert_int_equal(mls_group_commit(g, &o, &cm, &wm, &eb), XW_OK);
    assert_true(mls_group_has_staged_commit(g));
    mls_group_free(g);
    xw_buf_free(&before);
    xw_buf_free(&after);
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    kp_free(&ck);
    kp_free(&plain);
    kp_free(&with);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_bad_commits),
        cmocka_unit_test(test_committer_add_with_new_required_capabilities),
        cmocka_unit_test(test_reject_more),
        cmocka_unit_test(test_private_rejects_leave_state),
        cmocka_unit_test(test_update_path_checks),
        cmocka_unit_test(test_external_sender),
        cmocka_unit_test(test_tree_validation_rules),
        cmocka_unit_test(test_group_info_checks),
        cmocka_unit_test(test_wire_format_policy),
        cmocka_unit_test(test_welcome_checks),
        cmocka_unit_test(test_key_package_checks),
        cmocka_unit_test(test_key_package_same_keys),
        cmocka_unit_test(test_unknown_extension_preserved),
        cmocka_unit_test(test_reinit_external_init_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
