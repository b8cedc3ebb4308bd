/*
 * Proposal lists and commits (RFC 9420 §12.1-§12.4.2): validation of a proposal received on
 * its own, the §12.2 rules for a committed list, applying it in the §12.3 order, creating a
 * commit (with its UpdatePath and Welcome) and processing a received one.
 *
 * Both directions build the next epoch in a fork of the group (mls_group_fork), so a
 * failure anywhere leaves the current epoch untouched; the fork becomes the staged commit
 * (own) or replaces the current epoch (received).
 */
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/group_int.h"

#define MAX_ITEMS 4096

#ifdef XW_TESTING
/* Test builds only: when set, mls_group_commit skips the §12.2 checks of its own proposal
 * list, so that tests can produce signed but invalid commits for receivers to reject. */
int mls_group_test_unchecked;
#else
static const int mls_group_test_unchecked = 0;
#endif

static int default_ext(uint16_t t) { return t >= 1 && t <= 5; }

/* Every current member (excluding `removed`) supports the required_capabilities in exts. */
static int check_required_caps(const mls_group *g, mls_tree *t, mls_span exts, xw_errbuf *eb)
{
    mls_span req;
    if (!mls_extensions_find(exts, MLS_EXT_REQUIRED_CAPABILITIES, &req))
        return XW_OK;
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_leaf *l = mls_tree_leaf(t, i);
        if (!l)
            continue;
        /* mls_leaf_validate checks required capabilities among other things; reuse its
         * capability part by validating against an empty group id only for key packages */
        mls_reader r;
        mls_reader_init(&r, req.p, req.len, NULL);
        for (int list = 0; list < 3; list++) {
            mls_span v = mls_read_opaque(&r);
            for (size_t k = 0; k + 1 < v.len; k += 2) {
                uint16_t ty = (uint16_t)(v.p[k] << 8 | v.p[k + 1]);
                mls_span have = list == 0 ? l->ext_types : list == 1 ? l->proposal_types : l->cred_types;
                if (list == 0 && default_ext(ty))
                    continue;
                if (list == 1 && ty >= 1 && ty <= 7)
                    continue;
                if (!mls_u16_list_has(have, ty))
                    return xw_errf(eb, XW_EMLS_PROPOSAL,
                                   "member %u does not support %s 0x%04x that the new required_capabilities "
                                   "extension requires",
                                   i,
                                   list == 0   ? "extension"
                                   : list == 1 ? "proposal type"
                                               : "credential type",
                                   ty);
            }
        }
        if (r.err)
            return xw_errf(eb, XW_EMALFORMED, "required_capabilities extension is malformed");
    }
    (void)g;
    return XW_OK;
}

/* Checks of one proposal that do not depend on the rest of the list. */
static int check_one(const mls_group *g, const mls_proposal *p, uint32_t sender, mls_span exts, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    mls_span gid = {g->group_id.data, g->group_id.len};
    switch (p->type) {
    case MLS_PROPOSAL_ADD: {
        /* RFC 9420 §7.3 recommends the lifetime check for what a member receives; the
         * sender always checks (mls_group_commit) */
        int rc = mls_key_package_validate(s, p->kp, g->cfg.check_lifetimes ? mls_group_now(g) : 0, exts, eb);
        const mls_leaf *l = p->kp->leaf;
        if (rc == XW_OK && g->cfg.max_lifetime && l->not_after - l->not_before > g->cfg.max_lifetime)
            rc = xw_errf(eb, XW_EMLS_KEYPACKAGE,
                         "key package is valid for %llu seconds, more than the group's maximum of %llu; ask "
                         "the member "
                         "for a key package with a shorter lifetime",
                         (unsigned long long)(l->not_after - l->not_before),
                         (unsigned long long)g->cfg.max_lifetime);
        return rc == XW_OK ? XW_OK : xw_errctx(eb, rc, "Add proposal");
    }
    case MLS_PROPOSAL_UPDATE: {
        const mls_leaf *cur = mls_tree_leaf(g->tree, sender);
        if (!cur)
            return xw_errf(eb, XW_EMLS_PROPOSAL, "Update proposal from leaf %u, which is blank", sender);
        if (p->leaf->source != MLS_LEAF_SOURCE_UPDATE)
            return xw_errf(eb, XW_EMLS_PROPOSAL,
                           "Update proposal's leaf node has source %u; it must be update (2)",
                           p->leaf->source);
        if (p->leaf->enc_key.len == cur->enc_key.len &&
            memcmp(p->leaf->enc_key.p, cur->enc_key.p, cur->enc_key.len) == 0)
            return xw_errf(eb, XW_EMLS_PROPOSAL,
                           "Update proposal keeps the same encryption key; it must change it");
        int rc = mls_leaf_validate(s, p->leaf, gid, sender, exts, eb);
        return rc == XW_OK ? XW_OK : xw_errctx(eb, rc, "Update proposal");
    }
    case MLS_PROPOSAL_REMOVE:
        if (!mls_tree_leaf(g->tree, p->removed))
            return xw_errf(eb, XW_EMLS_PROPOSAL, "Remove proposal for leaf %u, which is not a member",
                           p->removed);
        return XW_OK;
    case MLS_PROPOSAL_PSK:
        if (p->psk.psk_nonce.len != s->nh)
            return xw_errf(eb, XW_EMLS_PROPOSAL,
                           "PreSharedKey proposal's nonce has %zu bytes; it must have %zu",
                           p->psk.psk_nonce.len, s->nh);
        if (p->psk.psktype == MLS_PSK_RESUMPTION && p->psk.usage != MLS_PSK_USAGE_APPLICATION)
            return xw_errf(
                eb, XW_EMLS_PROPOSAL,
                "PreSharedKey proposal with a resumption PSK of usage %u (reinit/branch) is invalid here",
                p->psk.usage);
        return XW_OK;
    case MLS_PROPOSAL_GCE:
        return mls_check_extension_list(p->extensions, "GroupContextExtensions proposal", eb);
    default:
        return xw_errf(eb, XW_EUNSUPPORTED, "%s proposals are not supported",
                       mls_proposal_type_name(p->type));
    }
}

