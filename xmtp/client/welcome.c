/*
 * Welcomes (XMTP-PROTOCOL.md §3.13; libxmtp groups/welcomes/xmtp_welcome.rs,
 * mls_ext/decrypted_welcome.rs, welcomes/validated_membership.rs).
 *
 * One welcome is applied in three phases, so that nothing is written unless everything
 * holds and no transaction stays open across network calls:
 *   1. open: find our key package by the welcome's HPKE public key, unwrap (X-Wing or
 *      X25519, as the key package asked), decrypt the WelcomeMetadata (its message cursor;
 *      undecodable metadata is ignored, as libxmtp does), join with the MLS engine (a
 *      welcome that needs PSKs fails: we hold none), read the GroupInfo signer (added_by);
 *   2. validate: every leaf's inbox and installation against the association state of that
 *      inbox at the sequence id in the membership map, every expected installation present
 *      unless listed as failed; DMs: one member is us, the other the inviter, no admins;
 *   3. store, in one transaction with the welcome cursor: the group (membership `pending`,
 *      consent `unknown` unless we created it, cursor = the metadata's message cursor,
 *      rotated_at 0), its roster, and the "added" GroupUpdated transcript libxmtp writes
 *      (idempotency key "<welcome created_ns>_welcome_added", sender = the inviter).
 * xc_welcome_apply (welcome sync) runs phases 1-2 before its transaction and 3 inside it;
 * xc_apply_welcome (apply.h) runs all three inside the caller's transaction. Both quarantine
 * a refused welcome the same way (quarantine_welcome) and move the welcome cursor past it.
 * The welcome also marks the key package rotation due; the rotation runs at the end of the
 * sync, and again at the next one if the node could not take the new key package.
 * Welcome pointers are refused: our key packages do not advertise 0xff04, so senders never
 * use them for us.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/welcome.h"
#include "xmtp/client/client_int.h"
#include "xmtp/message_id.h"
#include "xmtp/welcome_wrap.h"

#define WELCOME_MAX ((size_t)32 << 20)

static int added_by(const xc_kp_keys *k, const uint8_t *welcome, size_t len, const xc_group *g,
                    const xc_member_row **out, xw_errbuf *eb)
{
    mls_welcome_opened o;
    int rc = mls_welcome_open(welcome, len, k->kp, k->sec.init_priv, NULL, 0, &o, eb);
    mls_group_info gi;
    if (rc == XW_OK)
        rc = mls_group_info_parse(o.group_info.data, o.group_info.len, &gi, eb);
    if (rc == XW_OK && !(*out = xc_group_member_at(g, gi.signer)))
        rc = xw_errf(eb, XW_EMLS_WELCOME, "the welcome's GroupInfo signer (leaf %u) is not a member",
                     gi.signer);
    mls_welcome_opened_free(&o);
    return rc;
}

static int check_dm(const xc_client *c, const xc_meta_immutable *im, const xc_group *g, const char *inviter,
                    xw_errbuf *eb)
{
    const char *a = im->dm[0], *b = im->dm[1];
    int us_a = strcmp(a, c->inbox_id) == 0, us_b = strcmp(b, c->inbox_id) == 0;
    const char *other = us_a ? b : a;
    if (!us_a && !us_b)
        return xw_errf(eb, XW_EDENIED, "a DM welcome whose members (%.8s..., %.8s...) do not include us", a,
                       b);
    if (strcmp(other, inviter) != 0 && strcmp(inviter, c->inbox_id) != 0)
        return xw_errf(eb, XW_EDENIED, "a DM welcome from %.8s... for a DM with %.8s...", inviter, other);
    if (g->row.admins.len || g->row.super_admins.len)
        return xw_errf(eb, XW_EDENIED, "a DM welcome whose group lists admins");
    return XW_OK;
}

typedef struct {
    xc_group g;
    xc_meta_immutable im;
    uint64_t cursor;
    char inviter[XC_INBOX_LEN + 1];
    uint8_t inviter_inst[XC_INSTALLATION_LEN];
} joined;

/* Phase 1 and 2. */
static int open_and_validate(xc_client *c, const xc_welcome_env *w, joined *j, xw_errbuf *eb)
{
    if (w->is_pointer)
        return xw_errf(
            eb, XW_EUNSUPPORTED,
            "a welcome pointer; this client does not resolve them (its key packages do not ask for "
            "them)");
    xc_kp_keys k;
    int rc = xc_kp_keys_for(c, w->hpke_public_key.p, w->hpke_public_key.len, w->wrapper_algorithm, &k, eb);
    if (rc != XW_OK)
        return rc;
    xw_buf welcome, meta;
    xw_buf_init(&welcome, WELCOME_MAX);
    xw_buf_init(&meta, XMTP_WELCOME_METADATA_MAX);
    rc = xmtp_welcome_unwrap((xmtp_welcome_alg)w->wrapper_algorithm, k.wrap_sk, sizeof k.wrap_sk, w->data.p,
                             w->data.len, w->metadata.len ? w->metadata.p : NULL, w->metadata.len, &welcome,
                             &meta, NULL, eb);
    if (rc == XW_OK && meta.len &&
        xmtp_welcome_metadata_decode(meta.data, meta.len, &j->cursor, NULL) !=
            XW_OK) /* ignored, as libxmtp */
        j->cursor = 0;
    mls_group_config cfg;
    mls_group_config_default(&cfg);
    cfg.check_lifetimes = 0; /* libxmtp joins with skip_lifetime_validation */
    if (rc == XW_OK)
        rc = mls_group_join(&cfg, welcome.data, welcome.len, k.raw.data, k.raw.len, &k.sec, NULL, 0, NULL, 0,
                            &j->g.mls, eb);
    size_t gid_len = 0;
    const uint8_t *gid = rc == XW_OK ? mls_group_id(j->g.mls, &gid_len) : NULL;
    if (rc == XW_OK && (gid_len == 0 || gid_len > XC_GROUP_ID_MAX))
        rc =
            xw_errf(eb, XW_ELIMIT, "the group id has %zu bytes (1 to %d accepted)", gid_len, XC_GROUP_ID_MAX);
    mls_span exts = rc == XW_OK ? mls_group_extensions(j->g.mls) : (mls_span){NULL, 0};
    if (rc == XW_OK)
        rc = xc_meta_immutable_get(exts.p, exts.len, &j->im, eb);
    if (rc == XW_OK && j->im.conversation_type == XC_CONV_ONESHOT)
        rc = xw_errf(eb, XW_EUNSUPPORTED,
                     "a oneshot welcome (fork recovery request); not handled by this client");
    if (rc == XW_OK)
        rc = xc_group_refresh(&j->g, eb);
    const xc_member_row *by = NULL;
    if (rc == XW_OK)
        rc = added_by(&k, welcome.data, welcome.len, &j->g, &by, eb);
    if (rc == XW_OK) {
        memcpy(j->inviter, by->inbox_id, sizeof j->inviter);
        memcpy(j->inviter_inst, by->installation_id, XC_INSTALLATION_LEN);
        memcpy(j->g.row.id, gid, gid_len);
        j->g.row.id_len = gid_len;
        rc = xc_group_check_membership(c, j->g.members, j->g.n_members, &j->g.membership, eb);
    }
    if (rc == XW_OK && j->im.conversation_type == XC_CONV_DM)
        rc = check_dm(c, &j->im, &j->g, j->inviter, eb);
    xw_buf_free_secret(&welcome);
    xw_buf_free(&meta);
    xc_kp_keys_free(&k);
    return rc;
}

