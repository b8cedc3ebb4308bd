/*
 * Association state folding (libxmtp associations/association_log.rs semantics).
 *
 * apply_idu works in two passes, like libxmtp: first every signature slot is verified
 * against the update's signature text, giving (signer, kind, replay key) per slot; then the
 * actions run in order on a private copy of the state, which replaces the caller's state
 * only when the whole update succeeded. Replay keys are checked against the signatures of
 * earlier updates only: one update legitimately reuses a signature (CreateInbox and the
 * AddAssociation of the first installation carry the same wallet signature).
 */
#include "xmtp/association.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "xmtp/association_int.h"

/* A verified signature slot. */
typedef struct {
    xmtp_member_id signer;
    xmtp_sig_kind kind;
    xmtp_seen_key replay;
    int has_chain_id;
    uint64_t chain_id;
} verified;

int xmtp_assoc_state_new(const char *inbox_id, xmtp_assoc_state **out, xw_errbuf *eb)
{
    int rc = xmtp_inbox_id_check(inbox_id, inbox_id ? strlen(inbox_id) : 0, eb);
    if (rc)
        return rc;
    xmtp_assoc_state *st = xw_calloc(1, sizeof *st);
    if (!st)
        return xw_errf(eb, XW_ENOMEM, "out of memory for an association state");
    memcpy(st->inbox_id, inbox_id, XMTP_INBOX_ID_STRLEN + 1);
    *out = st;
    return XW_OK;
}

void xmtp_assoc_state_free(xmtp_assoc_state *st)
{
    if (!st)
        return;
    xw_free(st->members);
    xw_free(st->seen);
    xw_free(st);
}

int xmtp_assoc_state_clone(const xmtp_assoc_state *st, xmtp_assoc_state **out, xw_errbuf *eb)
{
    xmtp_assoc_state *c = xw_malloc(sizeof *c);
    if (!c)
        return xw_errf(eb, XW_ENOMEM, "out of memory copying an association state");
    *c = *st;
    c->members = NULL;
    c->seen = NULL;
    if (st->cap_members && !(c->members = xw_memdup(st->members, st->cap_members * sizeof *st->members)))
        goto oom;
    if (st->cap_seen && !(c->seen = xw_memdup(st->seen, st->cap_seen * sizeof *st->seen)))
        goto oom;
    *out = c;
    return XW_OK;
oom:
    xmtp_assoc_state_free(c);
    return xw_errf(eb, XW_ENOMEM, "out of memory copying an association state");
}

static xmtp_member *find(const xmtp_assoc_state *st, const xmtp_member_id *id)
{
    for (size_t i = 0; i < st->n_members; i++)
        if (xmtp_member_equal(&st->members[i].id, id))
            return &st->members[i];
    return NULL;
}

static int has_seen(const xmtp_assoc_state *st, const xmtp_seen_key *k)
{
    for (size_t i = 0; i < st->n_seen; i++)
        if (st->seen[i].len == k->len && memcmp(st->seen[i].key, k->key, k->len) == 0)
            return 1;
    return 0;
}

int xmtp_assoc_put_member_(xmtp_assoc_state *st, const xmtp_member *m, xw_errbuf *eb)
{
    xmtp_member *old = find(st, &m->id);
    if (old) { /* libxmtp's map insert: the newer record replaces the older */
        *old = *m;
        return XW_OK;
    }
    if (st->n_members == XMTP_ASSOC_MAX_MEMBERS)
        return xw_errf(eb, XW_ELIMIT, "inbox has %d members, the most this state holds",
                       XMTP_ASSOC_MAX_MEMBERS);
    xmtp_member *p = xw_grow(st->members, st->n_members, &st->cap_members, 8, sizeof *p);
    if (!p)
        return xw_errf(eb, XW_ENOMEM, "out of memory adding a member");
    st->members = p;
    st->members[st->n_members++] = *m;
    return XW_OK;
}

