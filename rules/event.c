/*
 * Events: the JSON schema of docs/rules.md to an event, and a small builder for C callers.
 *
 * Every field has three states: absent (the key is missing: the field does not apply to
 * this event, comparisons on it are false), unknown (the value is JSON null: it exists but
 * is not known yet, e.g. membership not synced; conditions that need it are unknown) and
 * set. Strings are copied into the event's arena, NUL-terminated. content.words is not
 * part of the input: it is derived from content.text when a rule asks for it.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "rules/rules_int.h"

rules_event *rules_event_new(rules_kind kind, int64_t ts_ns)
{
    rules_event *ev = xw_calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    xw_arena_init(&ev->arena, 1024, XW_ARENA_UNBOUNDED); /* events are small and may be many */
    ev->kind = kind;
    ev->ts_ns = ts_ns;
    return ev;
}

void rules_event_free(rules_event *ev)
{
    if (!ev)
        return;
    xw_arena_release(&ev->arena);
    xw_free(ev);
}

void rules_event_reset(rules_event *ev, rules_kind kind, int64_t ts_ns)
{
    xw_arena_reset(&ev->arena);
    memset(ev->f, 0, sizeof ev->f);
    ev->kind = kind;
    ev->ts_ns = ts_ns;
}

void rules_event_set_ts(rules_event *ev, int64_t ts_ns) { ev->ts_ns = ts_ns; }

int rules_event_set_str(rules_event *ev, rules_field f, const char *s, size_t len)
{
    if ((unsigned)f >= RULES_F__COUNT || rules_field_type(f) != RULES_T_STR)
        return XW_EINVAL;
    char *c = xw_arena_strndup(&ev->arena, s, len);
    if (!c)
        return XW_ENOMEM;
    ev->f[f].state = RV_SET;
    ev->f[f].s = c;
    ev->f[f].len = len;
    if (f == RULES_F_EVENT_KIND) {
        int k = rules_kind_lookup(s, len);
        if (k < 0)
            return XW_EINVAL;
        ev->kind = (rules_kind)k;
    }
    return XW_OK;
}

int rules_event_set_int(rules_event *ev, rules_field f, int64_t v)
{
    if ((unsigned)f >= RULES_F__COUNT)
        return XW_EINVAL;
    rules_type t = rules_field_type(f);
    if (t != RULES_T_INT && t != RULES_T_DUR && t != RULES_T_BOOL)
        return XW_EINVAL;
    ev->f[f].state = RV_SET;
    ev->f[f].i = t == RULES_T_BOOL ? v != 0 : v;
    return XW_OK;
}

int rules_event_list_add(rules_event *ev, rules_field f, const char *s, size_t len)
{
    if ((unsigned)f >= RULES_F__COUNT || rules_field_type(f) != RULES_T_LIST || f == RULES_F_CONTENT_WORDS)
        return XW_EINVAL;
    rules_fval *v = &ev->f[f];
    if (v->state != RV_SET) {
        v->state = RV_SET;
        v->nitems = v->cap = 0;
        v->items = NULL;
    }
    if (v->nitems == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 4;
        rules_str *ni = xw_arena_alloc(&ev->arena, nc * sizeof *ni);
        if (!ni)
            return XW_ENOMEM;
        if (v->nitems)
            memcpy(ni, v->items, v->nitems * sizeof *ni);
        v->items = ni;
        v->cap = nc;
    }
    char *c = xw_arena_strndup(&ev->arena, s, len);
    if (!c)
        return XW_ENOMEM;
    v->items[v->nitems].s = c;
    v->items[v->nitems].len = len;
    v->nitems++;
    return XW_OK;
}

int rules_event_set_unknown(rules_event *ev, rules_field f)
{
    if ((unsigned)f >= RULES_F__COUNT || f == RULES_F_CONTENT_WORDS)
        return XW_EINVAL;
    memset(&ev->f[f], 0, sizeof ev->f[f]);
    ev->f[f].state = RV_UNKNOWN;
    return XW_OK;
}

/* Parses "90s", "5m" or a number of seconds: 0, -1 when it is none of them, -2 when it is
 * out of range (negative, or longer than 64 bits of nanoseconds). */
