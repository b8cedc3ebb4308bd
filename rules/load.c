/*
 * YAML to a node tree with positions (libyaml's event parser).
 *
 * Every node keeps the 1-based line and column where it starts, so that every later error
 * (an unknown key, a type error, a bad regex inside a condition) can point at file:line:col.
 * Limits: the file size is checked before parsing, nesting depth and node count while
 * building. Anchors and aliases are refused (a rule file has no use for them, and aliases
 * are how a small file becomes a huge tree). Duplicate keys in a mapping are an error.
 */
#include <string.h>
#include <yaml.h>

#include "common/alloc.h"
#include "rules/rules_int.h"

#define MAX_NODES 2000000

typedef struct {
    const char *file;
    const char *data;
    size_t len;
    const rules_limits *lim;
    rules_diags *d;
    size_t nodes;
    int failed;
} loader;

void rules_node_free(rules_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        rules_node_free(n->kids[i]);
    xw_free(n->kids);
    xw_free(n->s);
    xw_free(n);
}

static rules_node *node_new(loader *L, rules_node_type t, const yaml_mark_t *m)
{
    if (++L->nodes > MAX_NODES) {
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, (int)m->line + 1, (int)m->column + 1,
                        "the file has more than %d YAML nodes; split it into smaller files", MAX_NODES);
        return NULL;
    }
    rules_node *n = xw_calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->t = t;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    n->file = L->file;
    n->src = L->data;
    n->srclen = L->len;
    return n;
}

static int node_push(rules_node *p, rules_node *k)
{
    if ((p->n & (p->n - 1)) == 0) { /* grow at powers of two */
        size_t nc = p->n ? p->n * 2 : 4;
        rules_node **kids = xw_realloc(p->kids, nc * sizeof *kids);
        if (!kids)
            return -1;
        p->kids = kids;
    }
    p->kids[p->n++] = k;
    return 0;
}

/* Line and column (in characters, as libyaml's marks) of a byte offset. */
static void offset_pos(const loader *L, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < L->len; i++) {
        if (L->data[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)L->data[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

/* Reports the first byte that is not valid UTF-8, where it is (libyaml's reader reports
 * such errors without a position). */
static int check_utf8(loader *L)
{
    const unsigned char *s = (const unsigned char *)L->data;
    for (size_t i = 0; i < L->len;) {
        uint32_t cp;
        size_t k = s[i] < 0x80 ? 1 : rules_utf8_next(s + i, L->len - i, &cp);
        if (k == 0) {
            int line, col;
            offset_pos(L, i, &line, &col);
            rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, line, col,
                            "the file is not valid UTF-8: byte 0x%02x here does not start a valid sequence; "
                            "save the file as UTF-8",
                            s[i]);
            return -1;
        }
        i += k;
    }
    return 0;
}

static void yaml_error(loader *L, yaml_parser_t *p)
{
    if (p->error == YAML_READER_ERROR) { /* no mark: libyaml gives a byte offset (of a
                                          * character YAML does not allow: UTF-8 is checked
                                          * before) */
        int line, col;
        offset_pos(L, p->problem_offset, &line, &col);
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, line, col, "%s%s (character U+%04X); remove it",
                        p->problem ? p->problem : "invalid character",
                        p->problem && strstr(p->problem, "not allowed") ? "" : " in YAML",
                        (unsigned)(p->problem_value >= 0 ? p->problem_value : 0));
        L->failed = 1;
        return;
    }
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    const char *what = p->problem ? p->problem : "invalid YAML";
    if (p->context)
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, (int)m->line + 1, (int)m->column + 1,
                        "YAML syntax error: %s %s (line %d)", what, p->context,
                        (int)p->context_mark.line + 1);
    else
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, (int)m->line + 1, (int)m->column + 1,
                        "YAML syntax error: %s", what);
    L->failed = 1;
}

/* Parses the node that starts with event ev (already taken). */
static rules_node *parse_node(loader *L, yaml_parser_t *p, yaml_event_t *ev, int depth);

static int check_dup(loader *L, const rules_node *map, const rules_node *key)
{
    if (key->t != RN_SCALAR) {
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, key->line, key->col,
                        "a mapping key must be a plain word, not a list or mapping");
        return -1;
    }
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const rules_node *k = map->kids[i];
        if (k->len == key->len && memcmp(k->s, key->s, key->len) == 0) {
            rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, key->line, key->col,
                            "duplicate key '%s' (first at line %d); keep one of them", key->s, k->line);
            return -1;
        }
    }
    return 0;
}

static rules_node *parse_collection(loader *L, yaml_parser_t *p, rules_node *n, int depth,
                                    yaml_event_type_t end)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev)) {
            yaml_error(L, p);
            rules_node_free(n);
            return NULL;
        }
        if (ev.type == end) {
            yaml_event_delete(&ev);
            break;
        }
        rules_node *k = parse_node(L, p, &ev, depth + 1);
        if (!k) {
            rules_node_free(n);
            return NULL;
        }
        if (n->t == RN_MAP && (n->n % 2) == 0 && check_dup(L, n, k) != 0) {
            L->failed = 1;
            rules_node_free(k);
            rules_node_free(n);
            return NULL;
        }
        if (node_push(n, k) != 0) {
            rules_node_free(k);
            rules_node_free(n);
            return NULL;
        }
    }
    return n;
}