static void remove_member(xmtp_assoc_state *st, const xmtp_member_id *id)
{
    xmtp_member *m = find(st, id);
    if (!m)
        return;
    size_t i = (size_t)(m - st->members);
    memmove(&st->members[i], &st->members[i + 1], (st->n_members - i - 1) * sizeof *m);
    st->n_members--;
}

int xmtp_assoc_add_seen_(xmtp_assoc_state *st, const xmtp_seen_key *k, xw_errbuf *eb)
{
    if (has_seen(st, k))
        return XW_OK;
    if (st->n_seen == XMTP_ASSOC_MAX_SEEN)
        return xw_errf(eb, XW_ELIMIT, "inbox has used %d signatures, the most this state holds",
                       XMTP_ASSOC_MAX_SEEN);
    xmtp_seen_key *p = xw_grow(st->seen, st->n_seen, &st->cap_seen, 16, sizeof *p);
    if (!p)
        return xw_errf(eb, XW_ENOMEM, "out of memory recording a signature");
    st->seen = p;
    st->seen[st->n_seen++] = *k;
    return XW_OK;
}

/* --- signature verification ------------------------------------------------------------- */

static int verify_slot(const xmtp_signature *s, const uint8_t *text, size_t text_len, verified *v,
                       xw_errbuf *eb)
{
    memset(v, 0, sizeof *v);
    v->kind = s->kind;
    switch (s->kind) {
    case XMTP_SIG_ERC191: {
        uint8_t addr[XMTP_ADDRESS_LEN];
        int rc = xmtp_eip191_recover(text, text_len, s->sig, s->len, addr, v->replay.key, eb);
        if (rc)
            return rc;
        v->replay.len = XMTP_ECDSA_SIG_LEN;
        xmtp_member_eth(&v->signer, addr);
        return XW_OK;
    }
    case XMTP_SIG_INSTALLATION: {
        if (s->len != XMTP_ED25519_SIG_LEN)
            return xw_errf(eb, XW_EBADSIG, "an installation signature is 64 bytes, got %u", s->len);
        int rc = xmtp_ed25519ph_verify(s->pub, XMTP_CTX_IDENTITY_UPDATE, strlen(XMTP_CTX_IDENTITY_UPDATE),
                                       text, text_len, s->sig, eb);
        if (rc)
            return rc;
        xmtp_member_installation(&v->signer, s->pub);
        v->replay.len = XMTP_ED25519_SIG_LEN;
        memcpy(v->replay.key, s->sig, XMTP_ED25519_SIG_LEN);
        return XW_OK;
    }
    case XMTP_SIG_ERC6492:
        return xw_errf(
            eb, XW_EXMTP_SCW,
            "signature by smart-contract wallet %s on chain %llu cannot be checked without chain access "
            "(ERC-1271/6492); this inbox cannot be followed",
            s->account[0] ? s->account : "(unknown)", (unsigned long long)s->chain_id);
    case XMTP_SIG_PASSKEY:
        return xw_errf(eb, XW_EXMTP_PASSKEY, "passkey (P-256 WebAuthn) signatures are not supported");
    case XMTP_SIG_LEGACY_DELEGATED:
        return xw_errf(
            eb, XW_EXMTP_LEGACY,
            "legacy delegated (XMTP V2 key) signatures are not supported; only inboxes created with "
            "a wallet or installation signature can be followed");
    default:
        return xw_errf(eb, XW_EMALFORMED, "signature is missing");
    }
}

/* --- rules -------------------------------------------------------------------------------- */

static int allowed_sig_for_kind(xmtp_member_kind role, xmtp_sig_kind kind, const char *what, xw_errbuf *eb)
{
    int ok = (role == XMTP_MEMBER_ETHEREUM &&
              (kind == XMTP_SIG_ERC191 || kind == XMTP_SIG_ERC6492 || kind == XMTP_SIG_LEGACY_DELEGATED)) ||
             (role == XMTP_MEMBER_INSTALLATION && kind == XMTP_SIG_INSTALLATION) ||
             (role == XMTP_MEMBER_PASSKEY && kind == XMTP_SIG_PASSKEY);
    if (!ok)
        return xw_errf(eb, XW_EXMTP_SIG_KIND, "%s is a %s, which an %s cannot make", what,
                       xmtp_sig_kind_name(kind), xmtp_member_kind_name(role));
    return XW_OK;
}

