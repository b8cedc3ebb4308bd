/*
 * Codecs with protobuf bodies: reaction 2.0 (ReactionV2), multi remote static attachment,
 * group_updated (the local transcript), leave_request and deleteMessage. Reaction 1.0 is
 * JSON and lives in content_json.c; xmtp_ct_*_reaction dispatch on the version.
 * Every decoded string is checked for UTF-8 and copied into the content's arena.
 */
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "gen/xmtp/mls/message_contents/content_types/delete_message.pb-c.h"
#include "gen/xmtp/mls/message_contents/content_types/leave_request.pb-c.h"
#include "gen/xmtp/mls/message_contents/content_types/multi_remote_attachment.pb-c.h"
#include "gen/xmtp/mls/message_contents/content_types/reaction.pb-c.h"
#include "gen/xmtp/mls/message_contents/transcript_messages.pb-c.h"
#include "proto/pb.h"
#include "xmtp/content_int.h"

static int oom(xw_errbuf *eb) { return xw_errf(eb, XW_ENOMEM, "out of memory in a content codec"); }

/* Copies a protobuf string into the arena after checking it. */
static int str(xw_arena *a, const char *s, const char *what, const char **out, xw_errbuf *eb)
{
    if (!xw_utf8_valid(s, strlen(s)))
        return xw_errf(eb, XW_EXMTP_CONTENT, "%s is not valid UTF-8", what);
    return (*out = xw_arena_strdup(a, s)) ? XW_OK : oom(eb);
}

static int body(const ProtobufCMessageDescriptor *d, const xmtp_encoded_content *ec, ProtobufCMessage **m,
                xw_errbuf *eb)
{
    int rc = xw_pb_decode(d, ec->content.data, ec->content.len, XMTP_CONTENT_MAX_BYTES, m, eb);
    return rc == XW_ENOMEM ? rc : rc ? XW_EXMTP_CONTENT : XW_OK;
}

static int set_body(xmtp_encoded_content *ec, xw_arena *a, const ProtobufCMessage *m, xw_errbuf *eb)
{
    xw_buf b;
    xw_buf_init(&b, XMTP_CONTENT_MAX_BYTES);
    int rc = xw_pb_encode(m, &b, eb);
    if (rc)
        return rc;
    ec->content.len = b.len;
    ec->content.data = xw_arena_memdup(a, b.data ? b.data : (const uint8_t *)"", b.len);
    xw_buf_free(&b);
    return ec->content.data ? XW_OK : oom(eb);
}

/* --- reaction ---------------------------------------------------------------------------------- */

static const char *reaction_fallback(xw_arena *a, int removed, const char *content)
{
    size_t n = strlen(content) + 64;
    char *s = xw_arena_alloc(a, n);
    if (s)
        snprintf(s, n, "%s \"%s\" %s an earlier message", removed ? "Removed" : "Reacted with", content,
                 removed ? "from" : "to");
    return s;
}

int xmtp_ct_dec_reaction(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    if (ec->type.major == 1)
        return xmtp_ct_dec_reaction_json(c, ec, eb);
    Xmtp__Mls__MessageContents__ContentTypes__ReactionV2 *m = NULL;
    int rc = body(&xmtp__mls__message_contents__content_types__reaction_v2__descriptor, ec,
                  (ProtobufCMessage **)&m, eb);
    if (rc)
        return xw_errctx(eb, rc, "reaction body is not a ReactionV2 protobuf");
    xmtp_reaction *r = &c->u.reaction;
    r->action = (int)m->action;
    r->schema = (int)m->schema;
    if (!(rc = str(c->arena_, m->reference, "reaction reference", &r->reference, eb)) &&
        !(rc = str(c->arena_, m->reference_inbox_id, "reaction reference inbox id", &r->reference_inbox_id,
                   eb)))
        rc = str(c->arena_, m->content, "reaction content", &r->content, eb);
    xw_pb_free(&m->base);
    return rc;
}

