/*
 * The engine: a compiled set, the window state, and the per-event loop that turns an
 * event into a decision.
 *
 * For each event: observe it in the window slots of its kind, then evaluate the rules of
 * its kind in file order. A rule that is true is checked in turn for admin rights
 * (preflight: `self.is_admin` / `self.is_super_admin`; a rule that needs them while the bot
 * lacks them is inert), for the targets of its actions (an unknown target makes the rule
 * unknown), and for its cooldown; then its actions are planned, each with an idempotency
 * key. With `match: first` the loop ends at the first rule that is true or unknown (an
 * unknown rule might have matched, so the rules after it cannot be trusted to be "first");
 * a rule with `stop: true` ends it when it matches. A rule in simulate mode changes nothing
 * that enforcing rules do: when it would end the loop, only the simulated rules after it
 * are skipped (what would have happened, had it been enforced, among the simulated ones),
 * and its tags are planned but not added to the decision.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "rules/engine_int.h"

static void free_scratch(rules_engine *e)
{
    xw_free(e->memo);
    xw_free(e->slot_val);
    xw_free(e->slot_state);
    xw_free(e->slot_missing);
    xw_free(e->slot_keys);
    xw_free(e->masks);
    xw_free(e->tmpmask);
    xw_free(e->regroup_epoch);
    xw_free(e->regroup_val);
    e->regroup_epoch = NULL;
    e->regroup_val = NULL;
    e->memo = NULL;
    e->slot_val = NULL;
    e->slot_state = NULL;
    e->slot_missing = NULL;
    e->slot_keys = NULL;
    e->masks = NULL;
    e->tmpmask = NULL;
}

/* Sizes the per-event arrays for set s; on failure the engine keeps its old arrays. */
static int alloc_scratch(rules_engine *e, const rules_set *s)
{
    size_t nl = s ? s->nleaves + 1 : 1, ns = s ? s->nslots + 1 : 1, mw = s ? s->mask_words : 1;
    rules_memo *me = xw_calloc(nl, sizeof *me);
    int64_t *sv = xw_calloc(ns, sizeof *sv);
    uint8_t *ss = xw_calloc(ns, 1);
    uint64_t *smi = xw_calloc(ns, sizeof *smi);
    rules_slotkey *sks = xw_calloc(ns, sizeof *sks);
    uint64_t *masks = xw_calloc((size_t)RULES_F__COUNT * 2 * mw, sizeof *masks);
    uint64_t *tmp = xw_calloc(mw, sizeof *tmp);
    size_t ng = s ? s->nregroups + 1 : 1;
    uint32_t *rge = xw_calloc(ng, sizeof *rge);
    uint8_t *rgv = xw_calloc(ng, 1);
    if (!me || !sv || !ss || !smi || !sks || !masks || !tmp || !rge || !rgv) {
        xw_free(rge);
        xw_free(rgv);
        xw_free(smi);
        xw_free(sks);
        xw_free(me);
        xw_free(sv);
        xw_free(ss);
        xw_free(masks);
        xw_free(tmp);
        return XW_ENOMEM;
    }
    free_scratch(e);
    e->memo = me;
    e->slot_val = sv;
    e->slot_state = ss;
    e->slot_missing = smi;
    e->slot_keys = sks;
    e->masks = masks;
    e->tmpmask = tmp;
    e->regroup_epoch = rge;
    e->regroup_val = rgv;
    e->epoch = 1; /* every cached epoch is now stale */
    for (int f = 0; f < RULES_F__COUNT; f++) {
        e->low[f].epoch = 0;
        e->mask_epoch[f][0] = e->mask_epoch[f][1] = 0;
    }
    e->words.epoch = 0;
    return XW_OK;
}

rules_engine *rules_engine_new(const rules_limits *lim)
{
    rules_engine *e = xw_calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (lim)
        e->lim = *lim;
    else
        rules_limits_default(&e->lim);
    xw_arena_init(&e->darena, 0, XW_ARENA_UNBOUNDED);
    e->ws = rules_wstore_new(e->lim.window_cap);
    e->md = pcre2_match_data_create(1, NULL);
    if (!e->ws || !e->md || alloc_scratch(e, NULL) != XW_OK) {
        rules_engine_free(e);
        return NULL;
    }
    return e;
}

