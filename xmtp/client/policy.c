/*
 * Permission policies (XMTP-PROTOCOL.md §3.5; libxmtp groups/group_permissions.rs
 * PolicySet::evaluate_commit): whether the committer of a commit was allowed to make the
 * changes it makes, under the policy set (0xff02) and admin lists (0xff00) of the group
 * *before* the commit. All must hold:
 *   - every added inbox passes add_member_policy (a DM's other member may always be re-added);
 *   - every removed inbox passes remove_member_policy, and no removed inbox is a super admin;
 *   - every changed metadata field passes its policy; a field without one needs a super
 *     admin when its name starts with "_", an admin or super admin otherwise;
 *   - admin additions/removals pass add_admin_policy/remove_admin_policy;
 *   - super-admin list changes need a super admin (and a super admin must remain);
 *   - any change to the permissions extension needs a super admin.
 * The three policy kinds share a shape (base | and | any) with different base numberings;
 * UNSPECIFIED bases and empty and/any lists are refused as libxmtp refuses them.
 */
#include <string.h>

#include "gen/xmtp/mls/message_contents/group_permissions.pb-c.h"
#include "mls/tree.h"
#include "proto/pb.h"
#include "xmtp/client/client_int.h"

enum { DENY = 0, ALLOW = 1, BAD = -1 };

static int actor_rule(int rule, const xc_policy_actor *a)
{
    switch (rule) {
    case 0:
        return ALLOW;
    case 1:
        return a->is_admin || a->is_super_admin ? ALLOW : DENY;
    case 2:
        return a->is_super_admin ? ALLOW : DENY;
    case 3:
        return DENY;
    default:
        return BAD;
    }
}

/* base policy numbers -> 0 allow, 1 admin or super admin, 2 super admin, 3 deny, -1 bad */
static int membership_base(int b) { return b == 1 ? 0 : b == 2 ? 3 : b == 3 ? 1 : b == 4 ? 2 : -1; }
static int metadata_base(int b) { return b == 1 ? 0 : b == 2 ? 3 : b == 3 ? 1 : b == 4 ? 2 : -1; }
static int permissions_base(int b) { return b == 1 ? 3 : b == 2 ? 1 : b == 3 ? 2 : -1; }

#define EVAL_FN(name, T, BASEFN, PREFIX)                                                                     \
    static int name(const T *p, const xc_policy_actor *a)                                                    \
    {                                                                                                        \
        if (!p)                                                                                              \
            return BAD;                                                                                      \
        switch (p->kind_case) {                                                                              \
        case PREFIX##__KIND_BASE_POLICY:                                                                     \
            return actor_rule(BASEFN((int)p->base_policy), a);                                               \
        case PREFIX##__KIND_AND_CONDITION: {                                                                 \
            if (!p->and_condition || p->and_condition->n_policies == 0)                                      \
                return BAD;                                                                                  \
            int r = ALLOW;                                                                                   \
            for (size_t i = 0; i < p->and_condition->n_policies; i++) {                                      \
                int v = name(p->and_condition->policies[i], a);                                              \
                if (v == BAD)                                                                                \
                    return BAD;                                                                              \
                r = r && v;                                                                                  \
            }                                                                                                \
            return r;                                                                                        \
        }                                                                                                    \
        case PREFIX##__KIND_ANY_CONDITION: {                                                                 \
            if (!p->any_condition || p->any_condition->n_policies == 0)                                      \
                return BAD;                                                                                  \
            int r = DENY;                                                                                    \
            for (size_t i = 0; i < p->any_condition->n_policies; i++) {                                      \
                int v = name(p->any_condition->policies[i], a);                                              \
                if (v == BAD)                                                                                \
                    return BAD;                                                                              \
                r = r || v;                                                                                  \
            }                                                                                                \
            return r;                                                                                        \
        }                                                                                                    \
        default:                                                                                             \
            return BAD;                                                                                      \
        }                                                                                                    \
    }

EVAL_FN(eval_membership, Xmtp__Mls__MessageContents__MembershipPolicy, membership_base,
        XMTP__MLS__MESSAGE_CONTENTS__MEMBERSHIP_POLICY)
EVAL_FN(eval_metadata, Xmtp__Mls__MessageContents__MetadataPolicy, metadata_base,
        XMTP__MLS__MESSAGE_CONTENTS__METADATA_POLICY)
EVAL_FN(eval_permissions, Xmtp__Mls__MessageContents__PermissionsUpdatePolicy, permissions_base,
        XMTP__MLS__MESSAGE_CONTENTS__PERMISSIONS_UPDATE_POLICY)

