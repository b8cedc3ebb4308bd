/*
 * Safe decoding of protobuf-c messages (see pb.h): a descriptor-guided pass over the wire
 * bytes that checks framing, nesting depth and string contents, then protobuf-c's unpack
 * with an allocator backed by common/alloc.h.
 *
 * The pass reads each key (varint: field number << 3 | wire type), skips varint, 64-bit
 * and 32-bit values, and for length-delimited values checks the length against what is
 * left; when the field is known to the descriptor and is a string it checks UTF-8, when it
 * is a message (map entries are messages too) it recurses one level deeper. Groups (wire
 * types 3 and 4) do not exist in proto3 and are refused. Everything else about field
 * types is left to protobuf-c, which refuses a known field sent with the wrong wire type.
 *
 * xw_pb_field_next is the project's one reader of protobuf keys, varints and lengths: the
 * decoding pass, xw_pb_field_find and the interop test's record splitter all use it; the append helpers are
 * the one writer of hand-assembled fields (generated code packs everything else).
 */
#include "proto/pb.h"

#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/utf8.h"

/* Largest field number protobuf allows (2^29 - 1). */
#define PB_MAX_FIELD_NUMBER 536870911u

/* --- allocator --------------------------------------------------------------------------- */

typedef struct {
    ProtobufCAllocator base;
    int failed; /* set when an allocation returned NULL */
} pb_alloc;

static void *pb_alloc_fn(void *data, size_t n)
{
    void *p = xw_malloc(n ? n : 1);
    if (!p && data)
        ((pb_alloc *)data)->failed = 1;
    return p;
}

static void pb_free_fn(void *data, void *p)
{
    (void)data;
    xw_free(p);
}

/* What xw_pb_free frees with: xw_free, which takes whatever common/alloc.h allocated. */
static ProtobufCAllocator g_allocator = {pb_alloc_fn, pb_free_fn, NULL};

/* --- wire pass --------------------------------------------------------------------------- */

/* Reads a varint of at most 10 bytes at *off; 0 on success. */
static int read_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*off >= len)
            return -1;
        uint8_t b = p[(*off)++];
        if (i == 9 && b > 1)
            return -1; /* more than 64 bits */
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* The offset of the first byte that makes s[0..n) not UTF-8 (common/utf8.h), or of its first
 * NUL, whichever comes first; n when there is neither. */
static size_t utf8_bad_at(const uint8_t *s, size_t n)
{
    const uint8_t *nul = memchr(s, 0, n);
    return xw_utf8_bad_at(s, nul ? (size_t)(nul - s) : n);
}

int xw_pb_field_next(const uint8_t *p, size_t len, size_t *off, const char *what, xw_pb_field *f,
                     xw_errbuf *eb)
{
    size_t at = *off;
    uint64_t key, v;
    if (read_varint(p, len, off, &key) != 0)
        return xw_errf(eb, XW_EMALFORMED, "%s: field key at byte %zu is truncated or longer than 10 bytes",
                       what, at);
    f->num = 0;
    f->wt = (unsigned)(key & 7);
    f->val = NULL;
    f->val_len = 0;
    if ((key >> 3) == 0 || (key >> 3) > PB_MAX_FIELD_NUMBER)
        return xw_errf(eb, XW_EMALFORMED, "%s: field number %" PRIu64 " at byte %zu is out of range", what,
                       key >> 3, at);
    f->num = (uint32_t)(key >> 3);
    switch (f->wt) {
    case 0:
        if (read_varint(p, len, off, &v) != 0)
            return xw_errf(eb, XW_EMALFORMED, "%s: varint of field %u at byte %zu is truncated", what, f->num,
                           at);
        return XW_OK;
    case 1:
    case 5: {
        size_t n = f->wt == 1 ? 8 : 4;
        if (len - *off < n)
            return xw_errf(eb, XW_EMALFORMED, "%s: %zu-byte value of field %u at byte %zu is truncated", what,
                           n, f->num, at);
        *off += n;
        return XW_OK;
    }
    case 2:
        if (read_varint(p, len, off, &v) != 0 || v > len - *off)
            return xw_errf(eb, XW_EMALFORMED,
                           "%s: field %u at byte %zu announces more bytes than the input holds", what, f->num,
                           at);
        f->val = p + *off;
        f->val_len = (size_t)v;
        *off += (size_t)v;
        return XW_OK;
    default:
        return xw_errf(eb, XW_EMALFORMED,
                       "%s: field %u at byte %zu has wire type %u, which proto3 does not use", what, f->num,
                       at, f->wt);
    }
}

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, unsigned depth,
                xw_errbuf *eb)
{
    if (depth > XW_PB_MAX_DEPTH)
        return xw_errf(eb, XW_EMALFORMED,
                       "%s is nested more than %d messages deep; refusing it (no XMTP message needs that)",
                       d->name, XW_PB_MAX_DEPTH);
    size_t off = 0;
    while (off < len) {
        xw_pb_field fl;
        int rc = xw_pb_field_next(p, len, &off, d->name, &fl, eb);
        if (rc != XW_OK)
            return rc;
        if (fl.wt != 2)
            continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)fl.num);
        if (f && f->type == PROTOBUF_C_TYPE_STRING) {
            size_t bad = utf8_bad_at(fl.val, fl.val_len);
            if (bad < fl.val_len)
                return xw_errf(eb, XW_EMALFORMED, "%s: string field %s has %s at its byte %zu; refusing it",
                               d->name, f->name, fl.val[bad] ? "invalid UTF-8" : "a NUL byte", bad);
        } else if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
            rc = walk((const ProtobufCMessageDescriptor *)f->descriptor, fl.val, fl.val_len, depth + 1, eb);
            if (rc != XW_OK)
                return rc;
        }
    }
    return XW_OK;
}

