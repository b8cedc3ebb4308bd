/*
 * Ratchet tree structure (see tree.h): the node array, its encoding, the proposal
 * operations on it (add, update, remove, extend, truncate), resolutions and the tree-hash
 * cache. Validation and parent hashes are in tree_hash.c.
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/hpke.h"
#include "mls/tree.h"
#include "mls/treemath.h"

static void parent_free(mls_parent *p)
{
    if (!p)
        return;
    xw_free(p->enc_key);
    xw_free(p->parent_hash);
    xw_free(p->unmerged);
    xw_free(p);
}

static mls_parent *parent_clone(const mls_parent *p)
{
    mls_parent *c = xw_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->enc_len = p->enc_len;
    c->ph_len = p->ph_len;
    c->n_unmerged = p->n_unmerged;
    c->enc_key = xw_memdup(p->enc_key, p->enc_len ? p->enc_len : 1);
    c->parent_hash =
        xw_memdup(p->parent_hash ? p->parent_hash : (const uint8_t *)"", p->ph_len ? p->ph_len : 1);
    c->unmerged =
        xw_memdup(p->unmerged ? p->unmerged : (const uint32_t *)c, (p->n_unmerged + 1) * sizeof(uint32_t));
    if (!c->enc_key || !c->parent_hash || !c->unmerged) {
        parent_free(c);
        return NULL;
    }
    return c;
}

static size_t priv_len(const mls_tree *t) { return t->suite->hpke_priv_len; }

static void node_clear(mls_tree *t, uint32_t x)
{
    mls_node *n = &t->nodes[x];
    mls_leaf_unref(n->leaf);
    parent_free(n->parent);
    n->leaf = NULL;
    n->parent = NULL;
    n->type = MLS_NODE_BLANK;
    if (t->priv && t->priv[x]) {
        xw_free_secret(t->priv[x], priv_len(t));
        t->priv[x] = NULL;
    }
}

/* Grows or shrinks the arrays to n leaves; new nodes are blank. */
static int resize(mls_tree *t, uint32_t n)
{
    uint32_t old = t->nodes ? mls_tree_nodes(t) : 0, w = 2 * n - 1;
    for (uint32_t x = w; x < old; x++)
        node_clear(t, x);
    size_t nh = t->suite->nh;
    mls_node *nodes = xw_realloc(t->nodes, w * sizeof *nodes);
    if (!nodes)
        return XW_ENOMEM;
    t->nodes = nodes;
    uint8_t *th = xw_realloc(t->th, (size_t)w * nh);
    if (!th)
        return XW_ENOMEM;
    t->th = th;
    uint8_t *ok = xw_realloc(t->th_ok, w);
    if (!ok)
        return XW_ENOMEM;
    t->th_ok = ok;
    uint8_t **priv = xw_realloc(t->priv, w * sizeof *priv);
    if (!priv)
        return XW_ENOMEM;
    t->priv = priv;
    for (uint32_t x = old; x < w; x++) {
        memset(&t->nodes[x], 0, sizeof t->nodes[x]);
        t->th_ok[x] = 0;
        t->priv[x] = NULL;
    }
    t->n_leaves = n;
    return XW_OK;
}

mls_tree *mls_tree_new(const mls_suite *s)
{
    mls_tree *t = xw_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->suite = s;
    if (resize(t, 1) != XW_OK) {
        mls_tree_free(t);
        return NULL;
    }
    return t;
}

void mls_tree_free(mls_tree *t)
{
    if (!t)
        return;
    if (t->nodes)
        for (uint32_t x = 0; x < mls_tree_nodes(t); x++)
            node_clear(t, x);
    xw_free(t->nodes);
    xw_free(t->th);
    xw_free(t->th_ok);
    xw_free(t->priv);
    xw_free(t);
}

mls_tree *mls_tree_clone(const mls_tree *t, int copy_priv)
{
    mls_tree *c = xw_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->suite = t->suite;
    if (resize(c, t->n_leaves) != XW_OK) {
        mls_tree_free(c);
        return NULL;
    }
    uint32_t w = mls_tree_nodes(t);
    memcpy(c->th, t->th, (size_t)w * t->suite->nh);
    memcpy(c->th_ok, t->th_ok, w);
    for (uint32_t x = 0; x < w; x++) {
        c->nodes[x].type = t->nodes[x].type;
        c->nodes[x].leaf = mls_leaf_ref(t->nodes[x].leaf);
        if (t->nodes[x].parent && !(c->nodes[x].parent = parent_clone(t->nodes[x].parent))) {
            mls_tree_free(c);
            return NULL;
        }
        if (copy_priv && t->priv[x] && !(c->priv[x] = xw_memdup(t->priv[x], priv_len(t)))) {
            mls_tree_free(c);
            return NULL;
        }
    }
    return c;
}