static int dm_id(const xc_meta_immutable *im, char *out, size_t n)
{
    if (!im->has_dm) {
        out[0] = 0;
        return XW_OK;
    }
    int first = strcmp(im->dm[0], im->dm[1]) <= 0;
    int w = snprintf(out, n, "dm:%s:%s", first ? im->dm[0] : im->dm[1], first ? im->dm[1] : im->dm[0]);
    return w > 0 && (size_t)w < n ? XW_OK : XW_ETOOBIG;
}

/* Phase 3, inside a transaction. tid: the id of the "added" transcript. */
static int store_joined(xc_client *c, const xc_welcome_env *w, joined *j, uint8_t tid[32], xw_errbuf *eb)
{
    xc_group_row *r = &j->g.row;
    int exists = 0;
    int rc = xc_store_group_exists(c->st, r->id, r->id_len, &exists, eb);
    if (rc == XW_OK && exists) {
        xc_group old;
        rc = xc_group_load(c, r->id, r->id_len, &old, eb);
        if (rc == XW_OK && old.row.active && mls_group_epoch(j->g.mls) <= old.row.epoch)
            rc = xw_errf(eb, XW_EEXISTS,
                         "we are already in this group at epoch %llu (the welcome is for epoch %llu)",
                         (unsigned long long)old.row.epoch, (unsigned long long)mls_group_epoch(j->g.mls));
        if (rc == XW_OK) { /* a re-add after we left or were removed: keep the group's own fields */
            r->created_ns = old.row.created_ns;
            r->consent = old.row.consent;
        }
        xc_group_release(&old);
        if (rc != XW_OK)
            return rc;
    } else if (rc == XW_OK) {
        r->created_ns = xc_now(c);
        r->consent =
            strcmp(j->im.creator_inbox_id, c->inbox_id) == 0 ? XC_CONSENT_ALLOWED : XC_CONSENT_UNKNOWN;
    }
    if (rc != XW_OK)
        return rc;
    r->conversation_type = j->im.conversation_type;
    r->membership_state =
        j->im.conversation_type == XC_CONV_SYNC || strcmp(j->im.creator_inbox_id, c->inbox_id) == 0
            ? XC_MEMBERSHIP_ALLOWED
            : XC_MEMBERSHIP_PENDING;
    memcpy(r->creator_inbox_id, j->im.creator_inbox_id, sizeof r->creator_inbox_id);
    memcpy(r->added_by_inbox_id, j->inviter, sizeof r->added_by_inbox_id);
    memcpy(r->added_by_installation, j->inviter_inst, XC_INSTALLATION_LEN);
    if (dm_id(&j->im, r->dm_id, sizeof r->dm_id) != XW_OK)
        return xw_errf(eb, XW_EINTERNAL, "DM id does not fit");
    r->welcome_id = w->id;
    r->cursor = j->cursor;
    r->rotated_at_ns = 0;
    r->last_message_ns = (int64_t)w->created_ns;
    rc = xc_group_save(c, &j->g, eb);
    /* the transcript of our own addition */
    xw_buf ec;
    xw_buf_init(&ec, 1 << 20);
    const char *me = c->inbox_id;
    xc_group_updated u = {.initiated_by = j->inviter, .added = &me, .n_added = 1};
    if (rc == XW_OK)
        rc = xc_group_updated_encode(&u, &ec, eb);
    char key[48];
    snprintf(key, sizeof key, "%llu_welcome_added", (unsigned long long)w->created_ns);
    if (rc == XW_OK) {
        xmtp_message_id(r->id, r->id_len, key, ec.data, ec.len, tid);
        rc = xc_transcript_store(c, r->id, r->id_len, ec.data, ec.len, key, (int64_t)w->created_ns,
                                 j->inviter, j->inviter_inst, j->cursor, r->epoch, eb);
    }
    xw_buf_free(&ec);
    return rc;
}

