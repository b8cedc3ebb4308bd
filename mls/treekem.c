/*
 * TreeKEM (see treekem.h).
 */
#include "mls/treekem.h"

#include <string.h>

#include "common/alloc.h"
#include "mls/hpke.h"
#include "mls/treemath.h"

int mls_update_path_read(mls_reader *r, mls_update_path *up)
{
    memset(up, 0, sizeof *up);
    up->leaf = mls_leaf_read(r);
    if (!up->leaf)
        return r->err;
    mls_reader nodes;
    mls_read_vector(r, &nodes);
    while (!nodes.err && mls_reader_left(&nodes)) {
        if (up->n_nodes == MLS_TREEKEM_MAX_PATH) {
            mls_reader_fail(&nodes, XW_EMALFORMED, "update path has more than %d nodes",
                            MLS_TREEKEM_MAX_PATH);
            break;
        }
        up->enc_key[up->n_nodes] =
            mls_read_opaque_len(&nodes, 1, MLS_HPKE_MAX_PK, "update path encryption_key");
        mls_reader cts;
        mls_read_vector(&nodes, &cts);
        up->cts[up->n_nodes] = (mls_span){cts.p, cts.len};
        while (!cts.err && mls_reader_left(&cts)) {
            mls_read_opaque(&cts);
            mls_read_opaque(&cts);
        }
        mls_reader_join(&nodes, &cts);
        up->n_nodes++;
    }
    if (mls_reader_join(r, &nodes) != XW_OK) {
        mls_update_path_free(up);
        return r->err;
    }
    return XW_OK;
}

void mls_update_path_free(mls_update_path *up)
{
    mls_leaf_unref(up->leaf);
    up->leaf = NULL;
}

/* The child of p that does not hold leaf node x. */
static uint32_t copath_child(uint32_t p, uint32_t x) { return x < p ? mls_tree_right(p) : mls_tree_left(p); }

static void blank_direct_path(mls_tree *t, uint32_t leaf)
{
    uint32_t path[32];
    size_t n = mls_tree_direct_path(2 * leaf, t->n_leaves, path, 32);
    for (size_t k = 0; k < n; k++)
        mls_tree_blank(t, path[k]);
}

/* Sets the parent_hash fields along fdp top-down and writes the leaf's expected value. */
static int chain_parent_hashes(mls_tree *t, uint32_t leaf, const uint32_t *fdp, uint32_t n, uint8_t *leaf_ph,
                               size_t *leaf_ph_len)
{
    int rc = XW_OK;
    if (n == 0) {
        *leaf_ph_len = 0;
        return XW_OK;
    }
    for (uint32_t i = n - 1; i > 0 && rc == XW_OK; i--) {
        uint8_t h[MLS_MAX_HASH];
        rc = mls_tree_parent_hash(t, fdp[i], copath_child(fdp[i], 2 * leaf), h);
        if (rc == XW_OK)
            rc = mls_tree_set_parent_hash(t, fdp[i - 1], h, t->suite->nh);
    }
    if (rc == XW_OK)
        rc = mls_tree_parent_hash(t, fdp[0], copath_child(fdp[0], 2 * leaf), leaf_ph);
    *leaf_ph_len = t->suite->nh;
    return rc;
}

static int key_in_tree(const mls_tree *t, mls_span key, uint32_t skip_leaf)
{
    for (uint32_t x = 0; x < mls_tree_nodes(t); x++) {
        const mls_node *n = &t->nodes[x];
        if (x == 2 * skip_leaf || n->type == MLS_NODE_BLANK)
            continue;
        const uint8_t *k = n->type == MLS_NODE_LEAF ? n->leaf->enc_key.p : n->parent->enc_key;
        size_t kn = n->type == MLS_NODE_LEAF ? n->leaf->enc_key.len : n->parent->enc_len;
        if (kn == key.len && memcmp(k, key.p, kn) == 0)
            return 1;
    }
    return 0;
}

