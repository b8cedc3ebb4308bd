/*
 * Groups the bot runs (libxmtp groups/mod.rs create_group, add_members, remove_members;
 * groups/mls_sync.rs get_membership_update_intent, update_group_membership): creating a
 * group with libxmtp's GroupContext extensions, and membership commits built as plans for
 * the intent lifecycle (intent.c), so that each attempt is computed for the epoch the group
 * is in after a re-sync.
 *
 * Adding: the latest association state of each new inbox gives its installations and
 * sequence id; each installation's key package is fetched and verified (RFC 9420 §10.1:
 * signature, lifetime, capabilities against the group's required capabilities; XMTP: a
 * basic credential naming the inbox and the installation key as signature key). Those that
 * fail go to the membership map's failed installations; an inbox none of whose
 * installations worked is reported and left out. One commit: the Adds, the existing
 * members' installation changes (below) and a GroupContextExtensions with the new
 * membership map (0xff01).
 *
 * Removing: every leaf of each inbox and the inbox out of the map, in one commit; super
 * admins cannot be removed (libxmtp's policy) and neither can we (leaving is another
 * operation).
 *
 * Updating installations (libxmtp's update_installations): every inbox of the map whose
 * latest sequence id is above the recorded one gets it, its new installations are added
 * (key packages verified as above) and the installations gone from its state removed, in one
 * commit; nothing is committed when no sequence id moved. Before a message it runs at most
 * every 5 s per group (§3.4, SEND_MESSAGE_UPDATE_INSTALLATIONS_INTERVAL_NS).
 *
 * An add does the same for the existing members in its commit, as libxmtp's add does (its
 * get_membership_update_intent), so the creator's other installations join with the first
 * add.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "xmtp/client/client_int.h"

#define KP_MAX ((size_t)1 << 20)
#define MAX_NEW_INSTALLS (XC_ADD_MAX * XC_MAX_INSTALLATIONS)

static int check_len(const char *what, const char *v, size_t max, xw_errbuf *eb)
{
    if (v && strlen(v) > max)
        return xw_errf(eb, XW_ELIMIT, "the group's %s has %zu bytes (libxmtp accepts at most %zu)", what,
                       strlen(v), max);
    return XW_OK;
}

int xc_group_create(xc_client *c, const xc_group_opts *o, uint8_t gid[16], xw_errbuf *eb)
{
    xc_group_opts none = {0};
    if (!o)
        o = &none;
    int rc = check_len("name", o->name, 100, eb);
    if (rc == XW_OK)
        rc = check_len("description", o->description, 1000, eb);
    if (rc == XW_OK)
        rc = check_len("image URL", o->image_url, 2048, eb);
    if (rc != XW_OK)
        return rc;
    xmtp_assoc_state *st = NULL;
    rc = xc_assoc_latest(c, c->inbox_id, &st, eb);
    uint64_t seq = rc == XW_OK ? xmtp_assoc_state_sequence_id(st) : 0;
    xmtp_assoc_state_free(st);
    if (rc != XW_OK)
        return rc;
    mls_random(gid, 16);
    int64_t now = xc_now(c);
    xw_buf kp, exts;
    xw_buf_init(&kp, KP_MAX);
    xw_buf_init(&exts, KP_MAX);
    mls_key_package_secrets sec;
    memset(&sec, 0, sizeof sec);
    const char *members[1] = {c->inbox_id};
    uint64_t seqs[1] = {seq};
    xc_meta_new_group ng = {.conversation_type = XC_CONV_GROUP,
                            .creator_inbox_id = c->inbox_id,
                            .name = o->name ? o->name : "",
                            .description = o->description ? o->description : "",
                            .image_url = o->image_url ? o->image_url : "",
                            .admins_only = o->preset == XC_PRESET_ADMINS_ONLY,
                            .members = members,
                            .seqs = seqs,
                            .n_members = 1};
    xc_group g;
    xc_group_init(&g);
    rc = xc_kp_build(c->suite, &c->sig, c->inbox_id, NULL, now, &kp, &sec, eb);
    if (rc == XW_OK)
        rc = xc_meta_group_extensions(&ng, &exts, eb);
    mls_group_config cfg;
    mls_group_config_default(&cfg);
    if (rc == XW_OK)
        rc = mls_group_create(&cfg, gid, 16, kp.data, kp.len, &sec, exts.data, exts.len, &g.mls, eb);
    mls_key_package_secrets_wipe(&sec);
    if (rc == XW_OK)
        rc = xc_group_refresh(&g, eb);
    if (rc == XW_OK && (rc = xc_store_begin(c->st, eb)) == XW_OK) {
        xc_group_row *r = &g.row;
        memcpy(r->id, gid, 16);
        r->id_len = 16;
        r->created_ns = now;
        r->conversation_type = XC_CONV_GROUP;
        r->membership_state = XC_MEMBERSHIP_ALLOWED;
        r->consent = XC_CONSENT_ALLOWED;
        memcpy(r->creator_inbox_id, c->inbox_id, sizeof r->creator_inbox_id);
        memcpy(r->added_by_inbox_id, c->inbox_id, sizeof r->added_by_inbox_id);
        memcpy(r->added_by_installation, c->installation_id, XC_INSTALLATION_LEN);
        r->rotated_at_ns = now; /* a group we create starts with fresh keys */
        r->last_message_ns = now;
        rc = xc_group_save(c, &g, eb);
        if (rc == XW_OK)
            rc = xc_store_commit(c->st, eb);
        else
            xc_store_rollback(c->st);
    }
    xc_group_release(&g);
    xw_buf_free_secret(&kp);
    xw_buf_free(&exts);
    return rc;
}

