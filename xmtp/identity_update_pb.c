/*
 * IdentityUpdate <-> protobuf (xmtp.identity.associations, proto/identity/associations/).
 *
 * Encoding mirrors libxmtp's serialization.rs, so our bytes are the bytes libxmtp would
 * produce for the same update: addresses as lowercase "0x" text, identifier kinds set to
 * ETHEREUM, installation signatures with their public key. Decoding accepts what libxmtp
 * accepts (UNSPECIFIED identifier kinds mean Ethereum, addresses in any case) and refuses
 * with a specific message what it refuses: missing actions, identifiers or signatures,
 * malformed addresses, keys of the wrong size. Passkey, smart-contract-wallet and legacy
 * signatures are decoded into the model; the association state refuses them.
 */
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/parse.h"
#include "gen/xmtp/identity/associations/association.pb-c.h"
#include "gen/xmtp/identity/associations/signature.pb-c.h"
#include "proto/pb.h"
#include "xmtp/identity_update.h"

typedef Xmtp__Identity__Associations__IdentityUpdate PbUpdate;
typedef Xmtp__Identity__Associations__IdentityAction PbAction;
typedef Xmtp__Identity__Associations__MemberIdentifier PbMember;
typedef Xmtp__Identity__Associations__Signature PbSig;

/* --- encoding ------------------------------------------------------------------------------ */

/* Everything one encode allocates on the stack side: small fixed pools. */
typedef struct {
    PbMember member;
    Xmtp__Identity__Associations__Passkey passkey;
    PbSig sig[2];
    Xmtp__Identity__Associations__RecoverableEcdsaSignature ecdsa[2];
    Xmtp__Identity__Associations__RecoverableEd25519Signature ed[2];
    Xmtp__Identity__Associations__CreateInbox create;
    Xmtp__Identity__Associations__AddAssociation add;
    Xmtp__Identity__Associations__RevokeAssociation revoke;
    Xmtp__Identity__Associations__ChangeRecoveryAddress change;
    char text[2 * XMTP_MEMBER_ID_MAX + 3];
} enc_action;

static int enc_sig(const xmtp_signature *s, enc_action *e, int slot, PbSig **out, xw_errbuf *eb)
{
    PbSig *p = &e->sig[slot];
    xmtp__identity__associations__signature__init(p);
    switch (s->kind) {
    case XMTP_SIG_ERC191:
        xmtp__identity__associations__recoverable_ecdsa_signature__init(&e->ecdsa[slot]);
        e->ecdsa[slot].bytes.data = (uint8_t *)s->sig;
        e->ecdsa[slot].bytes.len = s->len;
        p->signature_case = XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_ERC_191;
        p->erc_191 = &e->ecdsa[slot];
        break;
    case XMTP_SIG_INSTALLATION:
        xmtp__identity__associations__recoverable_ed25519_signature__init(&e->ed[slot]);
        e->ed[slot].bytes.data = (uint8_t *)s->sig;
        e->ed[slot].bytes.len = s->len;
        e->ed[slot].public_key.data = (uint8_t *)s->pub;
        e->ed[slot].public_key.len = XMTP_ED25519_PK_LEN;
        p->signature_case = XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_INSTALLATION_KEY;
        p->installation_key = &e->ed[slot];
        break;
    case XMTP_SIG_NONE: {
        char t[2 * XMTP_MEMBER_ID_MAX + 3];
        xmtp_member_text(&s->want, t);
        return xw_errf(eb, XW_ESTATE, "the update still needs a signature from %s %s",
                       xmtp_member_kind_name(s->want.kind), t);
    }
    default:
        return xw_errf(eb, XW_EUNSUPPORTED, "cannot encode a %s", xmtp_sig_kind_name(s->kind));
    }
    *out = p;
    return XW_OK;
}

