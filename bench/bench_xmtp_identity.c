/*
 * Benchmark of identity-update validation and content decoding, reported as ratios against
 * baselines measured in the same run (STYLE: no absolute timings in tests):
 *   - folding one AddAssociation update (decode, signature text, one EIP-191 recovery, one
 *     Ed25519ph verification, rules) against one bare libsecp256k1 recovery plus one
 *     libsodium Ed25519 verification: the ratio shows what the rest costs;
 *   - decoding a text message's EncodedContent against a memcpy of the same bytes.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "xmtp/association.h"
#include "xmtp/content.h"

static double now(void) { return (double)xw_clock_mono_ns(xw_clock_real()) / 1e9; }

int main(void)
{
    uint8_t sk[32] = {0}, seed[32] = {5}, a[20];
    sk[31] = 7;
    xmtp_wallet *w = NULL;
    xmtp_installation_key *k = NULL, *k2 = NULL;
    if (xmtp_wallet_from_secret(sk, &w, NULL) || xmtp_installation_key_from_seed(seed, &k, NULL))
        return 1;
    seed[0] = 6;
    xmtp_installation_key_from_seed(seed, &k2, NULL);
    xmtp_wallet_address(w, a);
    char inbox[65];
    xmtp_inbox_id_for_address(a, 0, inbox);
    xmtp_member_id mw, mi, mi2;
    xmtp_member_eth(&mw, a);
    xmtp_member_installation(&mi, xmtp_installation_key_public(k));
    xmtp_member_installation(&mi2, xmtp_installation_key_public(k2));
    xmtp_idu *u = NULL;
    xw_buf reg, add;
    xw_buf_init(&reg, 1 << 16);
    xw_buf_init(&add, 1 << 16);
    xmtp_idu_new(inbox, 1, &u, NULL);
    xmtp_idu_create_inbox(u, a, 0, NULL);
    xmtp_idu_add_association(u, &mi, &mw, NULL);
    xmtp_idu_sign_wallet(u, w, NULL);
    xmtp_idu_sign_installation(u, k, NULL);
    xmtp_idu_encode(u, &reg, NULL);
    xmtp_idu_free(u);
    xmtp_idu_new(inbox, 2000000000, &u, NULL);
    xmtp_idu_add_association(u, &mi2, &mw, NULL);
    xmtp_idu_sign_wallet(u, w, NULL);
    xmtp_idu_sign_installation(u, k2, NULL);
    xmtp_idu_encode(u, &add, NULL);
    xmtp_idu_free(u);
    xmtp_assoc_state *base = NULL;
    xmtp_assoc_state_new(inbox, &base, NULL);
    if (xmtp_assoc_state_apply(base, reg.data, reg.len, NULL))
        return 1;

    /* baseline: the two signature checks alone */
    uint8_t esig[64], rsig[65], got[20];
    xmtp_installation_key_sign(k, "m", 1, esig, NULL);
    xmtp_wallet_sign_personal(w, "m", 1, rsig, NULL);
    const int n = 400;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        xmtp_eip191_recover("m", 1, rsig, 65, got, NULL, NULL);
        if (crypto_sign_verify_detached(esig, (const unsigned char *)"m", 1,
                                        xmtp_installation_key_public(k)) != 0)
            return 1;
    }
    double base_t = (now() - t0) / n;
    t0 = now();
    for (int i = 0; i < n; i++) {
        xmtp_assoc_state *st = NULL;
        xmtp_assoc_state_clone(base, &st, NULL);
        if (xmtp_assoc_state_apply(st, add.data, add.len, NULL))
            return 1;
        xmtp_assoc_state_free(st);
    }
    double fold_t = (now() - t0) / n;
    printf("identity update fold: %.2fx the bare signature checks (recover + verify)\n", fold_t / base_t);

    xmtp_content c = {.kind = XMTP_CT_TEXT, .u.text = "hello, this is a typical chat message of some length"};
    xw_buf ec;
    xw_buf_init(&ec, 1 << 16);
    xmtp_content_encode(&c, &ec, NULL);
    const int m = 100000;
    uint8_t copy[256];
    volatile uint8_t sink = 0;
    t0 = now();
    for (int i = 0; i < m; i++) {
        memcpy(copy, ec.data, ec.len);
        sink ^= copy[i % ec.len];
    }
    double cpy_t = (now() - t0) / m;
    t0 = now();
    for (int i = 0; i < m; i++) {
        xmtp_content *d = NULL;
        if (xmtp_content_decode_bytes(ec.data, ec.len, &d, NULL))
            return 1;
        xmtp_content_free(d);
    }
    double dec_t = (now() - t0) / m;
    printf("text content decode: %.0fx a memcpy of its %zu bytes\n", dec_t / (cpy_t > 0 ? cpy_t : 1e-9),
           ec.len);
    (void)sink;
    xw_buf_free(&ec);
    xw_buf_free(&reg);
    xw_buf_free(&add);
    xmtp_assoc_state_free(base);
    xmtp_wallet_free(w);
    xmtp_installation_key_free(k);
    xmtp_installation_key_free(k2);
    return 0;
}