/* --- adding --- */
typedef uint8_t inst_id[XC_INSTALLATION_LEN];

typedef struct {
    const char *const *inboxes;
    size_t n;
    xc_add_result *res;
    /* per attempt */
    xw_buf kps[MAX_NEW_INSTALLS];
    const uint8_t *kp_ptrs[MAX_NEW_INSTALLS];
    size_t kp_lens[MAX_NEW_INSTALLS];
    inst_id insts[MAX_NEW_INSTALLS];
    size_t n_kps;
    inst_id *failed;
    size_t n_failed;
    const char *names[XC_META_MAX_INBOXES];
    uint64_t seqs[XC_META_MAX_INBOXES];
    xw_buf mem, gce;
} add_ctx;

/* Key package checks; XW_OK or a permanent error with the reason. */
static int verify_kp(xc_client *c, const xc_group *g, const char *inbox, const uint8_t *inst,
                     const xw_buf *raw, xw_errbuf *eb)
{
    mls_key_package *k = NULL;
    int rc = mls_key_package_decode(raw->data, raw->len, &k, eb);
    if (rc == XW_OK)
        rc = mls_key_package_validate(c->suite, k, (uint64_t)(xc_now(c) / XW_NS_PER_SEC),
                                      mls_group_extensions(g->mls), eb);
    char who[XC_INBOX_LEN + 1];
    if (rc == XW_OK && k->leaf->cred_type != MLS_CREDENTIAL_BASIC)
        rc = xw_errf(eb, XW_EXMTP_ASSOCIATION, "the key package's credential is not a basic credential");
    if (rc == XW_OK && (k->leaf->sig_key.len != XC_INSTALLATION_LEN ||
                        memcmp(k->leaf->sig_key.p, inst, XC_INSTALLATION_LEN) != 0))
        rc = xw_errf(eb, XW_EXMTP_ASSOCIATION,
                     "the key package is signed by another key than the installation's");
    if (rc == XW_OK &&
        (rc = xc_inbox_from_credential(k->leaf->identity.p, k->leaf->identity.len, who, eb)) == XW_OK &&
        strcmp(who, inbox) != 0)
        rc = xw_errf(eb, XW_EXMTP_ASSOCIATION, "the key package names inbox %s, not %s", who, inbox);
    mls_key_package_free(k);
    return rc;
}