int mls_treekem_merge(mls_tree *t, uint32_t sender, const mls_update_path *up, mls_span group_id,
                      xw_errbuf *eb)
{
    const mls_suite *s = t->suite;
    uint32_t fdp[MLS_TREEKEM_MAX_PATH];
    uint32_t n = (uint32_t)mls_tree_filtered_direct_path(t, sender, fdp, MLS_TREEKEM_MAX_PATH);
    if (up->n_nodes != n)
        return xw_errf(eb, XW_EMLS_COMMIT,
                       "update path has %u nodes but the sender's filtered direct path has %u", up->n_nodes,
                       n);
    const mls_leaf *l = up->leaf;
    if (l->source != MLS_LEAF_SOURCE_COMMIT)
        return xw_errf(eb, XW_EMLS_COMMIT,
                       "the leaf node of an update path has source %u; it must be commit (3)", l->source);
    int rc = mls_leaf_verify_signature(s, l, group_id, sender, eb);
    if (rc != XW_OK)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        if (up->enc_key[i].len != s->hpke_pub_len)
            return xw_errf(eb, XW_EMLS_COMMIT, "update path node %u has a %zu-byte key; suite %u uses %zu", i,
                           up->enc_key[i].len, s->id, s->hpke_pub_len);
        if (key_in_tree(t, up->enc_key[i], UINT32_MAX))
            return xw_errf(eb, XW_EMLS_COMMIT, "update path node %u reuses a public key already in the tree",
                           i);
    }
    if (key_in_tree(t, l->enc_key, UINT32_MAX))
        return xw_errf(eb, XW_EMLS_COMMIT,
                       "the committer's new leaf reuses an encryption key already in the tree");
    blank_direct_path(t, sender);
    for (uint32_t i = 0; i < n; i++)
        if ((rc = mls_tree_set_parent(t, fdp[i], up->enc_key[i].p, up->enc_key[i].len)) != XW_OK)
            return rc;
    uint8_t ph[MLS_MAX_HASH];
    size_t ph_len;
    if ((rc = chain_parent_hashes(t, sender, fdp, n, ph, &ph_len)) != XW_OK)
        return rc;
    if (l->parent_hash.len != ph_len || memcmp(l->parent_hash.p, ph, ph_len) != 0)
        return xw_errf(
            eb, XW_EMLS_COMMIT,
            "the committer's leaf carries a parent_hash that does not match its update path; the commit "
            "was built on a different tree");
    mls_tree_set_leaf(t, sender, up->leaf);
    return XW_OK;
}

/* Derives node keys from path_secret for fdp[from..n) and checks/stores them. */
static int derive_path(mls_tree *t, const uint32_t *fdp, uint32_t from, uint32_t n, uint8_t *ps,
                       const mls_span *expect_pub, xw_errbuf *eb)
{
    const mls_suite *s = t->suite;
    uint8_t node_secret[MLS_MAX_HASH], priv[MLS_HPKE_MAX_SK], pub[MLS_HPKE_MAX_PK];
    int rc = XW_OK;
    for (uint32_t i = from; i < n && rc == XW_OK; i++) {
        rc = mls_derive_secret(s, ps, "node", node_secret);
        if (rc == XW_OK)
            rc = mls_derive_keypair(s, node_secret, s->nh, priv, pub, eb);
        if (rc == XW_OK && expect_pub &&
            (expect_pub[i].len != s->hpke_pub_len || memcmp(expect_pub[i].p, pub, s->hpke_pub_len) != 0))
            rc =
                xw_errf(eb, XW_EMLS_COMMIT,
                        "the public key of update path node %u does not match its path secret; the committer "
                        "sent inconsistent keys",
                        i);
        if (rc == XW_OK && !expect_pub)
            rc = mls_tree_set_parent(t, fdp[i], pub, s->hpke_pub_len);
        if (rc == XW_OK)
            rc = mls_tree_set_priv(t, fdp[i], priv, s->hpke_priv_len);
        if (rc == XW_OK)
            rc = mls_derive_secret(s, ps, "path", ps);
    }
    xw_wipe(node_secret, sizeof node_secret);
    xw_wipe(priv, sizeof priv);
    return rc;
}

static mls_span node_pub(const mls_tree *t, uint32_t x)
{
    const mls_node *n = &t->nodes[x];
    if (n->type == MLS_NODE_LEAF)
        return n->leaf->enc_key;
    return (mls_span){n->parent->enc_key, n->parent->enc_len};
}