/* Phase 3 and the cursors, inside the open transaction, with the JOINED event. */
static int apply_opened(xc_client *c, const xc_welcome_env *w, joined *j, xc_events *ev, xw_errbuf *eb)
{
    uint8_t tid[32] = {0};
    int rc = store_joined(c, w, j, tid, eb);
    if (rc == XW_OK)
        rc = xc_store_cursor_set(c->st, "welcomes", w->id, eb);
    if (rc == XW_OK) /* a used key package is replaced, even if this run stops before */
        rc = xc_store_cursor_set(c->st, "key_package_rotation_due", 1, eb);
    xc_event *x = NULL;
    if (rc == XW_OK && (x = xc_event_push(ev, XC_EVENT_JOINED, j->g.row.id, j->g.row.id_len, w->id,
                                          (int64_t)w->created_ns, j->g.row.epoch, &rc)) != NULL) {
        memcpy(x->message_id, tid, 32);
        memcpy(x->sender_inbox_id, j->inviter, sizeof x->sender_inbox_id);
        memcpy(x->sender_installation_id, j->inviter_inst, XC_INSTALLATION_LEN);
    }
    if (rc == XW_ENOMEM || rc == XW_ELIMIT)
        rc = xw_errf(eb, rc, "recording the welcome's event");
    return rc;
}