int mls_group_check_proposal(const mls_group *g, const mls_proposal *p, uint32_t sender, xw_errbuf *eb)
{
    return check_one(g, p, sender, (mls_span){g->extensions.data, g->extensions.len}, eb);
}

int mls_group_apply_proposals(const mls_group *g, mls_group *next, const mls_plist_item *items, size_t n,
                              uint32_t committer, uint32_t *added, size_t *n_added, mls_psk *psks,
                              size_t *n_psks, int *path_required, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    size_t gce = 0;
    const mls_proposal *gce_p = NULL;
    *path_required = n == 0;
    *n_added = *n_psks = 0;
    for (size_t i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        if (p->type == MLS_PROPOSAL_GCE) {
            gce++;
            gce_p = p;
        }
        if (p->type == MLS_PROPOSAL_UPDATE || p->type == MLS_PROPOSAL_REMOVE || p->type == MLS_PROPOSAL_GCE)
            *path_required = 1;
    }
    if (gce > 1)
        return xw_errf(eb, XW_EMLS_PROPOSAL,
                       "the commit holds %zu GroupContextExtensions proposals; at most one is "
                       "allowed",
                       gce);
    mls_span exts = gce_p ? gce_p->extensions : (mls_span){g->extensions.data, g->extensions.len};
    int unchecked = committer == g->me && mls_group_test_unchecked;
    for (size_t i = 0; i < n && !unchecked; i++) {
        const mls_proposal *p = items[i].p;
        int rc = check_one(g, p, items[i].sender, exts, eb);
        if (rc != XW_OK)
            return xw_errctx(eb, rc, "proposal %zu of the commit", i);
        if (p->type == MLS_PROPOSAL_UPDATE && items[i].sender == committer)
            return xw_errf(eb, XW_EMLS_PROPOSAL,
                           "the commit holds an Update proposal from the committer itself");
        if (p->type == MLS_PROPOSAL_REMOVE && p->removed == committer)
            return xw_errf(eb, XW_EMLS_PROPOSAL, "the commit removes the committer itself");
        for (size_t j = 0; j < i; j++) {
            const mls_proposal *q = items[j].p;
            uint32_t a = p->type == MLS_PROPOSAL_UPDATE ? items[i].sender : p->removed;
            uint32_t b = q->type == MLS_PROPOSAL_UPDATE ? items[j].sender : q->removed;
            if ((p->type == MLS_PROPOSAL_UPDATE || p->type == MLS_PROPOSAL_REMOVE) &&
                (q->type == MLS_PROPOSAL_UPDATE || q->type == MLS_PROPOSAL_REMOVE) && a == b)
                return xw_errf(eb, XW_EMLS_PROPOSAL,
                               "the commit holds two Update/Remove proposals for leaf %u", a);
            if (p->type == MLS_PROPOSAL_ADD && q->type == MLS_PROPOSAL_ADD &&
                p->kp->leaf->sig_key.len == q->kp->leaf->sig_key.len &&
                memcmp(p->kp->leaf->sig_key.p, q->kp->leaf->sig_key.p, p->kp->leaf->sig_key.len) == 0)
                return xw_errf(eb, XW_EMLS_PROPOSAL,
                               "the commit adds the same client twice (proposals %zu and %zu)", j, i);
            if (p->type == MLS_PROPOSAL_PSK && q->type == MLS_PROPOSAL_PSK &&
                p->psk.psktype == q->psk.psktype && p->psk.psk_nonce.len == q->psk.psk_nonce.len &&
                memcmp(p->psk.psk_nonce.p, q->psk.psk_nonce.p, p->psk.psk_nonce.len) == 0 &&
                p->psk.psk_id.len == q->psk.psk_id.len &&
                (p->psk.psk_id.len == 0 ||
                 memcmp(p->psk.psk_id.p, q->psk.psk_id.p, p->psk.psk_id.len) == 0) &&
                p->psk.psk_epoch == q->psk.psk_epoch)
                return xw_errf(eb, XW_EMLS_PROPOSAL, "the commit injects the same PSK twice");
        }
    }
    /* GroupContextExtensions */
    if (gce_p) {
        xw_buf_reset(&next->extensions);
        if (xw_buf_append(&next->extensions, gce_p->extensions.p, gce_p->extensions.len))
            return xw_errf(eb, XW_ETOOBIG, "group context extensions too large");
    }
    /* Updates, then Removes */
    for (size_t i = 0; i < n; i++)
        if (items[i].p->type == MLS_PROPOSAL_UPDATE) {
            int rc = unchecked ? XW_OK
                               : mls_tree_check_leaf_fits(next->tree, items[i].p->leaf, items[i].sender, eb);
            if (rc != XW_OK)
                return xw_errctx(eb, rc, "Update proposal %zu", i);
            mls_tree_update(next->tree, items[i].sender, items[i].p->leaf);
            /* our own Update, committed by another member: its private key becomes our leaf's */
            const mls_leaf *l = items[i].p->leaf;
            if (items[i].sender == next->me && g->update_len && l->enc_key.len == g->update_len &&
                memcmp(l->enc_key.p, g->update_pub, g->update_len) == 0) {
                int r2 = mls_tree_set_priv(next->tree, 2 * next->me, g->update_priv, s->hpke_priv_len);
                if (r2 != XW_OK)
                    return r2;
            }
        }
    for (size_t i = 0; i < n; i++)
        if (items[i].p->type == MLS_PROPOSAL_REMOVE)
            mls_tree_remove(next->tree, items[i].p->removed);
    /* Adds, in order */
    for (size_t i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        if (p->type != MLS_PROPOSAL_ADD)
            continue;
        int rc = unchecked ? XW_OK : mls_tree_check_leaf_fits(next->tree, p->kp->leaf, UINT32_MAX, eb);
        if (rc != XW_OK)
            return xw_errctx(eb, rc, "Add proposal %zu", i);
        uint32_t idx;
        if ((rc = mls_tree_add(next->tree, p->kp->leaf, &idx)) != XW_OK)
            return xw_errf(eb, rc, "the tree cannot grow further (%u leaves)", next->tree->n_leaves);
        added[(*n_added)++] = idx;
    }
    if (gce_p && !unchecked) {
        int rc = check_required_caps(g, next->tree, exts, eb);
        if (rc != XW_OK)
            return rc;
    }
    /* PSKs, in order */
    for (size_t i = 0; i < n; i++) {
        const mls_proposal *p = items[i].p;
        if (p->type != MLS_PROPOSAL_PSK)
            continue;
        mls_psk *k = &psks[(*n_psks)++];
        k->id = p->psk;
        int rc = mls_group_psk_lookup(g, &p->psk, &k->psk, &k->psk_len, eb);
        if (rc != XW_OK)
            return rc;
    }
    if (!mls_tree_leaf(next->tree, next->me) || next->me >= next->tree->n_leaves)
        next->active = 0;
    (void)s;
    return XW_OK;
}

