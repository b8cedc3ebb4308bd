/*
 * One predicate (`lhs op rhs`) to a compiled leaf, with its types checked.
 *
 * The left side is a field, lower(field), len(field), rate(field, window) or
 * first_message(field); the right side a literal, a list name or a literal list. Every
 * combination is checked here and refused with a sentence that says what would work.
 * Identical leaves (same text after resolution) are shared between rules and evaluated at
 * most once per event (eval.c keeps a memo per leaf). Lists used with `in` / `intersects`
 * get one bit in the set's dictionary, so that a lookup of one value answers for every
 * list at once; regexes are compiled once per pattern with PCRE2 (UTF, JIT when available).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "rules/compile_int.h"

static void cdiag(rules_cctx *c, rules_diag_level lvl, size_t off, const char *fmt, va_list ap)
{
    if (lvl == RULES_DIAG_ERROR)
        c->failed = 1;
    if (c->quiet)
        return;
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int line = 0, col = 0;
    const char *file = NULL;
    if (c->fixed) {
        line = c->fixed->line;
        col = c->fixed->col;
        file = c->fixed->file;
    } else if (c->nfrags) {
        size_t i = c->nfrags - 1;
        while (i > 0 && c->fstart[i] > off)
            i--;
        rules_node_pos(c->frags[i], off - c->fstart[i], &line, &col);
        file = c->frags[i]->file;
    }
    rules_diags_add(c->d, lvl, file, line, col, "%s", msg);
}

void rules_cerr(rules_cctx *c, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cdiag(c, RULES_DIAG_ERROR, off, fmt, ap);
    va_end(ap);
}

void rules_cwarn(rules_cctx *c, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cdiag(c, RULES_DIAG_WARNING, off, fmt, ap);
    va_end(ap);
}

int rules_find_list(rules_cctx *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->defs->nlists; i++)
        if (strlen(c->defs->lists[i].name) == len && memcmp(c->defs->lists[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int push_str(rules_cctx *c, rules_list_c *l, size_t *cap, const char *s, size_t len,
                    const rules_node *node, size_t off)
{
    if (l->n >= c->set->lim.max_list_items)
        return -1;
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        const char **ns = rules_arena_alloc(&c->set->arena, nc * sizeof *ns);
        size_t *nl = rules_arena_alloc(&c->set->arena, nc * sizeof *nl);
        const rules_node **nn = rules_arena_alloc(&c->tmp, nc * sizeof *nn);
        size_t *no = rules_arena_alloc(&c->tmp, nc * sizeof *no);
        if (!ns || !nl || !nn || !no)
            return -1;
        if (l->n) {
            memcpy(ns, l->strs, l->n * sizeof *ns);
            memcpy(nl, l->lens, l->n * sizeof *nl);
            memcpy(nn, l->nodes, l->n * sizeof *nn);
            memcpy(no, l->offs, l->n * sizeof *no);
        }
        l->strs = ns;
        l->lens = nl;
        l->nodes = nn;
        l->offs = no;
        *cap = nc;
    }
    l->strs[l->n] = s;
    l->lens[l->n] = len;
    l->nodes[l->n] = node;
    l->offs[l->n] = off;
    l->n++;
    return 0;
}

rules_list_c *rules_list_expand(rules_cctx *c, int idx, size_t off)
{
    rules_list_c *l = &c->lists[idx];
    rules_item *it = &c->defs->lists[idx];
    if (c->marking)
        it->used = 1;
    if (l->state == 2)
        return l;
    if (l->state == 3)
        return NULL;
    if (l->state == 1) {
        rules_cerr(c, off, "list '%s' contains itself (through its items); remove the cycle", it->name);
        return NULL;
    }
    l->state = 1;
    size_t cap = 0;
    const rules_node *saved = c->fixed;
    for (size_t f = 0; f < it->nitems; f++) {
        const rules_node *seq = it->items[f];
        if (seq->t != RN_SEQ) {
            c->fixed = seq;
            rules_cerr(c, 0, "list items must be a YAML list, e.g. items: [a, b]");
            goto fail;
        }
        for (size_t i = 0; i < seq->n; i++) {
            const rules_node *v = seq->kids[i];
            c->fixed = v;
            if (v->t != RN_SCALAR) {
                rules_cerr(c, 0, "a list item must be a single value, not a list or mapping");
                goto fail;
            }
            int sub = v->quoted ? -1 : rules_find_list(c, v->s, v->len);
            if (sub >= 0) {
                rules_list_c *sl = rules_list_expand(c, sub, 0);
                if (!sl)
                    goto fail;
                for (size_t j = 0; j < sl->n; j++)
                    if (push_str(c, l, &cap, sl->strs[j], sl->lens[j], sl->nodes[j], sl->offs[j]) != 0)
                        goto toobig;
                continue;
            }
            const char *keep =
                rules_arena_strndup(&c->set->arena, v->s, v->len); /* nodes die after compile */
            if (!keep || push_str(c, l, &cap, keep, v->len, v, 0) != 0)
                goto toobig;
        }
    }
    c->fixed = saved;
    l->state = 2;
    return l;
