/*
 * Thread-safe logger: one line per call, as text or as JSON lines, to a FILE (stderr by
 * default). Lines from different threads never interleave (one write per line, under a lock).
 *
 *   xw_log_info("node", "listening on %s", addr);
 *   text: 2026-11-29T09:04:02.123Z INFO  node: listening on 127.0.0.1:5556
 *   json: {"ts":"2026-11-29T09:04:02.123Z","level":"info","module":"node","msg":"listening ..."}
 *
 * Structured fields (xw_log_fields) follow the message: as more members of the JSON object
 * ("group":"ab12", "stage":"decrypt"), or as ` key=value` after the text. A line is at most
 * XW_LOG_MAX_LINE bytes; a longer message is cut (the JSON stays valid).
 */
#ifndef XW_COMMON_LOG_H
#define XW_COMMON_LOG_H

#include <stdarg.h>
#include <stdio.h>

typedef enum {
    XW_LOG_TRACE = 0,
    XW_LOG_DEBUG,
    XW_LOG_INFO,
    XW_LOG_WARN,
    XW_LOG_ERROR,
    XW_LOG_OFF,
} xw_log_level;

typedef enum { XW_LOG_TEXT = 0, XW_LOG_JSON } xw_log_format;

#define XW_LOG_MAX_LINE 4352
#define XW_LOG_MAX_FIELDS 16 /* fields of one line; more are left out */

void xw_log_set_level(xw_log_level level);
xw_log_level xw_log_get_level(void);
void xw_log_set_format(xw_log_format fmt);
/* The stream lines go to; NULL means stderr. The caller keeps ownership of f. */
void xw_log_set_output(FILE *f);
/* Parses "trace", "debug", "info", "warn", "error", "off" (any case). -1 if unknown. */
int xw_log_level_parse(const char *s);
const char *xw_log_level_name(xw_log_level level);
/* Parses "text" or "json" (any case). -1 if unknown. */
int xw_log_format_parse(const char *s);
const char *xw_log_format_name(xw_log_format fmt);
xw_log_format xw_log_get_format(void);
/* 1 if a line at this level would be written (to skip building costly arguments). */
int xw_log_enabled(xw_log_level level);

void xw_log(xw_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void xw_vlog(xw_log_level level, const char *module, const char *fmt, va_list ap);

/*
 * A line with structured fields. Keys are names chosen in code (letters, digits, '_');
 * anything else in a key, and the reserved keys ts, level, module and msg, is written
 * with a leading '_' so that every line stays one valid JSON object with unique keys.
 * Values are strings (escaped); a NULL value is written as JSON null (text: key=-).
 * At most XW_LOG_MAX_FIELDS fields are written.
 */
typedef struct {
    const char *key;
    const char *value;
} xw_log_field;

void xw_log_fields(xw_log_level level, const char *module, const xw_log_field *fields, size_t n,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define xw_log_trace(m, ...) xw_log(XW_LOG_TRACE, m, __VA_ARGS__)
#define xw_log_debug(m, ...) xw_log(XW_LOG_DEBUG, m, __VA_ARGS__)
#define xw_log_info(m, ...) xw_log(XW_LOG_INFO, m, __VA_ARGS__)
#define xw_log_warn(m, ...) xw_log(XW_LOG_WARN, m, __VA_ARGS__)
#define xw_log_error(m, ...) xw_log(XW_LOG_ERROR, m, __VA_ARGS__)

#endif