static int chain_id_matches(const xmtp_member *m, const verified *v, xw_errbuf *eb)
{
    if (m->has_chain_id != v->has_chain_id || (m->has_chain_id && m->chain_id != v->chain_id))
        return xw_errf(eb, XW_EXMTP_CHAIN_ID, "member was added on chain %llu but signs from chain %llu",
                       (unsigned long long)(m->has_chain_id ? m->chain_id : 0),
                       (unsigned long long)(v->has_chain_id ? v->chain_id : 0));
    return XW_OK;
}

static int replay_check(const xmtp_assoc_state *before, const verified *v, int n, xw_errbuf *eb)
{
    for (int i = 0; i < n; i++)
        if (has_seen(before, &v[i].replay))
            return xw_errf(
                eb, XW_EXMTP_REPLAY,
                "its %s was already used by an earlier update of this inbox; sign this update anew",
                xmtp_sig_kind_name(v[i].kind));
    return XW_OK;
}

static int do_create(xmtp_assoc_state *st, const xmtp_action *a, const verified *v, char derived[65],
                     xw_errbuf *eb)
{
    char t1[2 * XMTP_MEMBER_ID_MAX + 3], t2[2 * XMTP_MEMBER_ID_MAX + 3];
    if (st->created)
        return xw_errf(eb, XW_EXMTP_ALREADY_CREATED,
                       "inbox %s was already created; CreateInbox may only come first", st->inbox_id);
    if (a->member.kind == XMTP_MEMBER_PASSKEY)
        return xw_errf(eb, XW_EXMTP_PASSKEY, "inbox is created by a passkey, which is not supported");
    if (!xmtp_member_equal(&v->signer, &a->member)) {
        xmtp_member_text(&a->member, t1);
        xmtp_member_text(&v->signer, t2);
        return xw_errf(eb, XW_EXMTP_SIGNER, "CreateInbox for %s is signed by %s instead", t1, t2);
    }
    int rc = allowed_sig_for_kind(a->member.kind, v->kind, "the initial identifier's signature", eb);
    if (rc)
        return rc;
    xmtp_inbox_id_for_address(a->member.bytes, a->nonce, derived);
    xmtp_member m = {.id = a->member, .has_chain_id = v->has_chain_id, .chain_id = v->chain_id};
    if ((rc = xmtp_assoc_put_member_(st, &m, eb)))
        return rc;
    st->recovery = a->member;
    st->created = 1;
    return XW_OK;
}

