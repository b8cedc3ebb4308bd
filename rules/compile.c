/*
 * Item definitions to a compiled set: the driver of a load.
 *
 * Order: read and parse every file (load.c), build item definitions with overrides
 * (items.c), parse every macro, compile every macro once on its own (so that its errors are
 * reported once, at the macro), then compile every rule: its condition with macros inlined,
 * `and not (...)` for its exceptions, its attributes and actions. Last, warnings for unused
 * lists and macros, the per-kind rule index and the dictionary of list values. Any error
 * leaves nothing behind: the half-built set is freed and the caller's old set stays.
 */
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <stdio.h>

#include "common/alloc.h"
#include "rules/compile_int.h"

rules_cnode *rules_cnode_new(rules_cctx *c, rules_cnode_kind k, rules_cnode *a)
{
    rules_cnode *n = rules_arena_alloc(&c->set->code, sizeof *n);
    if (!n || (k == CN_NOT && !a) || k == CN_AND || k == CN_OR) {
        c->failed = 1;
        return NULL;
    }
    n->k = k;
    n->a = a;
    return n;
}

void rules_chain_init(rules_chain *ch, rules_cnode_kind k)
{
    memset(ch, 0, sizeof *ch);
    ch->k = k;
}

static int chain_add(rules_chain *ch, rules_cnode *x)
{
    if (ch->n == ch->cap) {
        size_t nc = ch->cap ? ch->cap * 2 : 8;
        rules_cnode **nk = nc <= UINT32_MAX ? xw_realloc(ch->kids, nc * sizeof *nk) : NULL;
        if (!nk)
            return -1;
        ch->kids = nk;
        ch->cap = nc;
    }
    ch->kids[ch->n++] = x;
    return 0;
}

void rules_chain_push(rules_cctx *c, rules_chain *ch, rules_cnode *x)
{
    if (!x || ch->failed) {
        ch->failed = 1;
        return;
    }
    if (x->k != ch->k) {
        ch->failed = chain_add(ch, x) != 0;
    } else { /* flatten: a child of the same kind gives its children */
        for (uint32_t i = 0; i < x->nkids && !ch->failed; i++)
            ch->failed = chain_add(ch, x->kids[i]) != 0;
    }
    if (ch->failed)
        c->failed = 1;
}

rules_cnode *rules_chain_end(rules_cctx *c, rules_chain *ch)
{
    rules_cnode *n = NULL;
    if (!ch->failed && ch->n == 1) {
        n = ch->kids[0];
    } else if (!ch->failed && ch->n > 1) {
        n = rules_arena_alloc(&c->set->code, sizeof *n);
        rules_cnode **kids = n ? rules_arena_alloc(&c->set->code, ch->n * sizeof *kids) : NULL;
        if (kids) {
            memcpy(kids, ch->kids, ch->n * sizeof *kids);
            n->k = ch->k;
            n->kids = kids;
            n->nkids = (uint32_t)ch->n;
        } else {
            n = NULL;
            c->failed = 1;
        }
    }
    xw_free(ch->kids);
    memset(ch, 0, sizeof *ch);
    return n;
}

int rules_count_term(rules_cctx *c, size_t off)
{
    if (++c->terms <= c->set->lim.max_terms)
        return 0;
    c->failed = 1;
    if (!c->over && !c->quiet) {
        rules_cerr(c, off,
                   "conditions too large: the set's conditions, macros inlined, pass the limit of %zu tests "
                   "here; simplify them or raise max_terms",
                   c->set->lim.max_terms);
        c->over_reported = 1;
    }
    c->over = 1;
    return -1;
}