int xmtp_ct_enc_reaction(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_reaction *r = &c->u.reaction;
    if (!r->reference || !r->content)
        return xw_errf(eb, XW_EINVAL, "a reaction needs a reference and a content");
    if (r->legacy_json)
        return xmtp_ct_enc_reaction_json(c, ec, a, eb);
    Xmtp__Mls__MessageContents__ContentTypes__ReactionV2 m =
        XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__REACTION_V2__INIT;
    m.reference = (char *)r->reference;
    m.reference_inbox_id = (char *)(r->reference_inbox_id ? r->reference_inbox_id : "");
    m.action = (Xmtp__Mls__MessageContents__ContentTypes__ReactionAction)r->action;
    m.content = (char *)r->content;
    m.schema = (Xmtp__Mls__MessageContents__ContentTypes__ReactionSchema)r->schema;
    int rc = set_body(ec, a, &m.base, eb);
    if (rc)
        return rc;
    return (ec->fallback = reaction_fallback(a, r->action == XMTP_REACTION_REMOVED, r->content)) ? XW_OK
                                                                                                 : oom(eb);
}

const char *xmtp_ct_reaction_fallback_(xw_arena *a, int removed, const char *content)
{
    return reaction_fallback(a, removed, content);
}

/* --- multi remote attachment -------------------------------------------------------------------- */

int xmtp_ct_dec_multi_remote_attachment(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__ContentTypes__MultiRemoteAttachment *m = NULL;
    int rc = body(&xmtp__mls__message_contents__content_types__multi_remote_attachment__descriptor, ec,
                  (ProtobufCMessage **)&m, eb);
    if (rc)
        return xw_errctx(eb, rc, "body is not a MultiRemoteAttachment protobuf");
    xmtp_multi_remote_attachment *out = &c->u.multi_remote_attachment;
    xmtp_remote_attachment *items = NULL;
    if (m->n_attachments > XMTP_CONTENT_MAX_ITEMS) {
        rc = xw_errf(eb, XW_EXMTP_CONTENT, "%zu attachments, more than %d", m->n_attachments,
                     XMTP_CONTENT_MAX_ITEMS);
        goto out;
    }
    if (!(items = xw_arena_array(c->arena_, m->n_attachments + 1, sizeof *items))) {
        rc = oom(eb);
        goto out;
    }
    for (size_t i = 0; i < m->n_attachments && !rc; i++) {
        const Xmtp__Mls__MessageContents__ContentTypes__RemoteAttachmentInfo *p = m->attachments[i];
        xmtp_remote_attachment *r = &items[i];
        if ((rc = str(c->arena_, p->url, "attachment URL", &r->url, eb)) ||
            (rc = str(c->arena_, p->content_digest, "attachment digest", &r->content_digest, eb)) ||
            (rc = str(c->arena_, p->scheme, "attachment scheme", &r->scheme, eb)))
            break;
        r->secret.len = p->secret.len;
        r->salt.len = p->salt.len;
        r->nonce.len = p->nonce.len;
        if (!(r->secret.data = xw_arena_memdup(c->arena_, p->secret.data, p->secret.len)) ||
            !(r->salt.data = xw_arena_memdup(c->arena_, p->salt.data, p->salt.len)) ||
            !(r->nonce.data = xw_arena_memdup(c->arena_, p->nonce.data, p->nonce.len))) {
            rc = oom(eb);
            break;
        }
        if (p->_content_length_case ==
            XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__REMOTE_ATTACHMENT_INFO___CONTENT_LENGTH_CONTENT_LENGTH) {
            r->has_content_length = 1;
            r->content_length = p->content_length;
        }
        if (p->_filename_case ==
            XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__REMOTE_ATTACHMENT_INFO___FILENAME_FILENAME)
            rc = str(c->arena_, p->filename, "attachment filename", &r->filename, eb);
        if (rc)
            xw_errctx(eb, rc, "attachment %zu", i + 1);
    }
    out->n = m->n_attachments;
    out->items = items;
out:
    xw_pb_free(&m->base);
    return rc;
}