toobig:
    rules_cerr(c, 0, "list '%s' has more than %zu items; split it or raise the limit", it->name,
               c->set->lim.max_list_items);
fail:
    c->fixed = saved;
    l->state = 3;
    return NULL;
}

uint32_t rules_slot_add(rules_cctx *c, int kind, rules_field key, int64_t window_ns, uint32_t kinds,
                        const char *gtext, size_t glen, rules_cnode *guard)
{
    if (kinds == 0) /* a macro compiled on its own, for its diagnostics: no state */
        return 0;
    xw_buf nb;
    xw_buf_init(&nb, (size_t)1 << 20);
    /* the guard's text with runs of blanks made one space, so layout changes keep the state */
    int rc = xw_buf_appendf(&nb, "%s|%x|%s|%lld|", kind == 0 ? "rate" : "first", kinds, rules_field_name(key),
                            (long long)window_ns);
    for (size_t i = 0; i < glen && rc == XW_OK; i++) {
        char ch = strchr(" \t\r\n", gtext[i]) ? ' ' : gtext[i];
        if (ch != ' ' || (nb.len && nb.data[nb.len - 1] != ' ' && nb.data[nb.len - 1] != '|'))
            rc = xw_buf_append_u8(&nb, (uint8_t)ch);
    }
    while (rc == XW_OK && nb.len && nb.data[nb.len - 1] == ' ')
        nb.len--;
    const char *name = (const char *)nb.data;
    size_t n = nb.len;
    int32_t got = rc == XW_OK ? rules_map_get(&c->slotmap, name, n) : -1;
    if (got >= 0 || rc != XW_OK) {
        xw_buf_free(&nb);
        if (rc != XW_OK)
            c->failed = 1;
        return got >= 0 ? (uint32_t)got : 0;
    }
    rules_set *s = c->set;
    if (s->nslots == c->capslots) { /* doubling: linear in the number of slots */
        size_t nc = c->capslots ? c->capslots * 2 : 16;
        rules_slot *ns = rules_arena_alloc(&s->arena, nc * sizeof *ns);
        if (!ns) {
            xw_buf_free(&nb);
            c->failed = 1;
            return 0;
        }
        if (s->nslots)
            memcpy(ns, s->slots, s->nslots * sizeof *ns);
        s->slots = ns;
        c->capslots = nc;
    }
    char *keep = rules_arena_strndup(&s->arena, name, n);
    xw_buf_free(&nb);
    if (!keep) {
        c->failed = 1;
        return 0;
    }
    rules_slot *sl = &s->slots[s->nslots];
    sl->kind = kind;
    sl->id = rules_hash64(keep, n, 0x51);
    sl->guard = guard;
    sl->key = key;
    sl->window_ns = window_ns;
    sl->kinds = kinds;
    if (rules_map_put(&c->slotmap, keep, n, (int32_t)s->nslots) < 0)
        c->failed = 1;
    return (uint32_t)s->nslots++;
}

