/*
 * Association state storage (AssociationState protobuf) and diffs between two states.
 *
 * The protobuf is XMTP's own message, so a stored state is readable with XMTP's tools;
 * what it holds is ours: seen signatures are stored in their canonical replay form. A
 * state that has not been created yet is stored with no members and an empty recovery
 * identifier. Decoding trusts nothing: inbox id syntax, identifier sizes, bounds and the
 * created/empty consistency are all checked, and any mismatch is XW_ECORRUPT.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "gen/xmtp/identity/associations/association.pb-c.h"
#include "proto/pb.h"
#include "xmtp/association_int.h"

typedef Xmtp__Identity__Associations__MemberIdentifier PbMid;

static void enc_mid(const xmtp_member_id *m, PbMid *p, char *text)
{
    xmtp__identity__associations__member_identifier__init(p);
    if (m->kind == XMTP_MEMBER_ETHEREUM) {
        xmtp_member_text(m, text);
        p->kind_case = XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_ETHEREUM_ADDRESS;
        p->ethereum_address = text;
    } else {
        p->kind_case = XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_INSTALLATION_PUBLIC_KEY;
        p->installation_public_key.data = (uint8_t *)m->bytes;
        p->installation_public_key.len = m->len;
    }
}

int xmtp_assoc_state_encode(const xmtp_assoc_state *st, xw_buf *out, xw_errbuf *eb)
{
    size_t n = st->n_members;
    struct slot {
        Xmtp__Identity__Associations__MemberMap map;
        Xmtp__Identity__Associations__Member member;
        PbMid key, id, by;
        char t1[2 * XMTP_MEMBER_ID_MAX + 3], t2[2 * XMTP_MEMBER_ID_MAX + 3], t3[2 * XMTP_MEMBER_ID_MAX + 3];
    } *slots = xw_calloc(n + 1, sizeof *slots);
    Xmtp__Identity__Associations__MemberMap **maps = xw_calloc(n + 1, sizeof *maps);
    ProtobufCBinaryData *seen = xw_calloc(st->n_seen + 1, sizeof *seen);
    int rc;
    if (!slots || !maps || !seen) {
        rc = xw_errf(eb, XW_ENOMEM, "out of memory encoding an association state");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const xmtp_member *m = &st->members[i];
        struct slot *s = &slots[i];
        xmtp__identity__associations__member_map__init(&s->map);
        xmtp__identity__associations__member__init(&s->member);
        enc_mid(&m->id, &s->key, s->t1);
        enc_mid(&m->id, &s->id, s->t2);
        s->member.identifier = &s->id;
        if (m->has_added_by) {
            enc_mid(&m->added_by, &s->by, s->t3);
            s->member.added_by_entity = &s->by;
        }
        if (m->has_timestamp) {
            s->member._client_timestamp_ns_case =
                XMTP__IDENTITY__ASSOCIATIONS__MEMBER___CLIENT_TIMESTAMP_NS_CLIENT_TIMESTAMP_NS;
            s->member.client_timestamp_ns = m->client_timestamp_ns;
        }
        if (m->has_chain_id) {
            s->member._added_on_chain_id_case =
                XMTP__IDENTITY__ASSOCIATIONS__MEMBER___ADDED_ON_CHAIN_ID_ADDED_ON_CHAIN_ID;
            s->member.added_on_chain_id = m->chain_id;
        }
        s->map.key = &s->key;
        s->map.value = &s->member;
        maps[i] = &s->map;
    }
    for (size_t i = 0; i < st->n_seen; i++) {
        seen[i].data = (uint8_t *)st->seen[i].key;
        seen[i].len = st->seen[i].len;
    }
    char rec[2 * XMTP_MEMBER_ID_MAX + 3] = "";
    if (st->created)
        xmtp_member_text(&st->recovery, rec);
    Xmtp__Identity__Associations__AssociationState p = XMTP__IDENTITY__ASSOCIATIONS__ASSOCIATION_STATE__INIT;
    p.inbox_id = (char *)st->inbox_id;
    p.n_members = n;
    p.members = maps;
    p.recovery_identifier = rec;
    p.recovery_identifier_kind = XMTP__IDENTITY__ASSOCIATIONS__IDENTIFIER_KIND__IDENTIFIER_KIND_ETHEREUM;
    p.n_seen_signatures = st->n_seen;
    p.seen_signatures = seen;
    rc = xw_pb_encode(&p.base, out, eb);
out:
    xw_free(slots);
    xw_free(maps);
    xw_free(seen);
    return rc;
}

static int dec_mid(const PbMid *p, xmtp_member_id *m, xw_errbuf *eb)
{
    if (p && p->kind_case == XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_ETHEREUM_ADDRESS) {
        uint8_t a[XMTP_ADDRESS_LEN];
        if (xmtp_address_parse(p->ethereum_address, strlen(p->ethereum_address), 0, a, NULL))
            return xw_errf(eb, XW_ECORRUPT, "stored association state has a malformed address");
        xmtp_member_eth(m, a);
        return XW_OK;
    }
    if (p && p->kind_case == XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_INSTALLATION_PUBLIC_KEY &&
        p->installation_public_key.len == XMTP_ED25519_PK_LEN) {
        xmtp_member_installation(m, p->installation_public_key.data);
        return XW_OK;
    }
    return xw_errf(eb, XW_ECORRUPT,
                   "stored association state has a member that is neither an address nor a key");
}

int xmtp_assoc_state_decode(const uint8_t *data, size_t len, uint64_t sequence_id, size_t update_count,
                            xmtp_assoc_state **out, xw_errbuf *eb)
{
    Xmtp__Identity__Associations__AssociationState *p = NULL;
    int rc = xw_pb_decode_as(&xmtp__identity__associations__association_state__descriptor, data, len,
                             16u << 20, &p, eb);
    if (rc)
        return xw_errctx(eb, XW_ECORRUPT, "stored association state does not decode");
    xmtp_assoc_state *st = NULL;
    if ((rc = xmtp_assoc_state_new(p->inbox_id, &st, eb))) {
        rc = xw_errf(eb, XW_ECORRUPT, "stored association state has a malformed inbox id");
        goto out;
    }
    if (p->n_members > XMTP_ASSOC_MAX_MEMBERS || p->n_seen_signatures > XMTP_ASSOC_MAX_SEEN) {
        rc = xw_errf(eb, XW_ECORRUPT,
                     "stored association state has %zu members and %zu signatures, over the limits",
                     p->n_members, p->n_seen_signatures);
        goto out;
    }
    st->created = p->recovery_identifier[0] != '\0';
    if (st->created) {
        uint8_t a[XMTP_ADDRESS_LEN];
        if (xmtp_address_parse(p->recovery_identifier, strlen(p->recovery_identifier), 0, a, NULL)) {
            rc = xw_errf(eb, XW_ECORRUPT, "stored association state has a malformed recovery address");
            goto out;
        }
        xmtp_member_eth(&st->recovery, a);
    } else if (p->n_members || p->n_seen_signatures) {
        rc = xw_errf(eb, XW_ECORRUPT, "stored association state has members but no recovery address");
        goto out;
    }
    for (size_t i = 0; i < p->n_members; i++) {
        const Xmtp__Identity__Associations__Member *pm = p->members[i]->value;
        xmtp_member m = {0};
        if (!pm) {
            rc = xw_errf(eb, XW_ECORRUPT, "stored association state has a member without a value");
            goto out;
        }
        if ((rc = dec_mid(pm->identifier, &m.id, eb)))
            goto out;
        if (pm->added_by_entity) {
            m.has_added_by = 1;
            if ((rc = dec_mid(pm->added_by_entity, &m.added_by, eb)))
                goto out;
        }
        m.has_timestamp = pm->_client_timestamp_ns_case != 0;
        m.client_timestamp_ns = pm->client_timestamp_ns;
        m.has_chain_id = pm->_added_on_chain_id_case != 0;
        m.chain_id = pm->added_on_chain_id;
        if ((rc = xmtp_assoc_put_member_(st, &m, eb)))
            goto out;
    }
    for (size_t i = 0; i < p->n_seen_signatures; i++) {
        xmtp_seen_key k = {0};
        if (p->seen_signatures[i].len == 0 || p->seen_signatures[i].len > sizeof k.key) {
            rc = xw_errf(eb, XW_ECORRUPT, "stored association state has a used signature of %zu bytes",
                         p->seen_signatures[i].len);
            goto out;
        }
        k.len = (uint8_t)p->seen_signatures[i].len;
        memcpy(k.key, p->seen_signatures[i].data, k.len);
        if ((rc = xmtp_assoc_add_seen_(st, &k, eb)))
            goto out;
    }
    st->sequence_id = sequence_id;
    st->n_updates = update_count;
out:
    xw_pb_free(&p->base);
    if (rc) {
        xmtp_assoc_state_free(st);
        return rc;
    }
    *out = st;
    return XW_OK;
}

static int contains(const xmtp_assoc_state *st, const xmtp_member_id *id)
{
    return xmtp_assoc_state_find(st, id) != NULL;
}

int xmtp_assoc_state_diff(const xmtp_assoc_state *from, const xmtp_assoc_state *to, xmtp_assoc_diff *out,
                          xw_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    out->added = xw_calloc(to->n_members + 1, sizeof *out->added);
    out->removed = xw_calloc(from->n_members + 1, sizeof *out->removed);
    if (!out->added || !out->removed) {
        xmtp_assoc_diff_free(out);
        return xw_errf(eb, XW_ENOMEM, "out of memory computing an association diff");
    }
    for (size_t i = 0; i < to->n_members; i++)
        if (!contains(from, &to->members[i].id))
            out->added[out->n_added++] = to->members[i].id;
    for (size_t i = 0; i < from->n_members; i++)
        if (!contains(to, &from->members[i].id))
            out->removed[out->n_removed++] = from->members[i].id;
    return XW_OK;
}

void xmtp_assoc_diff_free(xmtp_assoc_diff *d)
{
    if (!d)
        return;
    xw_free(d->added);
    xw_free(d->removed);
    memset(d, 0, sizeof *d);
}
