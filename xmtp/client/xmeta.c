/*
 * XMTP's GroupContext extensions (XMTP-PROTOCOL.md §2.1-2.4, §3.2-3.3): reading the
 * immutable metadata (0xf000, a TLS opaque<V> around GroupMetadataV1), the mutable metadata
 * (0xff00), the membership map (0xff01) and writing the extensions of a new group as
 * libxmtp's build_group_config does (with its default "all members" policy set, 0xff02).
 *
 * Every decode goes through the checked protobuf path (proto/pb.h) and refuses what libxmtp
 * refuses: a missing extension, an inbox id that is not 64 lowercase hex digits, an
 * installation id that is not 32 bytes.
 */
#include <string.h>

#include "common/alloc.h"
#include "gen/xmtp/identity/credential.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_membership.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_metadata.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_mutable_metadata.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_permissions.pb-c.h"
#include "mls/tls.h"
#include "mls/tree.h"
#include "proto/pb.h"
#include "xmtp/client/client_int.h"
#include "xmtp/inbox.h"

#define EXT_MAX (1u << 20)

static int find_ext(const uint8_t *exts, size_t len, uint16_t type, mls_span *data, const char *name,
                    xw_errbuf *eb)
{
    if (!mls_extensions_find((mls_span){exts, len}, type, data))
        return xw_errf(eb, XW_EMALFORMED, "the group has no %s extension (0x%04x)", name, type);
    return XW_OK;
}

static int copy_inbox(const char *s, char out[XC_INBOX_LEN + 1], const char *what, xw_errbuf *eb)
{
    if (xmtp_inbox_id_check(s, strlen(s), NULL) != XW_OK)
        return xw_errf(eb, XW_EMALFORMED, "%s '%.80s' is not an inbox id (64 lowercase hex digits)", what, s);
    memcpy(out, s, XC_INBOX_LEN + 1);
    return XW_OK;
}

int xc_meta_immutable_get(const uint8_t *exts, size_t len, xc_meta_immutable *out, xw_errbuf *eb)
{
    mls_span d;
    int rc = find_ext(exts, len, XC_EXT_IMMUTABLE_METADATA, &d, "immutable metadata", eb);
    if (rc != XW_OK)
        return rc;
    mls_reader r;
    mls_reader_init(&r, d.p, d.len, eb);
    mls_span pb = mls_read_opaque(&r);
    if (r.err || r.off != d.len)
        return xw_errf(eb, XW_EMALFORMED, "the immutable metadata extension is not a TLS opaque<V>");
    Xmtp__Mls__MessageContents__GroupMetadataV1 *m = NULL;
    rc = xw_pb_decode_as(&xmtp__mls__message_contents__group_metadata_v1__descriptor, pb.p, pb.len, EXT_MAX,
                         &m, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "the group's immutable metadata");
    memset(out, 0, sizeof *out);
    out->conversation_type = (int)m->conversation_type;
    if (out->conversation_type < XC_CONV_GROUP || out->conversation_type > XC_CONV_ONESHOT)
        rc =
            xw_errf(eb, XW_EMALFORMED, "the group's conversation type %d is unknown", out->conversation_type);
    if (rc == XW_OK)
        rc = copy_inbox(m->creator_inbox_id, out->creator_inbox_id, "the creator inbox id", eb);
    if (rc == XW_OK && m->dm_members) {
        const Xmtp__Mls__MessageContents__DmMembers *dm = m->dm_members;
        if (!dm->dm_member_one || !dm->dm_member_two)
            rc = xw_errf(eb, XW_EMALFORMED, "the DM metadata lacks a member");
        else if ((rc = copy_inbox(dm->dm_member_one->inbox_id, out->dm[0], "a DM member", eb)) == XW_OK &&
                 (rc = copy_inbox(dm->dm_member_two->inbox_id, out->dm[1], "a DM member", eb)) == XW_OK)
            out->has_dm = 1;
    }
    if (rc == XW_OK && out->conversation_type == XC_CONV_DM && !out->has_dm)
        rc = xw_errf(eb, XW_EMALFORMED, "a DM's metadata does not name its two members");
    xw_pb_free(&m->base);
    return rc;
}