void mls_tree_touch(mls_tree *t, uint32_t x)
{
    uint32_t w = mls_tree_nodes(t);
    while (x < w) {
        t->th_ok[x] = 0;
        x = mls_tree_parent(x, t->n_leaves);
    }
}

void mls_tree_blank(mls_tree *t, uint32_t x)
{
    node_clear(t, x);
    mls_tree_touch(t, x);
}

void mls_tree_set_leaf(mls_tree *t, uint32_t leaf, mls_leaf *l)
{
    uint32_t x = 2 * leaf;
    node_clear(t, x);
    t->nodes[x].type = MLS_NODE_LEAF;
    t->nodes[x].leaf = mls_leaf_ref(l);
    mls_tree_touch(t, x);
}

int mls_tree_set_parent(mls_tree *t, uint32_t x, const uint8_t *enc_key, size_t enc_len)
{
    mls_parent *p = xw_calloc(1, sizeof *p);
    if (!p || !(p->enc_key = xw_memdup(enc_key, enc_len))) {
        parent_free(p);
        return XW_ENOMEM;
    }
    p->enc_len = enc_len;
    node_clear(t, x);
    t->nodes[x].type = MLS_NODE_PARENT;
    t->nodes[x].parent = p;
    mls_tree_touch(t, x);
    return XW_OK;
}

int mls_tree_set_parent_hash(mls_tree *t, uint32_t x, const uint8_t *ph, size_t len)
{
    mls_parent *p = t->nodes[x].parent;
    uint8_t *c = xw_memdup(len ? ph : (const uint8_t *)"", len ? len : 1);
    if (!c)
        return XW_ENOMEM;
    xw_free(p->parent_hash);
    p->parent_hash = c;
    p->ph_len = len;
    mls_tree_touch(t, x);
    return XW_OK;
}

int mls_tree_set_priv(mls_tree *t, uint32_t x, const uint8_t *priv, size_t len)
{
    uint8_t *c = xw_memdup(priv, len);
    if (!c)
        return XW_ENOMEM;
    if (t->priv[x])
        xw_free_secret(t->priv[x], priv_len(t));
    t->priv[x] = c;
    return XW_OK;
}

/* --- decoding and encoding --- */

