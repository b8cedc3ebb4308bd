/*
 * The configuration file: YAML (libyaml) walked against the key table.
 *
 * Two passes. The first reads libyaml's events only, to refuse before anything is built
 * what the second must not see: syntax errors, anchors and aliases (a configuration has no
 * use for them, and aliases are how a small file becomes a huge tree), nesting deeper than
 * MAX_DEPTH, more than MAX_NODES nodes, more than one document. The second loads the
 * document and walks it: a mapping key is a key of the table, a section (a prefix of
 * keys: sink, sink.kafka, ...) or an error with a "did you mean". Every node carries its
 * line and column, so every error says file:line:col (1-based).
 */
#include <string.h>
#include <yaml.h>

#include "worker/config_int.h"

#define MAX_DEPTH 16
#define MAX_NODES 20000
#define MAX_PATH 128

static void where_of(const wk_loader *L, const yaml_mark_t *m, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%zu:%zu", L->file, m->line + 1, m->column + 1);
}

static void yaml_error(wk_loader *L, const yaml_parser_t *p)
{
    char w[300];
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    where_of(L, m, w, sizeof w);
    if (p->context)
        wk_diags_add(L->d, 0, w, "YAML syntax error: %s %s (line %zu)",
                     p->problem ? p->problem : "invalid YAML", p->context, p->context_mark.line + 1);
    else
        wk_diags_add(L->d, 0, w, "YAML syntax error: %s", p->problem ? p->problem : "invalid YAML");
}

/* Pass 1: events only. 0 if the document may be loaded. */
static int prepass(wk_loader *L, const char *data, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return -1;
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    int depth = 0, docs = 0, rc = 0;
    size_t nodes = 0;
    char w[300];
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            yaml_error(L, &p);
            rc = -1;
            break;
        }
        yaml_event_type_t t = ev.type;
        const unsigned char *anchor = t == YAML_SCALAR_EVENT           ? ev.data.scalar.anchor
                                      : t == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                      : t == YAML_MAPPING_START_EVENT  ? ev.data.mapping_start.anchor
                                                                       : NULL;
        where_of(L, &ev.start_mark, w, sizeof w);
        if (anchor || t == YAML_ALIAS_EVENT) {
            wk_diags_add(L->d, 0, w,
                         "YAML anchors and aliases are not supported in the configuration; "
                         "write the value out");
            rc = -1;
        } else if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            wk_diags_add(L->d, 0, w, "a second YAML document; the configuration is one document");
            rc = -1;
        } else if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH) {
                wk_diags_add(L->d, 0, w, "nesting deeper than %d levels", MAX_DEPTH);
                rc = -1;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        if (rc == 0 &&
            (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) &&
            ++nodes > MAX_NODES) {
            wk_diags_add(L->d, 0, w, "more than %d YAML nodes; this is not a configuration", MAX_NODES);
            rc = -1;
        }
        yaml_event_delete(&ev);
        if (rc != 0 || t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)n->data.scalar.value;
    size_t l = n->data.scalar.length;
    return l == 0 || (l == 1 && s[0] == '~') ||
           (l == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

static const char *type_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE    ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a single value";
}

static void set_list(wk_loader *L, yaml_document_t *doc, wk_key k, yaml_node_t *v, const char *w)
{
    const char *path = wk_keydefs[k].path;
    if (v->type != YAML_SEQUENCE_NODE) {
        wk_diags_add(L->d, 0, w,
                     "%s is a list of files; write it as [a.yaml, b.yaml] or one \"- file\" per line", path);
        return;
    }
    wk_cfg_list_reset(L, k, w);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(doc, *it);
        char iw[300];
        where_of(L, &e->start_mark, iw, sizeof iw);
        if (e->type != YAML_SCALAR_NODE) {
            wk_diags_add(L->d, 0, iw, "%s: an entry is %s; give a file path", path, type_name(e));
            continue;
        }
        if (wk_cfg_list_add(L, k, (const char *)e->data.scalar.value, e->data.scalar.length, iw) != 0)
            break;
    }
}

