/*
 * Welcome and GroupInfo (RFC 9420 §12.4.3, §12.4.3.1): building the Welcome of a commit that
 * adds members, opening one (GroupSecrets decrypted with the key package's init key, the
 * GroupInfo decrypted with the welcome key) and joining a group from it: GroupInfo signature,
 * ratchet tree (from the ratchet_tree extension or out of band) with its tree hash and full
 * validation, the application's leaf check on every member, own leaf, path secret, key
 * schedule and confirmation tag.
 */
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/group_int.h"
#include "mls/welcome.h"

int mls_group_welcome_build(const mls_group *g, const mls_group *next, const uint8_t *tag,
                            const uint32_t *added, const mls_key_package *const *kps, size_t n_added,
                            const mls_treekem_path *path, const mls_psk *psks, size_t n_psks, xw_buf *out,
                            xw_errbuf *eb)
{
    const mls_suite *s = g->suite;
    xw_buf gi, egi, gs, kem, ct, tree;
    xw_buf_init(&gi, (size_t)1 << 27);
    xw_buf_init(&egi, (size_t)1 << 27);
    xw_buf_init(&gs, 1 << 16);
    xw_buf_init(&kem, MLS_HPKE_MAX_ENC);
    xw_buf_init(&ct, 1 << 16);
    xw_buf_init(&tree, (size_t)1 << 27);
    mls_writer w;
    mls_writer_init(&w, &gi);
    mls_write_fixed(&w, next->gc.data, next->gc.len);
    size_t m = mls_write_vec_begin(&w);
    int rc = XW_OK;
    if (g->cfg.ratchet_tree_in_welcome) {
        mls_tree_encode(next->tree, &tree);
        mls_write_u16(&w, MLS_EXT_RATCHET_TREE);
        mls_write_opaque(&w, tree.data, tree.len);
    }
    if (g->cfg.external_pub) {
        uint8_t priv[MLS_HPKE_MAX_SK], pub[MLS_HPKE_MAX_PK], hdr[8];
        rc = mls_external_keypair(s, next->sec.external_secret, priv, pub, eb);
        xw_wipe(priv, sizeof priv);
        mls_write_u16(&w, MLS_EXT_EXTERNAL_PUB);
        /* extension_data = HPKEPublicKey external_pub (an opaque<V>) */
        size_t hl = mls_varint_size(s->hpke_pub_len);
        hdr[0] = (uint8_t)s->hpke_pub_len; /* < 64: a one-byte varint */
        mls_write_varint(&w, hl + s->hpke_pub_len);
        mls_write_fixed(&w, hdr, hl);
        mls_write_fixed(&w, pub, s->hpke_pub_len);
    }
    mls_write_vec_end(&w, m);
    mls_write_opaque(&w, tag, s->nh);
    mls_write_u32(&w, g->me);
    uint8_t sig[MLS_MAX_SIG];
    if (rc == XW_OK)
        rc = w.err ? w.err : mls_sign_with_label(s, &g->sig, "GroupInfoTBS", gi.data, gi.len, sig, eb);
    mls_write_opaque(&w, sig, s->sig_len);
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_NONCE];
    if (rc == XW_OK)
        rc = w.err ? w.err : mls_welcome_key_nonce(s, next->sec.welcome_secret, key, nonce);
    uint8_t *e = rc == XW_OK ? xw_buf_extend(&egi, gi.len + MLS_AEAD_TAG) : NULL;
    if (rc == XW_OK && !e)
        rc = XW_ETOOBIG;
    if (rc == XW_OK)
        rc = mls_aead_seal(s, key, nonce, NULL, 0, gi.data, gi.len, e);
    xw_wipe(key, sizeof key);
    mls_writer_init(&w, out);
    size_t start = out->len;
    mls_write_u16(&w, MLS_PROTOCOL_VERSION_10);
    mls_write_u16(&w, MLS_WIRE_FORMAT_WELCOME);
    mls_write_u16(&w, s->id);
    size_t secrets = mls_write_vec_begin(&w);
    /* every joiner's GroupSecrets is encrypted under the same context, the encrypted
     * GroupInfo (the whole ratchet tree): hash it once, not once per joiner */
    mls_hpke_sealer z;
    if (rc == XW_OK && n_added)
        rc = mls_label_sealer_init(&z, s, "Welcome", egi.data, egi.len, eb);
    for (size_t i = 0; i < n_added && rc == XW_OK; i++) {
        xw_buf_reset(&gs);
        mls_writer gw;
        mls_writer_init(&gw, &gs);
        mls_write_opaque(&gw, next->sec.joiner_secret, s->nh);
        int j = -1;
        if (path) {
            uint32_t anc = mls_tree_common_ancestor(2 * added[i], 2 * g->me);
            for (uint32_t k = 0; k < path->n; k++)
                if (path->fdp[k] == anc)
                    j = (int)k;
        }
        mls_write_optional(&gw, j >= 0);
        if (j >= 0)
            mls_write_opaque(&gw, path->path_secret[j], s->nh);
        size_t pm = mls_write_vec_begin(&gw);
        for (size_t k = 0; k < n_psks; k++)
            mls_psk_id_write(&gw, &psks[k].id);
        mls_write_vec_end(&gw, pm);
        if (gw.err) {
            rc = gw.err;
            break;
        }
        uint8_t ref[MLS_MAX_HASH];
        rc = mls_key_package_ref(s, kps[i], ref);
        if (rc == XW_OK)
            rc = mls_hpke_sealer_seal(&z, kps[i]->init_key.p, kps[i]->init_key.len, NULL, 0, gs.data, gs.len,
                                      &kem, &ct, eb);
        mls_write_opaque(&w, ref, s->nh);
        mls_write_opaque(&w, kem.data, kem.len);
        mls_write_opaque(&w, ct.data, ct.len);
    }
    mls_write_vec_end(&w, secrets);
    mls_write_opaque(&w, egi.data, egi.len);
    if (rc == XW_OK && w.err)
        rc = w.err;
    if (rc != XW_OK)
        xw_buf_truncate(out, start);
    xw_buf_free(&gi);
    xw_buf_free(&egi);
    xw_buf_free_secret(&gs);
    xw_buf_free(&kem);
    xw_buf_free(&ct);
    xw_buf_free(&tree);
    return rc;
}