void rules_engine_free(rules_engine *e)
{
    if (!e)
        return;
    rules_set_free(e->set);
    rules_wstore_free(e->ws);
    free_scratch(e);
    for (int f = 0; f < RULES_F__COUNT; f++) {
        xw_free(e->low[f].buf);
        xw_free(e->low[f].items);
    }
    xw_free(e->words.buf);
    xw_free(e->words.items);
    pcre2_match_data_free(e->md);
    xw_arena_release(&e->darena);
    xw_free(e->results);
    xw_free(e->actions);
    xw_free(e->params);
    xw_free(e->tags);
    xw_free(e);
}

void rules_engine_swap(rules_engine *e, rules_set *s)
{
    /* scratch first: if it cannot be sized, keep the old set (the caller gets it back freed
     * only on success, so the new set is dropped and the old one stays in force) */
    if (alloc_scratch(e, s) != XW_OK) {
        rules_set_free(s);
        return;
    }
    rules_set_free(e->set);
    e->set = s;
}

int rules_engine_reload_files(rules_engine *e, const char *const *paths, size_t n, rules_diags *d)
{
    rules_set *s = NULL;
    int rc = rules_set_load_files(paths, n, &e->lim, &s, d);
    if (rc != XW_OK)
        return rc;
    const rules_set *before = s;
    rules_engine_swap(e, s);
    if (e->set != before) {
        rules_diags_add(d, RULES_DIAG_ERROR, paths[0], 0, 0, "out of memory while installing the new rules");
        return XW_ENOMEM;
    }
    return XW_OK;
}

const rules_set *rules_engine_set(const rules_engine *e) { return e->set; }
uint64_t rules_engine_regex_limit_hits(const rules_engine *e) { return e->regex_hits; }
uint64_t rules_engine_tests_computed(const rules_engine *e) { return e->computed; }
size_t rules_engine_state_entries(const rules_engine *e) { return rules_wstore_count(e->ws); }

int rules_engine_state_export(const rules_engine *e, xw_buf *out) { return rules_wstore_export(e->ws, out); }

int rules_engine_state_import(rules_engine *e, const uint8_t *p, size_t n, xw_errbuf *eb)
{
    rules_wstore *w = rules_wstore_import(p, n, e->lim.window_cap, eb);
    if (!w)
        return XW_EMALFORMED;
    rules_wstore_free(e->ws);
    e->ws = w;
    return XW_OK;
}

/* --- the decision ---------------------------------------------------------------------------- */
static rules_rule_result *add_result(rules_engine *e, const rules_crule *r, rules_result_kind k)
{
    rules_rule_result *nr = xw_grow(e->results, e->dec.nresults, &e->capresults, 8, sizeof *nr);
    if (!nr)
        return NULL;
    e->results = nr;
    e->dec.results = nr;
    rules_rule_result *x = &e->results[e->dec.nresults++];
    memset(x, 0, sizeof *x);
    x->rule = r->id;
    x->result = k;
    x->simulate = r->simulate;
    x->priority = r->priority;
    x->tags = r->tags;
    x->ntags = r->ntags;
    return x;
}

static const char *missing_text(rules_engine *e, uint64_t bits)
{
    char buf[600];
    size_t n = 0;
    buf[0] = '\0';
    for (int f = 0; f < RULES_F__COUNT; f++)
        if (bits & (UINT64_C(1) << f))
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "",
                                  rules_field_name((rules_field)f));
    return xw_arena_strndup(&e->darena, buf, n);
}

static int add_tag(rules_engine *e, const char *t)
{
    for (size_t i = 0; i < e->dec.ntags; i++)
        if (strcmp(e->tags[i], t) == 0)
            return 0;
    const char **nt = xw_grow(e->tags, e->dec.ntags, &e->captags, 8, sizeof *nt);
    if (!nt)
        return -1;
    e->tags = nt;
    e->tags[e->dec.ntags++] = t;
    return 0;
}

static const char *target_of(const rules_event *ev, const rules_caction *a, uint64_t *missing)
{
    if (a->target < 0)
        return "";
    const rules_fval *v = &ev->f[a->target];
    if (v->state != RV_SET) {
        *missing |= UINT64_C(1) << a->target;
        return NULL;
    }
    return v->s;
}

