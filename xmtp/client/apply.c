/*
 * Applying one group message envelope to a group (libxmtp groups/mls_sync.rs
 * process_message), shared by the apply API (apply.h: one envelope under the caller's
 * transaction) and group sync (sync.c: pages of envelopes, one transaction per page).
 *
 * Applying one envelope:
 *   - our own payload (SHA-256 of the bytes matches an intent): the intent is done and its
 *     message becomes `published` at this cursor (an MLS member cannot decrypt its own
 *     messages; libxmtp recognises them the same way);
 *   - the MLSMessage's group id must be this group's;
 *   - a commit is processed on a copy of the group loaded from the state before it, then
 *     validated with XMTP's rules (commit.c); only an accepted commit replaces the group,
 *     with its GroupUpdated transcript stored;
 *   - an application message is decrypted in place; its PlaintextEnvelope.V1 gives the
 *     idempotency key and the EncodedContent, from which the message id (§3.12), content
 *     type and decoded text (or fallback) are stored with the sender's inbox id and
 *     installation from the roster (V2 envelopes are skipped, as libxmtp does);
 *   - anything that fails with a permanent error is quarantined with the reason; the group
 *     goes back to the state saved before the envelope (byte for byte) and the cursor moves
 *     past it. A retriable or fatal error is returned: the caller rolls back.
 * Each outcome is also reported as typed events (apply.h) built from exactly the rows
 * written: the message row, the transcript (decoded back), the quarantine record.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/framing.h"
#include "mls/tree.h"
#include "xmtp/client/client_int.h"
#include "xmtp/message_id.h"

#define STATE_MAX ((size_t)64 << 20)
#define EVENTS_MAX 100000

/* --- events --- */
static void list_free(xc_inbox_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        xw_free(l->v[i]);
    xw_free(l->v);
    memset(l, 0, sizeof *l);
}

static void event_free(xc_event *e)
{
    xw_free(e->encoded);
    xw_free(e->text);
    xmtp_content_free(e->content);
    xc_inbox_list *ls[] = {&e->added,          &e->removed,      &e->left,          &e->added_admins,
                           &e->removed_admins, &e->added_supers, &e->removed_supers};
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++)
        list_free(ls[i]);
    for (size_t i = 0; i < e->n_fields; i++) {
        xw_free(e->fields[i].name);
        xw_free(e->fields[i].old_value);
        xw_free(e->fields[i].new_value);
    }
    xw_free(e->fields);
    memset(e, 0, sizeof *e);
}

void xc_events_free(xc_events *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        event_free(&e->ev[i]);
    xw_free(e->ev);
    e->ev = NULL;
    e->n = 0;
}

void xc_events_truncate(xc_events *e, size_t n)
{
    while (e && e->n > n)
        event_free(&e->ev[--e->n]);
}

/* A new zeroed event with the group, cursor, time and epoch filled in; NULL when out of
 * memory or when there is no event list (xc_event_push then returns XW_OK via *rc). */