static int add_inbox(xc_client *c, const xc_group *g, add_ctx *a, size_t idx, size_t *n_names, xw_errbuf *eb)
{
    const char *inbox = a->inboxes[idx];
    size_t failed_before = a->n_failed;
    xmtp_assoc_state *st = NULL;
    xw_errbuf ie = {{0}};
    int rc = xc_assoc_latest(c, inbox, &st, &ie);
    size_t good = 0;
    char first[256] = "";
    for (size_t i = 0; rc == XW_OK && i < xmtp_assoc_state_member_count(st); i++) {
        const xmtp_member *m = xmtp_assoc_state_member_at(st, i);
        if (m->id.kind != XMTP_MEMBER_INSTALLATION)
            continue;
        if (a->n_kps >= MAX_NEW_INSTALLS)
            return xw_errf(eb, XW_ELIMIT, "too many installations to add in one commit");
        xw_buf *kb = &a->kps[a->n_kps];
        xw_buf_reset(kb);
        xw_errbuf ke = {{0}};
        int kr = c->node->ops->fetch_key_package(c->node->ctx, m->id.bytes, XC_INSTALLATION_LEN, kb, &ke);
        if (xw_err_is_retriable(kr) || xw_err_is_fatal(kr)) {
            xmtp_assoc_state_free(st);
            return xw_errf(eb, kr, "fetching a key package of inbox %s: %s", inbox, ke.msg);
        }
        if (kr == XW_OK)
            kr = verify_kp(c, g, inbox, m->id.bytes, kb, &ke);
        if (kr == XW_OK) {
            memcpy(a->insts[a->n_kps], m->id.bytes, XC_INSTALLATION_LEN);
            a->kp_ptrs[a->n_kps] = kb->data;
            a->kp_lens[a->n_kps] = kb->len;
            a->n_kps++;
            good++;
            continue;
        }
        if (!first[0])
            snprintf(first, sizeof first, "%s", ke.msg);
        inst_id *f = xw_realloc(a->failed, (a->n_failed + 1) * sizeof *f);
        if (!f) {
            xmtp_assoc_state_free(st);
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        }
        a->failed = f;
        memcpy(a->failed[a->n_failed++], m->id.bytes, XC_INSTALLATION_LEN);
        a->res->installations_failed++;
    }
    uint64_t seq = rc == XW_OK ? xmtp_assoc_state_sequence_id(st) : 0;
    xmtp_assoc_state_free(st);
    if (xw_err_is_retriable(rc) || xw_err_is_fatal(rc))
        return xw_errf(eb, rc, "the identity of inbox %s: %s", inbox, ie.msg);
    if (rc != XW_OK || good == 0) { /* left out: its installations are not listed as failed either */
        a->n_failed = failed_before;
        xc_add_result *r = a->res;
        r->errors[r->n_errors].index = idx;
        r->errors[r->n_errors].err = rc != XW_OK ? rc : XW_ENOTFOUND;
        snprintf(r->errors[r->n_errors].reason, sizeof r->errors[r->n_errors].reason, "%s",
                 rc != XW_OK ? ie.msg
                 : first[0]  ? first
                             : "the inbox has no installation");
        r->n_errors++;
        return XW_OK;
    }
    a->names[*n_names] = inbox;
    a->seqs[(*n_names)++] = seq;
    a->res->inboxes_added++;
    a->res->installations_added += good;
    return XW_OK;
}

/* --- update_installations --- */
typedef struct {
    add_ctx a;
    uint32_t *leaves;
    size_t n_leaves;
} upd_ctx;

static int has_install(const xmtp_assoc_state *st, const uint8_t *id)
{
    return st && xmtp_assoc_state_has_installation(st, id);
}

/* One inbox whose sequence id moved from old to the latest: its new installations (not yet in
 * the tree) are added, those gone from its state are removed (never our own). */
