/*
 * Vector kinds welcome (§12.4.3.1 without a group) and passive-client-* (join from a
 * Welcome, with the tree in the extension or out of band and with external PSKs, then follow
 * the group through its commits and proposals, comparing epoch authenticators).
 */
#include <string.h>

#include "mls/group.h"
#include "mls/hpke.h"
#include "mls/welcome.h"
#include "tests/vectors/groups_vectors.h"

int vt_welcome(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int r = vt_suite(c, e, &s);
    if (r != VT_PASS)
        return r;
    xw_buf ip, kpb, sp, wb;
    xw_buf_init(&ip, VT_MAX_BUF);
    xw_buf_init(&kpb, VT_MAX_BUF);
    xw_buf_init(&sp, VT_MAX_BUF);
    xw_buf_init(&wb, VT_MAX_BUF);
    mls_key_package *kp = NULL;
    mls_welcome_opened o;
    int opened = 0;
    xw_errbuf eb = {{0}};
    if (vt_hex(c, e, "init_priv", &ip) || vt_hex(c, e, "key_package", &kpb) ||
        vt_hex(c, e, "signer_pub", &sp) || vt_hex(c, e, "welcome", &wb))
        goto out;
    if (mls_key_package_decode(kpb.data, kpb.len, &kp, &eb) != XW_OK) {
        vt_fail(c, "key package does not decode: %s", eb.msg);
        goto out;
    }
    opened = 1;
    if (mls_welcome_open(wb.data, wb.len, kp, ip.data, NULL, 0, &o, &eb) != XW_OK) {
        vt_fail(c, "welcome does not open: %s", eb.msg);
        goto out;
    }
    mls_group_info gi;
    if (mls_group_info_parse(o.group_info.data, o.group_info.len, &gi, &eb) != XW_OK) {
        vt_fail(c, "group info does not parse: %s", eb.msg);
        goto out;
    }
    if (mls_verify_with_label(s, sp.data, sp.len, "GroupInfoTBS", gi.tbs.p, gi.tbs.len, gi.signature.p,
                              gi.signature.len, &eb) != XW_OK) {
        vt_fail(c, "group info signature does not verify: %s", eb.msg);
        goto out;
    }
    mls_epoch_secrets sec;
    memset(&sec, 0, sizeof sec);
    mls_key_schedule_epoch(s, o.joiner_secret, o.psk_secret, gi.gc_bytes.p, gi.gc_bytes.len, &sec);
    uint8_t tag[MLS_MAX_HASH];
    mls_mac(s, sec.confirmation_key, s->nh, gi.gc.confirmed_transcript_hash.p,
            gi.gc.confirmed_transcript_hash.len, tag);
    mls_epoch_secrets_wipe(&sec);
    if (gi.confirmation_tag.len != s->nh || memcmp(tag, gi.confirmation_tag.p, s->nh) != 0)
        vt_fail(c, "confirmation tag does not verify");
out:
    if (opened)
        mls_welcome_opened_free(&o);
    mls_key_package_free(kp);
    xw_buf_free(&ip);
    xw_buf_free(&kpb);
    xw_buf_free(&sp);
    xw_buf_free(&wb);
    return c->failed ? VT_FAIL : VT_PASS;
}