static void set_map(wk_loader *L, yaml_document_t *doc, wk_key k, yaml_node_t *v, const char *w)
{
    const char *path = wk_keydefs[k].path;
    if (is_null(v))
        return; /* "properties:" with nothing under it */
    if (v->type != YAML_MAPPING_NODE) {
        wk_diags_add(L->d, 0, w,
                     "%s is a mapping of names to values; write one \"name: value\" per line under it", path);
        return;
    }
    yaml_node_pair_t *first = v->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = first; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
        char kw[300], vw[300];
        where_of(L, &kn->start_mark, kw, sizeof kw);
        where_of(L, &vn->start_mark, vw, sizeof vw);
        if (p - first >= wk_keydefs[k].max) {
            wk_diags_add(L->d, 0, kw, "%s: more than %lld entries", path, (long long)wk_keydefs[k].max);
            return;
        }
        if (kn->type != YAML_SCALAR_NODE || vn->type != YAML_SCALAR_NODE) {
            wk_diags_add(L->d, 0, kn->type != YAML_SCALAR_NODE ? kw : vw,
                         "%s: %s is %s; write \"name: value\"", path,
                         kn->type != YAML_SCALAR_NODE ? "a name" : "a value",
                         type_name(kn->type != YAML_SCALAR_NODE ? kn : vn));
            continue;
        }
        const char *name = (const char *)kn->data.scalar.value;
        size_t nlen = kn->data.scalar.length;
        int dup = 0;
        for (yaml_node_pair_t *q = first; q < p && !dup; q++) {
            yaml_node_t *qk = yaml_document_get_node(doc, q->key);
            if (qk->type == YAML_SCALAR_NODE && qk->data.scalar.length == nlen &&
                memcmp(qk->data.scalar.value, name, nlen) == 0) {
                wk_diags_add(L->d, 0, kw, "%s: duplicate entry %.*s (first at line %zu); keep one of them",
                             path, (int)(nlen > 80 ? 80 : nlen), name, qk->start_mark.line + 1);
                dup = 1;
            }
        }
        if (!dup)
            wk_cfg_map_put(L, k, name, nlen, (const char *)vn->data.scalar.value, vn->data.scalar.length, vw);
    }
}

static void set_key(wk_loader *L, yaml_document_t *doc, wk_key k, yaml_node_t *v)
{
    char w[300];
    where_of(L, &v->start_mark, w, sizeof w);
    const wk_keydef *kd = &wk_keydefs[k];
    if (kd->type == WK_T_LIST) {
        set_list(L, doc, k, v, w);
    } else if (kd->type == WK_T_MAP) {
        set_map(L, doc, k, v, w);
    } else if (v->type != YAML_SCALAR_NODE) {
        wk_diags_add(L->d, 0, w, "%s takes a single value, not %s", kd->path, type_name(v));
    } else if (is_null(v)) {
        wk_diags_add(L->d, 0, w, "%s has no value; give one or remove the key", kd->path);
    } else {
        wk_cfg_set(L, k, (const char *)v->data.scalar.value, v->data.scalar.length, w);
    }
}

static void unknown_key(wk_loader *L, const char *prefix, const char *name, size_t nlen, const char *w)
{
    /* the names allowed here, and a match anywhere else for a key put in the wrong place */
    const char *here[WK_K__COUNT] = {NULL};
    char buf[WK_K__COUNT][MAX_PATH];
    size_t n = 0, pl = strlen(prefix);
    for (int k = 0; k < WK_K__COUNT; k++) {
        const char *p = wk_keydefs[k].path;
        if (pl && (strncmp(p, prefix, pl) != 0 || p[pl] != '.'))
            continue;
        const char *rest = p + (pl ? pl + 1 : 0);
        size_t rl = strcspn(rest, ".");
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strlen(here[i]) == rl && memcmp(here[i], rest, rl) == 0;
        if (!seen && rl < MAX_PATH) {
            snprintf(buf[n], MAX_PATH, "%.*s", (int)rl, rest);
            here[n] = buf[n];
            n++;
        }
    }
    const char *dym = wk_did_you_mean(name, nlen, here, n);
    int shown = (int)(nlen > 80 ? 80 : nlen);
    if (dym) {
        wk_diags_add(L->d, 0, w, "unknown key %s%s%.*s; did you mean %s%s%s?", prefix, pl ? "." : "", shown,
                     name, prefix, pl ? "." : "", dym);
        return;
    }
    for (int k = 0; k < WK_K__COUNT; k++) {
        const char *p = wk_keydefs[k].path, *last = strrchr(p, '.');
        last = last ? last + 1 : p;
        if (strlen(last) == nlen && memcmp(last, name, nlen) == 0) {
            wk_diags_add(L->d, 0, w, "unknown key %s%s%.*s; did you mean %s (it belongs in section %.*s)?",
                         prefix, pl ? "." : "", shown, name, p, (int)(last - 1 - p), p);
            return;
        }
    }
    char list[512];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", here[i]);
    wk_diags_add(L->d, 0, w, "unknown key %s%s%.*s; the keys %s%s are: %s", prefix, pl ? "." : "", shown,
                 name, pl ? "of " : "at the top level", prefix, list);
}

