/*
 * Actions: their parameters at load, and message templates.
 *
 * In a rule, `actions` is a list; each entry is an action name (`- delete_message`) or a
 * one-key mapping from the name to its parameters (`- remove_member: {purge_recent: 20}`).
 * Actions with one main parameter accept it directly (`- reply: "text"`, `- tag: spam`).
 * Every action has a target, a field of the event (an inbox id, a message id or the group
 * id); `target:` changes it. Templates (`text`, `name`, ...) hold {{field}} references,
 * checked at load and filled in when the action is planned (eval.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

#include "common/alloc.h"
#include "common/parse.h"
#include "rules/rules_int.h"

typedef struct {
    const char *params[5]; /* allowed parameters besides target; NULL-terminated */
    const char *main;      /* the shorthand parameter, or NULL */
    rules_field target;
} action_spec;

static const action_spec specs[RULES_ACT__COUNT] = {
    [RULES_ACT_DELETE_MESSAGE] = {{NULL}, NULL, RULES_F_MESSAGE_ID},
    [RULES_ACT_REMOVE_MEMBER] = {{"purge_recent", NULL}, NULL, RULES_F_SENDER_INBOX_ID},
    [RULES_ACT_REMOVE_PENDING_MEMBERS] = {{NULL}, NULL, RULES_F_GROUP_ID},
    [RULES_ACT_SEND_MESSAGE] = {{"text", NULL}, "text", RULES_F_GROUP_ID},
    [RULES_ACT_REPLY] = {{"text", NULL}, "text", RULES_F_MESSAGE_ID},
    [RULES_ACT_REACT] = {{"emoji", NULL}, "emoji", RULES_F_MESSAGE_ID},
    [RULES_ACT_SET_CONSENT] = {{"state", "entity", NULL}, "state", RULES_F_GROUP_ID},
    [RULES_ACT_ADD_ADMIN] = {{"super", NULL}, NULL, RULES_F_SENDER_INBOX_ID},
    [RULES_ACT_REMOVE_ADMIN] = {{"super", NULL}, NULL, RULES_F_SENDER_INBOX_ID},
    [RULES_ACT_UPDATE_METADATA] = {{"name", "description", "image_url", NULL}, NULL, RULES_F_GROUP_ID},
    [RULES_ACT_TAG] = {{"tags", NULL}, "tags", RULES_F_EVENT_ID},
    [RULES_ACT_ALERT] = {{"text", NULL}, "text", RULES_F_GROUP_ID},
};

long rules_tmpl_check(const char *s, size_t len, char *bad, size_t badsz)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '{' || s[i + 1] != '{')
            continue;
        const char *end = memmem(s + i + 2, len - i - 2, "}}", 2);
        size_t a = i + 2;
        size_t b = end ? (size_t)(end - s) : len;
        while (a < b && s[a] == ' ')
            a++;
        while (b > a && s[b - 1] == ' ')
            b--;
        if (!end ||
            (rules_field_lookup(s + a, b - a) < 0 && !(b - a == 4 && memcmp(s + a, "rule", 4) == 0))) {
            snprintf(bad, badsz, "%.*s", (int)(b - a), s + a);
            if (!end)
                snprintf(bad, badsz, "{{ without }}");
            return (long)i;
        }
        i = (size_t)(end - s) + 1;
    }
    return -1;
}

static void put(xw_arena *a, char **out, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (*n + len + 1 > *cap || !*out) {
        size_t nc = (*cap ? *cap : 64);
        while (nc < *n + len + 1)
            nc *= 2;
        char *nb = xw_arena_alloc(a, nc);
        if (!nb)
            return;
        if (*n)
            memcpy(nb, *out, *n);
        *out = nb;
        *cap = nc;
    }
    memcpy(*out + *n, s, len);
    *n += len;
    (*out)[*n] = '\0';
}

