/*
 * Group sync (libxmtp groups/mls_sync.rs): fetch a group's messages after its cursor, page
 * by page, and apply each envelope with the code the apply API uses (apply.c).
 *
 * A page is one transaction: the messages, quarantine records, group state, roster and
 * cursor of the page commit together. A retriable or fatal error rolls the page back and
 * stops the sync; the cursor stays before the page.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "xmtp/client/client_int.h"

int xc_quarantine(xc_client *c, const char *kind, const uint8_t *gid, size_t gid_len, uint64_t cursor,
                  int64_t created_ns, int err, const char *reason, const uint8_t *data, size_t len,
                  xw_errbuf *eb)
{
    xc_quarantine_row q = {.kind = kind,
                           .group_id = gid,
                           .group_id_len = gid_len,
                           .cursor = cursor,
                           .created_ns = created_ns,
                           .error = xw_errname(err),
                           .reason = reason,
                           .data = data,
                           .len = len};
    return xc_store_quarantine_add(c->st, &q, xc_now(c), eb);
}

/* Applies one page inside a transaction; on a retriable/fatal error the caller reloads. */
static int apply_page(xc_applier *a, const xc_page *p, xw_errbuf *eb)
{
    int rc = XW_OK;
    for (size_t i = 0; rc == XW_OK && i < p->n; i++) {
        int applied = 0;
        rc = xc_applier_apply(a, &p->groups[i], &applied, eb);
    }
    if (rc == XW_OK)
        rc = xc_group_save(a->c, a->g, eb);
    return rc;
}

int xc_group_sync(xc_client *c, const uint8_t *gid, size_t len, xc_sync_stats *stats, xw_errbuf *eb)
{
    xc_sync_stats local = {0};
    xc_group g;
    int rc = xc_group_load(c, gid, len, &g, eb);
    if (rc != XW_OK)
        return rc;
    xc_applier a;
    rc = xc_applier_init(&a, c, &g, stats ? stats : &local, NULL, eb);
    while (rc == XW_OK && g.row.active) {
        xc_page p = {0};
        rc = c->node->ops->query_group(c->node->ctx, gid, len, g.row.cursor, XC_PAGE_MAX, &p, eb);
        if (rc != XW_OK)
            break;
        size_t n = p.n;
        if (n && (rc = xc_store_begin(c->st, eb)) == XW_OK) {
            rc = apply_page(&a, &p, eb);
            if (rc == XW_OK)
                rc = xc_store_commit(c->st, eb);
            else
                xc_store_rollback(c->st);
        }
        xc_page_free(&p);
        if (n < XC_PAGE_MAX)
            break;
    }
    xc_applier_free(&a);
    xc_group_release(&g);
    if (rc == XW_OK)
        rc = xc_intent_post_commits(c, gid, len, eb);
    if (rc == XW_OK)
        rc = xc_group_publish(c, gid, len, eb);
    return rc;
}

typedef struct {
    uint8_t (*ids)[XC_GROUP_ID_MAX];
    size_t *lens;
    size_t n;
} group_list;

static int collect_group(void *ctx, const xc_group_row *r)
{
    group_list *l = ctx;
    if (!r->active)
        return XW_OK;
    void *a = xw_realloc(l->ids, (l->n + 1) * sizeof *l->ids);
    if (a)
        l->ids = a;
    void *b = a ? xw_realloc(l->lens, (l->n + 1) * sizeof *l->lens) : NULL;
    if (b)
        l->lens = b;
    if (!a || !b)
        return XW_ENOMEM;
    memcpy(l->ids[l->n], r->id, r->id_len);
    l->lens[l->n++] = r->id_len;
    return XW_OK;
}

int xc_client_sync_all(xc_client *c, xc_sync_stats *stats, xw_errbuf *eb)
{
    int rc = xc_client_sync_welcomes(c, NULL, eb);
    group_list l = {0};
    if (rc == XW_OK)
        rc = xc_store_group_each(c->st, collect_group, &l, eb);
    if (rc == XW_ENOMEM)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XW_OK && i < l.n; i++)
        rc = xc_group_sync(c, l.ids[i], l.lens[i], stats, eb);
    xw_free(l.ids);
    xw_free(l.lens);
    return rc;
}
