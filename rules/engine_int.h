/*
 * The engine's state, shared by engine.c (lifecycle, the per-event loop, plans) and
 * eval.c (conditions). One thread at a time.
 *
 * Per-event caches are invalidated by bumping `epoch` rather than clearing arrays: a memo
 * entry, a lowered field or a dictionary mask is valid when its epoch equals the current
 * one. That keeps the cost of an event proportional to what its rules look at.
 */
#ifndef XW_RULES_ENGINE_INT_H
#define XW_RULES_ENGINE_INT_H

#include <string.h>

#include "rules/rules_int.h"

typedef struct {
    const char *s;
    size_t len;
    uint64_t h;
    char num[24];
} rules_slotkey;

typedef struct {
    uint32_t epoch;
    char *buf; /* lowered text, NUL-terminated; for lists, items separated by NULs */
    size_t len, cap;
    rules_str *items;
    size_t nitems, capitems;
} rules_lowcache;

typedef struct {
    uint64_t missing; /* unknown fields behind an unknown value */
    uint32_t epoch;   /* valid when equal to the engine's */
    uint8_t val;      /* 0 false, 1 true, 2 unknown, 3 unknown for a regex limit */
} rules_memo;

struct rules_engine {
    rules_set *set;
    rules_limits lim;
    rules_wstore *ws;
    uint32_t epoch;
    /* leaf memo: one entry (16 bytes) per leaf, what a lookup needs in one cache line */
    rules_memo *memo;
    /* window slots observed for the current event */
    int64_t *slot_val;
    uint8_t *slot_state;
    uint64_t *slot_missing;
    rules_slotkey *slot_keys;
    /* field caches */
    rules_lowcache low[RULES_F__COUNT];
    rules_lowcache words;
    uint32_t mask_epoch[RULES_F__COUNT][2];
    uint64_t *masks; /* [field][lowered][mask_words] */
    uint64_t *tmpmask;
    pcre2_match_data *md;
    uint32_t *regroup_epoch; /* per regex group: joined pattern run for this event */
    uint8_t *regroup_val;
    uint64_t regex_hits;
    uint64_t computed; /* tests computed by leaf() (not inline, not from the memo) */
    /* per rule while evaluating */
    uint64_t missing;
    int regex_err;
    /* the decision */
    xw_arena darena;
    rules_decision dec;
    rules_rule_result *results;
    size_t capresults;
    rules_planned_action *actions;
    size_t capactions;
    rules_param *params;
    size_t nparams, capparams;
    const char **tags;
    size_t captags;
};

static inline int rules_cmp_num(rules_op op, int64_t v, int64_t num)
{
    switch (op) {
    case OP_NONE:
        return v != 0;
    case OP_EQ:
        return v == num;
    case OP_NE:
        return v != num;
    case OP_LT:
        return v < num;
    case OP_LE:
        return v <= num;
    case OP_GT:
        return v > num;
    case OP_GE:
        return v >= num;
    default:
        return -1;
    }
}

/* A test answered inline, without the memo: a window compare; a field that is absent (false)
 * or unknown (with the field in *missing); a RULES_FAST_* test; a field's lists already
 * looked up for this event; a regex whose joined pattern found nothing in this event.
 * 0, 1, 2 (unknown) or -1 when the test must be computed (or found in the memo). */
static inline int rules_quick(const rules_engine *e, const rules_event *ev, const rules_cnode *n,
                              uint64_t *missing)
{
    if (n->lhs.k == CV_RATE || n->lhs.k == CV_FIRST) {
        uint8_t st = e->slot_state[n->lhs.slot];
        if (st == RV_UNKNOWN) {
            *missing |= e->slot_missing[n->lhs.slot];
            return 2;
        }
        return st != RV_SET ? 0 : rules_cmp_num(n->op, e->slot_val[n->lhs.slot], n->num);
    }
    rules_field f = n->lhs.f == RULES_F_CONTENT_WORDS ? RULES_F_CONTENT_TEXT : n->lhs.f;
    const rules_fval *fv = &ev->f[f];
    if (fv->state != RV_SET) {
        if (fv->state == RV_ABSENT)
            return 0;
        *missing |= UINT64_C(1) << n->lhs.f;
        return 2;
    }
    switch (n->fast) {
    case RULES_FAST_NUM:
        return rules_cmp_num(n->op, fv->i, n->num);
    case RULES_FAST_LISTLEN:
        return rules_cmp_num(n->op, (int64_t)fv->nitems, n->num);
    case RULES_FAST_STREQ:
        return (fv->len == n->slen && memcmp(fv->s, n->s, n->slen) == 0) == (n->op == OP_EQ);
    case RULES_FAST_EXISTS:
        return 1;
    case RULES_FAST_DICT: {
        int lw = n->lhs.k == CV_LOWER;
        if (e->mask_epoch[n->lhs.f][lw] != e->epoch)
            return -1;
        return (int)(e->masks[((size_t)n->lhs.f * 2 + (size_t)lw) * e->set->mask_words + n->listbit / 64] >>
                         (n->listbit % 64) &
                     1);
    }
    case RULES_FAST_REGROUP: {
        uint32_t g = n->regroup1 - 1;
        return e->regroup_epoch[g] == e->epoch && !e->regroup_val[g] ? 0 : -1;
    }
    default:
        return -1;
    }
}

/* 1 when the rule whose gate is g cannot match this event: its first test is answered
 * false inline, or found false in the memo. Decided from the gate entry alone (rules_gate),
 * without reading the test node, except for a text compare. */
static inline int rules_gate_false(const rules_engine *e, const rules_event *ev, const rules_gate *g)
{
    if (g->how == RULES_GATE_NONE)
        return 0;
    if (g->how == RULES_GATE_WINDOW) {
        uint8_t st = e->slot_state[g->aux];
        if (st != RV_SET)
            return st == RV_ABSENT;
        int r = rules_cmp_num((rules_op)g->op, e->slot_val[g->aux], g->num);
        if (r >= 0)
            return r == 0;
    } else {
        const rules_fval *fv = &ev->f[g->field];
        if (fv->state != RV_SET)
            return fv->state == RV_ABSENT;
        switch (g->fast) {
        case RULES_FAST_NUM:
            return rules_cmp_num((rules_op)g->op, fv->i, g->num) == 0;
        case RULES_FAST_LISTLEN:
            return rules_cmp_num((rules_op)g->op, (int64_t)fv->nitems, g->num) == 0;
        case RULES_FAST_EXISTS:
            return 0;
        case RULES_FAST_STREQ: {
            uint64_t missing = 0;
            return rules_quick(e, ev, g->n, &missing) == 0;
        }
        case RULES_FAST_DICT:
            if (e->mask_epoch[g->lf][g->lw] == e->epoch)
                return !(e->masks[((size_t)g->lf * 2 + g->lw) * e->set->mask_words + g->aux / 64] >>
                             (g->aux % 64) &
                         1);
            break;
        case RULES_FAST_REGROUP:
            if (e->regroup_epoch[g->aux] == e->epoch && !e->regroup_val[g->aux])
                return 1;
            break;
        default:
            break;
        }
    }
    return e->memo[g->idx].epoch == e->epoch && e->memo[g->idx].val == 0;
}

/* Evaluates a compiled condition: 0 false, 1 true, 2 unknown (e->missing gains the fields). */
int rules_eval_cond(rules_engine *e, const rules_event *ev, const rules_cnode *n);
/* Observes the event in every window slot of its kind (rate counts, first-message memory). */
int rules_eval_observe(rules_engine *e, const rules_event *ev);

#endif