static int find_macro(rules_cctx *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->defs->nmacros; i++)
        if (strlen(c->defs->macros[i].name) == len && memcmp(c->defs->macros[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static rules_cnode *compile_ast(rules_cctx *c, rules_anode *n);
static void compile_into(rules_cctx *c, rules_anode *n, rules_chain *ch);

rules_cnode *rules_compile_ast(rules_cctx *c, rules_anode *n) { return compile_ast(c, n); }

/* Compiles macro mi where `ref` names it: returns its node or, with `into`, appends it to
 * that chain (an `and` macro inside an `and` gives its terms, with no node of its own). */
static rules_cnode *inline_macro(rules_cctx *c, int mi, const rules_anode *ref, rules_chain *into)
{
    rules_macro_c *m = &c->macros[mi];
    if (c->marking)
        c->defs->macros[mi].used = 1;
    if (into)
        into->failed = 1; /* until compiled */
    if (m->state == 3 || c->over) {
        c->failed = 1;
        return NULL;
    }
    for (int i = 0; i < c->nmacro_stack; i++)
        if (strcmp(c->macro_stack[i], c->defs->macros[mi].name) == 0) {
            if (m->state != 4) { /* report a cycle once, at the reference that closes it */
                int q = c->quiet;
                c->quiet = 0;
                rules_cerr(c, ref->off, "macro cycle: '%s' uses itself through '%s'; break the cycle",
                           c->defs->macros[mi].name, c->macro_stack[c->nmacro_stack - 1]);
                c->quiet = q;
                for (int j = i; j < c->nmacro_stack; j++) {
                    int k = find_macro(c, c->macro_stack[j], strlen(c->macro_stack[j]));
                    if (k >= 0)
                        c->macros[k].state = 4;
                }
            }
            c->failed = 1;
            return NULL;
        }
    if (c->nmacro_stack >= 64) {
        rules_cerr(c, ref->off, "macros nested more than 64 deep");
        return NULL;
    }
    const rules_node *const *sf = c->frags;
    const size_t *ss = c->fstart;
    size_t sn = c->nfrags;
    const rules_node *sfx = c->fixed;
    c->frags = m->frags;
    c->fstart = m->fstart;
    c->nfrags = m->nfrags;
    c->fixed = NULL;
    c->macro_stack[c->nmacro_stack++] = c->defs->macros[mi].name;
    c->quiet++;
    rules_cnode *r = NULL;
    if (into) {
        into->failed = 0;
        compile_into(c, m->ast, into);
    } else {
        r = compile_ast(c, m->ast);
    }
    c->quiet--;
    c->nmacro_stack--;
    c->frags = sf;
    c->fstart = ss;
    c->nfrags = sn;
    c->fixed = sfx;
    if (c->over && !c->over_reported && !c->quiet) { /* the limit was passed inside this macro */
        rules_cerr(c, ref->off,
                   "conditions too large: macro '%s' here brings the set's conditions, macros inlined, past "
                   "the limit of %zu tests (each use of a macro copies it, so a macro that uses another "
                   "twice doubles it); simplify them or raise max_terms",
                   c->defs->macros[mi].name, c->set->lim.max_terms);
        c->over_reported = 1;
    }
    return r;
}

/* The operands of an and/or chain, appended to ch. The parser builds `a and b and c` as
 * ((a and b) and c): the operands are collected along the left spine (no recursion there:
 * a condition may have tens of thousands of terms) and compiled in order. */
static void chain_operands(rules_cctx *c, rules_anode *n, rules_chain *ch)
{
    size_t cnt = 1;
    for (const rules_anode *x = n; x->k == n->k; x = x->a)
        cnt++;
    rules_anode **ops = xw_malloc(cnt * sizeof *ops);
    if (!ops) {
        ch->failed = c->failed = 1;
        return;
    }
    size_t i = cnt;
    rules_anode *x = n;
    for (; x->k == n->k; x = x->a)
        ops[--i] = x->b;
    ops[0] = x;
    for (i = 0; i < cnt && !c->over; i++) /* every operand, so that each one's errors are reported */
        compile_into(c, ops[i], ch);
    xw_free(ops);
    if (c->over)
        ch->failed = 1;
}

/* Compiles n and appends it to ch; an and/or of ch's kind (written so, in parentheses, or
 * a macro) gives its operands directly, so nesting costs no copies. */
static void compile_into(rules_cctx *c, rules_anode *n, rules_chain *ch)
{
    if ((n->k == AN_AND && ch->k == CN_AND) || (n->k == AN_OR && ch->k == CN_OR)) {
        chain_operands(c, n, ch);
        return;
    }
    int mi = n->k == AN_MACRO ? find_macro(c, n->name, n->len) : -1;
    if (mi >= 0) {
        int failed = ch->failed;
        inline_macro(c, mi, n, ch);
        ch->failed |= failed;
        return;
    }
    rules_chain_push(c, ch, compile_ast(c, n));
}

/* A test (a predicate, or a boolean field alone). A macro's AST is compiled again at each
 * use: the leaf is remembered on the AST node, unless it depends on the rule's event kinds
 * (a window's slot does). */
static rules_cnode *compile_test(rules_cctx *c, rules_anode *n)
{
    if (rules_count_term(c, n->lhs ? n->lhs->off : n->off) != 0) /* at the start of the test */
        return NULL;
    int memo = (c->marking ? 2 : 0) | (c->quiet > 0); /* lists marked used; diagnostics printed */
    if (n->leaf1[memo])
        return c->leaves[n->leaf1[memo] - 1];
    rules_cnode *r = rules_compile_pred(c, n->lhs, n->k == AN_PRED ? n->op : OP_NONE, n->rhs, n->off);
    if (r && r->lhs.k != CV_RATE && r->lhs.k != CV_FIRST)
        n->leaf1[memo] = r->leaf + 1;
    return r;
}

static rules_cnode *compile_ast(rules_cctx *c, rules_anode *n)
{
    rules_cnode *a;
    switch (n->k) {
    case AN_AND:
    case AN_OR: {
        rules_chain ch;
        rules_chain_init(&ch, n->k == AN_AND ? CN_AND : CN_OR);
        chain_operands(c, n, &ch);
        return rules_chain_end(c, &ch);
    }
    case AN_NOT:
        a = compile_ast(c, n->a);
        return a ? rules_cnode_new(c, CN_NOT, a) : NULL;
    case AN_CONST:
        if (rules_count_term(c, n->off) != 0)
            return NULL;
        a = rules_cnode_new(c, CN_CONST, NULL);
        if (a)
            a->cval = n->cval;
        return a;
    case AN_MACRO: {
        int mi = find_macro(c, n->name, n->len);
        if (mi >= 0)
            return inline_macro(c, mi, n, NULL);
        if (rules_field_lookup(n->name, n->len) >= 0)
            return compile_test(c, n);
        if (memchr(n->name, '.', n->len))
            rules_cerr(c, n->off, "unknown field '%.*s'; see docs/rules.md for the fields", (int)n->len,
                       n->name);
        else
            rules_cerr(c, n->off, "unknown macro '%.*s'; define it with `- macro: %.*s` (or add an operator)",
                       (int)n->len, n->name, (int)n->len, n->name);
        return NULL;
    }
    case AN_PRED:
        return compile_test(c, n);
    }
    return NULL;
}

/* Joins condition fragments with spaces and parses them. */
static rules_anode *parse_frags(rules_cctx *c, const rules_node *const *frags, size_t nf, size_t *fstart)
{
    size_t total = 0;
    for (size_t i = 0; i < nf; i++) {
        if (frags[i]->t != RN_SCALAR) {
            c->fixed = frags[i];
            rules_cerr(c, 0, "a condition must be text, not a list or mapping");
            c->fixed = NULL;
            return NULL;
        }
        total += frags[i]->len + 1;
    }
    char *text = rules_arena_alloc(&c->tmp, total + 1);
    if (!text)
        return NULL;
    size_t pos = 0;
    for (size_t i = 0; i < nf; i++) {
        fstart[i] = pos;
        memcpy(text + pos, frags[i]->s, frags[i]->len);
        pos += frags[i]->len;
        text[pos++] = ' ';
    }
    size_t eoff = 0;
    xw_errbuf eb = {{0}};
    rules_anode *ast = rules_parse_expr(text, pos, &c->tmp, c->set->lim.max_depth, &eoff, &eb);
    if (!ast) {
        c->frags = frags;
        c->fstart = fstart;
        c->nfrags = nf;
        rules_cerr(c, eoff, "%s", eb.msg);
        c->nfrags = 0;
    }
    return ast;
}

static int scalar_bool(rules_cctx *c, const rules_node *n, int *out, const char *key)
{
    if (n->t == RN_SCALAR && !n->quoted && (strcmp(n->s, "true") == 0 || strcmp(n->s, "false") == 0)) {
        *out = strcmp(n->s, "true") == 0;
        return 0;
    }
    c->fixed = n;
    rules_cerr(c, 0, "%s must be true or false", key);
    return -1;
}

int rules_parse_duration(const rules_node *n, int64_t *out)
{
    if (n->t != RN_SCALAR)
        return -1;
    rules_arena a;
    rules_arena_init(&a);
    rules_lexer lx;
    rules_lexer_init(&lx, n->s, n->len, &a);
    rules_tok t = rules_lex_next(&lx);
    rules_tok e = rules_lex_next(&lx);
    rules_arena_free(&a);
    if (t.k == TK_ERROR && t.too_large)
        return -2;
    if (e.k != TK_EOF || (t.k != TK_DURATION && t.k != TK_NUMBER) || t.num < 0)
        return -1;
    if (t.k == TK_NUMBER && t.num > INT64_MAX / XW_NS_PER_SEC)
        return -2;
    *out = t.k == TK_NUMBER ? t.num * XW_NS_PER_SEC : t.num;
    return 0;
}

static void rule_attrs(rules_cctx *c, rules_crule *r, const rules_item *it)
{
    static const char *prios[] = {"emergency", "alert", "critical", "error",         "warning",
                                  "notice",    "info",  "debug",    "informational", NULL};
    r->enabled = 1;
    r->priority = "notice";
    for (size_t i = 0; i < it->non; i++) {
        const rules_node *on = it->on[i];
        size_t n = on->t == RN_SEQ ? on->n : 1;
        for (size_t j = 0; j < n; j++) {
            const rules_node *k = on->t == RN_SEQ ? on->kids[j] : on;
            int kind = k->t == RN_SCALAR ? rules_kind_lookup(k->s, k->len) : -1;
            if (kind < 0) {
                c->fixed = k;
                rules_cerr(
                    c, 0,
                    "unknown event kind '%s'; the kinds are message, reaction, reply, leave_request, "
                    "member_added, member_removed, metadata_changed, admin_changed, group_joined, dm_created",
                    k->t == RN_SCALAR ? k->s : "(not text)");
                continue;
            }
            r->kinds |= 1u << kind;
        }
    }
    if (it->desc) {
        c->fixed = it->desc;
        char bad[64];
        if (it->desc->t != RN_SCALAR)
            rules_cerr(c, 0, "desc must be text");
        else if (rules_tmpl_check(it->desc->s, it->desc->len, bad, sizeof bad) >= 0)
            rules_cerr(c, 0, "unknown field '%s' in {{...}} in desc", bad);
        else
            r->desc = rules_arena_strndup(&c->set->arena, it->desc->s, it->desc->len);
    }
    if (it->priority) {
        int ok = 0;
        for (int i = 0; prios[i] && it->priority->t == RN_SCALAR; i++)
            if (strcasecmp(prios[i], it->priority->s) == 0) {
                r->priority = prios[i];
                ok = 1;
            }
        if (!ok) {
            c->fixed = it->priority;
            rules_cerr(
                c, 0,
                "priority must be one of emergency, alert, critical, error, warning, notice, info, debug");
        }
    }
    if (it->enabled)
        scalar_bool(c, it->enabled, &r->enabled, "enabled");
    if (it->stop)
        scalar_bool(c, it->stop, &r->stop, "stop");
    if (it->mode) {
        if (it->mode->t == RN_SCALAR &&
            (strcmp(it->mode->s, "enforce") == 0 || strcmp(it->mode->s, "simulate") == 0))
            r->simulate = strcmp(it->mode->s, "simulate") == 0;
        else {
            c->fixed = it->mode;
            rules_cerr(c, 0, "mode must be `enforce` or `simulate`");
        }
    }
    if (it->cooldown) {
        int rc = rules_parse_duration(it->cooldown, &r->cooldown_ns);
        c->fixed = it->cooldown;
        if (rc == -2)
            rules_cerr(c, 0, "cooldown is too large; the longest duration is " RULES_DUR_MAX_TEXT);
        else if (rc != 0)
            rules_cerr(c, 0, "cooldown must be a duration such as 30s, 10m or 1h");
        r->cooldown_id = rules_hash64(r->id, strlen(r->id), 0xc001);
    }
    r->cooldown_key = -1;
    if (it->cooldown_key) {
        const rules_node *k = it->cooldown_key;
        int f = k->t == RN_SCALAR ? rules_field_lookup(k->s, k->len) : -1;
        if (f < 0 || (rules_field_type((rules_field)f) != RULES_T_STR &&
                      rules_field_type((rules_field)f) != RULES_T_INT)) {
            c->fixed = k;
            rules_cerr(c, 0,
                       "cooldown_key must be a text or integer field such as sender.inbox_id or group.id");
        }
        r->cooldown_key = f;
        if (!it->cooldown) {
            c->fixed = k;
            rules_cerr(c, 0, "cooldown_key without cooldown; add `cooldown: 10m`");
        }
    }
    size_t nt = 0;
    for (size_t i = 0; i < it->ntags; i++)
        nt += it->tags[i]->t == RN_SEQ ? it->tags[i]->n : 1;
    r->tags = rules_arena_alloc(&c->set->arena, (nt + 1) * sizeof *r->tags);
    for (size_t i = 0; r->tags && i < it->ntags; i++) {
        const rules_node *t = it->tags[i];
        size_t n = t->t == RN_SEQ ? t->n : 1;
        for (size_t j = 0; j < n; j++) {
            const rules_node *k = t->t == RN_SEQ ? t->kids[j] : t;
            if (k->t != RN_SCALAR) {
                c->fixed = k;
                rules_cerr(c, 0, "tags must be words");
                continue;
            }
            r->tags[r->ntags++] = k->s; /* copied below */
            r->tags[r->ntags - 1] = rules_arena_strndup(&c->set->arena, k->s, k->len);
        }
    }
}

static void compile_rule(rules_cctx *c, rules_crule *r, rules_item *it)
{
    size_t e0 = c->d->errors;
    c->failed = 0;
    r->id = rules_arena_strndup(&c->set->arena, it->name, strlen(it->name));
    r->file = it->where->file;
    r->line = it->where->line;
    r->col = it->where->col;
    rule_attrs(c, r, it);
    c->fixed = NULL;
    c->kinds = r->kinds;
    c->marking = 1;
    size_t fstart[RULES_MAX_FRAGS];
    rules_anode *ast = parse_frags(c, it->cond, it->ncond, fstart);
    if (ast) {
        c->frags = it->cond;
        c->fstart = fstart;
        c->nfrags = it->ncond;
        r->cond = compile_ast(c, ast);
        c->nfrags = 0;
    }
    if (r->cond && it->nexc) { /* (condition) and not (exception) and not ... */
        rules_chain ch;
        rules_chain_init(&ch, CN_AND);
        rules_chain_push(c, &ch, r->cond);
        for (size_t i = 0; i < it->nexc && !ch.failed; i++) {
            int err = 0;
            rules_cnode *ex = rules_compile_exception(c, &it->exc[i], &err);
            if (err)
                ch.failed = 1;
            else if (ex)
                rules_chain_push(c, &ch, rules_cnode_new(c, CN_NOT, ex));
        }
        r->cond = rules_chain_end(c, &ch);
    }
    c->fixed = NULL;
    c->marking = 0;
    if (rules_actions_compile(c->set, r, it, c->d) != 0)
        c->failed = 1;
    if ((!r->cond || c->failed) && c->d->errors == e0)
        rules_diags_add(c->d, RULES_DIAG_ERROR, r->file, r->line, r->col, "rule '%s' does not compile",
                        r->id);
}

/* Whether a pattern keeps its meaning inside `(?:...)|(?:...)`: no back references or
 * group numbers, no verbs, no \\Q quoting, no comments, no (?| or recursion. */
static int combinable(const char *p)
{
    static const char *bad[] = {"\\1", "\\2", "\\3", "\\4", "\\5", "\\6", "\\7", "\\8", "\\9", "\\g",
                                "\\k", "\\Q", "(?P", "(*",  "(?|", "(?R", "(?&", "(?0", "(?1", "(?2",
                                "(?3", "(?4", "(?5", "(?6", "(?7", "(?8", "(?9", "(?+", "(?-", "#"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (strstr(p, bad[i]))
            return 0;
    for (const char *q = strstr(p, "(?<"); q; q = strstr(q + 1, "(?<"))
        if (q[3] != '=' && q[3] != '!')
            return 0; /* a named group */
    for (const char *q = strstr(p, "(?"); q; q = strstr(q + 1, "(?"))
        for (const char *r = q + 2; *r && *r != ')' && *r != ':'; r++)
            if (*r == 'x')
                return 0; /* extended mode: comments could swallow the rest */
    return 1;
}

#define REGROUP_ALONE UINT32_MAX /* while grouping: tried, stays alone */

static void group_regexes(rules_cctx *c)
{
    rules_set *s = c->set;
    s->regroups = rules_arena_alloc(&s->arena, (c->nleaves + 1) * sizeof *s->regroups);
    if (!s->regroups)
        return;
    for (size_t i = 0; i < c->nleaves; i++) {
        rules_cnode *n = c->leaves[i];
        if (n->op != OP_REGEX || n->regroup1 || (n->lhs.k != CV_FIELD && n->lhs.k != CV_LOWER) ||
            (rules_field_type(n->lhs.f) != RULES_T_STR && rules_field_type(n->lhs.f) != RULES_T_LIST) ||
            !combinable(n->s))
            continue;
        int lower = n->lhs.k == CV_LOWER;
        xw_buf pat;
        xw_buf_init(&pat, (size_t)1 << 20);
        size_t members = 0;
        for (size_t j = i; j < c->nleaves; j++) {
            rules_cnode *m = c->leaves[j];
            if (m->op != OP_REGEX || m->regroup1 || m->lhs.f != n->lhs.f || (m->lhs.k == CV_LOWER) != lower ||
                (m->lhs.k != CV_FIELD && m->lhs.k != CV_LOWER) || !combinable(m->s))
                continue;
            size_t before = pat.len;
            if (xw_buf_appendf(&pat, "%s(?:", members ? "|" : "") != XW_OK ||
                xw_buf_append(&pat, m->s, m->slen) != XW_OK || xw_buf_append_u8(&pat, ')') != XW_OK) {
                xw_buf_truncate(&pat, before); /* full: the rest make a group of their own */
                break;
            }
            m->regroup1 = (uint32_t)s->nregroups + 1; /* tentatively */
            members++;
        }
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = members > 1 ? pcre2_compile((PCRE2_SPTR)pat.data, pat.len,
                                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL)
                                     : NULL;
        xw_buf_free(&pat);
        if (re)
            pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
        for (size_t j = i; j < c->nleaves && !re; j++)
            if (c->leaves[j]->regroup1 == s->nregroups + 1) /* alone, or the join does not compile: */
                c->leaves[j]->regroup1 = REGROUP_ALONE;     /* not tried again (that would be n^2) */
        if (re) {
            s->regroups[s->nregroups].re = re;
            s->regroups[s->nregroups].f = n->lhs.f;
            s->regroups[s->nregroups].lower = lower;
            s->nregroups++;
        }
    }
    for (size_t i = 0; i < c->nleaves; i++) {
        if (c->leaves[i]->regroup1 == REGROUP_ALONE)
            c->leaves[i]->regroup1 = 0;
        else if (c->leaves[i]->regroup1)
            c->leaves[i]->fast = RULES_FAST_REGROUP; /* what rules_inline_prepare keeps */
    }
}

static int finish(rules_cctx *c)
{
    rules_set *s = c->set;
    for (size_t i = 0; i < c->defs->nlists && !c->partial; i++)
        if (!c->defs->lists[i].used) {
            const rules_node *w = c->defs->lists[i].where;
            rules_diags_add(c->d, RULES_DIAG_WARNING, w->file, w->line, w->col, "list '%s' is never used",
                            c->defs->lists[i].name);
        }
    for (size_t i = 0; i < c->defs->nmacros && !c->partial; i++)
        if (!c->defs->macros[i].used) {
            const rules_node *w = c->defs->macros[i].where;
            rules_diags_add(c->d, RULES_DIAG_WARNING, w->file, w->line, w->col, "macro '%s' is never used",
                            c->defs->macros[i].name);
        }
    for (size_t i = 0; i < s->nrules; i++) {
        const rules_cnode *c0 = s->rules[i].cond;
        if (c0 && c0->k == CN_AND && c0->kids[0]->k == CN_LEAF)
            s->rules[i].gate = c0->kids[0];
        else if (c0 && c0->k == CN_LEAF)
            s->rules[i].gate = c0;
    }
    for (int k = 0; k < RULES_KIND__COUNT; k++) {
        s->by_kind[k] = rules_arena_alloc(&s->arena, (s->nrules + 1) * sizeof(uint32_t));
        if (!s->by_kind[k])
            return -1;
        for (size_t i = 0; i < s->nrules; i++)
            if (s->rules[i].enabled && (s->rules[i].kinds & (1u << k)))
                s->by_kind[k][s->nby_kind[k]++] = (uint32_t)i;
    }
    s->nleaves = (uint32_t)c->nleaves;
    s->nbits = c->nbits;
    s->mask_words = (c->nbits + 63) / 64;
    if (s->mask_words == 0)
        s->mask_words = 1;
    size_t rows = 0, caprows = 0;
    for (size_t i = 0; i < c->ndict; i++) {
        const rules_dict_entry *e = &c->dict[i];
        int32_t row = rules_map_get(&s->dict, e->s, e->len);
        if (row < 0) {
            if (rows == caprows) {
                size_t nc = caprows ? caprows * 2 : 256;
                uint64_t *nm = xw_realloc(s->masks, nc * s->mask_words * sizeof *nm);
                if (!nm)
                    return -1;
                s->masks = nm;
                caprows = nc;
            }
            memset(s->masks + rows * s->mask_words, 0, s->mask_words * sizeof *s->masks);
            row = rules_map_put(&s->dict, e->s, e->len, (int32_t)rows);
            if (row < 0)
                return -1;
            rows++;
        }
        s->masks[(size_t)row * s->mask_words + e->bit / 64] |= UINT64_C(1) << (e->bit % 64);
    }
    s->bloom = xw_calloc(RULES_BLOOM_BITS / 64, sizeof *s->bloom);
    if (!s->bloom)
        return -1;
    for (size_t i = 0; i < s->dict.cap; i++)
        if (s->dict.slots[i].s) {
            uint32_t bit = RULES_BLOOM_BIT(s->dict.slots[i].h), bit2 = RULES_BLOOM_BIT2(s->dict.slots[i].h);
            s->bloom[bit / 64] |= UINT64_C(1) << (bit % 64);
            s->bloom[bit2 / 64] |= UINT64_C(1) << (bit2 % 64);
        }
    group_regexes(c);
    if (rules_inline_prepare(s, c->leaves, c->nleaves) != 0)
        return -1;
    s->mctx = pcre2_match_context_create(NULL);
    if (!s->mctx)
        return -1;
    pcre2_set_match_limit(s->mctx, s->lim.regex_match_limit);
    pcre2_set_depth_limit(s->mctx, s->lim.regex_match_limit / 10 + 1);
    pcre2_set_heap_limit(s->mctx, 20000); /* KiB */
    return 0;
}

/* partial: items were left out (errors in an earlier stage); no warnings about unused ones */
static int compile_defs(rules_set *s, rules_defs *defs, rules_diags *d, int partial)
{
    rules_cctx c = {0};
    c.partial = partial;
    c.set = s;
    c.defs = defs;
    c.d = d;
    rules_arena_init(&c.tmp);
    xw_buf_init(&c.key, (size_t)1 << 30);
    size_t e0 = d->errors;
    int rc = XW_OK;
    c.lists = xw_calloc(defs->nlists + 1, sizeof *c.lists);
    c.macros = xw_calloc(defs->nmacros + 1, sizeof *c.macros);
    s->rules = rules_arena_alloc(&s->code, (defs->nrules + 1) * sizeof *s->rules);
    if (!c.lists || !c.macros || !s->rules) {
        rc = XW_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < defs->nlists; i++)
        for (int t = 0; t < RULES_TF__COUNT; t++)
            c.lists[i].bit[t] = -1;
    s->match_first = defs->match_first;
    for (size_t i = 0; i < defs->nmacros; i++) {
        rules_macro_c *m = &c.macros[i];
        m->nfrags = defs->macros[i].ncond;
        memcpy(m->frags, defs->macros[i].cond, m->nfrags * sizeof m->frags[0]);
        m->ast = parse_frags(&c, m->frags, m->nfrags, m->fstart);
        m->state = m->ast ? 0 : 3;
    }
    for (size_t i = 0; i < defs->nmacros && !c.over; i++) { /* each macro alone: its errors once */
        rules_macro_c *m = &c.macros[i];
        if (m->state == 3)
            continue;
        c.failed = 0;
        c.kinds = 0;
        c.frags = m->frags;
        c.fstart = m->fstart;
        c.nfrags = m->nfrags;
        c.macro_stack[0] = defs->macros[i].name;
        c.nmacro_stack = 1;
        rules_cnode *r = compile_ast(&c, m->ast);
        c.nmacro_stack = 0;
        c.nfrags = 0;
        if (!r || c.failed)
            m->state = m->state == 4 ? 4 : 3;
    }
    for (size_t i = 0; i < defs->nmacros; i++)
        if (c.macros[i].state == 4)
            c.macros[i].state = 3;
    for (size_t i = 0; i < defs->nrules && !c.over; i++) { /* past max_terms: one error is enough */
        compile_rule(&c, &s->rules[s->nrules], &defs->rules[i]);
        s->nrules++;
    }
    if (d->errors > e0) {
        rc = XW_ERULES_COMPILE;
        goto out;
    }
    if (finish(&c) != 0)
        rc = XW_ENOMEM;
out:
    rules_map_free(&c.leafmap);
    rules_map_free(&c.slotmap);
    rules_map_free(&c.remap);
    rules_map_free(&c.anonbits);
    rules_map_free(&c.predmap);
    xw_buf_free(&c.key);
    xw_free(c.leaves);
    xw_free(c.dict);
    xw_free(c.lists);
    xw_free(c.macros);
    rules_arena_free(&c.tmp);
    return rc;
}

void rules_set_free(rules_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nregexes; i++)
        pcre2_code_free(s->regexes[i]);
    for (size_t i = 0; i < s->nregroups; i++)
        pcre2_code_free(s->regroups[i].re);
    xw_free(s->regexes);
    pcre2_match_context_free(s->mctx);
    rules_map_free(&s->dict);
    xw_free(s->masks);
    xw_free(s->bloom);
    rules_arena_free(&s->arena);
    rules_arena_free(&s->code);
    xw_free(s);
}

size_t rules_set_rule_count(const rules_set *s) { return s ? s->nrules : 0; }

/* Whether an error since diagnostic `from` is about a name that is not defined (an unknown
 * macro or list, an override of nothing): with files or items left out, it may be a
 * consequence, and a note says so. */
static void note_left_out(rules_diags *d, size_t from, const char *file, const char *what)
{
    static const char *const kinds[] = {"unknown macro '", "unknown list '", "which no earlier file defines"};
    for (size_t i = from; i < d->n; i++)
        for (size_t k = 0; k < 3; k++)
            if (d->v[i].level == RULES_DIAG_ERROR && strstr(d->v[i].msg, kinds[k])) {
                rules_diags_add(d, RULES_DIAG_NOTE, file, 0, 0,
                                "%s were left out of the later checks; a name they define is unknown to the "
                                "others",
                                what);
                return;
            }
}

int rules_set_compile(const rules_source *src, size_t n, const rules_limits *lim, rules_set **out,
                      rules_diags *d)
{
    *out = NULL;
    rules_set *s = xw_calloc(1, sizeof *s);
    if (!s)
        return XW_ENOMEM;
    if (lim)
        s->lim = *lim;
    else
        rules_limits_default(&s->lim);
    rules_arena_init(&s->arena);
    rules_arena_init(&s->code);
    rules_defs defs = {0};
    int rc = XW_OK;
    size_t e0 = d->errors;
    if (n > s->lim.max_files) {
        rules_diags_add(d, RULES_DIAG_ERROR, src[0].name, 0, 0, "%zu files, more than the limit of %zu", n,
                        s->lim.max_files);
        rc = XW_ELIMIT;
        goto out;
    }
    defs.trees = xw_calloc(n + 1, sizeof *defs.trees);
    if (!defs.trees) {
        rc = XW_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && rc == XW_OK; i++) {
        /* names live in the set arena: diagnostics and rules point at them */
        size_t before = d->errors;
        const char *name = rules_arena_strndup(&s->arena, src[i].name, strlen(src[i].name));
        rules_node *t = name ? rules_yaml_load(name, src[i].data, src[i].len, &s->lim, d) : NULL;
        if (t)
            defs.trees[defs.ntrees++] = t;
        else if (d->errors == before)
            rc = XW_ENOMEM;
    }
    /* every stage runs over what the earlier ones accepted, so that the errors of every file
     * are reported (a file or item with errors is left out of the later stages) */
    if (rc == XW_OK) {
        size_t e1 = d->errors, n1 = d->n;
        int brc = rules_defs_build(&defs, defs.trees, defs.ntrees, &s->lim, d);
        size_t e2 = d->errors, n2 = d->n;
        int crc = compile_defs(s, &defs, d, e2 > e0);
        rc = e1 > e0 ? XW_ERULES_SYNTAX : brc != XW_OK ? brc : crc;
        if (e2 > e0)
            note_left_out(d, e1 > e0 ? n1 : n2, src[0].name, "files and items with errors");
    }
out:
    rules_defs_free(&defs);
    if (rc != XW_OK || d->errors > e0) {
        rules_set_free(s);
        return rc != XW_OK ? rc : XW_ERULES_COMPILE;
    }
    *out = s;
    return XW_OK;
}

int rules_set_load_files(const char *const *paths, size_t n, const rules_limits *lim, rules_set **out,
                         rules_diags *d)
{
    rules_limits dl;
    if (!lim) {
        rules_limits_default(&dl);
        lim = &dl;
    }
    *out = NULL;
    if (n > lim->max_files) {
        rules_diags_add(d, RULES_DIAG_ERROR, n ? paths[0] : NULL, 0, 0,
                        "%zu files, more than the limit of %zu", n, lim->max_files);
        return XW_ELIMIT;
    }
    rules_source *src = xw_calloc(n + 1, sizeof *src);
    if (!src)
        return XW_ENOMEM;
    int rc = XW_OK;
    for (size_t i = 0; i < n; i++) {
        src[i].name = paths[i];
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            rules_diags_add(d, RULES_DIAG_ERROR, paths[i], 0, 0, "cannot open the file: %s", strerror(errno));
            rc = XW_EIO;
            continue;
        }
        char *buf = xw_malloc(lim->max_file_bytes + 1);
        size_t got = buf ? fread(buf, 1, lim->max_file_bytes + 1, f) : 0;
        int rerr = ferror(f);
        fclose(f);
        if (!buf || rerr) {
            rules_diags_add(d, RULES_DIAG_ERROR, paths[i], 0, 0, "cannot read the file");
            xw_free(buf);
            rc = XW_EIO;
            continue;
        }
        if (got > lim->max_file_bytes) {
            rules_diags_add(d, RULES_DIAG_ERROR, paths[i], 0, 0,
                            "file is larger than the limit of %zu bytes; split it into several files",
                            lim->max_file_bytes);
            xw_free(buf);
            rc = XW_ETOOBIG;
            continue;
        }
        src[i].data = buf;
        src[i].len = got;
    }
    /* the files that could be read are checked too, so that their errors are reported; the
     * set is not used when a file is missing */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (src[i].data)
            src[m++] = src[i];
    if (m > 0 && (rc == XW_OK || rc == XW_EIO || rc == XW_ETOOBIG)) {
        size_t n0 = d->n;
        int crc = rules_set_compile(src, m, lim, out, d);
        if (rc == XW_OK) {
            rc = crc;
        } else {
            rules_set_free(*out);
            *out = NULL;
            note_left_out(d, n0, src[0].name, "files that could not be read");
        }
    }
    for (size_t i = 0; i < m; i++)
        xw_free((void *)src[i].data);
    xw_free(src);
    return rc;
}

void rules_set_describe_needs(const rules_set *s, rules_diags *d)
{
    for (size_t i = 0; i < s->nrules; i++) {
        const rules_crule *r = &s->rules[i];
        if (!r->enabled || !r->needs)
            continue;
        rules_diags_add(d, RULES_DIAG_NOTE, r->file, r->line, r->col,
                        "rule '%s' needs the bot to be a%s admin; it is inert in groups where it is not",
                        r->id, r->needs == 2 ? " super" : "n");
    }
}
