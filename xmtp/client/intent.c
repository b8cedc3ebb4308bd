/*
 * Our own commits as intents (libxmtp groups/intents.rs, groups/mls_sync.rs): a self-update
 * (KeyUpdate) or a membership change (UpdateGroupMembership) is built, stored and published,
 * and takes effect only when sync meets it on the node.
 *
 *   build:   the group is synced first; the caller's plan gives the proposals for the epoch
 *            the group is in; the MLS engine stages the commit (mls_group_commit). In one
 *            transaction: the intent `to_publish` (the commit, its SHA-256, and post_commit:
 *            the Welcome with each recipient's installation and key package), the group
 *            state with the staged commit, rotated_at = now.
 *   publish: SendGroupMessages (xc_group_publish), then sync.
 *   echo:    sync meets the payload: the engine confirms the staged commit, XMTP's commit
 *            rules run on it as on anyone's (commit.c) and its GroupUpdated transcript is
 *            stored; the intent becomes `committed` at the commit's cursor, then, once the
 *            welcomes went out (WelcomeMetadata cursor = the commit's), `done`.
 *   race:    when another member's commit comes first in the epoch, the engine drops our
 *            staged commit and sync marks the intent `error` (XC_INTENT_LOST_RACE...); the
 *            call re-syncs, rebuilds the plan for the new epoch and tries again, at most
 *            XC_COMMIT_ATTEMPTS times. Our stale commit, if it reached the node, is skipped
 *            when sync meets it (its hash is the lost intent's).
 *
 * Welcomes are wrapped as libxmtp wraps them: X-Wing to the key package's 0xff03 key, else
 * X25519 to its init key. A welcome the node refuses is recorded in the intent's error and
 * does not undo the commit (libxmtp does the same: the commit is already in the group).
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/tls.h"
#include "xmtp/client/client_int.h"
#include "xmtp/welcome_wrap.h"

#define COMMIT_MAX ((size_t)32 << 20)

/* post_commit: opaque welcome, then (opaque installation id, opaque key package) per recipient */
static int post_commit_encode(const xw_buf *welcome, const xc_commit_plan *p, xw_buf *out, xw_errbuf *eb)
{
    if (welcome->len == 0)
        return XW_OK;
    mls_writer w;
    mls_writer_init(&w, out);
    mls_write_opaque(&w, welcome->data, welcome->len);
    for (size_t i = 0; i < p->o.n_add; i++) {
        mls_write_opaque(&w, p->add_installations[i], XC_INSTALLATION_LEN);
        mls_write_opaque(&w, p->o.add_kps[i], p->o.add_lens[i]);
    }
    return w.err ? xw_errf(eb, XW_ETOOBIG, "the commit's welcomes do not fit in an intent") : XW_OK;
}

static int send_one_welcome(xc_client *c, mls_span welcome, mls_span inst, mls_span kp, uint64_t cursor,
                            xw_errbuf *eb)
{
    mls_key_package *k = NULL;
    int rc = mls_key_package_decode(kp.p, kp.len, &k, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_ECORRUPT, "a stored key package");
    mls_span ff03 = {0};
    int has = mls_extensions_find(k->extensions, XMTP_WELCOME_EXT_WRAPPER_ENCRYPTION, &ff03);
    xmtp_welcome_key key;
    xw_buf meta, data, meta_ct;
    xw_buf_init(&meta, 4096);
    xw_buf_init(&data, COMMIT_MAX);
    xw_buf_init(&meta_ct, 4096);
    rc = xmtp_welcome_key_for(k->init_key.p, k->init_key.len, has ? ff03.p : NULL, ff03.len, &key, eb);
    if (rc == XW_OK)
        rc = xmtp_welcome_metadata_encode(cursor, &meta, eb);
    if (rc == XW_OK)
        rc = xmtp_welcome_wrap(&key, welcome.p, welcome.len, meta.data, meta.len, NULL, &data, &meta_ct, eb);
    if (rc == XW_OK) {
        int xw = key.alg == XMTP_WELCOME_XWING;
        xc_welcome_env w = {
            .wrapper_algorithm = key.alg,
            .installation_key = {inst.p, inst.len},
            .data = {data.data, data.len},
            .hpke_public_key = {xw ? key.pub : k->init_key.p, xw ? key.pub_len : k->init_key.len},
            .metadata = {meta_ct.data, meta_ct.len}};
        rc = c->node->ops->send_welcome(c->node->ctx, &w, eb);
    }
    mls_key_package_free(k);
    xw_buf_free(&meta);
    xw_buf_free(&data);
    xw_buf_free(&meta_ct);
    return rc;
}