static int json_duration(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t s = json_integer_value(v);
        if (s < 0 || s > INT64_MAX / XW_NS_PER_SEC)
            return -2;
        *out = (int64_t)s * XW_NS_PER_SEC;
        return 0;
    }
    if (json_is_real(v)) {
        double s = json_real_value(v);
        if (!(s >= 0 && s < 9.2e9))
            return -2;
        *out = (int64_t)llround(s * 1e9);
        return 0;
    }
    if (json_is_string(v)) {
        xw_arena a;
        xw_arena_init(&a, 0, XW_ARENA_UNBOUNDED);
        rules_lexer lx;
        rules_lexer_init(&lx, json_string_value(v), json_string_length(v), &a);
        rules_tok t = rules_lex_next(&lx);
        rules_tok e = rules_lex_next(&lx);
        rules_arena_free(&a);
        if (t.k == TK_ERROR && t.too_large)
            return -2;
        if (t.k != TK_DURATION || e.k != TK_EOF || t.num < 0)
            return -1;
        if (t.num < 0)
            return -2;
        *out = t.num;
        return 0;
    }
    return -1;
}

static int set_field(rules_event *ev, rules_field f, json_t *v, xw_errbuf *eb)
{
    const char *name = rules_field_name(f);
    if (json_is_null(v))
        return rules_event_set_unknown(ev, f);
    switch (rules_field_type(f)) {
    case RULES_T_STR:
        if (!json_is_string(v))
            return xw_errf(eb, XW_EMALFORMED, "%s must be a string (or null when unknown)", name);
        if (f == RULES_F_EVENT_KIND && rules_kind_lookup(json_string_value(v), json_string_length(v)) < 0)
            return xw_errf(eb, XW_EMALFORMED, "unknown event kind \"%.40s\"; see docs/rules.md for the kinds",
                           json_string_value(v));
        return rules_event_set_str(ev, f, json_string_value(v), json_string_length(v)) == XW_OK
                   ? XW_OK
                   : xw_errf(eb, XW_ENOMEM, "out of memory");
    case RULES_T_INT:
        if (!json_is_integer(v))
            return xw_errf(eb, XW_EMALFORMED, "%s must be an integer (or null when unknown)", name);
        return rules_event_set_int(ev, f, json_integer_value(v));
    case RULES_T_BOOL:
        if (!json_is_boolean(v))
            return xw_errf(eb, XW_EMALFORMED, "%s must be true or false (or null when unknown)", name);
        return rules_event_set_int(ev, f, json_is_true(v));
    case RULES_T_DUR: {
        int64_t ns;
        int rc = json_duration(v, &ns);
        if (rc == -2)
            return xw_errf(eb, XW_EMALFORMED, "%s is out of range: a duration from 0 to " RULES_DUR_MAX_TEXT,
                           name);
        if (rc != 0)
            return xw_errf(eb, XW_EMALFORMED, "%s must be seconds (a number) or a duration such as \"90s\"",
                           name);
        return rules_event_set_int(ev, f, ns);
    }
    case RULES_T_LIST: {
        if (!json_is_array(v))
            return xw_errf(eb, XW_EMALFORMED, "%s must be an array of strings (or null when unknown)", name);
        if (json_array_size(v) > 10000)
            return xw_errf(eb, XW_ETOOBIG, "%s has more than 10000 items", name);
        ev->f[f].state = RV_SET; /* an empty array is a known, empty list */
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
        {
            if (!json_is_string(it))
                return xw_errf(eb, XW_EMALFORMED, "%s[%zu] must be a string", name, i);
            if (rules_event_list_add(ev, f, json_string_value(it), json_string_length(it)) != XW_OK)
                return xw_errf(eb, XW_ENOMEM, "out of memory");
        }
        return XW_OK;
    }
    }
    return XW_EINTERNAL;
}

static int lookup_field(const char *sect, const char *key)
{
    char name[96];
    if (snprintf(name, sizeof name, "%s.%s", sect, key) >= (int)sizeof name)
        return -1;
    return rules_field_lookup(name, strlen(name));
}

