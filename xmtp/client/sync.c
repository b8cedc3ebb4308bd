/*
 * Group sync (libxmtp groups/mls_sync.rs): fetch a group's messages after its cursor, page
 * by page, and apply each envelope.
 *
 * Applying one envelope:
 *   - our own payload (SHA-256 of the bytes matches an intent): the intent is done and its
 *     message becomes `published` at this cursor (an MLS member cannot decrypt its own
 *     messages; libxmtp recognises them the same way);
 *   - the MLSMessage's group id must be this group's;
 *   - a commit is processed on a copy of the group loaded from the state before it (with the
 *     leaf check below on every leaf it brings in), then validated with XMTP's rules
 *     (all proposals from the committer here, the rest in commit.c); only an accepted commit
 *     replaces the group, with its GroupUpdated transcript stored; our own commit (a commit
 *     intent's payload) is merged the same way and its intent moves on (intent.c); when
 *     another member's commit wins the epoch our staged commit was for, that intent is lost;
 *   - an application message is decrypted in place; its PlaintextEnvelope.V1 gives the
 *     idempotency key and the EncodedContent, from which the message id (§3.12), content
 *     type and decoded text (or fallback) are stored with the sender's inbox id and
 *     installation from the roster (V2 envelopes are skipped, as libxmtp does);
 *   - anything that fails with a permanent error is quarantined with the reason; the group
 *     goes back to the state saved before the envelope (byte for byte) and the cursor moves
 *     past it. A retriable or fatal error rolls the page back and stops the sync.
 *
 * A page is one transaction: the messages, quarantine records, group state, roster and
 * cursor of the page commit together.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/framing.h"
#include "mls/hpke.h"
#include "xmtp/client/client_int.h"
#include "xmtp/content.h"
#include "xmtp/message_id.h"

#define STATE_MAX ((size_t)64 << 20)

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

typedef struct {
    xc_client *c;
    xc_group *g;
    xw_buf snap; /* the group's MLS state before the envelope being applied */
    xc_sync_stats *stats;
    int own_merged; /* apply_commit: the commit was our staged one */
} applier;

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

static int store_application(applier *a, const xc_group_env *e, uint32_t sender, uint64_t epoch,
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
    }
    xmtp_content_free(dc);
    xmtp_ec_free(ec);
    xmtp_plaintext_free(&pt);
    return rc;
}

/* A commit: processed on a copy, validated, then swapped in. */
static int apply_commit(applier *a, const xc_group_env *e, xw_errbuf *eb)
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
    if (rc == XW_OK && transcript.len) {
        const xc_member_row *who = xc_group_member_at(a->g, r.sender);
        char key[24];
        snprintf(key, sizeof key, "%llu", (unsigned long long)e->created_ns);
        rc = xc_transcript_store(a->c, a->g->row.id, a->g->row.id_len, transcript.data, transcript.len, key,
                                 (int64_t)e->created_ns, actor, who ? who->installation_id : NULL, e->id,
                                 mls_group_epoch(next.mls), eb);
    }
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
static int restore(applier *a, xw_errbuf *eb)
{
    mls_group *g = NULL;
    int rc = mls_group_load(a->snap.data, a->snap.len, &g, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_ECORRUPT, "restoring the group state");
    mls_group_free(a->g->mls);
    a->g->mls = g;
    return XW_OK;
}

/* Our own commit coming back: merged (validated like anyone's), or skipped when it lost
 * its epoch's race or was already applied. *ours = 1 when the payload is a commit intent's. */
static int own_commit_echo(applier *a, const xc_group_env *e, int *ours, xw_errbuf *eb)
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

static int apply_envelope(applier *a, const xc_group_env *e, xw_errbuf *eb)
{
    int ours = 0;
    int rc = own_commit_echo(a, e, &ours, eb);
    if (rc != XW_OK || ours) {
        if (rc == XW_OK && a->stats)
            a->stats->own_published++;
        return rc;
    }
    rc = xc_send_own_echo(a->c, e->data.p, e->data.len, e->id, (int64_t)e->created_ns, &ours, eb);
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

static int snapshot(applier *a, xw_errbuf *eb)
{
    xw_buf_reset(&a->snap);
    int rc = mls_group_save(a->g->mls, &a->snap);
    return rc == XW_OK ? XW_OK : xw_errf(eb, rc, "saving the group state");
}

/* Applies one page inside a transaction; on a retriable/fatal error the caller reloads. */
static int apply_page(applier *a, const xc_page *p, xw_errbuf *eb)
{
    int rc = snapshot(a, eb);
    for (size_t i = 0; rc == XW_OK && i < p->n; i++) {
        const xc_group_env *e = &p->groups[i];
        if (e->id <= a->g->row.cursor)
            continue;
        if (!mls_group_active(a->g->mls))
            break; /* removed: what follows is not for us to read */
        if (a->stats)
            a->stats->envelopes++;
        xw_errbuf ee = {{0}};
        int er = apply_envelope(a, e, &ee);
        if (er == XW_OK) {
            rc = snapshot(a, eb);
        } else if (xw_err_is_retriable(er) || xw_err_is_fatal(er)) {
            rc = xw_errf(eb, er, "group message %llu: %s", (unsigned long long)e->id, ee.msg);
        } else {
            if (a->stats)
                a->stats->quarantined++;
            rc = xc_quarantine(a->c, "group_message", a->g->row.id, a->g->row.id_len, e->id,
                               (int64_t)e->created_ns, er, ee.msg, e->data.p, e->data.len, eb);
        }
        if (rc == XW_OK)
            a->g->row.cursor = e->id;
    }
    if (rc == XW_OK)
        rc = xc_group_save(a->c, a->g, eb);
    return rc;
}

int xc_group_sync(xc_client *c, const uint8_t *gid, size_t len, xc_sync_stats *stats, xw_errbuf *eb)
{
    xc_sync_stats local = {0};
    applier a = {.c = c, .stats = stats ? stats : &local};
    xw_buf_init(&a.snap, STATE_MAX);
    xc_group g;
    int rc = xc_group_load(c, gid, len, &g, eb);
    if (rc != XW_OK) {
        xw_buf_free(&a.snap);
        return rc;
    }
    a.g = &g;
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
    xc_group_release(&g);
    xw_buf_free_secret(&a.snap);
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
