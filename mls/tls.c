/*
 * TLS presentation-language reader and writer (see tls.h). The reader checks every length
 * against the bytes left before it touches them; the writer relies on xw_buf's maximum.
 */
#include "mls/tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mls_reader_init(mls_reader *r, const uint8_t *p, size_t len, xw_errbuf *eb)
{
    r->p = p;
    r->len = p ? len : 0;
    r->off = 0;
    r->err = XW_OK;
    r->eb = eb;
    r->depth = 0;
}

int mls_reader_fail(mls_reader *r, int err, const char *fmt, ...)
{
    if (r->err == XW_OK) {
        va_list ap;
        va_start(ap, fmt);
        xw_verrf(r->eb, err, fmt, ap);
        va_end(ap);
        r->err = err;
    }
    return r->err;
}

size_t mls_reader_left(const mls_reader *r) { return r->err ? 0 : r->len - r->off; }

int mls_reader_finish(mls_reader *r, const char *what)
{
    if (r->err == XW_OK && r->off != r->len)
        mls_reader_fail(r, XW_ETRAILING, "%zu unexpected bytes after the end of the %s (at byte %zu of %zu)",
                        r->len - r->off, what, r->off, r->len);
    return r->err;
}

static const uint8_t *take(mls_reader *r, size_t n)
{
    if (r->err)
        return NULL;
    if (n > r->len - r->off) {
        mls_reader_fail(r, XW_ETRUNCATED, "input ends after %zu bytes but %zu more are needed at byte %zu",
                        r->len, n - (r->len - r->off), r->off);
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t mls_read_u8(mls_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

uint16_t mls_read_u16(mls_reader *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t mls_read_u32(mls_reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3] : 0;
}

uint64_t mls_read_u64(mls_reader *r)
{
    const uint8_t *p = take(r, 8);
    uint64_t v = 0;
    if (p)
        for (int i = 0; i < 8; i++)
            v = (v << 8) | p[i];
    return v;
}

size_t mls_varint_decode(const uint8_t *p, size_t n, uint32_t *v, int *err)
{
    *v = 0;
    if (n < 1) {
        *err = XW_ETRUNCATED;
        return 0;
    }
    unsigned prefix = p[0] >> 6;
    if (prefix == 3) {
        *err = XW_EMALFORMED;
        return 0;
    }
    size_t len = (size_t)1 << prefix;
    if (n < len) {
        *err = XW_ETRUNCATED;
        return 0;
    }
    uint32_t x = p[0] & 0x3f;
    for (size_t i = 1; i < len; i++)
        x = (x << 8) | p[i];
    if (mls_varint_size(x) != len) {
        *err = XW_EMALFORMED;
        return 0;
    }
    *v = x;
    *err = XW_OK;
    return len;
}

size_t mls_varint_size(uint64_t v)
{
    if (v < 0x40)
        return 1;
    if (v < 0x4000)
        return 2;
    if (v <= MLS_VARINT_MAX)
        return 4;
    return 0;
}

uint32_t mls_read_varint(mls_reader *r)
{
    if (r->err)
        return 0;
    uint32_t v;
    int err;
    size_t used = mls_varint_decode(r->p + r->off, r->len - r->off, &v, &err);
    if (used == 0) {
        if (err == XW_ETRUNCATED)
            mls_reader_fail(r, err, "input ends inside a variable-length integer at byte %zu", r->off);
        else if ((r->p[r->off] >> 6) == 3)
            mls_reader_fail(r, err, "variable-length integer at byte %zu uses the reserved 0b11 prefix",
                            r->off);
        else
            mls_reader_fail(r, err, "variable-length integer at byte %zu is not minimally encoded", r->off);
        return 0;
    }
    r->off += used;
    return v;
}

mls_span mls_read_fixed(mls_reader *r, size_t n)
{
    mls_span s = {NULL, 0};
    const uint8_t *p = take(r, n);
    if (p) {
        s.p = p;
        s.len = n;
    }
    return s;
}

mls_span mls_read_opaque(mls_reader *r)
{
    size_t at = r->off;
    uint32_t n = mls_read_varint(r);
    if (r->err)
        return (mls_span){NULL, 0};
    if (n > r->len - r->off) {
        mls_reader_fail(r, XW_ETRUNCATED, "a value at byte %zu announces %u bytes but only %zu remain", at, n,
                        r->len - r->off);
        return (mls_span){NULL, 0};
    }
    return mls_read_fixed(r, n);
}

mls_span mls_read_opaque_len(mls_reader *r, size_t min, size_t max, const char *what)
{
    size_t at = r->off;
    mls_span s = mls_read_opaque(r);
    if (!r->err && (s.len < min || s.len > max)) {
        if (min == max)
            mls_reader_fail(r, XW_EMALFORMED, "%s at byte %zu is %zu bytes long; it must be %zu", what, at,
                            s.len, min);
        else
            mls_reader_fail(r, XW_EMALFORMED, "%s at byte %zu is %zu bytes long; it must be %zu to %zu", what,
                            at, s.len, min, max);
        return (mls_span){NULL, 0};
    }
    return s;
}

void mls_read_vector(mls_reader *r, mls_reader *sub)
{
    mls_span s = mls_read_opaque(r);
    mls_reader_init(sub, s.p, s.len, r->eb);
    sub->depth = r->depth + 1;
    if (r->err)
        sub->err = r->err;
    else if (sub->depth > MLS_TLS_MAX_DEPTH)
        sub->err = mls_reader_fail(r, XW_ETOOBIG, "vectors are nested more than %d deep", MLS_TLS_MAX_DEPTH);
}

int mls_reader_join(mls_reader *r, mls_reader *sub)
{
    if (r->err == XW_OK && sub->err != XW_OK)
        r->err = sub->err; /* the sentence is already in the shared errbuf */
    return r->err;
}

int mls_read_optional(mls_reader *r)
{
    size_t at = r->off;
    uint8_t v = mls_read_u8(r);
    if (!r->err && v > 1)
        mls_reader_fail(r, XW_EMALFORMED,
                        "optional value at byte %zu has presence byte %u; it must be 0 or 1", at, v);
    return r->err ? 0 : v;
}

/* --- writer --- */

void mls_writer_init(mls_writer *w, xw_buf *b)
{
    w->b = b;
    w->err = XW_OK;
}

void mls_write_fixed(mls_writer *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    w->err = xw_buf_append(w->b, p, n);
}

void mls_write_u8(mls_writer *w, uint8_t v) { mls_write_fixed(w, &v, 1); }

void mls_write_u16(mls_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    mls_write_fixed(w, b, 2);
}

void mls_write_u32(mls_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    mls_write_fixed(w, b, 4);
}

void mls_write_u64(mls_writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    mls_write_fixed(w, b, 8);
}

static size_t varint_put(uint8_t *out, uint32_t v)
{
    size_t n = mls_varint_size(v);
    if (n == 1) {
        out[0] = (uint8_t)v;
    } else if (n == 2) {
        out[0] = (uint8_t)(0x40 | (v >> 8));
        out[1] = (uint8_t)v;
    } else {
        out[0] = (uint8_t)(0x80 | (v >> 24));
        out[1] = (uint8_t)(v >> 16);
        out[2] = (uint8_t)(v >> 8);
        out[3] = (uint8_t)v;
    }
    return n;
}

void mls_write_varint(mls_writer *w, uint64_t v)
{
    if (w->err)
        return;
    if (v > MLS_VARINT_MAX) {
        w->err = XW_ETOOBIG;
        return;
    }
    uint8_t b[4];
    mls_write_fixed(w, b, varint_put(b, (uint32_t)v));
}

void mls_write_opaque(mls_writer *w, const void *p, size_t n)
{
    mls_write_varint(w, n);
    mls_write_fixed(w, p, n);
}

size_t mls_write_vec_begin(mls_writer *w) { return w->b->len; }

void mls_write_vec_end(mls_writer *w, size_t mark)
{
    if (w->err)
        return;
    size_t n = w->b->len - mark;
    size_t h = mls_varint_size(n);
    if (h == 0) {
        w->err = XW_ETOOBIG;
        return;
    }
    if (!xw_buf_extend(w->b, h)) {
        w->err = XW_ETOOBIG;
        return;
    }
    memmove(w->b->data + mark + h, w->b->data + mark, n);
    varint_put(w->b->data + mark, (uint32_t)n);
}

void mls_write_optional(mls_writer *w, int present) { mls_write_u8(w, present ? 1 : 0); }