static int upd_inbox(xc_client *c, const xc_group *g, upd_ctx *u, size_t idx, int *changed, xw_errbuf *eb)
{
    add_ctx *a = &u->a;
    const char *inbox = g->membership.inboxes[idx].inbox_id;
    uint64_t old = g->membership.inboxes[idx].sequence_id;
    xmtp_assoc_state *now = NULL, *before = NULL;
    int rc = xc_assoc_latest(c, inbox, &now, eb);
    uint64_t seq = rc == XW_OK ? xmtp_assoc_state_sequence_id(now) : 0;
    if (rc == XW_OK && seq > old && old > 0)
        rc = xc_assoc_at(c, inbox, old, &before, eb);
    if (rc != XW_OK || seq <= old) {
        xmtp_assoc_state_free(now);
        xmtp_assoc_state_free(before);
        return rc;
    }
    *changed = 1;
    a->seqs[idx] = seq;
    for (size_t i = 0; rc == XW_OK && i < xmtp_assoc_state_member_count(now); i++) {
        const xmtp_member *m = xmtp_assoc_state_member_at(now, i);
        if (m->id.kind != XMTP_MEMBER_INSTALLATION || has_install(before, m->id.bytes))
            continue;
        int in_tree = 0;
        for (size_t k = 0; k < g->n_members && !in_tree; k++)
            in_tree = memcmp(g->members[k].installation_id, m->id.bytes, XC_INSTALLATION_LEN) == 0;
        if (in_tree)
            continue;
        if (a->n_kps >= MAX_NEW_INSTALLS) {
            rc = xw_errf(eb, XW_ELIMIT, "too many installations to add in one commit");
            break;
        }
        xw_buf *kb = &a->kps[a->n_kps];
        xw_buf_reset(kb);
        xw_errbuf ke = {{0}};
        int kr = c->node->ops->fetch_key_package(c->node->ctx, m->id.bytes, XC_INSTALLATION_LEN, kb, &ke);
        if (xw_err_is_retriable(kr) || xw_err_is_fatal(kr)) {
            rc = xw_errf(eb, kr, "fetching a key package of inbox %s: %s", inbox, ke.msg);
            break;
        }
        if (kr == XW_OK)
            kr = verify_kp(c, g, inbox, m->id.bytes, kb, &ke);
        if (kr == XW_OK) {
            memcpy(a->insts[a->n_kps], m->id.bytes, XC_INSTALLATION_LEN);
            a->kp_ptrs[a->n_kps] = kb->data;
            a->kp_lens[a->n_kps] = kb->len;
            a->n_kps++;
            continue;
        }
        inst_id *f = xw_realloc(a->failed, (a->n_failed + 1) * sizeof *f);
        if (!f) {
            rc = xw_errf(eb, XW_ENOMEM, "out of memory");
            break;
        }
        a->failed = f;
        memcpy(a->failed[a->n_failed++], m->id.bytes, XC_INSTALLATION_LEN);
    }
    for (size_t k = 0; rc == XW_OK && k < g->n_members; k++) {
        const xc_member_row *mr = &g->members[k];
        if (strcmp(mr->inbox_id, inbox) != 0 || has_install(now, mr->installation_id) ||
            memcmp(mr->installation_id, c->installation_id, XC_INSTALLATION_LEN) == 0)
            continue;
        u->leaves[u->n_leaves++] = mr->leaf;
    }
    xmtp_assoc_state_free(now);
    xmtp_assoc_state_free(before);
    return rc;
}