static int parent_read(mls_reader *r, mls_parent **out)
{
    mls_span key = mls_read_opaque_len(r, 1, MLS_HPKE_MAX_PK, "parent node encryption_key");
    mls_span ph = mls_read_opaque_len(r, 0, MLS_MAX_HASH, "parent node parent_hash");
    mls_reader sub;
    mls_read_vector(r, &sub);
    if (mls_reader_join(r, &sub))
        return r->err;
    if (sub.len % 4)
        return mls_reader_fail(r, XW_EMALFORMED,
                               "parent node unmerged_leaves has %zu bytes, not a multiple of 4", sub.len);
    mls_parent *p = xw_calloc(1, sizeof *p);
    if (!p)
        return mls_reader_fail(r, XW_ENOMEM, "out of memory");
    p->enc_len = key.len;
    p->ph_len = ph.len;
    p->n_unmerged = (uint32_t)(sub.len / 4);
    p->enc_key = xw_memdup(key.p, key.len);
    p->parent_hash = xw_memdup(ph.len ? ph.p : (const uint8_t *)"", ph.len ? ph.len : 1);
    p->unmerged = xw_malloc((p->n_unmerged + 1) * sizeof(uint32_t));
    if (!p->enc_key || !p->parent_hash || !p->unmerged) {
        parent_free(p);
        return mls_reader_fail(r, XW_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < p->n_unmerged; i++)
        p->unmerged[i] = mls_read_u32(&sub);
    *out = p;
    return XW_OK;
}

static void parent_write(mls_writer *w, const mls_parent *p)
{
    mls_write_opaque(w, p->enc_key, p->enc_len);
    mls_write_opaque(w, p->parent_hash, p->ph_len);
    mls_write_varint(w, (uint64_t)p->n_unmerged * 4);
    for (uint32_t i = 0; i < p->n_unmerged; i++)
        mls_write_u32(w, p->unmerged[i]);
}

int mls_tree_decode(const mls_suite *s, const uint8_t *p, size_t n, mls_tree **out, xw_errbuf *eb)
{
    mls_reader r, sub;
    mls_reader_init(&r, p, n, eb);
    mls_read_vector(&r, &sub);
    if (mls_reader_join(&r, &sub) || mls_reader_finish(&r, "ratchet tree"))
        return r.err;
    mls_reader_init(&sub, r.p + (r.len - sub.len), sub.len, eb);
    /* count the nodes first: every node takes at least one byte */
    mls_tree *t = mls_tree_new(s);
    if (!t)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    uint32_t count = 0;
    int rc = XW_OK;
    int last_blank = 1;
    while (mls_reader_left(&sub)) {
        if (count >= 2 * MLS_TREE_LIMIT_LEAVES - 1) {
            rc = xw_errf(eb, XW_ELIMIT, "ratchet tree has more than %u leaves", MLS_TREE_LIMIT_LEAVES);
            break;
        }
        uint32_t x = count++;
        if (x >= mls_tree_nodes(t) && (rc = resize(t, t->n_leaves * 2)) != XW_OK)
            break;
        int present = mls_read_optional(&sub);
        last_blank = !present;
        if (sub.err || !present)
            continue;
        uint8_t type = mls_read_u8(&sub);
        if (sub.err)
            break;
        if (type != (mls_tree_is_leaf(x) ? MLS_NODE_LEAF : MLS_NODE_PARENT)) {
            mls_reader_fail(&sub, XW_EMLS_TREE, "ratchet tree node %u has node type %u; a %s belongs there",
                            x, type, mls_tree_is_leaf(x) ? "leaf (1)" : "parent (2)");
            break;
        }
        if (type == MLS_NODE_LEAF) {
            mls_leaf *l = mls_leaf_read(&sub);
            if (!l)
                break;
            t->nodes[x].type = MLS_NODE_LEAF;
            t->nodes[x].leaf = l;
        } else {
            if (parent_read(&sub, &t->nodes[x].parent) != XW_OK)
                break;
            t->nodes[x].type = MLS_NODE_PARENT;
        }
    }
    if (rc == XW_OK && sub.err)
        rc = sub.err;
    if (rc == XW_OK && (count == 0 || last_blank))
        rc = xw_errf(eb, XW_EMLS_TREE, "ratchet tree %s; the encoding must end with a non-blank node",
                     count ? "ends with a blank node" : "is empty");
    if (rc == XW_OK && !(count & 1))
        rc = xw_errf(eb, XW_EMLS_TREE, "ratchet tree has %u nodes; a tree has an odd number", count);
    if (rc != XW_OK) {
        mls_tree_free(t);
        return rc;
    }
    /* trim to the smallest power of two holding the leaves */
    uint32_t leaves = (count + 1) / 2, np = 1;
    while (np < leaves)
        np *= 2;
    if (np < t->n_leaves)
        resize(t, np);
    memset(t->th_ok, 0, mls_tree_nodes(t));
    *out = t;
    return XW_OK;
}

int mls_tree_encode(const mls_tree *t, xw_buf *out)
{
    uint32_t w = mls_tree_nodes(t), last = 0;
    for (uint32_t x = 0; x < w; x++)
        if (t->nodes[x].type != MLS_NODE_BLANK)
            last = x + 1;
    mls_writer wr;
    mls_writer_init(&wr, out);
    size_t mark = mls_write_vec_begin(&wr);
    for (uint32_t x = 0; x < last; x++) {
        const mls_node *n = &t->nodes[x];
        mls_write_optional(&wr, n->type != MLS_NODE_BLANK);
        if (n->type == MLS_NODE_LEAF) {
            mls_write_u8(&wr, MLS_NODE_LEAF);
            mls_write_fixed(&wr, n->leaf->raw, n->leaf->raw_len);
        } else if (n->type == MLS_NODE_PARENT) {
            mls_write_u8(&wr, MLS_NODE_PARENT);
            parent_write(&wr, n->parent);
        }
    }
    mls_write_vec_end(&wr, mark);
    return wr.err;
}

/* --- proposal operations --- */

static int unmerged_insert(mls_parent *p, uint32_t leaf)
{
    uint32_t *u = xw_realloc(p->unmerged, (p->n_unmerged + 2) * sizeof *u);
    if (!u)
        return XW_ENOMEM;
    p->unmerged = u;
    uint32_t i = p->n_unmerged;
    while (i > 0 && u[i - 1] > leaf) {
        u[i] = u[i - 1];
        i--;
    }
    u[i] = leaf;
    p->n_unmerged++;
    return XW_OK;
}

int mls_tree_add(mls_tree *t, mls_leaf *l, uint32_t *leaf_out)
{
    uint32_t i = 0;
    while (i < t->n_leaves && t->nodes[2 * i].type != MLS_NODE_BLANK)
        i++;
    if (i == t->n_leaves) {
        if (t->n_leaves >= MLS_TREE_LIMIT_LEAVES)
            return XW_ELIMIT;
        int rc = resize(t, t->n_leaves * 2);
        if (rc != XW_OK)
            return rc;
    }
    uint32_t path[32];
    size_t n = mls_tree_direct_path(2 * i, t->n_leaves, path, 32);
    for (size_t k = 0; k < n; k++)
        if (t->nodes[path[k]].type == MLS_NODE_PARENT &&
            unmerged_insert(t->nodes[path[k]].parent, i) != XW_OK)
            return XW_ENOMEM;
    mls_tree_set_leaf(t, i, l);
    *leaf_out = i;
    return XW_OK;
}

static void blank_path(mls_tree *t, uint32_t leaf)
{
    uint32_t path[32];
    size_t n = mls_tree_direct_path(2 * leaf, t->n_leaves, path, 32);
    for (size_t k = 0; k < n; k++)
        mls_tree_blank(t, path[k]);
}

void mls_tree_update(mls_tree *t, uint32_t leaf, mls_leaf *l)
{
    if (leaf >= t->n_leaves)
        return; /* callers validate first; out-of-range indices change nothing */
    mls_tree_set_leaf(t, leaf, l);
    blank_path(t, leaf);
}

void mls_tree_truncate(mls_tree *t)
{
    while (t->n_leaves > 1) {
        uint32_t half = t->n_leaves / 2;
        for (uint32_t i = half; i < t->n_leaves; i++)
            if (t->nodes[2 * i].type != MLS_NODE_BLANK)
                return;
        resize(t, half); /* shrinking cannot fail but realloc; on failure the arrays stay larger */
    }
}

void mls_tree_remove(mls_tree *t, uint32_t leaf)
{
    if (leaf >= t->n_leaves)
        return; /* callers validate first; out-of-range indices change nothing */
    mls_tree_blank(t, 2 * leaf);
    blank_path(t, leaf);
    mls_tree_truncate(t);
}

/* --- resolution --- */

static int excluded(uint32_t leaf, const uint32_t *ex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ex[i] == leaf)
            return 1;
    return 0;
}