/* --- public ------------------------------------------------------------------------------ */

int xw_pb_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, size_t max,
                 ProtobufCMessage **out, xw_errbuf *eb)
{
    *out = NULL;
    if (len > max)
        return xw_errf(eb, XW_ETOOBIG, "%s of %zu bytes exceeds the %zu-byte limit for it", desc->name, len,
                       max);
    if (len > 0 && !data)
        return xw_errf(eb, XW_EINVAL, "no bytes given for a %zu-byte %s", len, desc->name);
    int rc = walk(desc, data, len, 1, eb);
    if (rc != XW_OK)
        return rc;
    pb_alloc a = {{pb_alloc_fn, pb_free_fn, NULL}, 0};
    a.base.allocator_data = &a;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &a.base, len, data);
    if (!m) {
        if (a.failed)
            return xw_errf(eb, XW_ENOMEM, "out of memory while decoding a %zu-byte %s", len, desc->name);
        return xw_errf(
            eb, XW_EMALFORMED,
            "%s: the %zu bytes are not a valid encoding (a field has the wrong wire type or value)",
            desc->name, len);
    }
    *out = m;
    return XW_OK;
}

void xw_pb_free(ProtobufCMessage *msg)
{
    if (msg)
        protobuf_c_message_free_unpacked(msg, &g_allocator);
}

int xw_pb_encode(const ProtobufCMessage *msg, xw_buf *out, xw_errbuf *eb)
{
    if (!protobuf_c_message_check(msg))
        return xw_errf(eb, XW_EINVAL, "%s is incomplete (a string, bytes or sub-message pointer is missing)",
                       msg->descriptor->name);
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n == 0)
        return XW_OK;
    if (n > out->max - out->len)
        return xw_errf(eb, XW_ETOOBIG, "encoding %s takes %zu bytes; the buffer has room for %zu",
                       msg->descriptor->name, n, out->max - out->len);
    size_t old = out->len;
    uint8_t *p = xw_buf_extend(out, n);
    if (!p)
        return xw_errf(eb, XW_ENOMEM, "out of memory while encoding %s (%zu bytes)", msg->descriptor->name,
                       n);
    size_t w = protobuf_c_message_pack(msg, p);
    if (w != n) {
        xw_buf_truncate(out, old);
        return xw_errf(eb, XW_EINTERNAL, "protobuf-c packed %zu bytes of %s after announcing %zu", w,
                       msg->descriptor->name, n);
    }
    return XW_OK;
}

int xw_pb_field_find(const uint8_t *p, size_t n, uint32_t field, const char *what, const uint8_t **val,
                     size_t *val_len, xw_errbuf *eb)
{
    if (n > 0 && !p)
        return xw_errf(eb, XW_EINVAL, "no bytes given for a %zu-byte %s", n, what);
    size_t off = 0;
    int found = 0;
    while (off < n) {
        size_t at = off;
        xw_pb_field fl;
        int rc = xw_pb_field_next(p, n, &off, what, &fl, eb);
        if (rc != XW_OK)
            return rc;
        if (fl.num != field)
            continue;
        if (fl.wt != 2)
            return xw_errf(eb, XW_EMALFORMED,
                           "%s: field %u at byte %zu has wire type %u; it must be 2 (bytes)", what, field, at,
                           fl.wt);
        if (found)
            return xw_errf(eb, XW_EMALFORMED, "%s carries field %u twice; it must carry it once", what,
                           field);
        found = 1;
        *val = fl.val;
        *val_len = fl.val_len;
    }
    if (!found)
        return xw_errf(eb, XW_ENOTFOUND, "%s has no field %u", what, field);
    return XW_OK;
}

/* Writes v as a varint into b (room for 10 bytes); returns its length. */
static size_t put_varint(uint8_t *b, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        b[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[i++] = (uint8_t)v;
    return i;
}

/* Appends key (and, for length-delimited values, the length) and reserves room for the
 * n value bytes behind it; returns where they go, or NULL with *rc set (out unchanged). */
static uint8_t *append_head(xw_buf *out, uint32_t field, unsigned wt, uint64_t v, size_t n, int *rc)
{
    uint8_t hdr[20];
    assert(field >= 1 && field <= PB_MAX_FIELD_NUMBER);
    size_t h = put_varint(hdr, ((uint64_t)field << 3) | wt);
    h += put_varint(hdr + h, v);
    if (n > SIZE_MAX - h || h + n > out->max - out->len) {
        *rc = XW_ETOOBIG;
        return NULL;
    }
    size_t old = out->len;
    uint8_t *p = xw_buf_extend(out, h + n);
    if (!p) {
        xw_buf_truncate(out, old);
        *rc = XW_ENOMEM;
        return NULL;
    }
    memcpy(p, hdr, h);
    *rc = XW_OK;
    return p + h;
}

int xw_pb_append_varint(xw_buf *out, uint32_t field, uint64_t v)
{
    int rc;
    append_head(out, field, 0, v, 0, &rc);
    return rc;
}

int xw_pb_append_bytes(xw_buf *out, uint32_t field, const uint8_t *p, size_t n)
{
    int rc;
    uint8_t *dst = append_head(out, field, 2, n, n, &rc);
    if (dst && n)
        memcpy(dst, p, n);
    return rc;
}

int xw_pb_append_message(xw_buf *out, uint32_t field, const ProtobufCMessage *m)
{
    int rc;
    size_t n = protobuf_c_message_get_packed_size(m);
    size_t old = out->len;
    uint8_t *dst = append_head(out, field, 2, n, n, &rc);
    if (dst && protobuf_c_message_pack(m, dst) != n) {
        xw_buf_truncate(out, old);
        return XW_EINTERNAL;
    }
    return rc;
}
