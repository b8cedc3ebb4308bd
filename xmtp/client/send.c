/*
 * Sending (libxmtp groups/mod.rs send_message, groups/intents.rs): text goes out through
 * an intent with libxmtp's lifecycle.
 *
 *   send:    EncodedContent (xmtp.org/text:1.0) in a PlaintextEnvelope.V1 whose idempotency
 *            key is the decimal send time; encrypted at once for the current epoch; in one
 *            transaction the message is stored `unpublished` under its final id, the intent
 *            `to_publish` with the MLS payload and its SHA-256, and the advanced group state.
 *   publish: SendGroupMessages; the intent becomes `published`. A retriable failure leaves
 *            it queued for the next sync or publish call; a refusal by the node counts an
 *            attempt and, after XC_MAX_PUBLISH_ATTEMPTS, marks the intent `error` and the
 *            message `failed` with the node's reason.
 *   echo:    when sync meets the payload on the node (same SHA-256), the intent is `done`
 *            and the message `published` at that cursor, re-dated to the node's timestamp
 *            as libxmtp does (so both sides order it the same way).
 *
 * Before a message, as libxmtp: a self-update commit (intent.c) when the group key is 30
 * days old, which is the case in a freshly joined group, after the installation check
 * (members.c) when the group's was 5 s ago or more.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "xmtp/client/client_int.h"
#include "xmtp/content.h"
#include "xmtp/message_id.h"

#define XC_MAX_PUBLISH_ATTEMPTS 3 /* libxmtp MAX_INTENT_PUBLISH_ATTEMPTS */
#define PAYLOAD_MAX ((size_t)32 << 20)

static int payload_hash(const xc_client *c, const uint8_t *p, size_t n, uint8_t out[32])
{
    return mls_hash(c->suite, p, n, out) == XW_OK ? XW_OK : XW_ECRYPTO;
}

int xc_send_own_echo(xc_client *c, const uint8_t *data, size_t len, uint64_t cursor, int64_t created_ns,
                     int *ours, xw_errbuf *eb)
{
    *ours = 0;
    uint8_t h[32];
    if (payload_hash(c, data, len, h) != XW_OK)
        return xw_errf(eb, XW_ECRYPTO, "hashing a payload failed");
    xc_intent_row r;
    xc_intent_row_init(&r);
    int rc = xc_store_intent_by_hash(c->st, h, &r, eb);
    if (rc == XW_ENOTFOUND) {
        xc_intent_row_free(&r);
        return XW_OK;
    }
    if (rc == XW_OK && r.state != XC_INTENT_DONE) {
        rc = xc_store_intent_set_state(c->st, r.id, XC_INTENT_DONE, r.attempts, NULL, eb);
        if (rc == XW_OK && r.kind == XC_INTENT_SEND_MESSAGE)
            rc = xc_store_message_set_delivery(c->st, r.message_id, XC_DELIVERY_PUBLISHED, cursor, created_ns,
                                               eb);
    }
    xc_intent_row_free(&r);
    *ours = rc == XW_OK;
    return rc;
}

int xc_group_send_text(xc_client *c, const uint8_t *gid, size_t len, const char *text, uint8_t message_id[32],
                       xw_errbuf *eb)
{
    if (!text)
        return xw_errf(eb, XW_EINVAL, "no text to send");
    /* as libxmtp before a message: the installation check (every 5 s), then a KeyUpdate
     * when the group key is 30 days old */
    int rc = xc_group_installations_check(c, gid, len, eb);
    if (rc == XW_OK)
        rc = xc_group_key_update_if_due(c, gid, len, eb);
    if (rc != XW_OK)
        return rc;
    xc_group g;
    rc = xc_group_load(c, gid, len, &g, eb);
    if (rc != XW_OK)
        return rc;
    if (!g.row.active || !mls_group_active(g.mls)) {
        xc_group_release(&g);
        return xw_errf(eb, XW_ESTATE,
                       "we are no longer a member of this group, so nothing can be sent to it");
    }
    xmtp_content content;
    memset(&content, 0, sizeof content);
    content.kind = XMTP_CT_TEXT;
    content.u.text = text;
    xw_buf ec, env;
    xw_buf_init(&ec, XMTP_CONTENT_MAX_BYTES);
    xw_buf_init(&env, XMTP_CONTENT_MAX_BYTES);
    xc_intent_row in;
    xc_intent_row_init(&in);
    int64_t now = xc_now(c);
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)now);
    rc = xmtp_content_encode(&content, &ec, eb);
    if (rc == XW_OK)
        rc = xmtp_plaintext_v1_encode(ec.data, ec.len, key, &env, eb);
    xc_message_row m;
    memset(&m, 0, sizeof m);
    if (rc == XW_OK && (rc = xc_store_begin(c->st, eb)) == XW_OK) {
        rc = mls_group_send(g.mls, env.data, env.len, &in.payload, eb);
        if (rc == XW_OK)
            rc = payload_hash(c, in.payload.data, in.payload.len, in.payload_hash);
        xmtp_message_id(gid, len, key, ec.data, ec.len, m.id);
        m.group_id = gid;
        m.group_id_len = len;
        memcpy(m.sender_inbox_id, c->inbox_id, sizeof m.sender_inbox_id);
        memcpy(m.sender_installation_id, c->installation_id, XC_INSTALLATION_LEN);
        m.kind = XC_KIND_APPLICATION;
        memcpy(m.content_type, "xmtp.org/text:1.0", sizeof "xmtp.org/text:1.0");
        m.encoded = ec.data;
        m.encoded_len = ec.len;
        m.decoded = text;
        m.decoded_len = strlen(text);
        m.delivery = XC_DELIVERY_UNPUBLISHED;
        m.sent_at_ns = now;
        m.inserted_at_ns = now;
        m.epoch = mls_group_epoch(g.mls);
        if (rc == XW_OK)
            rc = xc_store_message_insert(c->st, &m, NULL, eb);
        memcpy(in.group_id, gid, len);
        in.group_id_len = len;
        in.kind = XC_INTENT_SEND_MESSAGE;
        in.state = XC_INTENT_TO_PUBLISH;
        memcpy(in.message_id, m.id, 32);
        in.created_ns = now;
        if (rc == XW_OK)
            rc = xc_store_intent_insert(c->st, &in, NULL, eb);
        g.row.last_message_ns = now;
        if (rc == XW_OK)
            rc = xc_group_save(c, &g, eb);
        if (rc == XW_OK)
            rc = xc_store_commit(c->st, eb);
        else
            xc_store_rollback(c->st);
    }
    xw_buf_free(&ec);
    xw_buf_free(&env);
    xc_intent_row_free(&in);
    xc_group_release(&g);
    if (rc != XW_OK)
        return rc;
    if (message_id)
        memcpy(message_id, m.id, 32);
    return xc_group_publish(c, gid, len, eb);
}