/* --- Commit decoding --- */

typedef struct {
    mls_plist_item items[MAX_ITEMS];
    mls_proposal *owned[MAX_ITEMS];
    size_t n, n_owned;
    int has_path;
    mls_update_path path;
} commit_parts;

static void parts_free(commit_parts *c)
{
    for (size_t i = 0; i < c->n_owned; i++)
        mls_proposal_free(c->owned[i]);
    if (c->has_path)
        mls_update_path_free(&c->path);
}

static int commit_decode(const mls_group *g, mls_span body, uint32_t committer, commit_parts *c,
                         xw_errbuf *eb)
{
    mls_reader r, v;
    mls_reader_init(&r, body.p, body.len, eb);
    mls_read_vector(&r, &v);
    while (!v.err && mls_reader_left(&v)) {
        if (c->n == MAX_ITEMS)
            return xw_errf(eb, XW_ELIMIT, "commit holds more than %d proposals", MAX_ITEMS);
        uint8_t type = mls_read_u8(&v);
        mls_plist_item *it = &c->items[c->n];
        if (type == 1) {
            mls_proposal *p = mls_proposal_read(&v);
            if (!p)
                break;
            c->owned[c->n_owned++] = p;
            it->p = p;
            it->sender = committer;
            it->by_ref = 0;
        } else if (type == 2) {
            mls_span ref = mls_read_opaque(&v);
            if (v.err)
                break;
            size_t k = 0;
            while (k < g->n_props &&
                   (ref.len != g->suite->nh || memcmp(g->props[k].ref, ref.p, ref.len) != 0))
                k++;
            if (k == g->n_props) {
                mls_reader_fail(
                    &v, XW_EMLS_PROPOSAL,
                    "the commit references a proposal this member has not received in this epoch");
                break;
            }
            it->p = g->props[k].p;
            it->sender = g->props[k].sender;
            it->by_ref = 1;
            memcpy(it->ref, g->props[k].ref, g->suite->nh);
        } else {
            mls_reader_fail(&v, XW_EMALFORMED,
                            "ProposalOrRef type %u is neither proposal (1) nor reference (2)", type);
            break;
        }
        c->n++;
    }
    if (mls_reader_join(&r, &v) != XW_OK)
        return r.err;
    int present = mls_read_optional(&r);
    if (r.err)
        return r.err;
    if (present) {
        if (mls_update_path_read(&r, &c->path) != XW_OK)
            return r.err;
        c->has_path = 1;
    }
    return mls_reader_finish(&r, "commit");
}

