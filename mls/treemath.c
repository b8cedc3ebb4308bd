/*
 * Tree arithmetic of RFC 9420 Appendix C, written for uint32_t node indices with the
 * out-of-range cases reported as MLS_NODE_NONE instead of asserting.
 */
#include "mls/treemath.h"

uint32_t mls_tree_log2(uint32_t x)
{
    uint32_t k = 0;
    while (x >> (k + 1))
        k++;
    return k;
}

uint32_t mls_tree_level(uint32_t x)
{
    uint32_t k = 0;
    while (k < 32 && ((x >> k) & 1))
        k++;
    return k;
}

uint32_t mls_tree_width(uint32_t n) { return n == 0 ? 0 : 2 * (n - 1) + 1; }

uint32_t mls_tree_root(uint32_t n)
{
    if (n == 0 || n > MLS_TREE_MAX_LEAVES)
        return MLS_NODE_NONE;
    uint32_t w = mls_tree_width(n);
    return (1u << mls_tree_log2(w)) - 1;
}

uint32_t mls_tree_left(uint32_t x)
{
    uint32_t k = mls_tree_level(x);
    if (k == 0)
        return MLS_NODE_NONE;
    return x ^ (1u << (k - 1));
}

uint32_t mls_tree_right(uint32_t x)
{
    uint32_t k = mls_tree_level(x);
    if (k == 0)
        return MLS_NODE_NONE;
    return x ^ (3u << (k - 1));
}

/* Parent in the infinite full tree. */
static uint32_t parent_step(uint32_t x)
{
    uint32_t k = mls_tree_level(x);
    uint32_t b = (x >> (k + 1)) & 1;
    return (x | (1u << k)) ^ (b << (k + 1));
}

uint32_t mls_tree_parent(uint32_t x, uint32_t n)
{
    uint32_t r = mls_tree_root(n);
    if (r == MLS_NODE_NONE || x >= mls_tree_width(n) || x == r)
        return MLS_NODE_NONE;
    uint32_t p = parent_step(x);
    while (p >= mls_tree_width(n))
        p = parent_step(p);
    return p;
}

uint32_t mls_tree_sibling(uint32_t x, uint32_t n)
{
    uint32_t p = mls_tree_parent(x, n);
    if (p == MLS_NODE_NONE)
        return MLS_NODE_NONE;
    uint32_t l = mls_tree_left(p), r = mls_tree_right(p);
    /* The right child of a node on the right edge may lie past the tree: walk down left. */
    uint32_t s = x < p ? r : l;
    while (s >= mls_tree_width(n))
        s = mls_tree_left(s);
    return s;
}

size_t mls_tree_direct_path(uint32_t x, uint32_t n, uint32_t *out, size_t cap)
{
    size_t k = 0;
    if (x >= mls_tree_width(n))
        return 0;
    for (uint32_t p = mls_tree_parent(x, n); p != MLS_NODE_NONE; p = mls_tree_parent(p, n)) {
        if (k < cap)
            out[k] = p;
        k++;
    }
    return k;
}

size_t mls_tree_copath(uint32_t x, uint32_t n, uint32_t *out, size_t cap)
{
    size_t k = 0;
    if (x >= mls_tree_width(n))
        return 0;
    for (uint32_t c = x; c != mls_tree_root(n); c = mls_tree_parent(c, n)) {
        if (k < cap)
            out[k] = mls_tree_sibling(c, n);
        k++;
    }
    return k;
}

uint32_t mls_tree_common_ancestor(uint32_t x, uint32_t y)
{
    uint32_t lx = mls_tree_level(x) + 1, ly = mls_tree_level(y) + 1;
    if (lx <= ly && (x >> ly) == (y >> ly))
        return y;
    if (ly <= lx && (x >> lx) == (y >> lx))
        return x;
    uint32_t xn = x, yn = y, k = 0;
    while (xn != yn) {
        xn >>= 1;
        yn >>= 1;
        k++;
    }
    return (xn << k) + (1u << (k - 1)) - 1;
}
