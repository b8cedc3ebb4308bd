/*
 * Tests for proto/: the generated XMTP types through proto/pb.h. Round trips through the
 * typed C API, exact bytes where they are known, and refusal of bad input: every
 * truncation, bad framing, too-deep nesting, strings with NUL or invalid UTF-8, sizes over
 * the limit, and allocation failure at every step (nothing leaks, nothing half-built
 * escapes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"
#include "gen/xmtp/identity/credential.pb-c.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_membership.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_permissions.pb-c.h"
#include "gen/xmtp/mls/message_contents/welcome_pointer.pb-c.h"
#include "proto/pb.h"

#define MAX (1u << 20)

/* A GroupMessage with every V1 field set; encoded into out. */
static void encode_group_message(xw_buf *out, uint8_t *gid, uint8_t *data, size_t data_len)
{
    Xmtp__Mls__Api__V1__GroupMessage__V1 v1 = XMTP__MLS__API__V1__GROUP_MESSAGE__V1__INIT;
    v1.id = UINT64_MAX;
    v1.created_ns = 1764412345678901234ull;
    v1.group_id.data = gid;
    v1.group_id.len = 16;
    v1.data.data = data;
    v1.data.len = data_len;
    v1.should_push = 1;
    v1.is_commit = 1;
    Xmtp__Mls__Api__V1__GroupMessage gm = XMTP__MLS__API__V1__GROUP_MESSAGE__INIT;
    gm.version_case = XMTP__MLS__API__V1__GROUP_MESSAGE__VERSION_V1;
    gm.v1 = &v1;
    assert_int_equal(xw_pb_encode(&gm.base, out, NULL), XW_OK);
}

static void test_roundtrip_group_message(void **state)
{
    (void)state;
    uint8_t gid[16], data[300];
    for (size_t i = 0; i < sizeof gid; i++)
        gid[i] = (uint8_t)(0xa0 + i);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    xw_buf enc, re;
    xw_buf_init(&enc, MAX);
    xw_buf_init(&re, MAX);
    encode_group_message(&enc, gid, data, sizeof data);
    /* V1 is field 1, length-delimited; 300 bytes of data need a 2-byte length inside */
    assert_int_equal(enc.data[0], 0x0a);

    Xmtp__Mls__Api__V1__GroupMessage *gm = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(
        xw_pb_decode_as(&xmtp__mls__api__v1__group_message__descriptor, enc.data, enc.len, MAX, &gm, &eb),
        XW_OK);
    assert_non_null(gm);
    assert_int_equal(gm->version_case, XMTP__MLS__API__V1__GROUP_MESSAGE__VERSION_V1);
    assert_true(gm->v1->id == UINT64_MAX);
    assert_true(gm->v1->created_ns == 1764412345678901234ull);
    assert_int_equal(gm->v1->group_id.len, 16);
    assert_memory_equal(gm->v1->group_id.data, gid, 16);
    assert_int_equal(gm->v1->data.len, sizeof data);
    assert_memory_equal(gm->v1->data.data, data, sizeof data);
    assert_int_equal(gm->v1->sender_hmac.len, 0);
    assert_true(gm->v1->should_push);
    assert_true(gm->v1->is_commit);
    assert_int_equal(xw_pb_encode(&gm->base, &re, &eb), XW_OK);
    assert_int_equal(re.len, enc.len);
    assert_memory_equal(re.data, enc.data, enc.len);
    xw_pb_free(&gm->base);
    xw_pb_free(NULL);
    xw_buf_free(&enc);
    xw_buf_free(&re);
}