int xc_meta_mutable_get(const uint8_t *exts, size_t len, xc_meta_mutable *out, xw_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    mls_span d;
    int rc = find_ext(exts, len, XC_EXT_MUTABLE_METADATA, &d, "mutable metadata", eb);
    if (rc != XW_OK)
        return rc;
    Xmtp__Mls__MessageContents__GroupMutableMetadataV1 *m = NULL;
    rc = xw_pb_decode_as(&xmtp__mls__message_contents__group_mutable_metadata_v1__descriptor, d.p, d.len,
                         EXT_MAX, &m, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "the group's mutable metadata");
    if (m->n_attributes > XC_META_MAX_ATTRS)
        rc = xw_errf(eb, XW_ELIMIT, "the group has %zu metadata attributes (at most %d handled)",
                     m->n_attributes, XC_META_MAX_ATTRS);
    size_t na = m->admin_list ? m->admin_list->n_inbox_ids : 0,
           ns = m->super_admin_list ? m->super_admin_list->n_inbox_ids : 0;
    if (rc == XW_OK && (na > XC_META_MAX_ADMINS || ns > XC_META_MAX_ADMINS))
        rc = xw_errf(eb, XW_ELIMIT, "the group lists %zu admins and %zu super admins (at most %d each)", na,
                     ns, XC_META_MAX_ADMINS);
    if (rc != XW_OK) {
        xw_pb_free(&m->base);
        return rc;
    }
    for (size_t i = 0; i < m->n_attributes; i++) {
        out->attrs[i].key = m->attributes[i]->key;
        out->attrs[i].value = m->attributes[i]->value;
    }
    out->n_attrs = m->n_attributes;
    for (size_t i = 0; i < na; i++)
        out->admins[i] = m->admin_list->inbox_ids[i];
    for (size_t i = 0; i < ns; i++)
        out->super_admins[i] = m->super_admin_list->inbox_ids[i];
    out->n_admins = na;
    out->n_super = ns;
    out->pb_ = m;
    return XW_OK;
}

void xc_meta_mutable_free(xc_meta_mutable *m)
{
    if (m && m->pb_)
        xw_pb_free(m->pb_);
    if (m)
        memset(m, 0, sizeof *m);
}

const char *xc_meta_attr(const xc_meta_mutable *m, const char *key)
{
    /* protobuf map semantics: the last entry for a key wins */
    const char *v = NULL;
    for (size_t i = 0; i < m->n_attrs; i++)
        if (strcmp(m->attrs[i].key, key) == 0)
            v = m->attrs[i].value;
    return v;
}

static int in_list(char *const *list, size_t n, const char *inbox)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], inbox) == 0)
            return 1;
    return 0;
}

int xc_meta_is_admin(const xc_meta_mutable *m, const char *inbox)
{
    return in_list(m->admins, m->n_admins, inbox);
}
int xc_meta_is_super_admin(const xc_meta_mutable *m, const char *inbox)
{
    return in_list(m->super_admins, m->n_super, inbox);
}

