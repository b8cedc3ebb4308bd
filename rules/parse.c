/*
 * Condition text to AST: a recursive-descent parser with Falco's precedence
 * (`not` binds tighter than `and`, which binds tighter than `or`).
 *
 *   expr    := and { "or" and }
 *   and     := unary { "and" unary }
 *   unary   := "not" unary | "(" expr ")" | "true" | "false" | pred
 *   pred    := operand [ cmp value | strop value | ("in"|"intersects") value | "exists" ]
 *   operand := IDENT | lower(operand) | len(operand) | rate(IDENT, DURATION [, expr])
 *            | first_message(IDENT)
 *   value   := STRING | NUMBER | DURATION | true | false | IDENT | "(" value { "," value } ")"
 *
 * A bare IDENT without an operator is a macro reference or a boolean field (compile.c
 * decides). Nesting is bounded; every error carries the byte offset where it happened.
 */
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

typedef struct {
    rules_lexer lx;
    rules_tok cur;
    rules_arena *arena;
    int depth, max_depth;
    size_t err_off;
    xw_errbuf *eb;
    int failed;
} parser;

static const char *op_names[] = {"",      "=",        "!=",        "<",          "<=",       ">",
                                 ">=",    "contains", "icontains", "startswith", "endswith", "glob",
                                 "iglob", "regex",    "in",        "intersects", "exists"};

const char *rules_op_name(rules_op op) { return (unsigned)op <= OP_EXISTS ? op_names[op] : "?"; }

static void advance(parser *p)
{
    p->cur = rules_lex_next(&p->lx);
    if (p->cur.k == TK_ERROR && !p->failed) {
        p->failed = 1;
        p->err_off = p->cur.off;
        xw_errf(p->eb, XW_ERULES_SYNTAX, "%s", p->cur.err);
    }
}

static void *fail(parser *p, size_t off, const char *msg)
{
    if (!p->failed) {
        p->failed = 1;
        p->err_off = off;
        xw_errf(p->eb, XW_ERULES_SYNTAX, "%s", msg);
    }
    return NULL;
}

static int kw(parser *p, const char *w)
{
    return p->cur.k == TK_IDENT && p->cur.len == strlen(w) &&
           memcmp(p->lx.text + p->cur.off, w, p->cur.len) == 0;
}