xc_event *xc_event_push(xc_events *ev, xc_event_kind kind, const uint8_t *gid, size_t gid_len,
                        uint64_t cursor, int64_t sent_at_ns, uint64_t epoch, int *rc)
{
    *rc = XW_OK;
    if (!ev)
        return NULL;
    if (ev->n >= EVENTS_MAX) {
        *rc = XW_ELIMIT;
        return NULL;
    }
    xc_event *a = xw_realloc(ev->ev, (ev->n + 1) * sizeof *a);
    if (!a) {
        *rc = XW_ENOMEM;
        return NULL;
    }
    ev->ev = a;
    xc_event *e = &a[ev->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    if (gid_len && gid_len <= XC_GROUP_ID_MAX)
        memcpy(e->group_id, gid, gid_len);
    e->group_id_len = gid_len <= XC_GROUP_ID_MAX ? gid_len : 0;
    e->cursor = cursor;
    e->sent_at_ns = sent_at_ns;
    e->epoch = epoch;
    return e;
}

static char *dup_or_null(const char *s) { return s ? xw_strdup(s) : NULL; }

static int list_copy(xc_inbox_list *l, const xmtp_inbox_list *src)
{
    if (!src->n)
        return XW_OK;
    l->v = xw_calloc(src->n, sizeof *l->v);
    if (!l->v)
        return XW_ENOMEM;
    for (size_t i = 0; i < src->n; i++) {
        if (!(l->v[i] = xw_strdup(src->ids[i] ? src->ids[i] : "")))
            return XW_ENOMEM;
        l->n++;
    }
    return XW_OK;
}

/* The events of a commit, from the GroupUpdated transcript stored for it. */
static int commit_events(xc_events *ev, const xc_group_env *e, const xc_group *g, uint64_t epoch,
                         const uint8_t *ec, size_t ec_len, const uint8_t id[32], const char *actor,
                         const uint8_t *actor_inst, xw_errbuf *eb)
{
    if (!ev || !ec_len)
        return XW_OK;
    xmtp_content *c = NULL;
    int rc = xmtp_content_decode_bytes(ec, ec_len, &c, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_EINTERNAL, "decoding our own transcript");
    if (c->kind != XMTP_CT_GROUP_UPDATED) {
        xmtp_content_free(c);
        return xw_errf(eb, XW_EINTERNAL, "our own transcript is not a GroupUpdated");
    }
    const xmtp_group_updated *u = &c->u.group_updated;
    int want[3] = {u->added.n || u->removed.n || u->left.n, u->n_metadata_changes > 0,
                   u->added_admins.n || u->removed_admins.n || u->added_super_admins.n ||
                       u->removed_super_admins.n};
    const xc_event_kind kinds[3] = {XC_EVENT_MEMBERSHIP, XC_EVENT_METADATA, XC_EVENT_ADMINS};
    for (int k = 0; k < 3 && rc == XW_OK; k++) {
        if (!want[k])
            continue;
        xc_event *x =
            xc_event_push(ev, kinds[k], g->row.id, g->row.id_len, e->id, (int64_t)e->created_ns, epoch, &rc);
        if (!x)
            break;
        memcpy(x->message_id, id, 32);
        snprintf(x->sender_inbox_id, sizeof x->sender_inbox_id, "%s", actor);
        if (actor_inst)
            memcpy(x->sender_installation_id, actor_inst, XC_INSTALLATION_LEN);
        if (kinds[k] == XC_EVENT_MEMBERSHIP) {
            rc = list_copy(&x->added, &u->added);
            if (rc == XW_OK)
                rc = list_copy(&x->removed, &u->removed);
            if (rc == XW_OK)
                rc = list_copy(&x->left, &u->left);
        } else if (kinds[k] == XC_EVENT_ADMINS) {
            rc = list_copy(&x->added_admins, &u->added_admins);
            if (rc == XW_OK)
                rc = list_copy(&x->removed_admins, &u->removed_admins);
            if (rc == XW_OK)
                rc = list_copy(&x->added_supers, &u->added_super_admins);
            if (rc == XW_OK)
                rc = list_copy(&x->removed_supers, &u->removed_super_admins);
        } else {
            x->fields = xw_calloc(u->n_metadata_changes, sizeof *x->fields);
            if (!x->fields)
                rc = XW_ENOMEM;
            for (size_t i = 0; rc == XW_OK && i < u->n_metadata_changes; i++) {
                const xmtp_metadata_change *mc = &u->metadata_changes[i];
                xc_field_change *f = &x->fields[x->n_fields++];
                f->name = xw_strdup(mc->field_name ? mc->field_name : "");
                f->old_value = dup_or_null(mc->old_value);
                f->new_value = dup_or_null(mc->new_value);
                if (!f->name || (mc->old_value && !f->old_value) || (mc->new_value && !f->new_value))
                    rc = XW_ENOMEM;
            }
        }
    }
    xmtp_content_free(c);
    return rc == XW_OK ? XW_OK : xw_errf(eb, rc, "recording a commit's events");
}

/* --- applying --- */

/* The MLS engine's leaf check: every leaf another member brings in (added key packages,
 * Updates, a committer's path leaf) must carry an XMTP credential: a basic credential whose
 * identity is an MlsCredential with an inbox id, and a 32-byte installation key. Whether
 * the inbox owns that installation is checked in commit.c (rule 4) against the association
 * state at the sequence id of the commit's own membership map, which this hook cannot see. */
static int leaf_check(void *arg, const mls_leaf_event *ev, xw_errbuf *eb)
{
    (void)arg;
    char inbox[XC_INBOX_LEN + 1];
    if (ev->leaf.credential_type != MLS_CREDENTIAL_BASIC)
        return xw_errf(eb, XW_EXMTP_ASSOCIATION, "%s leaf %u has a credential of type %u, not basic",
                       mls_leaf_reason_name(ev->reason), ev->index, ev->leaf.credential_type);
    if (ev->leaf.signature_key.len != XC_INSTALLATION_LEN)
        return xw_errf(eb, XW_EXMTP_ASSOCIATION,
                       "%s leaf %u has a %zu-byte signature key (installation keys are 32)",
                       mls_leaf_reason_name(ev->reason), ev->index, ev->leaf.signature_key.len);
    int rc = xc_inbox_from_credential(ev->leaf.identity.p, ev->leaf.identity.len, inbox, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_EXMTP_ASSOCIATION, "%s leaf %u's credential",
                         mls_leaf_reason_name(ev->reason), ev->index);
    return XW_OK;
}

/* Rule 5 (§3.8): every committed proposal comes from the committer. */
static int check_one_actor(const mls_commit_changes *ch, xw_errbuf *eb)
{
    for (size_t i = 0; i < ch->n; i++)
        if (ch->entries[i].proposer != ch->committer)
            return xw_errf(
                eb, XW_EDENIED,
                "the commit by leaf %u includes a proposal by %s %u (XMTP commits carry only their "
                "committer's proposals)",
                ch->committer,
                ch->entries[i].proposer == MLS_GROUP_EXTERNAL_SENDER ? "an external sender" : "leaf",
                ch->entries[i].proposer);
    return XW_OK;
}
static int store_application(xc_applier *a, const xc_group_env *e, uint32_t sender, uint64_t epoch,
                             const uint8_t *plain, size_t len, xw_errbuf *eb)
{
    xmtp_plaintext pt;
    int rc = xmtp_plaintext_decode(plain, len, &pt, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "the application message's PlaintextEnvelope");
    if (pt.version != 1 || !pt.has_content) { /* V2 (device sync v1, removed): libxmtp ignores it */
        xmtp_plaintext_free(&pt);
        return XW_OK;
    }
    const xc_member_row *who = xc_group_member_at(a->g, sender);
    xmtp_encoded_content *ec = NULL;
    xmtp_content *dc = NULL;
    if (!who)
        rc = xw_errf(eb, XW_EMLS_SENDER, "the sender (leaf %u) is not in the group's roster", sender);
    else if (who->since_epoch > epoch) /* a late message whose leaf has changed hands since */
        rc =
            xw_errf(eb, XW_EMLS_SENDER,
                    "the message is from epoch %llu but leaf %u has held its current member only since epoch "
                    "%llu, so its sender is not known",
                    (unsigned long long)epoch, sender, (unsigned long long)who->since_epoch);
    if (rc == XW_OK && (rc = xmtp_ec_decode(pt.content, pt.content_len, &ec, eb)) != XW_OK)
        rc = xw_errctx(eb, rc, "the message's EncodedContent");
    xc_message_row m;
    memset(&m, 0, sizeof m);
    if (rc == XW_OK && ec->has_type &&
        xmtp_content_type_format(&ec->type, m.content_type, sizeof m.content_type) != XW_OK)
        rc = xw_errf(eb, XW_ETOOBIG, "the message's content type is too long");
    if (rc == XW_OK) {
        /* unknown types and malformed bodies of known types are kept with their fallback */
        const char *text = ec->fallback;
        if (xmtp_content_decode(ec, &dc, NULL) == XW_OK &&
            (dc->kind == XMTP_CT_TEXT || dc->kind == XMTP_CT_MARKDOWN))
            text = dc->u.text;
        xmtp_message_id(a->g->row.id, a->g->row.id_len, pt.idempotency_key, pt.content, pt.content_len, m.id);
        m.group_id = a->g->row.id;
        m.group_id_len = a->g->row.id_len;
        memcpy(m.sender_inbox_id, who->inbox_id, sizeof m.sender_inbox_id);
        memcpy(m.sender_installation_id, who->installation_id, XC_INSTALLATION_LEN);
        m.kind = XC_KIND_APPLICATION;
        m.encoded = pt.content;
        m.encoded_len = pt.content_len;
        m.decoded = text;
        m.decoded_len = text ? strlen(text) : 0;
        m.delivery = XC_DELIVERY_PUBLISHED;
        m.sent_at_ns = (int64_t)e->created_ns;
        m.inserted_at_ns = xc_now(a->c);
        m.cursor = e->id;
        m.epoch = epoch;
        int inserted = 0;
        rc = xc_store_message_insert(a->c->st, &m, &inserted, eb);
        if (rc == XW_OK && inserted && a->stats)
            a->stats->messages++;
        if (rc == XW_OK)
            a->g->row.last_message_ns = (int64_t)e->created_ns;
        xc_event *x = NULL;
        if (rc == XW_OK && inserted &&
            (x = xc_event_push(a->ev, XC_EVENT_MESSAGE, a->g->row.id, a->g->row.id_len, e->id,
                               (int64_t)e->created_ns, epoch, &rc)) != NULL) {
            memcpy(x->message_id, m.id, 32);
            memcpy(x->sender_inbox_id, m.sender_inbox_id, sizeof x->sender_inbox_id);
            memcpy(x->sender_installation_id, m.sender_installation_id, XC_INSTALLATION_LEN);
            memcpy(x->content_type, m.content_type, sizeof x->content_type);
            x->encoded = xw_memdup(pt.content, pt.content_len ? pt.content_len : 1);
            x->encoded_len = pt.content_len;
            x->text = dup_or_null(text);
            x->content = dc && dc->kind != XMTP_CT_UNKNOWN ? dc : NULL;
            if (x->content)
                dc = NULL;
            if (!x->encoded || (text && !x->text))
                rc = XW_ENOMEM;
        }
        if (rc == XW_ENOMEM || rc == XW_ELIMIT)
            rc = xw_errf(eb, rc, "recording the message's event");
    }
    xmtp_content_free(dc);
    xmtp_ec_free(ec);
    xmtp_plaintext_free(&pt);
    return rc;
}

/* 1 when the permission policies (0xff02) differ between the two groups. */
static int permissions_changed(const xc_group *a, const xc_group *b)
{
    mls_span pa = {NULL, 0}, pb = {NULL, 0};
    int ha = mls_extensions_find(mls_group_extensions(a->mls), XC_EXT_GROUP_PERMISSIONS, &pa);
    int hb = mls_extensions_find(mls_group_extensions(b->mls), XC_EXT_GROUP_PERMISSIONS, &pb);
    if (ha != hb)
        return 1;
    return ha && (pa.len != pb.len || (pa.len && memcmp(pa.p, pb.p, pa.len) != 0));
}

/* A commit: processed on a copy, validated, then swapped in. */
static int apply_commit(xc_applier *a, const xc_group_env *e, xw_errbuf *eb)
{
    xc_group next;
    xc_group_init(&next);
    int rc = mls_group_load(a->snap.data, a->snap.len, &next.mls, eb);
    if (rc != XW_OK) {
        xc_group_release(&next);
        return xw_errctx(eb, XW_ECORRUPT, "reloading the group state");
    }
    mls_group_set_leaf_check(next.mls, leaf_check, a);
    mls_received r;
    mls_received_init(&r);
    rc = mls_group_receive(next.mls, e->data.p, e->data.len, &r, eb);
    if (rc == XW_OK && r.kind != MLS_RECEIVED_COMMIT)
        rc = xw_errf(eb, XW_EMLS_COMMIT, "a message whose header says commit decrypted to something else");
    if (rc == XW_OK && !r.own_commit)
        rc = check_one_actor(&r.changes, eb);
    if (rc == XW_OK)
        rc = xc_group_refresh(&next, eb);
    xw_buf transcript;
    xw_buf_init(&transcript, 1 << 20);
    char actor[XC_INBOX_LEN + 1] = "";
    if (rc == XW_OK)
        rc = xc_commit_validate(a->c, a->g, &next, r.sender, &transcript, actor, eb);
    const xc_member_row *who = rc == XW_OK ? xc_group_member_at(a->g, r.sender) : NULL;
    uint8_t tid[32] = {0};
    uint64_t epoch = rc == XW_OK ? mls_group_epoch(next.mls) : 0;
    if (rc == XW_OK && transcript.len) {
        char key[24];
        snprintf(key, sizeof key, "%llu", (unsigned long long)e->created_ns);
        xmtp_message_id(a->g->row.id, a->g->row.id_len, key, transcript.data, transcript.len, tid);
        rc = xc_transcript_store(a->c, a->g->row.id, a->g->row.id_len, transcript.data, transcript.len, key,
                                 (int64_t)e->created_ns, actor, who ? who->installation_id : NULL, e->id,
                                 epoch, eb);
    }
    if (rc == XW_OK)
        rc = commit_events(a->ev, e, a->g, epoch, transcript.data, transcript.len, tid, actor,
                           who ? who->installation_id : NULL, eb);
    xc_event *x = NULL;
    if (rc == XW_OK && permissions_changed(a->g, &next) &&
        (x = xc_event_push(a->ev, XC_EVENT_PERMISSIONS, a->g->row.id, a->g->row.id_len, e->id,
                           (int64_t)e->created_ns, epoch, &rc)) != NULL) {
        memcpy(x->sender_inbox_id, actor, sizeof x->sender_inbox_id);
        if (who)
            memcpy(x->sender_installation_id, who->installation_id, XC_INSTALLATION_LEN);
    }
    if (rc == XW_OK && a->g->row.active && !next.row.active &&
        (x = xc_event_push(a->ev, XC_EVENT_REMOVED, a->g->row.id, a->g->row.id_len, e->id,
                           (int64_t)e->created_ns, epoch, &rc)) != NULL) {
        memcpy(x->sender_inbox_id, actor, sizeof x->sender_inbox_id);
        if (who)
            memcpy(x->sender_installation_id, who->installation_id, XC_INSTALLATION_LEN);
    }
    if (rc == XW_ENOMEM || rc == XW_ELIMIT)
        rc = xw_errf(eb, rc, "recording the commit's events");
    xw_buf_free(&transcript);
    int own = r.own_commit;
    mls_received_free(&r);
    /* another member's commit won the epoch our staged commit was for */
    if (rc == XW_OK && !own && mls_group_has_staged_commit(a->g->mls))
        rc = xc_intent_lost_race(a->c, a->g->row.id, a->g->row.id_len, mls_group_epoch(next.mls), eb);
    if (rc != XW_OK) {
        xc_group_release(&next);
        return rc;
    }
    a->own_merged = own;
    /* leaves that kept their installation keep the epoch since which they hold it */
    for (size_t i = 0; i < next.n_members; i++) {
        const xc_member_row *o = xc_group_member_at(a->g, next.members[i].leaf);
        if (o && strcmp(o->inbox_id, next.members[i].inbox_id) == 0 &&
            memcmp(o->installation_id, next.members[i].installation_id, XC_INSTALLATION_LEN) == 0)
            next.members[i].since_epoch = o->since_epoch;
    }
    /* accepted: the new epoch replaces the group in memory */
    mls_group_free(a->g->mls);
    a->g->mls = next.mls;
    next.mls = NULL;
    xw_free(a->g->members);
    a->g->members = next.members;
    a->g->n_members = next.n_members;
    next.members = NULL;
    xc_meta_membership_free(&a->g->membership);
    a->g->membership = next.membership;
    memset(&next.membership, 0, sizeof next.membership);
    /* the metadata views computed on the copy */
    xw_buf *views[][2] = {{&a->g->row.name, &next.row.name},
                          {&a->g->row.description, &next.row.description},
                          {&a->g->row.image_url, &next.row.image_url},
                          {&a->g->row.admins, &next.row.admins},
                          {&a->g->row.super_admins, &next.row.super_admins}};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        xw_buf t = *views[i][0];
        *views[i][0] = *views[i][1];
        *views[i][1] = t;
    }
    a->g->row.epoch = next.row.epoch;
    a->g->row.active = next.row.active;
    xc_group_release(&next);
    if (a->stats)
        a->stats->commits++;
    return XW_OK;
}

