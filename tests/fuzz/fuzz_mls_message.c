/*
 * libFuzzer target for MLSMessage decoding with the typed framing decoder (and, for a framed
 * message, the AuthenticatedContent and transcript-input writers). A message that decodes
 * must re-encode byte-identically.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mls/framing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mls_message m;
    xw_errbuf eb;
    if (mls_message_decode(data, size, &m, &eb) == XW_OK) {
        xw_buf out;
        xw_buf_init(&out, 4 * size + 64);
        if (mls_message_encode(&m, &out, &eb) != XW_OK || out.len != size ||
            (size && memcmp(out.data, data, size)))
            abort();
        if (m.wire_format == MLS_WIRE_FORMAT_PUBLIC_MESSAGE) {
            mls_authenticated_content ac = {m.wire_format, m.pub.content, m.pub.auth};
            xw_buf_reset(&out);
            mls_writer w;
            mls_writer_init(&w, &out);
            mls_authenticated_content_write(&w, &ac);
            mls_confirmed_transcript_input_write(&w, &ac);
            if (w.err)
                abort();
        }
        xw_buf_free(&out);
    }
    /* the same bytes as a bare AuthenticatedContent */
    mls_reader r;
    mls_authenticated_content ac;
    mls_reader_init(&r, data, size, NULL);
    mls_authenticated_content_read(&r, &ac);
    return 0;
}
