/*
 * The configuration's values: the key table, parsing and bounds of each value, the
 * environment, and the resolution step that fills in what follows from other keys.
 *
 * A load runs in three steps over one wk_loader: defaults (each key's default text goes
 * through the same setter as a value from the file), the file (config_yaml.c), the
 * environment; then resolution (derived values, keys that exclude or require each other,
 * the wallet key's format). Every step reports into the same wk_diags and goes on after an
 * error, so that one run shows every problem. A setter that refuses a value leaves the old
 * one, so later steps never see half-set state.
 */
#include <ctype.h>
#include <stdarg.h>
#include <string.h>

#include "common/alloc.h"
#include "worker/config_int.h"
#include "worker/util.h"
#include "xmtp/wallet.h"

const wk_keydef wk_keydefs[WK_K__COUNT] = {
#define WK_K_DEF(id, path, env, type, lo, hi, def, doc) {path, env, type, lo, hi, def, doc},
    WK_KEYS(WK_K_DEF)
#undef WK_K_DEF
};

static const char *const env_words[] = {"local", "dev", "production", NULL};
static const char *const sink_words[] = {"kafka", "jsonl", NULL};
static const char *const level_words[] = {"trace", "debug", "info", "warn", "error", "off", NULL};
static const char *const format_words[] = {"text", "json", NULL}; /* index = xw_log_format */
static const char *const bool_words[] = {"false", "true", NULL};

static const char *const env_urls[] = {"http://localhost:5556", "https://grpc.dev.xmtp.network:443",
                                       "https://grpc.production.xmtp.network:443"};

const char *wk_config_env_url(wk_xmtp_env env) { return env_urls[env]; }
const char *wk_config_env_name(wk_xmtp_env env) { return env_words[env]; }

const char *const *wk_key_words(wk_key k)
{
    switch (k) {
    case WK_K_XMTP_ENV:
        return env_words;
    case WK_K_SINK_TYPE:
        return sink_words;
    case WK_K_LOG_LEVEL:
        return level_words;
    case WK_K_LOG_FORMAT:
        return format_words;
    case WK_K_SINK_JSONL_FSYNC:
        return bool_words;
    default:
        return NULL;
    }
}

int wk_key_find(const char *path, size_t len)
{
    for (int k = 0; k < WK_K__COUNT; k++)
        if (strlen(wk_keydefs[k].path) == len && memcmp(wk_keydefs[k].path, path, len) == 0)
            return k;
    return -1;
}

int wk_key_is_section(const char *prefix, size_t len)
{
    for (int k = 0; k < WK_K__COUNT; k++) {
        const char *p = wk_keydefs[k].path;
        if (strlen(p) > len && memcmp(p, prefix, len) == 0 && p[len] == '.')
            return 1;
    }
    return 0;
}

/* --- diagnostics ----------------------------------------------------------------------------- */
void wk_diags_init(wk_diags *d) { memset(d, 0, sizeof *d); }

void wk_diags_free(wk_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        xw_free(d->v[i].where);
        xw_free(d->v[i].msg);
    }
    xw_free(d->v);
    memset(d, 0, sizeof *d);
}

void wk_diags_add(wk_diags *d, int warning, const char *where, const char *fmt, ...)
{
    if (warning)
        d->warnings++;
    else
        d->errors++;
    if (d->n >= WK_CONFIG_MAX_DIAGS) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 8;
        wk_diag *v = xw_realloc(d->v, nc * sizeof *v);
        if (!v) {
            d->dropped++;
            return;
        }
        d->v = v;
        d->cap = nc;
    }
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wk_diag *g = &d->v[d->n];
    g->warning = warning;
    g->where = xw_strdup(where ? where : "configuration");
    g->msg = xw_strdup(msg);
    if (!g->where || !g->msg) {
        xw_free(g->where);
        xw_free(g->msg);
        d->dropped++;
        return;
    }
    d->n++;
}

void wk_diags_print(const wk_diags *d, FILE *out)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(out, "%s: %s: %s\n", d->v[i].where, d->v[i].warning ? "warning" : "error", d->v[i].msg);
    if (d->dropped)
        fprintf(out, "... and %zu more\n", d->dropped);
}

