/*
 * Secret tree (see secret_tree.h). Node secrets live in one array indexed by node, with a
 * presence flag; a leaf's ratchets are created when the leaf is first used. The window of
 * skipped keys is a small array per ratchet, searched linearly (it holds at most
 * out_of_order entries, 5 by default); when it is full the oldest generation is evicted.
 */
#include "mls/secret_tree.h"

#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/tls.h"
#include "mls/treemath.h"

typedef struct {
    uint32_t next_gen;
    uint8_t secret[MLS_MAX_HASH]; /* chain secret of next_gen */
    mls_ratchet_key *window;      /* out_of_order slots */
    uint8_t *window_used;         /* slot holds a key */
    int exhausted;                /* next_gen passed UINT32_MAX */
} ratchet;

typedef struct {
    int ready;
    ratchet r[2];
} leaf_state;

struct mls_secret_tree {
    const mls_suite *suite;
    mls_secret_tree_config cfg;
    uint32_t n_leaves, width;
    uint8_t *node_secret; /* width * nh */
    uint8_t *node_has;    /* width */
    leaf_state *leaves;   /* n_leaves */
};

void mls_ratchet_key_wipe(mls_ratchet_key *k) { xw_wipe(k, sizeof *k); }

int mls_secret_tree_new(const mls_suite *suite, const uint8_t *encryption_secret, uint32_t n_leaves,
                        const mls_secret_tree_config *cfg, mls_secret_tree **out, xw_errbuf *eb)
{
    *out = NULL;
    if (n_leaves == 0 || n_leaves > MLS_SECRET_TREE_MAX_LEAVES)
        return xw_errf(eb, XW_ELIMIT, "secret tree of %u leaves is outside 1..%u", n_leaves,
                       MLS_SECRET_TREE_MAX_LEAVES);
    mls_secret_tree_config c = {MLS_SECRET_TREE_DEFAULT_OUT_OF_ORDER, MLS_SECRET_TREE_DEFAULT_MAX_FORWARD};
    if (cfg)
        c = *cfg;
    if (c.out_of_order > 1000)
        return xw_errf(eb, XW_EINVAL, "out-of-order tolerance %u is over the maximum of 1000",
                       c.out_of_order);
    mls_secret_tree *st = xw_calloc(1, sizeof *st);
    if (!st)
        return xw_errf(eb, XW_ENOMEM, "out of memory for the secret tree");
    st->suite = suite;
    st->cfg = c;
    st->n_leaves = n_leaves;
    st->width = mls_tree_width(n_leaves);
    st->node_secret = xw_calloc(st->width, suite->nh);
    st->node_has = xw_calloc(st->width, 1);
    st->leaves = xw_calloc(n_leaves, sizeof *st->leaves);
    if (!st->node_secret || !st->node_has || !st->leaves) {
        mls_secret_tree_free(st);
        return xw_errf(eb, XW_ENOMEM, "out of memory for a secret tree of %u leaves", n_leaves);
    }
    uint32_t root = mls_tree_root(n_leaves);
    memcpy(st->node_secret + (size_t)root * suite->nh, encryption_secret, suite->nh);
    st->node_has[root] = 1;
    *out = st;
    return XW_OK;
}

void mls_secret_tree_free(mls_secret_tree *st)
{
    if (!st)
        return;
    /* sodium_memzero rather than xw_wipe: the arrays can be megabytes */
    if (st->node_secret)
        sodium_memzero(st->node_secret, (size_t)st->width * st->suite->nh);
    xw_free(st->node_secret);
    xw_free(st->node_has);
    if (st->leaves) {
        for (uint32_t i = 0; i < st->n_leaves; i++)
            for (int t = 0; t < 2; t++) {
                ratchet *r = &st->leaves[i].r[t];
                if (r->window)
                    xw_free_secret(r->window, st->cfg.out_of_order * sizeof *r->window);
                xw_free(r->window_used);
            }
        sodium_memzero(st->leaves, st->n_leaves * sizeof *st->leaves);
        xw_free(st->leaves);
    }
    xw_free(st);
}

uint32_t mls_secret_tree_leaves(const mls_secret_tree *st) { return st->n_leaves; }

