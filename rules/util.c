/*
 * Small tools the rest of rules/ stands on: names of fields, kinds and actions (from the
 * X-macro tables in rules.h), default limits, diagnostics, a 64-bit hash and an
 * open-addressing string map.
 *
 * The map stores pointers to strings that must outlive it (they live in an arena).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "rules/rules_int.h"

/* --- names ---------------------------------------------------------------------------------- */
static const struct {
    const char *name;
    rules_type type;
} field_table[] = {
#define RULES_F_ROW(id, name, type) {name, RULES_T_##type},
    RULES_FIELDS(RULES_F_ROW)
#undef RULES_F_ROW
};

const char *rules_field_name(rules_field f)
{
    return (unsigned)f < RULES_F__COUNT ? field_table[f].name : "?";
}
rules_type rules_field_type(rules_field f) { return field_table[f].type; }

int rules_field_lookup(const char *name, size_t len)
{
    for (int i = 0; i < RULES_F__COUNT; i++)
        if (strlen(field_table[i].name) == len && memcmp(field_table[i].name, name, len) == 0)
            return i;
    return -1;
}

const char *rules_type_name(rules_type t)
{
    static const char *names[] = {"a string", "an integer", "a boolean", "a duration", "a string list"};
    return (unsigned)t < 5 ? names[t] : "?";
}

static const char *kind_names[] = {
#define RULES_K_ROW(id, name) name,
    RULES_KINDS(RULES_K_ROW)
#undef RULES_K_ROW
};

const char *rules_kind_name(rules_kind k) { return (unsigned)k < RULES_KIND__COUNT ? kind_names[k] : "?"; }

int rules_kind_lookup(const char *name, size_t len)
{
    for (int i = 0; i < RULES_KIND__COUNT; i++)
        if (strlen(kind_names[i]) == len && memcmp(kind_names[i], name, len) == 0)
            return i;
    return -1;
}

static const struct {
    const char *name;
    int needs;
} action_table[] = {
#define RULES_A_ROW(id, name, needs) {name, needs},
    RULES_ACTIONS(RULES_A_ROW)
#undef RULES_A_ROW
};

const char *rules_action_name(rules_action_kind a)
{
    return (unsigned)a < RULES_ACT__COUNT ? action_table[a].name : "?";
}
int rules_action_needs(rules_action_kind a)
{
    return (unsigned)a < RULES_ACT__COUNT ? action_table[a].needs : 0;
}

void rules_limits_default(rules_limits *lim)
{
    lim->max_file_bytes = 4u << 20;
    lim->max_files = 64;
    lim->max_depth = 64;
    lim->max_items = 10000;
    lim->max_list_items = 1000000;
    lim->regex_match_limit = 100000;
    lim->max_regex_bytes = 4096;
    lim->window_cap = 100000;
    lim->max_event_bytes = 1u << 20;
    lim->max_terms = 1000000;
}

/* --- diagnostics ---------------------------------------------------------------------------- */
void rules_diags_init(rules_diags *d) { memset(d, 0, sizeof *d); }

void rules_diags_free(rules_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        xw_free(d->v[i].file);
        xw_free(d->v[i].msg);
    }
    xw_free(d->v);
    rules_diags_init(d);
}

void rules_diags_add(rules_diags *d, rules_diag_level lvl, const char *file, int line, int col,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rules_diags_vadd(d, lvl, file, line, col, fmt, ap);
    va_end(ap);
}

void rules_diags_vadd(rules_diags *d, rules_diag_level lvl, const char *file, int line, int col,
                      const char *fmt, va_list ap)
{
    if (lvl == RULES_DIAG_ERROR)
        d->errors++;
    else if (lvl == RULES_DIAG_WARNING)
        d->warnings++;
    if (d->n >= RULES_MAX_DIAGS) {
        d->dropped++;
        return;
    }
    rules_diag *v = xw_grow(d->v, d->n, &d->cap, 8, sizeof *v);
    if (!v) {
        d->dropped++;
        return;
    }
    d->v = v;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    rules_diag *g = &d->v[d->n];
    g->level = lvl;
    g->file = xw_strdup(file ? file : "<input>");
    g->msg = xw_strdup(msg);
    g->line = line;
    g->col = col;
    if (!g->file || !g->msg) {
        xw_free(g->file);
        xw_free(g->msg);
        d->dropped++;
        return;
    }
    d->n++;
}

