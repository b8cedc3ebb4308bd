/*
 * Tests for identity updates and association state: the signature text against libxmtp's
 * own expected text, protobuf round trips, and every folding rule of docs/protocol.md §4.4
 * with its refusal (each error code, the state left unchanged), replay protection, state
 * at a sequence id, allocation failures, and malformed update bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/err.h"
#include "xmtp/association.h"
#include "xmtp/identity_update.h"
#include "gen/xmtp/identity/associations/association.pb-c.h"
#include "proto/pb.h"

typedef struct {
    xmtp_wallet *w, *w2, *w3;
    xmtp_installation_key *i1, *i2, *i3;
    xmtp_member_id mw, mw2, mw3, mi1, mi2, mi3;
    char inbox[65];
} fixture;

static fixture *fx_new(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    uint8_t sk[32] = {0};
    uint8_t a[20];
    sk[31] = 1;
    assert_int_equal(xmtp_wallet_from_secret(sk, &f->w, NULL), XW_OK);
    sk[31] = 2;
    assert_int_equal(xmtp_wallet_from_secret(sk, &f->w2, NULL), XW_OK);
    sk[31] = 3;
    assert_int_equal(xmtp_wallet_from_secret(sk, &f->w3, NULL), XW_OK);
    uint8_t seed[32] = {1};
    assert_int_equal(xmtp_installation_key_from_seed(seed, &f->i1, NULL), XW_OK);
    seed[0] = 2;
    assert_int_equal(xmtp_installation_key_from_seed(seed, &f->i2, NULL), XW_OK);
    seed[0] = 3;
    assert_int_equal(xmtp_installation_key_from_seed(seed, &f->i3, NULL), XW_OK);
    xmtp_wallet_address(f->w, a);
    xmtp_member_eth(&f->mw, a);
    xmtp_inbox_id_for_address(a, 0, f->inbox);
    xmtp_wallet_address(f->w2, a);
    xmtp_member_eth(&f->mw2, a);
    xmtp_wallet_address(f->w3, a);
    xmtp_member_eth(&f->mw3, a);
    xmtp_member_installation(&f->mi1, xmtp_installation_key_public(f->i1));
    xmtp_member_installation(&f->mi2, xmtp_installation_key_public(f->i2));
    xmtp_member_installation(&f->mi3, xmtp_installation_key_public(f->i3));
    return f;
}

static void fx_free(fixture *f)
{
    xmtp_wallet_free(f->w);
    xmtp_wallet_free(f->w2);
    xmtp_wallet_free(f->w3);
    xmtp_installation_key_free(f->i1);
    xmtp_installation_key_free(f->i2);
    xmtp_installation_key_free(f->i3);
    free(f);
}

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* Encodes u into a fresh buffer (caller frees) and frees u. */
static xw_buf encode(xmtp_idu *u)
{
    xw_buf b;
    xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
    xw_errbuf eb = {{0}};
    int rc = xmtp_idu_encode(u, &b, &eb);
    if (rc)
        fail_msg("encode: %s", eb.msg);
    xmtp_idu_free(u);
    return b;
}

/* CreateInbox(w, nonce 0) + AddAssociation(i1 by w) at ts. */
static xmtp_idu *registration(fixture *f, uint64_t ts)
{
    xmtp_idu *u = NULL;
    uint8_t a[20];
    xmtp_wallet_address(f->w, a);
    assert_int_equal(xmtp_idu_new(f->inbox, ts, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_create_inbox(u, a, 0, NULL), XW_OK);
    assert_int_equal(xmtp_idu_add_association(u, &f->mi1, &f->mw, NULL), XW_OK);
    assert_int_equal(xmtp_idu_missing_signers(u, NULL), 3);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    assert_int_equal(xmtp_idu_missing_signers(u, NULL), 1);
    assert_int_equal(xmtp_idu_sign_installation(u, f->i1, NULL), XW_OK);
    assert_int_equal(xmtp_idu_missing_signers(u, NULL), 0);
    return u;
}

static xmtp_assoc_state *registered(fixture *f)
{
    xmtp_assoc_state *st = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_assoc_state_new(f->inbox, &st, &eb), XW_OK);
    xw_buf b = encode(registration(f, 1000));
    int rc = xmtp_assoc_state_apply(st, b.data, b.len, &eb);
    if (rc)
        fail_msg("registration: %s", eb.msg);
    xw_buf_free(&b);
    return st;
}

