/*
 * Vector kind treekem (RFC 9420 §7.4-§7.6): each member's private view is loaded and
 * checked against the public tree; each UpdatePath is merged (tree hash after) and
 * decrypted by every other member (path secret and commit secret); then a fresh UpdatePath
 * from the same sender must give every other member the sender's commit secret.
 */
#include <stdlib.h>
#include <string.h>

#include "mls/key_schedule.h"
#include "mls/treekem.h"
#include "tests/vectors/groups_vectors.h"

typedef struct {
    uint32_t index;
    mls_tree *tree; /* the base tree with this member's private keys */
    mls_sig_priv sig;
} member;

static int gc_encode(const mls_suite *s, xw_buf *gid, uint64_t epoch, const uint8_t *th, xw_buf *cth,
                     xw_buf *out)
{
    mls_group_context gc = {MLS_PROTOCOL_VERSION_10, s->id,    {gid->data, gid->len}, epoch, {th, s->nh},
                            {cth->data, cth->len},   {NULL, 0}};
    mls_writer w;
    xw_buf_reset(out);
    mls_writer_init(&w, out);
    mls_group_context_write(&w, &gc);
    return w.err;
}

static member *find(member *m, size_t n, uint32_t idx)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].index == idx)
            return &m[i];
    return NULL;
}

