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

int call(test_node *tn, const char *method, const ProtobufCMessage *req, xw_buf *resp, xmtp_api_status *st)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *p = xw_malloc(n + 1);
    protobuf_c_message_pack(req, p);
    xw_errbuf eb = {{0}};
    int rc = xmtp_api_unary(tn->api, method, p, n, resp, st, &eb);
    if (rc != XW_OK && getenv("TN_DEBUG"))
        fprintf(stderr, "call %s: %s\n", method, eb.msg);
    xw_free(p);
    return rc;
}

int send_msgs(test_node *tn, const xw_buf *msgs, size_t n, xmtp_api_status *st)
{
    Xmtp__Mls__Api__V1__SendGroupMessagesRequest req = XMTP__MLS__API__V1__SEND_GROUP_MESSAGES_REQUEST__INIT;
    Xmtp__Mls__Api__V1__GroupMessageInput *in = xw_calloc(n, sizeof *in);
    Xmtp__Mls__Api__V1__GroupMessageInput__V1 *v1 = xw_calloc(n, sizeof *v1);
    Xmtp__Mls__Api__V1__GroupMessageInput **pin = xw_calloc(n, sizeof *pin);
    for (size_t i = 0; i < n; i++) {
        xmtp__mls__api__v1__group_message_input__init(&in[i]);
        xmtp__mls__api__v1__group_message_input__v1__init(&v1[i]);
        v1[i].data.data = msgs[i].data;
        v1[i].data.len = msgs[i].len;
        v1[i].should_push = 1;
        in[i].version_case = XMTP__MLS__API__V1__GROUP_MESSAGE_INPUT__VERSION_V1;
        in[i].v1 = &v1[i];
        pin[i] = &in[i];
    }
    req.n_messages = n;
    req.messages = pin;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    int rc = call(tn, MLS "SendGroupMessages", &req.base, &resp, st);
    xw_buf_free(&resp);
    xw_free(in);
    xw_free(v1);
    xw_free(pin);
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
    Xmtp__Mls__Api__V1__QueryGroupMessagesRequest q = XMTP__MLS__API__V1__QUERY_GROUP_MESSAGES_REQUEST__INIT;
    Xmtp__Mls__Api__V1__PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    q.group_id.data = (uint8_t *)gid;
    q.group_id.len = 16;
    if (dir >= 0) {
        pi.direction = dir;
        pi.limit = limit;
        pi.id_cursor = cursor;
        q.paging_info = &pi;
    }
    xw_buf resp;
    xw_buf_init(&resp, 1 << 24);
    xmtp_api_status st;
    assert_int_equal(call(tn, MLS "QueryGroupMessages", &q.base, &resp, &st), XW_OK);
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__query_group_messages_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &r, NULL);
    assert_non_null(r);
    xw_buf_free(&resp);
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