/* KeyPackage extension 0xff04 as libxmtp sends it: a packed repeated enum. */
static void test_known_bytes_packed_enum(void **state)
{
    (void)state;
    Xmtp__Mls__MessageContents__WelcomePointeeEncryptionAeadType types[] = {
        XMTP__MLS__MESSAGE_CONTENTS__WELCOME_POINTEE_ENCRYPTION_AEAD_TYPE__WELCOME_POINTEE_ENCRYPTION_AEAD_TYPE_CHACHA20_POLY1305};
    Xmtp__Mls__MessageContents__WelcomePointeeEncryptionAeadTypesExtension ext =
        XMTP__MLS__MESSAGE_CONTENTS__WELCOME_POINTEE_ENCRYPTION_AEAD_TYPES_EXTENSION__INIT;
    ext.n_supported_aead_types = 1;
    ext.supported_aead_types = types;
    xw_buf b;
    xw_buf_init(&b, 64);
    assert_int_equal(xw_pb_encode(&ext.base, &b, NULL), XW_OK);
    static const uint8_t want[] = {0x0a, 0x01, 0x03};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    /* a decoder must also accept the unpacked form */
    static const uint8_t unpacked[] = {0x08, 0x03};
    Xmtp__Mls__MessageContents__WelcomePointeeEncryptionAeadTypesExtension *d = NULL;
    assert_int_equal(
        xw_pb_decode_as(
            &xmtp__mls__message_contents__welcome_pointee_encryption_aead_types_extension__descriptor,
            unpacked, sizeof unpacked, 64, &d, NULL),
        XW_OK);
    assert_int_equal(d->n_supported_aead_types, 1);
    assert_int_equal(d->supported_aead_types[0], 3);
    xw_pb_free(&d->base);
    xw_buf_free(&b);
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    uint8_t gid[16] = {1}, data[200] = {2};
    xw_buf enc;
    xw_buf_init(&enc, MAX);
    encode_group_message(&enc, gid, data, sizeof data);
    int64_t live = xw_alloc_live();
    for (size_t n = 1; n < enc.len; n++) {
        ProtobufCMessage *m = (ProtobufCMessage *)&enc; /* must be reset to NULL */
        xw_errbuf eb = {{0}};
        int rc = xw_pb_decode(&xmtp__mls__api__v1__group_message__descriptor, enc.data, n, MAX, &m, &eb);
        assert_int_equal(rc, XW_EMALFORMED);
        assert_null(m);
        assert_non_null(strstr(eb.msg, "xmtp.mls.api.v1.GroupMessage"));
    }
    assert_int_equal(xw_alloc_live(), live);
    xw_buf_free(&enc);
}

static int decode_cred(const uint8_t *p, size_t n, xw_errbuf *eb)
{
    ProtobufCMessage *m = NULL;
    int rc = xw_pb_decode(&xmtp__identity__mls_credential__descriptor, p, n, 1024, &m, eb);
    if (rc == XW_OK)
        xw_pb_free(m);
    else
        assert_null(m);
    return rc;
}

static void test_bad_framing_refused(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    static const uint8_t group[] = {0x0b, 0x0c};  /* wire types 3/4 (groups) */
    static const uint8_t field0[] = {0x02, 0x00}; /* field number 0 */
    static const uint8_t overlong[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x80,
                                       0x80, 0x80, 0x80, 0x80, 0x80, 0x01}; /* 11-byte varint */
    static const uint8_t toolong[] = {0x0a, 0x05, 'a', 'b'};                /* length past the end */
    static const uint8_t fixed[] = {0x09, 1, 2, 3};                         /* fixed64 cut short */
    static const uint8_t wrongtype[] = {0x08, 0x01};                        /* string field 1 as varint */
    assert_int_equal(decode_cred(group, sizeof group, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "wire type 3"));
    assert_int_equal(decode_cred(field0, sizeof field0, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "out of range"));
    assert_int_equal(decode_cred(overlong, sizeof overlong, &eb), XW_EMALFORMED);
    assert_int_equal(decode_cred(toolong, sizeof toolong, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "announces more bytes"));
    assert_int_equal(decode_cred(fixed, sizeof fixed, &eb), XW_EMALFORMED);
    assert_int_equal(decode_cred(wrongtype, sizeof wrongtype, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "not a valid encoding"));
    /* empty input is the empty message */
    assert_int_equal(decode_cred(NULL, 0, &eb), XW_OK);
}

