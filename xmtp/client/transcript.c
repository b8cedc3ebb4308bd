/*
 * GroupUpdated transcripts (XMTP-PROTOCOL.md §2.6, §3.12): the EncodedContent libxmtp's
 * GroupUpdatedCodec produces for a membership or metadata change, which every client
 * synthesizes locally (it never travels on the wire) and stores as a membership-change
 * message with id SHA-256(group id, idempotency key, EncodedContent bytes).
 */
#include <string.h>

#include "xmtp/client/client_int.h"
#include "xmtp/content.h"
#include "xmtp/message_id.h"

int xc_group_updated_encode(const xc_group_updated *u, xw_buf *out, xw_errbuf *eb)
{
    xmtp_metadata_change ch[XC_META_MAX_ATTRS];
    if (u->n_fields > XC_META_MAX_ATTRS)
        return xw_errf(eb, XW_ELIMIT, "too many metadata changes in one commit (%zu)", u->n_fields);
    for (size_t i = 0; i < u->n_fields; i++)
        ch[i] = (xmtp_metadata_change){u->field_names[i], u->old_values[i], u->new_values[i]};
    xmtp_content c;
    memset(&c, 0, sizeof c);
    c.kind = XMTP_CT_GROUP_UPDATED;
    xmtp_group_updated *g = &c.u.group_updated;
    g->initiated_by_inbox_id = u->initiated_by;
    g->added = (xmtp_inbox_list){u->n_added, u->added};
    g->removed = (xmtp_inbox_list){u->n_removed, u->removed};
    g->added_admins = (xmtp_inbox_list){u->n_added_admins, u->added_admins};
    g->removed_admins = (xmtp_inbox_list){u->n_removed_admins, u->removed_admins};
    g->added_super_admins = (xmtp_inbox_list){u->n_added_supers, u->added_supers};
    g->removed_super_admins = (xmtp_inbox_list){u->n_removed_supers, u->removed_supers};
    g->n_metadata_changes = u->n_fields;
    g->metadata_changes = ch;
    return xmtp_content_encode(&c, out, eb);
}

int xc_transcript_store(xc_client *c, const uint8_t *gid, size_t gid_len, const uint8_t *ec, size_t ec_len,
                        const char *idempotency_key, int64_t sent_at_ns, const char *sender_inbox,
                        const uint8_t *sender_installation, uint64_t cursor, uint64_t epoch, xw_errbuf *eb)
{
    xc_message_row m;
    memset(&m, 0, sizeof m);
    xmtp_message_id(gid, gid_len, idempotency_key, ec, ec_len, m.id);
    m.group_id = gid;
    m.group_id_len = gid_len;
    memcpy(m.sender_inbox_id, sender_inbox, sizeof m.sender_inbox_id);
    if (sender_installation)
        memcpy(m.sender_installation_id, sender_installation, XC_INSTALLATION_LEN);
    m.kind = XC_KIND_MEMBERSHIP_CHANGE;
    memcpy(m.content_type, "xmtp.org/group_updated:1.0", sizeof "xmtp.org/group_updated:1.0");
    m.encoded = ec;
    m.encoded_len = ec_len;
    m.delivery = XC_DELIVERY_PUBLISHED;
    m.sent_at_ns = sent_at_ns;
    m.inserted_at_ns = xc_now(c);
    m.cursor = cursor;
    m.epoch = epoch;
    return xc_store_message_insert(c->st, &m, NULL, eb);
}