int vt_treekem(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int r = vt_suite(c, e, &s);
    if (r != VT_PASS)
        return r;
    xw_buf tb, gid, cth, tmp, gc, upb;
    xw_buf_init(&tb, VT_MAX_BUF);
    xw_buf_init(&gid, VT_MAX_BUF);
    xw_buf_init(&cth, VT_MAX_BUF);
    xw_buf_init(&tmp, VT_MAX_BUF);
    xw_buf_init(&gc, VT_MAX_BUF);
    xw_buf_init(&upb, VT_MAX_BUF);
    mls_tree *base = NULL;
    xw_errbuf eb = {{0}};
    uint64_t epoch;
    json_t *lp = json_object_get(e, "leaves_private"), *ups = json_object_get(e, "update_paths");
    size_t nm = json_array_size(lp);
    member *m = calloc(nm ? nm : 1, sizeof *m);
    if (vt_hex(c, e, "ratchet_tree", &tb) || vt_hex(c, e, "group_id", &gid) ||
        vt_hex(c, e, "confirmed_transcript_hash", &cth) || vt_uint(c, e, "epoch", &epoch))
        goto out;
    if (mls_tree_decode(s, tb.data, tb.len, &base, &eb) != XW_OK) {
        vt_fail(c, "ratchet_tree does not decode: %s", eb.msg);
        goto out;
    }
    for (size_t i = 0; i < nm; i++) {
        json_t *o = json_array_get(lp, i);
        uint64_t idx;
        if (vt_uint(c, o, "index", &idx) || vt_hex(c, o, "encryption_priv", &tmp))
            goto out;
        m[i].index = (uint32_t)idx;
        m[i].tree = mls_tree_clone(base, 0);
        mls_tree_set_priv(m[i].tree, 2 * m[i].index, tmp.data, tmp.len);
        if (vt_hex(c, o, "signature_priv", &tmp))
            goto out;
        mls_sig_priv_from_seed(s, tmp.data, tmp.len, &m[i].sig, NULL);
        json_t *pss = json_object_get(o, "path_secrets");
        for (size_t k = 0; k < json_array_size(pss); k++) {
            json_t *ps = json_array_get(pss, k);
            uint64_t node;
            if (vt_uint(c, ps, "node", &node) || vt_hex(c, ps, "path_secret", &tmp))
                goto out;
            uint8_t ns[MLS_MAX_HASH], priv[MLS_HPKE_MAX_SK], pub[MLS_HPKE_MAX_PK];
            mls_derive_secret(s, tmp.data, "node", ns);
            mls_derive_keypair(s, ns, s->nh, priv, pub, NULL);
            const mls_node *nd = &base->nodes[node];
            if (nd->type != MLS_NODE_PARENT || memcmp(nd->parent->enc_key, pub, s->hpke_pub_len) != 0) {
                vt_fail(c, "leaf %u's path secret for node %llu does not give the tree's public key",
                        m[i].index, (unsigned long long)node);
                goto out;
            }
            mls_tree_set_priv(m[i].tree, (uint32_t)node, priv, s->hpke_priv_len);
        }
    }
    for (size_t u = 0; u < json_array_size(ups); u++) {
        json_t *o = json_array_get(ups, u);
        uint64_t sender;
        if (vt_uint(c, o, "sender", &sender) || vt_hex(c, o, "update_path", &upb))
            goto out;
        mls_update_path up;
        mls_reader rd;
        mls_reader_init(&rd, upb.data, upb.len, &eb);
        if (mls_update_path_read(&rd, &up) != XW_OK || mls_reader_finish(&rd, "update path")) {
            vt_fail(c, "update path %zu does not decode: %s", u, eb.msg);
            goto out;
        }
        json_t *want_ps = json_object_get(o, "path_secrets");
        uint8_t th[MLS_MAX_HASH];
        for (size_t i = 0; i < nm && !c->failed; i++) {
            if (m[i].index == sender)
                continue;
            mls_tree *t = mls_tree_clone(m[i].tree, 1);
            if (mls_treekem_merge(t, (uint32_t)sender, &up, (mls_span){gid.data, gid.len}, &eb) != XW_OK) {
                vt_fail(c, "update path %zu does not merge: %s", u, eb.msg);
            } else {
                mls_tree_root_hash(t, th);
                if (!vt_expect(c, o, "tree_hash_after", th, s->nh)) {
                    uint8_t cs[MLS_MAX_HASH], ps[MLS_MAX_HASH];
                    gc_encode(s, &gid, epoch, th, &cth, &gc);
                    if (mls_treekem_decrypt(t, (uint32_t)sender, m[i].index, &up, NULL, 0, gc.data, gc.len,
                                            cs, ps, &eb) != XW_OK)
                        vt_fail(c, "leaf %u cannot process update path %zu: %s", m[i].index, u, eb.msg);
                    else if (!vt_expect(c, o, "commit_secret", cs, s->nh)) {
                        json_t *tmpo = json_object();
                        json_object_set(tmpo, "path_secret", json_array_get(want_ps, m[i].index));
                        vt_expect(c, tmpo, "path_secret", ps, s->nh);
                        json_decref(tmpo);
                    }
                }
            }
            mls_tree_free(t);
        }
        mls_update_path_free(&up);
        if (c->failed)
            goto out;
        /* a fresh path from the same sender */
        member *snd = find(m, nm, (uint32_t)sender);
        if (!snd) {
            vt_fail(c, "no private keys for sender %llu", (unsigned long long)sender);
            goto out;
        }
        mls_tree *st = mls_tree_clone(snd->tree, 1);
        mls_treekem_path p;
        xw_buf_reset(&upb);
        if (mls_treekem_prepare(st, (uint32_t)sender, &snd->sig, NULL, (mls_span){gid.data, gid.len}, &p,
                                &eb) != XW_OK) {
            vt_fail(c, "cannot create an update path: %s", eb.msg);
            mls_tree_free(st);
            goto out;
        }
        mls_tree_root_hash(st, th);
        gc_encode(s, &gid, epoch, th, &cth, &gc);
        if (mls_treekem_encrypt(st, &p, NULL, 0, gc.data, gc.len, &upb, &eb) != XW_OK)
            vt_fail(c, "cannot encrypt an update path: %s", eb.msg);
        mls_reader_init(&rd, upb.data, upb.len, &eb);
        if (!c->failed && (mls_update_path_read(&rd, &up) != XW_OK || mls_reader_finish(&rd, "update path")))
            vt_fail(c, "our update path does not decode: %s", eb.msg);
        for (size_t i = 0; i < nm && !c->failed; i++) {
            if (m[i].index == sender)
                continue;
            mls_tree *t = mls_tree_clone(m[i].tree, 1);
            uint8_t cs[MLS_MAX_HASH], th2[MLS_MAX_HASH];
            if (mls_treekem_merge(t, (uint32_t)sender, &up, (mls_span){gid.data, gid.len}, &eb) != XW_OK)
                vt_fail(c, "our update path does not merge at leaf %u: %s", m[i].index, eb.msg);
            else if (mls_tree_root_hash(t, th2), memcmp(th, th2, s->nh) != 0)
                vt_fail(c, "leaf %u computes another tree hash after our path", m[i].index);
            else if (mls_treekem_decrypt(t, (uint32_t)sender, m[i].index, &up, NULL, 0, gc.data, gc.len, cs,
                                         NULL, &eb) != XW_OK)
                vt_fail(c, "leaf %u cannot process our update path: %s", m[i].index, eb.msg);
            else if (memcmp(cs, p.commit_secret, s->nh) != 0)
                vt_fail(c, "leaf %u derives another commit secret from our update path", m[i].index);
            mls_tree_free(t);
        }
        if (!c->failed)
            mls_update_path_free(&up);
        mls_treekem_path_wipe(&p);
        mls_tree_free(st);
        if (c->failed)
            goto out;
    }
out:
    for (size_t i = 0; i < nm; i++)
        mls_tree_free(m[i].tree);
    free(m);
    mls_tree_free(base);
    xw_buf_free(&tb);
    xw_buf_free(&gid);
    xw_buf_free(&cth);
    xw_buf_free(&tmp);
    xw_buf_free(&gc);
    xw_buf_free(&upb);
    return c->failed ? VT_FAIL : VT_PASS;
}