static void test_strings_checked(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    static const uint8_t nul[] = {0x0a, 0x03, 'a', 0x00, 'b'};
    static const uint8_t bad[] = {0x0a, 0x02, 0xc3, 0x28};
    static const uint8_t overlong[] = {0x0a, 0x02, 0xc0, 0x80};
    static const uint8_t surrogate[] = {0x0a, 0x03, 0xed, 0xa0, 0x80};
    static const uint8_t beyond[] = {0x0a, 0x04, 0xf4, 0x90, 0x80, 0x80};
    static const uint8_t cut[] = {0x0a, 0x02, 0xe2, 0x9c};
    static const uint8_t cut4[] = {0x0a, 0x0b, 'c', 'a', 'f', 0xc3, 0xa9, 0xe2, 0x9c, 0x93, 0xf0, 0x9f, 0x91};
    static const uint8_t emoji[] = {0x0a, 0x04, 0xf0, 0x9f, 0x91, 0x8d};
    assert_int_equal(decode_cred(nul, sizeof nul, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "NUL"));
    assert_non_null(strstr(eb.msg, "inbox_id"));
    assert_int_equal(decode_cred(bad, sizeof bad, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "invalid UTF-8"));
    assert_int_equal(decode_cred(overlong, sizeof overlong, &eb), XW_EMALFORMED);
    assert_int_equal(decode_cred(surrogate, sizeof surrogate, &eb), XW_EMALFORMED);
    assert_int_equal(decode_cred(beyond, sizeof beyond, &eb), XW_EMALFORMED);
    assert_int_equal(decode_cred(cut, sizeof cut, &eb), XW_EMALFORMED);
    /* "café✓" followed by the first 3 bytes of a 4-byte sequence */
    assert_int_equal(decode_cred(cut4, sizeof cut4, &eb), XW_EMALFORMED);
    Xmtp__Identity__MlsCredential *c = NULL;
    assert_int_equal(
        xw_pb_decode_as(&xmtp__identity__mls_credential__descriptor, emoji, sizeof emoji, 64, &c, &eb),
        XW_OK);
    assert_string_equal(c->inbox_id, "\xf0\x9f\x91\x8d");
    xw_pb_free(&c->base);
}

/* MembershipPolicy nests itself; protobuf-c would recurse once per level. */
static void nested_policy(xw_buf *b, int depth)
{
    /* innermost: { base: ALLOW } = 08 01; each level wraps it as and_condition { policies: [x] } */
    uint8_t buf[4096];
    size_t len = 2;
    buf[0] = 0x08;
    buf[1] = 0x01;
    for (int i = 1; i < depth; i++) {
        /* AndCondition { policies(1): x } then MembershipPolicy { and_condition(2): ... } */
        uint8_t tmp[4096];
        size_t n = 0;
        tmp[n++] = 0x0a;
        tmp[n++] = (uint8_t)len; /* stays below 128 for the depths used here */
        memcpy(tmp + n, buf, len);
        n += len;
        buf[0] = 0x12;
        buf[1] = (uint8_t)n;
        memcpy(buf + 2, tmp, n);
        len = n + 2;
    }
    xw_buf_reset(b);
    assert_int_equal(xw_buf_append(b, buf, len), XW_OK);
}

static void test_depth_limited(void **state)
{
    (void)state;
    xw_buf b;
    xw_buf_init(&b, 4096);
    xw_errbuf eb = {{0}};
    /* levels: each wrap adds two messages (policy + condition) */
    nested_policy(&b, 16); /* 31 messages deep */
    ProtobufCMessage *m = NULL;
    assert_true(b.len < 128);
    assert_int_equal(xw_pb_decode(&xmtp__mls__message_contents__membership_policy__descriptor, b.data, b.len,
                                  4096, &m, &eb),
                     XW_OK);
    xw_pb_free(m);
    nested_policy(&b, 17); /* 33 messages deep */
    assert_int_equal(xw_pb_decode(&xmtp__mls__message_contents__membership_policy__descriptor, b.data, b.len,
                                  4096, &m, &eb),
                     XW_EMALFORMED);
    assert_null(m);
    assert_non_null(strstr(eb.msg, "nested more than 32"));
    xw_buf_free(&b);
}

static void test_limits(void **state)
{
    (void)state;
    static const uint8_t cred[] = {0x0a, 0x03, 'a', 'b', 'c'};
    xw_errbuf eb = {{0}};
    ProtobufCMessage *m = NULL;
    assert_int_equal(xw_pb_decode(&xmtp__identity__mls_credential__descriptor, cred, sizeof cred, 4, &m, &eb),
                     XW_ETOOBIG);
    assert_null(m);
    assert_non_null(strstr(eb.msg, "4-byte limit"));
    /* encoding into a buffer without room fails and leaves the buffer as it was */
    assert_int_equal(xw_pb_decode(&xmtp__identity__mls_credential__descriptor, cred, sizeof cred, 5, &m, &eb),
                     XW_OK);
    xw_buf b;
    xw_buf_init(&b, 6);
    assert_int_equal(xw_buf_append(&b, "xy", 2), XW_OK);
    assert_int_equal(xw_pb_encode(m, &b, &eb), XW_ETOOBIG);
    assert_int_equal(b.len, 2);
    xw_buf_free(&b);
    xw_pb_free(m);
}