static int add_plan(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb)
{
    upd_ctx *u = ctx;
    add_ctx *a = &u->a;
    memset(a->res, 0, sizeof *a->res);
    a->n_kps = 0;
    a->n_failed = 0;
    xw_buf_reset(&a->mem);
    xw_buf_reset(&a->gce);
    const xc_meta_membership *ms = &g->membership;
    size_t n_names = 0;
    for (size_t i = 0; i < ms->n; i++) {
        a->names[n_names] = ms->inboxes[i].inbox_id;
        a->seqs[n_names++] = ms->inboxes[i].sequence_id;
    }
    for (size_t i = 0; i < ms->n_failed; i++) {
        inst_id *f = xw_realloc(a->failed, (a->n_failed + 1) * sizeof *f);
        if (!f)
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        a->failed = f;
        memcpy(a->failed[a->n_failed++], ms->failed[i], XC_INSTALLATION_LEN);
    }
    /* as libxmtp's add: the existing members' sequence ids brought up to date too */
    u->n_leaves = 0;
    xw_free(u->leaves);
    u->leaves = xw_calloc(g->n_members + 1, sizeof *u->leaves);
    if (!u->leaves)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    size_t n_new = 0;
    for (size_t i = 0; i < a->n; i++) {
        int dup = 0;
        for (size_t j = 0; j < n_names && !dup; j++)
            dup = strcmp(a->names[j], a->inboxes[i]) == 0;
        if (dup) /* already a member (or listed twice) */
            continue;
        if (n_names >= XC_MAX_GROUP_SIZE)
            return xw_errf(eb, XW_ELIMIT, "the group would have more than %d members", XC_MAX_GROUP_SIZE);
        n_new++;
        int rc = add_inbox(c, g, a, i, &n_names, eb);
        if (rc != XW_OK)
            return rc;
    }
    if (n_new == 0) {
        plan->nothing_to_do = 1;
        return XW_OK;
    }
    if (a->res->inboxes_added == 0)
        return xw_errf(eb, XW_ENOTFOUND, "no inbox could be added (the first: %s)",
                       a->res->n_errors ? a->res->errors[0].reason : "?");
    int changed = 0;
    for (size_t i = 0; i < ms->n; i++) {
        int rc = upd_inbox(c, g, u, i, &changed, eb);
        if (rc != XW_OK)
            return rc;
    }
    mls_span exts = mls_group_extensions(g->mls);
    int rc = xc_meta_membership_encode_failed(a->names, a->seqs, n_names,
                                              (const uint8_t(*)[XC_INSTALLATION_LEN])a->failed, a->n_failed,
                                              &a->mem, eb);
    if (rc == XW_OK)
        rc = xc_meta_replace_ext(exts.p, exts.len, XC_EXT_GROUP_MEMBERSHIP, a->mem.data, a->mem.len, &a->gce,
                                 eb);
    plan->o.add_kps = a->kp_ptrs;
    plan->o.add_lens = a->kp_lens;
    plan->o.n_add = a->n_kps;
    plan->o.gce = a->gce.data;
    plan->o.gce_len = a->gce.len;
    plan->o.remove = u->leaves;
    plan->o.n_remove = u->n_leaves;
    plan->add_installations = (const uint8_t(*)[XC_INSTALLATION_LEN])a->insts;
    return rc;
}

int xc_group_add_members(xc_client *c, const uint8_t *gid, size_t len, const char *const *inboxes, size_t n,
                         xc_add_result *res, xw_errbuf *eb)
{
    xc_add_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (n == 0 || n > XC_ADD_MAX)
        return xw_errf(eb, XW_EINVAL, "give 1 to %d inbox ids to add (got %zu)", XC_ADD_MAX, n);
    for (size_t i = 0; i < n; i++)
        if (!inboxes[i] || strlen(inboxes[i]) != XC_INBOX_LEN)
            return xw_errf(eb, XW_EINVAL, "inbox id %zu is not a %d-character inbox id", i, XC_INBOX_LEN);
    upd_ctx *u = xw_calloc(1, sizeof *u);
    if (!u)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    add_ctx *a = &u->a;
    a->inboxes = inboxes;
    a->n = n;
    a->res = res;
    for (size_t i = 0; i < MAX_NEW_INSTALLS; i++)
        xw_buf_init(&a->kps[i], KP_MAX);
    xw_buf_init(&a->mem, KP_MAX);
    xw_buf_init(&a->gce, KP_MAX);
    int rc = xc_commit_intent(c, gid, len, XC_INTENT_UPDATE_MEMBERSHIP, add_plan, u, eb);
    for (size_t i = 0; i < MAX_NEW_INSTALLS; i++)
        xw_buf_free(&a->kps[i]);
    xw_buf_free(&a->mem);
    xw_buf_free(&a->gce);
    xw_free(a->failed);
    xw_free(u->leaves);
    xw_free(u);
    return rc;
}

