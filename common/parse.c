/*
 * Strict decimal number parsing (common/parse.h). Digits are read by hand rather than with
 * strtoull, which skips leading spaces, accepts a sign and depends on the locale. The text
 * quoted back in an error is cut at 32 bytes and printed only if it is printable ASCII, so a
 * hostile value cannot flood or garble a log line.
 */
#include "common/parse.h"

#include <string.h>

#define QUOTE_MAX 32

/* The text as it may appear in a message: printable ASCII, at most QUOTE_MAX bytes. */
static void quote(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = len < QUOTE_MAX ? len : QUOTE_MAX, k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[k] = '\0';
    if (len > QUOTE_MAX && k + 4 <= cap)
        memcpy(out + k, "...", 4);
}

/* 0: all digits, *mag set; 1: all digits but more than 64 bits; -1: a non-digit (or none). */
static int magnitude(const char *s, size_t len, uint64_t *mag)
{
    uint64_t v = 0;
    int over = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            over = 1;
        else
            v = v * 10 + d;
    }
    *mag = v;
    return over;
}

static const char *name_of(const char *what) { return what && *what ? what : "the number"; }

static int u64_len(const char *what, const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out,
                   xw_errbuf *eb)
{
    char q[QUOTE_MAX + 4];
    uint64_t v = 0;
    if (!s || len == 0)
        return xw_errf(eb, XW_EMALFORMED, "%s is empty; give a whole number from %llu to %llu", name_of(what),
                       (unsigned long long)min, (unsigned long long)max);
    quote(s, len, q, sizeof q);
    if (s[0] == '-' && len > 1 && magnitude(s + 1, len - 1, &v) >= 0)
        return xw_errf(eb, XW_EINVAL,
                       "%s must not be negative (got '%s'); give a whole number from %llu to %llu",
                       name_of(what), q, (unsigned long long)min, (unsigned long long)max);
    int m = magnitude(s, len, &v);
    if (m < 0)
        return xw_errf(eb, XW_EMALFORMED,
                       "%s: '%s' is not a whole number (decimal digits only, from %llu to %llu)",
                       name_of(what), q, (unsigned long long)min, (unsigned long long)max);
    if (m > 0 || v < min || v > max)
        return xw_errf(eb, XW_EINVAL, "%s: %s is out of range; give a whole number from %llu to %llu",
                       name_of(what), q, (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return XW_OK;
}

int xw_parse_u64_len(const char *what, const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out,
                     xw_errbuf *eb)
{
    return u64_len(what, s, len, min, max, out, eb);
}

int xw_parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out, xw_errbuf *eb)
{
    return u64_len(what, s, s ? strlen(s) : 0, min, max, out, eb);
}

int xw_parse_i64(const char *what, const char *s, int64_t min, int64_t max, int64_t *out, xw_errbuf *eb)
{
    char q[QUOTE_MAX + 4];
    size_t len = s ? strlen(s) : 0;
    if (len == 0)
        return xw_errf(eb, XW_EMALFORMED, "%s is empty; give a whole number from %lld to %lld", name_of(what),
                       (long long)min, (long long)max);
    quote(s, len, q, sizeof q);
    int neg = s[0] == '-';
    uint64_t mag = 0;
    int m = magnitude(s + neg, len - (size_t)neg, &mag);
    if (m < 0)
        return xw_errf(
            eb, XW_EMALFORMED,
            "%s: '%s' is not a whole number (decimal digits with an optional '-', from %lld to %lld)",
            name_of(what), q, (long long)min, (long long)max);
    /* the magnitude of INT64_MIN is INT64_MAX + 1 */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int64_t v = 0;
    if (m == 0 && mag <= limit)
        v = !neg ? (int64_t)mag : mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
    if (m > 0 || mag > limit || v < min || v > max)
        return xw_errf(eb, XW_EINVAL, "%s: %s is out of range; give a whole number from %lld to %lld",
                       name_of(what), q, (long long)min, (long long)max);
    *out = v;
    return XW_OK;
}
