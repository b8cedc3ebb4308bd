/*
 * Writing a configuration out: the effective configuration as YAML (`xmtpw config show`)
 * and the reference table of keys (`xmtpw config keys`, the rows of docs/worker.md).
 *
 * Show walks the key table in order, opening a section whenever a key's section differs
 * from the previous key's, and writes every value (strings double-quoted and escaped, so
 * the output loads again) with where it came from as a comment. Keys without a value are
 * written as comments. Secrets (the wallet key, Kafka properties named like passwords,
 * keys or tokens) are written as "<redacted>", never as their value.
 */
#include <string.h>

#include "worker/config_int.h"

#define REDACTED "<redacted>"

static int put_quoted(xw_buf *b, const char *s)
{
    int rc = xw_buf_append_u8(b, '"');
    for (; rc == XW_OK && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = xw_buf_appendf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            rc = xw_buf_appendf(b, "\\x%02x", c);
        else
            rc = xw_buf_append_u8(b, c);
    }
    return rc == XW_OK ? xw_buf_append_u8(b, '"') : rc;
}

static int put_origin(xw_buf *b, const char *origin)
{
    return xw_buf_appendf(b, "  # %s\n", origin ? origin : "default");
}

static int put_duration(xw_buf *b, int64_t ms)
{
    if (ms % 3600000 == 0)
        return xw_buf_appendf(b, "%lldh", (long long)(ms / 3600000));
    if (ms % 60000 == 0)
        return xw_buf_appendf(b, "%lldm", (long long)(ms / 60000));
    if (ms % 1000 == 0)
        return xw_buf_appendf(b, "%llds", (long long)(ms / 1000));
    return xw_buf_appendf(b, "%lldms", (long long)ms);
}

/* The value of a plain key as text, for keys whose value is a word or a number. */
static int put_value(xw_buf *b, const wk_config *c, wk_key k)
{
    switch (k) {
    case WK_K_XMTP_ENV:
        return xw_buf_append_str(b, wk_config_env_name(c->xmtp.env));
    case WK_K_SINK_TYPE:
        return xw_buf_append_str(b, c->sink.type == WK_SINK_KAFKA ? "kafka" : "jsonl");
    case WK_K_LOG_LEVEL:
        return xw_buf_append_str(b, xw_log_level_name(c->log.level));
    case WK_K_LOG_FORMAT:
        return xw_buf_append_str(b, xw_log_format_name(c->log.format));
    case WK_K_SINK_JSONL_FSYNC:
        return xw_buf_append_str(b, c->sink.jsonl.fsync ? "true" : "false");
    case WK_K_OUTBOX_MAX_EVENTS:
        return xw_buf_appendf(b, "%lld", (long long)c->outbox.max_events);
    case WK_K_PIPELINE_SHARDS:
        return xw_buf_appendf(b, "%lld", (long long)c->pipeline.shards);
    case WK_K_PIPELINE_QUEUES_DECRYPT:
        return xw_buf_appendf(b, "%lld", (long long)c->pipeline.queue_decrypt);
    case WK_K_PIPELINE_QUEUES_VALIDATE:
        return xw_buf_appendf(b, "%lld", (long long)c->pipeline.queue_validate);
    case WK_K_PIPELINE_QUEUES_STORE:
        return xw_buf_appendf(b, "%lld", (long long)c->pipeline.queue_store);
    case WK_K_PIPELINE_QUEUES_ENRICH:
        return xw_buf_appendf(b, "%lld", (long long)c->pipeline.queue_enrich);
    case WK_K_PIPELINE_QUEUES_ACTIONS:
        return xw_buf_appendf(b, "%lld", (long long)c->pipeline.queue_actions);
    case WK_K_SHUTDOWN_DRAIN_DEADLINE:
        return put_duration(b, c->shutdown.drain_deadline_ms);
    default:
        return XW_EINTERNAL;
    }
}

