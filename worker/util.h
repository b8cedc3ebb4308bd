/*
 * Small text helpers of the worker: "did you mean" suggestions for misspelt names, and
 * host:port parsing (the metrics address, the node URL's authority).
 */
#ifndef XW_WORKER_UTIL_H
#define XW_WORKER_UTIL_H

#include <stddef.h>

/* The closest of n words to w[0..len) by edit distance (a swap of neighbours
 * counts as one edit; letters compared without case),
 * when it is close enough to be a likely misspelling (at most a third of w's length, 1 for
 * short words, 4 at most), or else the only word that w begins (at least 2 bytes: "prod" for
 * "production"); else NULL. Words longer than 64 bytes are never suggested. */
const char *wk_did_you_mean(const char *w, size_t len, const char *const *words, size_t n);

#define WK_HOST_MAX 256
/*
 * Parses "host:port" or "[v6-literal]:port" (s[0..len)); with need_port 0 the ":port" may
 * be left out (*port is then 0). The host is a name (letters, digits, '-', '.', '_'), an
 * IPv4 literal or a bracketed IPv6 literal; it is copied into host (without brackets).
 * Port 0..65535 (0: any free port). Returns 0, or -1 when s is not of that form.
 */
int wk_hostport_parse(const char *s, size_t len, int need_port, char host[WK_HOST_MAX], unsigned *port);

#endif