static void test_unknown_fields_kept(void **state)
{
    (void)state;
    /* inbox_id "ab", then field 99 (varint 5) that this schema does not know */
    static const uint8_t in[] = {0x0a, 0x02, 'a', 'b', 0x98, 0x06, 0x05};
    Xmtp__Identity__MlsCredential *c = NULL;
    assert_int_equal(
        xw_pb_decode_as(&xmtp__identity__mls_credential__descriptor, in, sizeof in, 64, &c, NULL), XW_OK);
    assert_string_equal(c->inbox_id, "ab");
    xw_buf b;
    xw_buf_init(&b, 64);
    assert_int_equal(xw_pb_encode(&c->base, &b, NULL), XW_OK);
    assert_int_equal(b.len, sizeof in);
    assert_memory_equal(b.data, in, sizeof in);
    xw_buf_free(&b);
    xw_pb_free(&c->base);
}

/* Raw fields: the append helpers write exact bytes, xw_pb_field_find finds a top-level
 * length-delimited field and refuses what is absent, repeated, of another wire type or
 * badly framed. */
static void test_raw_fields(void **state)
{
    (void)state;
    xw_errbuf eb = {{0}};
    Xmtp__Identity__MlsCredential cred = XMTP__IDENTITY__MLS_CREDENTIAL__INIT;
    cred.inbox_id = "ab";
    xw_buf b;
    xw_buf_init(&b, 64);
    assert_int_equal(xw_pb_append_varint(&b, 1, 300), XW_OK);
    assert_int_equal(xw_pb_append_bytes(&b, 3, (const uint8_t *)"abc", 3), XW_OK);
    assert_int_equal(xw_pb_append_message(&b, 2, &cred.base), XW_OK);
    assert_int_equal(xw_pb_append_bytes(&b, 4, NULL, 0), XW_OK);
    static const uint8_t want[] = {0x08, 0xac, 0x02, 0x1a, 0x03, 'a', 'b',  'c',
                                   0x12, 0x04, 0x0a, 0x02, 'a',  'b', 0x22, 0x00};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);

    const uint8_t *v = NULL;
    size_t vn = 0;
    assert_int_equal(xw_pb_field_find(b.data, b.len, 3, "test", &v, &vn, &eb), XW_OK);
    assert_int_equal(vn, 3);
    assert_memory_equal(v, "abc", 3);
    assert_int_equal(xw_pb_field_find(b.data, b.len, 2, "test", &v, &vn, &eb), XW_OK);
    assert_int_equal(vn, 4);
    assert_memory_equal(v, want + 10, 4);
    assert_int_equal(xw_pb_field_find(b.data, b.len, 4, "test", &v, &vn, &eb), XW_OK);
    assert_int_equal(vn, 0);
    assert_int_equal(xw_pb_field_find(b.data, b.len, 5, "test", &v, &vn, &eb), XW_ENOTFOUND);
    assert_non_null(strstr(eb.msg, "no field 5"));
    assert_int_equal(xw_pb_field_find(b.data, b.len, 1, "test", &v, &vn, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "wire type 0"));
    /* every cut inside a field is refused; a cut between fields finds what is before it */
    for (size_t n = 0; n < b.len; n++) {
        int rc = xw_pb_field_find(b.data, n, 2, "test", &v, &vn, &eb);
        int between = n == 0 || n == 3 || n == 8 || n == 14;
        assert_int_equal(rc, !between ? XW_EMALFORMED : n == 14 ? XW_OK : XW_ENOTFOUND);
    }
    assert_int_equal(xw_pb_append_bytes(&b, 3, (const uint8_t *)"d", 1), XW_OK);
    assert_int_equal(xw_pb_field_find(b.data, b.len, 3, "test", &v, &vn, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "twice"));
    /* a field that does not fit leaves the buffer as it was */
    size_t room = b.max - b.len; /* 45: a 2-byte head and 43 bytes fit, 44 do not */
    uint8_t big[64] = {0};
    assert_int_equal(room, 45);
    assert_int_equal(xw_pb_append_bytes(&b, 5, big, room - 1), XW_ETOOBIG);
    assert_int_equal(b.len, b.max - room);
    assert_int_equal(xw_pb_append_bytes(&b, 5, big, room - 2), XW_OK);
    assert_int_equal(b.len, b.max);
    assert_int_equal(xw_pb_append_varint(&b, 6, 0), XW_ETOOBIG);
    assert_int_equal(xw_pb_append_message(&b, 6, &cred.base), XW_ETOOBIG);
    assert_int_equal(b.len, b.max);
    xw_buf_free(&b);
}