const char *rules_tmpl_render(xw_arena *a, const rules_tmpl *t, const rules_event *ev, const char *rule)
{
    char *out = NULL;
    size_t n = 0, cap = 0;
    const char *s = t->text;
    size_t len = t->len;
    size_t lit = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '{' || s[i + 1] != '{')
            continue;
        const char *end = memmem(s + i + 2, len - i - 2, "}}", 2);
        if (!end)
            break;
        put(a, &out, &n, &cap, s + lit, i - lit);
        size_t p = i + 2, q = (size_t)(end - s);
        while (p < q && s[p] == ' ')
            p++;
        while (q > p && s[q - 1] == ' ')
            q--;
        int f = rules_field_lookup(s + p, q - p);
        if (f < 0)
            put(a, &out, &n, &cap, rule, strlen(rule));
        else {
            const rules_fval *v = &ev->f[f];
            rules_type ft = rules_field_type((rules_field)f);
            char num[32];
            if (f == RULES_F_CONTENT_WORDS)
                v = &ev->f[RULES_F_CONTENT_TEXT];
            if (v->state == RV_UNKNOWN)
                put(a, &out, &n, &cap, "<unknown>", 9);
            else if (v->state == RV_SET && (ft == RULES_T_STR || f == RULES_F_CONTENT_WORDS))
                put(a, &out, &n, &cap, v->s, v->len);
            else if (v->state == RV_SET && ft == RULES_T_LIST)
                for (size_t k = 0; k < v->nitems; k++) {
                    if (k)
                        put(a, &out, &n, &cap, ", ", 2);
                    put(a, &out, &n, &cap, v->items[k].s, v->items[k].len);
                }
            else if (v->state == RV_SET) {
                int m = ft == RULES_T_BOOL ? snprintf(num, sizeof num, "%s", v->i ? "true" : "false")
                        : ft == RULES_T_DUR
                            ? snprintf(num, sizeof num, "%llds", (long long)(v->i / XW_NS_PER_SEC))
                            : snprintf(num, sizeof num, "%lld", (long long)v->i);
                put(a, &out, &n, &cap, num, (size_t)m);
            }
        }
        i = (size_t)(end - s) + 1;
        lit = i + 1;
    }
    put(a, &out, &n, &cap, s + lit, len - lit);
    return out ? out : "";
}