int wk_kafka_prop_is_secret(const char *name)
{
    static const char *const marks[] = {"password", "secret", "key.pem", "token", "jaas", "credential"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(name, marks[i]))
            return 1;
    return 0;
}

/* --- values ---------------------------------------------------------------------------------- */
/* A value as it may appear in a message: quoted, escaped, cut at 60 bytes. */
static const char *quoted(const char *s, size_t len, char out[96])
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < len && o < 80; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(out + o, 96 - o, "\\x%02x", ch);
        } else {
            out[o++] = (char)ch;
        }
        if (i + 1 < len && o >= 78) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

static char **str_slot(wk_config *c, wk_key k)
{
    switch (k) {
    case WK_K_XMTP_NODE_URL:
        return &c->xmtp.node_url;
    case WK_K_XMTP_CA_FILE:
        return &c->xmtp.ca_file;
    case WK_K_XMTP_WALLET_KEY:
        return &c->xmtp.wallet_key;
    case WK_K_XMTP_WALLET_KEY_FILE:
        return &c->xmtp.wallet_key_file;
    case WK_K_XMTP_DB_DIRECTORY:
        return &c->xmtp.db_directory;
    case WK_K_XMTP_DB_ENCRYPTION_KEY:
        return &c->xmtp.db_encryption_key;
    case WK_K_SINK_KAFKA_BROKERS:
        return &c->sink.kafka.brokers;
    case WK_K_SINK_KAFKA_TOPIC:
        return &c->sink.kafka.topic;
    case WK_K_SINK_JSONL_PATH:
        return &c->sink.jsonl.path;
    case WK_K_OUTBOX_PATH:
        return &c->outbox.path;
    case WK_K_METRICS_ADDRESS:
        return &c->metrics.address;
    default:
        return NULL;
    }
}

static int64_t *num_slot(wk_config *c, wk_key k)
{
    switch (k) {
    case WK_K_OUTBOX_MAX_EVENTS:
        return &c->outbox.max_events;
    case WK_K_PIPELINE_SHARDS:
        return &c->pipeline.shards;
    case WK_K_PIPELINE_QUEUES_DECRYPT:
        return &c->pipeline.queue_decrypt;
    case WK_K_PIPELINE_QUEUES_VALIDATE:
        return &c->pipeline.queue_validate;
    case WK_K_PIPELINE_QUEUES_STORE:
        return &c->pipeline.queue_store;
    case WK_K_PIPELINE_QUEUES_ENRICH:
        return &c->pipeline.queue_enrich;
    case WK_K_PIPELINE_QUEUES_ACTIONS:
        return &c->pipeline.queue_actions;
    case WK_K_SHUTDOWN_DRAIN_DEADLINE:
        return &c->shutdown.drain_deadline_ms;
    default:
        return NULL;
    }
}

static void set_word(wk_config *c, wk_key k, int v)
{
    switch (k) {
    case WK_K_XMTP_ENV:
        c->xmtp.env = (wk_xmtp_env)v;
        break;
    case WK_K_SINK_TYPE:
        c->sink.type = (wk_sink_type)v;
        break;
    case WK_K_LOG_LEVEL:
        c->log.level = (xw_log_level)v;
        break;
    case WK_K_LOG_FORMAT:
        c->log.format = (xw_log_format)v;
        break;
    case WK_K_SINK_JSONL_FSYNC:
        c->sink.jsonl.fsync = v;
        break;
    default:
        break;
    }
}

/* Whole number: digits, with single '_' between digits. */
static int parse_int(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    int digits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '_' && digits && i + 1 < len && isdigit((unsigned char)s[i + 1]))
            continue;
        if (!isdigit((unsigned char)s[i]))
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -2;
        v = v * 10 + (s[i] - '0');
        digits++;
    }
    if (!digits)
        return -1;
    *out = v;
    return 0;
}

/* Records where a value came from (NULL: the default). -1 with an error when out of memory. */
static int set_origin(wk_loader *L, char **slot, const char *where)
{
    char *o = NULL;
    if (where && !(o = xw_strdup(where))) {
        wk_diags_add(L->d, 0, where, "out of memory");
        return -1;
    }
    xw_free(*slot);
    *slot = o;
    return 0;
}