int mls_treekem_decrypt(mls_tree *t, uint32_t sender, uint32_t me, const mls_update_path *up,
                        const uint32_t *exclude, size_t n_excl, const uint8_t *gc, size_t gc_len,
                        uint8_t *commit_secret, uint8_t *path_secret_out, xw_errbuf *eb)
{
    const mls_suite *s = t->suite;
    uint32_t fdp[MLS_TREEKEM_MAX_PATH];
    uint32_t n = (uint32_t)mls_tree_filtered_direct_path(t, sender, fdp, MLS_TREEKEM_MAX_PATH);
    if (me == sender || me >= t->n_leaves)
        return xw_errf(eb, XW_EINVAL, "cannot decrypt an update path for leaf %u (sender %u)", me, sender);
    uint32_t anc = mls_tree_common_ancestor(2 * me, 2 * sender), i = 0;
    while (i < n && fdp[i] != anc)
        i++;
    if (i == n || n != up->n_nodes)
        return xw_errf(eb, XW_EMLS_COMMIT, "the update path has no node above leaf %u", me);
    uint32_t c = copath_child(anc, 2 * sender);
    size_t cap = t->n_leaves + 1;
    uint32_t *res = xw_malloc(cap * sizeof *res);
    if (!res)
        return XW_ENOMEM;
    size_t nres = mls_tree_resolution(t, c, exclude, n_excl, res, cap);
    size_t j = 0;
    while (j < nres && !t->priv[res[j]])
        j++;
    int rc = XW_OK;
    mls_reader r;
    mls_reader_init(&r, up->cts[i].p, up->cts[i].len, NULL);
    mls_span kem = {0}, ct = {0};
    size_t count = 0;
    while (!r.err && mls_reader_left(&r)) {
        mls_span k1 = mls_read_opaque(&r), c1 = mls_read_opaque(&r);
        if (count == j) {
            kem = k1;
            ct = c1;
        }
        count++;
    }
    if (j == nres)
        rc = xw_errf(eb, XW_EMLS_COMMIT,
                     "leaf %u holds no private key in the resolution the path was encrypted to", me);
    else if (count != nres)
        rc = xw_errf(eb, XW_EMLS_COMMIT,
                     "update path node %u has %zu ciphertexts but the copath resolution has %zu nodes", i,
                     count, nres);
    uint32_t holder = j < nres ? res[j] : 0;
    xw_free(res);
    if (rc != XW_OK)
        return rc;
    xw_buf pt;
    xw_buf_init(&pt, 1024);
    /* The holder's public key from the tree (what the sender encrypted to) saves deriving it
     * from the private key for the KEM context. */
    mls_span holder_pub = node_pub(t, holder);
    rc = mls_decrypt_with_label(s, t->priv[holder], s->hpke_priv_len,
                                holder_pub.len == s->hpke_pub_len ? holder_pub.p : NULL, "UpdatePathNode", gc,
                                gc_len, kem.p, kem.len, ct.p, ct.len, &pt, eb);
    if (rc == XW_OK && pt.len != s->nh)
        rc = xw_errf(eb, XW_EMLS_COMMIT, "decrypted path secret has %zu bytes, not %zu", pt.len, s->nh);
    if (rc != XW_OK) {
        xw_buf_free_secret(&pt);
        return rc == XW_EDECRYPT
                   ? xw_errf(eb, XW_EMLS_COMMIT, "the path secret for leaf %u does not decrypt", me)
                   : rc;
    }
    uint8_t ps[MLS_MAX_HASH];
    memcpy(ps, pt.data, s->nh);
    xw_buf_free_secret(&pt);
    if (path_secret_out)
        memcpy(path_secret_out, ps, s->nh);
    rc = derive_path(t, fdp, i, n, ps, up->enc_key, eb);
    if (rc == XW_OK)
        memcpy(commit_secret, ps, s->nh);
    xw_wipe(ps, sizeof ps);
    return rc;
}