static int confirmed_hash(const mls_group *g, const mls_authenticated_content *ac, uint8_t *out)
{
    xw_buf b;
    xw_buf_init(&b, (size_t)1 << 27);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_confirmed_transcript_input_write(&w, ac);
    int rc = w.err ? w.err
                   : mls_confirmed_transcript_hash(g->suite, g->interim, g->interim_len, b.data, b.len, out);
    xw_buf_free(&b);
    return rc;
}

/* Transcript, key schedule, tag and secret tree of next, from g's epoch. tag: the commit's
 * confirmation tag to verify, or NULL to compute it into tag_out. */
static int finish_epoch(const mls_group *g, mls_group *next, const mls_authenticated_content *ac,
                        const uint8_t *commit_secret, const mls_psk *psks, size_t n_psks, const uint8_t *tag,
                        uint8_t *tag_out, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    int rc = confirmed_hash(g, ac, next->confirmed);
    next->confirmed_len = s->nh;
    if (rc == XW_OK)
        rc = mls_group_gc_update(next);
    uint8_t psk_secret[MLS_MAX_HASH];
    if (rc == XW_OK)
        rc = mls_psk_secret(s, psks, n_psks, psk_secret, eb);
    if (rc == XW_OK)
        rc = mls_key_schedule_run(s, g->sec.init_secret, commit_secret, psk_secret, next->gc.data,
                                  next->gc.len, &next->sec);
    xw_wipe(psk_secret, sizeof psk_secret);
    uint8_t want[MLS_MAX_HASH];
    if (rc == XW_OK)
        rc = mls_confirmation_tag(s, next->sec.confirmation_key, next->confirmed, want);
    if (rc == XW_OK && tag && sodium_memcmp(want, tag, s->nh) != 0)
        rc = xw_errf(
            eb, XW_EMLS_TAG,
            "the commit's confirmation tag does not verify: the committer derived another epoch (different "
            "tree, PSKs or transcript)");
    if (rc == XW_OK && tag_out)
        memcpy(tag_out, want, s->nh);
    if (rc == XW_OK)
        rc = mls_interim_transcript_hash(s, next->confirmed, want, s->nh, next->interim);
    next->interim_len = s->nh;
    if (rc == XW_OK)
        rc = mls_group_epoch_start(next, eb);
    return rc;
}