int xmtp_ct_enc_multi_remote_attachment(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a,
                                        xw_errbuf *eb)
{
    const xmtp_multi_remote_attachment *in = &c->u.multi_remote_attachment;
    if (in->n > XMTP_CONTENT_MAX_ITEMS)
        return xw_errf(eb, XW_EINVAL, "at most %d attachments", XMTP_CONTENT_MAX_ITEMS);
    Xmtp__Mls__MessageContents__ContentTypes__RemoteAttachmentInfo *infos =
        xw_arena_array(a, in->n + 1, sizeof *infos);
    Xmtp__Mls__MessageContents__ContentTypes__RemoteAttachmentInfo **ptrs =
        xw_arena_array(a, in->n + 1, sizeof *ptrs);
    if (!infos || !ptrs)
        return oom(eb);
    for (size_t i = 0; i < in->n; i++) {
        const xmtp_remote_attachment *r = &in->items[i];
        Xmtp__Mls__MessageContents__ContentTypes__RemoteAttachmentInfo *p = &infos[i];
        xmtp__mls__message_contents__content_types__remote_attachment_info__init(p);
        if (!r->url || !r->content_digest || !r->scheme)
            return xw_errf(eb, XW_EINVAL, "attachment %zu needs a URL, a content digest and a scheme", i + 1);
        p->url = (char *)r->url;
        p->content_digest = (char *)r->content_digest;
        p->scheme = (char *)r->scheme;
        p->secret.data = (uint8_t *)r->secret.data;
        p->secret.len = r->secret.len;
        p->salt.data = (uint8_t *)r->salt.data;
        p->salt.len = r->salt.len;
        p->nonce.data = (uint8_t *)r->nonce.data;
        p->nonce.len = r->nonce.len;
        if (r->has_content_length) {
            p->_content_length_case =
                XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__REMOTE_ATTACHMENT_INFO___CONTENT_LENGTH_CONTENT_LENGTH;
            p->content_length = r->content_length;
        }
        if (r->filename) {
            p->_filename_case =
                XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__REMOTE_ATTACHMENT_INFO___FILENAME_FILENAME;
            p->filename = (char *)r->filename;
        }
        ptrs[i] = p;
    }
    Xmtp__Mls__MessageContents__ContentTypes__MultiRemoteAttachment m =
        XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__MULTI_REMOTE_ATTACHMENT__INIT;
    m.n_attachments = in->n;
    m.attachments = ptrs;
    int rc = set_body(ec, a, &m.base, eb);
    if (rc)
        return rc;
    ec->fallback = "Can't display this content. This app doesn't support multiple remote attachments.";
    return XW_OK;
}

/* --- group_updated ----------------------------------------------------------------------------- */

typedef Xmtp__Mls__MessageContents__GroupUpdated__Inbox PbInbox;

static int dec_inboxes(xw_arena *a, PbInbox **in, size_t n, xmtp_inbox_list *out, xw_errbuf *eb)
{
    if (n > XMTP_CONTENT_MAX_ITEMS)
        return xw_errf(eb, XW_EXMTP_CONTENT, "%zu inboxes in one list, more than %d", n,
                       XMTP_CONTENT_MAX_ITEMS);
    const char **ids = xw_arena_array(a, n + 1, sizeof *ids);
    if (!ids)
        return oom(eb);
    for (size_t i = 0; i < n; i++) {
        int rc = str(a, in[i]->inbox_id, "inbox id", &ids[i], eb);
        if (rc)
            return rc;
    }
    out->n = n;
    out->ids = ids;
    return XW_OK;
}