int mls_treekem_prepare(mls_tree *t, uint32_t me, const mls_sig_priv *k, const mls_leaf_fields *fields,
                        mls_span group_id, mls_treekem_path *out, xw_errbuf *eb)
{
    const mls_suite *s = t->suite;
    const mls_leaf *old = mls_tree_leaf(t, me);
    memset(out, 0, sizeof *out);
    if (!old)
        return xw_errf(eb, XW_ESTATE, "leaf %u is blank; it cannot commit", me);
    out->me = me;
    out->n = (uint32_t)mls_tree_filtered_direct_path(t, me, out->fdp, MLS_TREEKEM_MAX_PATH);
    uint8_t seed[MLS_MAX_HASH], leaf_priv[MLS_HPKE_MAX_SK], leaf_pub[MLS_HPKE_MAX_PK];
    mls_random(seed, s->nh);
    int rc = mls_derive_keypair(s, seed, s->nh, leaf_priv, leaf_pub, eb);
    mls_random(out->path_secret[0], s->nh);
    blank_direct_path(t, me);
    uint8_t ps[MLS_MAX_HASH];
    memcpy(ps, out->path_secret[0], s->nh);
    for (uint32_t i = 1; i < out->n && rc == XW_OK; i++)
        rc = mls_derive_secret(s, out->path_secret[i - 1], "path", out->path_secret[i]);
    if (rc == XW_OK)
        rc = derive_path(t, out->fdp, 0, out->n, ps, NULL, eb);
    if (rc == XW_OK)
        memcpy(out->commit_secret, ps, s->nh);
    uint8_t ph[MLS_MAX_HASH];
    size_t ph_len = 0;
    if (rc == XW_OK)
        rc = chain_parent_hashes(t, me, out->fdp, out->n, ph, &ph_len);
    if (rc == XW_OK) {
        mls_leaf_fields f;
        if (fields) {
            f = *fields;
        } else {
            f = (mls_leaf_fields){.sig_key = old->sig_key,
                                  .credential = old->credential,
                                  .capabilities = old->capabilities,
                                  .extensions = old->extensions};
        }
        f.enc_key = (mls_span){leaf_pub, s->hpke_pub_len};
        f.source = MLS_LEAF_SOURCE_COMMIT;
        f.parent_hash = (mls_span){ph, ph_len};
        out->leaf = mls_leaf_build(s, &f, k, group_id, me, eb);
        rc = out->leaf ? XW_OK : XW_ECRYPTO;
    }
    if (rc == XW_OK) {
        mls_tree_set_leaf(t, me, out->leaf);
        rc = mls_tree_set_priv(t, 2 * me, leaf_priv, s->hpke_priv_len);
    }
    xw_wipe(seed, sizeof seed);
    xw_wipe(ps, sizeof ps);
    xw_wipe(leaf_priv, sizeof leaf_priv);
    if (rc != XW_OK)
        mls_treekem_path_wipe(out);
    return rc;
}

int mls_treekem_encrypt(mls_tree *t, const mls_treekem_path *p, const uint32_t *exclude, size_t n_excl,
                        const uint8_t *gc, size_t gc_len, xw_buf *out, xw_errbuf *eb)
{
    const mls_suite *s = t->suite;
    size_t cap = t->n_leaves + 1;
    uint32_t *res = xw_malloc(cap * sizeof *res);
    if (!res)
        return XW_ENOMEM;
    mls_writer w;
    mls_writer_init(&w, out);
    mls_write_fixed(&w, p->leaf->raw, p->leaf->raw_len);
    size_t nodes = mls_write_vec_begin(&w);
    xw_buf kem, ct;
    xw_buf_init(&kem, MLS_HPKE_MAX_ENC);
    xw_buf_init(&ct, 1024);
    mls_hpke_sealer z; /* the GroupContext is the same for every recipient: its hash is computed once */
    int rc = mls_label_sealer_init(&z, s, "UpdatePathNode", gc, gc_len, eb);
    for (uint32_t i = 0; i < p->n && rc == XW_OK; i++) {
        const mls_parent *pn = t->nodes[p->fdp[i]].parent;
        mls_write_opaque(&w, pn->enc_key, pn->enc_len);
        size_t cts = mls_write_vec_begin(&w);
        size_t nres = mls_tree_resolution(t, copath_child(p->fdp[i], 2 * p->me), exclude, n_excl, res, cap);
        for (size_t j = 0; j < nres && rc == XW_OK; j++) {
            mls_span pub = node_pub(t, res[j]);
            rc = mls_hpke_sealer_seal(&z, pub.p, pub.len, NULL, 0, p->path_secret[i], s->nh, &kem, &ct, eb);
            mls_write_opaque(&w, kem.data, kem.len);
            mls_write_opaque(&w, ct.data, ct.len);
        }
        mls_write_vec_end(&w, cts);
    }
    mls_write_vec_end(&w, nodes);
    xw_buf_free(&kem);
    xw_buf_free(&ct);
    xw_free(res);
    return rc != XW_OK ? rc : w.err;
}

void mls_treekem_path_wipe(mls_treekem_path *p)
{
    mls_leaf_unref(p->leaf);
    xw_wipe(p, sizeof *p);
}
