/*
 * Item definitions from the YAML trees of a layered set of files.
 *
 * A file is a sequence of items: `- rule: ID`, `- list: NAME`, `- macro: NAME` and the file
 * setting `- match: all | first`. Here each item's keys are checked (unknown keys are
 * errors) and kept as node pointers; compile.c checks the values. A later item with the same
 * name is an error unless it carries `override:`, a mapping from each key it changes to
 * `append` or `replace` (Falco's shape). Appending a condition concatenates the text (so
 * `condition: and not sender.is_admin` reads naturally); appending exceptions adds new
 * exceptions or, for an existing name, more values; lists append items.
 */
#include <stdarg.h>
#include <string.h>

#include "common/alloc.h"
#include "rules/rules_int.h"

typedef struct {
    const char *key;
    int append_ok;
} keyspec;

static const keyspec rule_keys[] = {
    {"desc", 0},     {"on", 1},           {"condition", 1}, {"exceptions", 1}, {"actions", 1},
    {"priority", 0}, {"tags", 1},         {"enabled", 0},   {"mode", 0},       {"stop", 0},
    {"cooldown", 0}, {"cooldown_key", 0}, {NULL, 0},
};
static const keyspec list_keys[] = {{"items", 1}, {NULL, 0}};
static const keyspec macro_keys[] = {{"condition", 1}, {NULL, 0}};

static int is(const rules_node *n, const char *s) { return n && n->t == RN_SCALAR && strcmp(n->s, s) == 0; }

