/*
 * Strict parsing of whole decimal numbers: the one way the project turns text it was given
 * (command-line arguments, environment variables, rule files, header values from a peer) into
 * an integer. atoi/strtol and friends accept "12abc", " 12", "+12", "" (as 0) and, for the
 * unsigned ones, "-1" (as the largest value); these refuse all of them.
 *
 * Accepted: one or more decimal digits, for xw_parse_i64 optionally preceded by one '-'.
 * Refused, with a sentence in eb that names the value (`what`, e.g. "--suite") and what to
 * give instead: an empty text, any other character (spaces, '+', a trailing unit or
 * newline), a '-' for an unsigned value ("must not be negative"), and a value outside
 * [min, max] (which includes one too large for 64 bits). On failure *out is left unchanged.
 *
 *   uint64_t suite;
 *   if (xw_parse_u64("--suite", argv[i], 1, 3, &suite, &eb) != XW_OK) ... eb.msg ...
 */
#ifndef XW_COMMON_PARSE_H
#define XW_COMMON_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* XW_EMALFORMED for text that is not a number, XW_EINVAL for a negative or out-of-range one. */
int xw_parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out, xw_errbuf *eb);
int xw_parse_i64(const char *what, const char *s, int64_t min, int64_t max, int64_t *out, xw_errbuf *eb);
/* The same on the first len bytes of s (a header value, a piece of a larger text); a NUL
 * inside them is a character like any other non-digit, so it is refused. */
int xw_parse_u64_len(const char *what, const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out,
                     xw_errbuf *eb);

#endif