typedef struct {
    xc_intent_row *v;
    size_t n;
} row_list;

static int collect(void *ctx, const xc_intent_row *r)
{
    row_list *l = ctx;
    xc_intent_row *v = xw_realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return XW_ENOMEM;
    l->v = v;
    xc_intent_row *d = &v[l->n];
    *d = *r;
    xw_buf_init(&d->payload, COMMIT_MAX);
    xw_buf_init(&d->post_commit, COMMIT_MAX);
    if (xw_buf_append(&d->post_commit, r->post_commit.data, r->post_commit.len) != XW_OK) {
        xw_buf_free(&d->post_commit);
        return XW_ENOMEM;
    }
    l->n++;
    return XW_OK;
}

static void rows_free(row_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        xc_intent_row_free(&l->v[i]);
    xw_free(l->v);
}

int xc_intent_post_commits(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb)
{
    row_list l = {0};
    int rc = xc_store_intent_each(c->st, gid, len, XC_INTENT_COMMITTED, collect, &l, eb);
    if (rc == XW_ENOMEM)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XW_OK && i < l.n; i++) {
        const xc_intent_row *r = &l.v[i];
        mls_reader rd;
        mls_reader_init(&rd, r->post_commit.data, r->post_commit.len, eb);
        mls_span welcome = mls_read_opaque(&rd);
        char failed[256] = "";
        size_t n_failed = 0;
        while (rc == XW_OK && !rd.err && rd.off < r->post_commit.len) {
            mls_span inst = mls_read_opaque(&rd), kp = mls_read_opaque(&rd);
            if (rd.err)
                break;
            xw_errbuf we = {{0}};
            int wr = send_one_welcome(c, welcome, inst, kp, r->cursor, &we);
            if (xw_err_is_retriable(wr))
                rc = xw_errf(eb, wr, "sending a welcome (retried at the next sync): %s", we.msg);
            else if (wr != XW_OK && n_failed++ == 0)
                snprintf(failed, sizeof failed, "welcome refused: %.200s", we.msg);
        }
        if (rc == XW_OK && rd.err)
            rc = xw_errf(eb, XW_ECORRUPT, "client store: an intent's welcomes are damaged");
        /* a retry after a partial failure resends every welcome; a joiner keeps the first */
        if (rc == XW_OK)
            rc = xc_store_intent_set_state(c->st, r->id, XC_INTENT_DONE, r->attempts, failed, eb);
    }
    rows_free(&l);
    return rc;
}

static int lose(xc_client *c, const uint8_t *gid, size_t len, int state, uint64_t epoch, xw_errbuf *eb)
{
    row_list l = {0};
    int rc = xc_store_intent_each(c->st, gid, len, state, collect, &l, eb);
    if (rc == XW_ENOMEM)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    char why[128];
    snprintf(why, sizeof why, XC_INTENT_LOST_RACE " %llu", (unsigned long long)epoch);
    for (size_t i = 0; rc == XW_OK && i < l.n; i++)
        if (l.v[i].kind != XC_INTENT_SEND_MESSAGE)
            rc = xc_store_intent_set_state(c->st, l.v[i].id, XC_INTENT_ERROR, l.v[i].attempts, why, eb);
    rows_free(&l);
    return rc;
}

int xc_intent_lost_race(xc_client *c, const uint8_t *gid, size_t len, uint64_t epoch, xw_errbuf *eb)
{
    int rc = lose(c, gid, len, XC_INTENT_TO_PUBLISH, epoch, eb);
    if (rc == XW_OK)
        rc = lose(c, gid, len, XC_INTENT_PUBLISHED, epoch, eb);
    return rc;
}