/* A child of p inside the tree (the right child of a right-edge node may lie past it). */
static uint32_t child(const mls_secret_tree *st, uint32_t p, int right)
{
    uint32_t c = right ? mls_tree_right(p) : mls_tree_left(p);
    while (c >= st->width)
        c = mls_tree_left(c);
    return c;
}

/* Frees the windows of a leaf that is not ready (an allocation failed half-way). */
static void leaf_windows_free(leaf_state *ls)
{
    for (int t = 0; t < 2; t++) {
        xw_free(ls->r[t].window);
        xw_free(ls->r[t].window_used);
        ls->r[t].window = NULL;
        ls->r[t].window_used = NULL;
    }
}

/* The present node on the path from the root down to leaf node `target`: every split deletes
 * a node and creates both children, so exactly one node of that path holds a secret until the
 * leaf's ratchets exist. */
static uint32_t present_ancestor(const mls_secret_tree *st, uint32_t target)
{
    uint32_t x = mls_tree_root(st->n_leaves);
    while (x != target && !st->node_has[x])
        x = child(st, x, target > x);
    return st->node_has[x] ? x : MLS_NODE_NONE;
}

/* The initial chain secret of a ratchet of a leaf that is not ready, derived on the side from
 * the present ancestor: what leaf_init would compute, without changing the tree. */
static int fresh_chain_secret(const mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, uint8_t *out,
                              xw_errbuf *eb)
{
    const mls_suite *s = st->suite;
    size_t nh = s->nh;
    uint32_t target = mls_tree_leaf_node(leaf), x = present_ancestor(st, target);
    if (x == MLS_NODE_NONE)
        return xw_errf(eb, XW_EINTERNAL, "secret of leaf %u was deleted before its ratchets were made", leaf);
    uint8_t cur[MLS_MAX_HASH], next[MLS_MAX_HASH];
    memcpy(cur, st->node_secret + (size_t)x * nh, nh);
    int rc = XW_OK;
    while (x != target && rc == XW_OK) {
        int right = target > x;
        rc = mls_expand_with_label(s, cur, "tree", 4, (const uint8_t *)(right ? "right" : "left"),
                                   right ? 5 : 4, next, nh);
        memcpy(cur, next, nh);
        x = child(st, x, right);
    }
    if (rc == XW_OK)
        rc = type == MLS_RATCHET_HANDSHAKE
                 ? mls_expand_with_label(s, cur, "handshake", 9, NULL, 0, out, nh)
                 : mls_expand_with_label(s, cur, "application", 11, NULL, 0, out, nh);
    xw_wipe(cur, sizeof cur);
    xw_wipe(next, sizeof next);
    return rc ? xw_errf(eb, rc, "secret tree derivation failed") : XW_OK;
}

