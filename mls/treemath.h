/*
 * Array-based left-balanced binary tree arithmetic (RFC 9420 §4.1.1 and Appendix C).
 *
 * Nodes are numbered in-order: leaves are even (leaf i is node 2i), parents odd. A tree of
 * n leaves has 2n - 1 nodes; its root is that of the smallest full tree holding n leaves,
 * so the tree may extend past n on the right (the functions take n to stay inside it).
 * Leaf counts are at most MLS_TREE_MAX_LEAVES, so node indices fit in uint32_t.
 * Functions given an index outside the tree, or asked for a relation that does not exist
 * (a leaf's child, the root's parent), return MLS_NODE_NONE.
 */
#ifndef XW_MLS_TREEMATH_H
#define XW_MLS_TREEMATH_H

#include <stddef.h>
#include <stdint.h>

#define MLS_NODE_NONE UINT32_MAX
#define MLS_TREE_MAX_LEAVES (1u << 30)

/* floor(log2(x)); 0 for x == 0. */
uint32_t mls_tree_log2(uint32_t x);
/* Level of a node: 0 for leaves, k for a node with k trailing 1 bits. */
uint32_t mls_tree_level(uint32_t x);
/* Number of nodes for n leaves (2n - 1), 0 for n == 0. */
uint32_t mls_tree_width(uint32_t n_leaves);
uint32_t mls_tree_root(uint32_t n_leaves);
uint32_t mls_tree_left(uint32_t x);
uint32_t mls_tree_right(uint32_t x);
uint32_t mls_tree_parent(uint32_t x, uint32_t n_leaves);
uint32_t mls_tree_sibling(uint32_t x, uint32_t n_leaves);
static inline uint32_t mls_tree_leaf_node(uint32_t leaf) { return leaf * 2; }
static inline int mls_tree_is_leaf(uint32_t x) { return (x & 1) == 0; }
/* Direct path of node x (parent up to the root, excluding x, including the root unless x
 * is the root); returns its length, writing at most cap entries. */
size_t mls_tree_direct_path(uint32_t x, uint32_t n_leaves, uint32_t *out, size_t cap);
/* Copath: the sibling of x and of every node on its direct path except the root. */
size_t mls_tree_copath(uint32_t x, uint32_t n_leaves, uint32_t *out, size_t cap);
/* Lowest common ancestor of two nodes. */
uint32_t mls_tree_common_ancestor(uint32_t x, uint32_t y);

#endif
