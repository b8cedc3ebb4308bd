/*
 * Tree hashes, parent hashes and validation of a received ratchet tree (RFC 9420 §7.8,
 * §7.9, §7.9.2, §12.4.3.1).
 *
 * Tree hashes come from the per-node cache of mls_tree. The "original sibling tree hash"
 * of a parent hash is the tree hash of the sibling with the parent's unmerged leaves
 * blanked; when none of them is under the sibling (the common case) it is the cached hash,
 * otherwise only the subtrees that hold such a leaf are rehashed.
 *
 * Parent-hash validation is done top down: every non-blank parent must have exactly one
 * descendant D whose parent_hash authenticates it (D in the resolution of one child C, and
 * the parent's unmerged leaves under C are exactly the rest of that resolution).
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/tree.h"
#include "mls/treemath.h"

/* Leaf range [lo, hi) of the subtree under node x. */
static void leaf_range(uint32_t x, uint32_t *lo, uint32_t *hi)
{
    uint32_t k = mls_tree_level(x);
    *lo = (x - ((1u << k) - 1)) / 2;
    *hi = *lo + (1u << k);
}

static int any_in(const uint32_t *ex, size_t n, uint32_t lo, uint32_t hi)
{
    for (size_t i = 0; i < n; i++)
        if (ex[i] >= lo && ex[i] < hi)
            return 1;
    return 0;
}

static int in_list(const uint32_t *ex, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++)
        if (ex[i] == v)
            return 1;
    return 0;
}

/* Tree hash of x with the leaves `ex` blanked (and dropped from unmerged lists). */
static int th(mls_tree *t, uint32_t x, const uint32_t *ex, size_t nex, uint8_t *out)
{
    const mls_suite *s = t->suite;
    uint32_t lo, hi;
    leaf_range(x, &lo, &hi);
    int plain = !any_in(ex, nex, lo, hi);
    if (plain && t->th_ok[x]) {
        memcpy(out, t->th + (size_t)x * s->nh, s->nh);
        return XW_OK;
    }
    xw_buf b;
    xw_buf_init(&b, (size_t)1 << 24);
    mls_writer w;
    mls_writer_init(&w, &b);
    const mls_node *n = &t->nodes[x];
    int rc = XW_OK;
    if (mls_tree_is_leaf(x)) {
        mls_write_u8(&w, MLS_NODE_LEAF);
        mls_write_u32(&w, x / 2);
        int present = n->type == MLS_NODE_LEAF && !in_list(ex, nex, x / 2);
        mls_write_optional(&w, present);
        if (present)
            mls_write_fixed(&w, n->leaf->raw, n->leaf->raw_len);
    } else {
        uint8_t l[MLS_MAX_HASH], r[MLS_MAX_HASH];
        if ((rc = th(t, mls_tree_left(x), ex, nex, l)) != XW_OK ||
            (rc = th(t, mls_tree_right(x), ex, nex, r)) != XW_OK) {
            xw_buf_free(&b);
            return rc;
        }
        mls_write_u8(&w, MLS_NODE_PARENT);
        mls_write_optional(&w, n->type == MLS_NODE_PARENT);
        if (n->type == MLS_NODE_PARENT) {
            const mls_parent *p = n->parent;
            mls_write_opaque(&w, p->enc_key, p->enc_len);
            mls_write_opaque(&w, p->parent_hash, p->ph_len);
            size_t mark = mls_write_vec_begin(&w);
            for (uint32_t i = 0; i < p->n_unmerged; i++)
                if (!in_list(ex, nex, p->unmerged[i]))
                    mls_write_u32(&w, p->unmerged[i]);
            mls_write_vec_end(&w, mark);
        }
        mls_write_opaque(&w, l, s->nh);
        mls_write_opaque(&w, r, s->nh);
    }
    rc = w.err ? w.err : mls_hash(s, b.data, b.len, out);
    xw_buf_free(&b);
    if (rc == XW_OK && plain) {
        memcpy(t->th + (size_t)x * s->nh, out, s->nh);
        t->th_ok[x] = 1;
    }
    return rc;
}

int mls_tree_hash(mls_tree *t, uint32_t node, uint8_t *out) { return th(t, node, NULL, 0, out); }