int xc_group_add_members_by_address(xc_client *c, const uint8_t *gid, size_t len,
                                    const char *const *addresses, size_t n, xc_add_result *res, xw_errbuf *eb)
{
    xc_add_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (n == 0 || n > XC_ADD_MAX)
        return xw_errf(eb, XW_EINVAL, "give 1 to %d addresses to add (got %zu)", XC_ADD_MAX, n);
    char(*ids)[XC_INBOX_LEN + 1] = xw_calloc(n, sizeof *ids);
    const char **found_ids = xw_calloc(n, sizeof *found_ids);
    size_t *from = xw_calloc(n, sizeof *from);
    int rc = ids && found_ids && from ? XW_OK : xw_errf(eb, XW_ENOMEM, "out of memory");
    size_t k = 0;
    xc_add_result unresolved;
    memset(&unresolved, 0, sizeof unresolved);
    for (size_t i = 0; rc == XW_OK && i < n; i++) {
        uint8_t addr[XMTP_ADDRESS_LEN];
        char text[XMTP_ADDRESS_STRLEN + 1];
        int found = 0;
        xw_errbuf ae = {{0}};
        int ar = addresses[i] ? xmtp_address_parse(addresses[i], strlen(addresses[i]), 0, addr, &ae)
                              : xw_errf(&ae, XW_EINVAL, "no address");
        if (ar == XW_OK) {
            xmtp_address_to_lower(addr, text);
            ar = c->node->ops->get_inbox_id(c->node->ctx, text, ids[k], &found, &ae);
            if (xw_err_is_retriable(ar) || xw_err_is_fatal(ar)) {
                rc = xw_errf(eb, ar, "looking up address %s: %s", text, ae.msg);
                break;
            }
            if (ar == XW_OK && !found)
                ar = xw_errf(&ae, XW_ENOTFOUND, "address %s has no XMTP inbox", text);
        }
        if (ar != XW_OK) {
            size_t e = unresolved.n_errors++;
            unresolved.errors[e].index = i;
            unresolved.errors[e].err = ar;
            snprintf(unresolved.errors[e].reason, sizeof unresolved.errors[e].reason, "%s", ae.msg);
            continue;
        }
        found_ids[k] = ids[k];
        from[k++] = i;
    }
    if (rc == XW_OK && k == 0)
        rc = xw_errf(eb, XW_ENOTFOUND, "none of the addresses has an XMTP inbox (the first: %s)",
                     unresolved.errors[0].reason);
    if (rc == XW_OK)
        rc = xc_group_add_members(c, gid, len, found_ids, k, res, eb);
    /* the errors refer to the caller's list of addresses */
    if (rc == XW_OK || rc == XW_ENOTFOUND) {
        for (size_t e = 0; e < res->n_errors; e++)
            res->errors[e].index = from[res->errors[e].index];
        for (size_t e = 0; e < unresolved.n_errors && res->n_errors < XC_ADD_MAX; e++)
            res->errors[res->n_errors++] = unresolved.errors[e];
    }
    xw_free(ids);
    xw_free(found_ids);
    xw_free(from);
    return rc;
}

/* --- removing --- */
typedef struct {
    const char *const *inboxes;
    size_t n;
    uint32_t *leaves;
    const char *names[XC_META_MAX_INBOXES];
    uint64_t seqs[XC_META_MAX_INBOXES];
    xw_buf mem, gce;
} rm_ctx;