/* Puts the group back into the state saved before the envelope. */
static int restore(xc_applier *a, xw_errbuf *eb)
{
    mls_group *g = NULL;
    int rc = mls_group_load(a->snap.data, a->snap.len, &g, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_ECORRUPT, "restoring the group state");
    mls_group_free(a->g->mls);
    a->g->mls = g;
    return XW_OK;
}

static int own_echo(xc_applier *a, const xc_group_env *e, int *ours, xw_errbuf *eb)
{
    int rc = xc_send_own_echo(a->c, e->data.p, e->data.len, e->id, (int64_t)e->created_ns, ours, eb);
    if (rc != XW_OK || !*ours || !a->ev)
        return rc;
    uint8_t h[32];
    if (mls_hash(a->c->suite, e->data.p, e->data.len, h) != XW_OK)
        return xw_errf(eb, XW_ECRYPTO, "hashing a payload failed");
    xc_intent_row r;
    xc_intent_row_init(&r);
    rc = xc_store_intent_by_hash(a->c->st, h, &r, eb);
    xc_event *x = NULL;
    if (rc == XW_OK && (x = xc_event_push(a->ev, XC_EVENT_OWN_PUBLISHED, a->g->row.id, a->g->row.id_len,
                                          e->id, (int64_t)e->created_ns, a->g->row.epoch, &rc)) != NULL) {
        memcpy(x->message_id, r.message_id, 32);
        memcpy(x->sender_inbox_id, a->c->inbox_id, sizeof x->sender_inbox_id);
        memcpy(x->sender_installation_id, a->c->installation_id, XC_INSTALLATION_LEN);
    }
    if (rc == XW_ENOMEM || rc == XW_ELIMIT)
        rc = xw_errf(eb, rc, "recording an own message's event");
    xc_intent_row_free(&r);
    return rc;
}