static int leaf_init(mls_secret_tree *st, uint32_t leaf, xw_errbuf *eb)
{
    leaf_state *ls = &st->leaves[leaf];
    if (ls->ready)
        return XW_OK;
    const mls_suite *s = st->suite;
    size_t nh = s->nh;
    uint32_t target = mls_tree_leaf_node(leaf);
    if (present_ancestor(st, target) == MLS_NODE_NONE)
        return xw_errf(eb, XW_EINTERNAL, "secret of leaf %u was deleted before its ratchets were made", leaf);
    /* the windows first: a failed allocation leaves the tree as it was */
    if (st->cfg.out_of_order) {
        for (int t = 0; t < 2; t++) {
            ls->r[t].window = xw_calloc(st->cfg.out_of_order, sizeof(mls_ratchet_key));
            ls->r[t].window_used = xw_calloc(st->cfg.out_of_order, 1);
            if (!ls->r[t].window || !ls->r[t].window_used) {
                leaf_windows_free(ls);
                return xw_errf(eb, XW_ENOMEM, "out of memory for the ratchets of leaf %u", leaf);
            }
        }
    }
    /* Walk down from the root to the leaf, splitting every present node on the way. */
    uint32_t x = mls_tree_root(st->n_leaves);
    while (x != target) {
        int go_right = target > x;
        if (st->node_has[x]) {
            uint32_t l = child(st, x, 0), r = child(st, x, 1);
            uint8_t *ps = st->node_secret + (size_t)x * nh;
            int rc = mls_expand_with_label(s, ps, "tree", 4, (const uint8_t *)"left", 4,
                                           st->node_secret + (size_t)l * nh, nh);
            if (rc == XW_OK)
                rc = mls_expand_with_label(s, ps, "tree", 4, (const uint8_t *)"right", 5,
                                           st->node_secret + (size_t)r * nh, nh);
            if (rc) {
                leaf_windows_free(ls);
                return xw_errf(eb, rc, "secret tree derivation failed");
            }
            st->node_has[l] = st->node_has[r] = 1;
            xw_wipe(ps, nh);
            st->node_has[x] = 0;
        }
        x = child(st, x, go_right);
    }
    uint8_t *lsec = st->node_secret + (size_t)target * nh;
    int rc = mls_expand_with_label(s, lsec, "handshake", 9, NULL, 0, ls->r[MLS_RATCHET_HANDSHAKE].secret, nh);
    if (rc == XW_OK)
        rc = mls_expand_with_label(s, lsec, "application", 11, NULL, 0, ls->r[MLS_RATCHET_APPLICATION].secret,
                                   nh);
    if (rc) {
        leaf_windows_free(ls);
        return xw_errf(eb, rc, "ratchet derivation failed");
    }
    xw_wipe(lsec, nh);
    st->node_has[target] = 0;
    ls->ready = 1;
    return XW_OK;
}

/* One ratchet step from the chain secret of generation gen: its key and nonce (when out is
 * not NULL), and the next chain secret in place (when advance). The secret is prepared as an
 * HMAC key once for the three derivations. */
static int ratchet_step(const mls_suite *s, uint8_t *secret, uint32_t gen, mls_ratchet_key *out, int advance)
{
    mls_hmac_key k;
    int rc = mls_hmac_key_init(&k, s->hpke.kdf_id, secret, s->nh);
    if (rc == XW_OK && out) {
        out->generation = gen;
        rc = mls_derive_tree_secret_keyed(s, &k, "key", gen, out->key, s->nk);
        if (rc == XW_OK)
            rc = mls_derive_tree_secret_keyed(s, &k, "nonce", gen, out->nonce, s->nn);
    }
    if (rc == XW_OK && advance)
        rc = mls_derive_tree_secret_keyed(s, &k, "secret", gen, secret, s->nh);
    mls_hmac_key_wipe(&k);
    return rc;
}

static int key_of(const mls_suite *s, const uint8_t *secret, uint32_t gen, mls_ratchet_key *out)
{
    uint8_t copy[MLS_MAX_HASH];
    memcpy(copy, secret, s->nh);
    int rc = ratchet_step(s, copy, gen, out, 0);
    xw_wipe(copy, sizeof copy);
    return rc;
}

static int check_ratchet(const mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, xw_errbuf *eb)
{
    if (leaf >= st->n_leaves)
        return xw_errf(eb, XW_EMLS_SENDER, "leaf %u is outside the tree of %u leaves", leaf, st->n_leaves);
    if (type != MLS_RATCHET_HANDSHAKE && type != MLS_RATCHET_APPLICATION)
        return xw_errf(eb, XW_EINVAL, "unknown ratchet type %d", (int)type);
    return XW_OK;
}

static int get_ratchet(mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, ratchet **r, xw_errbuf *eb)
{
    int rc = check_ratchet(st, leaf, type, eb);
    if (rc == XW_OK)
        rc = leaf_init(st, leaf, eb);
    if (rc)
        return rc;
    *r = &st->leaves[leaf].r[type];
    return XW_OK;
}

static const char *rname(mls_ratchet_type t)
{
    return t == MLS_RATCHET_HANDSHAKE ? "handshake" : "application";
}