int xc_meta_membership_get(const uint8_t *exts, size_t len, xc_meta_membership *out, xw_errbuf *eb)
{
    memset(out, 0, sizeof *out);
    mls_span d;
    int rc = find_ext(exts, len, XC_EXT_GROUP_MEMBERSHIP, &d, "group membership", eb);
    if (rc != XW_OK)
        return rc;
    Xmtp__Mls__MessageContents__GroupMembership *m = NULL;
    rc = xw_pb_decode_as(&xmtp__mls__message_contents__group_membership__descriptor, d.p, d.len, EXT_MAX, &m,
                         eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "the group's membership");
    if (m->n_members > XC_META_MAX_INBOXES || m->n_failed_installations > XC_META_MAX_INBOXES)
        rc = xw_errf(eb, XW_ELIMIT, "the group's membership lists %zu inboxes and %zu failed installations",
                     m->n_members, m->n_failed_installations);
    if (rc == XW_OK && m->n_members && !(out->inboxes = xw_calloc(m->n_members, sizeof *out->inboxes)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    if (rc == XW_OK && m->n_failed_installations &&
        !(out->failed = xw_calloc(m->n_failed_installations, sizeof *out->failed)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XW_OK && i < m->n_members; i++) {
        /* a map: a repeated key keeps the last value */
        int found = 0;
        for (size_t j = 0; j < out->n; j++)
            if (strcmp(out->inboxes[j].inbox_id, m->members[i]->key) == 0) {
                out->inboxes[j].sequence_id = m->members[i]->value;
                found = 1;
            }
        if (found)
            continue;
        rc = copy_inbox(m->members[i]->key, out->inboxes[out->n].inbox_id, "a member of the membership map",
                        eb);
        out->inboxes[out->n++].sequence_id = m->members[i]->value;
    }
    for (size_t i = 0; rc == XW_OK && i < m->n_failed_installations; i++) {
        if (m->failed_installations[i].len != XC_INSTALLATION_LEN)
            rc = xw_errf(eb, XW_EMALFORMED, "a failed installation id has %zu bytes (32 expected)",
                         m->failed_installations[i].len);
        else
            memcpy(out->failed[out->n_failed++], m->failed_installations[i].data, XC_INSTALLATION_LEN);
    }
    xw_pb_free(&m->base);
    if (rc != XW_OK)
        xc_meta_membership_free(out);
    return rc;
}

void xc_meta_membership_free(xc_meta_membership *m)
{
    if (!m)
        return;
    xw_free(m->inboxes);
    xw_free(m->failed);
    memset(m, 0, sizeof *m);
}

uint64_t xc_meta_membership_seq(const xc_meta_membership *m, const char *inbox, int *found)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->inboxes[i].inbox_id, inbox) == 0) {
            *found = 1;
            return m->inboxes[i].sequence_id;
        }
    *found = 0;
    return 0;
}

int xc_meta_membership_failed(const xc_meta_membership *m, const uint8_t id[XC_INSTALLATION_LEN])
{
    for (size_t i = 0; i < m->n_failed; i++)
        if (memcmp(m->failed[i], id, XC_INSTALLATION_LEN) == 0)
            return 1;
    return 0;
}

/* --- credentials --- */
int xc_inbox_from_credential(const uint8_t *identity, size_t len, char out[XC_INBOX_LEN + 1], xw_errbuf *eb)
{
    Xmtp__Identity__MlsCredential *m = NULL;
    int rc = xw_pb_decode_as(&xmtp__identity__mls_credential__descriptor, identity, len, 4096, &m, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, XW_EMALFORMED, "a member's credential is not an XMTP MlsCredential");
    rc = copy_inbox(m->inbox_id, out, "a member's credential inbox id", eb);
    xw_pb_free(&m->base);
    return rc;
}

int xc_credential_for_inbox(const char *inbox_id, xw_buf *out, xw_errbuf *eb)
{
    Xmtp__Identity__MlsCredential m = XMTP__IDENTITY__MLS_CREDENTIAL__INIT;
    m.inbox_id = (char *)inbox_id;
    return xw_pb_encode(&m.base, out, eb);
}

/* --- encoders --- */
static void write_ext(mls_writer *w, uint16_t type, const uint8_t *p, size_t n)
{
    mls_write_u16(w, type);
    mls_write_opaque(w, p, n);
}

int xc_meta_membership_encode(const char *const *inboxes, const uint64_t *seqs, size_t n, xw_buf *out,
                              xw_errbuf *eb)
{
    return xc_meta_membership_encode_failed(inboxes, seqs, n, NULL, 0, out, eb);
}

