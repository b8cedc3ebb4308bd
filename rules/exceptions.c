/*
 * Exceptions in Falco's shape, compiled to a predicate that compile.c attaches to the rule
 * as `and not (...)`.
 *
 * One field (`fields: sender.inbox_id`): `values` is a flat list and the comparison defaults
 * to `in` (list names allowed). Several fields: `comps` has one comparison per field
 * (default `=`) and each value is a tuple with one value per field; a tuple item for `in`
 * or `intersects` may be a list. YAML values are read with the field's type (numbers,
 * durations, booleans); quoted values are always text. Values appended by a later file's
 * override are OR-ed in like the others.
 */
#include <string.h>

#include "rules/compile_int.h"

/* A YAML scalar or list as a right-hand value for field type t. */
static rules_aval *yaml_aval(rules_cctx *c, const rules_node *v, rules_type t, rules_op op)
{
    rules_aval *a = xw_arena_alloc(&c->tmp, sizeof *a);
    if (!a)
        return NULL;
    c->fixed = v;
    if (v->t == RN_SEQ) {
        if (op != OP_IN && op != OP_INTERSECTS && op < OP_CONTAINS) {
            rules_cerr(c, 0, "a list of values needs the comparison `in` or `intersects`");
            return NULL;
        }
        a->k = AV_LIST;
        a->items = xw_arena_alloc(&c->tmp, (v->n + 1) * sizeof *a->items);
        if (!a->items)
            return NULL;
        for (size_t i = 0; i < v->n; i++) {
            rules_aval *it = yaml_aval(c, v->kids[i], t == RULES_T_LIST ? RULES_T_STR : t, op);
            if (!it || it->k == AV_LIST)
                return NULL;
            a->items[a->nitems++] = *it;
        }
        c->fixed = v;
        return a;
    }
    if (v->t != RN_SCALAR) {
        rules_cerr(c, 0, "an exception value must be a value or a list of values");
        return NULL;
    }
    a->s = v->s;
    a->len = v->len;
    a->k = AV_STR;
    if (v->quoted)
        return a;
    if ((op == OP_IN || op == OP_INTERSECTS) && rules_find_list(c, v->s, v->len) >= 0) {
        a->k = AV_IDENT;
        return a;
    }
    if (t == RULES_T_BOOL && (strcmp(v->s, "true") == 0 || strcmp(v->s, "false") == 0)) {
        a->k = AV_BOOL;
        a->num = strcmp(v->s, "true") == 0;
    } else if (t == RULES_T_INT) { /* an integer as written (not through the seconds of a duration) */
        rules_lexer lx;
        rules_lexer_init(&lx, v->s, v->len, &c->tmp);
        rules_tok n = rules_lex_next(&lx);
        rules_tok e = rules_lex_next(&lx);
        if (n.k == TK_ERROR && n.too_large && strspn(v->s, "-0123456789") == v->len) {
            rules_cerr(c, 0, "'%s' is too large; the largest number is " RULES_NUM_MAX_TEXT, v->s);
            return NULL;
        }
        if (n.k != TK_NUMBER || e.k != TK_EOF) {
            rules_cerr(c, 0, "'%s' is not a number", v->s);
            return NULL;
        }
        a->k = AV_NUM;
        a->num = n.num;
    } else if (t == RULES_T_DUR) {
        int rc = rules_parse_duration(v, &a->num);
        if (rc == -2) {
            rules_cerr(c, 0, "'%s' is too large; the longest duration is " RULES_DUR_MAX_TEXT, v->s);
            return NULL;
        }
        if (rc != 0) {
            rules_cerr(c, 0, "'%s' is not a duration", v->s);
            return NULL;
        }
        a->k = AV_DUR;
    }
    return a;
}

static rules_op comp_op(const char *s)
{
    static const char *names[] = {"",      "=",        "!=",        "<",          "<=",       ">",
                                  ">=",    "contains", "icontains", "startswith", "endswith", "glob",
                                  "iglob", "regex",    "in",        "intersects", "exists"};
    if (strcmp(s, "==") == 0)
        return OP_EQ;
    for (int i = 1; i <= OP_INTERSECTS; i++)
        if (strcmp(names[i], s) == 0)
            return (rules_op)i;
    return OP_NONE;
}