static void err(rules_diags *d, const rules_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err(rules_diags *d, const rules_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rules_diags_vadd(d, RULES_DIAG_ERROR, n->file, n->line, n->col, fmt, ap);
    va_end(ap);
}

static const keyspec *find_key(const keyspec *ks, const char *k)
{
    for (; ks->key; ks++)
        if (strcmp(ks->key, k) == 0)
            return ks;
    return NULL;
}

static int push_frag(const rules_node **arr, size_t *n, const rules_node *v, rules_diags *d)
{
    if (*n >= RULES_MAX_FRAGS) {
        rules_diags_add(d, RULES_DIAG_ERROR, v->file, v->line, v->col,
                        "more than %d appends to one key; merge some of them", RULES_MAX_FRAGS);
        return -1;
    }
    arr[(*n)++] = v;
    return 0;
}

static rules_item *find_item(rules_item *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static int add_exceptions(rules_item *it, const rules_node *seq, int append, rules_diags *d)
{
    if (seq->t != RN_SEQ) {
        err(d, seq, "exceptions must be a list of mappings with name, fields, comps and values");
        return -1;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const rules_node *m = seq->kids[i];
        if (m->t != RN_MAP) {
            err(d, m, "an exception must be a mapping with name, fields, comps and values");
            return -1;
        }
        rules_exception_def e = {0};
        for (size_t j = 0; j + 1 < m->n; j += 2) {
            const rules_node *k = m->kids[j], *v = m->kids[j + 1];
            if (is(k, "name"))
                e.name = v;
            else if (is(k, "fields"))
                e.fields = v;
            else if (is(k, "comps"))
                e.comps = v;
            else if (is(k, "values"))
                e.values = v;
            else {
                err(d, k, "unknown exception key '%s'; expected name, fields, comps or values", k->s);
                return -1;
            }
        }
        if (!e.name || e.name->t != RN_SCALAR) {
            err(d, m, "an exception needs a `name`");
            return -1;
        }
        rules_exception_def *old = NULL;
        for (size_t j = 0; j < it->nexc; j++)
            if (strcmp(it->exc[j].name->s, e.name->s) == 0)
                old = &it->exc[j];
        if (old && !append) {
            err(d, e.name, "exception '%s' is defined twice in this rule", e.name->s);
            return -1;
        }
        if (old) { /* append values to an existing exception */
            if (e.fields || e.comps) {
                err(d, e.name,
                    "exception '%s' already exists; an append may only add `values` (drop fields and "
                    "comps)",
                    e.name->s);
                return -1;
            }
            if (e.values && push_frag(old->values_extra, &old->nextra, e.values, d) != 0)
                return -1;
            continue;
        }
        if (!e.fields) {
            err(d, e.name, "exception '%s' needs `fields`", e.name->s);
            return -1;
        }
        rules_exception_def *nv = xw_realloc(it->exc, (it->nexc + 1) * sizeof *nv);
        if (!nv)
            return -1;
        it->exc = nv;
        it->exc[it->nexc++] = e;
    }
    return 0;
}

/* Applies key k = v to item it (append or replace). */
static int set_key(rules_item *it, int type, const rules_node *k, const rules_node *v, int append,
                   rules_diags *d)
{
    const char *key = k->s;
    if (type == 1) { /* list */
        if (!append)
            it->nitems = 0;
        return push_frag(it->items, &it->nitems, v, d);
    }
    if (strcmp(key, "condition") == 0) {
        if (!append)
            it->ncond = 0;
        return push_frag(it->cond, &it->ncond, v, d);
    }
    if (type == 2)
        return 0;
    if (strcmp(key, "on") == 0) {
        if (!append)
            it->non = 0;
        return push_frag(it->on, &it->non, v, d);
    }
    if (strcmp(key, "actions") == 0) {
        if (!append)
            it->nactions = 0;
        return push_frag(it->actions, &it->nactions, v, d);
    }
    if (strcmp(key, "tags") == 0) {
        if (!append)
            it->ntags = 0;
        return push_frag(it->tags, &it->ntags, v, d);
    }
    if (strcmp(key, "exceptions") == 0) {
        if (!append) {
            xw_free(it->exc);
            it->exc = NULL;
            it->nexc = 0;
        }
        return add_exceptions(it, v, append, d);
    }
    const rules_node **slot = strcmp(key, "desc") == 0           ? &it->desc
                              : strcmp(key, "priority") == 0     ? &it->priority
                              : strcmp(key, "enabled") == 0      ? &it->enabled
                              : strcmp(key, "mode") == 0         ? &it->mode
                              : strcmp(key, "stop") == 0         ? &it->stop
                              : strcmp(key, "cooldown_key") == 0 ? &it->cooldown_key
                                                                 : &it->cooldown;
    *slot = v;
    return 0;
}

static int add_item(rules_defs *defs, const rules_node *m, const rules_limits *lim, rules_diags *d)
{
    static const char *kw[] = {"rule", "list", "macro"};
    static const keyspec *specs[] = {rule_keys, list_keys, macro_keys};
    int type = -1;
    const rules_node *namek = NULL, *name = NULL, *ovr = NULL;
    for (size_t j = 0; j + 1 < m->n; j += 2) {
        const rules_node *k = m->kids[j];
        for (int t = 0; t < 3; t++)
            if (is(k, kw[t])) {
                if (type >= 0) {
                    err(d, k, "an item is either a rule, a list or a macro; '%s' and '%s' are both here",
                        kw[type], kw[t]);
                    return -1;
                }
                type = t;
                namek = k;
                name = m->kids[j + 1];
            }
        if (is(k, "override"))
            ovr = m->kids[j + 1];
    }
    if (type < 0) {
        if (m->n == 2 && is(m->kids[0], "match")) {
            const rules_node *v = m->kids[1];
            if (is(v, "first") || is(v, "all")) {
                defs->match_first = is(v, "first");
                return 0;
            }
            err(d, v, "match must be `all` or `first`, not '%s'",
                v->t == RN_SCALAR ? v->s : "(a collection)");
            return -1;
        }
        const rules_node *k = m->n ? m->kids[0] : m;
        err(d, k,
            "unknown item '%s': an item starts with `rule:`, `list:`, `macro:` or is the setting `match:`",
            m->n ? k->s : "(empty)");
        return -1;
    }
    if (name->t != RN_SCALAR || name->len == 0 || name->len > 200) {
        err(d, name, "the %s name must be a non-empty word of at most 200 characters", kw[type]);
        return -1;
    }
    if (type != 0) {
        for (size_t i = 0; i < name->len; i++) {
            char c = name->s[i];
            if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                err(d, name,
                    "%s name '%s' may only hold letters, digits and _ (it is used inside conditions)",
                    kw[type], name->s);
                return -1;
            }
        }
        if (strchr("0123456789", name->s[0])) {
            err(d, name, "%s name '%s' must not start with a digit", kw[type], name->s);
            return -1;
        }
    }
    /* check keys */
    for (size_t j = 0; j + 1 < m->n; j += 2) {
        const rules_node *k = m->kids[j];
        if (k == namek || is(k, "override"))
            continue;
        if (!find_key(specs[type], k->s)) {
            err(d, k, "unknown key '%s' in a %s", k->s, kw[type]);
            return -1;
        }
    }
    rules_item **vec = type == 0 ? &defs->rules : type == 1 ? &defs->lists : &defs->macros;
    size_t *cnt = type == 0 ? &defs->nrules : type == 1 ? &defs->nlists : &defs->nmacros;
    rules_item *old = find_item(*vec, *cnt, name->s);
    if (ovr) {
        if (!old) {
            err(d, namek,
                "override of %s '%s', which no earlier file defines; check the name and the file order",
                kw[type], name->s);
            return -1;
        }
        if (ovr->t != RN_MAP) {
            err(d, ovr, "override must be a mapping of keys to `append` or `replace`");
            return -1;
        }
        for (size_t j = 0; j + 1 < ovr->n; j += 2) {
            const rules_node *k = ovr->kids[j], *v = ovr->kids[j + 1];
            const keyspec *ks = find_key(specs[type], k->s);
            if (!ks) {
                err(d, k, "override names '%s', which a %s does not have", k->s, kw[type]);
                return -1;
            }
            if (!is(v, "append") && !is(v, "replace")) {
                err(d, v, "override of '%s' must be `append` or `replace`", k->s);
                return -1;
            }
            if (is(v, "append") && !ks->append_ok) {
                err(d, v, "'%s' cannot be appended to; use `replace`", k->s);
                return -1;
            }
            int present = 0;
            for (size_t i = 0; i + 1 < m->n; i += 2)
                present |= is(m->kids[i], k->s);
            if (!present) {
                err(d, k, "override names '%s' but the item has no '%s' key with the new value", k->s, k->s);
                return -1;
            }
        }
        for (size_t j = 0; j + 1 < m->n; j += 2) {
            const rules_node *k = m->kids[j];
            if (k == namek || is(k, "override"))
                continue;
            const rules_node *how = NULL;
            for (size_t i = 0; i + 1 < ovr->n; i += 2)
                if (is(ovr->kids[i], k->s))
                    how = ovr->kids[i + 1];
            if (!how) {
                if (find_key(specs[type], k->s)->append_ok)
                    err(d, k, "'%s' is not listed under override; add `%s: append` or `%s: replace`", k->s,
                        k->s, k->s);
                else
                    err(d, k, "'%s' is not listed under override; add `%s: replace`", k->s, k->s);
                return -1;
            }
            if (set_key(old, type, k, m->kids[j + 1], is(how, "append"), d) != 0)
                return -1;
        }
        return 0;
    }
    if (old) {
        /* Falco's shorthand: `- rule: X` with only `enabled:` toggles an existing rule */
        if (type == 0 && m->n == 4 && (is(m->kids[0], "enabled") || is(m->kids[2], "enabled"))) {
            old->enabled = is(m->kids[0], "enabled") ? m->kids[1] : m->kids[3];
            return 0;
        }
        rules_diags_add(d, RULES_DIAG_ERROR, namek->file, namek->line, namek->col,
                        "%s '%s' is already defined at %s:%d; to change it add `override:` with append or "
                        "replace per key",
                        kw[type], name->s, old->where->file, old->where->line);
        return -1;
    }
    if (defs->nrules + defs->nlists + defs->nmacros >= lim->max_items) {
        err(d, namek, "more than the limit of items in one set; raise max_items or merge rules");
        return -1;
    }
    rules_item *nv = xw_realloc(*vec, (*cnt + 1) * sizeof *nv);
    if (!nv)
        return -1;
    *vec = nv;
    rules_item *it = &nv[*cnt];
    memset(it, 0, sizeof *it);
    it->where = namek;
    it->name = name->s;
    int bad = 0;
    for (size_t j = 0; j + 1 < m->n && !bad; j += 2) {
        const rules_node *k = m->kids[j];
        if (k != namek && set_key(it, type, k, m->kids[j + 1], 0, d) != 0)
            bad = 1;
    }
    if (!bad && type != 0 && (type == 1 ? it->nitems : it->ncond) == 0) {
        err(d, namek, "%s '%s' needs `%s`", kw[type], name->s, type == 1 ? "items" : "condition");
        bad = 1;
    } else if (!bad && type == 0 && it->ncond == 0) {
        err(d, namek, "rule '%s' needs a `condition`", name->s);
        bad = 1;
    } else if (!bad && type == 0 && it->non == 0) {
        err(d, namek, "rule '%s' needs `on`, the event kinds it applies to (e.g. `on: [message]`)", name->s);
        bad = 1;
    }
    if (bad) { /* left out: the later stages check the other items */
        xw_free(it->exc);
        return -1;
    }
    (*cnt)++;
    return 0;
}

int rules_defs_build(rules_defs *defs, rules_node **trees, size_t ntrees, const rules_limits *lim,
                     rules_diags *d)
{
    size_t errs0 = d->errors;
    for (size_t t = 0; t < ntrees; t++) {
        const rules_node *root = trees[t];
        if (root->t != RN_SEQ) {
            rules_diags_add(
                d, RULES_DIAG_ERROR, root->file, root->line, root->col,
                "a rule file is a YAML list of items (`- rule: ...`, `- list: ...`, `- macro: ...`)");
            continue;
        }
        for (size_t i = 0; i < root->n; i++) {
            const rules_node *m = root->kids[i];
            if (m->t != RN_MAP) {
                rules_diags_add(d, RULES_DIAG_ERROR, m->file, m->line, m->col,
                                "each item must be a mapping such as `- rule: NAME`");
                continue;
            }
            size_t before = d->errors;
            if (add_item(defs, m, lim, d) != 0 && d->errors == before)
                rules_diags_add(d, RULES_DIAG_ERROR, m->file, m->line, m->col, "out of memory");
        }
    }
    return d->errors > errs0 ? XW_ERULES_SYNTAX : XW_OK;
}

void rules_defs_free(rules_defs *defs)
{
    for (size_t i = 0; i < defs->nrules; i++)
        xw_free(defs->rules[i].exc);
    xw_free(defs->rules);
    xw_free(defs->lists);
    xw_free(defs->macros);
    for (size_t i = 0; i < defs->ntrees; i++)
        rules_node_free(defs->trees[i]);
    xw_free(defs->trees);
    memset(defs, 0, sizeof *defs);
}
