/*
 * Bounded byte buffer (docs/style.md #6; curl's dynbuf). Every buffer has a maximum chosen by
 * its owner; an append that would pass it fails with XW_ETOOBIG and leaves the buffer as
 * it was. Growth doubles the capacity up to the maximum.
 *
 * Not thread-safe: one owner at a time.
 */
#ifndef XW_COMMON_BUF_H
#define XW_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;
} xw_buf;

void xw_buf_init(xw_buf *b, size_t max);
/* Frees the storage (wiping it first when `secret`), leaving an empty buffer with the same max. */
void xw_buf_free(xw_buf *b);
void xw_buf_free_secret(xw_buf *b);
/* Empties the buffer, keeping its storage. */
void xw_buf_reset(xw_buf *b);

int xw_buf_append(xw_buf *b, const void *p, size_t n);
int xw_buf_append_u8(xw_buf *b, uint8_t v);
int xw_buf_append_str(xw_buf *b, const char *s);
int xw_buf_appendf(xw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes and returns a pointer to them (len grows by n), or NULL. */
uint8_t *xw_buf_extend(xw_buf *b, size_t n);
/* Ensures capacity for n more bytes without changing len. */
int xw_buf_reserve(xw_buf *b, size_t n);
/* Shortens the buffer to n bytes (n <= len). */
void xw_buf_truncate(xw_buf *b, size_t n);
/* Hands the storage to the caller (free with xw_free) and empties the buffer. */
uint8_t *xw_buf_detach(xw_buf *b, size_t *len);

#endif
