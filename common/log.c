/*
 * Logger. Each line is formatted into a local buffer first and written with one fwrite under
 * the lock, so concurrent lines never mix. JSON strings are escaped per RFC 8259.
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

void xw_vlog(xw_log_level level, const char *module, const char *fmt, va_list ap)
{
    if (level < xw_log_get_level() || level >= XW_LOG_OFF)
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    int64_t now = xw_clock_now_ns(xw_clock_real());
    time_t sec = (time_t)(now / XW_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char when[40];
    size_t wl = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + wl, sizeof when - wl, ".%03ldZ", (long)(now % XW_NS_PER_SEC / XW_NS_PER_MS));

    char line[4096 + 256];
    size_t n;
    if (atomic_load(&log_format) == XW_LOG_JSON) {
        n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"", when,
                             level_names[level]);
        json_escape(line, sizeof line, &n, module ? module : "");
        n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
        json_escape(line, sizeof line, &n, msg);
        n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");
    } else {
        char up[8];
        size_t i = 0;
        for (; level_names[level][i] && i < sizeof up - 1; i++)
            up[i] = (char)(level_names[level][i] - 'a' + 'A');
        up[i] = '\0';
        n = (size_t)snprintf(line, sizeof line, "%s %-5s %s: %s\n", when, up, module ? module : "-", msg);
    }
    if (n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    pthread_mutex_lock(&log_lock);
    FILE *f = log_out ? log_out : stderr;
    fwrite(line, 1, n, f);
    fflush(f);
    pthread_mutex_unlock(&log_lock);
}

void xw_log(xw_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xw_vlog(level, module, fmt, ap);
    va_end(ap);
}