int mls_tree_parent_hash(mls_tree *t, uint32_t p, uint32_t sib, uint8_t *out)
{
    const mls_parent *pn = t->nodes[p].parent;
    uint8_t osth[MLS_MAX_HASH];
    int rc = th(t, sib, pn->unmerged, pn->n_unmerged, osth);
    if (rc != XW_OK)
        return rc;
    xw_buf b;
    xw_buf_init(&b, (size_t)1 << 16);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_write_opaque(&w, pn->enc_key, pn->enc_len);
    mls_write_opaque(&w, pn->parent_hash, pn->ph_len);
    mls_write_opaque(&w, osth, t->suite->nh);
    rc = w.err ? w.err : mls_hash(t->suite, b.data, b.len, out);
    xw_buf_free(&b);
    return rc;
}

/* The parent_hash a node carries, or 0 when it has none. */
static int node_parent_hash(const mls_tree *t, uint32_t x, mls_span *ph)
{
    const mls_node *n = &t->nodes[x];
    if (n->type == MLS_NODE_PARENT) {
        *ph = (mls_span){n->parent->parent_hash, n->parent->ph_len};
        return 1;
    }
    if (n->type == MLS_NODE_LEAF && n->leaf->source == MLS_LEAF_SOURCE_COMMIT) {
        *ph = n->leaf->parent_hash;
        return 1;
    }
    return 0;
}

/* How many descendants of p authenticate it by parent hash. */
static int parent_hash_links(mls_tree *t, uint32_t p, uint32_t *res, size_t cap, int *links)
{
    const mls_parent *pn = t->nodes[p].parent;
    *links = 0;
    for (int side = 0; side < 2; side++) {
        uint32_t c = side ? mls_tree_right(p) : mls_tree_left(p);
        uint32_t sib = side ? mls_tree_left(p) : mls_tree_right(p);
        uint8_t h[MLS_MAX_HASH];
        int rc = mls_tree_parent_hash(t, p, sib, h);
        if (rc != XW_OK)
            return rc;
        size_t nres = mls_tree_resolution(t, c, NULL, 0, res, cap);
        uint32_t lo, hi;
        leaf_range(c, &lo, &hi);
        size_t n_unm_c = 0;
        for (uint32_t i = 0; i < pn->n_unmerged; i++)
            n_unm_c += pn->unmerged[i] >= lo && pn->unmerged[i] < hi;
        for (size_t d = 0; d < nres; d++) {
            mls_span ph;
            if (!node_parent_hash(t, res[d], &ph) || ph.len != t->suite->nh || memcmp(ph.p, h, ph.len) != 0)
                continue;
            /* the rest of the resolution must be exactly p's unmerged leaves under c */
            if (nres - 1 != n_unm_c)
                continue;
            int ok = 1;
            for (size_t e = 0; e < nres && ok; e++)
                if (e != d &&
                    !(mls_tree_is_leaf(res[e]) && in_list(pn->unmerged, pn->n_unmerged, res[e] / 2)))
                    ok = 0;
            *links += ok;
        }
    }
    return XW_OK;
}

typedef struct {
    const uint8_t *p;
    size_t n;
    uint32_t node;
} key_ref;

static int key_cmp(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return memcmp(x->p, y->p, x->n);
}

static int check_unique(key_ref *keys, size_t n, const char *what, xw_errbuf *eb)
{
    qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) == 0)
            return xw_errf(eb, XW_EMLS_TREE,
                           "nodes %u and %u of the ratchet tree use the same %s; keys must be unique",
                           keys[i - 1].node, keys[i].node, what);
    return XW_OK;
}

int mls_tree_check_leaf_fits(const mls_tree *t, const mls_leaf *l, uint32_t skip, xw_errbuf *eb)
{
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_leaf *o = mls_tree_leaf(t, i);
        if (!o || i == skip)
            continue;
        if (!mls_u16_list_has(o->cred_types, l->cred_type))
            return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                           "member %u does not support credential type %u of the new leaf", i, l->cred_type);
        if (!mls_u16_list_has(l->cred_types, o->cred_type))
            return xw_errf(eb, XW_EMLS_KEYPACKAGE,
                           "the new leaf does not support credential type %u that member %u uses",
                           o->cred_type, i);
        if (o->sig_key.len == l->sig_key.len && memcmp(o->sig_key.p, l->sig_key.p, l->sig_key.len) == 0)
            return xw_errf(eb, XW_EMLS_KEYPACKAGE, "the new leaf reuses the signature key of member %u", i);
    }
    for (uint32_t x = 0; x < mls_tree_nodes(t); x++) {
        const mls_node *n = &t->nodes[x];
        if (x == 2 * skip || n->type == MLS_NODE_BLANK)
            continue;
        const uint8_t *k = n->type == MLS_NODE_LEAF ? n->leaf->enc_key.p : n->parent->enc_key;
        size_t kn = n->type == MLS_NODE_LEAF ? n->leaf->enc_key.len : n->parent->enc_len;
        if (kn == l->enc_key.len && memcmp(k, l->enc_key.p, kn) == 0)
            return xw_errf(eb, XW_EMLS_KEYPACKAGE, "the new leaf reuses the encryption key of tree node %u",
                           x);
    }
    return XW_OK;
}

