/*
 * libFuzzer target for the welcome wrapper's parsers: the TLS HpkeCiphertext of a wrapped
 * welcome (both algorithms, with and without metadata), KeyPackage extensions 0xff03 and
 * 0xff04, and WelcomeMetadata. Byte 0 picks the parser, the rest is the untrusted input.
 *
 * Properties: no crash or leak; a failed unwrap leaves the output buffers untouched; an
 * extension that decodes re-encodes to something that decodes to the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/err.h"
#include "xmtp/welcome_wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sk[32] = {42};
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    xw_buf w, m, b;
    xw_buf_init(&w, 1u << 20);
    xw_buf_init(&m, 4096);
    xw_buf_init(&b, 1u << 16);
    switch (data[0] % 5) {
    case 0:
    case 1: { /* unwrap: X-Wing or Curve25519; a metadata ciphertext when the input is long enough */
        xmtp_welcome_alg alg = data[0] % 5 == 0 ? XMTP_WELCOME_XWING : XMTP_WELCOME_CURVE25519;
        size_t meta = n > 64 ? 18 : 0;
        int rc = xmtp_welcome_unwrap(alg, sk, sizeof sk, p, n - meta, meta ? p + n - meta : NULL, meta, &w,
                                     &m, NULL, NULL);
        if (rc != XW_OK && (w.len || m.len))
            abort();
        break;
    }
    case 2: { /* 0xff03 */
        xmtp_welcome_key k, k2;
        if (xmtp_welcome_wrapper_ext_decode(p, n, &k, NULL) == XW_OK) {
            if (xmtp_welcome_wrapper_ext_encode(&k, &b, NULL) != XW_OK ||
                xmtp_welcome_wrapper_ext_decode(b.data, b.len, &k2, NULL) != XW_OK || k.alg != k2.alg ||
                k.pub_len != k2.pub_len || memcmp(k.pub, k2.pub, k.pub_len))
                abort();
        }
        break;
    }
    case 3: { /* 0xff04 */
        uint32_t mask;
        (void)xmtp_welcome_pointee_ext_decode(p, n, &mask, NULL);
        break;
    }
    default: { /* WelcomeMetadata */
        uint64_t cursor, again;
        if (xmtp_welcome_metadata_decode(p, n, &cursor, NULL) == XW_OK) {
            if (xmtp_welcome_metadata_encode(cursor, &b, NULL) != XW_OK ||
                xmtp_welcome_metadata_decode(b.data, b.len, &again, NULL) != XW_OK || again != cursor)
                abort();
        }
        break;
    }
    }
    xw_buf_free(&w);
    xw_buf_free(&m);
    xw_buf_free(&b);
    return 0;
}