int xc_meta_membership_encode_failed(const char *const *inboxes, const uint64_t *seqs, size_t n,
                                     const uint8_t (*failed)[XC_INSTALLATION_LEN], size_t n_failed,
                                     xw_buf *out, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__GroupMembership m = XMTP__MLS__MESSAGE_CONTENTS__GROUP_MEMBERSHIP__INIT;
    Xmtp__Mls__MessageContents__GroupMembership__MembersEntry *e = n ? xw_calloc(n, sizeof *e) : NULL;
    Xmtp__Mls__MessageContents__GroupMembership__MembersEntry **pe = n ? xw_calloc(n, sizeof *pe) : NULL;
    if (n && (!e || !pe)) {
        xw_free(e);
        xw_free(pe);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        xmtp__mls__message_contents__group_membership__members_entry__init(&e[i]);
        e[i].key = (char *)inboxes[i];
        e[i].value = seqs[i];
        pe[i] = &e[i];
    }
    m.n_members = n;
    m.members = pe;
    ProtobufCBinaryData *fb = n_failed ? xw_calloc(n_failed, sizeof *fb) : NULL;
    if (n_failed && !fb) {
        xw_free(e);
        xw_free(pe);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_failed; i++) {
        fb[i].data = (uint8_t *)failed[i];
        fb[i].len = XC_INSTALLATION_LEN;
    }
    m.n_failed_installations = n_failed;
    m.failed_installations = fb;
    int rc = xw_pb_encode(&m.base, out, eb);
    xw_free(fb);
    xw_free(e);
    xw_free(pe);
    return rc;
}

int xc_meta_mutable_encode(const char *const *keys, const char *const *values, size_t n_attrs,
                           const char *const *admins, size_t n_admins, const char *const *supers,
                           size_t n_supers, xw_buf *out, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__GroupMutableMetadataV1 m =
        XMTP__MLS__MESSAGE_CONTENTS__GROUP_MUTABLE_METADATA_V1__INIT;
    Xmtp__Mls__MessageContents__GroupMutableMetadataV1__AttributesEntry e[XC_META_MAX_ATTRS],
        *pe[XC_META_MAX_ATTRS];
    if (n_attrs > XC_META_MAX_ATTRS)
        return xw_errf(eb, XW_ELIMIT, "too many attributes");
    for (size_t i = 0; i < n_attrs; i++) {
        xmtp__mls__message_contents__group_mutable_metadata_v1__attributes_entry__init(&e[i]);
        e[i].key = (char *)keys[i];
        e[i].value = (char *)values[i];
        pe[i] = &e[i];
    }
    Xmtp__Mls__MessageContents__Inboxes al = XMTP__MLS__MESSAGE_CONTENTS__INBOXES__INIT;
    Xmtp__Mls__MessageContents__Inboxes sl = XMTP__MLS__MESSAGE_CONTENTS__INBOXES__INIT;
    al.n_inbox_ids = n_admins;
    al.inbox_ids = (char **)admins;
    sl.n_inbox_ids = n_supers;
    sl.inbox_ids = (char **)supers;
    m.n_attributes = n_attrs;
    m.attributes = pe;
    m.admin_list = &al;
    m.super_admin_list = &sl;
    return xw_pb_encode(&m.base, out, eb);
}

/* libxmtp's "all members" (Default) and AdminsOnly presets and the DM policies
 * (group_permissions.rs, XMTP-PROTOCOL.md §3.5). */
