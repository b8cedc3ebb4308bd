/*
 * Proposal lists (RFC 9420 §12.1-§12.3): validation of a proposal received on its own, the
 * §12.2 rules for a committed list, the application's leaf check on every leaf the list
 * brings, and applying the list in the §12.3 order to a fork of the group, with a report of
 * what changes.
 *
 * The same code serves the committer and the receivers. Receivers are strict: any invalid
 * proposal, conflict or refusal rejects the commit. The committer is lenient for the
 * proposals it received from others (cached, committed by reference): those are dropped
 * instead, with RFC 9420 §12.2's preferences built into the order in which the list is
 * checked: Removes first (a Remove wins over Updates of its leaf), then the
 * GroupContextExtensions and Updates from the latest back (the committer's own, then the
 * latest, wins), then Adds and PreSharedKeys in order (the first of two duplicates wins).
 * Proposals the committer gives by value are checked strictly, and come first, so they win
 * over cached ones they conflict with.
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/group_int.h"

#define MAX_ITEMS 4096

#ifdef XW_TESTING
int mls_group_test_unchecked;
#endif

static int default_ext(uint16_t t) { return t >= 1 && t <= 5; }

/* Every member of t (except the leaves set in `gone`, a bitmap; NULL: none) supports the
 * required_capabilities in exts. */
static int check_required_caps(const mls_tree *t, const uint8_t *gone, mls_span exts, xw_errbuf *eb)
{
    mls_span req;
    if (!mls_extensions_find(exts, MLS_EXT_REQUIRED_CAPABILITIES, &req))
        return XW_OK;
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_leaf *l = mls_tree_leaf(t, i);
        if (!l || (gone && (gone[i / 8] >> (i % 8) & 1)))
            continue;
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
    return XW_OK;
}

/* Checks of one proposal that do not depend on the rest of the list. kp_checked: an Add
 * whose key package was validated against the same extensions already (its signatures are
 * not verified twice). */