static int do_add(xmtp_assoc_state *st, const xmtp_assoc_state *before, const xmtp_action *a,
                  const verified *v, uint64_t ts, xw_errbuf *eb)
{
    char t1[2 * XMTP_MEMBER_ID_MAX + 3], t2[2 * XMTP_MEMBER_ID_MAX + 3];
    const verified *existing = &v[0], *added = &v[1];
    int rc = replay_check(before, v, 2, eb);
    if (rc)
        return rc;
    if (a->member.kind == XMTP_MEMBER_PASSKEY)
        return xw_errf(eb, XW_EXMTP_PASSKEY, "adding a passkey member is not supported");
    if (!xmtp_member_equal(&added->signer, &a->member)) {
        xmtp_member_text(&a->member, t1);
        xmtp_member_text(&added->signer, t2);
        return xw_errf(eb, XW_EXMTP_SIGNER,
                       "the new member %s must sign for itself, but its signature is from %s", t1, t2);
    }
    if (xmtp_member_equal(&added->signer, &existing->signer))
        return xw_errf(eb, XW_EXMTP_ASSOCIATION, "a member cannot add itself; another member must sign");
    if ((rc = allowed_sig_for_kind(a->member.kind, added->kind, "the new member's signature", eb)))
        return rc;
    const xmtp_member *em = find(st, &existing->signer);
    xmtp_member_id entity;
    if (em) {
        if ((rc = chain_id_matches(em, existing, eb)))
            return rc;
        entity = em->id;
    } else {
        if (!xmtp_member_equal(&existing->signer, &st->recovery)) {
            xmtp_member_text(&existing->signer, t1);
            return xw_errf(eb, XW_EXMTP_SIGNER,
                           "the adding signature is from %s, which is neither a member of the inbox nor its "
                           "recovery address",
                           t1);
        }
        entity = st->recovery;
    }
    if ((rc = allowed_sig_for_kind(entity.kind, existing->kind, "the existing member's signature", eb)))
        return rc;
    if (existing->signer.kind == XMTP_MEMBER_INSTALLATION && a->member.kind == XMTP_MEMBER_INSTALLATION)
        return xw_errf(eb, XW_EXMTP_ASSOCIATION,
                       "an installation may not add another installation; a wallet (member or recovery "
                       "address) must sign");
    xmtp_member m = {.id = a->member,
                     .has_added_by = 1,
                     .added_by = entity,
                     .has_timestamp = 1,
                     .client_timestamp_ns = ts,
                     .has_chain_id = added->has_chain_id,
                     .chain_id = added->chain_id};
    return xmtp_assoc_put_member_(st, &m, eb);
}

/* Shared checks of revoke and change-recovery: replay, chain id, signed by the recovery id. */
static int recovery_signed(const xmtp_assoc_state *st, const xmtp_assoc_state *before, const verified *v,
                           const char *what, xw_errbuf *eb)
{
    char t1[2 * XMTP_MEMBER_ID_MAX + 3], t2[2 * XMTP_MEMBER_ID_MAX + 3];
    int rc = replay_check(before, v, 1, eb);
    if (rc)
        return rc;
    const xmtp_member *m = find(st, &v->signer);
    if (m && (rc = chain_id_matches(m, v, eb)))
        return rc;
    if (!xmtp_member_equal(&v->signer, &st->recovery)) {
        xmtp_member_text(&v->signer, t1);
        xmtp_member_text(&st->recovery, t2);
        return xw_errf(eb, XW_EXMTP_SIGNER, "%s must be signed by the recovery address %s, not by %s", what,
                       t2, t1);
    }
    return XW_OK;
}

static int do_revoke(xmtp_assoc_state *st, const xmtp_assoc_state *before, const xmtp_action *a,
                     const verified *v, xw_errbuf *eb)
{
    int rc = recovery_signed(st, before, v, "a revocation", eb);
    if (rc)
        return rc;
    /* first the installations the revoked member added, then the member itself */
    for (size_t i = 0; i < st->n_members;) {
        const xmtp_member *m = &st->members[i];
        if (m->id.kind == XMTP_MEMBER_INSTALLATION && m->has_added_by &&
            xmtp_member_equal(&m->added_by, &a->member)) {
            memmove(&st->members[i], &st->members[i + 1], (st->n_members - i - 1) * sizeof *m);
            st->n_members--;
        } else {
            i++;
        }
    }
    remove_member(st, &a->member);
    return XW_OK;
}

static int do_change_recovery(xmtp_assoc_state *st, const xmtp_assoc_state *before, const xmtp_action *a,
                              const verified *v, xw_errbuf *eb)
{
    int rc = recovery_signed(st, before, v, "a recovery address change", eb);
    if (rc)
        return rc;
    if (a->member.kind != XMTP_MEMBER_ETHEREUM)
        return xw_errf(eb, XW_EXMTP_PASSKEY, "only an Ethereum address can become the recovery identifier");
    st->recovery = a->member;
    return XW_OK;
}