int xmtp_ct_dec_group_updated(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__GroupUpdated *m = NULL;
    int rc = body(&xmtp__mls__message_contents__group_updated__descriptor, ec, (ProtobufCMessage **)&m, eb);
    if (rc)
        return xw_errctx(eb, rc, "body is not a GroupUpdated protobuf");
    xmtp_group_updated *g = &c->u.group_updated;
    xw_arena *a = c->arena_;
    if ((rc = str(a, m->initiated_by_inbox_id, "initiator", &g->initiated_by_inbox_id, eb)) ||
        (rc = dec_inboxes(a, m->added_inboxes, m->n_added_inboxes, &g->added, eb)) ||
        (rc = dec_inboxes(a, m->removed_inboxes, m->n_removed_inboxes, &g->removed, eb)) ||
        (rc = dec_inboxes(a, m->left_inboxes, m->n_left_inboxes, &g->left, eb)) ||
        (rc = dec_inboxes(a, m->added_admin_inboxes, m->n_added_admin_inboxes, &g->added_admins, eb)) ||
        (rc = dec_inboxes(a, m->removed_admin_inboxes, m->n_removed_admin_inboxes, &g->removed_admins, eb)) ||
        (rc = dec_inboxes(a, m->added_super_admin_inboxes, m->n_added_super_admin_inboxes,
                          &g->added_super_admins, eb)) ||
        (rc = dec_inboxes(a, m->removed_super_admin_inboxes, m->n_removed_super_admin_inboxes,
                          &g->removed_super_admins, eb)))
        goto out;
    if (m->n_metadata_field_changes > XMTP_CONTENT_MAX_ITEMS) {
        rc = xw_errf(eb, XW_EXMTP_CONTENT, "too many metadata changes (%zu)", m->n_metadata_field_changes);
        goto out;
    }
    xmtp_metadata_change *ch = xw_arena_array(a, m->n_metadata_field_changes + 1, sizeof *ch);
    if (!ch) {
        rc = oom(eb);
        goto out;
    }
    for (size_t i = 0; i < m->n_metadata_field_changes && !rc; i++) {
        const Xmtp__Mls__MessageContents__GroupUpdated__MetadataFieldChange *p = m->metadata_field_changes[i];
        rc = str(a, p->field_name, "metadata field name", &ch[i].field_name, eb);
        if (!rc && p->_old_value_case)
            rc = str(a, p->old_value, "old metadata value", &ch[i].old_value, eb);
        if (!rc && p->_new_value_case)
            rc = str(a, p->new_value, "new metadata value", &ch[i].new_value, eb);
    }
    g->n_metadata_changes = m->n_metadata_field_changes;
    g->metadata_changes = ch;
out:
    xw_pb_free(&m->base);
    return rc;
}

static int enc_inboxes(xw_arena *a, const xmtp_inbox_list *l, size_t *n, PbInbox ***out)
{
    PbInbox *v = xw_arena_array(a, l->n + 1, sizeof *v);
    PbInbox **p = xw_arena_array(a, l->n + 1, sizeof *p);
    if (!v || !p)
        return XW_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        xmtp__mls__message_contents__group_updated__inbox__init(&v[i]);
        v[i].inbox_id = (char *)l->ids[i];
        p[i] = &v[i];
    }
    *n = l->n;
    *out = p;
    return XW_OK;
}