static void enc_member(const xmtp_member_id *m, enc_action *e)
{
    xmtp__identity__associations__member_identifier__init(&e->member);
    if (m->kind == XMTP_MEMBER_ETHEREUM) {
        xmtp_member_text(m, e->text);
        e->member.kind_case = XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_ETHEREUM_ADDRESS;
        e->member.ethereum_address = e->text;
    } else if (m->kind == XMTP_MEMBER_INSTALLATION) {
        e->member.kind_case = XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_INSTALLATION_PUBLIC_KEY;
        e->member.installation_public_key.data = (uint8_t *)m->bytes;
        e->member.installation_public_key.len = m->len;
    } else {
        xmtp__identity__associations__passkey__init(&e->passkey);
        e->passkey.key.data = (uint8_t *)m->bytes;
        e->passkey.key.len = m->len;
        e->member.kind_case = XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_PASSKEY;
        e->member.passkey = &e->passkey;
    }
}

int xmtp_idu_encode(const xmtp_idu *u, xw_buf *out, xw_errbuf *eb)
{
    if (u->n_actions == 0)
        return xw_errf(eb, XW_ESTATE, "an identity update needs at least one action");
    enc_action *e = xw_calloc(u->n_actions, sizeof *e);
    PbAction *acts = xw_calloc(u->n_actions, sizeof *acts);
    PbAction **ptrs = xw_calloc(u->n_actions, sizeof *ptrs);
    int rc = XW_OK;
    if (!e || !acts || !ptrs) {
        rc = xw_errf(eb, XW_ENOMEM, "out of memory encoding an identity update");
        goto out;
    }
    for (size_t i = 0; i < u->n_actions && !rc; i++) {
        const xmtp_action *a = &u->actions[i];
        PbAction *pa = &acts[i];
        xmtp__identity__associations__identity_action__init(pa);
        ptrs[i] = pa;
        enc_action *x = &e[i];
        switch (a->kind) {
        case XMTP_ACTION_CREATE_INBOX:
            xmtp__identity__associations__create_inbox__init(&x->create);
            xmtp_member_text(&a->member, x->text);
            x->create.initial_identifier = x->text;
            x->create.nonce = a->nonce;
            x->create.initial_identifier_kind =
                XMTP__IDENTITY__ASSOCIATIONS__IDENTIFIER_KIND__IDENTIFIER_KIND_ETHEREUM;
            rc = enc_sig(&a->sig, x, 0, &x->create.initial_identifier_signature, eb);
            pa->kind_case = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_CREATE_INBOX;
            pa->create_inbox = &x->create;
            break;
        case XMTP_ACTION_ADD:
            xmtp__identity__associations__add_association__init(&x->add);
            enc_member(&a->member, x);
            x->add.new_member_identifier = &x->member;
            rc = enc_sig(&a->sig, x, 0, &x->add.existing_member_signature, eb);
            if (!rc)
                rc = enc_sig(&a->new_member_sig, x, 1, &x->add.new_member_signature, eb);
            pa->kind_case = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_ADD;
            pa->add = &x->add;
            break;
        case XMTP_ACTION_REVOKE:
            xmtp__identity__associations__revoke_association__init(&x->revoke);
            enc_member(&a->member, x);
            x->revoke.member_to_revoke = &x->member;
            rc = enc_sig(&a->sig, x, 0, &x->revoke.recovery_identifier_signature, eb);
            pa->kind_case = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_REVOKE;
            pa->revoke = &x->revoke;
            break;
        case XMTP_ACTION_CHANGE_RECOVERY:
            xmtp__identity__associations__change_recovery_address__init(&x->change);
            xmtp_member_text(&a->member, x->text);
            x->change.new_recovery_identifier = x->text;
            x->change.new_recovery_identifier_kind =
                XMTP__IDENTITY__ASSOCIATIONS__IDENTIFIER_KIND__IDENTIFIER_KIND_ETHEREUM;
            rc = enc_sig(&a->sig, x, 0, &x->change.existing_recovery_identifier_signature, eb);
            pa->kind_case = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_CHANGE_RECOVERY_ADDRESS;
            pa->change_recovery_address = &x->change;
            break;
        default:
            rc = xw_errf(eb, XW_EINVAL, "action %zu has unknown kind %d", i + 1, (int)a->kind);
        }
        if (rc)
            xw_errctx(eb, rc, "action %zu", i + 1);
    }
    if (!rc) {
        PbUpdate pu = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_UPDATE__INIT;
        pu.n_actions = u->n_actions;
        pu.actions = ptrs;
        pu.client_timestamp_ns = u->client_timestamp_ns;
        pu.inbox_id = (char *)u->inbox_id;
        rc = xw_pb_encode(&pu.base, out, eb);
    }
out:
    xw_free(e);
    xw_free(acts);
    xw_free(ptrs);
    return rc;
}