static int plan(rules_engine *e, const rules_event *ev, const rules_crule *r)
{
    const char *msgid = ev->f[RULES_F_MESSAGE_ID].state == RV_SET ? ev->f[RULES_F_MESSAGE_ID].s
                        : ev->f[RULES_F_EVENT_ID].state == RV_SET ? ev->f[RULES_F_EVENT_ID].s
                                                                  : "";
    /* preflight */
    if (r->needs) {
        rules_field f = r->needs == 2 ? RULES_F_SELF_IS_SUPER_ADMIN : RULES_F_SELF_IS_ADMIN;
        const rules_fval *v = &ev->f[f];
        if (v->state != RV_SET) {
            rules_rule_result *x = add_result(e, r, RULES_R_UNKNOWN);
            if (!x)
                return XW_ENOMEM;
            x->missing = rules_field_name(f);
            x->reason = "the bot's admin status is not known, so its actions cannot be checked";
            return XW_OK;
        }
        if (!v->i) {
            rules_rule_result *x = add_result(e, r, RULES_R_INERT);
            if (!x)
                return XW_ENOMEM;
            x->reason = r->needs == 2
                            ? "the bot is not a super admin of this group; its actions need one"
                            : "the bot is not an admin of this group; its actions need admin rights";
            return XW_OK;
        }
    }
    /* targets */
    uint64_t missing = 0;
    const char *targets[33];
    for (size_t i = 0; i < r->nactions; i++)
        targets[i] = target_of(ev, &r->actions[i], &missing);
    if (missing) {
        rules_rule_result *x = add_result(e, r, RULES_R_UNKNOWN);
        if (!x)
            return XW_ENOMEM;
        x->missing = missing_text(e, missing);
        x->reason = "an action's target is not known for this event";
        return XW_OK;
    }
    /* cooldown, per rule and key (cooldown_key; by default the sender, else the group) */
    if (r->cooldown_ns > 0) {
        char num[32];
        const char *key = "";
        const rules_fval *kv = r->cooldown_key >= 0 ? &ev->f[r->cooldown_key]
                               : ev->f[RULES_F_SENDER_INBOX_ID].state == RV_SET
                                   ? &ev->f[RULES_F_SENDER_INBOX_ID]
                                   : &ev->f[RULES_F_GROUP_ID];
        if (kv->state == RV_UNKNOWN) {
            rules_rule_result *x = add_result(e, r, RULES_R_UNKNOWN);
            if (!x)
                return XW_ENOMEM;
            x->missing = rules_field_name((rules_field)(kv - ev->f));
            x->reason = "the rule's cooldown key is not known for this event";
            return XW_OK;
        }
        if (kv->state == RV_SET && kv->s)
            key = kv->s;
        else if (kv->state == RV_SET) {
            snprintf(num, sizeof num, "%lld", (long long)kv->i);
            key = num;
        }
        if (rules_wstore_cooling(e->ws, r->cooldown_id, key, strlen(key), ev->ts_ns)) {
            rules_rule_result *x = add_result(e, r, RULES_R_COOLDOWN);
            if (!x)
                return XW_ENOMEM;
            x->reason = "the rule acted on this target less than its cooldown ago";
            return XW_OK;
        }
        int64_t until = ev->ts_ns > INT64_MAX - r->cooldown_ns ? INT64_MAX : ev->ts_ns + r->cooldown_ns;
        if (rules_wstore_cool_until(e->ws, r->cooldown_id, key, strlen(key), until) != XW_OK)
            return XW_ENOMEM;
    }
    rules_rule_result *x = add_result(e, r, RULES_R_MATCH);
    if (!x)
        return XW_ENOMEM;
    rules_tmpl dt = {r->desc ? r->desc : r->id, strlen(r->desc ? r->desc : r->id)};
    x->reason = rules_tmpl_render(&e->darena, &dt, ev, r->id);
    for (size_t i = 0; i < r->nactions; i++) {
        const rules_caction *a = &r->actions[i];
        rules_planned_action *na = xw_grow(e->actions, e->dec.nactions, &e->capactions, 8, sizeof *na);
        if (!na)
            return XW_ENOMEM;
        e->actions = na;
        rules_planned_action *p = &e->actions[e->dec.nactions++];
        memset(p, 0, sizeof *p);
        p->kind = a->kind;
        p->rule = r->id;
        p->target = targets[i];
        p->simulate = r->simulate;
        rules_idem_key(r->id, rules_action_name(a->kind), targets[i], msgid, p->key);
        rules_param *pp = xw_arena_alloc(&e->darena, (a->nparams + 1) * sizeof *pp);
        if (!pp)
            return XW_ENOMEM;
        for (size_t k = 0; k < a->nparams; k++) {
            pp[k].key = a->keys[k];
            pp[k].is_number = a->is_num[k];
            pp[k].value =
                a->is_num[k] ? a->vals[k].text : rules_tmpl_render(&e->darena, &a->vals[k], ev, r->id);
            if (a->kind == RULES_ACT_TAG && !r->simulate && add_tag(e, pp[k].value) != 0)
                return XW_ENOMEM; /* a simulated tag is planned, not applied to the event */
        }
        p->params = pp;
        p->nparams = a->nparams;
    }
    return XW_OK;
}

