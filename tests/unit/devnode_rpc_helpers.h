/*
 * Small gRPC wrappers shared by the dev node RPC tests (test_devnode.c and
 * test_devnode_transport.c): a unary call, SendGroupMessages, QueryGroupMessages, and the
 * payload of a test message built by tn_mls_private().
 */
#ifndef XW_TESTS_DEVNODE_RPC_HELPERS_H
#define XW_TESTS_DEVNODE_RPC_HELPERS_H

#include <stdint.h>

#include "common/buf.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "tests/unit/devnode_helpers.h"
#include "xmtp/api.h"

#define MLS "/xmtp.mls.api.v1.MlsApi/"

extern const uint8_t GID_A[16];
extern const uint8_t GID_B[16];

int call(test_node *tn, const char *method, const ProtobufCMessage *req, xw_buf *resp, xmtp_api_status *st);
/* Calls method with req, asserts that it succeeds, and returns the response unpacked as a
 * message of type d (free it with xw_pb_free). */
void *call_ok(test_node *tn, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *d);
int send_msgs(test_node *tn, const xw_buf *msgs, size_t n, xmtp_api_status *st);
int send_one(test_node *tn, const uint8_t *gid, uint8_t ct, const char *payload, xmtp_api_status *st);
/* dir < 0: no paging info. Asserts the call succeeds and the response parses. */
Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *query(test_node *tn, const uint8_t *gid, int dir,
                                                      uint32_t limit, uint64_t cursor);
/* The payload of a message built by tn_mls_private() (a static buffer). */
const char *payload_of(const Xmtp__Mls__Api__V1__GroupMessage *m);

#endif