/* --- decoding ------------------------------------------------------------------------------ */

static int dec_address(const char *s, xmtp_member_id *m, const char *what, xw_errbuf *eb)
{
    uint8_t a[XMTP_ADDRESS_LEN];
    int rc = xmtp_address_parse(s, s ? strlen(s) : 0, 0, a, eb);
    if (rc)
        return xw_errctx(eb, rc, "%s", what);
    xmtp_member_eth(m, a);
    return XW_OK;
}

/* An Identifier (string + kind) as CreateInbox and ChangeRecoveryAddress carry it. */
static int dec_identifier(const char *s, int kind, xmtp_member_id *m, const char *what, xw_errbuf *eb)
{
    if (kind == XMTP__IDENTITY__ASSOCIATIONS__IDENTIFIER_KIND__IDENTIFIER_KIND_UNSPECIFIED ||
        kind == XMTP__IDENTITY__ASSOCIATIONS__IDENTIFIER_KIND__IDENTIFIER_KIND_ETHEREUM)
        return dec_address(s, m, what, eb);
    if (kind == XMTP__IDENTITY__ASSOCIATIONS__IDENTIFIER_KIND__IDENTIFIER_KIND_PASSKEY) {
        size_t n = s ? strlen(s) : 0;
        xw_buf b;
        xw_buf_init(&b, XMTP_MEMBER_ID_MAX);
        if (n == 0 || n > 2 * XMTP_MEMBER_ID_MAX || xw_hex_decode(s, n, &b) != XW_OK) {
            xw_buf_free(&b);
            return xw_errf(eb, XW_EMALFORMED, "%s: a passkey identifier is 1 to %d bytes of hex", what,
                           XMTP_MEMBER_ID_MAX);
        }
        memset(m, 0, sizeof *m);
        m->kind = XMTP_MEMBER_PASSKEY;
        m->len = (uint8_t)b.len;
        memcpy(m->bytes, b.data, b.len);
        xw_buf_free(&b);
        return XW_OK;
    }
    return xw_errf(eb, XW_EMALFORMED, "%s: unknown identifier kind %d", what, kind);
}

static int dec_member(const PbMember *p, xmtp_member_id *m, const char *what, xw_errbuf *eb)
{
    if (!p)
        return xw_errf(eb, XW_EMALFORMED, "%s is missing", what);
    memset(m, 0, sizeof *m);
    switch (p->kind_case) {
    case XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_ETHEREUM_ADDRESS:
        return dec_address(p->ethereum_address, m, what, eb);
    case XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_INSTALLATION_PUBLIC_KEY:
        if (p->installation_public_key.len != XMTP_ED25519_PK_LEN)
            return xw_errf(eb, XW_EMALFORMED, "%s: an installation public key is 32 bytes, got %zu", what,
                           p->installation_public_key.len);
        xmtp_member_installation(m, p->installation_public_key.data);
        return XW_OK;
    case XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_PASSKEY:
        if (!p->passkey || p->passkey->key.len == 0 || p->passkey->key.len > XMTP_MEMBER_ID_MAX)
            return xw_errf(eb, XW_EMALFORMED, "%s: passkey public key is missing or longer than %d bytes",
                           what, XMTP_MEMBER_ID_MAX);
        m->kind = XMTP_MEMBER_PASSKEY;
        m->len = (uint8_t)p->passkey->key.len;
        memcpy(m->bytes, p->passkey->key.data, p->passkey->key.len);
        return XW_OK;
    default:
        return xw_errf(eb, XW_EMALFORMED, "%s has no identifier", what);
    }
}

