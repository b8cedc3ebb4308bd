/*
 * Error names, messages and classes, generated from the XW_ERRORS table in err.h.
 */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *msg;
    xw_errclass cls;
} err_table[] = {
#define XW_ERR_ROW(name, cls, msg) {#name, msg, XW_CLASS_##cls},
    XW_ERRORS(XW_ERR_ROW)
#undef XW_ERR_ROW
};

_Static_assert(sizeof(err_table) / sizeof(err_table[0]) == XW_ERR__COUNT, "error table size");

static int err_valid(int err) { return err >= 0 && err < XW_ERR__COUNT; }

const char *xw_strerror(int err) { return err_valid(err) ? err_table[err].msg : "unknown error"; }

const char *xw_errname(int err) { return err_valid(err) ? err_table[err].name : "XW_E?"; }

xw_errclass xw_errclass_of(int err) { return err_valid(err) ? err_table[err].cls : XW_CLASS_FATAL; }

const char *xw_errclass_name(xw_errclass cls)
{
    switch (cls) {
    case XW_CLASS_NONE:
        return "none";
    case XW_CLASS_RETRIABLE:
        return "retriable";
    case XW_CLASS_PERMANENT:
        return "permanent";
    case XW_CLASS_FATAL:
        return "fatal";
    }
    return "fatal";
}

int xw_verrf(xw_errbuf *eb, int err, const char *fmt, va_list ap)
{
    if (eb)
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    return err;
}

int xw_errf(xw_errbuf *eb, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xw_verrf(eb, err, fmt, ap);
    va_end(ap);
    return err;
}

int xw_errctx(xw_errbuf *eb, int err, const char *fmt, ...)
{
    if (!eb)
        return err;
    char prefix[XW_ERRBUF_SIZE];
    char old[XW_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, eb->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    char joined[2 * XW_ERRBUF_SIZE + 4];
    snprintf(joined, sizeof joined, "%s: %s", prefix, old[0] ? old : xw_strerror(err));
    memcpy(eb->msg, joined, sizeof eb->msg);
    eb->msg[sizeof eb->msg - 1] = '\0';
    return err;
}