static int permissions_encode(int dm, int admins_only, xw_buf *out, xw_errbuf *eb)
{
    static const char *const fields[] = {"group_name",
                                         "description",
                                         "group_image_url_square",
                                         "message_disappear_from_ns",
                                         "message_disappear_in_ns",
                                         "minimum_supported_protocol_version",
                                         "app_data"};
    static const int group_field_policy[] = {1, 1, 1, 3, 3, 4, 1};
    static const int admins_field_policy[] = {3, 3, 3, 3, 3, 4, 3};
    enum { NF = sizeof fields / sizeof fields[0] };
    Xmtp__Mls__MessageContents__MembershipPolicy add = XMTP__MLS__MESSAGE_CONTENTS__MEMBERSHIP_POLICY__INIT;
    Xmtp__Mls__MessageContents__MembershipPolicy rem = XMTP__MLS__MESSAGE_CONTENTS__MEMBERSHIP_POLICY__INIT;
    add.kind_case = rem.kind_case = XMTP__MLS__MESSAGE_CONTENTS__MEMBERSHIP_POLICY__KIND_BASE_POLICY;
    add.base_policy = dm ? 2 : admins_only ? 3 : 1;
    rem.base_policy = dm ? 2 : 3;
    Xmtp__Mls__MessageContents__MetadataPolicy mp[NF];
    Xmtp__Mls__MessageContents__PolicySet__UpdateMetadataPolicyEntry me[NF], *pme[NF];
    for (size_t i = 0; i < NF; i++) {
        xmtp__mls__message_contents__metadata_policy__init(&mp[i]);
        mp[i].kind_case = XMTP__MLS__MESSAGE_CONTENTS__METADATA_POLICY__KIND_BASE_POLICY;
        mp[i].base_policy = dm ? 1 : admins_only ? admins_field_policy[i] : group_field_policy[i];
        xmtp__mls__message_contents__policy_set__update_metadata_policy_entry__init(&me[i]);
        me[i].key = (char *)fields[i];
        me[i].value = &mp[i];
        pme[i] = &me[i];
    }
    Xmtp__Mls__MessageContents__PermissionsUpdatePolicy pu =
        XMTP__MLS__MESSAGE_CONTENTS__PERMISSIONS_UPDATE_POLICY__INIT;
    pu.kind_case = XMTP__MLS__MESSAGE_CONTENTS__PERMISSIONS_UPDATE_POLICY__KIND_BASE_POLICY;
    pu.base_policy = dm ? 1 : 3;
    Xmtp__Mls__MessageContents__PolicySet ps = XMTP__MLS__MESSAGE_CONTENTS__POLICY_SET__INIT;
    ps.add_member_policy = &add;
    ps.remove_member_policy = &rem;
    ps.n_update_metadata_policy = NF;
    ps.update_metadata_policy = pme;
    ps.add_admin_policy = ps.remove_admin_policy = ps.update_permissions_policy = &pu;
    Xmtp__Mls__MessageContents__GroupMutablePermissionsV1 p =
        XMTP__MLS__MESSAGE_CONTENTS__GROUP_MUTABLE_PERMISSIONS_V1__INIT;
    p.policies = &ps;
    return xw_pb_encode(&p.base, out, eb);
}