static int check_one(const mls_group *g, const mls_proposal *p, uint32_t sender, mls_span exts,
                     int kp_checked, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    mls_span gid = {g->group_id.data, g->group_id.len};
    switch (p->type) {
    case MLS_PROPOSAL_ADD: {
        /* RFC 9420 §7.3 recommends the lifetime check for what a member receives; the
         * sender always checks (mls_group_commit) */
        int rc =
            kp_checked
                ? XW_OK
                : mls_key_package_validate(s, p->kp, g->cfg.check_lifetimes ? mls_group_now(g) : 0, exts, eb);
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
    return check_one(g, p, sender, (mls_span){g->extensions.data, g->extensions.len}, 0, eb);
}

/* Two PreSharedKeyIDs name the same PSK. */
static int same_psk(const mls_psk_id *a, const mls_psk_id *b)
{
    return a->psktype == b->psktype && a->psk_nonce.len == b->psk_nonce.len &&
           memcmp(a->psk_nonce.p, b->psk_nonce.p, a->psk_nonce.len) == 0 && a->psk_id.len == b->psk_id.len &&
           (a->psk_id.len == 0 || memcmp(a->psk_id.p, b->psk_id.p, a->psk_id.len) == 0) &&
           a->psk_epoch == b->psk_epoch && a->usage == b->usage &&
           a->psk_group_id.len == b->psk_group_id.len &&
           (a->psk_group_id.len == 0 ||
            memcmp(a->psk_group_id.p, b->psk_group_id.p, a->psk_group_id.len) == 0);
}

/* The leaf an Update or Remove applies to. */
static uint32_t target_leaf(const mls_plist_item *it)
{
    return it->p->type == MLS_PROPOSAL_UPDATE ? it->sender : it->p->removed;
}

/* Whether item i conflicts with item j (both kept): §12.2's rules on pairs. */
static int conflict(const mls_plist_item *items, size_t i, size_t j, xw_errbuf *eb)
{
    const mls_proposal *p = items[i].p, *q = items[j].p;
    int pu = p->type == MLS_PROPOSAL_UPDATE || p->type == MLS_PROPOSAL_REMOVE;
    int qu = q->type == MLS_PROPOSAL_UPDATE || q->type == MLS_PROPOSAL_REMOVE;
    if (pu && qu && target_leaf(&items[i]) == target_leaf(&items[j]))
        return xw_errf(eb, XW_EMLS_PROPOSAL, "proposals %zu and %zu are both an Update or Remove of leaf %u",
                       j, i, target_leaf(&items[i]));
    if (p->type == MLS_PROPOSAL_ADD && q->type == MLS_PROPOSAL_ADD &&
        p->kp->leaf->sig_key.len == q->kp->leaf->sig_key.len &&
        memcmp(p->kp->leaf->sig_key.p, q->kp->leaf->sig_key.p, p->kp->leaf->sig_key.len) == 0)
        return xw_errf(eb, XW_EMLS_PROPOSAL, "proposals %zu and %zu add the same client (signature key)", j,
                       i);
    if (p->type == MLS_PROPOSAL_PSK && q->type == MLS_PROPOSAL_PSK && same_psk(&p->psk, &q->psk))
        return xw_errf(eb, XW_EMLS_PROPOSAL, "proposals %zu and %zu inject the same PSK", j, i);
    if (p->type == MLS_PROPOSAL_GCE && q->type == MLS_PROPOSAL_GCE)
        return xw_errf(eb, XW_EMLS_PROPOSAL,
                       "proposals %zu and %zu are both GroupContextExtensions; at most one is allowed", j, i);
    return XW_OK;
}

/* State of one application of a list. */
typedef struct {
    const mls_group *g;
    const mls_plist_item *items;
    size_t n;
    mls_apply *a;
    uint8_t done[MAX_ITEMS]; /* validated and kept */
} apply_run;

static int dropped(const apply_run *r, size_t i) { return r->a->dropped && r->a->dropped[i]; }

/* A failure about item i: a lenient run drops a cached proposal and goes on (XW_OK);
 * otherwise the list is invalid. */
static int refuse(apply_run *r, size_t i, int rc, xw_errbuf *eb)
{
    if (r->a->dropped && i >= r->a->n_fixed) {
        r->a->dropped[i] = 1;
        return XW_OK;
    }
    return xw_errctx(eb, rc, "proposal %zu of the commit", i);
}

/* Validates item i on its own and against the kept items validated before it. */
static int validate(apply_run *r, size_t i, mls_span exts, xw_errbuf *eb)
{
    const mls_plist_item *it = &r->items[i];
    /* the committer validated its own Adds against the current extensions; a GroupContext-
     * Extensions proposal of the same commit changes them, and then they are checked again */
    int kp_checked = it->kp_checked && exts.len == r->g->extensions.len &&
                     (exts.len == 0 || memcmp(exts.p, r->g->extensions.data, exts.len) == 0);
    int rc = check_one(r->g, it->p, it->sender, exts, kp_checked, eb);
    if (rc == XW_OK && it->p->type == MLS_PROPOSAL_UPDATE && it->sender == r->a->committer)
        rc = xw_errf(eb, XW_EMLS_PROPOSAL, "an Update proposal from the committer itself");
    if (rc == XW_OK && it->p->type == MLS_PROPOSAL_REMOVE && it->p->removed == r->a->committer)
        rc = xw_errf(eb, XW_EMLS_PROPOSAL, "a Remove of the committer itself");
    for (size_t j = 0; j < r->n && rc == XW_OK; j++)
        if (r->done[j] && !dropped(r, j))
            rc = conflict(r->items, i, j, eb);
    if (rc != XW_OK)
        return refuse(r, i, rc, eb);
    r->done[i] = 1;
    return XW_OK;
}

/* Validates every item of one type: in list order, or, for a lenient run's cached Updates
 * and GroupContextExtensions, from the latest back so that the latest wins. */
static int validate_type(apply_run *r, uint16_t type, mls_span exts, xw_errbuf *eb)
{
    int latest_first = r->a->dropped && (type == MLS_PROPOSAL_UPDATE || type == MLS_PROPOSAL_GCE);
    size_t split = r->a->dropped ? r->a->n_fixed : r->n;
    if (split > r->n)
        split = r->n;
    for (size_t k = 0; k < r->n; k++) {
        size_t i = k < split || !latest_first ? k : r->n - 1 - (k - split);
        if (r->items[i].p->type != type || dropped(r, i))
            continue;
        int rc = validate(r, i, exts, eb);
        if (rc != XW_OK)
            return rc;
    }
    return XW_OK;
}

/* The kept GroupContextExtensions proposal; SIZE_MAX when none. */
static size_t kept_gce(const apply_run *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->done[i] && !dropped(r, i) && r->items[i].p->type == MLS_PROPOSAL_GCE)
            return i;
    return SIZE_MAX;
}

/* The leaves removed by the kept Removes, as a bitmap of the current tree's leaves. */
static uint8_t *removed_leaves(const apply_run *r)
{
    uint32_t nl = r->g->tree->n_leaves;
    uint8_t *bits = xw_calloc(nl / 8 + 1, 1);
    for (size_t i = 0; bits && i < r->n; i++)
        if (r->done[i] && !dropped(r, i) && r->items[i].p->type == MLS_PROPOSAL_REMOVE &&
            r->items[i].p->removed < nl)
            bits[r->items[i].p->removed / 8] |= (uint8_t)(1u << (r->items[i].p->removed % 8));
    return bits;
}

/* The §12.2 validation of the whole list, in the order that gives §12.2's preferences. */
static int validate_list(apply_run *r, mls_span *exts, xw_errbuf *eb)
{
    int rc = validate_type(r, MLS_PROPOSAL_REMOVE, *exts, eb);
    if (rc == XW_OK)
        rc = validate_type(r, MLS_PROPOSAL_GCE, *exts, eb);
    size_t gce = kept_gce(r);
    if (rc == XW_OK && gce != SIZE_MAX && r->a->dropped && gce >= r->a->n_fixed) {
        /* a cached GroupContextExtensions whose required_capabilities a remaining member
         * lacks is left out (receivers check the same on the new tree, strictly) */
        uint8_t *gone = removed_leaves(r);
        if (!gone)
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        if (check_required_caps(r->g->tree, gone, r->items[gce].p->extensions, eb) != XW_OK) {
            r->a->dropped[gce] = 1;
            gce = SIZE_MAX;
        }
        xw_free(gone);
    }
    if (gce != SIZE_MAX)
        *exts = r->items[gce].p->extensions;
    if (rc == XW_OK)
        rc = validate_type(r, MLS_PROPOSAL_UPDATE, *exts, eb);
    if (rc == XW_OK)
        rc = validate_type(r, MLS_PROPOSAL_ADD, *exts, eb);
    if (rc == XW_OK)
        rc = validate_type(r, MLS_PROPOSAL_PSK, *exts, eb);
    for (size_t i = 0; i < r->n && rc == XW_OK; i++)
        if (!r->done[i] && !dropped(r, i)) /* decoding refuses other types: a bug */
            rc = xw_errf(eb, XW_EINTERNAL, "proposal %zu of type %u was not validated", i,
                         r->items[i].p->type);
    return rc;
}

/* Runs the leaf check on the leaf of item i (not for the committer's own list when tests
 * build invalid commits). */
static int leaf_check(apply_run *r, size_t i, mls_leaf_reason reason, uint32_t index, const mls_leaf *prev,
                      xw_errbuf *eb)
{
    const mls_plist_item *it = &r->items[i];
    const mls_group *g = r->g;
    mls_leaf_check_args c = {reason,
                             index,
                             reason == MLS_LEAF_ADD ? it->p->kp->leaf : it->p->leaf,
                             prev,
                             reason == MLS_LEAF_ADD ? (mls_span){it->p->kp->raw, it->p->kp->raw_len}
                                                    : (mls_span){NULL, 0},
                             it->sender,
                             {g->group_id.data, g->group_id.len},
                             g->epoch + 1};
    int rc = mls_group_leaf_check(&g->cfg, &c, eb);
    return rc == XW_OK ? XW_OK : refuse(r, i, rc, eb);
}

int mls_group_apply_proposals(const mls_group *g, mls_group *next, const mls_plist_item *items, size_t n,
                              mls_apply *a, xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    a->n_added = a->n_psks = 0;
    a->path_required = 0;
    if (n > MAX_ITEMS)
        return xw_errf(eb, XW_ELIMIT, "a commit holds at most %d proposals", MAX_ITEMS);
    apply_run *r = xw_calloc(1, sizeof *r);
    if (!r)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    r->g = g;
    r->items = items;
    r->n = n;
    r->a = a;
    mls_span exts = {g->extensions.data, g->extensions.len};
    int unchecked = a->committer == g->me && mls_group_test_unchecked;
    int rc = XW_OK;
    if (unchecked) {
        /* test builds: the committer's own list goes through unvalidated (at most one GCE) */
        for (size_t i = 0; i < n; i++)
            r->done[i] = 1;
        for (size_t i = 0; i < n && rc == XW_OK; i++)
            for (size_t j = 0; j < i && rc == XW_OK; j++)
                if (items[i].p->type == MLS_PROPOSAL_GCE && items[j].p->type == MLS_PROPOSAL_GCE)
                    rc = conflict(items, i, j, eb);
        size_t gce = kept_gce(r);
        if (gce != SIZE_MAX)
            exts = items[gce].p->extensions;
    } else {
        rc = validate_list(r, &exts, eb);
    }
    size_t gce = kept_gce(r);
    if (rc == XW_OK && a->changes && gce != SIZE_MAX)
        rc = mls_commit_changes_extensions(a->changes, (mls_span){g->extensions.data, g->extensions.len},
                                           exts, eb);
    if (rc == XW_OK && gce != SIZE_MAX) {
        xw_buf_reset(&next->extensions);
        if (xw_buf_append(&next->extensions, exts.p, exts.len))
            rc = xw_errf(eb, XW_ETOOBIG, "group context extensions too large");
    }
    /* Updates, then Removes */
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        const mls_plist_item *it = &items[i];
        if (it->p->type != MLS_PROPOSAL_UPDATE || dropped(r, i))
            continue;
        mls_leaf *prev = mls_tree_leaf(next->tree, it->sender);
        if (!unchecked) {
            int fit = mls_tree_check_leaf_fits(next->tree, it->p->leaf, it->sender, eb);
            if (fit == XW_OK)
                rc = leaf_check(r, i, MLS_LEAF_UPDATE, it->sender, prev, eb);
            else
                rc = refuse(r, i, fit, eb);
            if (rc != XW_OK || dropped(r, i))
                continue;
        }
        if (a->changes)
            rc = mls_commit_changes_add(a->changes, MLS_ROSTER_UPDATED, it->sender, it->sender, it->p->leaf,
                                        prev);
        mls_tree_update(next->tree, it->sender, it->p->leaf);
        /* our own Update, committed by another member: its private key becomes our leaf's */
        const mls_leaf *l = it->p->leaf;
        if (rc == XW_OK && it->sender == next->me && g->update_len && l->enc_key.len == g->update_len &&
            memcmp(l->enc_key.p, g->update_pub, g->update_len) == 0)
            rc = mls_tree_set_priv(next->tree, 2 * next->me, g->update_priv, s->hpke_priv_len);
    }
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        if (items[i].p->type != MLS_PROPOSAL_REMOVE || dropped(r, i))
            continue;
        mls_leaf *gone = mls_tree_leaf(next->tree, items[i].p->removed);
        if (a->changes && gone)
            rc = mls_commit_changes_add(a->changes, MLS_ROSTER_REMOVED, items[i].p->removed, items[i].sender,
                                        gone, NULL);
        mls_tree_remove(next->tree, items[i].p->removed);
        if (items[i].p->removed == next->me)
            next->active = 0; /* even when an Add of this commit takes the slot again */
    }
    /* Adds, in order */
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        const mls_proposal *p = items[i].p;
        if (p->type != MLS_PROPOSAL_ADD || dropped(r, i))
            continue;
        if (!unchecked) {
            /* the leaf it will get: the leftmost blank one, or the first of an extension */
            uint32_t idx = 0;
            while (idx < next->tree->n_leaves && next->tree->nodes[2 * idx].type != MLS_NODE_BLANK)
                idx++;
            int fit = mls_tree_check_leaf_fits(next->tree, p->kp->leaf, UINT32_MAX, eb);
            if (fit == XW_OK)
                rc = leaf_check(r, i, MLS_LEAF_ADD, idx, NULL, eb);
            else
                rc = refuse(r, i, fit, eb);
            if (rc != XW_OK || dropped(r, i))
                continue;
        }
        uint32_t idx;
        if ((rc = mls_tree_add(next->tree, p->kp->leaf, &idx)) != XW_OK) {
            rc = xw_errf(eb, rc, "the tree cannot grow further (%u leaves)", next->tree->n_leaves);
            break;
        }
        a->added[a->n_added++] = idx;
        if (a->changes)
            rc =
                mls_commit_changes_add(a->changes, MLS_ROSTER_ADDED, idx, items[i].sender, p->kp->leaf, NULL);
    }
    if (rc == XW_OK && gce != SIZE_MAX && !unchecked)
        rc = check_required_caps(next->tree, NULL, exts, eb);
    /* PSKs, in order */
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        const mls_proposal *p = items[i].p;
        if (p->type != MLS_PROPOSAL_PSK || dropped(r, i))
            continue;
        mls_psk *k = &a->psks[a->n_psks];
        k->id = p->psk;
        int found = mls_group_psk_lookup(g, &p->psk, &k->psk, &k->psk_len, eb);
        if (found == XW_OK)
            a->n_psks++;
        else
            rc = refuse(r, i, found, eb);
    }
    /* a path is needed for an empty list and for Updates, Removes and GroupContextExtensions */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (dropped(r, i))
            continue;
        kept++;
        uint16_t t = items[i].p->type;
        if (t == MLS_PROPOSAL_UPDATE || t == MLS_PROPOSAL_REMOVE || t == MLS_PROPOSAL_GCE)
            a->path_required = 1;
    }
    if (kept == 0)
        a->path_required = 1;
    if (!mls_tree_leaf(next->tree, next->me) || next->me >= next->tree->n_leaves)
        next->active = 0;
    xw_free(r);
    return rc;
}