/* Resolves the left side; returns its type or -1. */
static int operand(rules_cctx *c, const rules_aop *o, rules_coperand *out)
{
    if (o->k == AO_FIELD) {
        int f = rules_field_lookup(o->name, o->len);
        if (f < 0) {
            rules_cerr(c, o->off, "unknown field '%.*s'; see docs/rules.md for the fields", (int)o->len,
                       o->name);
            return -1;
        }
        out->k = CV_FIELD;
        out->f = (rules_field)f;
        return rules_field_type(out->f);
    }
    const rules_aop *a = o->arg;
    if (a->k == AO_LOWER && (o->k == AO_LEN))
        a = a->arg; /* len(lower(x)) is len(x) */
    if (a->k != AO_FIELD) {
        rules_cerr(c, a->off, "functions take a field as their argument, e.g. lower(content.text)");
        return -1;
    }
    int f = rules_field_lookup(a->name, a->len);
    if (f < 0) {
        rules_cerr(c, a->off, "unknown field '%.*s'; see docs/rules.md for the fields", (int)a->len, a->name);
        return -1;
    }
    rules_type t = rules_field_type((rules_field)f);
    out->f = (rules_field)f;
    switch (o->k) {
    case AO_LOWER:
    case AO_LEN:
        if (t != RULES_T_STR && t != RULES_T_LIST) {
            rules_cerr(c, a->off, "%s() needs a string or string list field; %s is %s",
                       o->k == AO_LOWER ? "lower" : "len", rules_field_name(out->f), rules_type_name(t));
            return -1;
        }
        out->k = o->k == AO_LOWER ? CV_LOWER : CV_LEN;
        return o->k == AO_LOWER ? (int)t : RULES_T_INT;
    case AO_RATE:
    case AO_FIRST:
        if (t != RULES_T_STR && t != RULES_T_INT) {
            rules_cerr(c, a->off, "the key of %s() must be a string or integer field such as sender.inbox_id",
                       o->k == AO_RATE ? "rate" : "first_message");
            return -1;
        }
        if (c->in_guard) {
            rules_cerr(c, o->off,
                       "rate() and first_message() cannot be used inside the condition of a rate()");
            return -1;
        }
        out->k = o->k == AO_RATE ? CV_RATE : CV_FIRST;
        rules_cnode *guard = NULL;
        if (o->guard) {
            c->in_guard = 1;
            guard = rules_compile_ast(c, o->guard);
            c->in_guard = 0;
            if (!guard)
                return -1;
        }
        out->slot = rules_slot_add(c, o->k == AO_RATE ? 0 : 1, out->f, o->window_ns, c->kinds, o->gtext,
                                   o->glen, guard);
        return o->k == AO_RATE ? RULES_T_INT : RULES_T_BOOL;
    default:
        return -1;
    }
}

static void lower_ascii(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] + 32);
}

/* Collects the strings of a right side (literal, list name, literal list). */
static int rhs_strings(rules_cctx *c, const rules_aval *v, rules_list_c *out, int *list_idx)
{
    size_t cap = 0;
    *list_idx = -1;
    if (v->k == AV_IDENT) {
        int li = rules_find_list(c, v->s, v->len);
        if (li >= 0) {
            rules_list_c *l = rules_list_expand(c, li, v->off);
            if (!l)
                return -1;
            *out = *l;
            *list_idx = li;
            return 0;
        }
        if (rules_field_lookup(v->s, v->len) >= 0) {
            rules_cerr(c, v->off,
                       "comparing two fields is not supported; to compare with the text '%.*s', quote it",
                       (int)v->len, v->s);
            return -1;
        }
    }
    const rules_aval *items = v->k == AV_LIST ? v->items : v;
    size_t n = v->k == AV_LIST ? v->nitems : 1;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const rules_aval *it = &items[i];
        if (it->k == AV_IDENT) {
            int li = rules_find_list(c, it->s, it->len);
            if (li >= 0 && v->k == AV_LIST) {
                rules_list_c *l = rules_list_expand(c, li, it->off);
                if (!l)
                    return -1;
                for (size_t j = 0; j < l->n; j++)
                    if (push_str(c, out, &cap, l->strs[j], l->lens[j], l->nodes[j], l->offs[j]) != 0)
                        return -1;
                continue;
            }
        }
        char buf[32];
        const char *s = it->s;
        size_t len = it->len;
        if (it->k == AV_NUM || it->k == AV_BOOL) {
            len = (size_t)snprintf(buf, sizeof buf, it->k == AV_BOOL ? (it->num ? "true" : "false") : "%lld",
                                   (long long)it->num);
            s = buf;
        } else if (it->k == AV_DUR) {
            rules_cerr(c, it->off, "a duration cannot be a text value; quote it if you mean the text");
            return -1;
        }
        char *keep = rules_arena_strndup(&c->set->arena, s, len);
        if (!keep || push_str(c, out, &cap, keep, len, NULL, it->off) != 0)
            return -1;
    }
    return 0;
}

/* Rewrites the strings of l as they are compared with the operand (tf): lowered, or as words
 * of content.words, with a warning for each item that can never match a word (`warn`: with
 * in, intersects or a substring test). A named list (li >= 0) is transformed once. */
