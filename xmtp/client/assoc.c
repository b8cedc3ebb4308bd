/*
 * Association states of inboxes at a given identity-log sequence id, as libxmtp's
 * get_association_state computes them: the inbox's log (fetched from the node with
 * GetIdentityUpdates, stored in identity_updates), every update verified and folded in
 * order up to the requested sequence id, which must be the id of an entry of that inbox's
 * log (libxmtp's MissingIdentityUpdate otherwise). Results are cached in
 * association_cache, keyed by (inbox, sequence id), as the AssociationState protobuf.
 *
 * These functions write the log and cache outside any caller transaction (they are called
 * before a unit of work starts) and may call the node.
 */
#include <string.h>

#include "common/alloc.h"
#include "xmtp/client/client_int.h"

#define ASSOC_MAX ((size_t)4 << 20)

static int refresh_log(xc_client *c, const char *inbox, xw_errbuf *eb)
{
    uint64_t have = 0;
    int rc = xc_store_idlog_max(c->st, inbox, &have, eb);
    if (rc != XW_OK)
        return rc;
    xc_idlog log = {0};
    rc = c->node->ops->get_identity_updates(c->node->ctx, inbox, have, &log, eb);
    for (size_t i = 0; rc == XW_OK && i < log.n; i++)
        rc = xc_store_idlog_add(c->st, inbox, log.e[i].sequence_id, log.e[i].server_ns, log.e[i].update,
                                log.e[i].len, eb);
    xc_idlog_free(&log);
    return rc;
}

typedef struct {
    xc_idlog log;
} fold_ctx;

static int collect(void *ctx, uint64_t seq, const uint8_t *u, size_t len)
{
    fold_ctx *f = ctx;
    return xc_idlog_add(&f->log, seq, 0, u, len);
}

static int fold(xc_client *c, const char *inbox, uint64_t up_to, xmtp_assoc_state **out, xw_errbuf *eb)
{
    fold_ctx f = {{0}};
    int rc = xc_store_idlog_each(c->st, inbox, up_to, collect, &f, eb);
    xmtp_idu_log_entry *entries = NULL;
    if (rc == XW_OK && f.log.n == 0)
        rc = xw_errf(eb, XW_EXMTP_SEQUENCE, "the node has no identity update for inbox %s%s", inbox,
                     up_to == UINT64_MAX ? "" : " at or before the group's sequence id");
    if (rc == XW_OK && !(entries = xw_calloc(f.log.n, sizeof *entries)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XW_OK && i < f.log.n; i++)
        entries[i] = (xmtp_idu_log_entry){f.log.e[i].sequence_id, f.log.e[i].update, f.log.e[i].len};
    if (rc == XW_OK)
        rc = xmtp_assoc_state_from_log(inbox, entries, f.log.n, up_to, out, eb);
    xw_free(entries);
    xc_idlog_free(&f.log);
    return rc;
}

static int cache_put(xc_client *c, const char *inbox, uint64_t seq, const xmtp_assoc_state *s, xw_errbuf *eb)
{
    xw_buf b;
    xw_buf_init(&b, ASSOC_MAX);
    int rc = xmtp_assoc_state_encode(s, &b, eb);
    if (rc == XW_OK)
        rc = xc_store_assoc_put(c->st, inbox, seq, b.data, b.len, xmtp_assoc_state_update_count(s), eb);
    xw_buf_free(&b);
    return rc;
}

int xc_assoc_at(xc_client *c, const char *inbox, uint64_t seq, xmtp_assoc_state **out, xw_errbuf *eb)
{
    *out = NULL;
    if (seq == 0)
        return xw_errf(eb, XW_EXMTP_SEQUENCE,
                       "inbox %s is recorded at sequence id 0, which names no identity update", inbox);
    xw_buf b;
    xw_buf_init(&b, ASSOC_MAX);
    uint64_t updates = 0;
    int rc = xc_store_assoc_get(c->st, inbox, seq, &b, &updates, eb);
    if (rc == XW_OK) {
        rc = xmtp_assoc_state_decode(b.data, b.len, seq, (size_t)updates, out, eb);
        xw_buf_free(&b);
        return rc;
    }
    xw_buf_free(&b);
    if (rc != XW_ENOTFOUND)
        return rc;
    uint64_t have = 0;
    rc = xc_store_idlog_max(c->st, inbox, &have, eb);
    if (rc == XW_OK && have < seq)
        rc = refresh_log(c, inbox, eb);
    xmtp_assoc_state *s = NULL;
    if (rc == XW_OK)
        rc = fold(c, inbox, seq, &s, eb);
    if (rc == XW_OK && xmtp_assoc_state_sequence_id(s) != seq)
        rc = xw_errf(eb, XW_EXMTP_SEQUENCE,
                     "inbox %s has no identity update with sequence id %llu (the last one before it is %llu)",
                     inbox, (unsigned long long)seq, (unsigned long long)xmtp_assoc_state_sequence_id(s));
    if (rc == XW_OK)
        rc = cache_put(c, inbox, seq, s, eb);
    if (rc != XW_OK) {
        xmtp_assoc_state_free(s);
        return rc;
    }
    *out = s;
    return XW_OK;
}

int xc_assoc_latest(xc_client *c, const char *inbox, xmtp_assoc_state **out, xw_errbuf *eb)
{
    *out = NULL;
    int rc = refresh_log(c, inbox, eb);
    if (rc == XW_OK)
        rc = fold(c, inbox, UINT64_MAX, out, eb);
    return rc;
}
