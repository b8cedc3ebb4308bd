/*
 * Helpers shared by the group tests; see mls_group_helpers.h.
 */
#include "tests/unit/mls_group_helpers.h"

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

void make_kp_ext(const mls_suite *s, const char *name, mls_span leaf_ext, mls_span extra, kpkg *k)
{
    mls_sig_priv sig;
    assert_int_equal(mls_sig_priv_generate(s, &sig), XW_OK);
    mls_key_package_opts o = {.identity = {(const uint8_t *)name, strlen(name)},
                              .not_before = (uint64_t)time(NULL) - 3600,
                              .not_after = (uint64_t)time(NULL) + 86400 * 90,
                              .leaf_extensions = leaf_ext,
                              .extra_ext_types = extra};
    xw_buf_init(&k->kp, 1 << 20);
    xw_errbuf eb = {{0}};
    int rc = mls_key_package_create(s, &sig, &o, &k->kp, &k->sec, &eb);
    if (rc != XW_OK)
        fail_msg("key package: %s", eb.msg);
}

void make_kp(const mls_suite *s, const char *name, kpkg *k)
{
    make_kp_ext(s, name, (mls_span){NULL, 0}, (mls_span){NULL, 0}, k);
}

void kp_free(kpkg *k)
{
    xw_buf_free(&k->kp);
    mls_key_package_secrets_wipe(&k->sec);
}

void save(const mls_group *g, xw_buf *b)
{
    xw_buf_init(b, (size_t)1 << 28);
    assert_int_equal(mls_group_save(g, b), XW_OK);
}

/* Every live member except `except` receives msg. */
void deliver(world *w, const xw_buf *msg, size_t except)
{
    for (size_t i = 0; i < w->n; i++) {
        if (!w->m[i] || i == except)
            continue;
        mls_received r;
        mls_received_init(&r);
        xw_errbuf eb = {{0}};
        int rc = mls_group_receive(w->m[i], msg->data, msg->len, &r, &eb);
        if (rc != XW_OK)
            fail_msg("member %zu rejects: %s (%s)", i, eb.msg, xw_errname(rc));
        if (r.removed) {
            mls_group_free(w->m[i]);
            w->m[i] = NULL;
        }
        mls_received_free(&r);
    }
}

void agree(world *w)
{
    const uint8_t *a0 = NULL;
    size_t l0 = 0;
    uint64_t e0 = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (!w->m[i])
            continue;
        size_t l;
        const uint8_t *a = mls_group_epoch_authenticator(w->m[i], &l);
        if (!a0) {
            a0 = a;
            l0 = l;
            e0 = mls_group_epoch(w->m[i]);
        } else {
            assert_int_equal(mls_group_epoch(w->m[i]), e0);
            assert_int_equal(l, l0);
            assert_memory_equal(a, a0, l);
        }
    }
}

/* Member c commits: adds new members (their slots filled from the Welcome). */
void commit(world *w, size_t c, const mls_commit_opts *o, kpkg *adds, size_t n_add)
{
    xw_buf cm, wm;
    xw_buf_init(&cm, (size_t)1 << 26);
    xw_buf_init(&wm, (size_t)1 << 26);
    xw_errbuf eb = {{0}};
    int rc = mls_group_commit(w->m[c], o, &cm, &wm, &eb);
    if (rc != XW_OK)
        fail_msg("commit by %zu: %s", c, eb.msg);
    deliver(w, &cm, c);
    assert_int_equal(mls_group_commit_confirm(w->m[c], &eb), XW_OK);
    for (size_t i = 0; i < n_add; i++) {
        assert_true(w->n < MAXM);
        rc = mls_group_join(&w->cfg, wm.data, wm.len, adds[i].kp.data, adds[i].kp.len, &adds[i].sec, NULL, 0,
                            NULL, 0, &w->m[w->n], &eb);
        if (rc != XW_OK)
            fail_msg("join: %s", eb.msg);
        w->n++;
    }
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    agree(w);
}

void world_init(world *w, uint16_t suite, int public_handshake)
{
    memset(w, 0, sizeof *w);
    w->s = mls_suite_get(suite);
    mls_group_config_default(&w->cfg);
    w->cfg.handshake_public = public_handshake;
    w->cfg.accept_public_handshake = public_handshake;
    kpkg k;
    make_kp(w->s, "member-0", &k);
    xw_errbuf eb = {{0}};
    int rc = mls_group_create(&w->cfg, (const uint8_t *)"group-1", 7, k.kp.data, k.kp.len, &k.sec, NULL, 0,
                              &w->m[0], &eb);
    if (rc != XW_OK)
        fail_msg("create: %s", eb.msg);
    w->n = 1;
    kp_free(&k);
}

void world_free(world *w)
{
    for (size_t i = 0; i < w->n; i++)
        mls_group_free(w->m[i]);
}

void add_members(world *w, size_t committer, size_t count)
{
    kpkg k[MAXM];
    const uint8_t *kps[MAXM];
    size_t lens[MAXM];
    for (size_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "member-%zu", w->n + i);
        make_kp(w->s, name, &k[i]);
        kps[i] = k[i].kp.data;
        lens[i] = k[i].kp.len;
    }
    mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = count};
    commit(w, committer, &o, k, count);
    for (size_t i = 0; i < count; i++)
        kp_free(&k[i]);
}

void send_all(world *w, size_t from, const char *text)
{
    xw_buf m;
    xw_buf_init(&m, 1 << 20);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_group_send(w->m[from], (const uint8_t *)text, strlen(text), &m, &eb), XW_OK);
    for (size_t i = 0; i < w->n; i++) {
        if (!w->m[i] || i == from)
            continue;
        mls_received r;
        mls_received_init(&r);
        int rc = mls_group_receive(w->m[i], m.data, m.len, &r, &eb);
        if (rc != XW_OK)
            fail_msg("member %zu cannot read: %s", i, eb.msg);
        assert_int_equal(r.kind, MLS_RECEIVED_APPLICATION);
        assert_int_equal(r.data.len, strlen(text));
        assert_memory_equal(r.data.data, text, r.data.len);
        assert_int_equal(r.sender, mls_group_own_leaf(w->m[from]));
        mls_received_free(&r);
    }
    xw_buf_free(&m);
}
