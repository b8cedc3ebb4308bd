/*
 * Commits (RFC 9420 §12.4): decoding a received one and processing it (proposal list through
 * proposal_list.c, the UpdatePath with the leaf check on the committer's new leaf, the key
 * schedule and the confirmation tag), creating one (the committer's list, with its cached
 * proposals filtered, the UpdatePath and the Welcome), and sending proposals.
 *
 * Both directions build the next epoch in a fork of the group (mls_group_fork), so a
 * failure anywhere leaves the current epoch untouched; the fork becomes the staged commit
 * (own) or the incoming commit (received) that group.c merges or drops.
 */
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/group_int.h"

#define MAX_ITEMS 4096

/* --- Commit decoding --- */

typedef struct {
    mls_plist_item items[MAX_ITEMS];
    mls_proposal *owned[MAX_ITEMS];
    size_t n, n_owned;
    int has_path;
    mls_update_path path;
} commit_parts;

/* The item arrays are large (MAX_ITEMS) and only their first n entries are ever read, so
 * they are not cleared: a commit of a few proposals does not pay for zeroing all of them. */
static commit_parts *parts_new(void)
{
    commit_parts *c = xw_malloc(sizeof *c);
    if (c) {
        c->n = c->n_owned = 0;
        c->has_path = 0;
    }
    return c;
}

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
            it->kp_checked = 0;
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
            it->kp_checked = 0;
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
                             int *removed, mls_commit_changes *changes, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    if (ac->content.sender.type != MLS_SENDER_MEMBER)
        return xw_errf(eb, XW_EUNSUPPORTED,
                       "commit from sender type %u: external commits are not supported; members add joiners",
                       ac->content.sender.type);
    uint32_t committer = ac->content.sender.index;
    commit_parts *c = parts_new();
    mls_apply a = {.committer = committer, .changes = changes};
    a.added = xw_malloc(MAX_ITEMS * sizeof *a.added);
    a.psks = xw_malloc(MAX_ITEMS * sizeof *a.psks);
    mls_group *next = NULL;
    int rc = (!c || !a.added || !a.psks) ? xw_errf(eb, XW_ENOMEM, "out of memory") : XW_OK;
    if (rc == XW_OK)
        rc = commit_decode(g, ac->content.content, committer, c, eb);
    if (rc == XW_OK && changes && (rc = mls_commit_changes_reserve(changes, c->n + 1, eb)) == XW_OK) {
        changes->committer = committer;
        changes->epoch = g->epoch + 1;
    }
    if (rc == XW_OK && !(next = mls_group_fork(g)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    if (rc == XW_OK)
        rc = mls_group_apply_proposals(g, next, c->items, c->n, &a, eb);
    if (rc == XW_OK && a.path_required && !c->has_path)
        rc =
            xw_errf(eb, XW_EMLS_COMMIT,
                    "the commit has no update path but its proposals (or their absence) require one (§12.4)");
    mls_span gid = {g->group_id.data, g->group_id.len};
    if (rc == XW_OK && c->has_path) {
        mls_leaf *cur = mls_tree_leaf(next->tree, committer);
        rc = mls_leaf_validate(s, c->path.leaf, gid, committer,
                               (mls_span){next->extensions.data, next->extensions.len}, eb);
        if (rc == XW_OK && cur && cur->enc_key.len == c->path.leaf->enc_key.len &&
            memcmp(cur->enc_key.p, c->path.leaf->enc_key.p, cur->enc_key.len) == 0)
            rc = xw_errf(eb, XW_EMLS_COMMIT, "the committer's new leaf keeps its old encryption key");
        if (rc == XW_OK)
            rc = mls_tree_check_leaf_fits(next->tree, c->path.leaf, committer, eb);
        mls_leaf_check_args lc = {
            MLS_LEAF_COMMIT_PATH, committer, c->path.leaf, cur, {NULL, 0}, committer, gid, g->epoch + 1};
        if (rc == XW_OK)
            rc = mls_group_leaf_check(&g->cfg, &lc, eb);
        if (rc == XW_OK && changes)
            rc = mls_commit_changes_add(changes, MLS_ROSTER_UPDATED, committer, committer, c->path.leaf, cur);
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
        if (changes)
            changes->removes_self = 1;
        *next_out = next;
        next = NULL;
        goto out;
    }
    if (rc == XW_OK && c->has_path)
        rc = mls_treekem_decrypt(next->tree, committer, next->me, &c->path, a.added, a.n_added, next->gc.data,
                                 next->gc.len, commit_secret, NULL, eb);
    if (rc == XW_OK)
        rc = finish_epoch(g, next, ac, c->has_path ? commit_secret : NULL, a.psks, a.n_psks,
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
    if (rc != XW_OK && changes)
        mls_commit_changes_clear(changes);
    if (c)
        parts_free(c);
    xw_free(c);
    xw_free(a.added);
    xw_free(a.psks);
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
    if (g->incoming)
        return xw_errf(eb, XW_ESTATE, "a received commit awaits its merge; merge or discard it first");
    size_t total =
        o->n_add + o->n_remove + o->n_psks + (o->gce ? 1 : 0) + (o->include_pending ? g->n_props : 0);
    if (total > MAX_ITEMS)
        return xw_errf(eb, XW_ELIMIT, "a commit holds at most %d proposals", MAX_ITEMS);
    commit_parts *c = parts_new();
    uint32_t *added = xw_malloc(MAX_ITEMS * sizeof *added);
    mls_psk *psks = xw_malloc(MAX_ITEMS * sizeof *psks);
    mls_key_package **kps = xw_calloc(MAX_ITEMS, sizeof *kps);
    uint8_t *dropped = xw_calloc(MAX_ITEMS, 1);
    xw_buf body, cbytes, upb;
    xw_buf_init(&body, (size_t)1 << 24);
    xw_buf_init(&cbytes, (size_t)1 << 27);
    xw_buf_init(&upb, (size_t)1 << 27);
    mls_group *next = NULL;
    mls_treekem_path path;
    int have_path = 0;
    int rc = (!c || !added || !psks || !kps || !dropped) ? xw_errf(eb, XW_ENOMEM, "out of memory") : XW_OK;
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
            c->items[c->n++] = (mls_plist_item){p, g->me, 0, {0}, rc == XW_OK && !mls_group_test_unchecked};
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
    size_t n_fixed = c->n;
    if (o->include_pending)
        for (size_t i = 0; i < g->n_props && rc == XW_OK; i++) {
            if (g->props[i].sender == g->me && g->props[i].p->type == MLS_PROPOSAL_UPDATE)
                continue; /* a committer may not commit its own Update (§12.2); the path replaces it */
            mls_plist_item *it = &c->items[c->n++];
            it->p = g->props[i].p;
            it->sender = g->props[i].sender;
            it->by_ref = 1;
            it->kp_checked = 0;
            memcpy(it->ref, g->props[i].ref, s->nh);
        }
    if (rc == XW_OK && !(next = mls_group_fork(g)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    /* the cached proposals are filtered (dropped[]), the committer's own are checked strictly */
    mls_apply a = {.committer = g->me,
                   .n_fixed = n_fixed,
                   .dropped = mls_group_test_unchecked ? NULL : dropped,
                   .added = added,
                   .psks = psks};
    if (rc == XW_OK)
        rc = mls_group_apply_proposals(g, next, c->items, c->n, &a, eb);
    if (rc == XW_OK && a.dropped) {
        size_t k = 0;
        for (size_t i = 0; i < c->n; i++)
            if (!dropped[i])
                c->items[k++] = c->items[i];
        c->n = k;
    }
    size_t n_added = a.n_added, n_psks = a.n_psks;
    int path_required = a.path_required;
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
    xw_free(dropped);
    xw_buf_free(&body);
    xw_buf_free(&cbytes);
    xw_buf_free(&upb);
    return rc;
}

/* --- proposals as messages --- */

static int send_proposal(mls_group *g, uint16_t type, const uint8_t *body, size_t n, xw_buf *out,
                         xw_errbuf *eb)
{
    if (g->incoming)
        return xw_errf(eb, XW_ESTATE, "a received commit awaits its merge; merge or discard it first");
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