/* Our own commit coming back: merged (validated like anyone's), or skipped when it lost
 * its epoch's race or was already applied. *ours = 1 when the payload is a commit intent's. */
static int own_commit_echo(xc_applier *a, const xc_group_env *e, int *ours, xw_errbuf *eb)
{
    *ours = 0;
    uint8_t h[32];
    if (mls_hash(a->c->suite, e->data.p, e->data.len, h) != XW_OK)
        return xw_errf(eb, XW_ECRYPTO, "hashing a payload failed");
    xc_intent_row in;
    xc_intent_row_init(&in);
    int rc = xc_store_intent_by_hash(a->c->st, h, &in, eb);
    if (rc == XW_ENOTFOUND || (rc == XW_OK && in.kind == XC_INTENT_SEND_MESSAGE)) {
        xc_intent_row_free(&in);
        return XW_OK;
    }
    int pending = rc == XW_OK && (in.state == XC_INTENT_TO_PUBLISH || in.state == XC_INTENT_PUBLISHED);
    if (rc == XW_OK && pending && mls_group_has_staged_commit(a->g->mls)) {
        a->own_merged = 0;
        rc = apply_commit(a, e, eb);
        if (rc == XW_OK && !a->own_merged)
            rc = xw_errf(eb, XW_EMLS_COMMIT, "our own commit came back but the engine did not recognise it");
        if (rc != XW_OK && !xw_err_is_retriable(rc) && !xw_err_is_fatal(rc)) {
            /* refused by our own rules: forget it, so that the next commit can be built */
            mls_group_commit_discard(a->g->mls);
            xw_errbuf ie = {{0}};
            if (xc_store_intent_set_state(a->c->st, in.id, XC_INTENT_ERROR, in.attempts, eb->msg, &ie) !=
                XW_OK)
                rc = xw_errf(eb, XW_EDB, "%s", ie.msg);
        }
        if (rc == XW_OK)
            rc = xc_store_intent_set_committed(
                a->c->st, in.id, in.post_commit.len ? XC_INTENT_COMMITTED : XC_INTENT_DONE, e->id, eb);
    } else if (rc == XW_OK && pending) {
        rc = xc_store_intent_set_state(a->c->st, in.id, XC_INTENT_ERROR, in.attempts,
                                       "our commit came back but its epoch had passed", eb);
    }
    xc_intent_row_free(&in);
    *ours = 1;
    return rc;
}

