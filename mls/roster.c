/*
 * What the application sees of the roster (see group.h): leaf views, the call of the
 * application's leaf check, and the report of the changes a commit makes.
 *
 * A report holds a reference on every leaf it shows (leaves are immutable and
 * reference-counted, tree.h), so its spans stay valid after the commit is merged, discarded
 * or the group freed; the extensions it shows are copied into its own buffer. Reports are
 * bounded by the commit they describe (one entry per proposal plus the committer's path).
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/group_int.h"

const char *mls_leaf_reason_name(mls_leaf_reason r)
{
    switch (r) {
    case MLS_LEAF_ADD:
        return "added";
    case MLS_LEAF_UPDATE:
        return "updated";
    case MLS_LEAF_COMMIT_PATH:
        return "committer's new";
    case MLS_LEAF_JOIN:
        return "joined tree's";
    }
    return "unknown";
}

void mls_leaf_view_of(const mls_leaf *l, mls_leaf_view *v)
{
    memset(v, 0, sizeof *v);
    if (!l)
        return;
    v->leaf_node = (mls_span){l->raw, l->raw_len};
    v->credential_type = l->cred_type;
    v->credential = l->credential;
    v->identity = l->identity;
    v->signature_key = l->sig_key;
    v->encryption_key = l->enc_key;
    v->capabilities = l->capabilities;
    v->extensions = l->extensions;
    v->source = l->source;
}

void mls_group_set_leaf_check(mls_group *g, mls_leaf_check_fn fn, void *arg)
{
    g->cfg.leaf_check = fn;
    g->cfg.leaf_check_arg = arg;
}

int mls_group_leaf_check(const mls_group_config *cfg, const mls_leaf_check_args *a, xw_errbuf *eb)
{
    if (!cfg->leaf_check)
        return XW_OK;
    mls_leaf_event ev;
    memset(&ev, 0, sizeof ev);
    ev.reason = a->reason;
    ev.index = a->index;
    mls_leaf_view_of(a->leaf, &ev.leaf);
    ev.has_previous = a->previous != NULL;
    mls_leaf_view_of(a->previous, &ev.previous);
    ev.key_package = a->key_package;
    ev.sender = a->sender;
    ev.group_id = a->group_id;
    ev.epoch = a->epoch;
    xw_errbuf local = {{0}};
    int rc = cfg->leaf_check(cfg->leaf_check_arg, &ev, &local);
    if (rc == XW_OK)
        return XW_OK;
    if (!local.msg[0])
        return xw_errf(eb, rc, "the application's leaf check refused the %s leaf %u (%s)",
                       mls_leaf_reason_name(a->reason), a->index, xw_strerror(rc));
    return xw_errf(eb, rc, "the application's leaf check refused the %s leaf %u: %s",
                   mls_leaf_reason_name(a->reason), a->index, local.msg);
}

/* --- commit change reports --- */

void mls_commit_changes_clear(mls_commit_changes *c)
{
    for (size_t i = 0; i < c->n_held_; i++)
        mls_leaf_unref(c->held_[i]);
    xw_free(c->held_);
    xw_free(c->entries);
    xw_buf_free(&c->ext_);
    memset(c, 0, sizeof *c);
}

int mls_commit_changes_reserve(mls_commit_changes *c, size_t n, xw_errbuf *eb)
{
    mls_commit_changes_clear(c);
    xw_buf_init(&c->ext_, (size_t)1 << 21);
    c->entries = xw_calloc(n ? n : 1, sizeof *c->entries);
    c->held_ = xw_calloc(n ? 2 * n : 1, sizeof *c->held_);
    if (!c->entries || !c->held_) {
        mls_commit_changes_clear(c);
        return xw_errf(eb, XW_ENOMEM, "out of memory for the report of a commit of %zu changes", n);
    }
    c->cap_ = n;
    return XW_OK;
}

int mls_commit_changes_add(mls_commit_changes *c, mls_roster_kind kind, uint32_t index, uint32_t proposer,
                           mls_leaf *leaf, mls_leaf *previous)
{
    if (c->n >= c->cap_)
        return XW_EINTERNAL; /* reserved for every item of the commit: a bug */
    mls_roster_change *e = &c->entries[c->n++];
    e->kind = kind;
    e->index = index;
    e->proposer = proposer;
    mls_leaf_view_of(leaf, &e->leaf);
    mls_leaf_view_of(previous, &e->previous);
    if (leaf)
        c->held_[c->n_held_++] = mls_leaf_ref(leaf);
    if (previous)
        c->held_[c->n_held_++] = mls_leaf_ref(previous);
    if (kind == MLS_ROSTER_ADDED)
        c->n_added++;
    else if (kind == MLS_ROSTER_REMOVED)
        c->n_removed++;
    else
        c->n_updated++;
    return XW_OK;
}

int mls_commit_changes_extensions(mls_commit_changes *c, mls_span before, mls_span after, xw_errbuf *eb)
{
    xw_buf_reset(&c->ext_);
    if (xw_buf_append(&c->ext_, before.p, before.len) || xw_buf_append(&c->ext_, after.p, after.len))
        return xw_errf(eb, XW_ETOOBIG, "group context extensions too large to report");
    c->extensions_changed = 1;
    c->extensions_before = (mls_span){c->ext_.data, before.len};
    c->extensions_after = (mls_span){c->ext_.data + before.len, after.len};
    return XW_OK;
}