/* An update with one AddAssociation of `who` signed by `by` (wallet or installation). */
static xw_buf add_update(fixture *f, uint64_t ts, const xmtp_member_id *who, const xmtp_member_id *by,
                         xmtp_wallet *bw, xmtp_installation_key *bi, xmtp_wallet *nw,
                         xmtp_installation_key *ni)
{
    xmtp_idu *u = NULL;
    assert_int_equal(xmtp_idu_new(f->inbox, ts, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_add_association(u, who, by, NULL), XW_OK);
    if (bw)
        assert_int_equal(xmtp_idu_sign_wallet(u, bw, NULL), XW_OK);
    if (bi)
        assert_int_equal(xmtp_idu_sign_installation(u, bi, NULL), XW_OK);
    if (nw)
        assert_int_equal(xmtp_idu_sign_wallet(u, nw, NULL), XW_OK);
    if (ni)
        assert_int_equal(xmtp_idu_sign_installation(u, ni, NULL), XW_OK);
    return encode(u);
}

/* Applies bytes expecting `want`; on failure checks the state did not change. */
static void expect(xmtp_assoc_state *st, xw_buf *b, int want, const char *needle)
{
    xw_errbuf eb = {{0}};
    size_t members = xmtp_assoc_state_member_count(st), seen = xmtp_assoc_state_seen_count(st),
           updates = xmtp_assoc_state_update_count(st);
    int rc = xmtp_assoc_state_apply(st, b->data, b->len, &eb);
    if (rc != want)
        fail_msg("expected %s, got %s: %s", xw_errname(want), xw_errname(rc), eb.msg);
    if (needle && !strstr(eb.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", eb.msg, needle);
    if (want != XW_OK) {
        assert_int_equal(xmtp_assoc_state_member_count(st), members);
        assert_int_equal(xmtp_assoc_state_seen_count(st), seen);
        assert_int_equal(xmtp_assoc_state_update_count(st), updates);
    }
    xw_buf_free(b);
}

/* libxmtp's expected text (associations/unsigned_actions.rs test), with its 3-byte
 * installation id, built directly in the model. */
static void test_signature_text_libxmtp(void **state)
{
    (void)state;
    xmtp_idu *u = NULL;
    assert_int_equal(
        xmtp_idu_new("fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9", 12, &u, NULL),
        XW_OK);
    uint8_t owner[20], addr[20], rec[20];
    assert_int_equal(xw_hex_decode_exact("1234567890abcdef1234567890abcdef12345678", owner, 20), XW_OK);
    assert_int_equal(xw_hex_decode_exact("4567890abcdef1234567890abcdef12345678123", addr, 20), XW_OK);
    assert_int_equal(xw_hex_decode_exact("7890abcdef1234567890abcdef12345678123456", rec, 20), XW_OK);
    xmtp_member_id ma, mi = {.kind = XMTP_MEMBER_INSTALLATION, .len = 3, .bytes = {1, 2, 3}};
    xmtp_member_eth(&ma, addr);
    u->actions = calloc(6, sizeof *u->actions);
    u->n_actions = 6;
    u->actions[0].kind = XMTP_ACTION_CREATE_INBOX;
    xmtp_member_eth(&u->actions[0].member, owner);
    u->actions[1].kind = XMTP_ACTION_ADD;
    u->actions[1].member = ma;
    u->actions[2].kind = XMTP_ACTION_ADD;
    u->actions[2].member = mi;
    u->actions[3].kind = XMTP_ACTION_REVOKE;
    u->actions[3].member = ma;
    u->actions[4].kind = XMTP_ACTION_REVOKE;
    u->actions[4].member = mi;
    u->actions[5].kind = XMTP_ACTION_CHANGE_RECOVERY;
    xmtp_member_eth(&u->actions[5].member, rec);
    xw_buf t;
    xw_buf_init(&t, 4096);
    assert_int_equal(xmtp_idu_signature_text(u, &t), XW_OK);
    const char *want = "XMTP : Authenticate to inbox\n"
                       "\n"
                       "Inbox ID: fcd18d86276d7a99fe522dba9660c420f03c8648785ada7c5daae232a3df77a9\n"
                       "Current time: 1970-01-01T00:00:00Z\n"
                       "\n"
                       "- Create inbox\n"
                       "  (Owner: 0x1234567890abcdef1234567890abcdef12345678)\n"
                       "- Link address to inbox\n"
                       "  (Address: 0x4567890abcdef1234567890abcdef12345678123)\n"
                       "- Grant messaging access to app\n"
                       "  (ID: 010203)\n"
                       "- Unlink address from inbox\n"
                       "  (Address: 0x4567890abcdef1234567890abcdef12345678123)\n"
                       "- Revoke messaging access from app\n"
                       "  (ID: 010203)\n"
                       "- Change inbox recovery address\n"
                       "  (Address: 0x7890abcdef1234567890abcdef12345678123456)\n"
                       "\n"
                       "For more info: https://xmtp.org/signatures";
    assert_int_equal(t.len, strlen(want));
    assert_memory_equal(t.data, want, t.len);
    /* a realistic time: 2026-11-29T09:30:01.999999999Z floors to the second */
    u->client_timestamp_ns = 1795944601999999999ULL;
    xw_buf_reset(&t);
    assert_int_equal(xmtp_idu_signature_text(u, &t), XW_OK);
    assert_non_null(memmem(t.data, t.len, "Current time: 2026-11-29T09:30:01Z\n", 35));
    xw_buf_free(&t);
    free(u->actions);
    u->actions = NULL;
    xmtp_idu_free(u);
}

static void test_register_and_roundtrip(void **state)
{
    fixture *f = *state;
    xmtp_idu *u = registration(f, 1000);
    xw_buf b;
    xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
    assert_int_equal(xmtp_idu_encode(u, &b, NULL), XW_OK);
    xmtp_idu *d = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_idu_decode(b.data, b.len, &d, &eb), XW_OK);
    assert_string_equal(d->inbox_id, f->inbox);
    assert_int_equal(d->client_timestamp_ns, 1000);
    assert_int_equal(d->n_actions, 2);
    assert_int_equal(d->actions[0].kind, XMTP_ACTION_CREATE_INBOX);
    assert_true(xmtp_member_equal(&d->actions[0].member, &f->mw));
    assert_int_equal(d->actions[1].kind, XMTP_ACTION_ADD);
    assert_true(xmtp_member_equal(&d->actions[1].member, &f->mi1));
    assert_memory_equal(d->actions[1].new_member_sig.pub, xmtp_installation_key_public(f->i1), 32);
    /* re-encoding the decoded update gives the same bytes */
    xw_buf b2;
    xw_buf_init(&b2, XMTP_IDU_MAX_BYTES);
    assert_int_equal(xmtp_idu_encode(d, &b2, NULL), XW_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    xw_buf_free(&b2);
    xmtp_idu_free(d);
    xmtp_idu_free(u);

    xmtp_assoc_state *st = NULL;
    assert_int_equal(xmtp_assoc_state_new(f->inbox, &st, NULL), XW_OK);
    assert_false(xmtp_assoc_state_created(st));
    assert_null(xmtp_assoc_state_recovery(st));
    assert_int_equal(xmtp_assoc_state_apply(st, b.data, b.len, &eb), XW_OK);
    assert_true(xmtp_assoc_state_created(st));
    assert_int_equal(xmtp_assoc_state_member_count(st), 2);
    assert_true(xmtp_member_equal(xmtp_assoc_state_recovery(st), &f->mw));
    assert_true(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i1)));
    assert_false(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i2)));
    const xmtp_member *m = xmtp_assoc_state_find(st, &f->mi1);
    assert_non_null(m);
    assert_true(m->has_added_by);
    assert_true(xmtp_member_equal(&m->added_by, &f->mw));
    assert_int_equal(m->client_timestamp_ns, 1000);
    m = xmtp_assoc_state_find(st, &f->mw);
    assert_false(m->has_added_by);
    /* the wallet signature appears twice in the update but is one seen signature */
    assert_int_equal(xmtp_assoc_state_seen_count(st), 2);
    /* replaying the whole update: the inbox exists already */
    expect(st, &b, XW_EXMTP_ALREADY_CREATED, "already created");
    xmtp_assoc_state_free(st);
}