static int transform(rules_cctx *c, rules_list_c *l, int li, int tf, int warn)
{
    if (tf == RULES_TF_NONE)
        return 0;
    if (li >= 0 && c->lists[li].tstrs[tf]) {
        l->strs = c->lists[li].tstrs[tf];
        l->lens = c->lists[li].tlens[tf];
        return 0;
    }
    const char **ns = rules_arena_alloc(&c->set->arena, (l->n + 1) * sizeof *ns);
    size_t *nl = rules_arena_alloc(&c->set->arena, (l->n + 1) * sizeof *nl);
    xw_buf w;
    xw_buf_init(&w, (size_t)1 << 30);
    int rc = ns && nl ? 0 : -1;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        const char *s = l->strs[i];
        size_t len = l->lens[i], olen = len;
        char *keep = NULL;
        if (tf == RULES_TF_LOWER) {
            keep = rules_arena_strndup(&c->set->arena, s, len);
            if (keep)
                lower_ascii(keep, len);
        } else {
            xw_buf_reset(&w);
            if (!xw_buf_extend(&w, 2 * len + 2)) {
                rc = -1;
                break;
            }
            int one = rules_word_item(s, len, (char *)w.data, &olen);
            keep = rules_arena_strndup(&c->set->arena, (const char *)w.data, olen);
            if (!one && warn && (len > 0 || warn == 2)) {
                const char *what = "can never match a word of content.words (words are split at spaces, "
                                   "punctuation and symbols); list single words, or test the text with "
                                   "content.text icontains";
                if (l->nodes[i]) { /* in a list: at the item, whatever the rule (once per list) */
                    const rules_node *fx = c->fixed;
                    int q = c->quiet;
                    c->fixed = l->nodes[i];
                    c->quiet = 0;
                    rules_cwarn(c, 0, "'%.*s' %s", (int)(len < 60 ? len : 60), s, what);
                    c->fixed = fx;
                    c->quiet = q;
                } else {
                    rules_cwarn(c, l->offs[i], "'%.*s' %s", (int)(len < 60 ? len : 60), s, what);
                }
            }
        }
        if (!keep)
            rc = -1;
        else {
            ns[i] = keep;
            nl[i] = olen;
        }
    }
    xw_buf_free(&w);
    if (rc != 0) {
        c->failed = 1;
        return -1;
    }
    l->strs = ns;
    l->lens = nl;
    if (li >= 0) {
        c->lists[li].tstrs[tf] = ns;
        c->lists[li].tlens[tf] = nl;
    }
    return 0;
}

static uint32_t list_bit(rules_cctx *c, const rules_list_c *l, int list_idx, int tf, const char *canon,
                         size_t clen)
{
    if (list_idx >= 0 && c->lists[list_idx].bit[tf] >= 0)
        return (uint32_t)c->lists[list_idx].bit[tf];
    if (list_idx < 0) {
        int32_t b = rules_map_get(&c->anonbits, canon, clen);
        if (b >= 0)
            return (uint32_t)b;
    }
    uint32_t bit = c->nbits++;
    for (size_t i = 0; i < l->n; i++) {
        rules_dict_entry *nd = xw_grow(c->dict, c->ndict, &c->capdict, 256, sizeof *nd);
        if (!nd) {
            c->failed = 1;
            return bit;
        }
        c->dict = nd;
        c->dict[c->ndict++] = (rules_dict_entry){l->strs[i], l->lens[i], bit};
    }
    if (list_idx >= 0)
        c->lists[list_idx].bit[tf] = (int)bit;
    else {
        char *keep = xw_arena_strndup(&c->tmp, canon, clen);
        if (!keep || rules_map_put(&c->anonbits, keep, clen, (int32_t)bit) < 0)
            c->failed = 1;
    }
    return bit;
}