int rules_engine_eval(rules_engine *e, const rules_event *ev, const rules_decision **out, xw_errbuf *eb)
{
    *out = NULL;
    if ((unsigned)ev->kind >= RULES_KIND__COUNT)
        return xw_errf(eb, XW_EINVAL, "the event has no kind");
    xw_arena_reset(&e->darena);
    memset(&e->dec, 0, sizeof e->dec);
    e->dec.kind = ev->kind;
    e->dec.event_id = ev->f[RULES_F_EVENT_ID].state == RV_SET ? ev->f[RULES_F_EVENT_ID].s : "";
    const rules_set *s = e->set;
    if (s) {
        if (++e->epoch == 0) { /* wrapped: clear every cache stamp */
            memset(e->memo, 0, (s->nleaves + 1) * sizeof *e->memo);
            memset(e->regroup_epoch, 0, (s->nregroups + 1) * sizeof *e->regroup_epoch);
            for (int f = 0; f < RULES_F__COUNT; f++)
                e->low[f].epoch = e->mask_epoch[f][0] = e->mask_epoch[f][1] = 0;
            e->words.epoch = 0;
            e->epoch = 1;
        }
        if (rules_eval_observe(e, ev) != XW_OK)
            return xw_errf(eb, XW_ENOMEM, "out of memory in the rate windows");
        const uint32_t *idx = s->by_kind[ev->kind];
        const rules_gate *gates = s->gate_by_kind[ev->kind];
        int sim_ended = 0; /* a simulated rule ended evaluation: for the simulated rules only */
        for (size_t i = 0; i < s->nby_kind[ev->kind]; i++) {
            /* a rule whose first test is already known false for this event: skip it without
             * a call (the whole `and` is false) */
            if (rules_gate_false(e, ev, &gates[i]))
                continue;
            const rules_crule *r = &s->rules[idx[i]];
            if (sim_ended && r->simulate)
                continue;
            e->missing = 0;
            e->regex_err = 0;
            int v = rules_eval_cond(e, ev, r->cond);
            if (v == 0)
                continue;
            if (v == 2) {
                rules_rule_result *x = add_result(e, r, RULES_R_UNKNOWN);
                if (!x)
                    return xw_errf(eb, XW_ENOMEM, "out of memory");
                x->missing = e->missing ? missing_text(e, e->missing) : NULL;
                x->reason = e->regex_err ? "a regex hit its match limit; the text is treated as unknown"
                                         : "a field the condition needs is not known yet";
            } else if (plan(e, ev, r) != XW_OK) {
                return xw_errf(eb, XW_ENOMEM, "out of memory");
            }
            if (s->match_first || (v == 1 && r->stop)) {
                if (!r->simulate)
                    break;
                sim_ended = 1; /* simulation must not change what enforcing rules do */
            }
        }
    }
    e->dec.results = e->results;
    e->dec.actions = e->actions;
    e->dec.tags = e->tags;
    *out = &e->dec;
    return XW_OK;
}
