/*
 * gRPC deframing and grpc-message decoding (see api_frame.h).
 */
#include "xmtp/api_frame.h"

#include "common/codec.h"

void xmtp_grpc_deframer_init(xmtp_grpc_deframer *d, size_t max_message)
{
    d->hdr_have = 0;
    d->need = 0;
    d->in_msg = 0;
    d->max = max_message;
    xw_buf_init(&d->msg, max_message);
}

void xmtp_grpc_deframer_free(xmtp_grpc_deframer *d) { xw_buf_free(&d->msg); }

int xmtp_grpc_deframer_partial(const xmtp_grpc_deframer *d) { return d->in_msg || d->hdr_have; }

int xmtp_grpc_deframe(xmtp_grpc_deframer *d, const uint8_t *p, size_t n, xmtp_grpc_msg_fn fn, void *ctx,
                      xw_errbuf *eb)
{
    size_t off = 0;
    while (off < n) {
        if (!d->in_msg) {
            size_t k = 5 - d->hdr_have;
            if (k > n - off)
                k = n - off;
            for (size_t i = 0; i < k; i++)
                d->hdr[d->hdr_have + i] = p[off + i];
            d->hdr_have += k;
            off += k;
            if (d->hdr_have < 5)
                break;
            d->hdr_have = 0;
            size_t mlen =
                ((size_t)d->hdr[1] << 24) | ((size_t)d->hdr[2] << 16) | ((size_t)d->hdr[3] << 8) | d->hdr[4];
            if (d->hdr[0] != 0)
                return xw_errf(eb, XW_EPROTOCOL,
                               "the server sent a compressed message (flag %u) although none was negotiated",
                               d->hdr[0]);
            if (mlen > d->max)
                return xw_errf(eb, XW_ETOOBIG, "the server sent a %zu-byte message; the limit is %zu", mlen,
                               d->max);
            xw_buf_reset(&d->msg);
            d->need = mlen;
            d->in_msg = 1;
        }
        size_t k = d->need < n - off ? d->need : n - off;
        if (k && xw_buf_append(&d->msg, p + off, k) != XW_OK)
            return xw_errf(eb, XW_ENOMEM, "out of memory");
        off += k;
        d->need -= k;
        if (d->need == 0) {
            d->in_msg = 0;
            if (fn(ctx, d->msg.data ? d->msg.data : (const uint8_t *)"", d->msg.len) != 0)
                return XW_ECLOSED;
        }
    }
    return XW_OK;
}

void xmtp_grpc_pct_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        int hi = in[i] == '%' && i + 2 < n ? xw_hex_digit_value(in[i + 1]) : -1;
        int lo = hi >= 0 ? xw_hex_digit_value(in[i + 2]) : -1;
        if (lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = 0;
}