static int rm_plan(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb)
{
    rm_ctx *r = ctx;
    xw_buf_reset(&r->mem);
    xw_buf_reset(&r->gce);
    mls_span exts = mls_group_extensions(g->mls);
    xc_meta_mutable mm;
    int rc = xc_meta_mutable_get(exts.p, exts.len, &mm, eb);
    if (rc != XW_OK)
        return rc;
    for (size_t i = 0; rc == XW_OK && i < r->n; i++) {
        int found = 0;
        xc_meta_membership_seq(&g->membership, r->inboxes[i], &found);
        if (strcmp(r->inboxes[i], c->inbox_id) == 0)
            rc = xw_errf(eb, XW_EINVAL, "we cannot remove ourselves from a group (that is leaving)");
        else if (!found)
            rc = xw_errf(eb, XW_ENOTFOUND, "inbox %s is not a member of the group", r->inboxes[i]);
        else if (xc_meta_is_super_admin(&mm, r->inboxes[i]))
            rc = xw_errf(eb, XW_EDENIED, "inbox %s is a super admin of the group and cannot be removed",
                         r->inboxes[i]);
    }
    xc_meta_mutable_free(&mm);
    if (rc != XW_OK)
        return rc;
    size_t n_names = 0, n_leaves = 0;
    for (size_t i = 0; i < g->membership.n; i++) {
        int gone = 0;
        for (size_t k = 0; k < r->n && !gone; k++)
            gone = strcmp(g->membership.inboxes[i].inbox_id, r->inboxes[k]) == 0;
        if (gone)
            continue;
        r->names[n_names] = g->membership.inboxes[i].inbox_id;
        r->seqs[n_names++] = g->membership.inboxes[i].sequence_id;
    }
    xw_free(r->leaves);
    r->leaves = xw_calloc(g->n_members + 1, sizeof *r->leaves);
    if (!r->leaves)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    for (size_t i = 0; i < g->n_members; i++)
        for (size_t k = 0; k < r->n; k++)
            if (strcmp(g->members[i].inbox_id, r->inboxes[k]) == 0) {
                r->leaves[n_leaves++] = g->members[i].leaf;
                break;
            }
    rc = xc_meta_membership_encode_failed(r->names, r->seqs, n_names,
                                          (const uint8_t(*)[XC_INSTALLATION_LEN])g->membership.failed,
                                          g->membership.n_failed, &r->mem, eb);
    if (rc == XW_OK)
        rc = xc_meta_replace_ext(exts.p, exts.len, XC_EXT_GROUP_MEMBERSHIP, r->mem.data, r->mem.len, &r->gce,
                                 eb);
    plan->o.remove = r->leaves;
    plan->o.n_remove = n_leaves;
    plan->o.gce = r->gce.data;
    plan->o.gce_len = r->gce.len;
    return rc;
}

int xc_group_remove_members(xc_client *c, const uint8_t *gid, size_t len, const char *const *inboxes,
                            size_t n, xw_errbuf *eb)
{
    if (n == 0 || n > XC_ADD_MAX)
        return xw_errf(eb, XW_EINVAL, "give 1 to %d inbox ids to remove (got %zu)", XC_ADD_MAX, n);
    for (size_t i = 0; i < n; i++)
        if (!inboxes[i])
            return xw_errf(eb, XW_EINVAL, "inbox id %zu is missing", i);
    rm_ctx *r = xw_calloc(1, sizeof *r);
    if (!r)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    r->inboxes = inboxes;
    r->n = n;
    xw_buf_init(&r->mem, KP_MAX);
    xw_buf_init(&r->gce, KP_MAX);
    int rc = xc_commit_intent(c, gid, len, XC_INTENT_UPDATE_MEMBERSHIP, rm_plan, r, eb);
    xw_free(r->leaves);
    xw_buf_free(&r->mem);
    xw_buf_free(&r->gce);
    xw_free(r);
    return rc;
}

static int upd_plan(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb)
{
    upd_ctx *u = ctx;
    add_ctx *a = &u->a;
    a->n_kps = 0;
    a->n_failed = 0;
    u->n_leaves = 0;
    xw_buf_reset(&a->mem);
    xw_buf_reset(&a->gce);
    xw_free(u->leaves);
    u->leaves = xw_calloc(g->n_members + 1, sizeof *u->leaves);
    if (!u->leaves)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    const xc_meta_membership *ms = &g->membership;
    for (size_t i = 0; i < ms->n; i++) {
        a->names[i] = ms->inboxes[i].inbox_id;
        a->seqs[i] = ms->inboxes[i].sequence_id;
    }
    for (size_t i = 0; i < ms->n_failed; i++) {
        inst_id *f = xw_realloc(a->failed, (a->n_failed + 1) * sizeof *f);
        if (!f)
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        a->failed = f;
        memcpy(a->failed[a->n_failed++], ms->failed[i], XC_INSTALLATION_LEN);
    }
    int changed = 0, rc = XW_OK;
    for (size_t i = 0; rc == XW_OK && i < ms->n; i++)
        rc = upd_inbox(c, g, u, i, &changed, eb);
    if (rc != XW_OK)
        return rc;
    if (!changed) {
        plan->nothing_to_do = 1;
        return XW_OK;
    }
    mls_span exts = mls_group_extensions(g->mls);
    rc = xc_meta_membership_encode_failed(
        a->names, a->seqs, ms->n, (const uint8_t(*)[XC_INSTALLATION_LEN])a->failed, a->n_failed, &a->mem, eb);
    if (rc == XW_OK)
        rc = xc_meta_replace_ext(exts.p, exts.len, XC_EXT_GROUP_MEMBERSHIP, a->mem.data, a->mem.len, &a->gce,
                                 eb);
    plan->o.add_kps = a->kp_ptrs;
    plan->o.add_lens = a->kp_lens;
    plan->o.n_add = a->n_kps;
    plan->o.remove = u->leaves;
    plan->o.n_remove = u->n_leaves;
    plan->o.gce = a->gce.data;
    plan->o.gce_len = a->gce.len;
    plan->add_installations = (const uint8_t(*)[XC_INSTALLATION_LEN])a->insts;
    return rc;
}

