/*
 * Validation of other members' commits (libxmtp groups/validated_commit.rs, XMTP-PROTOCOL.md
 * §3.8) and the GroupUpdated transcript libxmtp derives from them.
 *
 * The MLS engine has already checked the commit against RFC 9420 on a copy of the group;
 * here the copy (`next`) is compared with the group before it (`cur`):
 *   1. an inbox's sequence id in the membership map (0xff01) may only increase;
 *   2. the expected installation diff is computed from the association states of the inboxes
 *      whose sequence id changed (installations at the new id minus those at the old one;
 *      all installations of a removed inbox);
 *   3. the installations actually added (new signature keys in the tree) must be expected
 *      ones, and those actually removed must be exactly the expected removals, minus the
 *      installations listed as failed;
 *   4. the committer's installation, and every leaf that is new or changed, must be an
 *      installation of its credential's inbox at the sequence id in the new map;
 *   7. new metadata values respect libxmtp's length limits (name 100, description 1000,
 *      image URL 2048, app data 8192 bytes).
 * The immutable metadata (0xf000) may not change, and the committer must have been allowed
 * to make the changes by the group's permission policies (policy.c, §3.5). Rules 5 (all
 * proposals from one actor) and 6 (no PSK proposals) need the commit's proposal list, which
 * mls/group.h does not report yet; an external PSK proposal already fails in the MLS engine
 * because this client holds no PSKs.
 *
 * The transcript lists the added and removed inboxes, the metadata fields that changed
 * (sorted by name) and the admin and super-admin list changes, initiated by the committer;
 * it is empty (no message) when libxmtp's ValidatedCommit::is_empty would be.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/tree.h"
#include "xmtp/client/client_int.h"

typedef uint8_t inst_id[XC_INSTALLATION_LEN];

typedef struct {
    inst_id *v;
    size_t n;
} id_set;

static int set_has(const id_set *s, const uint8_t *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i], id, XC_INSTALLATION_LEN) == 0)
            return 1;
    return 0;
}

static int set_add(id_set *s, const uint8_t *id)
{
    if (set_has(s, id))
        return XW_OK;
    inst_id *v = xw_realloc(s->v, (s->n + 1) * sizeof *v);
    if (!v)
        return XW_ENOMEM;
    s->v = v;
    memcpy(s->v[s->n++], id, XC_INSTALLATION_LEN);
    return XW_OK;
}

/* The installations of inbox at seq (none at sequence id 0: no update applied yet). */
static int installs(xc_client *c, const char *inbox, uint64_t seq, id_set *out, xw_errbuf *eb)
{
    out->v = NULL;
    out->n = 0;
    if (seq == 0)
        return XW_OK;
    xmtp_assoc_state *st = NULL;
    int rc = xc_assoc_at(c, inbox, seq, &st, eb);
    for (size_t i = 0; rc == XW_OK && i < xmtp_assoc_state_member_count(st); i++) {
        const xmtp_member *m = xmtp_assoc_state_member_at(st, i);
        if (m->id.kind == XMTP_MEMBER_INSTALLATION && set_add(out, m->id.bytes) != XW_OK)
            rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    xmtp_assoc_state_free(st);
    return rc;
}

typedef struct {
    id_set exp_added, exp_removed;
    const char **added, **removed; /* inbox ids (pointers into the membership maps) */
    size_t n_added, n_removed;
} diff;

static void diff_free(diff *d)
{
    xw_free(d->exp_added.v);
    xw_free(d->exp_removed.v);
    xw_free(d->added);
    xw_free(d->removed);
}

/* Rules 1 and 2. */
static int expected_diff(xc_client *c, const xc_meta_membership *old, const xc_meta_membership *nw, diff *d,
                         xw_errbuf *eb)
{
    int rc = XW_OK;
    d->added = xw_calloc(nw->n + 1, sizeof *d->added);
    d->removed = xw_calloc(old->n + 1, sizeof *d->removed);
    if (!d->added || !d->removed)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; rc == XW_OK && i < nw->n; i++) {
        const xc_inbox_row *ib = &nw->inboxes[i];
        int found = 0;
        uint64_t prev = xc_meta_membership_seq(old, ib->inbox_id, &found);
        if (found && ib->sequence_id < prev)
            return xw_errf(eb, XW_EDENIED, "the commit lowers inbox %s's sequence id from %llu to %llu",
                           ib->inbox_id, (unsigned long long)prev, (unsigned long long)ib->sequence_id);
        if (!found)
            d->added[d->n_added++] = ib->inbox_id;
        if (found && prev == ib->sequence_id)
            continue;
        id_set before = {0}, after = {0};
        rc = installs(c, ib->inbox_id, found ? prev : 0, &before, eb);
        if (rc == XW_OK)
            rc = installs(c, ib->inbox_id, ib->sequence_id, &after, eb);
        for (size_t k = 0; rc == XW_OK && k < after.n; k++)
            if (!set_has(&before, after.v[k]) && set_add(&d->exp_added, after.v[k]) != XW_OK)
                rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        for (size_t k = 0; rc == XW_OK && k < before.n; k++)
            if (!set_has(&after, before.v[k]) && set_add(&d->exp_removed, before.v[k]) != XW_OK)
                rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        xw_free(before.v);
        xw_free(after.v);
    }
    for (size_t i = 0; rc == XW_OK && i < old->n; i++) {
        const xc_inbox_row *ib = &old->inboxes[i];
        int found = 0;
        xc_meta_membership_seq(nw, ib->inbox_id, &found);
        if (found)
            continue;
        d->removed[d->n_removed++] = ib->inbox_id;
        id_set before = {0};
        rc = installs(c, ib->inbox_id, ib->sequence_id, &before, eb);
        for (size_t k = 0; rc == XW_OK && k < before.n; k++)
            if (set_add(&d->exp_removed, before.v[k]) != XW_OK)
                rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        xw_free(before.v);
    }
    return rc;
}