/* Checks text for key k; on success writes the parsed value. */
static int set_value(wk_loader *L, wk_key k, const char *text, size_t len, const char *where)
{
    const wk_keydef *kd = &wk_keydefs[k];
    wk_config *c = L->c;
    int secret = kd->type == WK_T_SECRET;
    char q[96];
    if (memchr(text, '\0', len)) {
        wk_diags_add(L->d, 0, where, "%s: the value contains a NUL character", kd->path);
        return -1;
    }
    switch (kd->type) {
    case WK_T_INT:
    case WK_T_DUR: {
        int64_t v, mult = 1;
        size_t nl = len;
        if (kd->type == WK_T_DUR) {
            static const struct {
                const char *unit;
                int64_t ms;
            } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
            size_t i = 0;
            while (nl > 0 && isalpha((unsigned char)text[nl - 1]))
                nl--;
            for (mult = 0; i < sizeof units / sizeof units[0]; i++)
                if (strlen(units[i].unit) == len - nl && memcmp(text + nl, units[i].unit, len - nl) == 0)
                    mult = units[i].ms;
            if (mult == 0 || nl == 0) {
                wk_diags_add(
                    L->d, 0, where,
                    "%s: %s is not a duration; write a whole number and a unit: ms, s, m or h (e.g. 30s)",
                    kd->path, quoted(text, len, q));
                return -1;
            }
        }
        int rc = parse_int(text, nl, &v);
        if (rc == -1) {
            wk_diags_add(L->d, 0, where, "%s: %s is not a whole number", kd->path, quoted(text, len, q));
            return -1;
        }
        if (rc == -2 || v > INT64_MAX / mult || v * mult > kd->max) {
            wk_diags_add(L->d, 0, where, "%s: %s is above the maximum %lld%s", kd->path, quoted(text, len, q),
                         (long long)(kd->type == WK_T_DUR ? kd->max / 1000 : kd->max),
                         kd->type == WK_T_DUR ? "s" : "");
            return -1;
        }
        if (v * mult < kd->min) {
            if (kd->type == WK_T_DUR)
                wk_diags_add(L->d, 0, where, "%s: %s is below the minimum %lldms", kd->path,
                             quoted(text, len, q), (long long)kd->min);
            else
                wk_diags_add(L->d, 0, where, "%s: %s is below the minimum %lld", kd->path,
                             quoted(text, len, q), (long long)kd->min);
            return -1;
        }
        *num_slot(c, k) = v * mult;
        break;
    }
    case WK_T_BOOL:
    case WK_T_ENUM: {
        const char *const *w = wk_key_words(k);
        size_t n = 0;
        for (; w[n]; n++)
            if (strlen(w[n]) == len && memcmp(w[n], text, len) == 0)
                break;
        if (!w[n]) {
            char list[128] = "";
            size_t o = 0;
            for (size_t i = 0; w[i]; i++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
                                      i == 0     ? ""
                                      : w[i + 1] ? ", "
                                                 : " or ",
                                      w[i]);
            const char *dym = wk_did_you_mean(text, len, w, n);
            if (dym)
                wk_diags_add(L->d, 0, where, "%s: unknown value %s; did you mean %s? (use %s)", kd->path,
                             quoted(text, len, q), dym, list);
            else
                wk_diags_add(L->d, 0, where, "%s: unknown value %s; use %s", kd->path, quoted(text, len, q),
                             list);
            return -1;
        }
        set_word(c, k, (int)n);
        break;
    }
    default: {
        if (len < (size_t)kd->min || len > (size_t)kd->max) {
            if (len == 0)
                wk_diags_add(L->d, 0, where, "%s: the value is empty; give one or remove the key", kd->path);
            else
                wk_diags_add(L->d, 0, where, "%s: the value is %zu bytes long; at most %lld are accepted",
                             kd->path, len, (long long)kd->max);
            return -1;
        }
        int ok = 1;
        const char *why = "";
        char host[WK_HOST_MAX];
        unsigned port;
        if (kd->type == WK_T_URL) {
            size_t skip = len > 7 && memcmp(text, "http://", 7) == 0    ? 7
                          : len > 8 && memcmp(text, "https://", 8) == 0 ? 8
                                                                        : 0;
            size_t end = len;
            if (end > skip && text[end - 1] == '/')
                end--;
            ok = skip && !memchr(text + skip, '/', end - skip) &&
                 wk_hostport_parse(text + skip, end - skip, 0, host, &port) == 0;
            why = "; write http://host:port or https://host:port (e.g. http://localhost:5556)";
        } else if (kd->type == WK_T_TOPIC) {
            ok = strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len &&
                 !(len == 1 && text[0] == '.') && !(len == 2 && memcmp(text, "..", 2) == 0);
            why = " as a Kafka topic name; use letters, digits, '.', '_' and '-' (at most 249)";
        } else if (kd->type == WK_T_ADDR) {
            ok = (len == 3 && memcmp(text, "off", 3) == 0) ||
                 wk_hostport_parse(text, len, 1, host, &port) == 0;
            why = "; write host:port (e.g. 127.0.0.1:9464 or [::1]:9464), or off";
        } else if (kd->type == WK_T_STR) {
            for (size_t i = 0; i < len && ok; i++)
                ok = !isspace((unsigned char)text[i]) && !iscntrl((unsigned char)text[i]);
            why = "; it may not contain spaces or control characters";
        }
        if (!ok) {
            wk_diags_add(L->d, 0, where, "%s: %s is not valid%s", kd->path,
                         secret ? "the value" : quoted(text, len, q), why);
            return -1;
        }
        char *v = xw_strndup(text, len);
        if (!v) {
            wk_diags_add(L->d, 0, where, "out of memory");
            return -1;
        }
        char **slot = str_slot(c, k);
        if (*slot && secret)
            xw_free_secret(*slot, strlen(*slot));
        else
            xw_free(*slot);
        *slot = v;
        break;
    }
    }
    return set_origin(L, &c->meta->origin[k], where);
}

