/*
 * A decision as one line of JSON (the output of `rules-test`, and what the worker logs):
 *
 *   {"event":"e1","kind":"message","outcome":"match",
 *    "results":[{"rule":"flood","result":"match","mode":"enforce","priority":"warning",
 *                "reason":"...","tags":["spam"]}],
 *    "actions":[{"rule":"flood","action":"remove_member","target":"abc","mode":"enforce",
 *                "key":"0f3c...","params":{"purge_recent":20}}],
 *    "tags":["spam"]}
 *
 * `outcome` is the strongest result: match, unknown, inert, cooldown, or none.
 */
#include <string.h>

#include "rules/rules_int.h"

static int jstr(xw_buf *b, const char *s)
{
    int rc = xw_buf_append_u8(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == XW_OK; p++) {
        if (*p == '"' || *p == '\\') {
            char t[2] = {'\\', (char)*p};
            rc = xw_buf_append(b, t, 2);
        } else if (*p < 0x20) {
            rc = xw_buf_appendf(b, "\\u%04x", *p);
        } else {
            rc = xw_buf_append_u8(b, *p);
        }
    }
    return rc ? rc : xw_buf_append_u8(b, '"');
}

static int jkv(xw_buf *b, const char *k, const char *v, int comma)
{
    int rc = comma ? xw_buf_append_u8(b, ',') : XW_OK;
    rc = rc ? rc : jstr(b, k);
    rc = rc ? rc : xw_buf_append_u8(b, ':');
    return rc ? rc : jstr(b, v);
}

static int jarr(xw_buf *b, const char *k, const char *const *v, size_t n)
{
    int rc = xw_buf_appendf(b, ",\"%s\":[", k);
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        if (i)
            rc = xw_buf_append_u8(b, ',');
        rc = rc ? rc : jstr(b, v[i]);
    }
    return rc ? rc : xw_buf_append_u8(b, ']');
}

int rules_decision_to_json(const rules_decision *d, xw_buf *b)
{
    static const char *res[] = {"match", "unknown", "inert", "cooldown"};
    size_t start = b->len;
    int best = -1;
    for (size_t i = 0; i < d->nresults; i++)
        if (best < 0 || (int)d->results[i].result < best)
            best = (int)d->results[i].result;
    int rc = xw_buf_append_u8(b, '{');
    rc = rc ? rc : jkv(b, "event", d->event_id ? d->event_id : "", 0);
    rc = rc ? rc : jkv(b, "kind", rules_kind_name(d->kind), 1);
    rc = rc ? rc : jkv(b, "outcome", best < 0 ? "none" : res[best], 1);
    rc = rc ? rc : xw_buf_append_str(b, ",\"results\":[");
    for (size_t i = 0; i < d->nresults && rc == XW_OK; i++) {
        const rules_rule_result *r = &d->results[i];
        rc = xw_buf_append_str(b, i ? ",{" : "{");
        rc = rc ? rc : jkv(b, "rule", r->rule, 0);
        rc = rc ? rc : jkv(b, "result", res[r->result], 1);
        rc = rc ? rc : jkv(b, "mode", r->simulate ? "simulate" : "enforce", 1);
        rc = rc ? rc : jkv(b, "priority", r->priority, 1);
        if (r->reason)
            rc = rc ? rc : jkv(b, "reason", r->reason, 1);
        if (r->missing) {
            rc = rc ? rc : xw_buf_append_str(b, ",\"missing\":[");
            const char *p = r->missing;
            int first = 1;
            while (*p && rc == XW_OK) {
                const char *c = strchr(p, ',');
                size_t n = c ? (size_t)(c - p) : strlen(p);
                rc = xw_buf_appendf(b, "%s\"%.*s\"", first ? "" : ",", (int)n, p);
                first = 0;
                p += n + (c ? 1 : 0);
            }
            rc = rc ? rc : xw_buf_append_u8(b, ']');
        }
        if (r->ntags)
            rc = rc ? rc : jarr(b, "tags", r->tags, r->ntags);
        rc = rc ? rc : xw_buf_append_u8(b, '}');
    }
    rc = rc ? rc : xw_buf_append_str(b, "],\"actions\":[");
    for (size_t i = 0; i < d->nactions && rc == XW_OK; i++) {
        const rules_planned_action *a = &d->actions[i];
        rc = xw_buf_append_str(b, i ? ",{" : "{");
        rc = rc ? rc : jkv(b, "rule", a->rule, 0);
        rc = rc ? rc : jkv(b, "action", rules_action_name(a->kind), 1);
        rc = rc ? rc : jkv(b, "target", a->target, 1);
        rc = rc ? rc : jkv(b, "mode", a->simulate ? "simulate" : "enforce", 1);
        rc = rc ? rc : jkv(b, "key", a->key, 1);
        if (a->nparams && a->kind != RULES_ACT_TAG) {
            rc = rc ? rc : xw_buf_append_str(b, ",\"params\":{");
            for (size_t k = 0; k < a->nparams && rc == XW_OK; k++) {
                if (k)
                    rc = xw_buf_append_u8(b, ',');
                rc = rc ? rc : jstr(b, a->params[k].key);
                rc = rc ? rc : xw_buf_append_u8(b, ':');
                rc = rc ? rc
                        : (a->params[k].is_number ? xw_buf_append_str(b, a->params[k].value)
                                                  : jstr(b, a->params[k].value));
            }
            rc = rc ? rc : xw_buf_append_u8(b, '}');
        } else if (a->kind == RULES_ACT_TAG) {
            const char *t[4];
            for (size_t k = 0; k < a->nparams && k < 4; k++)
                t[k] = a->params[k].value;
            rc = rc ? rc : jarr(b, "tags", t, a->nparams < 4 ? a->nparams : 4);
        }
        rc = rc ? rc : xw_buf_append_u8(b, '}');
    }
    rc = rc ? rc : xw_buf_append_u8(b, ']');
    rc = rc ? rc : jarr(b, "tags", d->tags, d->ntags);
    rc = rc ? rc : xw_buf_append_u8(b, '}');
    if (rc != XW_OK)
        xw_buf_truncate(b, start);
    return rc;
}