static int verdict(int v, const char *what, const xc_policy_actor *a, xw_errbuf *eb)
{
    if (v == BAD)
        return xw_errf(eb, XW_EMALFORMED,
                       "the group's %s policy is malformed (unspecified or empty condition)", what);
    if (v == DENY)
        return xw_errf(eb, XW_EDENIED,
                       "inbox %.16s... (%s) is not allowed to %s under the group's permissions", a->inbox_id,
                       a->is_super_admin ? "super admin"
                       : a->is_admin     ? "admin"
                                         : "member",
                       what);
    return XW_OK;
}

int xc_policy_evaluate(const uint8_t *cur_exts, size_t cur_len, const uint8_t *next_exts, size_t next_len,
                       const xc_policy_commit *pc, xw_errbuf *eb)
{
    mls_span d;
    if (!mls_extensions_find((mls_span){cur_exts, cur_len}, XC_EXT_GROUP_PERMISSIONS, &d))
        return xw_errf(eb, XW_EMALFORMED, "the group has no permissions extension (0xff02)");
    Xmtp__Mls__MessageContents__GroupMutablePermissionsV1 *perm = NULL;
    int rc = xw_pb_decode_as(&xmtp__mls__message_contents__group_mutable_permissions_v1__descriptor, d.p,
                             d.len, 1u << 20, &perm, eb);
    if (rc != XW_OK)
        return xw_errctx(eb, rc, "the group's permissions");
    const Xmtp__Mls__MessageContents__PolicySet *ps = perm->policies;
    const xc_policy_actor *a = &pc->actor;
    if (!ps)
        rc = xw_errf(eb, XW_EMALFORMED, "the group's permissions have no policy set");
    for (size_t i = 0; rc == XW_OK && i < pc->n_added; i++) {
        int v = eval_membership(ps->add_member_policy, a);
        /* a DM's other member may always be (re)added */
        if (pc->dm_members[0] && pc->n_added == 1 &&
            (strcmp(pc->added[0], pc->dm_members[0]) == 0 || strcmp(pc->added[0], pc->dm_members[1]) == 0) &&
            strcmp(pc->added[0], a->inbox_id) != 0)
            v = ALLOW;
        rc = verdict(v, "add members", a, eb);
    }
    for (size_t i = 0; rc == XW_OK && i < pc->n_removed; i++) {
        rc = verdict(eval_membership(ps->remove_member_policy, a), "remove members", a, eb);
        if (rc == XW_OK && pc->removed_is_super_admin[i])
            rc = xw_errf(eb, XW_EDENIED, "the commit removes inbox %.16s..., a super admin (demote it first)",
                         pc->removed[i]);
    }
    for (size_t i = 0; rc == XW_OK && i < pc->n_fields; i++) {
        const char *f = pc->fields[i];
        const Xmtp__Mls__MessageContents__MetadataPolicy *mp = NULL;
        for (size_t k = 0; k < ps->n_update_metadata_policy; k++)
            if (strcmp(ps->update_metadata_policy[k]->key, f) == 0)
                mp = ps->update_metadata_policy[k]->value;
        int v = mp ? eval_metadata(mp, a) : actor_rule(f[0] == '_' ? 2 : 1, a);
        if (v == DENY)
            rc = xw_errf(eb, XW_EDENIED,
                         "inbox %.16s... is not allowed to change %s under the group's permissions",
                         a->inbox_id, f);
        else
            rc = verdict(v, "change metadata", a, eb);
    }
    if (rc == XW_OK && pc->admins_added)
        rc = verdict(eval_permissions(ps->add_admin_policy, a), "add admins", a, eb);
    if (rc == XW_OK && pc->admins_removed)
        rc = verdict(eval_permissions(ps->remove_admin_policy, a), "remove admins", a, eb);
    if (rc == XW_OK && pc->supers_added && !a->is_super_admin)
        rc = xw_errf(eb, XW_EDENIED, "only a super admin may add super admins");
    if (rc == XW_OK && pc->supers_removed && (!a->is_super_admin || pc->supers_left == 0))
        rc = xw_errf(eb, XW_EDENIED, "only a super admin may remove super admins, and one must remain");
    if (rc == XW_OK) {
        mls_span nd = {0};
        int has = mls_extensions_find((mls_span){next_exts, next_len}, XC_EXT_GROUP_PERMISSIONS, &nd);
        int changed = has && (nd.len != d.len || memcmp(nd.p, d.p, d.len) != 0);
        if (!has)
            rc = xw_errf(eb, XW_EMALFORMED, "the commit drops the group's permissions extension (0xff02)");
        else if (changed && !a->is_super_admin)
            rc = xw_errf(eb, XW_EDENIED, "only a super admin may change the group's permissions");
    }
    xw_pb_free(&perm->base);
    return rc;
}
