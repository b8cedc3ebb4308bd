/*
 * libFuzzer target for the decoders of untrusted event bytes: pl_event_decode() (events
 * arrive from files as JSON lines and from Kafka) and the outbox's batch framing
 * (pl_outbox_rec_next / pl_outbox_body_check: rows read back from the SQLite file).
 *
 * Event: whatever the decoder accepts must re-encode, and the re-encoding must decode to the
 * same bytes again (a canonical form). Batch: the input's first byte gives a claimed event
 * count, the rest is a body; the check must agree with walking the records one by one, every
 * record must lie inside the body, and a body that passes is rebuilt record by record to the
 * same bytes; each record's payload also goes through the event decoder.
 * Stored bodies (pl_outbox_body_decode): the input as a stored body of each codec; what
 * decodes must be within the batch limit and of the declared length, and must compress and
 * decode back to the same bytes; what does not must leave nothing half-decoded. Whatever
 * decodes also goes through the framing checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "pipeline/event.h"
#include "pipeline/outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void event_roundtrip(const uint8_t *data, size_t size)
{
    pl_event ev;
    if (pl_event_decode((const char *)data, size, &ev, NULL) != XW_OK)
        return;
    xw_buf a, b;
    xw_buf_init(&a, 1 << 21);
    xw_buf_init(&b, 1 << 21);
    if (pl_event_encode(&ev, &a, NULL) == XW_OK) {
        pl_event ev2;
        if (pl_event_decode((const char *)a.data, a.len, &ev2, NULL) != XW_OK)
            abort(); /* our own encoding must decode */
        if (pl_event_encode(&ev2, &b, NULL) != XW_OK || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            abort(); /* and be canonical */
        pl_event_clear(&ev2);
    }
    xw_buf_free(&a);
    xw_buf_free(&b);
    pl_event_clear(&ev);
}

static void batch_framing(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    int64_t n = data[0] % 8 + (data[0] >> 7) * 600; /* mostly small counts, some over the limit */
    const uint8_t *body = data + 1;
    size_t len = size - 1, pos = 0;
    int whole = pl_outbox_body_check(body, len, n, NULL) == XW_OK;
    int walked = n >= 1 && n <= PL_OUTBOX_BATCH_MAX_EVENTS;
    xw_buf re;
    xw_buf_init(&re, PL_OUTBOX_BATCH_MAX_BYTES);
    for (int64_t i = 0; i < n && walked; i++) {
        pl_outbox_rec rec;
        size_t before = pos;
        if (pl_outbox_rec_next(body, len, &pos, &rec, NULL) != XW_OK) {
            walked = 0;
            break;
        }
        if (pos <= before || pos > len || (const uint8_t *)rec.payload + rec.payload_len != body + pos ||
            rec.id_len == 0 || rec.id_len > PL_EVENT_ID_MAX || rec.group_len == 0 ||
            rec.group_len > PL_EVENT_GROUP_MAX || rec.kind >= PL_EVENT__KIND_COUNT)
            abort(); /* a record must lie inside the body, within its bounds */
        event_roundtrip(rec.payload, rec.payload_len);
        uint8_t h[PL_OUTBOX_REC_HEADER] = {(uint8_t)rec.kind,
                                           (uint8_t)rec.id_len,
                                           (uint8_t)(rec.group_len >> 8),
                                           (uint8_t)rec.group_len,
                                           (uint8_t)(rec.payload_len >> 24),
                                           (uint8_t)(rec.payload_len >> 16),
                                           (uint8_t)(rec.payload_len >> 8),
                                           (uint8_t)rec.payload_len};
        if (xw_buf_append(&re, h, sizeof h) != XW_OK || xw_buf_append(&re, rec.id, rec.id_len) != XW_OK ||
            xw_buf_append(&re, rec.group, rec.group_len) != XW_OK ||
            xw_buf_append(&re, rec.payload, rec.payload_len) != XW_OK)
            walked = 0;
    }
    if (whole != (walked && pos == len && len <= PL_OUTBOX_BATCH_MAX_BYTES))
        abort(); /* the whole-body check and the record walk must agree */
    if (whole && (re.len != len || memcmp(re.data, body, len) != 0))
        abort(); /* the framing is exactly the records */
    xw_buf_free(&re);
}

static void stored_body(const uint8_t *data, size_t size)
{
    static xw_buf raw, raw2, lz;
    static int init;
    if (!init) {
        xw_buf_init(&raw, PL_OUTBOX_BATCH_MAX_BYTES);
        xw_buf_init(&raw2, PL_OUTBOX_BATCH_MAX_BYTES);
        xw_buf_init(&lz, 2 * (size_t)PL_OUTBOX_BATCH_MAX_BYTES);
        init = 1;
    }
    for (int codec = -1; codec <= 2; codec++) {
        const uint8_t *body;
        size_t len;
        xw_buf_reset(&raw);
        if (pl_outbox_body_decode(codec, data, size, &raw, &body, &len, NULL) != XW_OK) {
            if (codec == PL_OUTBOX_CODEC_NONE || raw.len != 0)
                abort(); /* plain always decodes; a refused body leaves nothing behind */
            continue;
        }
        if (codec != PL_OUTBOX_CODEC_NONE && codec != PL_OUTBOX_CODEC_LZ4)
            abort(); /* unknown codecs are refused */
        if (codec == PL_OUTBOX_CODEC_LZ4) {
            uint32_t declared =
                (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
            if (len != declared || len == 0 || len > PL_OUTBOX_BATCH_MAX_BYTES)
                abort(); /* exactly the declared length, within the limit */
            int c = pl_outbox_body_compress(body, len, &lz);
            const uint8_t *back;
            size_t blen;
            if (c == PL_OUTBOX_CODEC_LZ4 &&
                (pl_outbox_body_decode(c, lz.data, lz.len, &raw2, &back, &blen, NULL) != XW_OK ||
                 blen != len || memcmp(back, body, len) != 0))
                abort(); /* our compression round-trips */
            if (len >= 2)
                batch_framing(body, len);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    event_roundtrip(data, size);
    batch_framing(data, size);
    stored_body(data, size);
    return 0;
}
