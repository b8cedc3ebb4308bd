/*
 * Hex and base64 (RFC 4648, standard alphabet with padding, and the URL-safe alphabet
 * without padding). Decoders reject anything that is not canonical for their alphabet.
 */
#ifndef XW_COMMON_CODEC_H
#define XW_COMMON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Writes 2*n lowercase hex digits and a NUL into out (size >= 2*n + 1). */
void xw_hex_encode(const uint8_t *in, size_t n, char *out);
/* Appends the hex text (no NUL) to b. */
int xw_hex_append(xw_buf *b, const uint8_t *in, size_t n);
/* Decodes `len` hex digits (either case); an odd length or a non-hex digit is XW_EMALFORMED. */
/* The value of one hex digit (either case), or -1 if c is not one. */
int xw_hex_digit_value(char c);
int xw_hex_decode(const char *hex, size_t len, xw_buf *out);
/* Decodes into a fixed array; XW_EINVAL unless the text is exactly 2*n digits. */
int xw_hex_decode_exact(const char *hex, uint8_t *out, size_t n);

size_t xw_base64_encoded_len(size_t n); /* with padding, without NUL */
int xw_base64_encode(const uint8_t *in, size_t n, xw_buf *out);
int xw_base64_decode(const char *in, size_t len, xw_buf *out);
int xw_base64url_encode(const uint8_t *in, size_t n, xw_buf *out);
int xw_base64url_decode(const char *in, size_t len, xw_buf *out);

#endif
