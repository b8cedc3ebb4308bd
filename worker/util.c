/*
 * Small text helpers of the worker (util.h).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "worker/util.h"

#define DYM_MAX 64

/* Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbours each cost 1; letters compare without case. Both lengths are at most DYM_MAX. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t d[DYM_MAX + 1][DYM_MAX + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int ai = tolower((unsigned char)a[i - 1]), bj = tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j - 1] + (ai != bj);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == bj && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *wk_did_you_mean(const char *w, size_t len, const char *const *words, size_t n)
{
    if (len == 0 || len > DYM_MAX)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t lw = strlen(words[i]);
        if (lw > DYM_MAX)
            continue;
        size_t dist = edit_distance(w, len, words[i], lw);
        if (dist < best_d) {
            best_d = dist;
            best = words[i];
        }
    }
    size_t allowed = len < 3 ? 1 : len / 3;
    if (allowed > 4)
        allowed = 4;
    if (best && best_d <= allowed)
        return best;
    /* a word cut short ("prod" for "production") when only one word starts that way */
    const char *only = NULL;
    for (size_t i = 0; len >= 2 && i < n; i++)
        if (strlen(words[i]) > len && strncasecmp(words[i], w, len) == 0) {
            if (only)
                return NULL;
            only = words[i];
        }
    return only;
}

static int host_ok(const char *h, size_t n)
{
    if (n == 0 || n >= WK_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
            return 0;
    return 1;
}

static int v6_ok(const char *h, size_t n)
{
    if (n < 2 || n >= WK_HOST_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
            return 0;
    return memchr(h, ':', n) != NULL;
}

int wk_hostport_parse(const char *s, size_t len, int need_port, char host[WK_HOST_MAX], unsigned *port)
{
    const char *h = s, *rest;
    size_t hl;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        if (!v6_ok(h, hl))
            return -1;
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        hl = colon ? (size_t)(colon - s) : len;
        if (!host_ok(h, hl))
            return -1;
        rest = s + hl;
    }
    size_t rl = len - (size_t)(rest - s);
    *port = 0;
    if (rl == 0) {
        if (need_port)
            return -1;
    } else {
        if (rest[0] != ':' || rl < 2 || rl > 6)
            return -1;
        unsigned v = 0;
        for (size_t i = 1; i < rl; i++) {
            if (!isdigit((unsigned char)rest[i]))
                return -1;
            v = v * 10 + (unsigned)(rest[i] - '0');
        }
        if (v > 65535)
            return -1;
        *port = v;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    return 0;
}