/* One attempt: build, stage, store. *hash: the commit's payload hash. */
static int stage(xc_client *c, const uint8_t *gid, size_t len, int kind, xc_commit_plan_fn fn, void *ctx,
                 uint8_t hash[32], int *nothing, xw_errbuf *eb)
{
    xc_group g;
    int rc = xc_group_load(c, gid, len, &g, eb);
    if (rc != XW_OK)
        return rc;
    xc_commit_plan plan;
    memset(&plan, 0, sizeof plan);
    xc_intent_row in;
    xc_intent_row_init(&in);
    xw_buf welcome;
    xw_buf_init(&welcome, COMMIT_MAX);
    if (!g.row.active || !mls_group_active(g.mls))
        rc = xw_errf(eb, XW_ESTATE, "we are no longer a member of this group");
    else if (mls_group_has_staged_commit(g.mls))
        rc = xw_errf(eb, XW_EAGAIN, "an earlier commit of ours has not come back from the node yet");
    if (rc == XW_OK)
        rc = fn(c, &g, ctx, &plan, eb);
    if (rc == XW_OK && plan.nothing_to_do)
        *nothing = 1;
    if (rc == XW_OK && !*nothing && (rc = xc_store_begin(c->st, eb)) == XW_OK) {
        rc = mls_group_commit(g.mls, &plan.o, &in.payload, &welcome, eb);
        if (rc == XW_OK)
            rc = mls_hash(c->suite, in.payload.data, in.payload.len, in.payload_hash) == XW_OK
                     ? XW_OK
                     : xw_errf(eb, XW_ECRYPTO, "hashing a commit failed");
        if (rc == XW_OK)
            rc = post_commit_encode(&welcome, &plan, &in.post_commit, eb);
        memcpy(in.group_id, gid, len);
        in.group_id_len = len;
        in.kind = kind;
        in.state = XC_INTENT_TO_PUBLISH;
        in.created_ns = xc_now(c);
        if (rc == XW_OK)
            rc = xc_store_intent_insert(c->st, &in, NULL, eb);
        g.row.rotated_at_ns = xc_now(c); /* any commit of ours rotates our leaf (it has a path) */
        if (rc == XW_OK)
            rc = xc_group_save(c, &g, eb);
        if (rc == XW_OK)
            rc = xc_store_commit(c->st, eb);
        else
            xc_store_rollback(c->st);
        memcpy(hash, in.payload_hash, 32);
    }
    xw_buf_free_secret(&welcome);
    xc_intent_row_free(&in);
    xc_group_release(&g);
    return rc;
}

int xc_commit_intent(xc_client *c, const uint8_t *gid, size_t len, int kind, xc_commit_plan_fn fn, void *ctx,
                     xw_errbuf *eb)
{
    for (int attempt = 0; attempt < XC_COMMIT_ATTEMPTS; attempt++) {
        int rc = xc_group_sync(c, gid, len, NULL, eb);
        if (rc != XW_OK)
            return rc;
        uint8_t hash[32];
        int nothing = 0;
        rc = stage(c, gid, len, kind, fn, ctx, hash, &nothing, eb);
        if (rc != XW_OK || nothing)
            return rc;
        /* publish, then read our echo back */
        rc = xc_group_publish(c, gid, len, eb);
        if (rc == XW_OK)
            rc = xc_group_sync(c, gid, len, NULL, eb);
        if (rc != XW_OK)
            return rc;
        xc_intent_row r;
        xc_intent_row_init(&r);
        rc = xc_store_intent_by_hash(c->st, hash, &r, eb);
        if (rc == XW_ENOTFOUND)
            rc = xw_errf(eb, XW_ECORRUPT, "client store: a commit intent disappeared");
        int state = r.state;
        char err[256];
        memcpy(err, r.error, sizeof err);
        xc_intent_row_free(&r);
        if (rc != XW_OK)
            return rc;
        if (state == XC_INTENT_DONE)
            return XW_OK;
        if (state == XC_INTENT_COMMITTED)
            return xw_errf(eb, XW_EAGAIN, "the commit is in the group; its welcomes go out at the next sync");
        if (state == XC_INTENT_ERROR && strncmp(err, XC_INTENT_LOST_RACE, strlen(XC_INTENT_LOST_RACE)) == 0)
            continue;                 /* another commit won the epoch: rebuild on top of it */
        if (state == XC_INTENT_ERROR) /* our own rules refused it on its echo (commit.c, policy.c) */
            return xw_errf(eb, XW_EDENIED, "our commit was not accepted: %s", err);
        return xw_errf(eb, XW_EAGAIN, "our commit is queued; the next sync publishes it and reads it back");
    }
    return xw_errf(eb, XW_EAGAIN, "other members' commits won the epoch %d times in a row; try again",
                   XC_COMMIT_ATTEMPTS);
}