void rules_diags_print(const rules_diags *d, FILE *out)
{
    static const char *lv[] = {"error", "warning", "note"};
    for (size_t i = 0; i < d->n; i++) {
        const rules_diag *g = &d->v[i];
        if (g->line > 0)
            fprintf(out, "%s:%d:%d: %s: %s\n", g->file, g->line, g->col, lv[g->level], g->msg);
        else
            fprintf(out, "%s: %s: %s\n", g->file, lv[g->level], g->msg);
    }
    if (d->dropped)
        fprintf(out, "(%zu more diagnostics not shown)\n", d->dropped);
}

/* --- hash ----------------------------------------------------------------------------------- */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

uint64_t rules_hash64(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (n + 1));
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ mix64(v)) * UINT64_C(0x9fb21c651e98df25);
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)s[i] << (8 * i);
    h = (h ^ mix64(v ^ 0xff)) * UINT64_C(0x9fb21c651e98df25);
    return mix64(h);
}

/* --- map ------------------------------------------------------------------------------------ */
void rules_map_init(rules_map *m) { memset(m, 0, sizeof *m); }
void rules_map_free(rules_map *m)
{
    xw_free(m->slots);
    rules_map_init(m);
}

int32_t rules_map_get_h(const rules_map *m, const char *s, size_t len, uint64_t h)
{
    if (!m->cap)
        return -1;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const rules_map_slot *sl = &m->slots[i];
        if (!sl->s)
            return -1;
        if (sl->h == h && sl->len == len && memcmp(sl->s, s, len) == 0)
            return sl->val;
    }
}

int32_t rules_map_get(const rules_map *m, const char *s, size_t len)
{
    return rules_map_get_h(m, s, len, rules_hash64(s, len, 0));
}

static int map_grow(rules_map *m)
{
    size_t nc = m->cap ? m->cap * 2 : 64;
    rules_map_slot *ns = xw_calloc(nc, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].s)
            continue;
        size_t j = m->slots[i].h & (nc - 1);
        while (ns[j].s)
            j = (j + 1) & (nc - 1);
        ns[j] = m->slots[i];
    }
    xw_free(m->slots);
    m->slots = ns;
    m->cap = nc;
    return 0;
}

int32_t rules_map_put(rules_map *m, const char *s, size_t len, int32_t val)
{
    if (len > UINT32_MAX)
        return -2;
    if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
        return -2;
    uint64_t h = rules_hash64(s, len, 0);
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
        rules_map_slot *sl = &m->slots[i];
        if (!sl->s)
            break;
        if (sl->h == h && sl->len == len && memcmp(sl->s, s, len) == 0)
            return sl->val;
    }
    m->slots[i].s = s;
    m->slots[i].len = (uint32_t)len;
    m->slots[i].h = h;
    m->slots[i].val = val;
    m->n++;
    return val;
}

void rules_idem_key(const char *rule, const char *action, const char *target, const char *msgid, char out[33])
{
    /* length-prefixed fields so that ("ab","c") and ("a","bc") differ */
    const char *parts[4] = {rule, action, target ? target : "", msgid ? msgid : ""};
    uint64_t h1 = UINT64_C(0x243f6a8885a308d3), h2 = UINT64_C(0x13198a2e03707344);
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]);
        h1 = rules_hash64(parts[i], n, h1 + n);
        h2 = rules_hash64(parts[i], n, h2 ^ (h1 >> 7));
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) { /* "%016llx%016llx", without the cost of snprintf */
        out[i] = hex[(h1 >> (60 - 4 * i)) & 15];
        out[16 + i] = hex[(h2 >> (60 - 4 * i)) & 15];
    }
    out[32] = '\0';
}
