/*
 * The one UTF-8 check (STYLE.md #14): well-formed UTF-8 as RFC 3629 defines it, no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. NUL is a valid character
 * here; callers that refuse it (C strings, protobuf strings) check for it themselves.
 */
#ifndef XW_COMMON_UTF8_H
#define XW_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The offset of the first byte of s[0..n) that does not start a well-formed character, or n
 * when all of it is UTF-8. */
size_t xw_utf8_bad_at(const uint8_t *s, size_t n);

/* 1 when s[0..n) is well-formed UTF-8, 0 otherwise. */
static inline int xw_utf8_valid(const void *s, size_t n) { return xw_utf8_bad_at(s, n) == n; }

#endif