static const char *action_name(xmtp_action_kind k)
{
    switch (k) {
    case XMTP_ACTION_CREATE_INBOX:
        return "CreateInbox";
    case XMTP_ACTION_ADD:
        return "AddAssociation";
    case XMTP_ACTION_REVOKE:
        return "RevokeAssociation";
    case XMTP_ACTION_CHANGE_RECOVERY:
        return "ChangeRecoveryAddress";
    }
    return "unknown action";
}

int xmtp_assoc_state_apply_idu(xmtp_assoc_state *st, const xmtp_idu *u, xw_errbuf *eb)
{
    if (strcmp(u->inbox_id, st->inbox_id) != 0)
        return xw_errf(eb, XW_EXMTP_INBOX, "update is for inbox %s but this is the state of inbox %s",
                       u->inbox_id, st->inbox_id);
    if (u->n_actions == 0)
        return xw_errf(eb, XW_EMALFORMED, "identity update has no actions");
    if (u->n_actions > XMTP_IDU_MAX_ACTIONS)
        return xw_errf(eb, XW_ELIMIT, "identity update has %zu actions, more than %d", u->n_actions,
                       XMTP_IDU_MAX_ACTIONS);

    xw_buf text;
    xw_buf_init(&text, 1 << 20);
    verified *v = xw_calloc(2 * u->n_actions, sizeof *v);
    xmtp_assoc_state *next = NULL;
    int rc = XW_OK;
    if (!v) {
        rc = xw_errf(eb, XW_ENOMEM, "out of memory verifying an identity update");
        goto out;
    }
    if ((rc = xmtp_idu_signature_text(u, &text))) {
        rc = xw_errf(eb, rc, "could not build the signature text of the update");
        goto out;
    }
    /* pass 1: every signature */
    for (size_t i = 0; i < u->n_actions; i++) {
        const xmtp_action *a = &u->actions[i];
        int nslots = a->kind == XMTP_ACTION_ADD ? 2 : 1;
        for (int j = 0; j < nslots; j++) {
            rc = verify_slot(j ? &a->new_member_sig : &a->sig, text.data, text.len, &v[2 * i + j], eb);
            if (rc) {
                xw_errctx(eb, rc, "action %zu (%s), %s", i + 1, action_name(a->kind),
                          a->kind == XMTP_ACTION_ADD
                              ? (j ? "new member's signature" : "existing member's signature")
                              : "signature");
                goto out;
            }
        }
    }
    /* pass 2: the actions, on a copy */
    if ((rc = xmtp_assoc_state_clone(st, &next, eb)))
        goto out;
    char derived[XMTP_INBOX_ID_STRLEN + 1] = "";
    for (size_t i = 0; i < u->n_actions; i++) {
        const xmtp_action *a = &u->actions[i];
        const verified *av = &v[2 * i];
        if (a->kind != XMTP_ACTION_CREATE_INBOX && !next->created) {
            rc = xw_errf(eb, XW_EXMTP_NOT_CREATED,
                         "inbox %s does not exist yet; its first update must be CreateInbox", st->inbox_id);
        } else {
            switch (a->kind) {
            case XMTP_ACTION_CREATE_INBOX:
                rc = do_create(next, a, av, derived, eb);
                break;
            case XMTP_ACTION_ADD:
                rc = do_add(next, st, a, av, u->client_timestamp_ns, eb);
                break;
            case XMTP_ACTION_REVOKE:
                rc = do_revoke(next, st, a, av, eb);
                break;
            case XMTP_ACTION_CHANGE_RECOVERY:
                rc = do_change_recovery(next, st, a, av, eb);
                break;
            default:
                rc = xw_errf(eb, XW_EMALFORMED, "unknown action kind %d", (int)a->kind);
            }
        }
        if (rc) {
            xw_errctx(eb, rc, "action %zu (%s)", i + 1, action_name(a->kind));
            goto out;
        }
    }
    if (derived[0] && strcmp(derived, u->inbox_id) != 0) {
        rc = xw_errf(eb, XW_EXMTP_INBOX,
                     "CreateInbox derives inbox id %s from its address and nonce, but the update says %s",
                     derived, u->inbox_id);
        goto out;
    }
    for (size_t i = 0; i < 2 * u->n_actions; i++)
        if (v[i].replay.len && (rc = xmtp_assoc_add_seen_(next, &v[i].replay, eb)))
            goto out;
    next->n_updates++;
    /* commit: swap contents */
    xmtp_assoc_state tmp = *st;
    *st = *next;
    *next = tmp;
out:
    xmtp_assoc_state_free(next);
    xw_free(v);
    xw_buf_free(&text);
    return rc;
}

