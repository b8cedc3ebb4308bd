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

struct rules_engine {
    rules_set *set;
    rules_limits lim;
    rules_wstore *ws;
    uint32_t epoch;
    /* leaf memo */
    uint32_t *memo_epoch;
    uint8_t *memo_val;
    uint64_t *memo_missing;
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

/* 1 when gate leaf g is already known false for this event (from the memo, or a window
 * compare, which costs less than a call): the rule it starts cannot match. */
static inline int rules_gate_false(const rules_engine *e, const rules_cnode *g)
{
    if (g->lhs.k == CV_RATE || g->lhs.k == CV_FIRST) {
        if (e->slot_state[g->lhs.slot] != RV_SET)
            return e->slot_state[g->lhs.slot] == RV_ABSENT;
        int64_t v = e->slot_val[g->lhs.slot];
        switch (g->op) {
        case OP_NONE:
            return v == 0;
        case OP_EQ:
            return v != g->num;
        case OP_NE:
            return v == g->num;
        case OP_LT:
            return !(v < g->num);
        case OP_LE:
            return !(v <= g->num);
        case OP_GT:
            return !(v > g->num);
        case OP_GE:
            return !(v >= g->num);
        default:
            return 0;
        }
    }
    return e->memo_epoch[g->leaf] == e->epoch && e->memo_val[g->leaf] == 0;
}

/* Evaluates a compiled condition: 0 false, 1 true, 2 unknown (e->missing gains the fields). */
int rules_eval_cond(rules_engine *e, const rules_event *ev, const rules_cnode *n);
/* Observes the event in every window slot of its kind (rate counts, first-message memory). */
int rules_eval_observe(rules_engine *e, const rules_event *ev);

#endif
