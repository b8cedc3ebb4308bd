/*
 * What the engine answers inline, decided once when a set is compiled: the RULES_FAST_
 * class of each test (engine_int.h, rules_quick) and, per event kind, the array of rule
 * gates the rule loop walks (rules_gate_false) and the text work to do up front
 * (RULES_EAGER_*, while the window table comes in from memory).
 *
 * A test computed through the memo costs a call, a fetch of its operand and a memo entry;
 * a number compared with a number costs less than looking it up. The gates are the first
 * tests of the rules: the loop reads them for every rule of the event's kind, so they are
 * copied, in rule order, into small entries that hold what decides the common cases (the
 * window slot or field, the comparison and its number), instead of following a pointer to
 * a test node per rule.
 */
#include "rules/rules_int.h"

static int fast_class(const rules_cnode *n)
{
    int cmp = n->op <= OP_GE, t = (int)rules_field_type(n->lhs.f);
    if (n->lhs.k == CV_RATE || n->lhs.k == CV_FIRST)
        return RULES_FAST_NONE; /* window compares are inline anyway */
    if (n->fast == RULES_FAST_REGROUP)
        return RULES_FAST_REGROUP;
    if (n->op == OP_EXISTS && n->lhs.k == CV_FIELD)
        return RULES_FAST_EXISTS;
    if (cmp && n->lhs.k == CV_FIELD && (t == RULES_T_INT || t == RULES_T_DUR || t == RULES_T_BOOL))
        return RULES_FAST_NUM;
    if (cmp && n->op != OP_NONE && n->lhs.k == CV_LEN && t == RULES_T_LIST &&
        n->lhs.f != RULES_F_CONTENT_WORDS)
        return RULES_FAST_LISTLEN;
    if ((n->op == OP_EQ || n->op == OP_NE) && n->lhs.k == CV_FIELD && t == RULES_T_STR)
        return RULES_FAST_STREQ;
    if ((n->op == OP_IN || n->op == OP_INTERSECTS) && (n->lhs.k == CV_FIELD || n->lhs.k == CV_LOWER))
        return RULES_FAST_DICT;
    return RULES_FAST_OTHER;
}

static rules_gate gate_of(const rules_cnode *n)
{
    rules_gate g = {0};
    if (!n)
        return g; /* RULES_GATE_NONE */
    g.n = n;
    g.num = n->num;
    g.op = (uint8_t)n->op;
    g.fast = n->fast;
    g.idx = n->leaf;
    if (n->lhs.k == CV_RATE || n->lhs.k == CV_FIRST) {
        g.how = RULES_GATE_WINDOW; /* a compare; another operator (in) goes through the memo */
        g.aux = n->lhs.slot;
        return g;
    }
    g.how = RULES_GATE_FIELD;
    g.field = (uint8_t)(n->lhs.f == RULES_F_CONTENT_WORDS ? RULES_F_CONTENT_TEXT : n->lhs.f);
    g.lf = (uint8_t)n->lhs.f;
    g.lw = n->lhs.k == CV_LOWER;
    if (n->fast == RULES_FAST_DICT)
        g.aux = n->listbit;
    else if (n->fast == RULES_FAST_REGROUP)
        g.aux = n->regroup1 - 1;
    return g;
}

/* The RULES_EAGER_* text work a condition needs. Depth: bounded by the nesting limits. */
static int eager_of(const rules_cnode *n)
{
    int r = 0;
    if (n->k == CN_AND || n->k == CN_OR) {
        for (uint32_t i = 0; i < n->nkids; i++)
            r |= eager_of(n->kids[i]);
    } else if (n->k == CN_NOT) {
        r = eager_of(n->a);
    } else if (n->k == CN_LEAF && n->lhs.k != CV_RATE && n->lhs.k != CV_FIRST) {
        if (n->lhs.f == RULES_F_CONTENT_WORDS && n->op != OP_EXISTS)
            r |= RULES_EAGER_WORDS;
        else if (n->lhs.f == RULES_F_CONTENT_TEXT &&
                 (n->lhs.k == CV_LOWER || n->op == OP_ICONTAINS || n->op == OP_IGLOB))
            r |= RULES_EAGER_LOWER_TEXT;
    }
    return r;
}

int rules_inline_prepare(rules_set *s, rules_cnode **leaves, size_t nleaves)
{
    for (size_t i = 0; i < nleaves; i++)
        leaves[i]->fast = (uint8_t)fast_class(leaves[i]);
    for (int k = 0; k < RULES_KIND__COUNT; k++) {
        s->gate_by_kind[k] = rules_arena_alloc(&s->code, (s->nby_kind[k] + 1) * sizeof *s->gate_by_kind[k]);
        if (!s->gate_by_kind[k])
            return -1;
        for (size_t i = 0; i < s->nby_kind[k]; i++) {
            const rules_crule *r = &s->rules[s->by_kind[k][i]];
            s->gate_by_kind[k][i] = gate_of(r->gate);
            s->eager[k] |= (uint8_t)(r->cond ? eager_of(r->cond) : 0);
        }
    }
    return 0;
}