int xmtp_assoc_state_created(const xmtp_assoc_state *st) { return st->created; }
const char *xmtp_assoc_state_inbox_id(const xmtp_assoc_state *st) { return st->inbox_id; }
const xmtp_member_id *xmtp_assoc_state_recovery(const xmtp_assoc_state *st)
{
    return st->created ? &st->recovery : NULL;
}
size_t xmtp_assoc_state_member_count(const xmtp_assoc_state *st) { return st->n_members; }
const xmtp_member *xmtp_assoc_state_member_at(const xmtp_assoc_state *st, size_t i)
{
    return i < st->n_members ? &st->members[i] : NULL;
}
const xmtp_member *xmtp_assoc_state_find(const xmtp_assoc_state *st, const xmtp_member_id *id)
{
    return find(st, id);
}
int xmtp_assoc_state_has_installation(const xmtp_assoc_state *st, const uint8_t pk[XMTP_ED25519_PK_LEN])
{
    xmtp_member_id id;
    xmtp_member_installation(&id, pk);
    return find(st, &id) != NULL;
}
size_t xmtp_assoc_state_seen_count(const xmtp_assoc_state *st) { return st->n_seen; }
uint64_t xmtp_assoc_state_sequence_id(const xmtp_assoc_state *st) { return st->sequence_id; }
size_t xmtp_assoc_state_update_count(const xmtp_assoc_state *st) { return st->n_updates; }

int xmtp_assoc_state_apply(xmtp_assoc_state *st, const uint8_t *update, size_t len, xw_errbuf *eb)
{
    xmtp_idu *u = NULL;
    int rc = xmtp_idu_decode(update, len, &u, eb);
    if (rc)
        return rc;
    rc = xmtp_assoc_state_apply_idu(st, u, eb);
    xmtp_idu_free(u);
    return rc;
}

int xmtp_assoc_state_apply_at(xmtp_assoc_state *st, uint64_t sequence_id, const uint8_t *update, size_t len,
                              xw_errbuf *eb)
{
    if (st->n_updates && sequence_id <= st->sequence_id)
        return xw_errf(eb, XW_EXMTP_SEQUENCE,
                       "update with sequence id %llu comes after %llu; apply the log in ascending order",
                       (unsigned long long)sequence_id, (unsigned long long)st->sequence_id);
    int rc = xmtp_assoc_state_apply(st, update, len, eb);
    if (rc)
        return xw_errctx(eb, rc, "update at sequence id %llu", (unsigned long long)sequence_id);
    st->sequence_id = sequence_id;
    return XW_OK;
}

int xmtp_assoc_state_from_log(const char *inbox_id, const xmtp_idu_log_entry *log, size_t n, uint64_t up_to,
                              xmtp_assoc_state **out, xw_errbuf *eb)
{
    xmtp_assoc_state *st = NULL;
    int rc = xmtp_assoc_state_new(inbox_id, &st, eb);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && log[i].sequence_id <= up_to; i++) {
        if ((rc = xmtp_assoc_state_apply_at(st, log[i].sequence_id, log[i].data, log[i].len, eb))) {
            xmtp_assoc_state_free(st);
            return rc;
        }
    }
    *out = st;
    return XW_OK;
}