int xc_group_update_installations(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb)
{
    upd_ctx *u = xw_calloc(1, sizeof *u);
    if (!u)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    xc_add_result res;
    u->a.res = &res;
    for (size_t i = 0; i < MAX_NEW_INSTALLS; i++)
        xw_buf_init(&u->a.kps[i], KP_MAX);
    xw_buf_init(&u->a.mem, KP_MAX);
    xw_buf_init(&u->a.gce, KP_MAX);
    int rc = xc_commit_intent(c, gid, len, XC_INTENT_UPDATE_MEMBERSHIP, upd_plan, u, eb);
    for (size_t i = 0; i < MAX_NEW_INSTALLS; i++)
        xw_buf_free(&u->a.kps[i]);
    xw_buf_free(&u->a.mem);
    xw_buf_free(&u->a.gce);
    xw_free(u->a.failed);
    xw_free(u->leaves);
    xw_free(u);
    return rc;
}

int xc_group_installations_check(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb)
{
    int64_t now = xc_now(c);
    size_t slot = XC_CHECKED_SLOTS;
    for (size_t i = 0; i < XC_CHECKED_SLOTS && slot == XC_CHECKED_SLOTS; i++)
        if (c->checked[i].len == len && memcmp(c->checked[i].gid, gid, len) == 0)
            slot = i;
    if (slot < XC_CHECKED_SLOTS && now - c->checked[slot].at_ns < XC_INSTALLATIONS_CHECK_NS)
        return XW_OK;
    xc_group_row r;
    xc_group_row_init(&r);
    int rc = xc_store_group_get(c->st, gid, len, &r, eb);
    int active = rc == XW_OK && r.active;
    xc_group_row_free(&r);
    if (rc != XW_OK || !active) /* not a member any more: the send refuses */
        return rc;
    rc = xc_group_update_installations(c, gid, len, eb);
    if (rc != XW_OK)
        return rc;
    if (slot == XC_CHECKED_SLOTS) {
        slot = c->checked_next++ % XC_CHECKED_SLOTS;
        memcpy(c->checked[slot].gid, gid, len);
        c->checked[slot].len = len;
    }
    c->checked[slot].at_ns = now;
    return XW_OK;
}

/* --- the self-update before sending (send.c) --- */
static int key_update_plan(xc_client *c, xc_group *g, void *ctx, xc_commit_plan *plan, xw_errbuf *eb)
{
    (void)ctx;
    (void)eb;
    /* still due after the re-sync? (a commit of ours in between rotated the key) */
    if (xc_now(c) - g->row.rotated_at_ns < XC_GROUP_KEY_ROTATION_NS)
        plan->nothing_to_do = 1;
    return XW_OK; /* no proposals: a commit with a path is a new leaf key for us */
}

int xc_group_key_update_if_due(xc_client *c, const uint8_t *gid, size_t len, xw_errbuf *eb)
{
    xc_group_row r;
    xc_group_row_init(&r);
    int rc = xc_store_group_get(c->st, gid, len, &r, eb);
    int due = rc == XW_OK && r.active && xc_now(c) - r.rotated_at_ns >= XC_GROUP_KEY_ROTATION_NS;
    xc_group_row_free(&r);
    if (rc != XW_OK || !due)
        return rc;
    return xc_commit_intent(c, gid, len, XC_INTENT_KEY_UPDATE, key_update_plan, NULL, eb);
}
