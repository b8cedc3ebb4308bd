/*
 * Tokens of the condition language.
 *
 * Identifiers are words of letters, digits and `_ . : / @ + -` (field names such as
 * `sender.inbox_id`, list and macro names, keywords, and bare-word values such as
 * `example.com`). Numbers are decimal integers; a number followed directly by ns, us, ms,
 * s, m, h or d is a duration (stored in nanoseconds). Strings are in double or single
 * quotes with \\ \" \' \n \t escapes. Overflow and unterminated strings are errors with the
 * offset of the token. Any other backslash is kept as it is, so that a regex such as
 * "\b(\w+) \1\b" needs no doubling.
 */
#include <string.h>

#include "rules/rules_int.h"

void rules_lexer_init(rules_lexer *lx, const char *text, size_t len, xw_arena *arena)
{
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
    lx->arena = arena;
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '/' || c == '@' || c == '+' || c == '-' || (unsigned char)c >= 0x80;
}

static rules_tok tok_err(size_t off, const char *msg)
{
    rules_tok t = {TK_ERROR, off, 1, NULL, 0, 0, msg};
    return t;
}

static rules_tok lex_string(rules_lexer *lx, size_t start)
{
    char q = lx->text[start];
    size_t i = start + 1, end = i;
    while (end < lx->len && lx->text[end] != q) /* the closing quote first: the text is no longer */
        end += lx->text[end] == '\\' && end + 1 < lx->len ? 2 : 1;
    if (end >= lx->len)
        return tok_err(start, "string is not closed; add the closing quote");
    char *out = rules_arena_alloc(lx->arena, end - start);
    if (!out)
        return tok_err(start, "out of memory");
    size_t n = 0;
    while (i < lx->len && lx->text[i] != q) {
        char c = lx->text[i];
        if (c == '\\') {
            if (i + 1 >= lx->len)
                break;
            char e = lx->text[i + 1];
            if (e == 'n')
                c = '\n';
            else if (e == 't')
                c = '\t';
            else if (e == '\\' || e == '"' || e == '\'')
                c = e;
            else { /* any other backslash stays, so regexes read naturally: "\\bfree\\b" */
                out[n++] = c;
                i++;
                continue;
            }
            i++;
        }
        out[n++] = c;
        i++;
    }
    if (i >= lx->len)
        return tok_err(start, "string is not closed; add the closing quote");
    lx->pos = i + 1;
    rules_tok t = {TK_STRING, start, lx->pos - start, out, n, 0, NULL};
    return t;
}

static rules_tok lex_number(rules_lexer *lx, size_t start)
{
    size_t i = start;
    int neg = 0;
    if (lx->text[i] == '-') {
        neg = 1;
        i++;
    }
    int64_t v = 0;
    size_t digits = 0;
    while (i < lx->len && lx->text[i] >= '0' && lx->text[i] <= '9') {
        int dg = lx->text[i] - '0';
        if (v > (INT64_MAX - dg) / 10) {
            rules_tok t = tok_err(start, "number is too large; the largest is " RULES_NUM_MAX_TEXT);
            t.too_large = 1;
            return t;
        }
        v = v * 10 + dg;
        i++;
        digits++;
    }
    size_t us = i;
    while (i < lx->len && is_word(lx->text[i]))
        i++;
    rules_tok t = {TK_NUMBER, start, i - start, NULL, 0, neg ? -v : v, NULL};
    if (digits == 0) { /* a '-' starting a word */
        t.k = TK_IDENT;
        lx->pos = i;
        return t;
    }
    if (i > us) {
        static const struct {
            const char *u;
            int64_t mul;
        } units[] = {{"ns", 1},
                     {"us", 1000},
                     {"ms", 1000000},
                     {"s", INT64_C(1000000000)},
                     {"m", INT64_C(60000000000)},
                     {"h", INT64_C(3600000000000)},
                     {"d", INT64_C(86400000000000)}};
        int found = 0;
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
            if (strlen(units[u].u) == i - us && memcmp(units[u].u, lx->text + us, i - us) == 0) {
                if (v > INT64_MAX / units[u].mul) {
                    rules_tok e = tok_err(start, "duration is too large; the longest is " RULES_DUR_MAX_TEXT);
                    e.too_large = 1;
                    return e;
                }
                t.num = (neg ? -v : v) * units[u].mul;
                found = 1;
            }
        if (!found)
            return tok_err(us,
                           "unknown unit after a number; durations use ns, us, ms, s, m, h or d (e.g. 60s)");
        t.k = TK_DURATION;
    }
    lx->pos = i;
    return t;
}

rules_tok rules_lex_next(rules_lexer *lx)
{
    while (lx->pos < lx->len && strchr(" \t\r\n", lx->text[lx->pos]) && lx->text[lx->pos])
        lx->pos++;
    size_t s = lx->pos;
    rules_tok t = {TK_EOF, s, 0, NULL, 0, 0, NULL};
    if (s >= lx->len) { /* point at the end of the last word, not past trailing blanks */
        while (t.off > 0 && strchr(" \t\r\n", lx->text[t.off - 1]))
            t.off--;
        return t;
    }
    char c = lx->text[s];
    char c2 = s + 1 < lx->len ? lx->text[s + 1] : 0;
    t.len = 1;
    switch (c) {
    case '(':
        t.k = TK_LPAREN;
        break;
    case ')':
        t.k = TK_RPAREN;
        break;
    case ',':
        t.k = TK_COMMA;
        break;
    case '=':
        t.k = TK_EQ;
        t.len = c2 == '=' ? 2 : 1;
        break;
    case '!':
        if (c2 != '=')
            return tok_err(s, "'!' must be followed by '=' (or use `not`)");
        t.k = TK_NE;
        t.len = 2;
        break;
    case '<':
        t.k = c2 == '=' ? TK_LE : TK_LT;
        t.len = c2 == '=' ? 2 : 1;
        break;
    case '>':
        t.k = c2 == '=' ? TK_GE : TK_GT;
        t.len = c2 == '=' ? 2 : 1;
        break;
    case '"':
    case '\'':
        return lex_string(lx, s);
    default:
        if ((c >= '0' && c <= '9') || (c == '-' && c2 >= '0' && c2 <= '9'))
            return lex_number(lx, s);
        if (!is_word(c))
            return tok_err(s, "unexpected character");
        while (lx->pos < lx->len && is_word(lx->text[lx->pos]))
            lx->pos++;
        t.k = TK_IDENT;
        t.len = lx->pos - s;
        return t;
    }
    lx->pos = s + t.len;
    return t;
}