static int apply_envelope(xc_applier *a, const xc_group_env *e, xw_errbuf *eb)
{
    int ours = 0;
    int rc = own_commit_echo(a, e, &ours, eb);
    if (rc != XW_OK || ours) {
        if (rc == XW_OK && a->stats)
            a->stats->own_published++;
        return rc;
    }
    rc = own_echo(a, e, &ours, eb);
    if (rc != XW_OK || ours) {
        if (rc == XW_OK && a->stats)
            a->stats->own_published++;
        return rc;
    }
    mls_message m;
    rc = mls_message_decode(e->data.p, e->data.len, &m, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "the envelope is not an MLSMessage");
    if (m.wire_format != MLS_WIRE_FORMAT_PRIVATE_MESSAGE && m.wire_format != MLS_WIRE_FORMAT_PUBLIC_MESSAGE)
        return xw_errf(eb, XW_EMALFORMED, "the envelope holds MLS wire format %u, not a group message",
                       m.wire_format);
    mls_span gid =
        m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE ? m.priv.group_id : m.pub.content.group_id;
    uint8_t ct =
        m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE ? m.priv.content_type : m.pub.content.content_type;
    if (gid.len != a->g->row.id_len || memcmp(gid.p, a->g->row.id, gid.len) != 0)
        return xw_errf(eb, XW_EMALFORMED, "the MLS message belongs to another group than the envelope's");
    if (ct == MLS_CONTENT_COMMIT)
        return apply_commit(a, e, eb);
    mls_received r;
    mls_received_init(&r);
    rc = mls_group_receive(a->g->mls, e->data.p, e->data.len, &r, eb);
    if (rc == XW_OK && r.kind == MLS_RECEIVED_APPLICATION)
        rc = store_application(a, e, r.sender, r.epoch, r.data.data, r.data.len, eb);
    else if (rc == XW_OK && r.kind == MLS_RECEIVED_COMMIT)
        rc = xw_errf(eb, XW_EMLS_COMMIT, "a commit whose header said otherwise");
    mls_received_free(&r);
    if (rc != XW_OK) { /* MLS refusals should leave the state untouched; restoring makes sure */
        xw_errbuf rb;
        if (restore(a, &rb) != XW_OK)
            return xw_errf(eb, XW_ECORRUPT, "%s", rb.msg);
    }
    return rc;
}

