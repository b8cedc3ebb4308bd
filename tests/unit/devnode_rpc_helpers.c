/*
 * Small gRPC wrappers shared by the dev node RPC tests; see devnode_rpc_helpers.h.
 */
#include "proto/pb.h"
#include "tests/unit/devnode_rpc_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"

const uint8_t GID_A[16] = "group-aaaaaaaaaa";
const uint8_t GID_B[16] = "group-bbbbbbbbbb";

/* A unary call with the packed request p[0..n). */
static int call_bytes(test_node *tn, const char *method, const uint8_t *p, size_t n, xw_buf *resp,
                      xmtp_api_status *st)
{
    xw_errbuf eb = {{0}};
    int rc = xmtp_api_unary(tn->api, method, p, n, resp, st, &eb);
    if (rc != XW_OK && getenv("TN_DEBUG"))
        fprintf(stderr, "call %s: %s\n", method, eb.msg);
    return rc;
}

/* call_ok with the packed request p[0..n). */
static void *call_bytes_ok(test_node *tn, const char *method, const uint8_t *p, size_t n,
                           const ProtobufCMessageDescriptor *d)
{
    xw_buf resp;
    xw_buf_init(&resp, 1 << 24);
    xmtp_api_status st;
    assert_int_equal(call_bytes(tn, method, p, n, &resp, &st), XW_OK);
    ProtobufCMessage *m = NULL;
    assert_int_equal(xw_pb_decode(d, resp.data, resp.len, SIZE_MAX, &m, NULL), XW_OK);
    xw_buf_free(&resp);
    return m;
}

int call(test_node *tn, const char *method, const ProtobufCMessage *req, xw_buf *resp, xmtp_api_status *st)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *p = xw_malloc(n + 1);
    protobuf_c_message_pack(req, p);
    int rc = call_bytes(tn, method, p, n, resp, st);
    xw_free(p);
    return rc;
}

void *call_ok(test_node *tn, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *d)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *p = xw_malloc(n + 1);
    protobuf_c_message_pack(req, p);
    void *m = call_bytes_ok(tn, method, p, n, d);
    xw_free(p);
    return m;
}

int send_msgs(test_node *tn, const xw_buf *msgs, size_t n, xmtp_api_status *st)
{
    xw_buf req, resp;
    xw_buf_init(&req, 1 << 24);
    xw_buf_init(&resp, 1 << 20);
    tn_pack_send(&req, msgs, n, 1);
    int rc = call_bytes(tn, MLS "SendGroupMessages", req.data, req.len, &resp, st);
    xw_buf_free(&req);
    xw_buf_free(&resp);
    return rc;
}

int send_one(test_node *tn, const uint8_t *gid, uint8_t ct, const char *payload, xmtp_api_status *st)
{
    xw_buf m;
    xw_buf_init(&m, 1 << 20);
    tn_mls_private(&m, gid, 16, ct, payload);
    int rc = send_msgs(tn, &m, 1, st);
    xw_buf_free(&m);
    return rc;
}

Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *query(test_node *tn, const uint8_t *gid, int dir,
                                                      uint32_t limit, uint64_t cursor)
{
    xw_buf req;
    xw_buf_init(&req, 1024);
    tn_pack_query(&req, gid, dir, limit, cursor);
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r =
        call_bytes_ok(tn, MLS "QueryGroupMessages", req.data, req.len,
                      &xmtp__mls__api__v1__query_group_messages_response__descriptor);
    xw_buf_free(&req);
    return r;
}

const char *payload_of(const Xmtp__Mls__Api__V1__GroupMessage *m)
{
    /* the test messages end with the payload vector: last byte count known from the builder */
    static char out[64];
    const uint8_t *d = m->v1->data.data;
    size_t n = m->v1->data.len;
    /* walk: version(2) wf(2) gid(1+16) epoch(8) ct(1) aad(1) esd(1+11) payload(1+len) */
    size_t off = 2 + 2 + 17 + 8 + 1 + 1 + 12;
    size_t pl = d[off];
    snprintf(out, sizeof out, "%.*s", (int)(pl < n - off - 1 ? pl : n - off - 1), (const char *)d + off + 1);
    return out;
}
