/*
 * Bounded byte buffer: appends fail past the owner's maximum, nothing is half-appended.
 */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/err.h"

void xw_buf_init(xw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void xw_buf_free(xw_buf *b)
{
    xw_free(b->data);
    xw_buf_init(b, b->max);
}

void xw_buf_free_secret(xw_buf *b)
{
    xw_free_secret(b->data, b->cap);
    xw_buf_init(b, b->max);
}

void xw_buf_reset(xw_buf *b) { b->len = 0; }

int xw_buf_reserve(xw_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return XW_ETOOBIG;
    size_t need = b->len + n;
    if (need <= b->cap && b->data)
        return XW_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    uint8_t *p = xw_realloc(b->data, cap ? cap : 1);
    if (!p)
        return XW_ENOMEM;
    b->data = p;
    b->cap = cap;
    return XW_OK;
}

uint8_t *xw_buf_extend(xw_buf *b, size_t n)
{
    if (xw_buf_reserve(b, n) != XW_OK)
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

int xw_buf_append(xw_buf *b, const void *p, size_t n)
{
    int rc = xw_buf_reserve(b, n);
    if (rc != XW_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return XW_OK;
}

int xw_buf_append_u8(xw_buf *b, uint8_t v) { return xw_buf_append(b, &v, 1); }

int xw_buf_append_str(xw_buf *b, const char *s) { return xw_buf_append(b, s, strlen(s)); }

int xw_buf_appendf(xw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return XW_EINVAL;
    /* room for the terminating NUL that vsnprintf writes; it is not counted in len */
    int rc = xw_buf_reserve(b, (size_t)n + 1);
    if (rc != XW_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return XW_OK;
}

void xw_buf_truncate(xw_buf *b, size_t n)
{
    if (n < b->len)
        b->len = n;
}

uint8_t *xw_buf_detach(xw_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    xw_buf_init(b, b->max);
    return p;
}
