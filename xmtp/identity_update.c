/*
 * Identity update model, builder, signature text and signing.
 *
 * The signature text is libxmtp's (associations/unsigned_actions.rs), line for line:
 *   XMTP : Authenticate to inbox\n\nInbox ID: <id>\nCurrent time: <RFC 3339, seconds, Z>\n\n
 *   <one two-line entry per action, joined by \n>\n\nFor more info: https://xmtp.org/signatures
 * The time comes from client_timestamp_ns read as a signed 64-bit count of nanoseconds.
 * Encoding and decoding live in identity_update_pb.c.
 */
#include "xmtp/identity_update.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/codec.h"

void xmtp_member_eth(xmtp_member_id *m, const uint8_t addr[XMTP_ADDRESS_LEN])
{
    memset(m, 0, sizeof *m);
    m->kind = XMTP_MEMBER_ETHEREUM;
    m->len = XMTP_ADDRESS_LEN;
    memcpy(m->bytes, addr, XMTP_ADDRESS_LEN);
}

void xmtp_member_installation(xmtp_member_id *m, const uint8_t pk[XMTP_ED25519_PK_LEN])
{
    memset(m, 0, sizeof *m);
    m->kind = XMTP_MEMBER_INSTALLATION;
    m->len = XMTP_ED25519_PK_LEN;
    memcpy(m->bytes, pk, XMTP_ED25519_PK_LEN);
}