static size_t resolve(const mls_tree *t, uint32_t x, const uint32_t *ex, size_t nex, uint32_t *out, size_t k,
                      size_t cap)
{
    const mls_node *n = &t->nodes[x];
    if (n->type == MLS_NODE_LEAF) {
        if (!excluded(x / 2, ex, nex) && k < cap)
            out[k++] = x;
        return k;
    }
    if (n->type == MLS_NODE_PARENT) {
        if (k < cap)
            out[k++] = x;
        for (uint32_t i = 0; i < n->parent->n_unmerged; i++)
            if (!excluded(n->parent->unmerged[i], ex, nex) && k < cap)
                out[k++] = 2 * n->parent->unmerged[i];
        return k;
    }
    if (mls_tree_is_leaf(x))
        return k;
    k = resolve(t, mls_tree_left(x), ex, nex, out, k, cap);
    return resolve(t, mls_tree_right(x), ex, nex, out, k, cap);
}

size_t mls_tree_resolution(const mls_tree *t, uint32_t x, const uint32_t *exclude, size_t n_excl,
                           uint32_t *out, size_t cap)
{
    return resolve(t, x, exclude, n_excl, out, 0, cap);
}

/* 1 when the subtree under x has a non-blank node (i.e. a non-empty resolution). */
static int subtree_nonblank(const mls_tree *t, uint32_t x)
{
    if (t->nodes[x].type != MLS_NODE_BLANK)
        return 1;
    if (mls_tree_is_leaf(x))
        return 0;
    return subtree_nonblank(t, mls_tree_left(x)) || subtree_nonblank(t, mls_tree_right(x));
}

size_t mls_tree_filtered_direct_path(const mls_tree *t, uint32_t leaf, uint32_t *out, size_t cap)
{
    uint32_t path[32], copath[32];
    size_t n = mls_tree_direct_path(2 * leaf, t->n_leaves, path, 32);
    mls_tree_copath(2 * leaf, t->n_leaves, copath, 32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (subtree_nonblank(t, copath[i]) && k < cap)
            out[k++] = path[i];
    return k;
}

uint32_t mls_tree_find_leaf(const mls_tree *t, const uint8_t *raw, size_t n)
{
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_leaf *l = mls_tree_leaf(t, i);
        if (l && l->raw_len == n && memcmp(l->raw, raw, n) == 0)
            return i;
    }
    return UINT32_MAX;
}

uint32_t mls_tree_member_count(const mls_tree *t)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < t->n_leaves; i++)
        c += t->nodes[2 * i].type == MLS_NODE_LEAF;
    return c;
}