static const char *str_value(const wk_config *c, wk_key k)
{
    switch (k) {
    case WK_K_XMTP_NODE_URL:
        return c->xmtp.node_url;
    case WK_K_XMTP_CA_FILE:
        return c->xmtp.ca_file;
    case WK_K_XMTP_WALLET_KEY:
        return c->xmtp.wallet_key;
    case WK_K_XMTP_WALLET_KEY_FILE:
        return c->xmtp.wallet_key_file;
    case WK_K_XMTP_DB_DIRECTORY:
        return c->xmtp.db_directory;
    case WK_K_XMTP_DB_ENCRYPTION_KEY:
        return c->xmtp.db_encryption_key;
    case WK_K_SINK_KAFKA_BROKERS:
        return c->sink.kafka.brokers;
    case WK_K_SINK_KAFKA_TOPIC:
        return c->sink.kafka.topic;
    case WK_K_SINK_JSONL_PATH:
        return c->sink.jsonl.path;
    case WK_K_OUTBOX_PATH:
        return c->outbox.path;
    case WK_K_METRICS_ADDRESS:
        return c->metrics.address ? c->metrics.address : "off";
    default:
        return NULL;
    }
}

static int indent(xw_buf *b, int depth)
{
    int rc = XW_OK;
    for (int i = 0; i < depth && rc == XW_OK; i++)
        rc = xw_buf_append_str(b, "  ");
    return rc;
}

/* Opens the sections of path that the previous key's path did not share; returns the depth
 * of the key's own line and sets *name to its last component. */
static int open_sections(xw_buf *b, const char *prev, const char *path, const char **name, int *rc)
{
    int depth = 0;
    const char *p = path, *q = prev;
    /* skip the sections both paths share */
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot)
            break;
        size_t l = (size_t)(dot - p);
        if (!q || strncmp(p, q, l) != 0 || q[l] != '.')
            break;
        p = dot + 1;
        q += l + 1;
        depth++;
    }
    for (const char *dot; (dot = strchr(p, '.')) && *rc == XW_OK; p = dot + 1, depth++) {
        *rc = indent(b, depth);
        if (*rc == XW_OK)
            *rc = xw_buf_appendf(b, "%.*s:\n", (int)(dot - p), p);
    }
    *name = p;
    return depth;
}

int wk_config_show(const wk_config *c, xw_buf *b)
{
    const wk_config_meta *m = c->meta;
    int rc = xw_buf_append_str(b, "# xmtpw: the effective configuration (secrets redacted)\n");
    const char *prev = NULL;
    for (int k = 0; k < WK_K__COUNT && rc == XW_OK; k++) {
        const wk_keydef *kd = &wk_keydefs[k];
        const char *name;
        int depth = open_sections(b, prev, kd->path, &name, &rc);
        prev = kd->path;
        if (rc != XW_OK)
            break;
        rc = indent(b, depth);
        if (kd->type == WK_T_LIST) {
            if (c->rules.nfiles == 0) {
                rc = rc ? rc : xw_buf_appendf(b, "%s: []", name);
                rc = rc ? rc : put_origin(b, m->origin[k]);
                continue;
            }
            rc = rc ? rc : xw_buf_appendf(b, "%s:", name);
            rc = rc ? rc : put_origin(b, m->origin[k]);
            for (size_t i = 0; i < c->rules.nfiles && rc == XW_OK; i++) {
                rc = indent(b, depth + 1);
                rc = rc ? rc : xw_buf_append_str(b, "- ");
                rc = rc ? rc : put_quoted(b, c->rules.files[i]);
                rc = rc ? rc : put_origin(b, m->list_origin[i]);
            }
        } else if (k == WK_K_SINK_KAFKA_TOPICS) {
            int any = 0;
            for (int i = 0; i < PL_EVENT__KIND_COUNT; i++)
                any |= c->sink.kafka.topics[i] != NULL;
            rc = rc ? rc : xw_buf_appendf(b, any ? "%s:\n" : "%s: {}\n", name);
            for (int i = 0; i < PL_EVENT__KIND_COUNT && rc == XW_OK; i++) {
                if (!c->sink.kafka.topics[i])
                    continue;
                rc = indent(b, depth + 1);
                rc = rc ? rc : xw_buf_appendf(b, "%s: ", pl_event_kind_name((pl_event_kind)i));
                rc = rc ? rc : put_quoted(b, c->sink.kafka.topics[i]);
                rc = rc ? rc : put_origin(b, m->topic_origin[i]);
            }
        } else if (k == WK_K_SINK_KAFKA_PROPERTIES) {
            rc = rc ? rc : xw_buf_appendf(b, c->sink.kafka.nprops ? "%s:\n" : "%s: {}\n", name);
            for (size_t i = 0; i < c->sink.kafka.nprops && rc == XW_OK; i++) {
                const wk_config_pair *p = &c->sink.kafka.props[i];
                rc = indent(b, depth + 1);
                rc = rc ? rc : put_quoted(b, p->name);
                rc = rc ? rc : xw_buf_append_str(b, ": ");
                rc = rc ? rc : put_quoted(b, wk_kafka_prop_is_secret(p->name) ? REDACTED : p->value);
                rc = rc ? rc : put_origin(b, m->prop_origin[i]);
            }
        } else if (kd->type == WK_T_INT || kd->type == WK_T_DUR || kd->type == WK_T_ENUM ||
                   kd->type == WK_T_BOOL) {
            rc = rc ? rc : xw_buf_appendf(b, "%s: ", name);
            rc = rc ? rc : put_value(b, c, (wk_key)k);
            rc = rc ? rc : put_origin(b, m->origin[k]);
        } else {
            const char *v = str_value(c, (wk_key)k);
            if (!v) {
                rc = rc ? rc : xw_buf_appendf(b, "# %s: not set\n", name);
                continue;
            }
            rc = rc ? rc : xw_buf_appendf(b, "%s: ", name);
            rc = rc ? rc : put_quoted(b, kd->type == WK_T_SECRET ? REDACTED : v);
            if (rc == XW_OK && k == WK_K_XMTP_WALLET_KEY && m->address[0])
                rc = xw_buf_appendf(b, "  # %s; address %s\n", m->origin[k] ? m->origin[k] : "default",
                                    m->address);
            else
                rc = rc ? rc : put_origin(b, m->origin[k]);
        }
    }
    return rc;
}