/* "eip155:<chain>:<address>" (CAIP-10) into chain id and account text, for messages only: any
 * other text (another namespace, a chain that is not a whole number) is kept whole as the
 * account, with chain id 0. */
static void dec_caip10(const char *s, xmtp_signature *out)
{
    static const char pfx[] = "eip155:";
    if (!s)
        return;
    const char *c = strncmp(s, pfx, sizeof pfx - 1) == 0 ? s + sizeof pfx - 1 : NULL;
    const char *colon = c ? strchr(c, ':') : NULL;
    uint64_t chain;
    if (c && xw_parse_u64_len("chain id", c, colon ? (size_t)(colon - c) : strlen(c), 0, UINT64_MAX, &chain,
                              NULL) == XW_OK) {
        out->chain_id = chain;
        snprintf(out->account, sizeof out->account, "%.63s", colon ? colon + 1 : "");
    } else {
        snprintf(out->account, sizeof out->account, "%.63s", s);
    }
}

static int dec_sig(const PbSig *p, xmtp_signature *s, const char *what, xw_errbuf *eb)
{
    memset(s, 0, sizeof *s);
    if (!p)
        return xw_errf(eb, XW_EMALFORMED, "%s is missing", what);
    switch (p->signature_case) {
    case XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_ERC_191:
        if (!p->erc_191 || p->erc_191->bytes.len != XMTP_ECDSA_SIG_LEN)
            return xw_errf(eb, XW_EMALFORMED, "%s: a wallet signature is 65 bytes, got %zu", what,
                           p->erc_191 ? p->erc_191->bytes.len : 0);
        s->kind = XMTP_SIG_ERC191;
        s->len = XMTP_ECDSA_SIG_LEN;
        memcpy(s->sig, p->erc_191->bytes.data, XMTP_ECDSA_SIG_LEN);
        return XW_OK;
    case XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_INSTALLATION_KEY:
        if (!p->installation_key || p->installation_key->bytes.len != XMTP_ED25519_SIG_LEN ||
            p->installation_key->public_key.len != XMTP_ED25519_PK_LEN)
            return xw_errf(
                eb, XW_EMALFORMED,
                "%s: an installation signature is 64 bytes with a 32-byte public key, got %zu and %zu", what,
                p->installation_key ? p->installation_key->bytes.len : 0,
                p->installation_key ? p->installation_key->public_key.len : 0);
        s->kind = XMTP_SIG_INSTALLATION;
        s->len = XMTP_ED25519_SIG_LEN;
        memcpy(s->sig, p->installation_key->bytes.data, XMTP_ED25519_SIG_LEN);
        memcpy(s->pub, p->installation_key->public_key.data, XMTP_ED25519_PK_LEN);
        return XW_OK;
    case XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_ERC_6492:
        s->kind = XMTP_SIG_ERC6492;
        dec_caip10(p->erc_6492 ? p->erc_6492->account_id : NULL, s);
        return XW_OK;
    case XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_DELEGATED_ERC_191:
        s->kind = XMTP_SIG_LEGACY_DELEGATED;
        return XW_OK;
    case XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_PASSKEY:
        s->kind = XMTP_SIG_PASSKEY;
        return XW_OK;
    default:
        return xw_errf(eb, XW_EMALFORMED, "%s is empty", what);
    }
}