int wk_cfg_set(wk_loader *L, wk_key k, const char *text, size_t len, const char *where)
{
    int rc = set_value(L, k, text, len, where);
    if (rc != 0)
        L->c->meta->refused[k] = 1; /* so that resolution does not also call it missing */
    return rc;
}

void wk_cfg_list_reset(wk_loader *L, wk_key k, const char *where)
{
    (void)k; /* rules.files is the only list */
    wk_config *c = L->c;
    for (size_t i = 0; i < c->rules.nfiles; i++) {
        xw_free(c->rules.files[i]);
        xw_free(c->meta->list_origin[i]);
        c->meta->list_origin[i] = NULL;
    }
    c->rules.nfiles = 0;
    set_origin(L, &c->meta->origin[k], where);
}

int wk_cfg_list_add(wk_loader *L, wk_key k, const char *text, size_t len, const char *where)
{
    wk_config *c = L->c;
    const wk_keydef *kd = &wk_keydefs[k];
    if (c->rules.nfiles >= (size_t)kd->max) {
        wk_diags_add(L->d, 0, where, "%s: more than %lld entries; merge some files", kd->path,
                     (long long)kd->max);
        return -1;
    }
    if (len == 0 || len > WK_MAXLEN || memchr(text, '\0', len)) {
        wk_diags_add(L->d, 0, where, "%s: an entry is %s; give a file path", kd->path,
                     len == 0          ? "empty"
                     : len > WK_MAXLEN ? "too long"
                                       : "not text");
        return -1;
    }
    char *v = xw_strndup(text, len), *o = xw_strdup(where);
    if (!c->rules.files)
        c->rules.files = xw_calloc(WK_CONFIG_MAX_RULES_FILES, sizeof *c->rules.files);
    if (!v || !o || !c->rules.files) {
        xw_free(v);
        xw_free(o);
        wk_diags_add(L->d, 0, where, "out of memory");
        return -1;
    }
    c->meta->list_origin[c->rules.nfiles] = o;
    c->rules.files[c->rules.nfiles++] = v;
    return 0;
}

