/*
 * Tests for xmtp/ content: every codec round-trips through EncodedContent bytes with its
 * libxmtp type id, parameters and fallback; known-answer bodies captured from
 * @xmtp/node-bindings 1.9.1; unknown types kept with their fallback; the push/deletable
 * table; malformed bodies refused with XW_EXMTP_CONTENT; PlaintextEnvelope and message ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/err.h"
#include "xmtp/content.h"
#include "xmtp/message_id.h"

/* Encodes c, decodes the bytes back, checks the type id; the caller frees the result. */
static xmtp_content *roundtrip(const xmtp_content *c, const char *authority, const char *type, uint32_t major,
                               xmtp_encoded_content **ecp)
{
    xw_buf b;
    xw_buf_init(&b, XMTP_CONTENT_MAX_BYTES);
    xw_errbuf eb = {{0}};
    if (xmtp_content_encode(c, &b, &eb))
        fail_msg("encode %s: %s", type, eb.msg);
    xmtp_encoded_content *ec = NULL;
    if (xmtp_ec_decode(b.data, b.len, &ec, &eb))
        fail_msg("decode ec %s: %s", type, eb.msg);
    assert_true(ec->has_type);
    assert_string_equal(ec->type.authority_id, authority);
    assert_string_equal(ec->type.type_id, type);
    assert_int_equal(ec->type.major, major);
    assert_int_equal(ec->type.minor, 0);
    xmtp_content *d = NULL;
    if (xmtp_content_decode(ec, &d, &eb))
        fail_msg("decode %s: %s", type, eb.msg);
    assert_int_equal(d->kind, c->kind);
    /* re-encoding the decoded content gives the same bytes (parameters in our order) */
    xw_buf b2;
    xw_buf_init(&b2, XMTP_CONTENT_MAX_BYTES);
    assert_int_equal(xmtp_content_encode(d, &b2, &eb), XW_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    xw_buf_free(&b2);
    xw_buf_free(&b);
    if (ecp)
        *ecp = ec;
    else
        xmtp_ec_free(ec);
    return d;
}

static void test_text_markdown(void **state)
{
    (void)state;
    xmtp_content c = {.kind = XMTP_CT_TEXT, .u.text = "héllo 👋"};
    xmtp_encoded_content *ec = NULL;
    xmtp_content *d = roundtrip(&c, "xmtp.org", "text", 1, &ec);
    assert_string_equal(d->u.text, "héllo 👋");
    assert_string_equal(xmtp_ec_param(ec, "encoding"), "UTF-8");
    assert_null(ec->fallback);
    xmtp_ec_free(ec);
    xmtp_content_free(d);
    c.kind = XMTP_CT_MARKDOWN;
    c.u.text = "# title\n*x*";
    d = roundtrip(&c, "xmtp.org", "markdown", 1, NULL);
    assert_string_equal(d->u.text, "# title\n*x*");
    xmtp_content_free(d);
}

static void test_reaction(void **state)
{
    (void)state;
    xmtp_content c = {.kind = XMTP_CT_REACTION};
    c.u.reaction = (xmtp_reaction){.reference = "abcd",
                                   .reference_inbox_id = "inb",
                                   .action = XMTP_REACTION_ADDED,
                                   .content = "👍",
                                   .schema = XMTP_SCHEMA_UNICODE};
    xmtp_encoded_content *ec = NULL;
    xmtp_content *d = roundtrip(&c, "xmtp.org", "reaction", 2, &ec);
    /* the body and fallback @xmtp/node-bindings 1.9.1 encodeReaction produced for these fields */
    char hex[256];
    xw_hex_encode(ec->content.data, ec->content.len, hex);
    assert_string_equal(hex, "0a04616263641203696e6218012204f09f918d2801");
    assert_string_equal(ec->fallback, "Reacted with \"👍\" to an earlier message");
    assert_string_equal(d->u.reaction.reference, "abcd");
    assert_string_equal(d->u.reaction.reference_inbox_id, "inb");
    assert_int_equal(d->u.reaction.action, XMTP_REACTION_ADDED);
    assert_int_equal(d->u.reaction.schema, XMTP_SCHEMA_UNICODE);
    assert_false(d->u.reaction.legacy_json);
    xmtp_ec_free(ec);
    xmtp_content_free(d);
    /* removed, shortcode, no inbox id: also the bindings' bytes */
    c.u.reaction = (xmtp_reaction){.reference = "abcd",
                                   .reference_inbox_id = "",
                                   .action = XMTP_REACTION_REMOVED,
                                   .content = ":smile:",
                                   .schema = XMTP_SCHEMA_SHORTCODE};
    d = roundtrip(&c, "xmtp.org", "reaction", 2, &ec);
    xw_hex_encode(ec->content.data, ec->content.len, hex);
    assert_string_equal(hex, "0a0461626364180222073a736d696c653a2802");
    assert_string_equal(ec->fallback, "Removed \":smile:\" from an earlier message");
    xmtp_ec_free(ec);
    xmtp_content_free(d);
    /* legacy 1.0 JSON */
    c.u.reaction.legacy_json = 1;
    c.u.reaction.reference_inbox_id = "rib";
    d = roundtrip(&c, "xmtp.org", "reaction", 1, &ec);
    assert_int_equal(ec->content.len,
                     strlen("{\"action\":\"removed\",\"reference\":\"abcd\",\"referenceInboxId\":"
                            "\"rib\",\"schema\":\"shortcode\",\"content\":\":smile:\"}"));
    assert_memory_equal(
        ec->content.data,
        "{\"action\":\"removed\",\"reference\":\"abcd\",\"referenceInboxId\":\"rib\",\"schema\":"
        "\"shortcode\",\"content\":\":smile:\"}",
        ec->content.len);
    assert_true(d->u.reaction.legacy_json);
    assert_int_equal(d->u.reaction.action, XMTP_REACTION_REMOVED);
    assert_string_equal(d->u.reaction.reference_inbox_id, "rib");
    xmtp_ec_free(ec);
    xmtp_content_free(d);
}

/* The EncodedContent of a text, decoded: a reply's inner content (free with xmtp_ec_free). */
static xmtp_encoded_content *text_ec(const char *text)
{
    xw_buf b;
    xw_buf_init(&b, 1 << 16);
    xmtp_content t = {.kind = XMTP_CT_TEXT, .u.text = text};
    assert_int_equal(xmtp_content_encode(&t, &b, NULL), XW_OK);
    xmtp_encoded_content *ec = NULL;
    assert_int_equal(xmtp_ec_decode(b.data, b.len, &ec, NULL), XW_OK);
    xw_buf_free(&b);
    return ec;
}

static void test_reply(void **state)
{
    (void)state;
    xmtp_encoded_content *iec = text_ec("inner");
    xmtp_content c = {.kind = XMTP_CT_REPLY};
    c.u.reply = (xmtp_reply){.reference = "0011", .reference_inbox_id = "rib", .inner = iec};
    xmtp_encoded_content *ec = NULL;
    xmtp_content *d = roundtrip(&c, "xmtp.org", "reply", 1, &ec);
    assert_string_equal(ec->fallback, "Replied with \"inner\" to an earlier message");
    assert_string_equal(xmtp_ec_param(ec, "contentType"), "xmtp.org/text:1.0");
    assert_string_equal(d->u.reply.reference, "0011");
    assert_string_equal(d->u.reply.reference_inbox_id, "rib");
    assert_int_equal(d->u.reply.inner->content.len, 5);
    xmtp_content *in = NULL;
    assert_int_equal(xmtp_content_decode(d->u.reply.inner, &in, NULL), XW_OK);
    assert_string_equal(in->u.text, "inner");
    xmtp_content_free(in);
    xmtp_ec_free(ec);
    xmtp_content_free(d);
    /* a reply to something that is not text; no inbox id */
    c.u.reply.reference_inbox_id = NULL;
    ((xmtp_encoded_content *)iec)->type.type_id = "custom";
    d = roundtrip(&c, "xmtp.org", "reply", 1, &ec);
    assert_string_equal(ec->fallback, "Replied to an earlier message");
    assert_null(d->u.reply.reference_inbox_id);
    xmtp_ec_free(ec);
    xmtp_content_free(d);
    /* the inner content needs a complete type */
    ((xmtp_encoded_content *)iec)->type.type_id = "";
    xw_errbuf eb = {{0}};
    xw_buf b;
    xw_buf_init(&b, 1 << 16);
    assert_int_equal(xmtp_content_encode(&c, &b, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "complete content type"));
    xmtp_ec_free(iec);
}

static void test_attachments(void **state)
{
    (void)state;
    static const uint8_t data[] = {1, 2, 3};
    xmtp_content c = {.kind = XMTP_CT_ATTACHMENT};
    c.u.attachment = (xmtp_attachment){.filename = "a.txt", .mime_type = "text/plain", .data = {data, 3}};
    xmtp_encoded_content *ec = NULL;
    xmtp_content *d = roundtrip(&c, "xmtp.org", "attachment", 1, &ec);
    assert_string_equal(ec->fallback, "Can't display a.txt. This app doesn't support attachments.");
    assert_string_equal(d->u.attachment.mime_type, "text/plain");
    assert_memory_equal(d->u.attachment.data.data, data, 3);
    xmtp_ec_free(ec);
    xmtp_content_free(d);

    static const uint8_t sec[] = {1, 2}, salt[] = {3}, nonce[] = {4};
    xmtp_remote_attachment r = {.url = "https://x/y",
                                .content_digest = "dd",
                                .secret = {sec, 2},
                                .salt = {salt, 1},
                                .nonce = {nonce, 1},
                                .scheme = "https://",
                                .has_content_length = 1,
                                .content_length = 5,
                                .filename = "f.bin"};
    c.kind = XMTP_CT_REMOTE_ATTACHMENT;
    c.u.remote_attachment = r;
    d = roundtrip(&c, "xmtp.org", "remoteStaticAttachment", 1, &ec);
    assert_string_equal(ec->fallback, "Can't display f.bin. This app doesn't support remote attachments.");
    assert_string_equal(xmtp_ec_param(ec, "secret"), "0102");
    assert_string_equal(xmtp_ec_param(ec, "contentLength"), "5");
    assert_string_equal(d->u.remote_attachment.url, "https://x/y");
    assert_int_equal(d->u.remote_attachment.content_length, 5);
    assert_memory_equal(d->u.remote_attachment.secret.data, sec, 2);
    xmtp_ec_free(ec);
    xmtp_content_free(d);

    xmtp_remote_attachment two[2] = {r, r};
    two[1].filename = NULL;
    two[1].has_content_length = 0;
    c.kind = XMTP_CT_MULTI_REMOTE_ATTACHMENT;
    c.u.multi_remote_attachment = (xmtp_multi_remote_attachment){2, two};
    d = roundtrip(&c, "xmtp.org", "multiRemoteStaticAttachment", 1, &ec);
    /* the first attachment's bytes are what the bindings produced for the same fields */
    char hex[512];
    xw_hex_encode(ec->content.data, 48, hex);
    assert_string_equal(
        hex, "0a2e0a026464120201021a01042201032a0868747470733a2f2f320b68747470733a2f2f782f79380542056"
             "62e62696e");
    assert_int_equal(d->u.multi_remote_attachment.n, 2);
    assert_string_equal(d->u.multi_remote_attachment.items[0].filename, "f.bin");
    assert_null(d->u.multi_remote_attachment.items[1].filename);
    assert_false(d->u.multi_remote_attachment.items[1].has_content_length);
    xmtp_ec_free(ec);
    xmtp_content_free(d);
}

static void test_json_types(void **state)
{
    (void)state;
    xmtp_content c = {.kind = XMTP_CT_TRANSACTION_REFERENCE};
    c.u.transaction_reference =
        (xmtp_transaction_reference){.namespace_ = "eip155",
                                     .network_id = "0x1",
                                     .reference = "0xabc",
                                     .has_metadata = 1,
                                     .metadata = {"transfer", "USDC", 1.5, 6, "0xa", "0xb"}};
    xmtp_encoded_content *ec = NULL;
    xmtp_content *d = roundtrip(&c, "xmtp.org", "transactionReference", 1, &ec);
    const char *want =
        "{\"namespace\":\"eip155\",\"networkId\":\"0x1\",\"reference\":\"0xabc\",\"metadata\":{"
        "\"transactionType\":\"transfer\",\"currency\":\"USDC\",\"amount\":1.5,\"decimals\":6,"
        "\"fromAddress\":\"0xa\",\"toAddress\":\"0xb\"}}";
    assert_int_equal(ec->content.len, strlen(want)); /* byte-identical to the bindings' JSON */
    assert_memory_equal(ec->content.data, want, ec->content.len);
    assert_string_equal(
        ec->fallback,
        "[Crypto transaction] Use a blockchain explorer to learn more using the transaction hash: 0xabc");
    assert_true(d->u.transaction_reference.metadata.amount == 1.5);
    assert_int_equal(d->u.transaction_reference.metadata.decimals, 6);
    xmtp_ec_free(ec);
    xmtp_content_free(d);

    xmtp_kv md[] = {{"description", "d"}, {"transactionType", "t"}};
    xmtp_kv caps[] = {{"a", "b"}};
    xmtp_wallet_call call = {"0x2", "0x", "0x1", "0x5", 2, md};
    c.kind = XMTP_CT_WALLET_SEND_CALLS;
    c.u.wallet_send_calls = (xmtp_wallet_send_calls){"1.0", "0x1", "0xf", 1, &call, 1, caps};
    d = roundtrip(&c, "xmtp.org", "walletSendCalls", 1, &ec);
    want =
        "{\"version\":\"1.0\",\"chainId\":\"0x1\",\"from\":\"0xf\",\"calls\":[{\"to\":\"0x2\",\"data\":"
        "\"0x\","
        "\"value\":\"0x1\",\"gas\":\"0x5\",\"metadata\":{\"description\":\"d\",\"transactionType\":\"t\"}}],"
        "\"capabilities\":{\"a\":\"b\"}}";
    assert_int_equal(ec->content.len, strlen(want));
    assert_memory_equal(ec->content.data, want, ec->content.len);
    assert_true(strncmp(ec->fallback, "[Transaction request generated]: {", 34) == 0);
    assert_int_equal(d->u.wallet_send_calls.n_calls, 1);
    assert_string_equal(d->u.wallet_send_calls.calls[0].metadata[1].value, "t");
    xmtp_ec_free(ec);
    xmtp_content_free(d);

    xmtp_action_item items[] = {{"a", "L", NULL, NULL, NULL}, {"b", "M", NULL, "danger", NULL}};
    c.kind = XMTP_CT_ACTIONS;
    c.u.actions = (xmtp_actions){"i", "d", 2, items, NULL};
    d = roundtrip(&c, "coinbase.com", "actions", 1, &ec);
    assert_string_equal(ec->fallback, "d\n\n[1] L\n[2] M\n\nReply with the number to select");
    assert_string_equal(d->u.actions.actions[1].style, "danger");
    xmtp_ec_free(ec);
    xmtp_content_free(d);

    c.kind = XMTP_CT_INTENT;
    c.u.intent = (xmtp_intent){"i", "a", "{\"k\":\"v\",\"n\":3}"};
    d = roundtrip(&c, "coinbase.com", "intent", 1, &ec);
    assert_string_equal(ec->fallback, "User selected action: a");
    assert_string_equal(d->u.intent.metadata_json, "{\"k\":\"v\",\"n\":3}");
    xmtp_ec_free(ec);
    xmtp_content_free(d);
}

static void test_proto_types(void **state)
{
    (void)state;
    const char *added[] = {"aa", "bb"}, *left[] = {"cc"};
    xmtp_metadata_change ch[] = {{"group_name", NULL, "new"}, {"description", "old", NULL}};
    xmtp_content c = {.kind = XMTP_CT_GROUP_UPDATED};
    c.u.group_updated = (xmtp_group_updated){.initiated_by_inbox_id = "me",
                                             .added = {2, added},
                                             .left = {1, left},
                                             .n_metadata_changes = 2,
                                             .metadata_changes = ch};
    xmtp_content *d = roundtrip(&c, "xmtp.org", "group_updated", 1, NULL);
    assert_string_equal(d->u.group_updated.initiated_by_inbox_id, "me");
    assert_int_equal(d->u.group_updated.added.n, 2);
    assert_string_equal(d->u.group_updated.added.ids[1], "bb");
    assert_int_equal(d->u.group_updated.left.n, 1);
    assert_int_equal(d->u.group_updated.removed.n, 0);
    assert_null(d->u.group_updated.metadata_changes[0].old_value);
    assert_string_equal(d->u.group_updated.metadata_changes[1].old_value, "old");
    assert_null(d->fallback);
    xmtp_content_free(d);

    c.kind = XMTP_CT_LEAVE_REQUEST;
    c.u.leave_request = (xmtp_leave_request){0};
    d = roundtrip(&c, "xmtp.org", "leave_request", 1, NULL);
    assert_false(d->u.leave_request.has_note);
    xmtp_content_free(d);
    c.u.leave_request = (xmtp_leave_request){1, {(const uint8_t *)"bye", 3}};
    d = roundtrip(&c, "xmtp.org", "leave_request", 1, NULL);
    assert_true(d->u.leave_request.has_note);
    assert_memory_equal(d->u.leave_request.note.data, "bye", 3);
    xmtp_content_free(d);

    c.kind = XMTP_CT_DELETE_MESSAGE;
    c.u.delete_message.message_id = "0102ab";
    d = roundtrip(&c, "xmtp.org", "deleteMessage", 1, NULL);
    assert_string_equal(d->u.delete_message.message_id, "0102ab");
    xmtp_content_free(d);

    c.kind = XMTP_CT_READ_RECEIPT;
    d = roundtrip(&c, "xmtp.org", "readReceipt", 1, NULL);
    assert_int_equal(d->kind, XMTP_CT_READ_RECEIPT);
    xmtp_content_free(d);
}

/* An unknown type, or a known type with an unknown major version, is kept with its
 * fallback and re-encodes to the same bytes. */
static void test_unknown_kept(void **state)
{
    (void)state;
    xmtp_kv p[] = {{"x", "y"}};
    xmtp_encoded_content ec = {.has_type = 1,
                               .type = {"example.com", "drawing", 3, 1},
                               .n_params = 1,
                               .params = p,
                               .fallback = "A drawing",
                               .content = {(const uint8_t *)"\x01\x02", 2}};
    xw_buf b;
    xw_buf_init(&b, 1 << 16);
    assert_int_equal(xmtp_ec_encode(&ec, &b, NULL), XW_OK);
    xmtp_content *d = NULL;
    assert_int_equal(xmtp_content_decode_bytes(b.data, b.len, &d, NULL), XW_OK);
    assert_int_equal(d->kind, XMTP_CT_UNKNOWN);
    assert_string_equal(d->fallback, "A drawing");
    assert_string_equal(d->raw->type.type_id, "drawing");
    xw_buf b2;
    xw_buf_init(&b2, 1 << 16);
    assert_int_equal(xmtp_content_encode(d, &b2, NULL), XW_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    xmtp_content_free(d);
    /* text 2.0 is a type we do not know */
    ec.type = (xmtp_content_type_id){"xmtp.org", "text", 2, 0};
    xw_buf_reset(&b);
    assert_int_equal(xmtp_ec_encode(&ec, &b, NULL), XW_OK);
    assert_int_equal(xmtp_content_decode_bytes(b.data, b.len, &d, NULL), XW_OK);
    assert_int_equal(d->kind, XMTP_CT_UNKNOWN);
    xmtp_content_free(d);
    /* no type at all */
    ec.has_type = 0;
    xw_buf_reset(&b);
    assert_int_equal(xmtp_ec_encode(&ec, &b, NULL), XW_OK);
    assert_int_equal(xmtp_content_decode_bytes(b.data, b.len, &d, NULL), XW_OK);
    assert_int_equal(d->kind, XMTP_CT_UNKNOWN);
    xmtp_content_free(d);
    xw_buf_free(&b);
    xw_buf_free(&b2);
    char t[256];
    assert_int_equal(xmtp_content_type_format(&(xmtp_content_type_id){"xmtp.org", "text", 1, 0}, t, sizeof t),
                     XW_OK);
    assert_string_equal(t, "xmtp.org/text:1.0");
}

#define J(lit) lit, sizeof(lit) - 1

static void expect_bad(const char *authority, const char *type, uint32_t major, const xmtp_kv *params,
                       size_t n_params, const void *body, size_t len, const char *needle)
{
    xmtp_encoded_content ec = {.has_type = 1,
                               .type = {authority, type, major, 0},
                               .n_params = n_params,
                               .params = params,
                               .content = {body, len}};
    xmtp_content *d = NULL;
    xw_errbuf eb = {{0}};
    int64_t live = xw_alloc_live();
    int rc = xmtp_content_decode(&ec, &d, &eb);
    if (rc != XW_EXMTP_CONTENT)
        fail_msg("%s: expected XW_EXMTP_CONTENT, got %s (%s)", type, xw_errname(rc), eb.msg);
    if (!strstr(eb.msg, needle))
        fail_msg("%s: message \"%s\" lacks \"%s\"", type, eb.msg, needle);
    assert_null(d);
    assert_int_equal(xw_alloc_live(), live);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    expect_bad("xmtp.org", "text", 1, NULL, 0, "\xff\xfe", 2, "UTF-8");
    expect_bad("xmtp.org", "text", 1, (xmtp_kv[]){{"encoding", "latin1"}}, 1, "a", 1, "only UTF-8");
    expect_bad("xmtp.org", "text", 1, NULL, 0, "a\0b", 3, "NUL");
    expect_bad("xmtp.org", "reaction", 2, NULL, 0, "\x0a\x09", 2, "ReactionV2");
    expect_bad("xmtp.org", "reaction", 1, NULL, 0, J("{\"action\":\"added\"}"), "\"reference\" is missing");
    expect_bad("xmtp.org", "reaction", 1, NULL, 0, J("[1]"), "not an object");
    expect_bad("xmtp.org", "transactionReference", 1, NULL, 0,
               J("{\"networkId\":\"1\",\"reference\":\"a\",\"reference\":\"b\"}"), "not valid JSON");
    expect_bad("xmtp.org", "transactionReference", 1, NULL, 0, J("{\"networkId\":\"1\",\"reference\":7}"),
               "must be a string");
    expect_bad("xmtp.org", "walletSendCalls", 1, NULL, 0,
               J("{\"version\":\"1\",\"chainId\":\"1\",\"from\":\"f\"}"), "\"calls\" must be an array");
    expect_bad("xmtp.org", "remoteStaticAttachment", 1, (xmtp_kv[]){{"salt", "00"}, {"nonce", "00"}}, 2, "u",
               1, "\"secret\"");
    expect_bad(
        "xmtp.org", "remoteStaticAttachment", 1,
        (xmtp_kv[]){
            {"secret", "zz"}, {"salt", "00"}, {"nonce", "00"}, {"scheme", "s"}, {"contentDigest", "d"}},
        5, "u", 1, "not hex");
    expect_bad("xmtp.org", "remoteStaticAttachment", 1,
               (xmtp_kv[]){{"secret", "00"},
                           {"salt", "00"},
                           {"nonce", "00"},
                           {"scheme", "s"},
                           {"contentDigest", "d"},
                           {"contentLength", "-1"}},
               6, "u", 1, "contentLength must not be negative");
    expect_bad("xmtp.org", "remoteStaticAttachment", 1,
               (xmtp_kv[]){{"secret", "00"},
                           {"salt", "00"},
                           {"nonce", "00"},
                           {"scheme", "s"},
                           {"contentDigest", "d"},
                           {"contentLength", "12 "}},
               6, "u", 1, "'12 ' is not a whole number");
    expect_bad("xmtp.org", "remoteStaticAttachment", 1,
               (xmtp_kv[]){{"secret", "00"},
                           {"salt", "00"},
                           {"nonce", "00"},
                           {"scheme", "s"},
                           {"contentDigest", "d"},
                           {"contentLength", "4294967296"}},
               6, "u", 1, "out of range; give a whole number from 0 to 4294967295");
    expect_bad("xmtp.org", "multiRemoteStaticAttachment", 1, NULL, 0, "\x0a\x05\x32\x03\xff\xff\xff", 7,
               "UTF-8");
    expect_bad("xmtp.org", "group_updated", 1, NULL, 0, "\x12\x02\x0a", 3, "GroupUpdated");
    expect_bad("xmtp.org", "deleteMessage", 1, NULL, 0, "\x0a\x02\xc3\x28", 4, "UTF-8");
    expect_bad("xmtp.org", "reply", 1, NULL, 0, "\x0a\x09", 2, "replied content");
    expect_bad("coinbase.com", "actions", 1, NULL, 0,
               J("{\"id\":\"i\",\"description\":\"d\",\"actions\":[1]}"), "not an object");
    /* malformed EncodedContent bytes */
    xmtp_encoded_content *ec = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_ec_decode((const uint8_t *)"\x0a\x09", 2, &ec, &eb), XW_EMALFORMED);
    assert_int_equal(xmtp_ec_decode((const uint8_t *)"x", XMTP_CONTENT_MAX_BYTES + 1, &ec, &eb), XW_ETOOBIG);
    /* too many parameters */
    xw_buf b;
    xw_buf_init(&b, 1 << 20);
    for (int i = 0; i < XMTP_CONTENT_MAX_PARAMS + 1; i++) {
        char kv[16];
        int n = snprintf(kv, sizeof kv, "k%d", i);
        uint8_t hdr[] = {0x12, (uint8_t)(4 + 2 * n), 0x0a, (uint8_t)n};
        xw_buf_append(&b, hdr, 4);
        xw_buf_append(&b, kv, (size_t)n);
        uint8_t v[] = {0x12, (uint8_t)n};
        xw_buf_append(&b, v, 2);
        xw_buf_append(&b, kv, (size_t)n);
    }
    assert_int_equal(xmtp_ec_decode(b.data, b.len, &ec, &eb), XW_EXMTP_CONTENT);
    assert_non_null(strstr(eb.msg, "parameters"));
    xw_buf_free(&b);
}

static void test_push_and_delete_table(void **state)
{
    (void)state;
    const struct {
        xmtp_content_kind k;
        int push, del;
    } want[] = {
        {XMTP_CT_TEXT, 1, 1},
        {XMTP_CT_MARKDOWN, 1, 1},
        {XMTP_CT_REPLY, 1, 1},
        {XMTP_CT_REACTION, 0, 0},
        {XMTP_CT_READ_RECEIPT, 0, 0},
        {XMTP_CT_ATTACHMENT, 1, 1},
        {XMTP_CT_REMOTE_ATTACHMENT, 1, 1},
        {XMTP_CT_MULTI_REMOTE_ATTACHMENT, 1, 1},
        {XMTP_CT_TRANSACTION_REFERENCE, 1, 1},
        {XMTP_CT_WALLET_SEND_CALLS, 1, 1},
        {XMTP_CT_GROUP_UPDATED, 0, 0},
        {XMTP_CT_LEAVE_REQUEST, 0, 0},
        {XMTP_CT_DELETE_MESSAGE, 0, 0},
        {XMTP_CT_ACTIONS, 1, 0},
        {XMTP_CT_INTENT, 1, 0},
        {XMTP_CT_UNKNOWN, 1, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(xmtp_content_should_push(want[i].k), want[i].push);
        assert_int_equal(xmtp_content_deletable(want[i].k), want[i].del);
    }
    assert_string_equal(xmtp_content_kind_name(XMTP_CT_WALLET_SEND_CALLS), "walletSendCalls");
}

static void test_plaintext_and_message_id(void **state)
{
    (void)state;
    const uint8_t gid[] = {1, 2};
    const uint8_t ec[] = {0x0a, 0x04, 't', 'e', 'x', 't'};
    char id[65];
    /* computed independently with Python's hashlib */
    xmtp_message_id_hex(gid, 2, "1700000000000000000", ec, sizeof ec, id);
    assert_string_equal(id, "faf7cff2d04afa4d5293268121bd6647c72c71e56ecbafaffa16426d4ea97488");
    xw_buf b;
    xw_buf_init(&b, 1 << 16);
    assert_int_equal(xmtp_plaintext_v1_encode(ec, sizeof ec, "1700000000000000000", &b, NULL), XW_OK);
    /* PlaintextEnvelope{v1 = 1: {content = 1, idempotency_key = 2}} */
    assert_int_equal(b.data[0], 0x0a);
    xmtp_plaintext p;
    assert_int_equal(xmtp_plaintext_decode(b.data, b.len, &p, NULL), XW_OK);
    assert_int_equal(p.version, 1);
    assert_true(p.has_content);
    assert_int_equal(p.content_len, sizeof ec);
    assert_memory_equal(p.content, ec, sizeof ec);
    assert_string_equal(p.idempotency_key, "1700000000000000000");
    xmtp_plaintext_free(&p);
    /* a V2 envelope with only an idempotency key (device sync) */
    const uint8_t v2[] = {0x12, 0x03, 0x0a, 0x01, 'k'};
    assert_int_equal(xmtp_plaintext_decode(v2, sizeof v2, &p, NULL), XW_OK);
    assert_int_equal(p.version, 2);
    assert_false(p.has_content);
    xmtp_plaintext_free(&p);
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_plaintext_decode((const uint8_t *)"", 0, &p, &eb), XW_EMALFORMED);
    assert_non_null(strstr(eb.msg, "neither a v1 nor a v2"));
    assert_int_equal(xmtp_plaintext_decode((const uint8_t *)"\x0a\x05", 2, &p, &eb), XW_EMALFORMED);
    xw_buf_free(&b);
}

/* Every allocation of a decode may fail: the error is XW_ENOMEM (or the content error the
 * failure caused) and nothing leaks. A nested reply and a multi attachment take the most. */
static void test_alloc_failures(void **state)
{
    (void)state;
    xw_buf outer;
    xw_buf_init(&outer, 1 << 16);
    xmtp_encoded_content *iec = text_ec("quoted");
    xmtp_content c = {.kind = XMTP_CT_REPLY};
    c.u.reply = (xmtp_reply){.reference = "ab", .reference_inbox_id = "cd", .inner = iec};
    assert_int_equal(xmtp_content_encode(&c, &outer, NULL), XW_OK);
    int ok = 0;
    for (uint64_t nth = 1; nth < 500 && !ok; nth++) {
        int64_t live = xw_alloc_live();
        xmtp_content *d = NULL;
        xw_alloc_fail_at(nth, 0);
        int rc = xmtp_content_decode_bytes(outer.data, outer.len, &d, NULL);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK) {
            ok = 1;
            assert_string_equal(d->u.reply.reference, "ab");
            xmtp_content_free(d);
        } else {
            assert_true(rc == XW_ENOMEM || rc == XW_EXMTP_CONTENT || rc == XW_EMALFORMED);
            assert_null(d);
        }
        assert_int_equal(xw_alloc_live(), live);
    }
    assert_true(ok);
    xmtp_ec_free(iec);
    xw_buf_free(&outer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_markdown),
        cmocka_unit_test(test_reaction),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_json_types),
        cmocka_unit_test(test_proto_types),
        cmocka_unit_test(test_unknown_kept),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_push_and_delete_table),
        cmocka_unit_test(test_plaintext_and_message_id),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