static void test_add_rules(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    /* the wallet adds a second installation */
    xw_buf b = add_update(f, 2000, &f->mi2, &f->mw, f->w, NULL, NULL, f->i2);
    xw_buf again;
    xw_buf_init(&again, XMTP_IDU_MAX_BYTES);
    assert_int_equal(xw_buf_append(&again, b.data, b.len), XW_OK);
    expect(st, &b, XW_OK, NULL);
    assert_true(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i2)));
    /* the same update again is a replay */
    expect(st, &again, XW_EXMTP_REPLAY, "already used");
    /* an installation may not add an installation */
    b = add_update(f, 3000, &f->mi3, &f->mi1, NULL, f->i1, NULL, f->i3);
    expect(st, &b, XW_EXMTP_ASSOCIATION, "installation may not add another installation");
    /* an installation may add a wallet */
    b = add_update(f, 3001, &f->mw2, &f->mi1, NULL, f->i1, f->w2, NULL);
    expect(st, &b, XW_OK, NULL);
    const xmtp_member *m = xmtp_assoc_state_find(st, &f->mw2);
    assert_non_null(m);
    assert_true(xmtp_member_equal(&m->added_by, &f->mi1));
    /* nobody adds itself */
    b = add_update(f, 3002, &f->mw3, &f->mw3, f->w3, NULL, NULL, NULL);
    expect(st, &b, XW_EXMTP_ASSOCIATION, "cannot add itself");
    /* a stranger cannot add anyone */
    b = add_update(f, 3003, &f->mi3, &f->mw3, f->w3, NULL, NULL, f->i3);
    expect(st, &b, XW_EXMTP_SIGNER, "neither a member of the inbox nor its recovery address");
    xmtp_assoc_state_free(st);
}