static int in_roster(const xc_group *g, const uint8_t *id)
{
    for (size_t i = 0; i < g->n_members; i++)
        if (memcmp(g->members[i].installation_id, id, XC_INSTALLATION_LEN) == 0)
            return 1;
    return 0;
}

static int same_leaf(const xc_group *g, const xc_member_row *m)
{
    const xc_member_row *o = xc_group_member_at(g, m->leaf);
    return o && strcmp(o->inbox_id, m->inbox_id) == 0 &&
           memcmp(o->installation_id, m->installation_id, XC_INSTALLATION_LEN) == 0;
}

/* Rule 3. */
static int check_installations(const xc_group *cur, const xc_group *next, const diff *d, xw_errbuf *eb)
{
    for (size_t i = 0; i < next->n_members; i++) {
        const uint8_t *id = next->members[i].installation_id;
        if (!in_roster(cur, id) && !set_has(&d->exp_added, id))
            return xw_errf(
                eb, XW_EXMTP_ASSOCIATION,
                "the commit adds installation %02x%02x%02x%02x... of inbox %s, which no identity update "
                "in the new membership explains",
                id[0], id[1], id[2], id[3], next->members[i].inbox_id);
    }
    size_t removed = 0;
    for (size_t i = 0; i < cur->n_members; i++) {
        const uint8_t *id = cur->members[i].installation_id;
        if (in_roster(next, id))
            continue;
        removed++;
        if (!set_has(&d->exp_removed, id) || xc_meta_membership_failed(&next->membership, id))
            return xw_errf(
                eb, XW_EXMTP_ASSOCIATION,
                "the commit removes installation %02x%02x%02x%02x... of inbox %s without a membership "
                "change that removes it",
                id[0], id[1], id[2], id[3], cur->members[i].inbox_id);
    }
    size_t expected = 0;
    for (size_t i = 0; i < d->exp_removed.n; i++)
        expected += !xc_meta_membership_failed(&next->membership, d->exp_removed.v[i]) &&
                    in_roster(cur, d->exp_removed.v[i]);
    if (removed != expected)
        return xw_errf(eb, XW_EXMTP_ASSOCIATION,
                       "the membership change removes %zu installations but the commit removes %zu", expected,
                       removed);
    return XW_OK;
}

/* Rule 4: new or changed leaves (the committer's path leaf among them). */
static int check_leaves(xc_client *c, const xc_group *cur, const xc_group *next, uint32_t actor,
                        xw_errbuf *eb)
{
    for (size_t i = 0; i < next->n_members; i++) {
        const xc_member_row *m = &next->members[i];
        if (m->leaf != actor && same_leaf(cur, m))
            continue;
        int found = 0;
        uint64_t seq = xc_meta_membership_seq(&next->membership, m->inbox_id, &found);
        if (!found)
            return xw_errf(eb, XW_EXMTP_ASSOCIATION,
                           "leaf %u belongs to inbox %s, which is not in the membership", m->leaf,
                           m->inbox_id);
        id_set have = {0};
        int rc = installs(c, m->inbox_id, seq, &have, eb);
        int ok = rc == XW_OK && set_has(&have, m->installation_id);
        xw_free(have.v);
        if (rc != XW_OK)
            return rc;
        if (!ok)
            return xw_errf(
                eb, XW_EXMTP_ASSOCIATION,
                "leaf %u's installation %02x%02x%02x%02x... is not an installation of inbox %s at sequence "
                "id %llu",
                m->leaf, m->installation_id[0], m->installation_id[1], m->installation_id[2],
                m->installation_id[3], m->inbox_id, (unsigned long long)seq);
    }
    return XW_OK;
}

