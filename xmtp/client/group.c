/*
 * A group in memory: its stored row, its MLS state (mls/group.h), its roster and its
 * membership map, and the views (name, admins...) written back to the row.
 *
 * The roster comes from the ratchet tree (mls_group_tree decoded with mls/tree.h): for each
 * non-blank leaf, the inbox id in its MlsCredential and its signature key, which is the
 * installation id. Membership validation (libxmtp's check_initial_membership,
 * XMTP-PROTOCOL.md §3.13) compares that roster with the association states of the inboxes
 * in the membership map at their recorded sequence ids.
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/tree.h"
#include "xmtp/client/client_int.h"

void xc_group_init(xc_group *g)
{
    memset(g, 0, sizeof *g);
    xc_group_row_init(&g->row);
}

void xc_group_release(xc_group *g)
{
    if (!g)
        return;
    mls_group_free(g->mls);
    xc_group_row_free(&g->row);
    xw_free(g->members);
    xc_meta_membership_free(&g->membership);
    memset(g, 0, sizeof *g);
}

int xc_roster(const mls_group *mg, xc_member_row **out, size_t *n, xw_errbuf *eb)
{
    *out = NULL;
    *n = 0;
    xw_buf tb;
    xw_buf_init(&tb, (size_t)64 << 20);
    mls_tree *t = NULL;
    int rc = mls_group_tree(mg, &tb);
    if (rc == XW_OK)
        rc = mls_tree_decode(mls_group_suite(mg), tb.data, tb.len, &t, eb);
    xw_buf_free(&tb);
    if (rc != XW_OK)
        return rc;
    xc_member_row *m = xw_calloc(t->n_leaves ? t->n_leaves : 1, sizeof *m);
    if (!m)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    size_t k = 0;
    for (uint32_t i = 0; rc == XW_OK && i < t->n_leaves; i++) {
        const mls_leaf *l = mls_tree_leaf(t, i);
        if (!l)
            continue;
        if (l->cred_type != MLS_CREDENTIAL_BASIC)
            rc =
                xw_errf(eb, XW_EMALFORMED,
                        "leaf %u has a credential of type %u (XMTP uses basic credentials)", i, l->cred_type);
        else if (l->sig_key.len != XC_INSTALLATION_LEN)
            rc =
                xw_errf(eb, XW_EMALFORMED, "leaf %u has a %zu-byte signature key (an installation key is 32)",
                        i, l->sig_key.len);
        else if ((rc = xc_inbox_from_credential(l->identity.p, l->identity.len, m[k].inbox_id, eb)) != XW_OK)
            rc = xw_errctx(eb, rc, "leaf %u", i);
        if (rc == XW_OK) {
            m[k].leaf = i;
            m[k].since_epoch = mls_group_epoch(mg); /* the caller keeps older ones (sync.c) */
            memcpy(m[k].installation_id, l->sig_key.p, XC_INSTALLATION_LEN);
            k++;
        }
    }
    mls_tree_free(t);
    if (rc != XW_OK) {
        xw_free(m);
        return rc;
    }
    *out = m;
    *n = k;
    return XW_OK;
}

const xc_member_row *xc_group_member_at(const xc_group *g, uint32_t leaf)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (g->members[i].leaf == leaf)
            return &g->members[i];
    return NULL;
}

static int buf_set(xw_buf *b, const char *s)
{
    xw_buf_reset(b);
    return s ? xw_buf_append(b, s, strlen(s)) : XW_OK;
}

static int list_set(xw_buf *b, char *const *list, size_t n)
{
    xw_buf_reset(b);
    int rc = XW_OK;
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        if (i)
            rc = xw_buf_append_u8(b, ' ');
        if (rc == XW_OK)
            rc = xw_buf_append_str(b, list[i]);
    }
    return rc;
}

int xc_group_refresh(xc_group *g, xw_errbuf *eb)
{
    xc_member_row *m = NULL;
    size_t n = 0;
    int rc = xc_roster(g->mls, &m, &n, eb);
    if (rc != XW_OK)
        return rc;
    mls_span exts = mls_group_extensions(g->mls);
    xc_meta_membership ms;
    xc_meta_mutable mm;
    rc = xc_meta_membership_get(exts.p, exts.len, &ms, eb);
    if (rc != XW_OK) {
        xw_free(m);
        return rc;
    }
    rc = xc_meta_mutable_get(exts.p, exts.len, &mm, eb);
    if (rc != XW_OK) {
        xw_free(m);
        xc_meta_membership_free(&ms);
        return rc;
    }
    xw_free(g->members);
    g->members = m;
    g->n_members = n;
    xc_meta_membership_free(&g->membership);
    g->membership = ms;
    rc = buf_set(&g->row.name, xc_meta_attr(&mm, "group_name"));
    rc |= buf_set(&g->row.description, xc_meta_attr(&mm, "description"));
    rc |= buf_set(&g->row.image_url, xc_meta_attr(&mm, "group_image_url_square"));
    rc |= list_set(&g->row.admins, mm.admins, mm.n_admins);
    rc |= list_set(&g->row.super_admins, mm.super_admins, mm.n_super);
    xc_meta_mutable_free(&mm);
    g->row.epoch = mls_group_epoch(g->mls);
    g->row.active = mls_group_active(g->mls);
    return rc ? xw_errf(eb, XW_ETOOBIG, "the group's metadata is too large to store") : XW_OK;
}