int vt_passive_client(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int r = vt_suite(c, e, &s);
    if (r != VT_PASS)
        return r;
    xw_buf kpb, tmp, wb, tree, msg;
    xw_buf_init(&kpb, VT_MAX_BUF);
    xw_buf_init(&tmp, VT_MAX_BUF);
    xw_buf_init(&wb, VT_MAX_BUF);
    xw_buf_init(&tree, VT_MAX_BUF);
    xw_buf_init(&msg, VT_MAX_BUF);
    mls_key_package *kp = NULL;
    mls_group *g = NULL;
    xw_errbuf eb = {{0}};
    mls_key_package_secrets ks;
    memset(&ks, 0, sizeof ks);
    json_t *jp = json_object_get(e, "external_psks");
    size_t np = json_array_size(jp);
    mls_external_psk psks[64];
    xw_buf pbuf[128];
    for (size_t i = 0; i < 128; i++)
        xw_buf_init(&pbuf[i], 1 << 16);
    mls_received rcv;
    mls_received_init(&rcv);
    if (np > 64) {
        vt_fail(c, "too many PSKs");
        goto out;
    }
    for (size_t i = 0; i < np; i++) {
        json_t *o = json_array_get(jp, i);
        if (vt_hex(c, o, "psk_id", &pbuf[2 * i]) || vt_hex(c, o, "psk", &pbuf[2 * i + 1]))
            goto out;
        psks[i] =
            (mls_external_psk){pbuf[2 * i].data, pbuf[2 * i].len, pbuf[2 * i + 1].data, pbuf[2 * i + 1].len};
    }
    if (vt_hex(c, e, "key_package", &kpb) || vt_hex(c, e, "welcome", &wb))
        goto out;
    if (mls_key_package_decode(kpb.data, kpb.len, &kp, &eb) != XW_OK) {
        vt_fail(c, "key package does not decode: %s", eb.msg);
        goto out;
    }
    uint8_t pub[MLS_HPKE_MAX_PK];
    if (vt_hex(c, e, "init_priv", &tmp))
        goto out;
    memcpy(ks.init_priv, tmp.data, tmp.len);
    const mls_hpke_kem *kem = mls_hpke_kem_get(s->hpke.kem_id);
    kem->public_key(kem, ks.init_priv, pub, NULL);
    if (memcmp(pub, kp->init_key.p, kp->init_key.len) != 0) {
        vt_fail(c, "init_priv does not match the key package's init_key");
        goto out;
    }
    if (vt_hex(c, e, "encryption_priv", &tmp))
        goto out;
    memcpy(ks.enc_priv, tmp.data, tmp.len);
    kem->public_key(kem, ks.enc_priv, pub, NULL);
    if (memcmp(pub, kp->leaf->enc_key.p, kp->leaf->enc_key.len) != 0) {
        vt_fail(c, "encryption_priv does not match the leaf's encryption_key");
        goto out;
    }
    if (vt_hex(c, e, "signature_priv", &tmp))
        goto out;
    mls_sig_priv_from_seed(s, tmp.data, tmp.len, &ks.sig, NULL);
    if (ks.sig.pub_len != kp->leaf->sig_key.len ||
        memcmp(ks.sig.pub, kp->leaf->sig_key.p, ks.sig.pub_len) != 0) {
        vt_fail(c, "signature_priv does not match the leaf's signature_key");
        goto out;
    }
    int has_tree = json_is_string(json_object_get(e, "ratchet_tree"));
    if (has_tree && vt_hex(c, e, "ratchet_tree", &tree))
        goto out;
    mls_group_config cfg;
    mls_group_config_default(&cfg);
    cfg.accept_public_handshake = 1;
    /* the vectors' key packages were valid when the vectors were made (2023) and have
     * expired since: check lifetimes at that time, the joiner's not_before */
    cfg.now = kp->leaf->not_before + 1;
    if (mls_group_join(&cfg, wb.data, wb.len, kpb.data, kpb.len, &ks, has_tree ? tree.data : NULL, tree.len,
                       psks, np, &g, &eb) != XW_OK) {
        vt_fail(c, "join fails: %s", eb.msg);
        goto out;
    }
    size_t alen;
    const uint8_t *auth = mls_group_epoch_authenticator(g, &alen);
    if (vt_expect(c, e, "initial_epoch_authenticator", auth, alen))
        goto out;
    json_t *epochs = json_object_get(e, "epochs");
    for (size_t ep = 0; ep < json_array_size(epochs); ep++) {
        json_t *o = json_object_get(json_array_get(epochs, ep), "proposals");
        for (size_t k = 0; k < json_array_size(o); k++) {
            json_t *tmpo = json_object();
            json_object_set(tmpo, "m", json_array_get(o, k));
            int bad = vt_hex(c, tmpo, "m", &msg);
            json_decref(tmpo);
            if (bad)
                goto out;
            if (mls_group_receive(g, msg.data, msg.len, &rcv, &eb) != XW_OK) {
                vt_fail(c, "epoch %zu: proposal %zu rejected: %s", ep, k, eb.msg);
                goto out;
            }
        }
        if (vt_hex(c, json_array_get(epochs, ep), "commit", &msg))
            goto out;
        if (mls_group_receive(g, msg.data, msg.len, &rcv, &eb) != XW_OK) {
            vt_fail(c, "epoch %zu: commit rejected: %s", ep, eb.msg);
            goto out;
        }
        auth = mls_group_epoch_authenticator(g, &alen);
        if (vt_expect(c, json_array_get(epochs, ep), "epoch_authenticator", auth, alen)) {
            vt_fail(c, "epoch %zu: epoch authenticator differs", ep);
            goto out;
        }
    }
out:
    mls_received_free(&rcv);
    mls_group_free(g);
    mls_key_package_free(kp);
    mls_key_package_secrets_wipe(&ks);
    for (size_t i = 0; i < 128; i++)
        xw_buf_free(&pbuf[i]);
    xw_buf_free(&kpb);
    xw_buf_free(&tmp);
    xw_buf_free(&wb);
    xw_buf_free(&tree);
    xw_buf_free(&msg);
    return c->failed ? VT_FAIL : VT_PASS;
}