int xmtp_ct_enc_group_updated(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    const xmtp_group_updated *g = &c->u.group_updated;
    Xmtp__Mls__MessageContents__GroupUpdated m = XMTP__MLS__MESSAGE_CONTENTS__GROUP_UPDATED__INIT;
    m.initiated_by_inbox_id = (char *)(g->initiated_by_inbox_id ? g->initiated_by_inbox_id : "");
    if (enc_inboxes(a, &g->added, &m.n_added_inboxes, &m.added_inboxes) ||
        enc_inboxes(a, &g->removed, &m.n_removed_inboxes, &m.removed_inboxes) ||
        enc_inboxes(a, &g->left, &m.n_left_inboxes, &m.left_inboxes) ||
        enc_inboxes(a, &g->added_admins, &m.n_added_admin_inboxes, &m.added_admin_inboxes) ||
        enc_inboxes(a, &g->removed_admins, &m.n_removed_admin_inboxes, &m.removed_admin_inboxes) ||
        enc_inboxes(a, &g->added_super_admins, &m.n_added_super_admin_inboxes,
                    &m.added_super_admin_inboxes) ||
        enc_inboxes(a, &g->removed_super_admins, &m.n_removed_super_admin_inboxes,
                    &m.removed_super_admin_inboxes))
        return oom(eb);
    Xmtp__Mls__MessageContents__GroupUpdated__MetadataFieldChange *ch =
        xw_arena_array(a, g->n_metadata_changes + 1, sizeof *ch);
    Xmtp__Mls__MessageContents__GroupUpdated__MetadataFieldChange **chp =
        xw_arena_array(a, g->n_metadata_changes + 1, sizeof *chp);
    if (!ch || !chp)
        return oom(eb);
    /* protobuf-c does not pack a present optional string whose pointer is the field's default
     * (&protobuf_c_empty_string, which decoded empty strings point to): an empty value gets
     * its own "" so that presence survives (libxmtp writes old_value "" for a field that was
     * empty) */
    static char empty[1];
    for (size_t i = 0; i < g->n_metadata_changes; i++) {
        xmtp__mls__message_contents__group_updated__metadata_field_change__init(&ch[i]);
        ch[i].field_name = (char *)g->metadata_changes[i].field_name;
        const char *ov = g->metadata_changes[i].old_value, *nv = g->metadata_changes[i].new_value;
        if (ov) {
            ch[i]._old_value_case =
                XMTP__MLS__MESSAGE_CONTENTS__GROUP_UPDATED__METADATA_FIELD_CHANGE___OLD_VALUE_OLD_VALUE;
            ch[i].old_value = *ov ? (char *)ov : empty;
        }
        if (nv) {
            ch[i]._new_value_case =
                XMTP__MLS__MESSAGE_CONTENTS__GROUP_UPDATED__METADATA_FIELD_CHANGE___NEW_VALUE_NEW_VALUE;
            ch[i].new_value = *nv ? (char *)nv : empty;
        }
        chp[i] = &ch[i];
    }
    m.n_metadata_field_changes = g->n_metadata_changes;
    m.metadata_field_changes = chp;
    return set_body(ec, a, &m.base, eb);
}

/* --- leave_request and deleteMessage ------------------------------------------------------------- */

int xmtp_ct_dec_leave_request(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__ContentTypes__LeaveRequest *m = NULL;
    int rc = body(&xmtp__mls__message_contents__content_types__leave_request__descriptor, ec,
                  (ProtobufCMessage **)&m, eb);
    if (rc)
        return xw_errctx(eb, rc, "body is not a LeaveRequest protobuf");
    if (m->_authenticated_note_case) {
        c->u.leave_request.has_note = 1;
        c->u.leave_request.note.len = m->authenticated_note.len;
        if (!(c->u.leave_request.note.data =
                  xw_arena_memdup(c->arena_, m->authenticated_note.data, m->authenticated_note.len)))
            rc = oom(eb);
    }
    xw_pb_free(&m->base);
    return rc;
}

int xmtp_ct_enc_leave_request(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__ContentTypes__LeaveRequest m =
        XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__LEAVE_REQUEST__INIT;
    if (c->u.leave_request.has_note) {
        m._authenticated_note_case =
            XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__LEAVE_REQUEST___AUTHENTICATED_NOTE_AUTHENTICATED_NOTE;
        m.authenticated_note.data = (uint8_t *)c->u.leave_request.note.data;
        m.authenticated_note.len = c->u.leave_request.note.len;
    }
    return set_body(ec, a, &m.base, eb);
}

int xmtp_ct_dec_delete_message(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__ContentTypes__DeleteMessage *m = NULL;
    int rc = body(&xmtp__mls__message_contents__content_types__delete_message__descriptor, ec,
                  (ProtobufCMessage **)&m, eb);
    if (rc)
        return xw_errctx(eb, rc, "body is not a DeleteMessage protobuf");
    rc = str(c->arena_, m->message_id, "deleted message id", &c->u.delete_message.message_id, eb);
    xw_pb_free(&m->base);
    return rc;
}

int xmtp_ct_enc_delete_message(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb)
{
    if (!c->u.delete_message.message_id)
        return xw_errf(eb, XW_EINVAL, "deleteMessage needs the id of the message to delete");
    Xmtp__Mls__MessageContents__ContentTypes__DeleteMessage m =
        XMTP__MLS__MESSAGE_CONTENTS__CONTENT_TYPES__DELETE_MESSAGE__INIT;
    m.message_id = (char *)c->u.delete_message.message_id;
    return set_body(ec, a, &m.base, eb);
}