int xc_group_load(xc_client *c, const uint8_t *gid, size_t len, xc_group *g, xw_errbuf *eb)
{
    xc_group_init(g);
    int rc = xc_store_group_get(c->st, gid, len, &g->row, eb);
    if (rc == XW_OK)
        rc = mls_group_load(g->row.state.data, g->row.state.len, &g->mls, eb);
    if (rc == XW_OK)
        rc = xc_store_members_get(c->st, gid, len, &g->members, &g->n_members, eb);
    if (rc == XW_OK) {
        mls_span exts = mls_group_extensions(g->mls);
        rc = xc_meta_membership_get(exts.p, exts.len, &g->membership, eb);
    }
    if (rc != XW_OK) {
        if (rc != XW_ENOTFOUND && !xw_err_is_retriable(rc))
            rc = xw_errctx(eb, XW_ECORRUPT, "loading a stored group");
        xc_group_release(g);
    }
    return rc;
}

int xc_group_save(xc_client *c, xc_group *g, xw_errbuf *eb)
{
    xw_buf_reset(&g->row.state);
    int rc = mls_group_save(g->mls, &g->row.state);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "saving the group's MLS state");
    rc = xc_store_group_put(c->st, &g->row, eb);
    if (rc == XW_OK)
        rc = xc_store_members_replace(c->st, g->row.id, g->row.id_len, g->members, g->n_members,
                                      g->membership.inboxes, g->membership.n, eb);
    return rc;
}

int xc_group_check_membership(xc_client *c, const xc_member_row *m, size_t n, const xc_meta_membership *ms,
                              xw_errbuf *eb)
{
    /* expected installations: every inbox's installations at its recorded sequence id */
    int rc = XW_OK;
    uint8_t *seen = n ? xw_calloc(n, 1) : NULL;
    if (n && !seen)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XW_OK && i < ms->n; i++) {
        const xc_inbox_row *ib = &ms->inboxes[i];
        xmtp_assoc_state *st = NULL;
        rc = xc_assoc_at(c, ib->inbox_id, ib->sequence_id, &st, eb);
        if (rc != XW_OK) {
            rc = xw_errctx(eb, rc, "checking inbox %s at sequence id %llu", ib->inbox_id,
                           (unsigned long long)ib->sequence_id);
            break;
        }
        for (size_t j = 0; j < xmtp_assoc_state_member_count(st) && rc == XW_OK; j++) {
            const xmtp_member *mb = xmtp_assoc_state_member_at(st, j);
            if (mb->id.kind != XMTP_MEMBER_INSTALLATION)
                continue;
            int present = 0;
            for (size_t k = 0; k < n; k++)
                if (strcmp(m[k].inbox_id, ib->inbox_id) == 0 &&
                    memcmp(m[k].installation_id, mb->id.bytes, XC_INSTALLATION_LEN) == 0) {
                    present = 1;
                    seen[k] = 1;
                }
            if (!present && !xc_meta_membership_failed(ms, mb->id.bytes))
                rc = xw_errf(
                    eb, XW_EXMTP_ASSOCIATION,
                    "installation %02x%02x%02x%02x... of inbox %s is missing from the group's tree and "
                    "not listed as failed",
                    mb->id.bytes[0], mb->id.bytes[1], mb->id.bytes[2], mb->id.bytes[3], ib->inbox_id);
        }
        xmtp_assoc_state_free(st);
    }
    for (size_t k = 0; rc == XW_OK && k < n; k++) {
        int listed = 0;
        xc_meta_membership_seq(ms, m[k].inbox_id, &listed);
        if (!listed)
            rc = xw_errf(eb, XW_EXMTP_ASSOCIATION,
                         "leaf %u belongs to inbox %s, which is not in the group's membership", m[k].leaf,
                         m[k].inbox_id);
        else if (!seen[k])
            rc = xw_errf(
                eb, XW_EXMTP_ASSOCIATION,
                "leaf %u's installation %02x%02x%02x%02x... is not an installation of inbox %s at the "
                "group's sequence id",
                m[k].leaf, m[k].installation_id[0], m[k].installation_id[1], m[k].installation_id[2],
                m[k].installation_id[3], m[k].inbox_id);
    }
    xw_free(seen);
    return rc;
}