int wk_cfg_map_put(wk_loader *L, wk_key k, const char *name, size_t nlen, const char *value, size_t vlen,
                   const char *where)
{
    wk_config *c = L->c;
    const wk_keydef *kd = &wk_keydefs[k];
    char q[96];
    if (vlen == 0 || vlen > WK_MAXLEN || memchr(value, '\0', vlen)) {
        wk_diags_add(L->d, 0, where, "%s: the value of %s is %s", kd->path, quoted(name, nlen, q),
                     vlen == 0          ? "empty; give one or remove the entry"
                     : vlen > WK_MAXLEN ? "too long"
                                        : "not text");
        return -1;
    }
    if (k == WK_K_SINK_KAFKA_TOPICS) {
        pl_event_kind kind = PL_EVENT__KIND_COUNT;
        char nm[64];
        if (nlen < sizeof nm) {
            memcpy(nm, name, nlen);
            nm[nlen] = '\0';
            if (pl_event_kind_parse(nm, &kind) != XW_OK)
                kind = PL_EVENT__KIND_COUNT;
        }
        if (kind == PL_EVENT__KIND_COUNT) {
            const char *kinds[PL_EVENT__KIND_COUNT];
            for (int i = 0; i < PL_EVENT__KIND_COUNT; i++)
                kinds[i] = pl_event_kind_name((pl_event_kind)i);
            const char *dym = wk_did_you_mean(name, nlen, kinds, PL_EVENT__KIND_COUNT);
            wk_diags_add(L->d, 0, where, "%s: %s is not an event kind%s%s%s (see docs/events.md)", kd->path,
                         quoted(name, nlen, q), dym ? "; did you mean " : "", dym ? dym : "", dym ? "?" : "");
            return -1;
        }
        size_t tl = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
        if (tl < vlen || vlen > 249 || (vlen <= 2 && strspn(value, ".") == vlen)) {
            wk_diags_add(
                L->d, 0, where,
                "%s.%s: %s is not valid as a Kafka topic name; use letters, digits, '.', '_' and '-' "
                "(at most 249)",
                kd->path, nm, quoted(value, vlen, q));
            return -1;
        }
        char *v = xw_strndup(value, vlen);
        if (!v || set_origin(L, &c->meta->topic_origin[kind], where) != 0) {
            if (!v)
                wk_diags_add(L->d, 0, where, "out of memory");
            xw_free(v);
            return -1;
        }
        xw_free(c->sink.kafka.topics[kind]);
        c->sink.kafka.topics[kind] = v;
        return 0;
    }
    /* kafka properties: librdkafka's names are lowercase words joined by '.' (a few by '_') */
    if (nlen == 0 || nlen > 128 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._") < nlen) {
        wk_diags_add(L->d, 0, where,
                     "%s: %s is not a librdkafka property name (lowercase letters, digits, '.' and '_')",
                     kd->path, quoted(name, nlen, q));
        return -1;
    }
    size_t i = 0;
    for (; i < c->sink.kafka.nprops; i++)
        if (strlen(c->sink.kafka.props[i].name) == nlen &&
            memcmp(c->sink.kafka.props[i].name, name, nlen) == 0)
            break;
    if (i == c->sink.kafka.nprops && i >= (size_t)kd->max) {
        wk_diags_add(L->d, 0, where, "%s: more than %lld properties", kd->path, (long long)kd->max);
        return -1;
    }
    char *nm = xw_strndup(name, nlen), *v = xw_strndup(value, vlen);
    if (!nm || !v || set_origin(L, &c->meta->prop_origin[i], where) != 0) {
        if (!nm || !v)
            wk_diags_add(L->d, 0, where, "out of memory");
        xw_free(nm);
        xw_free(v);
        return -1;
    }
    wk_config_pair *p = &c->sink.kafka.props[i];
    xw_free(p->name);
    if (p->value)
        xw_free_secret(p->value, strlen(p->value));
    p->name = nm;
    p->value = v;
    if (i == c->sink.kafka.nprops)
        c->sink.kafka.nprops++;
    return 0;
}

void wk_cfg_section_seen(wk_loader *L, const char *path, const char *where)
{
    wk_config_meta *m = L->c->meta;
    if (m->nsections >= WK_MAX_SECTIONS)
        return;
    char *p = xw_strdup(path), *o = xw_strdup(where);
    if (!p || !o) {
        xw_free(p);
        xw_free(o);
        wk_diags_add(L->d, 0, where, "out of memory");
        return;
    }
    m->section_path[m->nsections] = p;
    m->section_origin[m->nsections] = o;
    m->nsections++;
}