static rules_op str_op(parser *p)
{
    static const struct {
        const char *w;
        rules_op op;
    } ops[] = {{"contains", OP_CONTAINS},
               {"icontains", OP_ICONTAINS},
               {"startswith", OP_STARTSWITH},
               {"endswith", OP_ENDSWITH},
               {"glob", OP_GLOB},
               {"iglob", OP_IGLOB},
               {"regex", OP_REGEX},
               {"in", OP_IN},
               {"intersects", OP_INTERSECTS},
               {"exists", OP_EXISTS}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (kw(p, ops[i].w))
            return ops[i].op;
    switch (p->cur.k) {
    case TK_EQ:
        return OP_EQ;
    case TK_NE:
        return OP_NE;
    case TK_LT:
        return OP_LT;
    case TK_LE:
        return OP_LE;
    case TK_GT:
        return OP_GT;
    case TK_GE:
        return OP_GE;
    default:
        return OP_NONE;
    }
}

static int is_keyword(parser *p)
{
    static const char *kws[] = {"and",    "or",       "not",       "in",         "intersects",
                                "exists", "contains", "icontains", "startswith", "endswith",
                                "glob",   "iglob",    "regex"};
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
        if (kw(p, kws[i]))
            return 1;
    return 0;
}

static rules_anode *parse_or(parser *p);

static rules_aop *parse_operand(parser *p)
{
    if (p->cur.k != TK_IDENT || is_keyword(p))
        return fail(p, p->cur.off, "expected a field such as sender.inbox_id, a function or a macro name");
    if (++p->depth > p->max_depth)
        return fail(p, p->cur.off, "expression nested too deeply");
    rules_aop *o = rules_arena_alloc(p->arena, sizeof *o);
    if (!o)
        return fail(p, p->cur.off, "out of memory");
    o->off = p->cur.off;
    o->name = p->lx.text + p->cur.off;
    o->len = p->cur.len;
    o->k = AO_FIELD;
    rules_tok name = p->cur;
    advance(p);
    if (p->cur.k != TK_LPAREN) {
        p->depth--;
        return o;
    }
    static const struct {
        const char *n;
        rules_aop_kind k;
    } fns[] = {{"lower", AO_LOWER}, {"len", AO_LEN}, {"rate", AO_RATE}, {"first_message", AO_FIRST}};
    int found = 0;
    for (size_t i = 0; i < 4; i++)
        if (name.len == strlen(fns[i].n) && memcmp(o->name, fns[i].n, name.len) == 0) {
            o->k = fns[i].k;
            found = 1;
        }
    if (!found)
        return fail(p, name.off,
                    "unknown function; the functions are lower(), len(), rate() and first_message()");
    advance(p);
    o->arg = parse_operand(p);
    if (!o->arg)
        return NULL;
    if (o->k == AO_RATE) {
        if (p->cur.k != TK_COMMA)
            return fail(p, p->cur.off, "rate() takes a key and a window, e.g. rate(sender.inbox_id, 60s)");
        advance(p);
        if (p->cur.k != TK_DURATION || p->cur.num <= 0)
            return fail(p, p->cur.off,
                        "the window of rate() must be a positive duration such as 60s, 5m or 1h");
        o->window_ns = p->cur.num;
        advance(p);
        if (p->cur.k == TK_COMMA) { /* rate(KEY, WINDOW, GUARD) */
            advance(p);
            size_t gs = p->cur.off;
            o->guard = parse_or(p);
            if (!o->guard)
                return NULL;
            o->gtext = p->lx.text + gs;
            o->glen = p->cur.off > gs ? p->cur.off - gs : 0;
        }
    }
    if (p->cur.k != TK_RPAREN)
        return fail(p, p->cur.off, "expected ')' to close the function call");
    advance(p);
    p->depth--;
    return o;
}

static rules_aval *parse_value(parser *p, int allow_list)
{
    rules_aval *v = rules_arena_alloc(p->arena, sizeof *v);
    if (!v)
        return fail(p, p->cur.off, "out of memory");
    v->off = p->cur.off;
    switch (p->cur.k) {
    case TK_STRING:
        v->k = AV_STR;
        v->s = p->cur.str;
        v->len = p->cur.slen;
        break;
    case TK_NUMBER:
        v->k = AV_NUM;
        v->num = p->cur.num;
        break;
    case TK_DURATION:
        v->k = AV_DUR;
        v->num = p->cur.num;
        break;
    case TK_IDENT:
        if (kw(p, "true") || kw(p, "false")) {
            v->k = AV_BOOL;
            v->num = kw(p, "true");
        } else {
            v->k = AV_IDENT;
            v->s = p->lx.text + p->cur.off;
            v->len = p->cur.len;
        }
        break;
    case TK_LPAREN: {
        if (!allow_list)
            return fail(p, p->cur.off, "a list cannot be nested inside a list");
        v->k = AV_LIST;
        advance(p);
        size_t cap = 0;
        while (p->cur.k != TK_RPAREN) {
            if (v->nitems && p->cur.k == TK_COMMA)
                advance(p);
            else if (v->nitems)
                return fail(p, p->cur.off, "expected ',' or ')' in the list");
            rules_aval *it = parse_value(p, 0);
            if (!it)
                return NULL;
            if (v->nitems == cap) {
                size_t nc = cap ? cap * 2 : 8;
                rules_aval *ni = rules_arena_alloc(p->arena, nc * sizeof *ni);
                if (!ni)
                    return fail(p, p->cur.off, "out of memory");
                if (v->nitems)
                    memcpy(ni, v->items, v->nitems * sizeof *ni);
                v->items = ni;
                cap = nc;
            }
            v->items[v->nitems++] = *it;
        }
        break;
    }
    default:
        return fail(p, p->cur.off,
                    "expected a value: a \"string\", a number, a duration, a list name or (a, b)");
    }
    if (p->failed)
        return NULL;
    advance(p);
    return v;
}

static rules_anode *node(parser *p, rules_anode_kind k, size_t off)
{
    rules_anode *n = rules_arena_alloc(p->arena, sizeof *n);
    if (!n)
        return fail(p, off, "out of memory");
    n->k = k;
    n->off = off;
    return n;
}

static rules_anode *parse_unary(parser *p)
{
    if (p->failed)
        return NULL;
    if (++p->depth > p->max_depth)
        return fail(p, p->cur.off, "expression nested too deeply");
    rules_anode *n = NULL;
    size_t off = p->cur.off;
    if (kw(p, "not")) {
        advance(p);
        rules_anode *a = parse_unary(p);
        if (!a)
            return NULL;
        n = node(p, AN_NOT, off);
        if (n)
            n->a = a;
    } else if (p->cur.k == TK_LPAREN) {
        advance(p);
        n = parse_or(p);
        if (!n)
            return NULL;
        if (p->cur.k != TK_RPAREN)
            return fail(p, p->cur.off, "expected ')'");
        advance(p);
    } else if (kw(p, "true") || kw(p, "false")) {
        n = node(p, AN_CONST, off);
        if (n)
            n->cval = kw(p, "true");
        advance(p);
    } else {
        rules_aop *lhs = parse_operand(p);
        if (!lhs)
            return NULL;
        rules_op op = str_op(p);
        if (op == OP_NONE) {
            n = node(p, lhs->k == AO_FIELD ? AN_MACRO : AN_PRED, off);
            if (n) {
                n->lhs = lhs;
                n->name = lhs->name;
                n->len = lhs->len;
            }
        } else {
            size_t opoff = p->cur.off;
            advance(p);
            n = node(p, AN_PRED, off);
            if (!n)
                return NULL;
            n->lhs = lhs;
            n->op = op;
            n->off = opoff;
            if (op != OP_EXISTS) {
                n->rhs = parse_value(p, 1);
                if (!n->rhs)
                    return NULL;
            }
        }
    }
    p->depth--;
    return p->failed ? NULL : n;
}

/* A left-associative chain of `operand op operand op ...`, as nodes of kind k. */
static rules_anode *parse_chain(parser *p, const char *op, rules_anode_kind k,
                                rules_anode *(*operand)(parser *))
{
    rules_anode *l = operand(p);
    while (l && kw(p, op)) {
        size_t off = p->cur.off;
        advance(p);
        rules_anode *r = operand(p);
        if (!r)
            return NULL;
        rules_anode *n = node(p, k, off);
        if (!n)
            return NULL;
        n->a = l;
        n->b = r;
        l = n;
    }
    return l;
}

static rules_anode *parse_and(parser *p) { return parse_chain(p, "and", AN_AND, parse_unary); }

static rules_anode *parse_or(parser *p) { return parse_chain(p, "or", AN_OR, parse_and); }

rules_anode *rules_parse_expr(const char *text, size_t len, rules_arena *arena, int max_depth,
                              size_t *err_off, xw_errbuf *eb)
{
    parser p = {0};
    rules_lexer_init(&p.lx, text, len, arena);
    p.arena = arena;
    p.max_depth = max_depth;
    p.eb = eb;
    advance(&p);
    rules_anode *n = NULL;
    if (!p.failed) {
        if (p.cur.k == TK_EOF)
            fail(&p, 0, "the condition is empty");
        else
            n = parse_or(&p);
    }
    if (n && !p.failed && p.cur.k != TK_EOF) {
        if (p.cur.k == TK_IDENT && str_op(&p) == OP_NONE)
            fail(&p, p.cur.off, "expected `and`, `or` or the end of the condition (an operator is missing?)");
        else
            fail(&p, p.cur.off, "unexpected text after the end of the condition");
    }
    if (p.failed) {
        *err_off = p.err_off;
        return NULL;
    }
    return n;
}

int rules_expr_check(const char *text, size_t len, xw_errbuf *eb)
{
    rules_arena a;
    rules_arena_init(&a);
    size_t off = 0;
    xw_errbuf local;
    rules_anode *n = rules_parse_expr(text, len, &a, 64, &off, &local);
    rules_arena_free(&a);
    if (!n)
        return xw_errf(eb, XW_ERULES_SYNTAX, "at offset %zu: %s", off, local.msg);
    return XW_OK;
}