static int snapshot(xc_applier *a, xw_errbuf *eb)
{
    xw_buf_reset(&a->snap);
    int rc = mls_group_save(a->g->mls, &a->snap);
    return rc == XW_OK ? XW_OK : xw_errf(eb, rc, "saving the group state");
}

int xc_applier_init(xc_applier *a, xc_client *c, xc_group *g, xc_sync_stats *stats, xc_events *ev,
                    xw_errbuf *eb)
{
    memset(a, 0, sizeof *a);
    a->c = c;
    a->g = g;
    a->stats = stats;
    a->ev = ev;
    xw_buf_init(&a->snap, STATE_MAX);
    return snapshot(a, eb);
}

void xc_applier_free(xc_applier *a) { xw_buf_free_secret(&a->snap); }

int xc_applier_apply(xc_applier *a, const xc_group_env *e, int *applied, xw_errbuf *eb)
{
    *applied = 0;
    if (e->id <= a->g->row.cursor || !a->g->row.active || !mls_group_active(a->g->mls))
        return XW_OK; /* already applied, or removed: what follows is not for us to read */
    if (a->stats)
        a->stats->envelopes++;
    size_t n_before = a->ev ? a->ev->n : 0;
    xw_errbuf ee = {{0}};
    int er = apply_envelope(a, e, &ee);
    int rc;
    if (er == XW_OK) {
        rc = snapshot(a, eb);
    } else if (xw_err_is_retriable(er) || xw_err_is_fatal(er)) {
        rc = xw_errf(eb, er, "group message %llu: %s", (unsigned long long)e->id, ee.msg);
    } else {
        xc_events_truncate(a->ev, n_before);
        if (a->stats)
            a->stats->quarantined++;
        rc = xc_quarantine(a->c, "group_message", a->g->row.id, a->g->row.id_len, e->id,
                           (int64_t)e->created_ns, er, ee.msg, e->data.p, e->data.len, eb);
        xc_event *x = NULL;
        if (rc == XW_OK && (x = xc_event_push(a->ev, XC_EVENT_QUARANTINE, a->g->row.id, a->g->row.id_len,
                                              e->id, (int64_t)e->created_ns, a->g->row.epoch, &rc)) != NULL) {
            x->error = er;
            snprintf(x->reason, sizeof x->reason, "%s", ee.msg);
        }
        if (rc == XW_ENOMEM || rc == XW_ELIMIT)
            rc = xw_errf(eb, rc, "recording a quarantine event");
    }
    if (rc != XW_OK) {
        xc_events_truncate(a->ev, n_before);
        return rc;
    }
    a->g->row.cursor = e->id;
    *applied = 1;
    return XW_OK;
}

