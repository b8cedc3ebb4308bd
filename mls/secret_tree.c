/*
 * Secret tree (see secret_tree.h). Node secrets live in one array indexed by node, with a
 * presence flag; a leaf's ratchets are created when the leaf is first used. The window of
 * skipped keys is a small array per ratchet, searched linearly (it holds at most
 * out_of_order entries, 5 by default); when it is full the oldest generation is evicted.
 */
#include "mls/secret_tree.h"

#include <string.h>

#include "common/alloc.h"
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
    if (st->node_secret)
        xw_free_secret(st->node_secret, (size_t)st->width * st->suite->nh);
    xw_free(st->node_has);
    if (st->leaves) {
        for (uint32_t i = 0; i < st->n_leaves; i++)
            for (int t = 0; t < 2; t++) {
                ratchet *r = &st->leaves[i].r[t];
                if (r->window)
                    xw_free_secret(r->window, st->cfg.out_of_order * sizeof *r->window);
                xw_free(r->window_used);
            }
        xw_free_secret(st->leaves, st->n_leaves * sizeof *st->leaves);
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

static int leaf_init(mls_secret_tree *st, uint32_t leaf, xw_errbuf *eb)
{
    leaf_state *ls = &st->leaves[leaf];
    if (ls->ready)
        return XW_OK;
    const mls_suite *s = st->suite;
    size_t nh = s->nh;
    uint32_t target = mls_tree_leaf_node(leaf);
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
            if (rc)
                return xw_errf(eb, rc, "secret tree derivation failed");
            st->node_has[l] = st->node_has[r] = 1;
            xw_wipe(ps, nh);
            st->node_has[x] = 0;
        }
        x = child(st, x, go_right);
    }
    if (!st->node_has[target])
        return xw_errf(eb, XW_EINTERNAL, "secret of leaf %u was deleted before its ratchets were made", leaf);
    uint8_t *lsec = st->node_secret + (size_t)target * nh;
    if (st->cfg.out_of_order) {
        for (int t = 0; t < 2; t++) {
            ls->r[t].window = xw_calloc(st->cfg.out_of_order, sizeof(mls_ratchet_key));
            ls->r[t].window_used = xw_calloc(st->cfg.out_of_order, 1);
            if (!ls->r[t].window || !ls->r[t].window_used) {
                for (int u = 0; u <= t; u++) {
                    xw_free(ls->r[u].window);
                    xw_free(ls->r[u].window_used);
                    ls->r[u].window = NULL;
                    ls->r[u].window_used = NULL;
                }
                return xw_errf(eb, XW_ENOMEM, "out of memory for the ratchets of leaf %u", leaf);
            }
        }
    }
    int rc = mls_expand_with_label(s, lsec, "handshake", 9, NULL, 0, ls->r[MLS_RATCHET_HANDSHAKE].secret, nh);
    if (rc == XW_OK)
        rc = mls_expand_with_label(s, lsec, "application", 11, NULL, 0, ls->r[MLS_RATCHET_APPLICATION].secret,
                                   nh);
    if (rc)
        return xw_errf(eb, rc, "ratchet derivation failed");
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