int mls_group_process_commit(mls_group *g, const mls_authenticated_content *ac, mls_group **next_out,
                             int *removed, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    if (ac->content.sender.type != MLS_SENDER_MEMBER)
        return xw_errf(eb, XW_EUNSUPPORTED,
                       "commit from sender type %u: external commits are not supported; members add joiners",
                       ac->content.sender.type);
    uint32_t committer = ac->content.sender.index;
    commit_parts *c = xw_calloc(1, sizeof *c);
    uint32_t *added = xw_malloc(MAX_ITEMS * sizeof *added);
    mls_psk *psks = xw_malloc(MAX_ITEMS * sizeof *psks);
    mls_group *next = NULL;
    int rc = (!c || !added || !psks) ? xw_errf(eb, XW_ENOMEM, "out of memory") : XW_OK;
    if (rc == XW_OK)
        rc = commit_decode(g, ac->content.content, committer, c, eb);
    if (rc == XW_OK && !(next = mls_group_fork(g)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    size_t n_added = 0, n_psks = 0;
    int path_required = 0;
    if (rc == XW_OK)
        rc = mls_group_apply_proposals(g, next, c->items, c->n, committer, added, &n_added, psks, &n_psks,
                                       &path_required, eb);
    if (rc == XW_OK && path_required && !c->has_path)
        rc =
            xw_errf(eb, XW_EMLS_COMMIT,
                    "the commit has no update path but its proposals (or their absence) require one (§12.4)");
    mls_span gid = {g->group_id.data, g->group_id.len};
    if (rc == XW_OK && c->has_path) {
        const mls_leaf *cur = mls_tree_leaf(next->tree, committer);
        rc = mls_leaf_validate(s, c->path.leaf, gid, committer,
                               (mls_span){next->extensions.data, next->extensions.len}, eb);
        if (rc == XW_OK && cur && cur->enc_key.len == c->path.leaf->enc_key.len &&
            memcmp(cur->enc_key.p, c->path.leaf->enc_key.p, cur->enc_key.len) == 0)
            rc = xw_errf(eb, XW_EMLS_COMMIT, "the committer's new leaf keeps its old encryption key");
        if (rc == XW_OK)
            rc = mls_tree_check_leaf_fits(next->tree, c->path.leaf, committer, eb);
        if (rc == XW_OK)
            rc = mls_treekem_merge(next->tree, committer, &c->path, gid, eb);
    }
    uint8_t commit_secret[MLS_MAX_HASH] = {0};
    if (rc == XW_OK) {
        next->epoch = g->epoch + 1;
        rc = mls_group_gc_update(next); /* provisional: old confirmed transcript hash */
    }
    if (rc == XW_OK && !next->active) {
        /* removed: the path was not encrypted to us; the group ends here for this member */
        *removed = 1;
        *next_out = next;
        next = NULL;
        goto out;
    }
    if (rc == XW_OK && c->has_path)
        rc = mls_treekem_decrypt(next->tree, committer, next->me, &c->path, added, n_added, next->gc.data,
                                 next->gc.len, commit_secret, NULL, eb);
    if (rc == XW_OK)
        rc = finish_epoch(g, next, ac, c->has_path ? commit_secret : NULL, psks, n_psks,
                          ac->auth.confirmation_tag.p, NULL, eb);
    if (rc == XW_OK && ac->auth.confirmation_tag.len != s->nh)
        rc = xw_errf(eb, XW_EMLS_TAG, "confirmation tag has the wrong length");
    if (rc == XW_OK) {
        *next_out = next;
        next = NULL;
    }
out:
    xw_wipe(commit_secret, sizeof commit_secret);
    mls_group_free(next);
    if (c)
        parts_free(c);
    xw_free(c);
    xw_free(added);
    xw_free(psks);
    return rc;
}

/* --- creating commits --- */

static mls_proposal *make_proposal(uint16_t type, const uint8_t *body, size_t n, xw_errbuf *eb)
{
    xw_buf b;
    xw_buf_init(&b, (size_t)1 << 24);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_write_u16(&w, type);
    mls_write_fixed(&w, body, n);
    mls_proposal *p = NULL;
    if (!w.err && mls_proposal_decode(b.data, b.len, &p, eb) != XW_OK)
        p = NULL;
    xw_buf_free(&b);
    return p;
}

static int kp_body(const uint8_t *kp, size_t n, xw_buf *out, xw_errbuf *eb)
{
    mls_key_package *k = NULL;
    int rc = mls_key_package_decode(kp, n, &k, eb);
    if (rc == XW_OK)
        rc = xw_buf_append(out, k->raw, k->raw_len);
    mls_key_package_free(k);
    return rc;
}

int mls_group_commit(mls_group *g, const mls_commit_opts *o, xw_buf *commit_out, xw_buf *welcome_out,
                     xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    if (!g->active)
        return xw_errf(eb, XW_ESTATE, "this member was removed from the group; it cannot commit");
    if (g->staged)
        return xw_errf(eb, XW_ESTATE, "a commit is already staged; confirm or discard it first");
    size_t total =
        o->n_add + o->n_remove + o->n_psks + (o->gce ? 1 : 0) + (o->include_pending ? g->n_props : 0);
    if (total > MAX_ITEMS)
        return xw_errf(eb, XW_ELIMIT, "a commit holds at most %d proposals", MAX_ITEMS);
    commit_parts *c = xw_calloc(1, sizeof *c);
    uint32_t *added = xw_malloc(MAX_ITEMS * sizeof *added);
    mls_psk *psks = xw_malloc(MAX_ITEMS * sizeof *psks);
    mls_key_package **kps = xw_calloc(MAX_ITEMS, sizeof *kps);
    xw_buf body, cbytes, upb;
    xw_buf_init(&body, (size_t)1 << 24);
    xw_buf_init(&cbytes, (size_t)1 << 27);
    xw_buf_init(&upb, (size_t)1 << 27);
    mls_group *next = NULL;
    mls_treekem_path path;
    int have_path = 0;
    int rc = (!c || !added || !psks || !kps) ? xw_errf(eb, XW_ENOMEM, "out of memory") : XW_OK;
    uint64_t now = mls_group_now(g);
    /* by-value proposals */
    for (size_t i = 0; i < o->n_add && rc == XW_OK; i++) {
        xw_buf_reset(&body);
        rc = kp_body(o->add_kps[i], o->add_lens[i], &body, eb);
        mls_proposal *p = rc == XW_OK ? make_proposal(MLS_PROPOSAL_ADD, body.data, body.len, eb) : NULL;
        if (rc == XW_OK && !p)
            rc = XW_EINVAL;
        if (rc == XW_OK && !mls_group_test_unchecked &&
            (rc = mls_key_package_validate(s, p->kp, now, (mls_span){g->extensions.data, g->extensions.len},
                                           eb)) != XW_OK)
            xw_errctx(eb, rc, "key package %zu", i);
        if (p) {
            c->owned[c->n_owned++] = p;
            c->items[c->n++] = (mls_plist_item){p, g->me, 0, {0}};
        }
    }
    for (size_t i = 0; i < o->n_remove && rc == XW_OK; i++) {
        uint8_t b[4] = {(uint8_t)(o->remove[i] >> 24), (uint8_t)(o->remove[i] >> 16),
                        (uint8_t)(o->remove[i] >> 8), (uint8_t)o->remove[i]};
        mls_proposal *p = make_proposal(MLS_PROPOSAL_REMOVE, b, 4, eb);
        if (!p)
            rc = XW_EINVAL;
        else {
            c->owned[c->n_owned++] = p;
            c->items[c->n++] = (mls_plist_item){p, g->me, 0, {0}};
        }
    }
    for (size_t i = 0; i < o->n_psks && rc == XW_OK; i++) {
        uint8_t nonce[MLS_MAX_HASH];
        mls_random(nonce, s->nh);
        mls_psk_id id = {MLS_PSK_EXTERNAL, {o->psks[i]->id, o->psks[i]->id_len}, 0, {NULL, 0}, 0,
                         {nonce, s->nh}};
        xw_buf_reset(&body);
        mls_writer w;
        mls_writer_init(&w, &body);
        mls_psk_id_write(&w, &id);
        mls_proposal *p = w.err ? NULL : make_proposal(MLS_PROPOSAL_PSK, body.data, body.len, eb);
        if (!p)
            rc = XW_EINVAL;
        else {
            c->owned[c->n_owned++] = p;
            c->items[c->n++] = (mls_plist_item){p, g->me, 0, {0}};
        }
    }
    if (o->gce && rc == XW_OK) {
        xw_buf_reset(&body);
        mls_writer w;
        mls_writer_init(&w, &body);
        mls_write_opaque(&w, o->gce, o->gce_len);
        mls_proposal *p = w.err ? NULL : make_proposal(MLS_PROPOSAL_GCE, body.data, body.len, eb);
        if (!p)
            rc = XW_EINVAL;
        else {
            c->owned[c->n_owned++] = p;
            c->items[c->n++] = (mls_plist_item){p, g->me, 0, {0}};
        }
    }
    if (o->include_pending)
        for (size_t i = 0; i < g->n_props && rc == XW_OK; i++) {
            if (g->props[i].sender == g->me && g->props[i].p->type == MLS_PROPOSAL_UPDATE)
                continue; /* a committer may not commit its own Update (§12.2); the path replaces it */
            mls_plist_item *it = &c->items[c->n++];
            it->p = g->props[i].p;
            it->sender = g->props[i].sender;
            it->by_ref = 1;
            memcpy(it->ref, g->props[i].ref, s->nh);
        }
    if (rc == XW_OK && !(next = mls_group_fork(g)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    size_t n_added = 0, n_psks = 0;
    int path_required = 0;
    if (rc == XW_OK)
        rc = mls_group_apply_proposals(g, next, c->items, c->n, g->me, added, &n_added, psks, &n_psks,
                                       &path_required, eb);
    mls_span gid = {g->group_id.data, g->group_id.len};
    int with_path = !o->no_path || (path_required && !mls_group_test_unchecked);
    if (rc == XW_OK && with_path) {
        rc = mls_treekem_prepare(next->tree, g->me, &g->sig, NULL, gid, &path, eb);
        have_path = rc == XW_OK;
    }
    if (rc == XW_OK) {
        next->epoch = g->epoch + 1;
        rc = mls_group_gc_update(next);
    }
    if (rc == XW_OK && with_path)
        rc = mls_treekem_encrypt(next->tree, &path, added, n_added, next->gc.data, next->gc.len, &upb, eb);
    /* the Commit */
    mls_writer w;
    mls_writer_init(&w, &cbytes);
    size_t mark = mls_write_vec_begin(&w);
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i].by_ref) {
            mls_write_u8(&w, 2);
            mls_write_opaque(&w, c->items[i].ref, s->nh);
        } else {
            mls_write_u8(&w, 1);
            mls_write_fixed(&w, c->items[i].p->raw, c->items[i].p->raw_len);
        }
    }
    mls_write_vec_end(&w, mark);
    mls_write_optional(&w, with_path);
    if (with_path)
        mls_write_fixed(&w, upb.data, upb.len);
    if (rc == XW_OK && w.err)
        rc = w.err;
    uint16_t wf = g->cfg.handshake_public ? MLS_WIRE_FORMAT_PUBLIC_MESSAGE : MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
    mls_framed_content fc = {gid,       g->epoch,           {MLS_SENDER_MEMBER, g->me},
                             {NULL, 0}, MLS_CONTENT_COMMIT, {cbytes.data, cbytes.len}};
    uint8_t sig[MLS_MAX_SIG], tag[MLS_MAX_HASH];
    if (rc == XW_OK)
        rc = mls_framed_content_sign(s, wf, &fc, (mls_span){g->gc.data, g->gc.len}, &g->sig, sig, eb);
    mls_authenticated_content ac = {wf, fc, {{sig, s->sig_len}, {NULL, 0}}};
    if (rc == XW_OK)
        rc = finish_epoch(g, next, &ac, have_path ? path.commit_secret : NULL, psks, n_psks, NULL, tag, eb);
    size_t start = commit_out->len;
    if (rc == XW_OK) {
        mls_framing_ctx ctx;
        rc = mls_group_framing_ctx(g, &ctx, eb);
        if (rc == XW_OK)
            rc = wf == MLS_WIRE_FORMAT_PUBLIC_MESSAGE
                     ? mls_protect_public(&ctx, &fc, &g->sig, tag, commit_out, eb)
                     : mls_protect_private(&ctx, &fc, &g->sig, tag, g->cfg.padding, commit_out, eb);
    }
    if (rc == XW_OK && n_added) {
        for (size_t i = 0, k = 0; i < c->n; i++)
            if (c->items[i].p->type == MLS_PROPOSAL_ADD)
                kps[k++] = c->items[i].p->kp;
        rc = mls_group_welcome_build(g, next, tag, added, (const mls_key_package *const *)kps, n_added,
                                     have_path ? &path : NULL, psks, n_psks, welcome_out, eb);
    }
    if (rc == XW_OK) {
        xw_buf_reset(&g->staged_msg);
        rc = xw_buf_append(&g->staged_msg, commit_out->data + start, commit_out->len - start);
    }
    if (rc == XW_OK) {
        g->staged = next;
        next = NULL;
    } else {
        xw_buf_truncate(commit_out, start);
    }
    if (have_path)
        mls_treekem_path_wipe(&path);
    mls_group_free(next);
    if (c)
        parts_free(c);
    xw_free(c);
    xw_free(added);
    xw_free(psks);
    xw_free(kps);
    xw_buf_free(&body);
    xw_buf_free(&cbytes);
    xw_buf_free(&upb);
    return rc;
}

/* --- proposals as messages --- */

static int send_proposal(mls_group *g, uint16_t type, const uint8_t *body, size_t n, xw_buf *out,
                         xw_errbuf *eb)
{
    mls_proposal *p = make_proposal(type, body, n, eb);
    if (!p)
        return XW_EINVAL;
    int rc = mls_group_check_proposal(g, p, g->me, eb);
    uint16_t wf = g->cfg.handshake_public ? MLS_WIRE_FORMAT_PUBLIC_MESSAGE : MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
    mls_framed_content fc = {{g->group_id.data, g->group_id.len},
                             g->epoch,
                             {MLS_SENDER_MEMBER, g->me},
                             {NULL, 0},
                             MLS_CONTENT_PROPOSAL,
                             {p->raw, p->raw_len}};
    mls_framing_ctx ctx;
    if (rc == XW_OK)
        rc = mls_group_framing_ctx(g, &ctx, eb);
    size_t start = out->len;
    if (rc == XW_OK)
        rc = wf == MLS_WIRE_FORMAT_PUBLIC_MESSAGE
                 ? mls_protect_public(&ctx, &fc, &g->sig, NULL, out, eb)
                 : mls_protect_private(&ctx, &fc, &g->sig, NULL, g->cfg.padding, out, eb);
    /* cache our own proposal so that a commit by reference (ours or another's) finds it */
    if (rc == XW_OK) {
        mls_unprotected u;
        mls_unprotected_init(&u);
        uint8_t sig[MLS_MAX_SIG];
        rc = mls_framed_content_sign(g->suite, wf, &fc, (mls_span){g->gc.data, g->gc.len}, &g->sig, sig, eb);
        mls_authenticated_content ac = {wf, fc, {{sig, g->suite->sig_len}, {NULL, 0}}};
        xw_buf b;
        xw_buf_init(&b, (size_t)1 << 26);
        mls_writer w;
        mls_writer_init(&w, &b);
        mls_authenticated_content_write(&w, &ac);
        mls_cached_proposal *np = xw_realloc(g->props, (g->n_props + 1) * sizeof *np);
        static const char label[] = "MLS 1.0 Proposal Reference";
        if (rc == XW_OK && !w.err && np) {
            g->props = np;
            mls_ref_hash(g->suite, label, sizeof label - 1, b.data, b.len, np[g->n_props].ref);
            np[g->n_props].p = p;
            np[g->n_props].sender = g->me;
            g->n_props++;
            p = NULL;
        } else if (rc == XW_OK) {
            rc = XW_ENOMEM;
        }
        xw_buf_free(&b);
        mls_unprotected_free(&u);
    }
    if (rc != XW_OK)
        xw_buf_truncate(out, start);
    mls_proposal_free(p);
    return rc;
}

int mls_group_propose_remove(mls_group *g, uint32_t leaf, xw_buf *out, xw_errbuf *eb)
{
    uint8_t b[4] = {(uint8_t)(leaf >> 24), (uint8_t)(leaf >> 16), (uint8_t)(leaf >> 8), (uint8_t)leaf};
    return send_proposal(g, MLS_PROPOSAL_REMOVE, b, 4, out, eb);
}

int mls_group_propose_update(mls_group *g, xw_buf *out, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    const mls_leaf *cur = mls_tree_leaf(g->tree, g->me);
    if (!g->active || !cur)
        return xw_errf(eb, XW_ESTATE, "this member was removed from the group; it cannot propose");
    uint8_t seed[MLS_MAX_HASH], priv[MLS_HPKE_MAX_SK], pub[MLS_HPKE_MAX_PK];
    mls_random(seed, s->nh);
    int rc = mls_derive_keypair(s, seed, s->nh, priv, pub, eb);
    xw_wipe(seed, sizeof seed);
    mls_leaf_fields f = {.enc_key = {pub, s->hpke_pub_len},
                         .sig_key = cur->sig_key,
                         .credential = cur->credential,
                         .capabilities = cur->capabilities,
                         .source = MLS_LEAF_SOURCE_UPDATE,
                         .extensions = cur->extensions};
    mls_leaf *l =
        rc == XW_OK ? mls_leaf_build(s, &f, &g->sig, (mls_span){g->group_id.data, g->group_id.len}, g->me, eb)
                    : NULL;
    if (rc == XW_OK && !l)
        rc = XW_ECRYPTO;
    if (rc == XW_OK)
        rc = send_proposal(g, MLS_PROPOSAL_UPDATE, l->raw, l->raw_len, out, eb);
    if (rc == XW_OK) {
        memcpy(g->update_priv, priv, s->hpke_priv_len);
        memcpy(g->update_pub, pub, s->hpke_pub_len);
        g->update_len = s->hpke_pub_len;
    }
    mls_leaf_unref(l);
    xw_wipe(priv, sizeof priv);
    return rc;
}

int mls_group_propose_add(mls_group *g, const uint8_t *kp, size_t kp_len, xw_buf *out, xw_errbuf *eb)
{
    xw_buf body;
    xw_buf_init(&body, (size_t)1 << 24);
    int rc = kp_body(kp, kp_len, &body, eb);
    if (rc == XW_OK)
        rc = send_proposal(g, MLS_PROPOSAL_ADD, body.data, body.len, out, eb);
    xw_buf_free(&body);
    return rc;
}