static int err(rules_diags *d, const rules_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int err(rules_diags *d, const rules_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rules_diags_vadd(d, RULES_DIAG_ERROR, n->file, n->line, n->col, fmt, ap);
    va_end(ap);
    return -1;
}

static int add_param(rules_set *s, rules_caction *ca, const char *key, const rules_node *v, int is_num,
                     rules_diags *d)
{
    if (ca->nparams >= 4)
        return err(d, v, "too many parameters");
    if (v->t != RN_SCALAR)
        return err(d, v, "parameter '%s' must be a single value", key);
    char bad[64];
    if (!is_num && rules_tmpl_check(v->s, v->len, bad, sizeof bad) >= 0)
        return err(d, v, "unknown field '%s' in {{...}} of '%s'", bad, key);
    ca->keys[ca->nparams] = xw_arena_strndup(&s->arena, key, strlen(key)); /* YAML nodes die after compile */
    ca->vals[ca->nparams].text = xw_arena_strndup(&s->arena, v->s, v->len);
    ca->vals[ca->nparams].len = v->len;
    ca->is_num[ca->nparams] = is_num;
    ca->nparams++;
    return ca->vals[ca->nparams - 1].text && ca->keys[ca->nparams - 1] ? 0 : -1;
}

static int param(rules_set *s, rules_caction *ca, const char *key, const rules_node *v, rules_diags *d)
{
    const char *an = rules_action_name(ca->kind);
    if (strcmp(key, "target") == 0) {
        int f = v->t == RN_SCALAR ? rules_field_lookup(v->s, v->len) : -1;
        if (f < 0 || rules_field_type((rules_field)f) != RULES_T_STR)
            return err(
                d, v, "target must be a text field such as sender.inbox_id, message.id or content.reference");
        ca->target = f;
        return 0;
    }
    if (strcmp(key, "purge_recent") == 0) {
        uint64_t n;
        if (v->t != RN_SCALAR || v->quoted ||
            xw_parse_u64_len("purge_recent", v->s, v->len, 0, 1000, &n, NULL) != XW_OK)
            return err(d, v, "purge_recent must be a number of messages from 0 to 1000");
        ca->purge_recent = (int)n;
        return add_param(s, ca, "purge_recent", v, 1, d);
    }
    if (strcmp(key, "super") == 0) {
        if (v->t != RN_SCALAR || (strcmp(v->s, "true") != 0 && strcmp(v->s, "false") != 0))
            return err(d, v, "super must be true or false");
        ca->super_admin = strcmp(v->s, "true") == 0;
        return add_param(s, ca, "super", v, 1, d);
    }
    if (strcmp(key, "state") == 0) {
        if (v->t != RN_SCALAR || (strcmp(v->s, "allowed") != 0 && strcmp(v->s, "denied") != 0))
            return err(d, v, "consent state must be `allowed` or `denied`");
        return add_param(s, ca, "state", v, 0, d);
    }
    if (strcmp(key, "entity") == 0) {
        if (v->t != RN_SCALAR || (strcmp(v->s, "group") != 0 && strcmp(v->s, "inbox") != 0))
            return err(d, v, "consent entity must be `group` or `inbox`");
        if (strcmp(v->s, "inbox") == 0 && ca->target == RULES_F_GROUP_ID)
            ca->target = RULES_F_SENDER_INBOX_ID;
        return add_param(s, ca, "entity", v, 0, d);
    }
    if (strcmp(key, "tags") == 0) {
        size_t n = v->t == RN_SEQ ? v->n : 1;
        if (v->t == RN_MAP || n == 0 || n > 4)
            return err(d, v, "tag takes one tag or a list of 1 to 4 tags");
        for (size_t i = 0; i < n; i++)
            if (add_param(s, ca, "tag", v->t == RN_SEQ ? v->kids[i] : v, 0, d) != 0)
                return -1;
        return 0;
    }
    for (int i = 0; specs[ca->kind].params[i]; i++)
        if (strcmp(specs[ca->kind].params[i], key) == 0)
            return add_param(s, ca, key, v, 0, d);
    return err(d, v, "%s has no parameter '%s'", an, key);
}

static int one_action(rules_set *s, rules_caction *ca, const rules_node *a, rules_diags *d)
{
    const rules_node *name = a->t == RN_MAP && a->n == 2 ? a->kids[0] : a;
    const rules_node *val = a->t == RN_MAP && a->n == 2 ? a->kids[1] : NULL;
    if (name->t != RN_SCALAR)
        return err(d, a,
                   "an action is a name (- delete_message) or a name with parameters (- reply: {text: ...})");
    int k = -1;
    for (int i = 0; i < RULES_ACT__COUNT; i++)
        if (strcmp(rules_action_name((rules_action_kind)i), name->s) == 0)
            k = i;
    if (k < 0)
        return err(
            d, name,
            "unknown action '%s'; the actions are delete_message, remove_member, remove_pending_members, "
            "send_message, reply, react, set_consent, add_admin, remove_admin, update_metadata, tag, alert",
            name->s);
    ca->kind = (rules_action_kind)k;
    ca->target = (int)specs[k].target;
    if (val && val->t == RN_MAP) {
        for (size_t i = 0; i + 1 < val->n; i += 2)
            if (param(s, ca, val->kids[i]->s, val->kids[i + 1], d) != 0)
                return -1;
    } else if (val && !(val->t == RN_SCALAR && val->len == 0 && !val->quoted)) {
        if (!specs[k].main)
            return err(d, val, "%s takes a mapping of parameters, e.g. {target: sender.inbox_id}", name->s);
        if (param(s, ca, specs[k].main, val, d) != 0)
            return -1;
    }
    /* required parameters */
    const char *need = k == RULES_ACT_SEND_MESSAGE || k == RULES_ACT_REPLY ? "text"
                       : k == RULES_ACT_REACT                              ? "emoji"
                       : k == RULES_ACT_SET_CONSENT                        ? "state"
                       : k == RULES_ACT_TAG                                ? "tag"
                                                                           : NULL;
    int have = need == NULL;
    for (size_t i = 0; need && i < ca->nparams; i++)
        have |= strcmp(ca->keys[i], need) == 0;
    if (k == RULES_ACT_UPDATE_METADATA)
        have = ca->nparams > 0;
    if (!have)
        return err(d, name, "%s needs %s", name->s,
                   k == RULES_ACT_UPDATE_METADATA ? "at least one of name, description, image_url" : need);
    return 0;
}

int rules_actions_compile(rules_set *s, rules_crule *r, const rules_item *it, rules_diags *d)
{
    size_t total = 0;
    for (size_t i = 0; i < it->nactions; i++) {
        if (it->actions[i]->t != RN_SEQ)
            return err(d, it->actions[i], "actions must be a list, e.g. actions: [delete_message]");
        total += it->actions[i]->n;
    }
    if (total > 32)
        return err(d, it->where, "rule '%s' has more than 32 actions", r->id);
    r->actions = xw_arena_alloc(&s->arena, (total + 1) * sizeof *r->actions);
    if (!r->actions)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < it->nactions; i++)
        for (size_t j = 0; j < it->actions[i]->n; j++) {
            rules_caction *ca = &r->actions[r->nactions];
            if (one_action(s, ca, it->actions[i]->kids[j], d) != 0) {
                rc = -1;
                continue;
            }
            if (rules_action_needs(ca->kind) > r->needs)
                r->needs = rules_action_needs(ca->kind);
            if ((ca->kind == RULES_ACT_ADD_ADMIN || ca->kind == RULES_ACT_REMOVE_ADMIN) && !ca->super_admin)
                r->needs = r->needs > 2 ? r->needs : 2;
            r->nactions++;
        }
    return rc;
}