/* The new member's signature must come from the new member. */
static void test_new_member_must_sign(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    xmtp_idu *u = NULL;
    assert_int_equal(xmtp_idu_new(f->inbox, 5000, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_add_association(u, &f->mi2, &f->mw, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    /* i3 signs in i2's place: fill the slot by hand */
    xw_buf t;
    xw_buf_init(&t, 1 << 16);
    assert_int_equal(xmtp_idu_signature_text(u, &t), XW_OK);
    xmtp_signature *s = &u->actions[0].new_member_sig;
    assert_int_equal(xmtp_installation_key_sign_identity(f->i3, t.data, t.len, s->sig, NULL), XW_OK);
    s->kind = XMTP_SIG_INSTALLATION;
    s->len = 64;
    memcpy(s->pub, xmtp_installation_key_public(f->i3), 32);
    xw_buf_free(&t);
    xw_buf b = encode(u);
    expect(st, &b, XW_EXMTP_SIGNER, "must sign for itself");
    xmtp_assoc_state_free(st);
}

static void test_bad_signatures(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    xmtp_idu *u = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_idu_new(f->inbox, 6000, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_add_association(u, &f->mi2, &f->mw, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_installation(u, f->i2, NULL), XW_OK);
    /* a corrupted installation signature */
    u->actions[0].new_member_sig.sig[10] ^= 1;
    xw_buf b;
    xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
    assert_int_equal(xmtp_idu_encode(u, &b, NULL), XW_OK);
    expect(st, &b, XW_EBADSIG, "action 1 (AddAssociation), new member's signature");
    u->actions[0].new_member_sig.sig[10] ^= 1;
    /* a wallet signature with a bad recovery byte */
    u->actions[0].sig.sig[64] = 5;
    xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
    assert_int_equal(xmtp_idu_encode(u, &b, NULL), XW_OK);
    expect(st, &b, XW_EBADSIG, "recovery byte");
    u->actions[0].sig.sig[64] = 27;
    /* signatures over another text (timestamp changed after signing): the wallet signature
     * recovers to some other address, the installation signature fails */
    u->client_timestamp_ns += 1000000000ULL; /* the text shows whole seconds */
    xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
    assert_int_equal(xmtp_idu_encode(u, &b, NULL), XW_OK);
    expect(st, &b, XW_EBADSIG, NULL);
    u->client_timestamp_ns -= 1000000000ULL;
    /* the untouched update still applies */
    xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
    assert_int_equal(xmtp_idu_encode(u, &b, &eb), XW_OK);
    expect(st, &b, XW_OK, NULL);
    xmtp_idu_free(u);
    xmtp_assoc_state_free(st);
}

static void test_revoke_and_recovery(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    /* w adds w2; w2 adds i2 and i3; revoking w2 removes w2, i2, i3 but keeps i1 */
    xw_buf b = add_update(f, 2000, &f->mw2, &f->mw, f->w, NULL, f->w2, NULL);
    expect(st, &b, XW_OK, NULL);
    b = add_update(f, 2001, &f->mi2, &f->mw2, f->w2, NULL, NULL, f->i2);
    expect(st, &b, XW_OK, NULL);
    b = add_update(f, 2002, &f->mi3, &f->mw2, f->w2, NULL, NULL, f->i3);
    expect(st, &b, XW_OK, NULL);
    assert_int_equal(xmtp_assoc_state_member_count(st), 5);

    /* only the recovery address may revoke */
    xmtp_idu *u = NULL;
    assert_int_equal(xmtp_idu_new(f->inbox, 3000, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_revoke(u, &f->mw2, &f->mw2, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w2, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_SIGNER, "recovery address");
    assert_int_equal(xmtp_idu_new(f->inbox, 3001, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_revoke(u, &f->mw2, &f->mi1, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_installation(u, f->i1, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_SIGNER, "recovery address");

    assert_int_equal(xmtp_idu_new(f->inbox, 3002, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_revoke(u, &f->mw2, &f->mw, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_OK, NULL);
    assert_int_equal(xmtp_assoc_state_member_count(st), 2);
    assert_null(xmtp_assoc_state_find(st, &f->mw2));
    assert_false(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i2)));
    assert_false(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i3)));
    assert_true(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i1)));

    /* change recovery to w3: only the current recovery address may do it */
    uint8_t a3[20];
    xmtp_wallet_address(f->w3, a3);
    assert_int_equal(xmtp_idu_new(f->inbox, 4000, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_change_recovery(u, a3, &f->mi1, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_installation(u, f->i1, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_SIGNER, "recovery address");
    assert_int_equal(xmtp_idu_new(f->inbox, 4001, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_change_recovery(u, a3, &f->mw, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_OK, NULL);
    assert_true(xmtp_member_equal(xmtp_assoc_state_recovery(st), &f->mw3));
    /* the recovery address (not a member) can add members; the old one, as a member, too */
    /* (a later second: the text does not name the signer, so at the same second i2 would
     * make the very signature it made before, a replay) */
    b = add_update(f, 5000, &f->mi2, &f->mw3, f->w3, NULL, NULL, f->i2);
    expect(st, &b, XW_EXMTP_REPLAY, "already used");
    b = add_update(f, 5000000000ULL, &f->mi2, &f->mw3, f->w3, NULL, NULL, f->i2);
    expect(st, &b, XW_OK, NULL);
    assert_true(xmtp_member_equal(&xmtp_assoc_state_find(st, &f->mi2)->added_by, &f->mw3));
    /* the old recovery address cannot revoke any more; the new one can revoke the wallet w
     * and with it i1, which w added */
    assert_int_equal(xmtp_idu_new(f->inbox, 6000, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_revoke(u, &f->mi2, &f->mw, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_SIGNER, NULL);
    assert_int_equal(xmtp_idu_new(f->inbox, 6001, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_revoke(u, &f->mw, &f->mw3, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w3, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_OK, NULL);
    assert_int_equal(xmtp_assoc_state_member_count(st), 1);
    assert_true(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i2)));
    xmtp_assoc_state_free(st);
}

static void test_create_rules(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = NULL;
    assert_int_equal(xmtp_assoc_state_new(f->inbox, &st, NULL), XW_OK);
    /* nothing before CreateInbox */
    xw_buf b = add_update(f, 10, &f->mi1, &f->mw, f->w, NULL, NULL, f->i1);
    expect(st, &b, XW_EXMTP_NOT_CREATED, "first update must be CreateInbox");
    /* CreateInbox signed by someone else */
    xmtp_idu *u = NULL;
    uint8_t a[20], a2[20];
    xmtp_wallet_address(f->w, a);
    xmtp_wallet_address(f->w2, a2);
    assert_int_equal(xmtp_idu_new(f->inbox, 11, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_create_inbox(u, a, 0, NULL), XW_OK);
    u->actions[0].sig.want = f->mw2; /* let w2 fill w's slot */
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w2, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_SIGNER, "signed by");
    /* nonce 1 derives another inbox id than the update claims */
    assert_int_equal(xmtp_idu_new(f->inbox, 12, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_create_inbox(u, a, 1, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_INBOX, "derives inbox id");
    /* an update for another inbox */
    char other[65];
    xmtp_inbox_id_for_address(a2, 0, other);
    assert_int_equal(xmtp_idu_new(other, 13, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_create_inbox(u, a2, 0, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w2, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_INBOX, "this is the state of inbox");
    /* two creates in one update: the second fails and nothing is kept */
    assert_int_equal(xmtp_idu_new(f->inbox, 14, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_create_inbox(u, a, 0, NULL), XW_OK);
    assert_int_equal(xmtp_idu_create_inbox(u, a, 0, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    b = encode(u);
    expect(st, &b, XW_EXMTP_ALREADY_CREATED, "action 2 (CreateInbox)");
    assert_false(xmtp_assoc_state_created(st));
    xmtp_assoc_state_free(st);
}

/* Kinds we decode but refuse: smart-contract wallets, passkeys, legacy delegated keys, and
 * missing signatures. */
static void test_refused_kinds(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    xmtp_idu *u = registration(f, 77);
    xw_buf b;
    struct {
        xmtp_sig_kind kind;
        int want;
        const char *needle;
    } cases[] = {
        {XMTP_SIG_ERC6492, XW_EXMTP_SCW, "chain access"},
        {XMTP_SIG_PASSKEY, XW_EXMTP_PASSKEY, "passkey"},
        {XMTP_SIG_LEGACY_DELEGATED, XW_EXMTP_LEGACY, "legacy"},
    };
    /* craft the protobuf for these kinds by patching the decoded model, then applying it */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xmtp_idu *d = NULL;
        xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
        assert_int_equal(xmtp_idu_encode(u, &b, NULL), XW_OK);
        assert_int_equal(xmtp_idu_decode(b.data, b.len, &d, NULL), XW_OK);
        xw_buf_free(&b);
        d->actions[1].sig.kind = cases[i].kind;
        xw_errbuf eb = {{0}};
        int rc = xmtp_assoc_state_apply_idu(st, d, &eb);
        assert_int_equal(rc, cases[i].want);
        assert_non_null(strstr(eb.msg, cases[i].needle));
        xmtp_idu_free(d);
    }
    /* an unsigned slot cannot be encoded */
    xmtp_idu *v = NULL;
    assert_int_equal(xmtp_idu_new(f->inbox, 1, &v, NULL), XW_OK);
    assert_int_equal(xmtp_idu_add_association(v, &f->mi2, &f->mw, NULL), XW_OK);
    xw_buf_init(&b, XMTP_IDU_MAX_BYTES);
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_idu_encode(v, &b, &eb), XW_ESTATE);
    assert_non_null(strstr(eb.msg, "still needs a signature"));
    /* a signature nobody waits for */
    assert_int_equal(xmtp_idu_sign_wallet(v, f->w3, &eb), XW_ENOTFOUND);
    uint8_t junk[65] = {0};
    junk[0] = 1;
    junk[32] = 1;
    junk[64] = 27;
    int rc = xmtp_idu_add_ecdsa(v, junk, 65, &eb);
    assert_true(rc == XW_EXMTP_SIGNER || rc == XW_EBADSIG);
    xmtp_idu_free(v);
    xmtp_idu_free(u);
    xmtp_assoc_state_free(st);
}

/* A signature made elsewhere (e.g. a hardware wallet) over the text fills its slots. */
static void test_external_ecdsa(void **state)
{
    fixture *f = *state;
    xmtp_idu *u = NULL;
    uint8_t a[20], sig[65];
    xmtp_wallet_address(f->w, a);
    assert_int_equal(xmtp_idu_new(f->inbox, 5, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_create_inbox(u, a, 0, NULL), XW_OK);
    assert_int_equal(xmtp_idu_add_association(u, &f->mi1, &f->mw, NULL), XW_OK);
    xw_buf t;
    xw_buf_init(&t, 1 << 16);
    assert_int_equal(xmtp_idu_signature_text(u, &t), XW_OK);
    assert_int_equal(xmtp_wallet_sign_personal(f->w, t.data, t.len, sig, NULL), XW_OK);
    xw_buf_free(&t);
    assert_int_equal(xmtp_idu_add_ecdsa(u, sig, 65, NULL), XW_OK);
    xmtp_member_id first;
    assert_int_equal(xmtp_idu_missing_signers(u, &first), 1);
    assert_true(xmtp_member_equal(&first, &f->mi1));
    assert_int_equal(xmtp_idu_sign_installation(u, f->i1, NULL), XW_OK);
    xmtp_assoc_state *st = NULL;
    assert_int_equal(xmtp_assoc_state_new(f->inbox, &st, NULL), XW_OK);
    assert_int_equal(xmtp_assoc_state_apply_idu(st, u, NULL), XW_OK);
    assert_int_equal(xmtp_assoc_state_member_count(st), 2);
    xmtp_assoc_state_free(st);
    xmtp_idu_free(u);
}

static void test_log_and_sequence(void **state)
{
    fixture *f = *state;
    xw_buf u1 = encode(registration(f, 100));
    xw_buf u2 = add_update(f, 200, &f->mi2, &f->mw, f->w, NULL, NULL, f->i2);
    uint8_t a[20];
    xmtp_wallet_address(f->w, a);
    xmtp_idu *u = NULL;
    assert_int_equal(xmtp_idu_new(f->inbox, 300, &u, NULL), XW_OK);
    assert_int_equal(xmtp_idu_revoke(u, &f->mi1, &f->mw, NULL), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, NULL), XW_OK);
    xw_buf u3 = encode(u);
    xmtp_idu_log_entry log[] = {{3, u1.data, u1.len}, {7, u2.data, u2.len}, {9, u3.data, u3.len}};
    xmtp_assoc_state *st = NULL;
    xw_errbuf eb = {{0}};
    /* the state at each sequence id */
    assert_int_equal(xmtp_assoc_state_from_log(f->inbox, log, 3, 2, &st, &eb), XW_OK);
    assert_false(xmtp_assoc_state_created(st));
    xmtp_assoc_state_free(st);
    assert_int_equal(xmtp_assoc_state_from_log(f->inbox, log, 3, 6, &st, &eb), XW_OK);
    assert_int_equal(xmtp_assoc_state_member_count(st), 2);
    assert_int_equal(xmtp_assoc_state_sequence_id(st), 3);
    xmtp_assoc_state_free(st);
    assert_int_equal(xmtp_assoc_state_from_log(f->inbox, log, 3, 8, &st, &eb), XW_OK);
    assert_true(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i1)));
    assert_true(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i2)));
    xmtp_assoc_state_free(st);
    assert_int_equal(xmtp_assoc_state_from_log(f->inbox, log, 3, UINT64_MAX, &st, &eb), XW_OK);
    assert_false(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i1)));
    assert_true(xmtp_assoc_state_has_installation(st, xmtp_installation_key_public(f->i2)));
    assert_int_equal(xmtp_assoc_state_sequence_id(st), 9);
    assert_int_equal(xmtp_assoc_state_update_count(st), 3);
    /* out of order */
    assert_int_equal(xmtp_assoc_state_apply_at(st, 9, u3.data, u3.len, &eb), XW_EXMTP_SEQUENCE);
    assert_non_null(strstr(eb.msg, "ascending order"));
    xmtp_assoc_state_free(st);
    /* a log whose middle entry is bad gives no state and says where */
    xmtp_idu_log_entry bad[] = {{3, u1.data, u1.len}, {4, u1.data, u1.len}};
    st = NULL;
    assert_int_equal(xmtp_assoc_state_from_log(f->inbox, bad, 2, UINT64_MAX, &st, &eb),
                     XW_EXMTP_ALREADY_CREATED);
    assert_null(st);
    assert_non_null(strstr(eb.msg, "sequence id 4"));
    xw_buf_free(&u1);
    xw_buf_free(&u2);
    xw_buf_free(&u3);
}

static void test_malformed_bytes(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = NULL;
    assert_int_equal(xmtp_assoc_state_new(f->inbox, &st, NULL), XW_OK);
    xw_errbuf eb = {{0}};
    const uint8_t junk[] = {0x0a, 0x05, 0x01};
    assert_int_equal(xmtp_assoc_state_apply(st, junk, sizeof junk, &eb), XW_EMALFORMED);
    /* no actions */
    const uint8_t empty[] = {0x10, 0x01};
    assert_int_equal(xmtp_assoc_state_apply(st, empty, sizeof empty, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "no actions"));
    /* an action with nothing in it */
    uint8_t empty_action[2 + 2 + 64] = {0x0a, 0x00, 0x1a, 0x40};
    memcpy(empty_action + 4, f->inbox, 64);
    assert_int_equal(xmtp_assoc_state_apply(st, empty_action, sizeof empty_action, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "action 1"));
    /* the same without an inbox id */
    assert_int_equal(xmtp_assoc_state_apply(st, empty_action, 2, &eb), XW_EXMTP_INBOX);
    /* truncations of a valid update are all refused without crashing */
    xw_buf b = encode(registration(f, 1));
    for (size_t n = 0; n < b.len; n++) {
        int rc = xmtp_assoc_state_apply(st, b.data, n, &eb);
        assert_int_not_equal(rc, XW_OK);
    }
    assert_false(xmtp_assoc_state_created(st));
    /* too big */
    assert_int_equal(xmtp_assoc_state_apply(st, b.data, XMTP_IDU_MAX_BYTES + 1, &eb), XW_ETOOBIG);
    /* a bad inbox id string */
    xmtp_idu *u = NULL;
    assert_int_equal(xmtp_idu_new("NOTHEX", 1, &u, &eb), XW_EXMTP_INBOX);
    xw_buf_free(&b);
    xmtp_assoc_state_free(st);
    assert_int_equal(xmtp_assoc_state_new("abc", &st, &eb), XW_EXMTP_INBOX);
}

/* Every allocation of an apply may fail: the state stays as it was and nothing leaks. */
static void test_alloc_failures(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    xw_buf b = add_update(f, 2000, &f->mi2, &f->mw, f->w, NULL, NULL, f->i2);
    int ok = 0;
    for (uint64_t nth = 1; nth < 200 && !ok; nth++) {
        int64_t live = xw_alloc_live();
        xw_alloc_fail_at(nth, 0);
        int rc = xmtp_assoc_state_apply(st, b.data, b.len, NULL);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK) {
            ok = 1;
        } else {
            assert_true(rc == XW_ENOMEM || rc == XW_EMALFORMED);
            assert_int_equal(xw_alloc_live(), live);
            assert_int_equal(xmtp_assoc_state_member_count(st), 2);
        }
    }
    assert_true(ok);
    assert_int_equal(xmtp_assoc_state_member_count(st), 3);
    xw_buf_free(&b);
    xmtp_assoc_state_free(st);
}

/* Smart-contract wallet and passkey data straight from protobuf bytes: decoded, then
 * refused with their own codes and a message naming the account. */
static void test_scw_and_passkey_bytes(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    Xmtp__Identity__Associations__SmartContractWalletSignature scw =
        XMTP__IDENTITY__ASSOCIATIONS__SMART_CONTRACT_WALLET_SIGNATURE__INIT;
    scw.account_id = "eip155:8453:0x1234567890abcdef1234567890abcdef12345678";
    scw.block_number = 7;
    scw.signature.data = (uint8_t *)"sig";
    scw.signature.len = 3;
    Xmtp__Identity__Associations__Signature s1 = XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__INIT;
    s1.signature_case = XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_ERC_6492;
    s1.erc_6492 = &scw;
    Xmtp__Identity__Associations__RecoverablePasskeySignature pks =
        XMTP__IDENTITY__ASSOCIATIONS__RECOVERABLE_PASSKEY_SIGNATURE__INIT;
    Xmtp__Identity__Associations__Signature s2 = XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__INIT;
    s2.signature_case = XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_PASSKEY;
    s2.passkey = &pks;
    Xmtp__Identity__Associations__Passkey pk = XMTP__IDENTITY__ASSOCIATIONS__PASSKEY__INIT;
    uint8_t key[33] = {2, 9, 9};
    pk.key.data = key;
    pk.key.len = sizeof key;
    Xmtp__Identity__Associations__MemberIdentifier mid =
        XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__INIT;
    mid.kind_case = XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_PASSKEY;
    mid.passkey = &pk;
    Xmtp__Identity__Associations__AddAssociation add = XMTP__IDENTITY__ASSOCIATIONS__ADD_ASSOCIATION__INIT;
    add.new_member_identifier = &mid;
    add.existing_member_signature = &s1;
    add.new_member_signature = &s2;
    Xmtp__Identity__Associations__IdentityAction act = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__INIT;
    act.kind_case = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_ACTION__KIND_ADD;
    act.add = &add;
    Xmtp__Identity__Associations__IdentityAction *acts[] = {&act};
    Xmtp__Identity__Associations__IdentityUpdate u = XMTP__IDENTITY__ASSOCIATIONS__IDENTITY_UPDATE__INIT;
    u.n_actions = 1;
    u.actions = acts;
    u.client_timestamp_ns = 5;
    u.inbox_id = f->inbox;
    xw_buf b;
    xw_buf_init(&b, 1 << 16);
    assert_int_equal(xw_pb_encode(&u.base, &b, NULL), XW_OK);
    /* the model keeps what it decoded */
    xmtp_idu *d = NULL;
    assert_int_equal(xmtp_idu_decode(b.data, b.len, &d, NULL), XW_OK);
    assert_int_equal(d->actions[0].member.kind, XMTP_MEMBER_PASSKEY);
    assert_int_equal(d->actions[0].sig.kind, XMTP_SIG_ERC6492);
    assert_int_equal(d->actions[0].sig.chain_id, 8453);
    assert_int_equal(d->actions[0].new_member_sig.kind, XMTP_SIG_PASSKEY);
    xmtp_idu_free(d);
    xw_buf copy;
    xw_buf_init(&copy, 1 << 16);
    assert_int_equal(xw_buf_append(&copy, b.data, b.len), XW_OK);
    expect(st, &b, XW_EXMTP_SCW, "0x1234567890abcdef1234567890abcdef12345678 on chain 8453");
    /* with a wallet signature in the first slot, the passkey is what is refused */
    s1.signature_case = XMTP__IDENTITY__ASSOCIATIONS__SIGNATURE__SIGNATURE_ERC_191;
    Xmtp__Identity__Associations__RecoverableEcdsaSignature e =
        XMTP__IDENTITY__ASSOCIATIONS__RECOVERABLE_ECDSA_SIGNATURE__INIT;
    uint8_t sig[65] = {0};
    e.bytes.data = sig;
    e.bytes.len = 64; /* and a wrong length first */
    s1.erc_191 = &e;
    xw_buf_init(&b, 1 << 16);
    assert_int_equal(xw_pb_encode(&u.base, &b, NULL), XW_OK);
    expect(st, &b, XW_EMALFORMED, "65 bytes");
    xw_buf_free(&copy);
    xmtp_assoc_state_free(st);
}

/* A state survives storage (AssociationState protobuf) with its replay protection, and
 * diffs name what changed. */
static void test_store_and_diff(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f), *before = NULL, *back = NULL;
    assert_int_equal(xmtp_assoc_state_clone(st, &before, NULL), XW_OK);
    xw_buf add = add_update(f, 7000000000ULL, &f->mi2, &f->mw, f->w, NULL, NULL, f->i2);
    assert_int_equal(xmtp_assoc_state_apply_at(st, 5, add.data, add.len, NULL), XW_OK);
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_assoc_state_encode(st, &b, &eb), XW_OK);
    assert_int_equal(xmtp_assoc_state_decode(b.data, b.len, 5, 2, &back, &eb), XW_OK);
    assert_int_equal(xmtp_assoc_state_member_count(back), 3);
    assert_int_equal(xmtp_assoc_state_seen_count(back), xmtp_assoc_state_seen_count(st));
    assert_int_equal(xmtp_assoc_state_sequence_id(back), 5);
    assert_true(xmtp_member_equal(xmtp_assoc_state_recovery(back), &f->mw));
    const xmtp_member *m = xmtp_assoc_state_find(back, &f->mi2);
    assert_non_null(m);
    assert_true(m->has_added_by && xmtp_member_equal(&m->added_by, &f->mw));
    assert_int_equal(m->client_timestamp_ns, 7000000000ULL);
    /* the replay protection came along */
    assert_int_equal(xmtp_assoc_state_apply(back, add.data, add.len, &eb), XW_EXMTP_REPLAY);
    /* re-encoding gives the same bytes */
    xw_buf b2;
    xw_buf_init(&b2, 1 << 20);
    assert_int_equal(xmtp_assoc_state_encode(back, &b2, NULL), XW_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    /* diff: i2 added; and the reverse */
    xmtp_assoc_diff d;
    assert_int_equal(xmtp_assoc_state_diff(before, st, &d, NULL), XW_OK);
    assert_int_equal(d.n_added, 1);
    assert_int_equal(d.n_removed, 0);
    assert_true(xmtp_member_equal(&d.added[0], &f->mi2));
    xmtp_assoc_diff_free(&d);
    assert_int_equal(xmtp_assoc_state_diff(st, before, &d, NULL), XW_OK);
    assert_int_equal(d.n_removed, 1);
    xmtp_assoc_diff_free(&d);
    /* damage */
    xmtp_assoc_state *bad = NULL;
    assert_int_equal(xmtp_assoc_state_decode(b.data, b.len - 3, 0, 0, &bad, &eb), XW_ECORRUPT);
    assert_non_null(strstr(eb.msg, "stored association state"));
    assert_null(bad);
    /* a state not created yet round-trips as such */
    xmtp_assoc_state *empty = NULL, *empty2 = NULL;
    assert_int_equal(xmtp_assoc_state_new(f->inbox, &empty, NULL), XW_OK);
    xw_buf_reset(&b2);
    assert_int_equal(xmtp_assoc_state_encode(empty, &b2, NULL), XW_OK);
    assert_int_equal(xmtp_assoc_state_decode(b2.data, b2.len, 0, 0, &empty2, &eb), XW_OK);
    assert_false(xmtp_assoc_state_created(empty2));
    xmtp_assoc_state_free(empty);
    xmtp_assoc_state_free(empty2);
    xw_buf_free(&b);
    xw_buf_free(&b2);
    xw_buf_free(&add);
    xmtp_assoc_state_free(back);
    xmtp_assoc_state_free(before);
    xmtp_assoc_state_free(st);
}

/* A member added on a chain (only smart-contract wallets are, so this state comes from
 * storage) must keep signing from that chain: a plain wallet signature is refused. */
static void test_chain_id_mismatch(void **state)
{
    fixture *f = *state;
    xmtp_assoc_state *st = registered(f);
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    assert_int_equal(xmtp_assoc_state_encode(st, &b, NULL), XW_OK);
    Xmtp__Identity__Associations__AssociationState *p = NULL;
    assert_int_equal(xw_pb_decode_as(&xmtp__identity__associations__association_state__descriptor, b.data,
                                     b.len, 1 << 20, &p, NULL),
                     XW_OK);
    for (size_t i = 0; i < p->n_members; i++) {
        if (p->members[i]->key->kind_case ==
            XMTP__IDENTITY__ASSOCIATIONS__MEMBER_IDENTIFIER__KIND_ETHEREUM_ADDRESS) {
            p->members[i]->value->_added_on_chain_id_case =
                XMTP__IDENTITY__ASSOCIATIONS__MEMBER___ADDED_ON_CHAIN_ID_ADDED_ON_CHAIN_ID;
            p->members[i]->value->added_on_chain_id = 8453;
        }
    }
    xw_buf_reset(&b);
    assert_int_equal(xw_pb_encode(&p->base, &b, NULL), XW_OK);
    xw_pb_free(&p->base);
    xmtp_assoc_state *chained = NULL;
    assert_int_equal(xmtp_assoc_state_decode(b.data, b.len, 1, 1, &chained, NULL), XW_OK);
    assert_true(xmtp_assoc_state_find(chained, &f->mw)->has_chain_id);
    xw_buf add = add_update(f, 9000000000ULL, &f->mi2, &f->mw, f->w, NULL, NULL, f->i2);
    expect(chained, &add, XW_EXMTP_CHAIN_ID, "added on chain 8453 but signs from chain 0");
    xw_buf_free(&b);
    xmtp_assoc_state_free(chained);
    xmtp_assoc_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_text_libxmtp),
        cmocka_unit_test_setup_teardown(test_register_and_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_member_must_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_external_ecdsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_and_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scw_and_passkey_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_and_diff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_id_mismatch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