static pcre2_code *regex(rules_cctx *c, const char *pat, size_t len, size_t off)
{
    int32_t got = rules_map_get(&c->remap, pat, len);
    if (got >= 0)
        return c->set->regexes[got];
    if (len > c->set->lim.max_regex_bytes) {
        rules_cerr(c, off, "regex is %zu bytes, over the limit of %zu", len, c->set->lim.max_regex_bytes);
        return NULL;
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        rules_cerr(c, off, "invalid regex at pattern offset %zu: %s", (size_t)eo, (const char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is unavailable */
    rules_set *s = c->set;
    if (s->nregexes == c->capregexes) {
        size_t nc = c->capregexes ? c->capregexes * 2 : 16;
        pcre2_code **nr = xw_realloc(s->regexes, nc * sizeof *nr);
        if (nr) {
            s->regexes = nr;
            c->capregexes = nc;
        }
    }
    char *keep = rules_arena_strndup(&s->arena, pat, len);
    if (s->nregexes == c->capregexes || !keep) {
        pcre2_code_free(re);
        c->failed = 1;
        return NULL;
    }
    s->regexes[s->nregexes] = re;
    if (rules_map_put(&c->remap, keep, len, (int32_t)s->nregexes) < 0)
        c->failed = 1;
    s->nregexes++;
    return re;
}

static rules_cnode *share(rules_cctx *c, rules_cnode *leaf, xw_buf *canon)
{
    int32_t got = rules_map_get(&c->leafmap, (const char *)canon->data, canon->len);
    if (got >= 0)
        return c->leaves[got];
    char *keep = xw_arena_strndup(&c->tmp, (const char *)canon->data, canon->len);
    if (!keep)
        return NULL;
    rules_cnode **nl = xw_grow(c->leaves, c->nleaves, &c->capleaves, 64, sizeof *nl);
    if (!nl)
        return NULL;
    c->leaves = nl;
    leaf->leaf = (uint32_t)c->nleaves;
    c->leaves[c->nleaves++] = leaf;
    if (rules_map_put(&c->leafmap, keep, canon->len, (int32_t)leaf->leaf) < 0)
        return NULL;
    return leaf;
}

static const char *scalar_type_hint(rules_type t)
{
    switch (t) {
    case RULES_T_INT:
        return "a number such as 10";
    case RULES_T_DUR:
        return "a duration such as 60s or 24h";
    case RULES_T_BOOL:
        return "true or false";
    default:
        return "a \"string\"";
    }
}

static rules_cnode *compile_leaf(rules_cctx *c, const rules_aop *lhs, const rules_coperand *op_, int t,
                                 rules_op op, const rules_aval *rhs, size_t off);

/* The right side as written, for predmap keys. */
static int key_val(xw_buf *b, const rules_aval *v)
{
    switch (v->k) {
    case AV_STR:
    case AV_IDENT:
        if (xw_buf_appendf(b, "%c%zu:", v->k == AV_STR ? 's' : 'i', v->len) != XW_OK)
            return -1;
        return xw_buf_append(b, v->s, v->len);
    case AV_NUM:
    case AV_DUR:
    case AV_BOOL:
        return xw_buf_appendf(b, "%c%lld", "ndb"[v->k - AV_NUM], (long long)v -> num);
    case AV_LIST:
        for (size_t i = 0; i < v->nitems; i++)
            if (xw_buf_append_u8(b, '(') != XW_OK || key_val(b, &v->items[i]) != XW_OK)
                return -1;
        return xw_buf_append_u8(b, ')');
    }
    return -1;
}

/* Key of a predicate as written, with its operand resolved (a rate's slot). What it
 * compiles to depends on nothing else, but whether lists get marked used and whether
 * diagnostics are printed do, so those are in the key too. NULL if it cannot be built. */
static char *pred_key(rules_cctx *c, const rules_coperand *o, rules_op op, const rules_aval *rhs, size_t *len)
{
    xw_buf *b = &c->key;
    xw_buf_reset(b);
    if (xw_buf_appendf(b, "%d%d|%d|%d|%d|%u|", c->marking, c->quiet > 0, (int)op, (int)o->k, (int)o->f,
                       o->slot) != XW_OK ||
        (rhs && key_val(b, rhs) != XW_OK))
        return NULL;
    *len = b->len;
    return (char *)b->data;
}

rules_cnode *rules_compile_pred(rules_cctx *c, const rules_aop *lhs, rules_op op, const rules_aval *rhs,
                                size_t off)
{
    rules_coperand o = {0};
    int t = operand(c, lhs, &o);
    if (t < 0)
        return NULL;
    /* the same predicate again (a macro inlined into many rules, a test repeated): the leaf
     * compiled the first time, with nothing allocated */
    size_t klen = 0;
    const char *key = pred_key(c, &o, op, rhs, &klen);
    if (key) {
        int32_t got = rules_map_get(&c->predmap, key, klen);
        if (got >= 0)
            return c->leaves[got];
        key = rules_arena_strndup(&c->tmp, key, klen);
    }
    rules_cnode *sh = compile_leaf(c, lhs, &o, t, op, rhs, off);
    if (sh && key && rules_map_put(&c->predmap, key, klen, (int32_t)sh->leaf) < 0)
        c->failed = 1;
    return sh;
}

static rules_cnode *compile_leaf(rules_cctx *c, const rules_aop *lhs, const rules_coperand *op_, int t,
                                 rules_op op, const rules_aval *rhs, size_t off)
{
    rules_coperand o = *op_;
    rules_cnode *n = rules_arena_alloc(&c->set->code, sizeof *n);
    if (!n)
        return NULL;
    n->k = CN_LEAF;
    n->lhs = o;
    n->op = op;
    n->rtype = (rules_type)t;
    const char *what = o.k == CV_FIELD ? rules_field_name(o.f) : "this function";
    switch (op) {
    case OP_NONE:
        if (t != RULES_T_BOOL) {
            rules_cerr(c, lhs->off, "%s is %s, not a condition; compare it, e.g. `%s = ...`", what,
                       rules_type_name((rules_type)t), what);
            return NULL;
        }
        break;
    case OP_EXISTS:
        if (o.k != CV_FIELD) {
            rules_cerr(c, off, "exists applies to fields only");
            return NULL;
        }
        break;
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: {
        if (t == RULES_T_LIST) {
            rules_cerr(c, off, "%s is a list; use intersects, contains or len()", what);
            return NULL;
        }
        if (op >= OP_LT && t != RULES_T_INT && t != RULES_T_DUR) {
            rules_cerr(c, off, "'%s' needs a number or a duration; %s is %s", rules_op_name(op), what,
                       rules_type_name((rules_type)t));
            return NULL;
        }
        int ok = 0;
        if (t == RULES_T_STR && (rhs->k == AV_STR || rhs->k == AV_IDENT)) {
            if (rhs->k == AV_IDENT && rules_find_list(c, rhs->s, rhs->len) >= 0) {
                rules_cerr(c, rhs->off, "'%.*s' is a list; use `in` to test membership", (int)rhs->len,
                           rhs->s);
                return NULL;
            }
            if (rhs->k == AV_IDENT && rules_field_lookup(rhs->s, rhs->len) >= 0) {
                rules_cerr(c, rhs->off,
                           "comparing two fields is not supported; quote '%.*s' to compare with it",
                           (int)rhs->len, rhs->s);
                return NULL;
            }
            n->s = xw_arena_strndup(&c->set->arena, rhs->s, rhs->len);
            n->slen = rhs->len;
            if (o.k == CV_LOWER)
                lower_ascii((char *)n->s, n->slen);
            ok = n->s != NULL;
        } else if (t == RULES_T_INT && rhs->k == AV_NUM) {
            n->num = rhs->num;
            ok = 1;
        } else if (t == RULES_T_DUR && (rhs->k == AV_DUR || rhs->k == AV_NUM)) {
            n->num = rhs->k == AV_DUR ? rhs->num : rhs->num * XW_NS_PER_SEC;
            if (rhs->k == AV_NUM &&
                (rhs->num > INT64_MAX / XW_NS_PER_SEC || rhs->num < INT64_MIN / XW_NS_PER_SEC)) {
                rules_cerr(c, rhs->off, "duration is too large; the longest is " RULES_DUR_MAX_TEXT);
                return NULL;
            }
            ok = 1;
        } else if (t == RULES_T_BOOL && rhs->k == AV_BOOL) {
            n->num = rhs->num;
            ok = 1;
        }
        if (!ok) {
            rules_cerr(c, rhs->off, "type mismatch: %s is %s; compare it with %s", what,
                       rules_type_name((rules_type)t), scalar_type_hint((rules_type)t));
            return NULL;
        }
        break;
    }
    case OP_CONTAINS:
    case OP_ICONTAINS:
    case OP_STARTSWITH:
    case OP_ENDSWITH:
    case OP_GLOB:
    case OP_IGLOB:
    case OP_REGEX:
    case OP_IN:
    case OP_INTERSECTS: {
        int is_in = op == OP_IN || op == OP_INTERSECTS;
        if (op == OP_IN && t == RULES_T_LIST) {
            rules_cerr(c, off, "%s is a list; use `intersects` to test whether any of its items is in a list",
                       what);
            return NULL;
        }
        if (!is_in && t != RULES_T_STR && t != RULES_T_LIST) {
            rules_cerr(c, off, "'%s' needs a string or string list; %s is %s", rules_op_name(op), what,
                       rules_type_name((rules_type)t));
            return NULL;
        }
        if (is_in && t != RULES_T_STR && t != RULES_T_LIST && t != RULES_T_INT) {
            rules_cerr(c, off, "'%s' needs a string or integer; %s is %s", rules_op_name(op), what,
                       rules_type_name((rules_type)t));
            return NULL;
        }
        if (op == OP_REGEX) {
            if (rhs->k != AV_STR) {
                rules_cerr(c, rhs->off, "regex takes one quoted pattern, e.g. regex \"^https?://\"");
                return NULL;
            }
            n->re = regex(c, rhs->s, rhs->len, rhs->off);
            if (!n->re)
                return NULL;
            n->s = xw_arena_strndup(&c->set->arena, rhs->s, rhs->len);
            n->slen = rhs->len;
            break;
        }
        if (rhs->k == AV_DUR || (rhs->k == AV_BOOL && !is_in)) {
            rules_cerr(c, rhs->off, "'%s' takes text values", rules_op_name(op));
            return NULL;
        }
        if (is_in && rhs->k == AV_IDENT && rules_find_list(c, rhs->s, rhs->len) < 0 &&
            rules_field_lookup(rhs->s, rhs->len) < 0) {
            rules_cerr(c, rhs->off, "unknown list '%.*s'; define it with `- list: %.*s` or write (a, b)",
                       (int)rhs->len, rhs->s, (int)rhs->len, rhs->s);
            return NULL;
        }
        rules_list_c l;
        int li;
        if (rhs_strings(c, rhs, &l, &li) != 0) {
            if (!c->failed)
                rules_cerr(c, rhs->off, "the list is too long or memory ran out");
            return NULL;
        }
        /* content.words is lowered words: so are the strings compared with it; lower() and
         * the i-operators compare lowered text */
        int tf = o.f == RULES_F_CONTENT_WORDS && o.k != CV_LEN             ? RULES_TF_WORDS
                 : o.k == CV_LOWER || op == OP_ICONTAINS || op == OP_IGLOB ? RULES_TF_LOWER
                                                                           : RULES_TF_NONE;
        int warn = is_in ? 2 : op == OP_GLOB || op == OP_IGLOB ? 0 : 1; /* 2: an empty item too */
        if (transform(c, &l, li, tf, warn) != 0)
            return NULL;
        if (is_in) {
            xw_buf cb;
            xw_buf_init(&cb, (size_t)1 << 30);
            for (size_t i = 0; i < l.n; i++) {
                xw_buf_appendf(&cb, "%zu:", l.lens[i]);
                xw_buf_append(&cb, l.strs[i], l.lens[i]);
            }
            n->listbit = list_bit(c, &l, li, tf, cb.data ? (const char *)cb.data : "", cb.len);
            xw_buf_free(&cb);
            if (o.k == CV_FIELD || o.k == CV_LOWER)
                c->set->field_used_in[o.f] = 1;
            break;
        }
        if (l.n > 1000 && (op == OP_CONTAINS || op == OP_ICONTAINS))
            rules_cwarn(c, rhs->off,
                        "'%s' with a list of %zu items tests each item in turn; for whole words, "
                        "`content.words intersects LIST` is much faster",
                        rules_op_name(op), l.n);
        n->strs = l.strs;
        n->lens = l.lens;
        n->nstrs = l.n;
        break;
    }
    }
    /* canonical text for sharing */
    xw_buf cb;
    xw_buf_init(&cb, (size_t)1 << 30);
    xw_buf_appendf(&cb, "%d|%d|%d|%u|%d|%lld|%u|%zu:", (int)op, (int)o.k, (int)o.f, o.slot, (int)n->rtype,
                   (long long)n->num, n->listbit, n->slen);
    if (n->s)
        xw_buf_append(&cb, n->s, n->slen);
    for (size_t i = 0; i < n->nstrs; i++) {
        xw_buf_appendf(&cb, "|%zu:", n->lens[i]);
        xw_buf_append(&cb, n->strs[i], n->lens[i]);
    }
    rules_cnode *sh = cb.data ? share(c, n, &cb) : NULL;
    xw_buf_free(&cb);
    if (!sh)
        c->failed = 1;
    return sh;
}