int xc_meta_group_extensions(const xc_meta_new_group *g, xw_buf *out, xw_errbuf *eb)
{
    Xmtp__Mls__MessageContents__GroupMetadataV1 im = XMTP__MLS__MESSAGE_CONTENTS__GROUP_METADATA_V1__INIT;
    Xmtp__Mls__MessageContents__DmMembers dm = XMTP__MLS__MESSAGE_CONTENTS__DM_MEMBERS__INIT;
    Xmtp__Mls__MessageContents__Inbox one = XMTP__MLS__MESSAGE_CONTENTS__INBOX__INIT;
    Xmtp__Mls__MessageContents__Inbox two = XMTP__MLS__MESSAGE_CONTENTS__INBOX__INIT;
    im.conversation_type = (Xmtp__Mls__MessageContents__ConversationType)g->conversation_type;
    im.creator_inbox_id = (char *)g->creator_inbox_id;
    if (g->conversation_type == XC_CONV_DM) {
        one.inbox_id = (char *)g->creator_inbox_id;
        two.inbox_id = (char *)(g->dm_other ? g->dm_other : "");
        dm.dm_member_one = &one;
        dm.dm_member_two = &two;
        im.dm_members = &dm;
    }
    xw_buf a, b, c, d;
    xw_buf_init(&a, EXT_MAX);
    xw_buf_init(&b, EXT_MAX);
    xw_buf_init(&c, EXT_MAX);
    xw_buf_init(&d, EXT_MAX);
    const char *keys[3] = {"group_name", "description", "group_image_url_square"};
    const char *vals[3] = {g->name ? g->name : "", g->description ? g->description : "",
                           g->image_url ? g->image_url : ""};
    size_t n_attrs = g->description || g->image_url ? 3 : 1;
    const char *creator = g->creator_inbox_id;
    int dmc = g->conversation_type == XC_CONV_DM;
    int rc = xw_pb_encode(&im.base, &a, eb);
    if (rc == XW_OK)
        rc = xc_meta_mutable_encode(keys, vals, dmc ? 0 : n_attrs, NULL, 0, dmc ? NULL : &creator,
                                    dmc ? 0 : 1, &b, eb);
    if (rc == XW_OK)
        rc = xc_meta_membership_encode(g->members, g->seqs, g->n_members, &c, eb);
    if (rc == XW_OK)
        rc = permissions_encode(dmc, g->admins_only, &d, eb);
    if (rc == XW_OK) {
        size_t start = out->len;
        mls_writer w;
        mls_writer_init(&w, out);
        /* 0xf000 wraps its protobuf in a TLS opaque<V> (openmls ImmutableMetadata) */
        xw_buf wrapped;
        xw_buf_init(&wrapped, EXT_MAX);
        mls_writer ww;
        mls_writer_init(&ww, &wrapped);
        mls_write_opaque(&ww, a.data, a.len);
        write_ext(&w, XC_EXT_IMMUTABLE_METADATA, wrapped.data, wrapped.len);
        xw_buf_free(&wrapped);
        write_ext(&w, XC_EXT_MUTABLE_METADATA, b.data, b.len);
        write_ext(&w, XC_EXT_GROUP_MEMBERSHIP, c.data, c.len);
        write_ext(&w, XC_EXT_GROUP_PERMISSIONS, d.data, d.len);
        /* required_capabilities: extension types, proposal types, credential types */
        static const uint8_t rc_ext[] = {0xff, 0x01, 0xff, 0x00, 0xff, 0x02,
                                         0xf0, 0x00, 0x00, 0x0a, 0x00, 0x01};
        uint8_t req[64];
        size_t k = 0;
        req[k++] = sizeof rc_ext;
        memcpy(req + k, rc_ext, sizeof rc_ext);
        k += sizeof rc_ext;
        req[k++] = 2;
        req[k++] = 0x00;
        req[k++] = 0x07;
        req[k++] = 2;
        req[k++] = 0x00;
        req[k++] = 0x01;
        write_ext(&w, MLS_EXT_REQUIRED_CAPABILITIES, req, k);
        if (w.err || ww.err) {
            xw_buf_truncate(out, start);
            rc = xw_errf(eb, XW_ETOOBIG, "the group's extensions do not fit");
        }
    }
    xw_buf_free(&a);
    xw_buf_free(&b);
    xw_buf_free(&c);
    xw_buf_free(&d);
    return rc;
}

int xc_meta_replace_ext(const uint8_t *exts, size_t len, uint16_t type, const uint8_t *data, size_t dlen,
                        xw_buf *out, xw_errbuf *eb)
{
    mls_reader r;
    mls_reader_init(&r, exts, len, eb);
    mls_writer w;
    mls_writer_init(&w, out);
    size_t start = out->len;
    int done = 0;
    while (!r.err && r.off < len) {
        uint16_t t = mls_read_u16(&r);
        mls_span d = mls_read_opaque(&r);
        if (r.err)
            break;
        if (t == type) {
            write_ext(&w, t, data, dlen);
            done = 1;
        } else {
            write_ext(&w, t, d.p, d.len);
        }
    }
    if (!done)
        write_ext(&w, type, data, dlen);
    if (r.err || w.err) {
        xw_buf_truncate(out, start);
        return xw_errf(eb, XW_EMALFORMED, "the extension list is malformed or too large");
    }
    return XW_OK;
}