int mls_secret_tree_next(mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, mls_ratchet_key *out,
                         xw_errbuf *eb)
{
    ratchet *r = NULL;
    int rc = get_ratchet(st, leaf, type, &r, eb);
    if (rc)
        return rc;
    if (r->exhausted)
        return xw_errf(eb, XW_EMLS_GENERATION, "the %s ratchet of leaf %u has used all 2^32 generations",
                       rname(type), leaf);
    rc = ratchet_step(st->suite, r->secret, r->next_gen, out, 1);
    if (rc) {
        mls_ratchet_key_wipe(out);
        return xw_errf(eb, rc, "ratchet derivation failed");
    }
    if (r->next_gen == UINT32_MAX)
        r->exhausted = 1;
    else
        r->next_gen++;
    return XW_OK;
}

/* The window slot holding the skipped key of generation gen, or -1. */
static int window_find(const mls_secret_tree *st, const ratchet *r, uint32_t gen)
{
    for (uint32_t i = 0; i < st->cfg.out_of_order; i++)
        if (r->window_used[i] && r->window[i].generation == gen)
            return (int)i;
    return -1;
}

int mls_secret_tree_peek(const mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, uint32_t gen,
                         mls_ratchet_key *out, xw_errbuf *eb)
{
    int rc = check_ratchet(st, leaf, type, eb);
    if (rc)
        return rc;
    /* a leaf without ratchets yet is read on the side: peeking changes nothing */
    const ratchet *r = st->leaves[leaf].ready ? &st->leaves[leaf].r[type] : NULL;
    uint8_t s[MLS_MAX_HASH];
    uint32_t next_gen = r ? r->next_gen : 0;
    if (r)
        memcpy(s, r->secret, st->suite->nh);
    else if ((rc = fresh_chain_secret(st, leaf, type, s, eb)) != XW_OK)
        return rc;
    if ((r && r->exhausted) || gen < next_gen) {
        xw_wipe(s, sizeof s);
        int i = r ? window_find(st, r, gen) : -1;
        if (i >= 0) {
            *out = r->window[i];
            return XW_OK;
        }
        return xw_errf(
            eb, XW_EMLS_GENERATION,
            "generation %u of leaf %u's %s ratchet was already used or is older than the window of %u "
            "skipped keys (next expected: %u); the message is a replay or arrived too late",
            gen, leaf, rname(type), st->cfg.out_of_order, next_gen);
    }
    if (gen - next_gen > st->cfg.max_forward) {
        xw_wipe(s, sizeof s);
        return xw_errf(
            eb, XW_EMLS_GENERATION,
            "generation %u of leaf %u's %s ratchet is %u ahead of the next expected (%u); at most %u is "
            "allowed",
            gen, leaf, rname(type), gen - next_gen, next_gen, st->cfg.max_forward);
    }
    for (uint32_t g = next_gen; g < gen && rc == XW_OK; g++)
        rc = ratchet_step(st->suite, s, g, NULL, 1);
    if (rc == XW_OK)
        rc = key_of(st->suite, s, gen, out);
    xw_wipe(s, sizeof s);
    if (rc) {
        mls_ratchet_key_wipe(out);
        return xw_errf(eb, rc, "ratchet derivation failed");
    }
    return XW_OK;
}

static void window_put(mls_secret_tree *st, ratchet *r, const mls_ratchet_key *k)
{
    uint32_t n = st->cfg.out_of_order, slot = 0;
    if (n == 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        if (!r->window_used[i]) {
            slot = i;
            break;
        }
        if (r->window[i].generation < r->window[slot].generation)
            slot = i;
    }
    r->window[slot] = *k;
    r->window_used[slot] = 1;
}