static rules_cnode *field_pred(rules_cctx *c, const rules_node *fieldn, rules_op op, const rules_node *val)
{
    c->fixed = fieldn;
    int f = fieldn->t == RN_SCALAR ? rules_field_lookup(fieldn->s, fieldn->len) : -1;
    if (f < 0) {
        rules_cerr(c, 0, "unknown field '%s' in an exception",
                   fieldn->t == RN_SCALAR ? fieldn->s : "(not text)");
        return NULL;
    }
    if (rules_count_term(c, 0) != 0)
        return NULL;
    rules_aop lhs = {AO_FIELD, 0, fieldn->s, fieldn->len, NULL, 0};
    rules_aval *rhs = yaml_aval(c, val, rules_field_type((rules_field)f), op);
    if (!rhs)
        return NULL;
    c->fixed = val;
    return rules_compile_pred(c, &lhs, op, rhs, 0);
}

/* Appends the tests of exception e to `any`; -1 on error (reported). */
static int exception_values(rules_cctx *c, const rules_exception_def *e, rules_chain *any)
{
    const rules_node *vals[RULES_MAX_FRAGS + 1];
    size_t nv = 0;
    if (e->values)
        vals[nv++] = e->values;
    for (size_t i = 0; i < e->nextra; i++)
        vals[nv++] = e->values_extra[i];
    if (e->fields->t == RN_SCALAR) { /* one field: values is a flat list */
        rules_op op = OP_IN;
        if (e->comps) {
            op = e->comps->t == RN_SCALAR ? comp_op(e->comps->s) : OP_NONE;
            if (op == OP_NONE) {
                c->fixed = e->comps;
                rules_cerr(c, 0, "unknown comparison in comps; use =, !=, in, contains, startswith, ...");
                return -1;
            }
        }
        for (size_t i = 0; i < nv; i++) {
            if (vals[i]->t != RN_SEQ) {
                c->fixed = vals[i];
                rules_cerr(c, 0, "exception values must be a list");
                return -1;
            }
            if (op == OP_IN || op == OP_INTERSECTS) {
                if (vals[i]->n == 0)
                    continue;
                rules_cnode *p = field_pred(c, e->fields, op, vals[i]);
                if (!p)
                    return -1;
                rules_chain_push(c, any, p);
            } else {
                for (size_t j = 0; j < vals[i]->n; j++) {
                    rules_cnode *p = field_pred(c, e->fields, op, vals[i]->kids[j]);
                    if (!p)
                        return -1;
                    rules_chain_push(c, any, p);
                }
            }
        }
        return 0;
    }
    if (e->fields->t != RN_SEQ || e->fields->n == 0 || e->fields->n > 16) {
        c->fixed = e->fields;
        rules_cerr(c, 0, "exception fields must be a field name or a list of 1 to 16 field names");
        return -1;
    }
    size_t nf = e->fields->n;
    rules_op ops[16];
    for (size_t i = 0; i < nf; i++) {
        ops[i] = OP_EQ;
        if (!e->comps)
            continue;
        if (e->comps->t != RN_SEQ || e->comps->n != nf) {
            c->fixed = e->comps;
            rules_cerr(c, 0, "comps must be a list with one comparison per field (%zu)", nf);
            return -1;
        }
        const rules_node *cn = e->comps->kids[i];
        ops[i] = cn->t == RN_SCALAR ? comp_op(cn->s) : OP_NONE;
        if (ops[i] == OP_NONE) {
            c->fixed = cn;
            rules_cerr(c, 0, "unknown comparison '%s' in comps", cn->t == RN_SCALAR ? cn->s : "?");
            return -1;
        }
    }
    for (size_t i = 0; i < nv; i++) {
        if (vals[i]->t != RN_SEQ) {
            c->fixed = vals[i];
            rules_cerr(c, 0, "exception values must be a list of tuples, e.g. - [alice, g1]");
            return -1;
        }
        for (size_t j = 0; j < vals[i]->n; j++) {
            const rules_node *tup = vals[i]->kids[j];
            if (tup->t != RN_SEQ || tup->n != nf) {
                c->fixed = tup;
                rules_cerr(c, 0, "each exception value must be a list of %zu values, one per field", nf);
                return -1;
            }
            rules_chain all;
            rules_chain_init(&all, CN_AND);
            for (size_t k = 0; k < nf && !all.failed; k++)
                rules_chain_push(c, &all, field_pred(c, e->fields->kids[k], ops[k], tup->kids[k]));
            rules_cnode *conj = rules_chain_end(c, &all);
            if (!conj)
                return -1;
            rules_chain_push(c, any, conj);
        }
    }
    return 0;
}

/* One exception to a predicate, an `or` of its values (NULL with no values: Falco allows
 * values added later). */
rules_cnode *rules_compile_exception(rules_cctx *c, const rules_exception_def *e, int *err)
{
    rules_chain any;
    rules_chain_init(&any, CN_OR);
    *err = exception_values(c, e, &any) != 0 || any.failed;
    rules_cnode *r = rules_chain_end(c, &any);
    return *err ? NULL : r;
}
