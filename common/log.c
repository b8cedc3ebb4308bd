/*
 * Logger. Each line is formatted into a local buffer first and written with one fwrite under
 * the lock, so concurrent lines never mix. JSON strings are escaped per RFC 8259. Every
 * append stops short of the buffer's end, so a line that does not fit is cut and, in JSON,
 * closed again with "truncated":true rather than left as half an object.
 */
#include "common/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"

static atomic_int log_level = XW_LOG_INFO;
static atomic_int log_format = XW_LOG_TEXT;
static FILE *log_out; /* guarded by log_lock; NULL = stderr */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

void xw_log_set_level(xw_log_level level) { atomic_store(&log_level, (int)level); }
xw_log_level xw_log_get_level(void) { return (xw_log_level)atomic_load(&log_level); }
void xw_log_set_format(xw_log_format fmt) { atomic_store(&log_format, (int)fmt); }

void xw_log_set_output(FILE *f)
{
    pthread_mutex_lock(&log_lock);
    log_out = f;
    pthread_mutex_unlock(&log_lock);
}

int xw_log_level_parse(const char *s)
{
    for (int i = 0; i <= XW_LOG_OFF; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return XW_LOG_WARN;
    return -1;
}

const char *xw_log_level_name(xw_log_level level)
{
    return (level >= XW_LOG_TRACE && level <= XW_LOG_OFF) ? level_names[level] : "?";
}

int xw_log_format_parse(const char *s)
{
    if (strcasecmp(s, "text") == 0)
        return XW_LOG_TEXT;
    if (strcasecmp(s, "json") == 0)
        return XW_LOG_JSON;
    return -1;
}

const char *xw_log_format_name(xw_log_format fmt) { return fmt == XW_LOG_JSON ? "json" : "text"; }
xw_log_format xw_log_get_format(void) { return (xw_log_format)atomic_load(&log_format); }

int xw_log_enabled(xw_log_level level)
{
    return level >= xw_log_get_level() && level < XW_LOG_OFF && level >= XW_LOG_TRACE;
}

/* Appends s to line[*n] with JSON escaping, never past cap - 1. */
static void json_escape(char *line, size_t cap, size_t *n, const char *s)
{
    for (; *s && *n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            line[(*n)++] = '\\';
            line[(*n)++] = (char)c;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            line[(*n)++] = '\\';
            line[(*n)++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        } else if (c < 0x20) {
            *n += (size_t)snprintf(line + *n, cap - *n, "\\u%04x", c);
        } else {
            line[(*n)++] = (char)c;
        }
    }
    line[*n] = '\0';
}

static int key_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Appends a field key: '_' first when the key is reserved, empty or has characters other
 * than letters, digits and '_' (which become '_'), so that keys stay unique and plain. */
static void append_key(char *line, size_t cap, size_t *n, const char *key)
{
    static const char *const reserved[] = {"ts", "level", "module", "msg"};
    int mark = !key || !*key;
    for (size_t i = 0; !mark && i < sizeof reserved / sizeof reserved[0]; i++)
        mark = strcmp(key, reserved[i]) == 0;
    for (const char *k = key; !mark && k && *k; k++)
        mark = !key_char_ok(*k);
    if (mark && *n + 1 < cap)
        line[(*n)++] = '_';
    for (size_t i = 0; key && key[i] && i < 64 && *n + 1 < cap; i++)
        line[(*n)++] = key_char_ok(key[i]) ? key[i] : '_';
    line[*n] = '\0';
}

/* Text values are written bare unless they are empty or hold a space, a quote, '=' or a
 * control character; then they are quoted and escaped as in JSON. */
static int text_needs_quotes(const char *v)
{
    if (!*v)
        return 1;
    for (; *v; v++)
        if ((unsigned char)*v <= ' ' || *v == '"' || *v == '=' || *v == '\\' || *v == 0x7f)
            return 1;
    return 0;
}

static void append_raw(char *line, size_t cap, size_t *n, const char *s)
{
    for (; *s && *n + 1 < cap; s++)
        line[(*n)++] = *s;
    line[*n] = '\0';
}

static void vlog_fields(xw_log_level level, const char *module, const xw_log_field *fields, size_t nf,
                        const char *fmt, va_list ap)
{
    if (!xw_log_enabled(level))
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (nf > XW_LOG_MAX_FIELDS)
        nf = XW_LOG_MAX_FIELDS;

    int64_t now = xw_clock_now_ns(xw_clock_real());
    time_t sec = (time_t)(now / XW_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char when[40];
    size_t wl = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + wl, sizeof when - wl, ".%03ldZ", (long)(now % XW_NS_PER_SEC / XW_NS_PER_MS));

    /* the fields and the closing characters need room: escaping stops this far from the end */
    char line[XW_LOG_MAX_LINE];
    const size_t body_cap = sizeof line - 8;
    size_t n;
    if (atomic_load(&log_format) == XW_LOG_JSON) {
        n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"", when,
                             level_names[level]);
        json_escape(line, body_cap, &n, module ? module : "");
        append_raw(line, body_cap, &n, "\",\"msg\":\"");
        json_escape(line, body_cap, &n, msg);
        append_raw(line, body_cap, &n, "\"");
        for (size_t i = 0; i < nf; i++) {
            append_raw(line, body_cap, &n, ",\"");
            append_key(line, body_cap, &n, fields[i].key);
            if (fields[i].value) {
                append_raw(line, body_cap, &n, "\":\"");
                json_escape(line, body_cap, &n, fields[i].value);
                append_raw(line, body_cap, &n, "\"");
            } else {
                append_raw(line, body_cap, &n, "\":null");
            }
        }
        if (n + 1 >= body_cap) { /* cut short: close what is open so the line stays JSON */
            n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"", when,
                                 level_names[level]);
            json_escape(line, 96, &n, module ? module : "");
            append_raw(line, body_cap, &n, "\",\"msg\":\"");
            json_escape(line, body_cap - 32, &n, msg);
            append_raw(line, sizeof line, &n, "\",\"truncated\":true");
        }
        append_raw(line, sizeof line, &n, "}\n");
    } else {
        char up[8];
        size_t i = 0;
        for (; level_names[level][i] && i < sizeof up - 1; i++)
            up[i] = (char)(level_names[level][i] - 'a' + 'A');
        up[i] = '\0';
        n = (size_t)snprintf(line, body_cap, "%s %-5s %s: %s", when, up, module ? module : "-", msg);
        if (n >= body_cap)
            n = body_cap - 1;
        for (size_t f = 0; f < nf; f++) {
            append_raw(line, body_cap, &n, " ");
            append_key(line, body_cap, &n, fields[f].key);
            append_raw(line, body_cap, &n, "=");
            const char *v = fields[f].value ? fields[f].value : "-";
            if (fields[f].value && text_needs_quotes(v)) {
                append_raw(line, body_cap, &n, "\"");
                json_escape(line, body_cap, &n, v);
                append_raw(line, body_cap, &n, "\"");
            } else {
                append_raw(line, body_cap, &n, v);
            }
        }
        append_raw(line, sizeof line, &n, "\n");
    }
    pthread_mutex_lock(&log_lock);
    FILE *f = log_out ? log_out : stderr;
    fwrite(line, 1, n, f);
    fflush(f);
    pthread_mutex_unlock(&log_lock);
}

void xw_vlog(xw_log_level level, const char *module, const char *fmt, va_list ap)
{
    vlog_fields(level, module, NULL, 0, fmt, ap);
}

void xw_log_fields(xw_log_level level, const char *module, const xw_log_field *fields, size_t n,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_fields(level, module, fields, n, fmt, ap);
    va_end(ap);
}

void xw_log(xw_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xw_vlog(level, module, fmt, ap);
    va_end(ap);
}
