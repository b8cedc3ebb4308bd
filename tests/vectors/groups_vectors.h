/*
 * Vector kinds of the group half of mls/ (tree-validation, tree-operations, treekem,
 * welcome, passive-client-*), run by the same runner as the core kinds.
 */
#ifndef XW_TESTS_GROUPS_VECTORS_H
#define XW_TESTS_GROUPS_VECTORS_H

#include "tests/vectors/vectors.h"

int vt_tree_validation(vt_case *c, json_t *e);
int vt_tree_operations(vt_case *c, json_t *e);
int vt_treekem(vt_case *c, json_t *e);
int vt_welcome(vt_case *c, json_t *e);
int vt_passive_client(vt_case *c, json_t *e);

/* Rows of the runner's kind table (the one hook into mls_vectors.c). */
#define GROUPS_VECTOR_KINDS                                                                                  \
    {"tree-validation", vt_tree_validation}, {"tree-operations", vt_tree_operations},                        \
        {"treekem", vt_treekem}, {"welcome", vt_welcome}, {"passive-client-welcome", vt_passive_client},     \
        {"passive-client-handling-commit", vt_passive_client},                                               \
    {                                                                                                        \
        "passive-client-random", vt_passive_client                                                           \
    }

#endif