void mls_welcome_opened_free(mls_welcome_opened *o)
{
    xw_buf_free(&o->group_info);
    xw_buf_free_secret(&o->group_secrets);
    xw_wipe(o->joiner_secret, sizeof o->joiner_secret);
    xw_wipe(o->psk_secret, sizeof o->psk_secret);
}

int mls_welcome_open(const uint8_t *p, size_t n, const mls_key_package *kp, const uint8_t *init_priv,
                     const mls_external_psk *psks, size_t n_psks, mls_welcome_opened *o, xw_errbuf *eb)
{
    memset(o, 0, sizeof *o);
    xw_buf_init(&o->group_info, (size_t)1 << 27);
    xw_buf_init(&o->group_secrets, 1 << 20);
    mls_reader r;
    mls_reader_init(&r, p, n, eb);
    if (n >= 4 && p[0] == 0 && p[1] == MLS_PROTOCOL_VERSION_10 && p[2] == 0 &&
        p[3] == MLS_WIRE_FORMAT_WELCOME) {
        mls_read_u16(&r);
        mls_read_u16(&r);
    }
    uint16_t suite = mls_read_u16(&r);
    mls_reader sec;
    mls_read_vector(&r, &sec);
    mls_span secrets = {sec.p, sec.len};
    mls_reader_join(&r, &sec);
    mls_span egi = mls_read_opaque(&r);
    if (mls_reader_finish(&r, "welcome") != XW_OK)
        return r.err;
    const mls_suite *s;
    int rc = mls_suite_lookup(suite, &s, eb);
    if (rc != XW_OK)
        return rc;
    if (suite != kp->cipher_suite)
        return xw_errf(eb, XW_EMLS_WELCOME,
                       "welcome is for cipher suite %u but the key package is for suite %u", suite,
                       kp->cipher_suite);
    o->suite = s;
    uint8_t ref[MLS_MAX_HASH];
    if ((rc = mls_key_package_ref(s, kp, ref)) != XW_OK)
        return rc;
    mls_reader_init(&sec, secrets.p, secrets.len, eb);
    mls_span kem = {0}, ct = {0};
    int found = 0;
    while (!sec.err && mls_reader_left(&sec)) {
        mls_span nm = mls_read_opaque(&sec);
        mls_span k = mls_read_opaque(&sec), c = mls_read_opaque(&sec);
        if (!sec.err && nm.len == s->nh && memcmp(nm.p, ref, s->nh) == 0 && !found) {
            kem = k;
            ct = c;
            found = 1;
        }
    }
    if (sec.err)
        return sec.err;
    if (!found)
        return xw_errf(eb, XW_EMLS_WELCOME,
                       "the welcome has no secrets for this key package (it was sent to other key packages)");
    rc = mls_decrypt_with_label(s, init_priv, s->hpke_priv_len, kp->init_key.p, "Welcome", egi.p, egi.len,
                                kem.p, kem.len, ct.p, ct.len, &o->group_secrets, eb);
    if (rc != XW_OK)
        return xw_errf(eb, XW_EMLS_WELCOME,
                       "the welcome's group secrets do not decrypt with this key package's init key");
    /* GroupSecrets */
    mls_reader g;
    mls_reader_init(&g, o->group_secrets.data, o->group_secrets.len, eb);
    mls_span joiner = mls_read_opaque(&g);
    int has_ps = mls_read_optional(&g);
    mls_span ps = {0};
    if (has_ps)
        ps = mls_read_opaque(&g);
    mls_reader pv;
    mls_read_vector(&g, &pv);
    mls_psk list[64];
    size_t np = 0;
    while (!pv.err && mls_reader_left(&pv)) {
        if (np == 64) {
            mls_reader_fail(&pv, XW_ELIMIT, "the welcome injects more than 64 PSKs");
            break;
        }
        mls_psk_id_read(&pv, &list[np].id);
        np++;
    }
    mls_reader_join(&g, &pv);
    if (mls_reader_finish(&g, "group secrets") != XW_OK)
        return g.err;
    if (joiner.len != s->nh || (has_ps && ps.len != s->nh))
        return xw_errf(eb, XW_EMLS_WELCOME, "group secrets hold a joiner or path secret of the wrong length");
    memcpy(o->joiner_secret, joiner.p, s->nh);
    o->has_path_secret = has_ps;
    if (has_ps)
        memcpy(o->path_secret, ps.p, s->nh);
    for (size_t i = 0; i < np; i++) {
        const mls_psk_id *id = &list[i].id;
        if (id->psktype != MLS_PSK_EXTERNAL)
            return xw_errf(
                eb, XW_EUNSUPPORTED,
                "the welcome injects a resumption PSK; joining a reinitialised or branched group is not "
                "supported");
        size_t k = 0;
        while (k < n_psks &&
               !(psks[k].id_len == id->psk_id.len && memcmp(psks[k].id, id->psk_id.p, psks[k].id_len) == 0))
            k++;
        if (k == n_psks)
            return xw_errf(eb, XW_ENOTFOUND, "the welcome injects an external PSK this client does not hold");
        list[i].psk = psks[k].psk;
        list[i].psk_len = psks[k].psk_len;
    }
    if ((rc = mls_psk_secret(s, list, np, o->psk_secret, eb)) != XW_OK)
        return rc;
    uint8_t member[MLS_MAX_HASH], welcome[MLS_MAX_HASH], key[MLS_MAX_AEAD_KEY], nonce[MLS_NONCE];
    rc = mls_extract(s, o->joiner_secret, s->nh, o->psk_secret, s->nh, member);
    if (rc == XW_OK)
        rc = mls_derive_secret(s, member, "welcome", welcome);
    if (rc == XW_OK)
        rc = mls_welcome_key_nonce(s, welcome, key, nonce);
    xw_wipe(member, sizeof member);
    xw_wipe(welcome, sizeof welcome);
    if (rc == XW_OK && egi.len < MLS_AEAD_TAG)
        rc = xw_errf(eb, XW_EMLS_WELCOME, "encrypted group info is shorter than an AEAD tag");
    uint8_t *gi = rc == XW_OK ? xw_buf_extend(&o->group_info, egi.len - MLS_AEAD_TAG) : NULL;
    if (rc == XW_OK && !gi)
        rc = XW_ETOOBIG;
    if (rc == XW_OK && mls_aead_open(s, key, nonce, NULL, 0, egi.p, egi.len, gi) != XW_OK)
        rc = xw_errf(eb, XW_EMLS_WELCOME, "the group info does not decrypt with the welcome key");
    xw_wipe(key, sizeof key);
    return rc;
}