int xmtp_member_equal(const xmtp_member_id *a, const xmtp_member_id *b)
{
    return a->kind == b->kind && a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

void xmtp_member_text(const xmtp_member_id *m, char *out)
{
    if (m->kind == XMTP_MEMBER_ETHEREUM) {
        out[0] = '0';
        out[1] = 'x';
        xw_hex_encode(m->bytes, m->len, out + 2);
    } else {
        xw_hex_encode(m->bytes, m->len, out);
    }
}

const char *xmtp_member_kind_name(xmtp_member_kind k)
{
    switch (k) {
    case XMTP_MEMBER_ETHEREUM:
        return "Ethereum address";
    case XMTP_MEMBER_INSTALLATION:
        return "installation";
    case XMTP_MEMBER_PASSKEY:
        return "passkey";
    default:
        return "unknown member kind";
    }
}

const char *xmtp_sig_kind_name(xmtp_sig_kind k)
{
    switch (k) {
    case XMTP_SIG_ERC191:
        return "ERC-191 wallet signature";
    case XMTP_SIG_ERC6492:
        return "smart-contract wallet (ERC-1271/6492) signature";
    case XMTP_SIG_INSTALLATION:
        return "installation key signature";
    case XMTP_SIG_LEGACY_DELEGATED:
        return "legacy delegated signature";
    case XMTP_SIG_PASSKEY:
        return "passkey signature";
    default:
        return "missing signature";
    }
}

int xmtp_idu_new(const char *inbox_id, uint64_t client_timestamp_ns, xmtp_idu **out, xw_errbuf *eb)
{
    int rc = xmtp_inbox_id_check(inbox_id, inbox_id ? strlen(inbox_id) : 0, eb);
    if (rc)
        return rc;
    xmtp_idu *u = xw_calloc(1, sizeof *u);
    if (!u)
        return xw_errf(eb, XW_ENOMEM, "out of memory for an identity update");
    memcpy(u->inbox_id, inbox_id, XMTP_INBOX_ID_STRLEN + 1);
    u->client_timestamp_ns = client_timestamp_ns;
    *out = u;
    return XW_OK;
}

void xmtp_idu_free(xmtp_idu *u)
{
    if (!u)
        return;
    xw_free(u->actions);
    xw_free(u);
}

static int push_action(xmtp_idu *u, xmtp_action_kind kind, xmtp_action **out, xw_errbuf *eb)
{
    if (u->n_actions >= XMTP_IDU_MAX_ACTIONS)
        return xw_errf(eb, XW_ELIMIT, "an identity update holds at most %d actions; split it",
                       XMTP_IDU_MAX_ACTIONS);
    xmtp_action *a = xw_realloc(u->actions, (u->n_actions + 1) * sizeof *a);
    if (!a)
        return xw_errf(eb, XW_ENOMEM, "out of memory for an identity action");
    u->actions = a;
    xmtp_action *x = &a[u->n_actions++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    *out = x;
    return XW_OK;
}

int xmtp_idu_create_inbox(xmtp_idu *u, const uint8_t addr[XMTP_ADDRESS_LEN], uint64_t nonce, xw_errbuf *eb)
{
    xmtp_action *a;
    int rc = push_action(u, XMTP_ACTION_CREATE_INBOX, &a, eb);
    if (rc)
        return rc;
    xmtp_member_eth(&a->member, addr);
    a->nonce = nonce;
    a->sig.want = a->member;
    return XW_OK;
}

static int check_member(const xmtp_member_id *m, xw_errbuf *eb)
{
    if ((m->kind == XMTP_MEMBER_ETHEREUM && m->len == XMTP_ADDRESS_LEN) ||
        (m->kind == XMTP_MEMBER_INSTALLATION && m->len == XMTP_ED25519_PK_LEN))
        return XW_OK;
    if (m->kind == XMTP_MEMBER_PASSKEY)
        return xw_errf(eb, XW_EXMTP_PASSKEY,
                       "passkey members cannot be built here; use a wallet or installation");
    return xw_errf(eb, XW_EINVAL, "member identifier has kind %d and %u bytes; expected an address or a key",
                   (int)m->kind, m->len);
}

int xmtp_idu_add_association(xmtp_idu *u, const xmtp_member_id *new_member, const xmtp_member_id *signer,
                             xw_errbuf *eb)
{
    int rc = check_member(new_member, eb);
    if (rc || (rc = check_member(signer, eb)))
        return rc;
    xmtp_action *a;
    if ((rc = push_action(u, XMTP_ACTION_ADD, &a, eb)))
        return rc;
    a->member = *new_member;
    a->sig.want = *signer;
    a->new_member_sig.want = *new_member;
    return XW_OK;
}

int xmtp_idu_revoke(xmtp_idu *u, const xmtp_member_id *member, const xmtp_member_id *recovery, xw_errbuf *eb)
{
    int rc = check_member(member, eb);
    if (rc || (rc = check_member(recovery, eb)))
        return rc;
    xmtp_action *a;
    if ((rc = push_action(u, XMTP_ACTION_REVOKE, &a, eb)))
        return rc;
    a->member = *member;
    a->sig.want = *recovery;
    return XW_OK;
}

int xmtp_idu_change_recovery(xmtp_idu *u, const uint8_t new_addr[XMTP_ADDRESS_LEN],
                             const xmtp_member_id *recovery, xw_errbuf *eb)
{
    int rc = check_member(recovery, eb);
    if (rc)
        return rc;
    xmtp_action *a;
    if ((rc = push_action(u, XMTP_ACTION_CHANGE_RECOVERY, &a, eb)))
        return rc;
    xmtp_member_eth(&a->member, new_addr);
    a->sig.want = *recovery;
    return XW_OK;
}

/* RFC 3339 with whole seconds and Z, from signed nanoseconds (floor division). */
static void rfc3339(uint64_t ns_u, char out[80])
{
    int64_t ns = (int64_t)ns_u;
    int64_t secs = ns / 1000000000;
    if (ns % 1000000000 < 0)
        secs--;
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 80, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int action_text(const xmtp_action *a, xw_buf *out)
{
    char id[2 * XMTP_MEMBER_ID_MAX + 3];
    xmtp_member_text(&a->member, id);
    const char *label = a->member.kind == XMTP_MEMBER_INSTALLATION ? "ID"
                        : a->member.kind == XMTP_MEMBER_PASSKEY    ? "Passkey"
                                                                   : "Address";
    switch (a->kind) {
    case XMTP_ACTION_CREATE_INBOX:
        return xw_buf_appendf(out, "- Create inbox\n  (Owner: %s)", id);
    case XMTP_ACTION_ADD: {
        const char *what = a->member.kind == XMTP_MEMBER_INSTALLATION ? "Grant messaging access to app"
                           : a->member.kind == XMTP_MEMBER_PASSKEY    ? "Link passkey to inbox"
                                                                      : "Link address to inbox";
        return xw_buf_appendf(out, "- %s\n  (%s: %s)", what, label, id);
    }
    case XMTP_ACTION_REVOKE: {
        const char *what = a->member.kind == XMTP_MEMBER_INSTALLATION ? "Revoke messaging access from app"
                           : a->member.kind == XMTP_MEMBER_PASSKEY    ? "Unlink passkey from inbox"
                                                                      : "Unlink address from inbox";
        return xw_buf_appendf(out, "- %s\n  (%s: %s)", what, label, id);
    }
    case XMTP_ACTION_CHANGE_RECOVERY:
        return xw_buf_appendf(out, "- Change inbox recovery address\n  (%s: %s)", label, id);
    }
    return XW_EINVAL;
}

int xmtp_idu_signature_text(const xmtp_idu *u, xw_buf *out)
{
    char when[80];
    rfc3339(u->client_timestamp_ns, when);
    size_t start = out->len;
    int rc = xw_buf_appendf(out, "XMTP : Authenticate to inbox\n\nInbox ID: %s\nCurrent time: %s\n\n",
                            u->inbox_id, when);
    for (size_t i = 0; !rc && i < u->n_actions; i++) {
        if (i)
            rc = xw_buf_append_u8(out, '\n');
        if (!rc)
            rc = action_text(&u->actions[i], out);
    }
    if (!rc)
        rc = xw_buf_append_str(out, "\n\nFor more info: https://xmtp.org/signatures");
    if (rc)
        xw_buf_truncate(out, start);
    return rc;
}

/* Calls fn on every slot of the update. */
#define FOR_EACH_SLOT(u, s, body)                                                                            \
    for (size_t i_ = 0; i_ < (u)->n_actions; i_++) {                                                         \
        xmtp_action *a_ = &(u)->actions[i_];                                                                 \
        for (int j_ = 0; j_ < (a_->kind == XMTP_ACTION_ADD ? 2 : 1); j_++) {                                 \
            xmtp_signature *s = j_ ? &a_->new_member_sig : &a_->sig;                                         \
            body                                                                                             \
        }                                                                                                    \
    }

/* Puts the signature into every slot of the update that still waits for `who`; returns how
 * many it filled. `pub` (installation signatures) is copied when not NULL. */
static int fill_slots(xmtp_idu *u, const xmtp_member_id *who, xmtp_sig_kind kind, const uint8_t *sig,
                      size_t len, const uint8_t *pub)
{
    int filled = 0;
    FOR_EACH_SLOT(u, s, {
        if (s->kind == XMTP_SIG_NONE && xmtp_member_equal(&s->want, who)) {
            s->kind = kind;
            s->len = len;
            memcpy(s->sig, sig, len);
            if (pub)
                memcpy(s->pub, pub, XMTP_ED25519_PK_LEN);
            filled++;
        }
    })
    return filled;
}

static int text_of(const xmtp_idu *u, xw_buf *text, xw_errbuf *eb)
{
    xw_buf_init(text, 1 << 20);
    int rc = xmtp_idu_signature_text(u, text);
    if (rc)
        return xw_errf(eb, rc, "could not build the signature text (%d actions)", (int)u->n_actions);
    return XW_OK;
}

int xmtp_idu_sign_wallet(xmtp_idu *u, const xmtp_wallet *w, xw_errbuf *eb)
{
    uint8_t addr[XMTP_ADDRESS_LEN];
    xmtp_wallet_address(w, addr);
    xmtp_member_id me;
    xmtp_member_eth(&me, addr);
    xw_buf text;
    int rc = text_of(u, &text, eb);
    if (rc)
        return rc;
    uint8_t sig[XMTP_ECDSA_SIG_LEN];
    rc = xmtp_wallet_sign_personal(w, text.data, text.len, sig, eb);
    xw_buf_free(&text);
    if (rc)
        return rc;
    int filled = fill_slots(u, &me, XMTP_SIG_ERC191, sig, XMTP_ECDSA_SIG_LEN, NULL);
    if (!filled) {
        char t[2 * XMTP_MEMBER_ID_MAX + 3];
        xmtp_member_text(&me, t);
        return xw_errf(eb, XW_ENOTFOUND, "no action of this update waits for a signature from wallet %s", t);
    }
    return XW_OK;
}

int xmtp_idu_add_ecdsa(xmtp_idu *u, const uint8_t *sig, size_t len, xw_errbuf *eb)
{
    xw_buf text;
    int rc = text_of(u, &text, eb);
    if (rc)
        return rc;
    uint8_t addr[XMTP_ADDRESS_LEN];
    rc = xmtp_eip191_recover(text.data, text.len, sig, len, addr, NULL, eb);
    xw_buf_free(&text);
    if (rc)
        return rc;
    xmtp_member_id who;
    xmtp_member_eth(&who, addr);
    int filled = fill_slots(u, &who, XMTP_SIG_ERC191, sig, XMTP_ECDSA_SIG_LEN, NULL);
    if (!filled) {
        char t[2 * XMTP_MEMBER_ID_MAX + 3];
        xmtp_member_text(&who, t);
        return xw_errf(
            eb, XW_EXMTP_SIGNER,
            "the signature recovers to %s, which no action of this update waits for; was it made over "
            "this update's signature text?",
            t);
    }
    return XW_OK;
}

int xmtp_idu_sign_installation(xmtp_idu *u, const xmtp_installation_key *k, xw_errbuf *eb)
{
    xmtp_member_id me;
    xmtp_member_installation(&me, xmtp_installation_key_public(k));
    xw_buf text;
    int rc = text_of(u, &text, eb);
    if (rc)
        return rc;
    uint8_t sig[XMTP_ED25519_SIG_LEN];
    rc = xmtp_installation_key_sign_identity(k, text.data, text.len, sig, eb);
    xw_buf_free(&text);
    if (rc)
        return rc;
    int filled = fill_slots(u, &me, XMTP_SIG_INSTALLATION, sig, XMTP_ED25519_SIG_LEN, me.bytes);
    if (!filled)
        return xw_errf(eb, XW_ENOTFOUND,
                       "no action of this update waits for a signature from this installation");
    return XW_OK;
}

size_t xmtp_idu_missing_signers(const xmtp_idu *u, xmtp_member_id *first)
{
    size_t n = 0;
    FOR_EACH_SLOT(u, s, {
        if (s->kind == XMTP_SIG_NONE) {
            if (!n && first)
                *first = s->want;
            n++;
        }
    })
    return n;
}