typedef struct {
    const char *name;
    size_t len, line;
} seen_section;

static void walk(wk_loader *L, yaml_document_t *doc, yaml_node_t *map, const char *prefix)
{
    int first_line[WK_K__COUNT] = {0};
    seen_section sections[WK_MAX_SECTIONS];
    size_t nsec = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
        char w[300];
        where_of(L, &kn->start_mark, w, sizeof w);
        if (kn->type != YAML_SCALAR_NODE) {
            wk_diags_add(L->d, 0, w, "a key must be a plain word, not %s", type_name(kn));
            continue;
        }
        const char *name = (const char *)kn->data.scalar.value;
        size_t nlen = kn->data.scalar.length;
        char full[MAX_PATH];
        size_t pl = strlen(prefix);
        if (nlen == 0 || pl + 1 + nlen >= sizeof full || memchr(name, '.', nlen) ||
            memchr(name, '\0', nlen)) {
            unknown_key(L, prefix, name, nlen, w);
            continue;
        }
        int fl = snprintf(full, sizeof full, "%s%s%.*s", prefix, pl ? "." : "", (int)nlen, name);
        int k = wk_key_find(full, (size_t)fl);
        if (k >= 0) {
            if (first_line[k]) {
                wk_diags_add(L->d, 0, w, "duplicate key %s (first at line %d); keep one of them", full,
                             first_line[k]);
                continue;
            }
            first_line[k] = (int)kn->start_mark.line + 1;
            set_key(L, doc, (wk_key)k, vn);
            continue;
        }
        if (!wk_key_is_section(full, (size_t)fl)) {
            unknown_key(L, prefix, name, nlen, w);
            continue;
        }
        int dup = 0;
        for (size_t i = 0; i < nsec && !dup; i++)
            if (sections[i].len == nlen && memcmp(sections[i].name, name, nlen) == 0) {
                wk_diags_add(L->d, 0, w, "duplicate section %s (first at line %zu); merge them", full,
                             sections[i].line);
                dup = 1;
            }
        if (dup)
            continue;
        if (nsec < WK_MAX_SECTIONS)
            sections[nsec++] = (seen_section){name, nlen, kn->start_mark.line + 1};
        wk_cfg_section_seen(L, full, w);
        if (is_null(vn))
            continue;
        if (vn->type != YAML_MAPPING_NODE) {
            char vw[300];
            where_of(L, &vn->start_mark, vw, sizeof vw);
            wk_diags_add(L->d, 0, vw, "%s is a section, not a value; write its keys under it, indented",
                         full);
            continue;
        }
        walk(L, doc, vn, full);
    }
}

int wk_config_yaml_apply(wk_loader *L, const char *data, size_t len)
{
    char w[300];
    if (len > WK_CONFIG_MAX_FILE_BYTES) {
        wk_diags_add(L->d, 0, L->file, "the file is %zu bytes; a configuration may be at most %u bytes", len,
                     WK_CONFIG_MAX_FILE_BYTES);
        return -1;
    }
    if (memchr(data, '\0', len)) {
        wk_diags_add(L->d, 0, L->file, "the file contains a NUL byte; it is not a YAML text file");
        return -1;
    }
    if (prepass(L, data, len) != 0)
        return -1;
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p))
        return -1;
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    if (!yaml_parser_load(&p, &doc)) {
        yaml_error(L, &p);
        yaml_parser_delete(&p);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !is_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            where_of(L, &root->start_mark, w, sizeof w);
            wk_diags_add(L->d, 0, w, "the configuration is a mapping of sections (xmtp:, sink:, ...), not %s",
                         type_name(root));
            rc = -1;
        } else {
            walk(L, &doc, root, "");
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return rc;
}