static int get_ratchet(mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, ratchet **r, xw_errbuf *eb)
{
    if (leaf >= st->n_leaves)
        return xw_errf(eb, XW_EMLS_SENDER, "leaf %u is outside the tree of %u leaves", leaf, st->n_leaves);
    if (type != MLS_RATCHET_HANDSHAKE && type != MLS_RATCHET_APPLICATION)
        return xw_errf(eb, XW_EINVAL, "unknown ratchet type %d", (int)type);
    int rc = leaf_init(st, leaf, eb);
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

int mls_secret_tree_peek(mls_secret_tree *st, uint32_t leaf, mls_ratchet_type type, uint32_t gen,
                         mls_ratchet_key *out, xw_errbuf *eb)
{
    ratchet *r = NULL;
    int rc = get_ratchet(st, leaf, type, &r, eb);
    if (rc)
        return rc;
    if (r->exhausted || gen < r->next_gen) {
        for (uint32_t i = 0; i < st->cfg.out_of_order; i++)
            if (r->window_used[i] && r->window[i].generation == gen) {
                *out = r->window[i];
                return XW_OK;
            }
        return xw_errf(
            eb, XW_EMLS_GENERATION,
            "generation %u of leaf %u's %s ratchet was already used or is older than the window of %u "
            "skipped keys (next expected: %u); the message is a replay or arrived too late",
            gen, leaf, rname(type), st->cfg.out_of_order, r->next_gen);
    }
    if (gen - r->next_gen > st->cfg.max_forward)
        return xw_errf(
            eb, XW_EMLS_GENERATION,
            "generation %u of leaf %u's %s ratchet is %u ahead of the next expected (%u); at most %u is "
            "allowed",
            gen, leaf, rname(type), gen - r->next_gen, r->next_gen, st->cfg.max_forward);
    uint8_t s[MLS_MAX_HASH];
    memcpy(s, r->secret, st->suite->nh);
    for (uint32_t g = r->next_gen; g < gen && rc == XW_OK; g++)
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
        for (uint32_t i = 0; i < st->cfg.out_of_order; i++)
            if (r->window_used[i] && r->window[i].generation == gen) {
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

/* --- persistence (mls_secret_tree_export / _import) ---
 * Layout: u32 n_leaves, u32 out_of_order, u32 max_forward; per node: u8 has [, nh secret];
 * per leaf: u8 ready [, per ratchet: u32 next_gen, nh secret, u8 exhausted, per window slot:
 * u8 used [, u32 generation, nk key, nn nonce]]. */
static void put32(xw_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    xw_buf_append(b, x, 4);
}

int mls_secret_tree_export(const mls_secret_tree *st, xw_buf *out)
{
    size_t nh = st->suite->nh, nk = st->suite->nk, nn = st->suite->nn, start = out->len;
    put32(out, st->n_leaves);
    put32(out, st->cfg.out_of_order);
    put32(out, st->cfg.max_forward);
    for (uint32_t x = 0; x < st->width; x++) {
        xw_buf_append_u8(out, st->node_has[x]);
        if (st->node_has[x])
            xw_buf_append(out, st->node_secret + (size_t)x * nh, nh);
    }
    for (uint32_t i = 0; i < st->n_leaves; i++) {
        const leaf_state *ls = &st->leaves[i];
        xw_buf_append_u8(out, (uint8_t)ls->ready);
        if (!ls->ready)
            continue;
        for (int t = 0; t < 2; t++) {
            const ratchet *r = &ls->r[t];
            put32(out, r->next_gen);
            xw_buf_append(out, r->secret, nh);
            xw_buf_append_u8(out, (uint8_t)r->exhausted);
            for (uint32_t k = 0; k < st->cfg.out_of_order; k++) {
                xw_buf_append_u8(out, r->window_used[k]);
                if (r->window_used[k]) {
                    put32(out, r->window[k].generation);
                    xw_buf_append(out, r->window[k].key, nk);
                    xw_buf_append(out, r->window[k].nonce, nn);
                }
            }
        }
    }
    /* the buffer's append functions fail only past its maximum; check the result once */
    size_t min = 12 + st->width + st->n_leaves;
    if (out->len - start < min) {
        xw_buf_truncate(out, start);
        return XW_ETOOBIG;
    }
    return XW_OK;
}

typedef struct {
    const uint8_t *p;
    size_t n, off;
    int bad;
} st_rd;

static const uint8_t *st_take(st_rd *r, size_t n)
{
    if (r->bad || r->n - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    r->off += n;
    return r->p + r->off - n;
}

static uint32_t st_u32(st_rd *r)
{
    const uint8_t *b = st_take(r, 4);
    return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static uint8_t st_u8(st_rd *r)
{
    const uint8_t *b = st_take(r, 1);
    return b ? *b : 0;
}

int mls_secret_tree_import(const mls_suite *suite, const uint8_t *p, size_t n, mls_secret_tree **out,
                           size_t *used, xw_errbuf *eb)
{
    st_rd r = {p, n, 0, 0};
    uint32_t leaves = st_u32(&r);
    mls_secret_tree_config cfg = {st_u32(&r), st_u32(&r)};
    uint8_t zero[MLS_MAX_HASH] = {0};
    *out = NULL;
    if (r.bad)
        return xw_errf(eb, XW_ECORRUPT, "stored secret tree is truncated");
    mls_secret_tree *st;
    int rc = mls_secret_tree_new(suite, zero, leaves, &cfg, &st, eb);
    if (rc != XW_OK)
        return xw_errf(eb, XW_ECORRUPT, "stored secret tree has an invalid header (%u leaves)", leaves);
    size_t nh = suite->nh, nk = suite->nk, nn = suite->nn;
    for (uint32_t x = 0; x < st->width && !r.bad; x++) {
        st->node_has[x] = st_u8(&r);
        if (st->node_has[x] > 1)
            r.bad = 1;
        const uint8_t *s = st->node_has[x] ? st_take(&r, nh) : NULL;
        memcpy(st->node_secret + (size_t)x * nh, s ? s : zero, nh);
    }
    for (uint32_t i = 0; i < st->n_leaves && !r.bad; i++) {
        leaf_state *ls = &st->leaves[i];
        uint8_t ready = st_u8(&r);
        if (ready > 1)
            r.bad = 1;
        if (!ready || r.bad)
            continue;
        for (int t = 0; t < 2 && !r.bad; t++) {
            ratchet *rt = &ls->r[t];
            rt->window = xw_calloc(cfg.out_of_order ? cfg.out_of_order : 1, sizeof(mls_ratchet_key));
            rt->window_used = xw_calloc(cfg.out_of_order ? cfg.out_of_order : 1, 1);
            if (!rt->window || !rt->window_used) {
                ls->ready = 1;
                mls_secret_tree_free(st);
                return xw_errf(eb, XW_ENOMEM, "out of memory loading a secret tree");
            }
            rt->next_gen = st_u32(&r);
            const uint8_t *s = st_take(&r, nh);
            if (s)
                memcpy(rt->secret, s, nh);
            rt->exhausted = st_u8(&r);
            for (uint32_t k = 0; k < cfg.out_of_order && !r.bad; k++) {
                rt->window_used[k] = st_u8(&r);
                if (rt->window_used[k]) {
                    rt->window[k].generation = st_u32(&r);
                    const uint8_t *kk = st_take(&r, nk), *nc = st_take(&r, nn);
                    if (kk && nc) {
                        memcpy(rt->window[k].key, kk, nk);
                        memcpy(rt->window[k].nonce, nc, nn);
                    }
                }
            }
        }
        ls->ready = 1;
    }
    if (r.bad) {
        mls_secret_tree_free(st);
        return xw_errf(eb, XW_ECORRUPT, "stored secret tree is truncated or malformed");
    }
    *used = r.off;
    *out = st;
    return XW_OK;
}