int rules_event_parse_json(const char *json, size_t len, const rules_limits *lim, rules_event **out,
                           xw_errbuf *eb)
{
    rules_limits dl;
    if (!lim) {
        rules_limits_default(&dl);
        lim = &dl;
    }
    *out = NULL;
    if (len > lim->max_event_bytes)
        return xw_errf(eb, XW_ETOOBIG, "event is %zu bytes, over the limit of %zu", len,
                       lim->max_event_bytes);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return xw_errf(eb, XW_EMALFORMED, "event is not valid JSON: %s (column %d)", je.text, je.column);
    int rc = XW_OK;
    rules_event *ev = NULL;
    if (!json_is_object(root)) {
        rc = xw_errf(eb, XW_EMALFORMED, "an event is a JSON object");
        goto out;
    }
    ev = rules_event_new(RULES_KIND__COUNT, 0);
    if (!ev) {
        rc = XW_ENOMEM;
        goto out;
    }
    int have_ts = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "ts_ns") == 0 || strcmp(key, "ts") == 0) {
            if (have_ts) {
                rc = xw_errf(eb, XW_EMALFORMED, "give either ts or ts_ns, not both");
                goto out;
            }
            have_ts = 1;
            if (key[2] == '_' && json_is_integer(v)) {
                ev->ts_ns = json_integer_value(v);
            } else if (key[2] == '\0' && json_is_number(v) && fabs(json_number_value(v)) < 9.2e9) {
                ev->ts_ns = (int64_t)llround(json_number_value(v) * 1e9);
            } else if (key[2] == '\0' && json_is_number(v)) {
                rc = xw_errf(eb, XW_EMALFORMED,
                             "ts is out of range: seconds since 1970 must be within -9.2e9 and 9.2e9 (the "
                             "years 1678 to 2262, 64 bits of nanoseconds)");
                goto out;
            } else {
                rc = xw_errf(eb, XW_EMALFORMED, "%s must be a %s", key,
                             key[2] ? "integer (nanoseconds since 1970)" : "number (seconds since 1970)");
                goto out;
            }
            continue;
        }
        if (strcmp(key, "kind") == 0 || strcmp(key, "id") == 0) {
            if ((rc = set_field(ev, key[0] == 'k' ? RULES_F_EVENT_KIND : RULES_F_EVENT_ID, v, eb)) != XW_OK)
                goto out;
            continue;
        }
        static const char *sects[] = {"group", "sender", "actor", "content", "message", "self"};
        int known = 0;
        for (size_t s = 0; s < 6; s++)
            known |= strcmp(key, sects[s]) == 0;
        if (!known) {
            rc = xw_errf(eb, XW_EMALFORMED,
                         "unknown key \"%.40s\"; an event has kind, id, ts (or ts_ns), group, sender, actor, "
                         "content, message and self",
                         key);
            goto out;
        }
        if (!json_is_object(v)) {
            rc = xw_errf(eb, XW_EMALFORMED, "\"%s\" must be an object", key);
            goto out;
        }
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2)
        {
            int f = lookup_field(key, k2);
            if (f < 0 || f == RULES_F_CONTENT_WORDS) {
                rc = xw_errf(eb, XW_EMALFORMED, "unknown field %s.%.40s%s", key, k2,
                             f == RULES_F_CONTENT_WORDS ? " (content.words is derived from content.text)"
                                                        : "");
                goto out;
            }
            if ((rc = set_field(ev, (rules_field)f, v2, eb)) != XW_OK)
                goto out;
        }
    }
    if (ev->f[RULES_F_EVENT_KIND].state != RV_SET) {
        rc = xw_errf(eb, XW_EMALFORMED, "the event has no \"kind\"");
        goto out;
    }
    if (!have_ts) {
        rc = xw_errf(eb, XW_EMALFORMED, "the event has no time; add \"ts\" (seconds) or \"ts_ns\"");
        goto out;
    }
out:
    json_decref(root);
    if (rc != XW_OK) {
        rules_event_free(ev);
        return rc;
    }
    *out = ev;
    return XW_OK;
}