int mls_secret_tree_consume(mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, uint32_t gen,
                            xw_errbuf *eb)
{
    ratchet *r = NULL;
    int rc = get_ratchet(st, leaf, type, &r, eb);
    if (rc)
        return rc;
    if (r->exhausted || gen < r->next_gen) {
        int i = window_find(st, r, gen);
        if (i >= 0) {
            mls_ratchet_key_wipe(&r->window[i]);
            r->window_used[i] = 0;
            return XW_OK;
        }
        return xw_errf(eb, XW_EMLS_GENERATION,
                       "generation %u of leaf %u's %s ratchet is not available to consume", gen, leaf,
                       rname(type));
    }
    if (gen - r->next_gen > st->cfg.max_forward)
        return xw_errf(eb, XW_EMLS_GENERATION, "generation %u of leaf %u's %s ratchet is too far ahead", gen,
                       leaf, rname(type));
    /* Work on a copy so that a failure leaves the ratchet as it was. Only the last
     * out_of_order skipped generations can be kept, so only their keys are derived. */
    uint8_t s[MLS_MAX_HASH];
    memcpy(s, r->secret, st->suite->nh);
    uint32_t keep_from = gen - r->next_gen > st->cfg.out_of_order ? gen - st->cfg.out_of_order : r->next_gen;
    mls_ratchet_key k;
    for (uint32_t g = r->next_gen; g <= gen && rc == XW_OK; g++) {
        int keep = g < gen && g >= keep_from;
        rc = ratchet_step(st->suite, s, g, keep ? &k : NULL, 1);
        if (rc == XW_OK && keep)
            window_put(st, r, &k);
        if (g == UINT32_MAX)
            break;
    }
    mls_ratchet_key_wipe(&k);
    if (rc) {
        xw_wipe(s, sizeof s);
        return xw_errf(eb, rc, "ratchet derivation failed");
    }
    memcpy(r->secret, s, st->suite->nh);
    xw_wipe(s, sizeof s);
    if (gen == UINT32_MAX)
        r->exhausted = 1;
    else
        r->next_gen = gen + 1;
    return XW_OK;
}

/* --- persistence --- */

#define ST_FORMAT_VERSION 1

int mls_secret_tree_encode(const mls_secret_tree *st, xw_buf *out, xw_errbuf *eb)
{
    size_t nh = st->suite->nh, start = out->len;
    mls_writer w;
    mls_writer_init(&w, out);
    mls_write_u8(&w, ST_FORMAT_VERSION);
    mls_write_u16(&w, st->suite->id);
    mls_write_u32(&w, st->n_leaves);
    mls_write_u32(&w, st->cfg.out_of_order);
    mls_write_u32(&w, st->cfg.max_forward);
    size_t m = mls_write_vec_begin(&w);
    for (uint32_t x = 0; x < st->width; x++)
        if (st->node_has[x]) {
            mls_write_u32(&w, x);
            mls_write_fixed(&w, st->node_secret + (size_t)x * nh, nh);
        }
    mls_write_vec_end(&w, m);
    m = mls_write_vec_begin(&w);
    for (uint32_t i = 0; i < st->n_leaves; i++) {
        const leaf_state *ls = &st->leaves[i];
        if (!ls->ready)
            continue;
        mls_write_u32(&w, i);
        for (int t = 0; t < 2; t++) {
            const ratchet *r = &ls->r[t];
            mls_write_u32(&w, r->next_gen);
            mls_write_u8(&w, (uint8_t)r->exhausted);
            mls_write_fixed(&w, r->secret, nh);
            size_t wm = mls_write_vec_begin(&w);
            for (uint32_t k = 0; k < st->cfg.out_of_order; k++)
                if (r->window_used[k]) {
                    mls_write_u32(&w, r->window[k].generation);
                    mls_write_fixed(&w, r->window[k].key, st->suite->nk);
                    mls_write_fixed(&w, r->window[k].nonce, st->suite->nn);
                }
            mls_write_vec_end(&w, wm);
        }
    }
    mls_write_vec_end(&w, m);
    if (w.err) {
        xw_wipe(out->data + start, out->len - start);
        xw_buf_truncate(out, start);
        return xw_errf(eb, w.err, "secret tree state does not fit its buffer");
    }
    return XW_OK;
}