int xc_in_caller_tx(xc_client *c, xw_errbuf *eb)
{
    if (sqlite3_get_autocommit(xc_store_db(c->st)))
        return xw_errf(
            eb, XW_ESTATE,
            "no transaction is open: BEGIN on the client's connection before applying an envelope");
    return XW_OK;
}

int xc_apply_group_message(xc_client *c, const xc_group_env *e, xc_apply_result *res, xc_events *ev,
                           xw_errbuf *eb)
{
    if (ev)
        memset(ev, 0, sizeof *ev);
    if (res)
        memset(res, 0, sizeof *res);
    if (!c || !e || !ev)
        return xw_errf(eb, XW_EINVAL, "xc_apply_group_message needs a client, an envelope and an event list");
    if (e->group_id.len == 0 || e->group_id.len > XC_GROUP_ID_MAX)
        return xw_errf(eb, XW_EINVAL, "the envelope's group id has %zu bytes (1 to %d accepted)",
                       e->group_id.len, XC_GROUP_ID_MAX);
    int rc = xc_in_caller_tx(c, eb);
    if (rc != XW_OK)
        return rc;
    xc_group g;
    rc = xc_group_load(c, e->group_id.p, e->group_id.len, &g, eb);
    if (rc != XW_OK)
        return rc;
    xc_applier a;
    int applied = 0;
    rc = xc_applier_init(&a, c, &g, NULL, ev, eb);
    if (rc == XW_OK)
        rc = xc_applier_apply(&a, e, &applied, eb);
    if (rc == XW_OK && applied)
        rc = xc_group_save(c, &g, eb);
    if (rc == XW_OK && res) {
        res->applied = applied;
        res->cursor = g.row.cursor;
        res->epoch = g.row.epoch;
        res->active = g.row.active;
    }
    if (rc != XW_OK)
        xc_events_free(ev);
    xc_applier_free(&a);
    xc_group_release(&g);
    return rc;
}
