/*
 * content.words: a text split into words and lowered, the same way for the text of an event
 * (eval.c) and for the items a rule compares with it (pred.c), so that an item can match
 * exactly when it is one word as a text would give it.
 *
 * A word is a run of letters, digits, marks and connector punctuation (`_`); everything
 * else separates words: spaces, punctuation (a curly apostrophe as much as a straight
 * one), symbols (emoji, currency, math) and controls, in ASCII and in all of Unicode. A
 * mark or ZERO WIDTH JOINER belongs to the character before it, so the variation selector
 * after an emoji is no word of its own. Words are lowered by Unicode's simple lowercase
 * mapping (A to a, Ä to ä, Σ to σ, Д to д). Bytes that are not valid UTF-8 are word bytes,
 * kept as they are. The Unicode tables are generated (rules/unicode_tab.c); ASCII, the
 * common case, is one table lookup per byte.
 */
#include <string.h>

#include "rules/rules_int.h"

/* A byte's lowered value when it is an ASCII word byte (letters, digits, _), 0 when it is
 * an ASCII separator, 0xFF when it starts (or continues) a multi-byte character. */
#define MB 0xFF
static const unsigned char word_tab[256] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   48,  49,  50,  51,  52,  53,  54,  55,  56,  57,  0,   0,
    0,   0,   0,   0,   0,   97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
    112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 0,   0,   0,   0,   95,  0,   97,  98,  99,
    100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119,
    120, 121, 122, 0,   0,   0,   0,   0,   MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,
    MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,
    MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,
    MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,
    MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,
    MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,
    MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB,  MB};

int rules_uc_class(uint32_t cp)
{
    size_t lo = 0, hi = rules_uc_nclasses;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < rules_uc_classes[mid].lo)
            hi = mid;
        else if (cp > rules_uc_classes[mid].hi)
            lo = mid + 1;
        else
            return rules_uc_classes[mid].cls;
    }
    return RULES_UC_WORD;
}

uint32_t rules_uc_lower(uint32_t cp)
{
    size_t lo = 0, hi = rules_uc_nlower_runs;
    while (lo < hi) { /* the last run starting at or before cp */
        size_t mid = (lo + hi) / 2;
        if (rules_uc_lower_runs[mid].lo <= cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return cp;
    const rules_uc_lower_run *r = &rules_uc_lower_runs[lo - 1];
    uint32_t k = cp - r->lo;
    if (k % r->stride || k / r->stride >= r->n)
        return cp;
    return (uint32_t)((int32_t)cp + r->delta);
}

size_t rules_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t k = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0;
    if (k == 0 || k > n || b > 0xF4)
        return 0;
    uint32_t v = b & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if ((k == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) || (k == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return 0;
    *cp = v;
    return k;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The split: words into out, each followed by a NUL; the first `max` words recorded in
 * items; the number of separating characters in *nsep. Returns the number of words. */
static size_t split(const char *text, size_t len, char *out, rules_str *items, size_t max, size_t *nsep)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = 0, o = 0, start = 0, seps = 0, i = 0;
    int in = 0;
    while (i < len) {
        unsigned char c = word_tab[s[i]];
        int word = 1;
        if (c == 0) { /* an ASCII separator */
            i++;
            word = 0;
        } else if (c != MB) { /* ASCII word bytes: the run is copied lowered */
            if (!in) {
                start = o;
                in = 1;
            }
            do {
                out[o++] = (char)c;
                i++;
            } while (i < len && (c = word_tab[s[i]]) != 0 && c != MB);
            continue;
        } else {
            uint32_t cp;
            size_t k = rules_utf8_next(s + i, len - i, &cp);
            if (k == 0) { /* not UTF-8: a word byte as it is */
                if (!in) {
                    start = o;
                    in = 1;
                }
                out[o++] = (char)s[i++];
                continue;
            }
            i += k;
            int cls = rules_uc_class(cp);
            word = cls == RULES_UC_WORD || (cls == RULES_UC_EXTEND && in);
            if (word) {
                if (!in) {
                    start = o;
                    in = 1;
                }
                o += utf8_put(out + o, rules_uc_lower(cp));
                continue;
            }
        }
        seps++; /* a separator: the end of a word */
        if (in) {
            if (n < max)
                items[n] = (rules_str){out + start, o - start};
            n++;
            out[o++] = '\0';
            in = 0;
        }
    }
    if (in) {
        if (n < max)
            items[n] = (rules_str){out + start, o - start};
        n++;
    }
    out[o] = '\0';
    *nsep = seps;
    return n;
}

size_t rules_words_split(const char *text, size_t len, char *out, rules_str *items)
{
    size_t seps;
    return split(text, len, out, items, (size_t)-1, &seps);
}

int rules_word_item(const char *s, size_t len, char *out, size_t *outlen)
{
    rules_str w = {out, 0};
    size_t seps;
    size_t n = split(s, len, out, &w, 1, &seps);
    if (n == 1 && seps == 0) {
        *outlen = w.len;
        return 1;
    }
    /* never one word: keep the item lowered whole (it matches nothing), for the warning */
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k =
            (unsigned char)s[i] < 0x80 ? 0 : rules_utf8_next((const unsigned char *)s + i, len - i, &cp);
        if (k == 0) {
            char ch = s[i++];
            out[o++] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
            continue;
        }
        o += utf8_put(out + o, rules_uc_lower(cp));
        i += k;
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}