static int dec_action(const PbAction *p, xmtp_action *a, xw_errbuf *eb)
{
    memset(a, 0, sizeof *a);
    switch (p ? p->kind_case : 0) {
    case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_CREATE_INBOX: {
        const Xmtp__Identity__Associations__CreateInbox *c = p->create_inbox;
        a->kind = XMTP_ACTION_CREATE_INBOX;
        int rc = dec_identifier(c->initial_identifier, c->initial_identifier_kind, &a->member,
                                "CreateInbox initial identifier", eb);
        if (rc)
            return rc;
        a->nonce = c->nonce;
        return dec_sig(c->initial_identifier_signature, &a->sig, "CreateInbox signature", eb);
    }
    case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_ADD: {
        const Xmtp__Identity__Associations__AddAssociation *c = p->add;
        a->kind = XMTP_ACTION_ADD;
        int rc = dec_member(c->new_member_identifier, &a->member, "AddAssociation new member", eb);
        if (!rc)
            rc = dec_sig(c->existing_member_signature, &a->sig, "AddAssociation existing member signature",
                         eb);
        if (!rc)
            rc = dec_sig(c->new_member_signature, &a->new_member_sig, "AddAssociation new member signature",
                         eb);
        return rc;
    }
    case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_REVOKE: {
        const Xmtp__Identity__Associations__RevokeAssociation *c = p->revoke;
        a->kind = XMTP_ACTION_REVOKE;
        int rc = dec_member(c->member_to_revoke, &a->member, "RevokeAssociation member", eb);
        if (!rc)
            rc = dec_sig(c->recovery_identifier_signature, &a->sig, "RevokeAssociation signature", eb);
        return rc;
    }
    case XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_CHANGE_RECOVERY_ADDRESS: {
        const Xmtp__Identity__Associations__ChangeRecoveryAddress *c = p->change_recovery_address;
        a->kind = XMTP_ACTION_CHANGE_RECOVERY;
        int rc = dec_identifier(c->new_recovery_identifier, c->new_recovery_identifier_kind, &a->member,
                                "ChangeRecoveryAddress new identifier", eb);
        if (!rc)
            rc = dec_sig(c->existing_recovery_identifier_signature, &a->sig,
                         "ChangeRecoveryAddress signature", eb);
        return rc;
    }
    default:
        return xw_errf(eb, XW_EMALFORMED,
                       "identity action is empty (no CreateInbox, Add, Revoke or "
                       "ChangeRecoveryAddress)");
    }
}

int xmtp_idu_decode(const uint8_t *data, size_t len, xmtp_idu **out, xw_errbuf *eb)
{
    PbUpdate *p = NULL;
    int rc = xw_pb_decode_as(&xmtp__identity__associations__identity_update__descriptor, data, len,
                             XMTP_IDU_MAX_BYTES, &p, eb);
    if (rc)
        return xw_errctx(eb, rc, "identity update");
    xmtp_idu *u = NULL;
    if (p->n_actions == 0) {
        rc = xw_errf(eb, XW_EMALFORMED, "identity update has no actions");
        goto out;
    }
    if (p->n_actions > XMTP_IDU_MAX_ACTIONS) {
        rc = xw_errf(eb, XW_ELIMIT, "identity update has %zu actions, more than %d", p->n_actions,
                     XMTP_IDU_MAX_ACTIONS);
        goto out;
    }
    if ((rc = xmtp_inbox_id_check(p->inbox_id, strlen(p->inbox_id), eb))) {
        xw_errctx(eb, rc, "identity update");
        goto out;
    }
    if ((rc = xmtp_idu_new(p->inbox_id, p->client_timestamp_ns, &u, eb)))
        goto out;
    if (!(u->actions = xw_calloc(p->n_actions, sizeof *u->actions))) {
        rc = xw_errf(eb, XW_ENOMEM, "out of memory decoding an identity update");
        goto out;
    }
    for (size_t i = 0; i < p->n_actions; i++) {
        if ((rc = dec_action(p->actions[i], &u->actions[i], eb))) {
            xw_errctx(eb, rc, "identity update action %zu", i + 1);
            goto out;
        }
        u->n_actions++;
    }
out:
    xw_pb_free(&p->base);
    if (rc) {
        xmtp_idu_free(u);
        return rc;
    }
    *out = u;
    return XW_OK;
}
