/*
 * libFuzzer target: identity update decoding plus association state folding.
 *
 * The input is a log: records of [2-byte big-endian length][update bytes]. Every record is
 * decoded and applied to two states: a fresh one (inbox not created) and one where a fixed
 * wallet already registered a fixed installation, so that Add/Revoke/ChangeRecovery paths
 * run past "not created". After each apply the state's invariants are checked: an error
 * leaves it untouched, and every member added by someone names an existing kind.
 * The input is also read as a stored AssociationState: whatever decodes must re-encode and
 * decode again to the same member count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "xmtp/association.h"
#include "xmtp/identity_update.h"

static xw_buf reg;
static xmtp_assoc_state *registered; /* built once, cloned per input */
static char inbox[XMTP_INBOX_ID_STRLEN + 1];

static void init_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    uint8_t sk[32] = {0}, seed[32] = {9}, a[20];
    sk[31] = 1;
    xmtp_wallet *w = NULL;
    xmtp_installation_key *k = NULL;
    if (xmtp_wallet_from_secret(sk, &w, NULL) || xmtp_installation_key_from_seed(seed, &k, NULL))
        abort();
    xmtp_wallet_address(w, a);
    xmtp_inbox_id_for_address(a, 0, inbox);
    xmtp_idu *u = NULL;
    xmtp_member_id mw, mi;
    xmtp_member_eth(&mw, a);
    xmtp_member_installation(&mi, xmtp_installation_key_public(k));
    xw_buf_init(&reg, 1 << 16);
    if (xmtp_idu_new(inbox, 1, &u, NULL) || xmtp_idu_create_inbox(u, a, 0, NULL) ||
        xmtp_idu_add_association(u, &mi, &mw, NULL) || xmtp_idu_sign_wallet(u, w, NULL) ||
        xmtp_idu_sign_installation(u, k, NULL) || xmtp_idu_encode(u, &reg, NULL))
        abort();
    xmtp_idu_free(u);
    if (xmtp_assoc_state_new(inbox, &registered, NULL) ||
        xmtp_assoc_state_apply(registered, reg.data, reg.len, NULL))
        abort();
    xmtp_wallet_free(w);
    xmtp_installation_key_free(k);
}

static void apply_checked(xmtp_assoc_state *st, const uint8_t *p, size_t n)
{
    size_t members = xmtp_assoc_state_member_count(st), seen = xmtp_assoc_state_seen_count(st);
    int created = xmtp_assoc_state_created(st);
    xw_errbuf eb = {{0}};
    if (xmtp_assoc_state_apply(st, p, n, &eb) != XW_OK) {
        if (xmtp_assoc_state_member_count(st) != members || xmtp_assoc_state_seen_count(st) != seen ||
            xmtp_assoc_state_created(st) != created || eb.msg[0] == '\0')
            abort();
    }
    for (size_t i = 0; i < xmtp_assoc_state_member_count(st); i++) {
        const xmtp_member *m = xmtp_assoc_state_member_at(st, i);
        if (m->id.kind != XMTP_MEMBER_ETHEREUM && m->id.kind != XMTP_MEMBER_INSTALLATION)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    xmtp_assoc_state *fresh = NULL, *live = NULL;
    if (xmtp_assoc_state_new(inbox, &fresh, NULL) || xmtp_assoc_state_clone(registered, &live, NULL))
        abort();
    /* the whole input as one update, then as a log of records */
    apply_checked(fresh, data, size);
    size_t off = 0;
    while (off + 2 <= size) {
        size_t n = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (n > size - off)
            n = size - off;
        apply_checked(fresh, data + off, n);
        apply_checked(live, data + off, n);
        off += n;
    }
    xmtp_assoc_state_free(fresh);
    xmtp_assoc_state_free(live);

    xmtp_assoc_state *stored = NULL, *again = NULL;
    if (xmtp_assoc_state_decode(data, size, 0, 0, &stored, NULL) == XW_OK) {
        xw_buf b;
        xw_buf_init(&b, 1u << 24);
        if (xmtp_assoc_state_encode(stored, &b, NULL) != XW_OK ||
            xmtp_assoc_state_decode(b.data, b.len, 0, 0, &again, NULL) != XW_OK ||
            xmtp_assoc_state_member_count(again) != xmtp_assoc_state_member_count(stored))
            abort();
        xw_buf_free(&b);
        xmtp_assoc_state_free(again);
        xmtp_assoc_state_free(stored);
    }
    return 0;
}