static rules_node *parse_node(loader *L, yaml_parser_t *p, yaml_event_t *ev, int depth)
{
    rules_node *n = NULL;
    const yaml_mark_t *m = &ev->start_mark;
    if (depth > L->lim->max_depth) {
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, (int)m->line + 1, (int)m->column + 1,
                        "nesting deeper than %d levels; flatten this part", L->lim->max_depth);
        L->failed = 1;
        yaml_event_delete(ev);
        return NULL;
    }
    const unsigned char *anchor = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        break;
    default:
        break;
    }
    if (anchor || ev->type == YAML_ALIAS_EVENT) {
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, (int)m->line + 1, (int)m->column + 1,
                        "YAML anchors and aliases are not supported in rule files; use a list or a macro");
        L->failed = 1;
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = node_new(L, RN_SCALAR, m);
        if (n) {
            n->len = ev->data.scalar.length;
            n->s = xw_strndup((const char *)ev->data.scalar.value, n->len);
            n->style = ev->data.scalar.style;
            n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                        ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                        ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                        ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
            if (!n->s || memchr(n->s, 0, n->len)) {
                if (n->s)
                    rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, n->line, n->col,
                                    "text contains a NUL character");
                L->failed = 1;
                rules_node_free(n);
                n = NULL;
            }
        }
        yaml_event_delete(ev);
        return n;
    case YAML_SEQUENCE_START_EVENT:
        n = node_new(L, RN_SEQ, m);
        yaml_event_delete(ev);
        return n ? parse_collection(L, p, n, depth, YAML_SEQUENCE_END_EVENT) : NULL;
    case YAML_MAPPING_START_EVENT:
        n = node_new(L, RN_MAP, m);
        yaml_event_delete(ev);
        return n ? parse_collection(L, p, n, depth, YAML_MAPPING_END_EVENT) : NULL;
    default:
        rules_diags_add(L->d, RULES_DIAG_ERROR, L->file, (int)m->line + 1, (int)m->column + 1,
                        "unexpected YAML structure");
        L->failed = 1;
        yaml_event_delete(ev);
        return NULL;
    }
}

rules_node *rules_yaml_load(const char *file, const char *data, size_t len, const rules_limits *lim,
                            rules_diags *d)
{
    loader L = {file, data, len, lim, d, 0, 0};
    size_t e0 = d->errors;
    if (len > lim->max_file_bytes) {
        rules_diags_add(d, RULES_DIAG_ERROR, file, 0, 0,
                        "file is %zu bytes, more than the limit of %zu; split it into several files", len,
                        lim->max_file_bytes);
        return NULL;
    }
    if (check_utf8(&L) != 0)
        return NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return NULL;
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    rules_node *root = NULL;
    int docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            yaml_error(&L, &p);
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            if (++docs > 1) {
                rules_diags_add(d, RULES_DIAG_ERROR, file, (int)ev.start_mark.line + 1,
                                (int)ev.start_mark.column + 1,
                                "a rule file holds one YAML document; put the second one in its own file");
                yaml_event_delete(&ev);
                L.failed = 1;
                break;
            }
            yaml_event_delete(&ev);
            continue;
        }
        rules_node *n = parse_node(&L, &p, &ev, 0);
        if (!n) {
            L.failed = 1;
            break;
        }
        root = n;
    }
    yaml_parser_delete(&p);
    if (L.failed) {
        rules_node_free(root);
        if (d->errors == e0)
            rules_diags_add(d, RULES_DIAG_ERROR, file, 0, 0, "out of memory while reading the file");
        return NULL;
    }
    if (!root) { /* an empty file is an empty sequence */
        yaml_mark_t m = {0, 0, 0};
        root = node_new(&L, RN_SEQ, &m);
    }
    return root;
}

void rules_node_pos(const rules_node *n, size_t off, int *line, int *col)
{
    *line = n->line;
    *col = n->col;
    if (n->t != RN_SCALAR)
        return;
    size_t nl = 0, lastnl = 0;
    for (size_t i = 0; i < off && i < n->len; i++)
        if (n->s[i] == '\n') {
            nl++;
            lastnl = i + 1;
        }
    if (n->style == YAML_LITERAL_SCALAR_STYLE && n->src) {
        /* content starts on the line after the indicator; find that line's indentation */
        int target = n->line + 1 + (int)nl;
        int ln = 1;
        size_t i = 0;
        while (i < n->srclen && ln < n->line + 1) { /* the block's indentation: its first line */
            if (n->src[i] == '\n')
                ln++;
            i++;
        }
        int indent = 0;
        while (i < n->srclen && n->src[i] == ' ') {
            indent++;
            i++;
        }
        *line = target;
        *col = indent + 1 + (int)(off - lastnl);
        return;
    }
    if (nl == 0 && (n->style == YAML_PLAIN_SCALAR_STYLE || n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)) {
        int q = n->style == YAML_PLAIN_SCALAR_STYLE ? 0 : 1;
        *col = n->col + q + (int)off; /* exact unless the quoted text had escapes before off */
    }
}