typedef struct {
    xc_intent_row *v;
    size_t n;
} intent_list;

static int collect(void *ctx, const xc_intent_row *r)
{
    intent_list *l = ctx;
    xc_intent_row *v = xw_realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return XW_ENOMEM;
    l->v = v;
    xc_intent_row *d = &v[l->n];
    *d = *r;
    xw_buf_init(&d->payload, PAYLOAD_MAX);
    if (xw_buf_append(&d->payload, r->payload.data, r->payload.len) != XW_OK) {
        xw_buf_free(&d->payload);
        return XW_ENOMEM;
    }
    l->n++;
    return XW_OK;
}

/* A commit intent the node refused for good: the group forgets the staged commit. */
static int drop_staged_commit(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb)
{
    xc_group g;
    int rc = xc_group_load(c, gid, len, &g, eb);
    if (rc != XW_OK)
        return rc;
    if (mls_group_has_staged_commit(g.mls) && (rc = xc_store_begin(c->st, eb)) == XW_OK) {
        mls_group_commit_discard(g.mls);
        rc = xc_group_save(c, &g, eb);
        if (rc == XW_OK)
            rc = xc_store_commit(c->st, eb);
        else
            xc_store_rollback(c->st);
    }
    xc_group_release(&g);
    return rc;
}

int xc_group_publish(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb)
{
    intent_list l = {0};
    int rc = xc_store_intent_each(c->st, gid, len, XC_INTENT_TO_PUBLISH, collect, &l, eb);
    if (rc == XW_ENOMEM)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XW_OK && i < l.n; i++) {
        xc_intent_row *r = &l.v[i];
        xc_bytes msg = {r->payload.data, r->payload.len};
        xw_errbuf pe = {{0}};
        int pr = c->node->ops->send_group(c->node->ctx, &msg, 1, &pe);
        if (pr == XW_OK) {
            rc = xc_store_intent_set_state(c->st, r->id, XC_INTENT_PUBLISHED, r->attempts + 1, NULL, eb);
        } else if (xw_err_is_retriable(pr)) {
            rc = xw_errf(eb, pr, "publishing a queued message (it stays queued for the next sync): %s",
                         pe.msg);
        } else {
            int attempts = r->attempts + 1;
            int failed = attempts >= XC_MAX_PUBLISH_ATTEMPTS;
            rc = xc_store_intent_set_state(c->st, r->id, failed ? XC_INTENT_ERROR : XC_INTENT_TO_PUBLISH,
                                           attempts, pe.msg, eb);
            if (rc == XW_OK && failed && r->kind == XC_INTENT_SEND_MESSAGE)
                rc = xc_store_message_set_delivery(c->st, r->message_id, XC_DELIVERY_FAILED, 0, 0, eb);
            if (rc == XW_OK && failed && r->kind != XC_INTENT_SEND_MESSAGE)
                rc = drop_staged_commit(c, gid, len, eb); /* so that the next commit can be built */
            if (rc == XW_OK)
                rc = xw_errf(eb, pr, "the node refused a message (attempt %d of %d): %s", attempts,
                             XC_MAX_PUBLISH_ATTEMPTS, pe.msg);
        }
    }
    for (size_t i = 0; i < l.n; i++)
        xw_buf_free(&l.v[i].payload);
    xw_free(l.v);
    return rc;
}