/* --- the reference --------------------------------------------------------------------------- */
static const char *derived_default(wk_key k)
{
    switch (k) {
    case WK_K_XMTP_NODE_URL:
        return "the URL of `xmtp.env`";
    case WK_K_SINK_TYPE:
        return "the sink whose keys are set";
    case WK_K_OUTBOX_PATH:
        return "`<xmtp.db_directory>/outbox.db3`";
    default:
        return "none";
    }
}

static int put_bounds(xw_buf *b, wk_key k)
{
    const wk_keydef *kd = &wk_keydefs[k];
    const char *const *w = wk_key_words(k);
    int rc = XW_OK;
    switch (kd->type) {
    case WK_T_ENUM:
    case WK_T_BOOL:
        for (size_t i = 0; w[i] && rc == XW_OK; i++)
            rc = xw_buf_appendf(b, "%s`%s`", i ? ", " : "", w[i]);
        return rc;
    case WK_T_INT:
        return xw_buf_appendf(b, "%lld..%lld", (long long)kd->min, (long long)kd->max);
    case WK_T_DUR:
        rc = put_duration(b, kd->min);
        rc = rc ? rc : xw_buf_append_str(b, "..");
        return rc ? rc : put_duration(b, kd->max);
    case WK_T_LIST:
        return xw_buf_appendf(b, "at most %lld files", (long long)kd->max);
    case WK_T_MAP:
        return xw_buf_appendf(b, "at most %lld entries", (long long)kd->max);
    case WK_T_URL:
        return xw_buf_appendf(b, "http:// or https://, at most %lld bytes", (long long)kd->max);
    case WK_T_TOPIC:
        return xw_buf_appendf(b, "`[A-Za-z0-9._-]`, at most %lld bytes", (long long)kd->max);
    case WK_T_ADDR:
        return xw_buf_append_str(b, "`host:port` or `off`");
    default:
        return xw_buf_appendf(b, "at most %lld bytes", (long long)kd->max);
    }
}

int wk_config_reference(xw_buf *b)
{
    int rc = xw_buf_append_str(b, "| key | variable | default | bounds | meaning |\n|---|---|---|---|---|\n");
    for (int k = 0; k < WK_K__COUNT && rc == XW_OK; k++) {
        const wk_keydef *kd = &wk_keydefs[k];
        rc = xw_buf_appendf(b, "| `%s` | `%s` | ", kd->path, kd->env);
        if (rc == XW_OK && kd->def)
            rc = xw_buf_appendf(b, "`%s`", kd->def);
        else if (rc == XW_OK)
            rc = xw_buf_append_str(b, derived_default((wk_key)k));
        rc = rc ? rc : xw_buf_append_str(b, " | ");
        rc = rc ? rc : put_bounds(b, (wk_key)k);
        rc = rc ? rc : xw_buf_appendf(b, " | %s%s |\n", kd->doc, kd->type == WK_T_SECRET ? " (secret)" : "");
    }
    return rc;
}