int mls_group_info_parse(const uint8_t *p, size_t n, mls_group_info *gi, xw_errbuf *eb)
{
    mls_reader r;
    mls_reader_init(&r, p, n, eb);
    size_t gs = r.off;
    mls_group_context_read(&r, &gi->gc);
    gi->gc_bytes = (mls_span){p + gs, r.off - gs};
    gi->extensions = mls_extensions_read(&r);
    gi->confirmation_tag = mls_read_opaque_len(&r, 1, MLS_MAX_HASH, "group info confirmation_tag");
    gi->signer = mls_read_u32(&r);
    gi->tbs = (mls_span){p, r.off};
    gi->signature = mls_read_opaque_len(&r, 1, MLS_MAX_SIG, "group info signature");
    return mls_reader_finish(&r, "group info");
}

int mls_group_join(const mls_group_config *cfg, const uint8_t *welcome, size_t w_len, const uint8_t *kpb,
                   size_t kp_len, const mls_key_package_secrets *kps, const uint8_t *tree_b, size_t tree_len,
                   const mls_external_psk *psks, size_t n_psks, mls_group **out, xw_errbuf *eb)
{
    mls_key_package *kp = NULL;
    mls_welcome_opened o;
    mls_group *g = NULL;
    mls_tree *t = NULL;
    int rc = mls_key_package_decode(kpb, kp_len, &kp, eb);
    if (rc != XW_OK)
        return rc;
    rc = mls_welcome_open(welcome, w_len, kp, kps->init_priv, psks, n_psks, &o, eb);
    const mls_suite *s = o.suite;
    mls_group_info gi;
    memset(&gi, 0, sizeof gi);
    if (rc == XW_OK)
        rc = mls_group_info_parse(o.group_info.data, o.group_info.len, &gi, eb);
    if (rc == XW_OK && gi.gc.cipher_suite != s->id)
        rc = xw_errf(eb, XW_EMLS_WELCOME, "group info is for cipher suite %u, the welcome for %u",
                     gi.gc.cipher_suite, s->id);
    mls_span te;
    if (rc == XW_OK) {
        if (mls_extensions_find(gi.extensions, MLS_EXT_RATCHET_TREE, &te))
            rc = mls_tree_decode(s, te.p, te.len, &t, eb);
        else if (tree_b)
            rc = mls_tree_decode(s, tree_b, tree_len, &t, eb);
        else
            rc = xw_errf(
                eb, XW_EMLS_WELCOME,
                "the welcome carries no ratchet_tree extension; pass the group's tree obtained out of band");
    }
    if (rc == XW_OK) {
        const mls_leaf *sl = mls_tree_leaf(t, gi.signer);
        if (!sl)
            rc = xw_errf(eb, XW_EMLS_WELCOME, "group info signer %u is not a member of the tree", gi.signer);
        else if (mls_verify_with_label(s, sl->sig_key.p, sl->sig_key.len, "GroupInfoTBS", gi.tbs.p,
                                       gi.tbs.len, gi.signature.p, gi.signature.len, eb) != XW_OK)
            rc = xw_errf(eb, XW_EBADSIG, "the group info signature does not verify with signer %u's key",
                         gi.signer);
    }
    uint8_t th[MLS_MAX_HASH];
    if (rc == XW_OK && (rc = mls_tree_root_hash(t, th)) == XW_OK &&
        (gi.gc.tree_hash.len != s->nh || memcmp(th, gi.gc.tree_hash.p, s->nh) != 0))
        rc = xw_errf(eb, XW_EMLS_WELCOME,
                     "the ratchet tree does not match the group's tree hash; it is not this "
                     "group's tree (or not this epoch's)");
    if (rc == XW_OK)
        rc = mls_tree_validate(t, gi.gc.group_id, gi.gc.extensions, eb);
    /* the application's leaf check sees every member of the tree joined */
    for (uint32_t i = 0; rc == XW_OK && cfg && cfg->leaf_check && i < t->n_leaves; i++) {
        const mls_leaf *l = mls_tree_leaf(t, i);
        mls_leaf_check_args lc = {MLS_LEAF_JOIN,  i,          l, NULL, {NULL, 0}, gi.signer,
                                  gi.gc.group_id, gi.gc.epoch};
        if (l)
            rc = mls_group_leaf_check(cfg, &lc, eb);
    }
    uint32_t me = UINT32_MAX;
    if (rc == XW_OK && (me = mls_tree_find_leaf(t, kp->leaf->raw, kp->leaf->raw_len)) == UINT32_MAX)
        rc = xw_errf(eb, XW_EMLS_WELCOME, "the tree does not contain this key package's leaf");
    /* the group's extensions must be supported by the joiner */
    if (rc == XW_OK) {
        mls_reader r;
        mls_reader_init(&r, gi.gc.extensions.p, gi.gc.extensions.len, NULL);
        while (rc == XW_OK && !r.err && mls_reader_left(&r)) {
            uint16_t ty = mls_read_u16(&r);
            mls_read_opaque(&r);
            if (!(ty >= 1 && ty <= 5) && !mls_u16_list_has(kp->leaf->ext_types, ty))
                rc = xw_errf(eb, XW_EMLS_WELCOME,
                             "the group uses extension 0x%04x that this client does not support", ty);
        }
    }
    if (rc == XW_OK && !(g = mls_group_alloc(s, cfg)))
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
    if (rc == XW_OK) {
        g->tree = t;
        t = NULL;
        g->me = me;
        g->sig = kps->sig;
        g->epoch = gi.gc.epoch;
        if (xw_buf_append(&g->group_id, gi.gc.group_id.p, gi.gc.group_id.len) ||
            xw_buf_append(&g->extensions, gi.gc.extensions.p, gi.gc.extensions.len) ||
            gi.gc.confirmed_transcript_hash.len > MLS_MAX_HASH)
            rc = xw_errf(eb, XW_ETOOBIG, "group info fields are too large");
    }
    if (rc == XW_OK) {
        g->confirmed_len = gi.gc.confirmed_transcript_hash.len;
        memcpy(g->confirmed, gi.gc.confirmed_transcript_hash.p, g->confirmed_len);
        rc = mls_tree_set_priv(g->tree, 2 * me, kps->enc_priv, s->hpke_priv_len);
    }
    if (rc == XW_OK && o.has_path_secret) {
        uint32_t x = mls_tree_common_ancestor(2 * me, 2 * gi.signer);
        uint8_t ps[MLS_MAX_HASH], ns[MLS_MAX_HASH], priv[MLS_HPKE_MAX_SK], pub[MLS_HPKE_MAX_PK];
        memcpy(ps, o.path_secret, s->nh);
        if (me == gi.signer)
            rc = xw_errf(eb, XW_EMLS_WELCOME, "the welcome's signer is this client's own leaf");
        for (; rc == XW_OK && x != MLS_NODE_NONE; x = mls_tree_parent(x, g->tree->n_leaves)) {
            const mls_node *nd = &g->tree->nodes[x];
            if (nd->type != MLS_NODE_PARENT)
                continue;
            rc = mls_derive_secret(s, ps, "node", ns);
            if (rc == XW_OK)
                rc = mls_derive_keypair(s, ns, s->nh, priv, pub, eb);
            if (rc == XW_OK && memcmp(pub, nd->parent->enc_key, s->hpke_pub_len) != 0)
                rc = xw_errf(eb, XW_EMLS_WELCOME,
                             "the welcome's path secret does not give the key of tree node %u", x);
            if (rc == XW_OK)
                rc = mls_tree_set_priv(g->tree, x, priv, s->hpke_priv_len);
            if (rc == XW_OK)
                rc = mls_derive_secret(s, ps, "path", ps);
        }
        xw_wipe(ps, sizeof ps);
        xw_wipe(ns, sizeof ns);
        xw_wipe(priv, sizeof priv);
    }
    if (rc == XW_OK)
        rc = xw_buf_append(&g->gc, gi.gc_bytes.p, gi.gc_bytes.len);
    if (rc == XW_OK)
        rc = mls_key_schedule_epoch(s, o.joiner_secret, o.psk_secret, g->gc.data, g->gc.len, &g->sec);
    if (rc == XW_OK) {
        uint8_t want[MLS_MAX_HASH];
        rc = mls_mac(s, g->sec.confirmation_key, s->nh, g->confirmed, g->confirmed_len, want);
        if (rc == XW_OK &&
            (gi.confirmation_tag.len != s->nh || sodium_memcmp(want, gi.confirmation_tag.p, s->nh) != 0))
            rc = xw_errf(
                eb, XW_EMLS_TAG,
                "the group info's confirmation tag does not verify: the welcome's secrets do not match the "
                "group");
    }
    if (rc == XW_OK)
        rc = mls_interim_transcript_hash(s, g->confirmed, gi.confirmation_tag.p, s->nh, g->interim);
    if (g)
        g->interim_len = s->nh;
    if (rc == XW_OK)
        rc = mls_group_epoch_start(g, eb);
    if (rc == XW_OK)
        mls_group_wipe_spent(g);
    for (size_t i = 0; rc == XW_OK && i < n_psks; i++)
        rc = mls_group_add_external_psk(g, &psks[i], eb);
    mls_welcome_opened_free(&o);
    mls_key_package_free(kp);
    mls_tree_free(t);
    if (rc != XW_OK) {
        mls_group_free(g);
        return rc;
    }
    *out = g;
    return XW_OK;
}
