/*
 * Hex and base64 codecs. Decoding is strict: wrong characters, wrong padding and non-zero
 * trailing bits are errors, so that every byte string has exactly one accepted text form.
 */
#include "common/codec.h"

#include <string.h>

#include "common/err.h"

static const char hexdig[] = "0123456789abcdef";

void xw_hex_encode(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int xw_hex_append(xw_buf *b, const uint8_t *in, size_t n)
{
    if (n > SIZE_MAX / 2)
        return XW_ETOOBIG;
    uint8_t *p = xw_buf_extend(b, 2 * n);
    if (!p)
        return XW_ETOOBIG;
    for (size_t i = 0; i < n; i++) {
        p[2 * i] = (uint8_t)hexdig[in[i] >> 4];
        p[2 * i + 1] = (uint8_t)hexdig[in[i] & 15];
    }
    return XW_OK;
}

int xw_hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex_decode_to(const char *hex, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len / 2; i++) {
        int hi = xw_hex_digit_value(hex[2 * i]), lo = xw_hex_digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return XW_EMALFORMED;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return XW_OK;
}

int xw_hex_decode(const char *hex, size_t len, xw_buf *out)
{
    if (len % 2)
        return XW_EMALFORMED;
    size_t old = out->len;
    uint8_t *p = xw_buf_extend(out, len / 2);
    if (!p)
        return XW_ETOOBIG;
    int rc = hex_decode_to(hex, len, p);
    if (rc != XW_OK)
        out->len = old;
    return rc;
}

int xw_hex_decode_exact(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return XW_EINVAL;
    return hex_decode_to(hex, 2 * n, out);
}

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t xw_base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }

static int b64_encode(const char *alpha, int pad, const uint8_t *in, size_t n, xw_buf *out)
{
    if (n > (SIZE_MAX / 4) * 3 - 3)
        return XW_ETOOBIG;
    size_t full = n / 3, rest = n % 3;
    size_t outlen = full * 4 + (rest ? (pad ? 4 : rest + 1) : 0);
    uint8_t *p = xw_buf_extend(out, outlen);
    if (!p)
        return XW_ETOOBIG;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *p++ = (uint8_t)alpha[v >> 18];
        *p++ = (uint8_t)alpha[(v >> 12) & 63];
        *p++ = (uint8_t)alpha[(v >> 6) & 63];
        *p++ = (uint8_t)alpha[v & 63];
    }
    if (rest) {
        uint32_t v = (uint32_t)in[i] << 16 | (rest == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        *p++ = (uint8_t)alpha[v >> 18];
        *p++ = (uint8_t)alpha[(v >> 12) & 63];
        if (rest == 2)
            *p++ = (uint8_t)alpha[(v >> 6) & 63];
        if (pad) {
            if (rest == 1)
                *p++ = '=';
            *p++ = '=';
        }
    }
    return XW_OK;
}

static int b64_val(const char *alpha, char c)
{
    const char *q = c ? strchr(alpha, c) : NULL;
    return q ? (int)(q - alpha) : -1;
}

static int b64_decode(const char *alpha, int pad, const char *in, size_t len, xw_buf *out)
{
    size_t npad = 0;
    if (pad) {
        if (len % 4)
            return XW_EMALFORMED;
        while (npad < 2 && len > npad && in[len - 1 - npad] == '=')
            npad++;
    } else if (len % 4 == 1) {
        return XW_EMALFORMED;
    }
    size_t body = len - npad;
    size_t rest = body % 4;
    if (pad && npad && rest != 4 - npad)
        return XW_EMALFORMED;
    size_t outlen = body / 4 * 3 + (rest ? rest - 1 : 0);
    size_t old = out->len;
    uint8_t *p = xw_buf_extend(out, outlen);
    if (!p)
        return XW_ETOOBIG;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < body; i++) {
        int v = b64_val(alpha, in[i]);
        if (v < 0)
            goto bad;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *p++ = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-zero leftover bits: not the canonical encoding */
        goto bad;
    return XW_OK;
bad:
    out->len = old;
    return XW_EMALFORMED;
}

int xw_base64_encode(const uint8_t *in, size_t n, xw_buf *out) { return b64_encode(b64std, 1, in, n, out); }
int xw_base64_decode(const char *in, size_t len, xw_buf *out) { return b64_decode(b64std, 1, in, len, out); }
int xw_base64url_encode(const uint8_t *in, size_t n, xw_buf *out)
{
    return b64_encode(b64url, 0, in, n, out);
}
int xw_base64url_decode(const char *in, size_t len, xw_buf *out)
{
    return b64_decode(b64url, 0, in, len, out);
}