/* A refused welcome, inside the open transaction: quarantined, cursor moved past it. */
static int quarantine_welcome(xc_client *c, const xc_welcome_env *w, int err, const char *why, xc_events *ev,
                              xw_errbuf *eb)
{
    int rc = xc_quarantine(c, "welcome", NULL, 0, w->id, (int64_t)w->created_ns, err, why, w->data.p,
                           w->data.len, eb);
    if (rc == XW_OK)
        rc = xc_store_cursor_set(c->st, "welcomes", w->id, eb);
    xc_event *x = NULL;
    if (rc == XW_OK && (x = xc_event_push(ev, XC_EVENT_QUARANTINE, NULL, 0, w->id, (int64_t)w->created_ns, 0,
                                          &rc)) != NULL) {
        x->error = err;
        snprintf(x->reason, sizeof x->reason, "%s", why);
    }
    if (rc == XW_ENOMEM || rc == XW_ELIMIT)
        rc = xw_errf(eb, rc, "recording the welcome's event");
    return rc;
}

int xc_welcome_apply(xc_client *c, const xc_welcome_env *w, uint8_t *gid, size_t *gid_len, xw_errbuf *eb)
{
    joined j;
    memset(&j, 0, sizeof j);
    xc_group_init(&j.g);
    int rc = open_and_validate(c, w, &j, eb);
    if (rc == XW_OK && (rc = xc_store_begin(c->st, eb)) == XW_OK) {
        rc = apply_opened(c, w, &j, NULL, eb);
        if (rc == XW_OK)
            rc = xc_store_commit(c->st, eb);
        else
            xc_store_rollback(c->st);
    }
    if (rc == XW_OK) {
        memcpy(gid, j.g.row.id, j.g.row.id_len);
        *gid_len = j.g.row.id_len;
    }
    xc_group_release(&j.g);
    return rc;
}

int xc_apply_welcome(xc_client *c, const xc_welcome_env *w, uint8_t *gid, size_t *gid_len, xc_events *ev,
                     xw_errbuf *eb)
{
    if (ev)
        memset(ev, 0, sizeof *ev);
    if (gid_len)
        *gid_len = 0;
    if (!c || !w || !ev)
        return xw_errf(eb, XW_EINVAL, "xc_apply_welcome needs a client, a welcome and an event list");
    int rc = xc_in_caller_tx(c, eb);
    uint64_t cursor = 0;
    if (rc == XW_OK)
        rc = xc_store_cursor_get(c->st, "welcomes", &cursor, eb);
    if (rc != XW_OK || w->id <= cursor)
        return rc;
    joined j;
    memset(&j, 0, sizeof j);
    xc_group_init(&j.g);
    xw_errbuf web = {{0}};
    int wr = open_and_validate(c, w, &j, &web);
    if (wr == XW_OK) {
        rc = apply_opened(c, w, &j, ev, eb);
        if (rc == XW_OK && gid && gid_len) {
            memcpy(gid, j.g.row.id, j.g.row.id_len);
            *gid_len = j.g.row.id_len;
        }
    } else if (xw_err_is_retriable(wr) || xw_err_is_fatal(wr)) {
        rc = xw_errf(eb, wr, "welcome %llu: %s", (unsigned long long)w->id, web.msg);
    } else {
        rc = quarantine_welcome(c, w, wr, web.msg, ev, eb);
    }
    if (rc != XW_OK)
        xc_events_free(ev);
    xc_group_release(&j.g);
    return rc;
}