static size_t limit_for(const char *field)
{
    static const struct {
        const char *name;
        size_t max;
    } limits[] = {
        {"group_name", 100}, {"description", 1000}, {"group_image_url_square", 2048}, {"app_data", 8192}};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        if (strcmp(limits[i].name, field) == 0)
            return limits[i].max;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Metadata changes (rule 7) and the transcript's lists. */
typedef struct {
    const char *names[2 * XC_META_MAX_ATTRS], *olds[2 * XC_META_MAX_ATTRS], *news[2 * XC_META_MAX_ATTRS];
    size_t n;
    const char *adm_add[XC_META_MAX_ADMINS], *adm_rem[XC_META_MAX_ADMINS];
    const char *sup_add[XC_META_MAX_ADMINS], *sup_rem[XC_META_MAX_ADMINS];
    size_t n_adm_add, n_adm_rem, n_sup_add, n_sup_rem;
    int has_min_version;
} meta_changes;

static void list_diff(char *const *from, size_t nf, char *const *to, size_t nt, const char **out, size_t *n)
{
    for (size_t i = 0; i < nt; i++) {
        int found = 0;
        for (size_t j = 0; j < nf && !found; j++)
            found = strcmp(to[i], from[j]) == 0;
        if (!found)
            out[(*n)++] = to[i];
    }
}

static int metadata_changes(const xc_meta_mutable *old, const xc_meta_mutable *nw, meta_changes *mc,
                            xw_errbuf *eb)
{
    const char *keys[2 * XC_META_MAX_ATTRS];
    size_t nk = 0;
    for (size_t i = 0; i < old->n_attrs; i++)
        keys[nk++] = old->attrs[i].key;
    for (size_t i = 0; i < nw->n_attrs; i++)
        keys[nk++] = nw->attrs[i].key;
    qsort(keys, nk, sizeof keys[0], cmp_str);
    for (size_t i = 0; i < nk; i++) {
        if (i && strcmp(keys[i], keys[i - 1]) == 0)
            continue;
        const char *o = xc_meta_attr(old, keys[i]), *v = xc_meta_attr(nw, keys[i]);
        if ((!o && !v) || (o && v && strcmp(o, v) == 0))
            continue;
        size_t max = limit_for(keys[i]);
        if (v && max && strlen(v) > max)
            return xw_errf(eb, XW_ELIMIT, "the commit sets %s to %zu bytes (at most %zu)", keys[i], strlen(v),
                           max);
        mc->names[mc->n] = keys[i];
        mc->olds[mc->n] = o;
        mc->news[mc->n++] = v;
    }
    list_diff(old->admins, old->n_admins, nw->admins, nw->n_admins, mc->adm_add, &mc->n_adm_add);
    list_diff(nw->admins, nw->n_admins, old->admins, old->n_admins, mc->adm_rem, &mc->n_adm_rem);
    list_diff(old->super_admins, old->n_super, nw->super_admins, nw->n_super, mc->sup_add, &mc->n_sup_add);
    list_diff(nw->super_admins, nw->n_super, old->super_admins, old->n_super, mc->sup_rem, &mc->n_sup_rem);
    /* libxmtp reports minimum_supported_protocol_version whenever the group has it set */
    mc->has_min_version = xc_meta_attr(nw, "minimum_supported_protocol_version") != NULL;
    return XW_OK;
}

/* §3.5, with admin statuses from the metadata before the commit. */
static int check_policies(const xc_group *cur, const xc_group *next, const char *actor, const diff *d,
                          const meta_changes *mc, const xc_meta_mutable *om, const xc_meta_mutable *nm,
                          xw_errbuf *eb)
{
    mls_span ce = mls_group_extensions(cur->mls), ne = mls_group_extensions(next->mls);
    xc_meta_immutable im;
    int rc = xc_meta_immutable_get(ce.p, ce.len, &im, eb);
    int *supers = rc == XW_OK ? xw_calloc(d->n_removed + 1, sizeof *supers) : NULL;
    if (rc == XW_OK && !supers)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    if (rc != XW_OK)
        return rc;
    for (size_t i = 0; i < d->n_removed; i++)
        supers[i] = xc_meta_is_super_admin(om, d->removed[i]);
    xc_policy_commit pc = {
        .actor = {actor, xc_meta_is_admin(om, actor), xc_meta_is_super_admin(om, actor)},
        .added = d->added,
        .n_added = d->n_added,
        .removed = d->removed,
        .removed_is_super_admin = supers,
        .n_removed = d->n_removed,
        .fields = mc->names,
        .n_fields = mc->n,
        .admins_added = mc->n_adm_add,
        .admins_removed = mc->n_adm_rem,
        .supers_added = mc->n_sup_add,
        .supers_removed = mc->n_sup_rem,
        .supers_left = nm->n_super,
        .dm_members = {im.has_dm ? im.dm[0] : NULL, im.has_dm ? im.dm[1] : NULL},
    };
    rc = xc_policy_evaluate(ce.p, ce.len, ne.p, ne.len, &pc, eb);
    xw_free(supers);
    return rc;
}

static int same_ext(const xc_group *a, const xc_group *b, uint16_t type)
{
    mls_span x = {0}, y = {0};
    int hx = mls_extensions_find(mls_group_extensions(a->mls), type, &x);
    int hy = mls_extensions_find(mls_group_extensions(b->mls), type, &y);
    return hx == hy && x.len == y.len && (x.len == 0 || memcmp(x.p, y.p, x.len) == 0);
}

int xc_commit_validate(xc_client *c, const xc_group *cur, const xc_group *next, uint32_t actor_leaf,
                       xw_buf *transcript, char actor_inbox[XC_INBOX_LEN + 1], xw_errbuf *eb)
{
    const xc_member_row *actor = xc_group_member_at(cur, actor_leaf);
    if (!actor)
        return xw_errf(eb, XW_EMLS_SENDER, "the committer (leaf %u) is not a member", actor_leaf);
    memcpy(actor_inbox, actor->inbox_id, XC_INBOX_LEN + 1);
    if (!same_ext(cur, next, XC_EXT_IMMUTABLE_METADATA))
        return xw_errf(eb, XW_EDENIED, "the commit changes the group's immutable metadata");
    diff d;
    memset(&d, 0, sizeof d);
    int rc = expected_diff(c, &cur->membership, &next->membership, &d, eb);
    if (rc == XW_OK)
        rc = check_installations(cur, next, &d, eb);
    if (rc == XW_OK)
        rc = check_leaves(c, cur, next, actor_leaf, eb);
    mls_span oe = mls_group_extensions(cur->mls), ne = mls_group_extensions(next->mls);
    xc_meta_mutable om, nm;
    memset(&om, 0, sizeof om);
    memset(&nm, 0, sizeof nm);
    meta_changes *mc = rc == XW_OK ? xw_calloc(1, sizeof *mc) : NULL;
    if (rc == XW_OK && !mc)
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    if (rc == XW_OK)
        rc = xc_meta_mutable_get(oe.p, oe.len, &om, eb);
    if (rc == XW_OK)
        rc = xc_meta_mutable_get(ne.p, ne.len, &nm, eb);
    if (rc == XW_OK)
        rc = metadata_changes(&om, &nm, mc, eb);
    if (rc == XW_OK)
        rc = check_policies(cur, next, actor->inbox_id, &d, mc, &om, &nm, eb);
    int empty = rc == XW_OK && d.n_added == 0 && d.n_removed == 0 && mc->n == 0 && mc->n_adm_add == 0 &&
                mc->n_adm_rem == 0 && mc->n_sup_add == 0 && mc->n_sup_rem == 0 && !mc->has_min_version;
    if (rc == XW_OK && !empty) {
        xc_group_updated u = {.initiated_by = actor->inbox_id,
                              .added = d.added,
                              .n_added = d.n_added,
                              .removed = d.removed,
                              .n_removed = d.n_removed,
                              .field_names = mc->names,
                              .old_values = mc->olds,
                              .new_values = mc->news,
                              .n_fields = mc->n,
                              .added_admins = mc->adm_add,
                              .n_added_admins = mc->n_adm_add,
                              .removed_admins = mc->adm_rem,
                              .n_removed_admins = mc->n_adm_rem,
                              .added_supers = mc->sup_add,
                              .n_added_supers = mc->n_sup_add,
                              .removed_supers = mc->sup_rem,
                              .n_removed_supers = mc->n_sup_rem};
        rc = xc_group_updated_encode(&u, transcript, eb);
    }
    xc_meta_mutable_free(&om);
    xc_meta_mutable_free(&nm);
    xw_free(mc);
    diff_free(&d);
    return rc;
}