/* A map key repeated on the wire: protobuf-c keeps both entries, in wire order (the
 * protobuf rule is that the last one wins; consumers apply it). */
static void test_map_duplicate_keys_kept(void **state)
{
    (void)state;
    /* members { "a": 1 } members { "a": 2 } */
    static const uint8_t in[] = {0x0a, 0x05, 0x0a, 0x01, 'a', 0x10, 0x01,
                                 0x0a, 0x05, 0x0a, 0x01, 'a', 0x10, 0x02};
    Xmtp__Mls__MessageContents__GroupMembership *gm = NULL;
    assert_int_equal(xw_pb_decode_as(&xmtp__mls__message_contents__group_membership__descriptor, in,
                                     sizeof in, 64, &gm, NULL),
                     XW_OK);
    assert_int_equal(gm->n_members, 2);
    assert_string_equal(gm->members[0]->key, "a");
    assert_true(gm->members[0]->value == 1);
    assert_true(gm->members[1]->value == 2);
    xw_pb_free(&gm->base);
}

/* Every allocation of a decode fails in turn: XW_ENOMEM each time, nothing leaks, and
 * the decode succeeds once allocations do. */
static void test_allocation_failures(void **state)
{
    (void)state;
    uint8_t gid[16] = {3}, data[64] = {4};
    xw_buf one;
    xw_buf_init(&one, MAX);
    encode_group_message(&one, gid, data, sizeof data);
    /* a response with three messages and paging info */
    Xmtp__Mls__Api__V1__GroupMessage *msgs[3];
    for (int i = 0; i < 3; i++) {
        msgs[i] = NULL;
        assert_int_equal(xw_pb_decode_as(&xmtp__mls__api__v1__group_message__descriptor, one.data, one.len,
                                         MAX, &msgs[i], NULL),
                         XW_OK);
    }
    Xmtp__Mls__Api__V1__PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    pi.direction = XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_ASCENDING;
    pi.limit = 100;
    pi.id_cursor = 77;
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse resp =
        XMTP__MLS__API__V1__QUERY_GROUP_MESSAGES_RESPONSE__INIT;
    resp.n_messages = 3;
    resp.messages = msgs;
    resp.paging_info = &pi;
    xw_buf enc;
    xw_buf_init(&enc, MAX);
    assert_int_equal(xw_pb_encode(&resp.base, &enc, NULL), XW_OK);
    for (int i = 0; i < 3; i++)
        xw_pb_free(&msgs[i]->base);

    int64_t live = xw_alloc_live();
    int ok = 0;
    for (uint64_t nth = 1; nth < 100 && !ok; nth++) {
        xw_alloc_fail_at(nth, 0);
        Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = NULL;
        xw_errbuf eb = {{0}};
        int rc = xw_pb_decode_as(&xmtp__mls__api__v1__query_group_messages_response__descriptor, enc.data,
                                 enc.len, MAX, &r, &eb);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK) {
            ok = 1;
            assert_int_equal(r->n_messages, 3);
            assert_true(r->paging_info->id_cursor == 77);
            assert_true(nth > 3); /* the message, its array and sub-messages came first */
            xw_pb_free(&r->base);
        } else {
            assert_int_equal(rc, XW_ENOMEM);
            assert_null(r);
            assert_non_null(strstr(eb.msg, "out of memory"));
        }
        assert_int_equal(xw_alloc_live(), live);
    }
    assert_true(ok);
    xw_buf_free(&enc);
    xw_buf_free(&one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_group_message),
        cmocka_unit_test(test_known_bytes_packed_enum),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_bad_framing_refused),
        cmocka_unit_test(test_strings_checked),
        cmocka_unit_test(test_depth_limited),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_unknown_fields_kept),
        cmocka_unit_test(test_map_duplicate_keys_kept),
        cmocka_unit_test(test_raw_fields),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