int xc_client_sync_welcomes(xc_client *c, xc_welcome_stats *stats, xw_errbuf *eb)
{
    xc_welcome_stats s = {0};
    uint8_t(*joined_ids)[XC_GROUP_ID_MAX] = NULL;
    size_t *joined_lens = NULL, n_joined = 0;
    int rc = XW_OK;
    for (;;) {
        uint64_t cursor = 0;
        rc = xc_store_cursor_get(c->st, "welcomes", &cursor, eb);
        xc_page p = {0};
        if (rc == XW_OK)
            rc = c->node->ops->query_welcomes(c->node->ctx, c->installation_id, XC_INSTALLATION_LEN, cursor,
                                              XC_PAGE_MAX, &p, eb);
        if (rc != XW_OK)
            break;
        size_t n = p.n;
        for (size_t i = 0; i < p.n && rc == XW_OK; i++) {
            const xc_welcome_env *w = &p.welcomes[i];
            if (w->id <= cursor)
                continue;
            s.welcomes++;
            uint8_t gid[XC_GROUP_ID_MAX];
            size_t gl = 0;
            xw_errbuf web = {{0}};
            int wr = xc_welcome_apply(c, w, gid, &gl, &web);
            if (wr == XW_OK) {
                s.joined++;
                void *a = xw_realloc(joined_ids, (n_joined + 1) * sizeof *joined_ids);
                void *b = a ? xw_realloc(joined_lens, (n_joined + 1) * sizeof *joined_lens) : NULL;
                if (a)
                    joined_ids = a;
                if (b)
                    joined_lens = b;
                if (!a || !b) {
                    rc = xw_errf(eb, XW_ENOMEM, "out of memory");
                    break;
                }
                memcpy(joined_ids[n_joined], gid, gl);
                joined_lens[n_joined++] = gl;
            } else if (xw_err_is_retriable(wr) || xw_err_is_fatal(wr)) {
                rc = xw_errf(eb, wr, "welcome %llu: %s", (unsigned long long)w->id, web.msg);
            } else {
                s.quarantined++;
                rc = xc_store_begin(c->st, eb);
                if (rc == XW_OK)
                    rc = quarantine_welcome(c, w, wr, web.msg, NULL, eb);
                if (rc == XW_OK)
                    rc = xc_store_commit(c->st, eb);
                else
                    xc_store_rollback(c->st);
            }
            cursor = w->id;
        }
        xc_page_free(&p);
        if (rc != XW_OK || n < XC_PAGE_MAX)
            break;
    }
    /* the new groups' history, from their welcome cursors */
    for (size_t i = 0; rc == XW_OK && i < n_joined; i++)
        rc = xc_group_sync(c, joined_ids[i], joined_lens[i], NULL, eb);
    uint64_t due = 0; /* libxmtp rotates the key package after a welcome */
    if (rc == XW_OK)
        rc = xc_store_cursor_get(c->st, "key_package_rotation_due", &due, eb);
    if (rc == XW_OK && due && (rc = xc_kp_rotate(c, eb)) == XW_OK)
        rc = xc_store_cursor_set(c->st, "key_package_rotation_due", 0, eb);
    xw_free(joined_ids);
    xw_free(joined_lens);
    if (stats)
        *stats = s;
    return rc;
}