int mls_tree_validate(mls_tree *t, mls_span group_id, mls_span gc_extensions, xw_errbuf *eb)
{
    uint32_t w = mls_tree_nodes(t);
    size_t cap = t->n_leaves + 1;
    uint32_t *res = xw_malloc(cap * sizeof *res);
    key_ref *enc = xw_malloc(w * sizeof *enc), *sig = xw_malloc(t->n_leaves * sizeof *sig);
    int rc = XW_OK;
    if (!res || !enc || !sig) {
        rc = xw_errf(eb, XW_ENOMEM, "out of memory validating the ratchet tree");
        goto out;
    }
    size_t n_enc = 0, n_sig = 0;
    uint16_t creds[16];
    size_t n_creds = 0;
    for (uint32_t x = 0; x < w && rc == XW_OK; x++) {
        const mls_node *n = &t->nodes[x];
        if (n->type == MLS_NODE_LEAF) {
            const mls_leaf *l = n->leaf;
            if ((rc = mls_leaf_validate(t->suite, l, group_id, x / 2, gc_extensions, eb)) != XW_OK)
                break;
            enc[n_enc++] = (key_ref){l->enc_key.p, l->enc_key.len, x};
            sig[n_sig++] = (key_ref){l->sig_key.p, l->sig_key.len, x};
            int seen = 0;
            for (size_t i = 0; i < n_creds; i++)
                seen |= creds[i] == l->cred_type;
            if (!seen && n_creds < 16)
                creds[n_creds++] = l->cred_type;
        } else if (n->type == MLS_NODE_PARENT) {
            const mls_parent *p = n->parent;
            enc[n_enc++] = (key_ref){p->enc_key, p->enc_len, x};
            if (p->enc_len != t->suite->hpke_pub_len) {
                rc = xw_errf(eb, XW_EMLS_TREE, "parent node %u has a %zu-byte encryption key", x, p->enc_len);
                break;
            }
            uint32_t lo, hi;
            leaf_range(x, &lo, &hi);
            for (uint32_t i = 0; i < p->n_unmerged && rc == XW_OK; i++) {
                uint32_t u = p->unmerged[i];
                if (i > 0 && p->unmerged[i - 1] >= u)
                    rc = xw_errf(eb, XW_EMLS_TREE,
                                 "unmerged leaves of parent node %u are not in increasing order", x);
                else if (u < lo || u >= hi || t->nodes[2 * u].type != MLS_NODE_LEAF)
                    rc = xw_errf(eb, XW_EMLS_TREE,
                                 "parent node %u lists unmerged leaf %u, which is not a member leaf below it",
                                 x, u);
                else {
                    uint32_t y = mls_tree_parent(2 * u, t->n_leaves);
                    for (; y != x && rc == XW_OK; y = mls_tree_parent(y, t->n_leaves))
                        if (t->nodes[y].type == MLS_NODE_PARENT &&
                            !in_list(t->nodes[y].parent->unmerged, t->nodes[y].parent->n_unmerged, u))
                            rc = xw_errf(eb, XW_EMLS_TREE,
                                         "leaf %u is unmerged at node %u but not at node %u between them", u,
                                         x, y);
                }
            }
            if (rc != XW_OK)
                break;
            int links;
            if ((rc = parent_hash_links(t, x, res, cap, &links)) != XW_OK)
                break;
            if (links != 1)
                rc = xw_errf(
                    eb, XW_EMLS_TREE,
                    "parent node %u is not parent-hash valid (%d descendants authenticate it, 1 must); the "
                    "tree was not built by the group's commits",
                    x, links);
        }
    }
    for (size_t i = 0; i < n_sig && rc == XW_OK; i++) {
        const mls_leaf *l = t->nodes[sig[i].node].leaf;
        for (size_t c = 0; c < n_creds; c++)
            if (!mls_u16_list_has(l->cred_types, creds[c]))
                rc =
                    xw_errf(eb, XW_EMLS_TREE, "leaf %u does not support credential type %u used in the group",
                            sig[i].node / 2, creds[c]);
    }
    if (rc == XW_OK)
        rc = check_unique(enc, n_enc, "encryption key", eb);
    if (rc == XW_OK)
        rc = check_unique(sig, n_sig, "signature key", eb);
out:
    xw_free(res);
    xw_free(enc);
    xw_free(sig);
    return rc;
}