int mls_secret_tree_decode(const mls_suite *suite, const uint8_t *p, size_t n, mls_secret_tree **out,
                           xw_errbuf *eb)
{
    *out = NULL;
    mls_reader r;
    xw_errbuf local;
    mls_reader_init(&r, p, n, eb ? eb : &local);
    size_t nh = suite->nh;
    uint8_t version = mls_read_u8(&r);
    uint16_t suite_id = mls_read_u16(&r);
    uint32_t n_leaves = mls_read_u32(&r);
    mls_secret_tree_config cfg;
    cfg.out_of_order = mls_read_u32(&r);
    cfg.max_forward = mls_read_u32(&r);
    if (r.err)
        return xw_errf(eb, XW_ECORRUPT, "secret tree state is truncated");
    if (version != ST_FORMAT_VERSION || suite_id != suite->id)
        return xw_errf(eb, XW_ECORRUPT,
                       "secret tree state has format %u for suite %u; expected format %d, suite %u", version,
                       suite_id, ST_FORMAT_VERSION, suite->id);
    uint8_t zero[MLS_MAX_HASH] = {0};
    mls_secret_tree *st;
    int rc = mls_secret_tree_new(suite, zero, n_leaves, &cfg, &st, eb);
    if (rc)
        return xw_errf(eb, XW_ECORRUPT, "secret tree state is invalid: %s", eb ? eb->msg : "bad header");
    memset(st->node_has, 0, st->width);
    mls_reader v;
    mls_read_vector(&r, &v);
    while (!v.err && mls_reader_left(&v)) {
        uint32_t x = mls_read_u32(&v);
        mls_span sec = mls_read_fixed(&v, nh);
        if (!v.err && (x >= st->width || st->node_has[x]))
            mls_reader_fail(&v, XW_ECORRUPT, "node %u is outside the tree or listed twice", x);
        if (!v.err) {
            memcpy(st->node_secret + (size_t)x * nh, sec.p, nh);
            st->node_has[x] = 1;
        }
    }
    mls_reader_join(&r, &v);
    mls_read_vector(&r, &v);
    while (!r.err && !v.err && mls_reader_left(&v)) {
        uint32_t i = mls_read_u32(&v);
        if (!v.err && (i >= n_leaves || st->leaves[i].ready)) {
            mls_reader_fail(&v, XW_ECORRUPT, "leaf %u is outside the tree or listed twice", i);
            break;
        }
        leaf_state *ls = &st->leaves[i];
        if (!v.err && cfg.out_of_order) {
            for (int t = 0; t < 2; t++) {
                ls->r[t].window = xw_calloc(cfg.out_of_order, sizeof(mls_ratchet_key));
                ls->r[t].window_used = xw_calloc(cfg.out_of_order, 1);
                if (!ls->r[t].window || !ls->r[t].window_used)
                    mls_reader_fail(&v, XW_ENOMEM, "out of memory for the ratchets of leaf %u", i);
            }
        }
        for (int t = 0; t < 2 && !v.err; t++) {
            ratchet *rt = &ls->r[t];
            rt->next_gen = mls_read_u32(&v);
            uint8_t ex = mls_read_u8(&v);
            mls_span sec = mls_read_fixed(&v, nh);
            if (!v.err && ex > 1)
                mls_reader_fail(&v, XW_ECORRUPT, "leaf %u has an invalid exhausted flag", i);
            if (v.err)
                break;
            rt->exhausted = ex;
            memcpy(rt->secret, sec.p, nh);
            mls_reader wv;
            mls_read_vector(&v, &wv);
            uint32_t k = 0;
            while (!wv.err && mls_reader_left(&wv)) {
                uint32_t g = mls_read_u32(&wv);
                mls_span key = mls_read_fixed(&wv, suite->nk);
                mls_span nonce = mls_read_fixed(&wv, suite->nn);
                if (wv.err)
                    break;
                if (k >= cfg.out_of_order || (!rt->exhausted && g >= rt->next_gen)) {
                    mls_reader_fail(&wv, XW_ECORRUPT,
                                    "leaf %u's window is too large or holds a future generation", i);
                    break;
                }
                rt->window[k].generation = g;
                memcpy(rt->window[k].key, key.p, suite->nk);
                memcpy(rt->window[k].nonce, nonce.p, suite->nn);
                rt->window_used[k++] = 1;
            }
            mls_reader_join(&v, &wv);
        }
        if (!v.err)
            ls->ready = 1;
    }
    mls_reader_join(&r, &v);
    mls_reader_finish(&r, "secret tree state");
    if (r.err) {
        int err = r.err == XW_ENOMEM ? XW_ENOMEM : XW_ECORRUPT;
        mls_secret_tree_free(st);
        return xw_errctx(eb, err, "secret tree state");
    }
    *out = st;
    return XW_OK;
}
