/*
 * State shared by compile.c (items to rules) and pred.c (one predicate to a leaf) while a
 * set is being compiled. Lives only during rules_set_compile.
 */
#ifndef XW_RULES_COMPILE_INT_H
#define XW_RULES_COMPILE_INT_H

#include "common/buf.h"
#include "rules/rules_int.h"

typedef struct {
    const char *s;
    size_t len;
    uint32_t bit;
} rules_dict_entry;

/* How the strings of a right side are compared (pred.c): as written, lowered (ASCII, for
 * lower() and the i-operators) or as words of content.words (words.c). */
enum { RULES_TF_NONE, RULES_TF_LOWER, RULES_TF_WORDS, RULES_TF__COUNT };

typedef struct {
    int state; /* 0 not expanded, 1 expanding, 2 done, 3 failed */
    const char **strs;
    size_t *lens;
    const rules_node **nodes; /* where each item is written: a YAML scalar, or NULL ... */
    size_t *offs;             /* ... and then this offset in the condition */
    size_t n;
    int bit[RULES_TF__COUNT];            /* dictionary bit per comparison, -1 until used with in/intersects */
    const char **tstrs[RULES_TF__COUNT]; /* the strings transformed, once per list */
    size_t *tlens[RULES_TF__COUNT];
} rules_list_c;

typedef struct {
    int state; /* 0 not parsed, 1 compiling, 2 ok, 3 failed */
    rules_anode *ast;
    const rules_node *frags[RULES_MAX_FRAGS];
    size_t fstart[RULES_MAX_FRAGS];
    size_t nfrags;
} rules_macro_c;

typedef struct {
    rules_set *set;
    rules_defs *defs;
    rules_diags *d;
    xw_arena tmp; /* ASTs and scratch; freed at the end */
    /* where offsets point: condition fragments, or one fixed node (exceptions, actions) */
    const rules_node *const *frags;
    const size_t *fstart;
    size_t nfrags;
    const rules_node *fixed;
    int quiet;    /* >0: diagnostics already reported once (macro bodies inlined into rules) */
    int marking;  /* mark lists and macros as used (compiling a rule) */
    int in_guard; /* compiling the condition of a rate(): no windows inside */
    int failed;
    int partial;    /* items were left out for errors: no warnings about unused ones */
    uint32_t kinds; /* the current rule's event kinds, for rate slots */
    rules_list_c *lists;
    rules_macro_c *macros;
    rules_map leafmap; /* canonical leaf text -> leaf index */
    rules_cnode **leaves;
    size_t nleaves, capleaves;
    rules_map slotmap;
    size_t capslots, capregexes; /* of set->slots and set->regexes */
    rules_map remap;             /* pattern -> regex index */
    rules_dict_entry *dict;
    size_t ndict, capdict;
    uint32_t nbits;
    rules_map anonbits; /* canonical literal list -> bit */
    const char *macro_stack[64];
    int nmacro_stack;
    size_t terms;      /* tests compiled so far in the set, macros inlined (limit: max_terms) */
    int over;          /* max_terms passed: compiling stops */
    int over_reported; /* ... and the error is out */
    rules_map predmap; /* predicate as written (operand resolved) -> leaf index */
    xw_buf key;        /* scratch for predmap keys */
} rules_cctx;

/* An n-ary and/or under construction: children are appended (a child of the same kind
 * gives its children, so `a and (b and c)` is one node) and the node is made once at the
 * end, so a chain of n terms costs O(n) time and memory. */
typedef struct {
    rules_cnode_kind k;
    rules_cnode **kids; /* heap, grown by doubling; moved into the set's code arena at the end */
    size_t n, cap;
    int failed;
} rules_chain;

void rules_chain_init(rules_chain *ch, rules_cnode_kind k);
/* Appends x (NULL: a child that failed; the chain then fails). */
void rules_chain_push(rules_cctx *c, rules_chain *ch, rules_cnode *x);
/* The node (a single child is returned as it is); NULL when empty or failed. Frees ch's
 * scratch in every case. */
rules_cnode *rules_chain_end(rules_cctx *c, rules_chain *ch);
/* Counts one test against max_terms; -1 (and an error at off, once) past the limit. */
int rules_count_term(rules_cctx *c, size_t off);

/* Reports an error at offset `off` of the current source (or at the fixed node). */
void rules_cerr(rules_cctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rules_cwarn(rules_cctx *c, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Compiles a predicate (lhs op rhs, or a bare boolean operand when op is OP_NONE). */
rules_cnode *rules_compile_pred(rules_cctx *c, const rules_aop *lhs, rules_op op, const rules_aval *rhs,
                                size_t off);
/* Expands list `idx` (list references inside are expanded); NULL on error. */
rules_list_c *rules_list_expand(rules_cctx *c, int idx, size_t off);
int rules_find_list(rules_cctx *c, const char *name, size_t len);
uint32_t rules_slot_add(rules_cctx *c, int kind, rules_field key, int64_t window_ns, uint32_t kinds,
                        const char *gtext, size_t glen, rules_cnode *guard);
rules_cnode *rules_compile_ast(rules_cctx *c, rules_anode *n);
/* A not or const node; NULL (and c->failed) on failure. And/or: rules_chain. */
rules_cnode *rules_cnode_new(rules_cctx *c, rules_cnode_kind k, rules_cnode *a);
/* A duration ("90s") or a number of seconds; -1 if it is neither, -2 if it is too large. */
int rules_parse_duration(const rules_node *n, int64_t *out);
/* exceptions.c: one exception as a predicate; NULL with *err = 0 when it has no values. */
rules_cnode *rules_compile_exception(rules_cctx *c, const rules_exception_def *e, int *err);

#endif
