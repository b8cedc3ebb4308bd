/*
 * Tests of xmtp-devnode through the project's gRPC client (xmtp/api): xmtp-node-go semantics
 * of every MlsApi RPC (paging, ordering, dedupe, is_commit, key package validation, welcomes,
 * newest message, commit log limits), IdentityApi validation and limits, and persistence
 * across a restart. Subscriptions, bad input at every layer and client behaviour are in
 * test_devnode_transport.c. Each test starts its own node in a thread of this process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "gen/xmtp/identity/api/v1/identity.pb-c.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "proto/pb.h"
#include "tests/unit/devnode_helpers.h"
#include "tests/unit/devnode_rpc_helpers.h"
#include "xmtp/api_frame.h"
#include "xmtp/inbox.h"
#include "xmtp/installation.h"
#include "xmtp/identity_update.h"
#include "xmtp/wallet.h"

/* --- group messages --------------------------------------------------------------------------- */

static void test_group_messages_paging_dedupe_commit(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    xmtp_api_status st;
    assert_int_equal(send_one(&tn, GID_A, 1, "a1", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 3, "a2-commit", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_B, 1, "b1", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 2, "a3-proposal", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 1, "a4", &st), XW_OK);
    /* the same bytes again: silently skipped */
    assert_int_equal(send_one(&tn, GID_A, 1, "a1", &st), XW_OK);

    /* default: descending, everything (<= 100) */
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = query(&tn, GID_A, -1, 0, 0);
    assert_int_equal(r->n_messages, 4);
    assert_string_equal(payload_of(r->messages[0]), "a4");
    assert_string_equal(payload_of(r->messages[3]), "a1");
    for (size_t i = 1; i < r->n_messages; i++)
        assert_true(r->messages[i - 1]->v1->id > r->messages[i]->v1->id);
    assert_int_equal(r->messages[0]->v1->is_commit, 0);
    assert_int_equal(r->messages[1]->v1->is_commit, 1); /* proposal */
    assert_int_equal(r->messages[2]->v1->is_commit, 1); /* commit */
    assert_memory_equal(r->messages[0]->v1->group_id.data, GID_A, 16);
    assert_true(r->messages[0]->v1->should_push);
    assert_true(r->messages[0]->v1->created_ns > 0);
    assert_non_null(r->paging_info);
    assert_int_equal(r->paging_info->id_cursor, 0); /* page not full */
    uint64_t first_id = r->messages[3]->v1->id;
    xw_pb_free(&r->base);

    /* ascending pages of 2 with the cursor the node hands back */
    r = query(&tn, GID_A, 1, 2, 0);
    assert_int_equal(r->n_messages, 2);
    assert_string_equal(payload_of(r->messages[0]), "a1");
    assert_string_equal(payload_of(r->messages[1]), "a2-commit");
    assert_int_equal(r->paging_info->id_cursor, r->messages[1]->v1->id);
    uint64_t cur = r->paging_info->id_cursor;
    xw_pb_free(&r->base);
    r = query(&tn, GID_A, 1, 2, cur);
    assert_int_equal(r->n_messages, 2);
    assert_string_equal(payload_of(r->messages[0]), "a3-proposal");
    assert_string_equal(payload_of(r->messages[1]), "a4");
    cur = r->paging_info->id_cursor;
    xw_pb_free(&r->base);
    r = query(&tn, GID_A, 1, 2, cur);
    assert_int_equal(r->n_messages, 0);
    assert_int_equal(r->paging_info->id_cursor, 0);
    xw_pb_free(&r->base);

    /* descending from a cursor returns older ids; limit above 100 is clamped */
    r = query(&tn, GID_A, 2, 1000, first_id + 2);
    assert_true(r->n_messages >= 1);
    assert_true(r->messages[0]->v1->id < first_id + 2);
    assert_int_equal(r->paging_info->limit, 100);
    xw_pb_free(&r->base);

    /* group B is separate */
    r = query(&tn, GID_B, -1, 0, 0);
    assert_int_equal(r->n_messages, 1);
    assert_string_equal(payload_of(r->messages[0]), "b1");
    xw_pb_free(&r->base);

    /* GetNewestGroupMessage: same order as asked, empty entry for an unknown group */
    Xmtp__Mls__Api__V1__GetNewestGroupMessageRequest nq =
        XMTP__MLS__API__V1__GET_NEWEST_GROUP_MESSAGE_REQUEST__INIT;
    ProtobufCBinaryData ids[3] = {{16, (uint8_t *)GID_B}, {5, (uint8_t *)"nope!"}, {16, (uint8_t *)GID_A}};
    nq.n_group_ids = 3;
    nq.group_ids = ids;
    nq.include_content = 0;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    assert_int_equal(call(&tn, MLS "GetNewestGroupMessage", &nq.base, &resp, &st), XW_OK);
    Xmtp__Mls__Api__V1__GetNewestGroupMessageResponse *nr = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__get_newest_group_message_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &nr, NULL);
    assert_non_null(nr);
    assert_int_equal(nr->n_responses, 3);
    assert_non_null(nr->responses[0]->group_message);
    assert_null(nr->responses[1]->group_message);
    assert_non_null(nr->responses[2]->group_message);
    assert_int_equal(nr->responses[2]->group_message->v1->data.len, 0); /* include_content = false */
    assert_true(nr->responses[2]->group_message->v1->id > nr->responses[0]->group_message->v1->id);
    xw_pb_free(&nr->base);
    /* at least one group id is required */
    nq.n_group_ids = 0;
    xw_buf_reset(&resp);
    assert_int_equal(call(&tn, MLS "GetNewestGroupMessage", &nq.base, &resp, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    xw_buf_free(&resp);
    tn_stop(&tn);
}

static void test_commit_log(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    xmtp_api_status st;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    Xmtp__Identity__Associations__RecoverableEd25519Signature sig =
        XMTP__IDENTITY__ASSOCIATIONS__RECOVERABLE_ED25519_SIGNATURE__INIT;
    uint8_t sb[64] = {1}, pk[32] = {2};
    sig.bytes = (ProtobufCBinaryData){64, sb};
    sig.public_key = (ProtobufCBinaryData){32, pk};
    Xmtp__Mls__Api__V1__PublishCommitLogRequest e[11];
    Xmtp__Mls__Api__V1__PublishCommitLogRequest *pe[11];
    char text[11][24];
    for (int i = 0; i < 11; i++) {
        xmtp__mls__api__v1__publish_commit_log_request__init(&e[i]);
        snprintf(text[i], sizeof text[i], "entry%d", i % 100);
        e[i].group_id = (ProtobufCBinaryData){16, (uint8_t *)GID_A};
        e[i].serialized_commit_log_entry = (ProtobufCBinaryData){strlen(text[i]), (uint8_t *)text[i]};
        e[i].signature = &sig;
        pe[i] = &e[i];
    }
    Xmtp__Mls__Api__V1__BatchPublishCommitLogRequest bp =
        XMTP__MLS__API__V1__BATCH_PUBLISH_COMMIT_LOG_REQUEST__INIT;
    bp.requests = pe;
    bp.n_requests = 11; /* more than 10 */
    assert_int_equal(call(&tn, MLS "BatchPublishCommitLog", &bp.base, &resp, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    bp.n_requests = 10;
    assert_int_equal(call(&tn, MLS "BatchPublishCommitLog", &bp.base, &resp, &st), XW_OK);

    Xmtp__Mls__Api__V1__BatchQueryCommitLogRequest bq =
        XMTP__MLS__API__V1__BATCH_QUERY_COMMIT_LOG_REQUEST__INIT;
    Xmtp__Mls__Api__V1__QueryCommitLogRequest q = XMTP__MLS__API__V1__QUERY_COMMIT_LOG_REQUEST__INIT;
    Xmtp__Mls__Api__V1__PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    Xmtp__Mls__Api__V1__QueryCommitLogRequest *qs[1] = {&q};
    q.group_id = (ProtobufCBinaryData){16, (uint8_t *)GID_A};
    pi.limit = 4;
    q.paging_info = &pi;
    bq.requests = qs;
    bq.n_requests = 1;
    xw_buf_reset(&resp);
    assert_int_equal(call(&tn, MLS "BatchQueryCommitLog", &bq.base, &resp, &st), XW_OK);
    Xmtp__Mls__Api__V1__BatchQueryCommitLogResponse *r = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__batch_query_commit_log_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &r, NULL);
    assert_non_null(r);
    assert_int_equal(r->n_responses, 1);
    assert_int_equal(r->responses[0]->n_commit_log_entries, 4);
    assert_memory_equal(r->responses[0]->commit_log_entries[0]->serialized_commit_log_entry.data, "entry0",
                        6);
    assert_non_null(r->responses[0]->commit_log_entries[0]->signature);
    assert_int_equal(r->responses[0]->commit_log_entries[0]->signature->public_key.len, 32);
    assert_int_equal(r->responses[0]->paging_info->id_cursor,
                     r->responses[0]->commit_log_entries[3]->sequence_id);
    xw_pb_free(&r->base);
    /* descending is refused, like xmtp-node-go */
    pi.direction = XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_DESCENDING;
    xw_buf_reset(&resp);
    assert_int_equal(call(&tn, MLS "BatchQueryCommitLog", &bq.base, &resp, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    xw_buf_free(&resp);
    tn_stop(&tn);
}

/* --- key packages and welcomes ---------------------------------------------------------------- */

static int upload_kp(test_node *tn, const xw_buf *kp, xmtp_api_status *st)
{
    Xmtp__Mls__Api__V1__UploadKeyPackageRequest u = XMTP__MLS__API__V1__UPLOAD_KEY_PACKAGE_REQUEST__INIT;
    Xmtp__Mls__Api__V1__KeyPackageUpload k = XMTP__MLS__API__V1__KEY_PACKAGE_UPLOAD__INIT;
    k.key_package_tls_serialized = (ProtobufCBinaryData){kp->len, kp->data};
    u.key_package = &k;
    u.is_inbox_id_credential = 1;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    int rc = call(tn, MLS "UploadKeyPackage", &u.base, &resp, st);
    xw_buf_free(&resp);
    return rc;
}

static void test_key_packages(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    xmtp_api_status st;
    const char *inbox = "4a2d8f0c1e9b7a6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d";
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    xw_buf kp, kp_b, bad;
    xw_buf_init(&kp, 1 << 20);
    xw_buf_init(&kp_b, 1 << 20);
    xw_buf_init(&bad, 1 << 20);
    tn_key_package(&kp, inbox, pk, sk);
    assert_int_equal(upload_kp(&tn, &kp, &st), XW_OK);

    /* a flipped byte inside the signed part: refused, nothing stored */
    tn_key_package(&kp_b, inbox, pk2, sk2);
    xw_buf_append(&bad, kp_b.data, kp_b.len);
    bad.data[40] ^= 1;
    assert_int_equal(upload_kp(&tn, &bad, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "signature"));
    /* truncated */
    xw_buf_reset(&bad);
    xw_buf_append(&bad, kp_b.data, kp_b.len - 10);
    assert_int_equal(upload_kp(&tn, &bad, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    /* a credential that is not an MlsCredential with a hex inbox id */
    xw_buf_reset(&bad);
    uint8_t pk3[32], sk3[64];
    tn_key_package(&bad, "Not-Hex!", pk3, sk3);
    assert_int_equal(upload_kp(&tn, &bad, &st), XW_EGRPC);
    assert_non_null(strstr(st.message, "inbox id"));

    /* what the node accepts and refuses besides (as xmtp-node-go): init_key equal to the
     * encryption key, an MLSMessage-wrapped key package and an empty inbox id are refused;
     * an expired lifetime and capabilities that list nothing are not checked */
    uint8_t pk4[32], sk4[64];
    crypto_sign_keypair(pk4, sk4);
    tn_kp_opts o = {.same_init_enc = 1};
    xw_buf_reset(&bad);
    tn_key_package_with(&bad, inbox, pk4, sk4, &o);
    assert_int_equal(upload_kp(&tn, &bad, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "differ"));
    xw_buf_reset(&bad);
    static const uint8_t mls_kp_prefix[] = {0, 1, 0, 5};
    xw_buf_append(&bad, mls_kp_prefix, sizeof mls_kp_prefix);
    xw_buf_append(&bad, kp_b.data, kp_b.len);
    assert_int_equal(upload_kp(&tn, &bad, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    xw_buf_reset(&bad);
    tn_key_package_with(&bad, "", pk4, sk4, &(tn_kp_opts){0});
    assert_int_equal(upload_kp(&tn, &bad, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "no inbox id"));
    xw_buf_reset(&bad);
    tn_key_package_with(&bad, inbox, pk4, sk4, &(tn_kp_opts){.not_after = 2000, .bare_caps = 1});
    assert_int_equal(upload_kp(&tn, &bad, &st), XW_OK);

    /* fetch in request order, empty entry for unknown installations */
    Xmtp__Mls__Api__V1__FetchKeyPackagesRequest f = XMTP__MLS__API__V1__FETCH_KEY_PACKAGES_REQUEST__INIT;
    ProtobufCBinaryData keys[3] = {{32, pk2}, {32, pk}, {3, (uint8_t *)"xyz"}};
    f.installation_keys = keys;
    f.n_installation_keys = 3;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    assert_int_equal(call(&tn, MLS "FetchKeyPackages", &f.base, &resp, &st), XW_OK);
    Xmtp__Mls__Api__V1__FetchKeyPackagesResponse *r = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__fetch_key_packages_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &r, NULL);
    assert_non_null(r);
    assert_int_equal(r->n_key_packages, 3);
    assert_int_equal(r->key_packages[0]->key_package_tls_serialized.len, 0);
    assert_int_equal(r->key_packages[1]->key_package_tls_serialized.len, kp.len);
    assert_memory_equal(r->key_packages[1]->key_package_tls_serialized.data, kp.data, kp.len);
    assert_int_equal(r->key_packages[2]->key_package_tls_serialized.len, 0);
    xw_pb_free(&r->base);

    /* a new key package for the same installation replaces the old one */
    xw_buf kp2;
    xw_buf_init(&kp2, 1 << 20);
    tn_key_package_again(&kp2, inbox, pk, sk);
    assert_int_equal(upload_kp(&tn, &kp2, &st), XW_OK);
    f.n_installation_keys = 2;
    xw_buf_reset(&resp);
    assert_int_equal(call(&tn, MLS "FetchKeyPackages", &f.base, &resp, &st), XW_OK);
    xw_pb_decode_as(&xmtp__mls__api__v1__fetch_key_packages_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &r, NULL);
    assert_non_null(r);
    assert_int_equal(r->key_packages[1]->key_package_tls_serialized.len, kp2.len);
    assert_memory_equal(r->key_packages[1]->key_package_tls_serialized.data, kp2.data, kp2.len);
    assert_memory_not_equal(kp2.data, kp.data, kp.len < kp2.len ? kp.len : kp2.len);
    xw_pb_free(&r->base);
    xw_buf_free(&kp2);

    /* RegisterInstallation answers with the installation key (the leaf signature key) */
    Xmtp__Mls__Api__V1__RegisterInstallationRequest ri =
        XMTP__MLS__API__V1__REGISTER_INSTALLATION_REQUEST__INIT;
    Xmtp__Mls__Api__V1__KeyPackageUpload k = XMTP__MLS__API__V1__KEY_PACKAGE_UPLOAD__INIT;
    k.key_package_tls_serialized = (ProtobufCBinaryData){kp_b.len, kp_b.data};
    ri.key_package = &k;
    xw_buf_reset(&resp);
    assert_int_equal(call(&tn, MLS "RegisterInstallation", &ri.base, &resp, &st), XW_OK);
    Xmtp__Mls__Api__V1__RegisterInstallationResponse *rr = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__register_installation_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &rr, NULL);
    assert_non_null(rr);
    assert_int_equal(rr->installation_key.len, 32);
    assert_memory_equal(rr->installation_key.data, pk2, 32);
    xw_pb_free(&rr->base);

    xw_buf_free(&resp);
    xw_buf_free(&kp);
    xw_buf_free(&kp_b);
    xw_buf_free(&bad);
    tn_stop(&tn);
}

static void test_welcomes(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    xmtp_api_status st;
    uint8_t ik[32];
    memset(ik, 7, sizeof ik);
    Xmtp__Mls__Api__V1__WelcomeMessageInput in[3];
    Xmtp__Mls__Api__V1__WelcomeMessageInput__V1 v1[2];
    Xmtp__Mls__Api__V1__WelcomeMessageInput__WelcomePointer wp =
        XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__WELCOME_POINTER__INIT;
    Xmtp__Mls__Api__V1__WelcomeMessageInput *pin[3] = {&in[0], &in[1], &in[2]};
    for (int i = 0; i < 2; i++) {
        xmtp__mls__api__v1__welcome_message_input__init(&in[i]);
        xmtp__mls__api__v1__welcome_message_input__v1__init(&v1[i]);
        v1[i].installation_key = (ProtobufCBinaryData){32, ik};
        v1[i].data = (ProtobufCBinaryData){8, (uint8_t *)(i ? "welcome2" : "welcome1")};
        v1[i].hpke_public_key = (ProtobufCBinaryData){4, (uint8_t *)"hpke"};
        v1[i].wrapper_algorithm = 2;
        v1[i].welcome_metadata = (ProtobufCBinaryData){4, (uint8_t *)"meta"};
        in[i].version_case = XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__VERSION_V1;
        in[i].v1 = &v1[i];
    }
    xmtp__mls__api__v1__welcome_message_input__init(&in[2]);
    wp.installation_key = (ProtobufCBinaryData){32, ik};
    wp.welcome_pointer = (ProtobufCBinaryData){7, (uint8_t *)"pointer"};
    wp.hpke_public_key = (ProtobufCBinaryData){4, (uint8_t *)"hpke"};
    wp.wrapper_algorithm = 2;
    in[2].version_case = XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__VERSION_WELCOME_POINTER;
    in[2].welcome_pointer = &wp;
    Xmtp__Mls__Api__V1__SendWelcomeMessagesRequest req =
        XMTP__MLS__API__V1__SEND_WELCOME_MESSAGES_REQUEST__INIT;
    req.messages = pin;
    req.n_messages = 3;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    assert_int_equal(call(&tn, MLS "SendWelcomeMessages", &req.base, &resp, &st), XW_OK);
    /* a pointer with a wrong wrapper algorithm is refused */
    wp.wrapper_algorithm = 1;
    req.messages = &pin[2];
    req.n_messages = 1;
    assert_int_equal(call(&tn, MLS "SendWelcomeMessages", &req.base, &resp, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    /* V1 without hpke key (not symmetric) is refused */
    v1[0].hpke_public_key.len = 0;
    req.messages = &pin[0];
    assert_int_equal(call(&tn, MLS "SendWelcomeMessages", &req.base, &resp, &st), XW_EGRPC);

    Xmtp__Mls__Api__V1__QueryWelcomeMessagesRequest q =
        XMTP__MLS__API__V1__QUERY_WELCOME_MESSAGES_REQUEST__INIT;
    Xmtp__Mls__Api__V1__PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    pi.direction = 1;
    q.installation_key = (ProtobufCBinaryData){32, ik};
    q.paging_info = &pi;
    xw_buf_reset(&resp);
    assert_int_equal(call(&tn, MLS "QueryWelcomeMessages", &q.base, &resp, &st), XW_OK);
    Xmtp__Mls__Api__V1__QueryWelcomeMessagesResponse *r = NULL;
    xw_pb_decode_as(&xmtp__mls__api__v1__query_welcome_messages_response__descriptor, resp.data, resp.len,
                    SIZE_MAX, &r, NULL);
    assert_non_null(r);
    assert_int_equal(r->n_messages, 3);
    assert_int_equal(r->messages[0]->version_case, XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_V1);
    assert_memory_equal(r->messages[0]->v1->data.data, "welcome1", 8);
    assert_memory_equal(r->messages[0]->v1->welcome_metadata.data, "meta", 4);
    assert_int_equal(r->messages[0]->v1->wrapper_algorithm, 2);
    assert_int_equal(r->messages[2]->version_case,
                     XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_WELCOME_POINTER);
    assert_memory_equal(r->messages[2]->welcome_pointer->welcome_pointer.data, "pointer", 7);
    assert_true(r->messages[2]->welcome_pointer->id > r->messages[1]->v1->id);
    xw_pb_free(&r->base);
    xw_buf_free(&resp);
    tn_stop(&tn);
}

/* --- identity ---------------------------------------------------------------------------------- */

#define IDA "/xmtp.identity.api.v1.IdentityApi/"

typedef struct {
    xmtp_wallet *w;
    xmtp_installation_key *i1, *i2;
    uint8_t addr[20];
    char addr_text[43];
    char inbox[65];
    xmtp_member_id mw, mi1, mi2;
} ident_fx;

static void ident_fx_init(ident_fx *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(xmtp_wallet_generate(&f->w, NULL), XW_OK);
    assert_int_equal(xmtp_installation_key_generate(&f->i1, NULL), XW_OK);
    assert_int_equal(xmtp_installation_key_generate(&f->i2, NULL), XW_OK);
    xmtp_wallet_address(f->w, f->addr);
    xmtp_address_to_lower(f->addr, f->addr_text);
    xmtp_inbox_id_for_address(f->addr, 1, f->inbox);
    xmtp_member_eth(&f->mw, f->addr);
    xmtp_member_installation(&f->mi1, xmtp_installation_key_public(f->i1));
    xmtp_member_installation(&f->mi2, xmtp_installation_key_public(f->i2));
}

static void ident_fx_free(ident_fx *f)
{
    xmtp_wallet_free(f->w);
    xmtp_installation_key_free(f->i1);
    xmtp_installation_key_free(f->i2);
}

/* A signed update; `create` = CreateInbox + add i1, else add i2. Encoded into out. */
static void ident_update(ident_fx *f, int create, xw_buf *out)
{
    xmtp_idu *u = NULL;
    xw_errbuf eb = {{0}};
    assert_int_equal(xmtp_idu_new(f->inbox, 1700000000000000000ull + (create ? 0 : 1000), &u, &eb), XW_OK);
    if (create)
        assert_int_equal(xmtp_idu_create_inbox(u, f->addr, 1, &eb), XW_OK);
    assert_int_equal(xmtp_idu_add_association(u, create ? &f->mi1 : &f->mi2, &f->mw, &eb), XW_OK);
    assert_int_equal(xmtp_idu_sign_wallet(u, f->w, &eb), XW_OK);
    assert_int_equal(xmtp_idu_sign_installation(u, create ? f->i1 : f->i2, &eb), XW_OK);
    assert_int_equal(xmtp_idu_encode(u, out, &eb), XW_OK);
    xmtp_idu_free(u);
}

static int publish(test_node *tn, const xw_buf *update, xmtp_api_status *st)
{
    /* PublishIdentityUpdateRequest { IdentityUpdate identity_update = 1 } */
    xw_buf req, resp;
    xw_buf_init(&req, 1 << 20);
    xw_buf_init(&resp, 1 << 20);
    xw_pb_append_bytes(&req, 1, update->data, update->len);
    xw_errbuf eb = {{0}};
    int rc = xmtp_api_unary(tn->api, IDA "PublishIdentityUpdate", req.data, req.len, &resp, st, &eb);
    xw_buf_free(&req);
    xw_buf_free(&resp);
    return rc;
}

static Xmtp__Identity__Api__V1__GetIdentityUpdatesResponse *get_updates(test_node *tn, const char *inbox,
                                                                        uint64_t after)
{
    Xmtp__Identity__Api__V1__GetIdentityUpdatesRequest req =
        XMTP__IDENTITY__API__V1__GET_IDENTITY_UPDATES_REQUEST__INIT;
    Xmtp__Identity__Api__V1__GetIdentityUpdatesRequest__Request r =
        XMTP__IDENTITY__API__V1__GET_IDENTITY_UPDATES_REQUEST__REQUEST__INIT;
    Xmtp__Identity__Api__V1__GetIdentityUpdatesRequest__Request *pr[1] = {&r};
    r.inbox_id = (char *)inbox;
    r.sequence_id = after;
    req.requests = pr;
    req.n_requests = 1;
    return call_ok(tn, IDA "GetIdentityUpdates", &req.base,
                   &xmtp__identity__api__v1__get_identity_updates_response__descriptor);
}

static int lookup(test_node *tn, const char *address, char *inbox_out)
{
    Xmtp__Identity__Api__V1__GetInboxIdsRequest req = XMTP__IDENTITY__API__V1__GET_INBOX_IDS_REQUEST__INIT;
    Xmtp__Identity__Api__V1__GetInboxIdsRequest__Request r =
        XMTP__IDENTITY__API__V1__GET_INBOX_IDS_REQUEST__REQUEST__INIT;
    Xmtp__Identity__Api__V1__GetInboxIdsRequest__Request *pr[1] = {&r};
    r.identifier = (char *)address;
    r.identifier_kind = 1;
    req.requests = pr;
    req.n_requests = 1;
    Xmtp__Identity__Api__V1__GetInboxIdsResponse *out = call_ok(
        tn, IDA "GetInboxIds", &req.base, &xmtp__identity__api__v1__get_inbox_ids_response__descriptor);
    assert_int_equal(out->n_responses, 1);
    assert_string_equal(out->responses[0]->identifier, address);
    int found = out->responses[0]->_inbox_id_case != 0;
    if (found)
        snprintf(inbox_out, 65, "%s", out->responses[0]->inbox_id);
    xw_pb_free(&out->base);
    return found;
}

static void test_identity_updates_validated(void **state)
{
    (void)state;
    test_node tn;
    tn_start(&tn, ":memory:", 0, 0);
    xmtp_api_status st;
    ident_fx f, g;
    ident_fx_init(&f);
    ident_fx_init(&g);
    xw_buf reg, add, bad;
    xw_buf_init(&reg, 1 << 20);
    xw_buf_init(&add, 1 << 20);
    xw_buf_init(&bad, 1 << 20);
    ident_update(&f, 1, &reg);
    ident_update(&f, 0, &add);

    /* an inbox must be created before anything is added to it */
    assert_int_equal(publish(&tn, &add, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    char inbox[65];
    assert_false(lookup(&tn, f.addr_text, inbox));

    assert_int_equal(publish(&tn, &reg, &st), XW_OK);
    assert_true(lookup(&tn, f.addr_text, inbox));
    assert_string_equal(inbox, f.inbox);
    /* replaying the registration is refused */
    assert_int_equal(publish(&tn, &reg, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "refused"));
    assert_int_equal(publish(&tn, &add, &st), XW_OK);

    /* a registration with a tampered signature: refused, nothing recorded */
    ident_update(&g, 1, &bad);
    bad.data[bad.len - 70] ^= 0x01;
    assert_int_equal(publish(&tn, &bad, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_false(lookup(&tn, g.addr_text, inbox));
    Xmtp__Identity__Api__V1__GetIdentityUpdatesResponse *r = get_updates(&tn, g.inbox, 0);
    assert_int_equal(r->n_responses, 1);
    assert_int_equal(r->responses[0]->n_updates, 0);
    xw_pb_free(&r->base);

    /* the log, in order, after a sequence id */
    r = get_updates(&tn, f.inbox, 0);
    assert_int_equal(r->responses[0]->n_updates, 2);
    uint64_t s1 = r->responses[0]->updates[0]->sequence_id, s2 = r->responses[0]->updates[1]->sequence_id;
    assert_true(s1 > 0 && s2 > s1);
    assert_true(r->responses[0]->updates[0]->server_timestamp_ns > 0);
    assert_non_null(r->responses[0]->updates[1]->update);
    assert_string_equal(r->responses[0]->updates[1]->update->inbox_id, f.inbox);
    assert_int_equal(r->responses[0]->updates[0]->update->n_actions, 2);
    xw_pb_free(&r->base);
    char upper[65];
    for (int k = 0; k < 65; k++)
        upper[k] = (char)toupper((unsigned char)f.inbox[k]);
    r = get_updates(&tn, upper, s1);
    assert_int_equal(r->responses[0]->n_updates, 1);
    assert_string_equal(r->responses[0]->inbox_id, upper);
    assert_int_equal(r->responses[0]->updates[0]->sequence_id, s2);
    xw_pb_free(&r->base);

    /* smart-contract wallets cannot be checked without a chain */
    Xmtp__Identity__Api__V1__VerifySmartContractWalletSignaturesRequest vq =
        XMTP__IDENTITY__API__V1__VERIFY_SMART_CONTRACT_WALLET_SIGNATURES_REQUEST__INIT;
    Xmtp__Identity__Api__V1__VerifySmartContractWalletSignatureRequestSignature sig =
        XMTP__IDENTITY__API__V1__VERIFY_SMART_CONTRACT_WALLET_SIGNATURE_REQUEST_SIGNATURE__INIT;
    Xmtp__Identity__Api__V1__VerifySmartContractWalletSignatureRequestSignature *ps[1] = {&sig};
    sig.account_id = "eip155:1:0x0000000000000000000000000000000000000001";
    vq.signatures = ps;
    vq.n_signatures = 1;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    assert_int_equal(call(&tn, IDA "VerifySmartContractWalletSignatures", &vq.base, &resp, &st), XW_OK);
    Xmtp__Identity__Api__V1__VerifySmartContractWalletSignaturesResponse *vr = NULL;
    xw_pb_decode_as(&xmtp__identity__api__v1__verify_smart_contract_wallet_signatures_response__descriptor,
                    resp.data, resp.len, SIZE_MAX, &vr, NULL);
    assert_non_null(vr);
    assert_int_equal(vr->n_responses, 1);
    assert_false(vr->responses[0]->is_valid);
    assert_non_null(strstr(vr->responses[0]->error, "chain"));
    xw_pb_free(&vr->base);
    xw_buf_free(&resp);

    xw_buf_free(&reg);
    xw_buf_free(&add);
    xw_buf_free(&bad);
    ident_fx_free(&f);
    ident_fx_free(&g);
    tn_stop(&tn);
}

static void test_inbox_update_limit(void **state)
{
    (void)state;
    char path[] = "/tmp/devnode-limit-XXXXXX";
    tn_db_path(path);
    ident_fx f;
    ident_fx_init(&f);
    /* an inbox that already has 256 updates (written straight into the store) */
    node_store *store;
    assert_int_equal(node_store_open(path, &store, NULL), XW_OK);
    assert_int_equal(node_store_begin(store, NULL), XW_OK);
    for (int i = 0; i < 256; i++) {
        uint64_t seq;
        assert_int_equal(node_store_inbox_add(store, f.inbox, (const uint8_t *)"x", 1, &seq, NULL, NULL),
                         XW_OK);
    }
    assert_int_equal(node_store_commit(store, NULL), XW_OK);
    node_store_close(store);
    test_node tn;
    tn_start(&tn, path, 0, 0);
    xw_buf add;
    xw_buf_init(&add, 1 << 20);
    ident_update(&f, 0, &add);
    xmtp_api_status st;
    assert_int_equal(publish(&tn, &add, &st), XW_EGRPC);
    assert_int_equal(st.code, XW_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "256"));
    xw_buf_free(&add);
    ident_fx_free(&f);
    tn_stop(&tn);
    tn_db_remove(path);
}

/* --- a damaged store ------------------------------------------------------------------------- */

/* Writes n bytes of 0xa5 over path from off. */
static void overwrite(const char *path, long off, size_t n)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fputc(0xa5, f), 0xa5);
    assert_int_equal(fclose(f), 0);
}

static int count_row(void *ctx, const node_group_msg *m)
{
    (void)m;
    ++*(int *)ctx;
    return 0;
}

/* A damaged database is fatal, not retriable (SQLite's CORRUPT and NOTADB are XW_ECORRUPT):
 * retrying cannot mend the file, and a node that kept retrying would hide the damage. */
static void test_store_corruption_is_fatal(void **state)
{
    (void)state;
    char path[] = "/tmp/devnode-corrupt-XXXXXX";
    tn_db_path(path);
    node_store *store;
    xw_errbuf eb;
    assert_int_equal(node_store_open(path, &store, &eb), XW_OK);
    assert_int_equal(node_store_begin(store, NULL), XW_OK);
    uint8_t data[1000] = {0};
    for (int i = 0; i < 64; i++) { /* 64 KB of rows: pages well past the first */
        data[0] = (uint8_t)i;
        node_group_msg m = {
            .group_id = (const uint8_t *)"g", .group_id_len = 1, .data = data, .data_len = sizeof data};
        assert_int_equal(node_store_group_msg_add(store, &m, NULL), XW_OK);
    }
    assert_int_equal(node_store_commit(store, NULL), XW_OK);
    node_store_close(store); /* the last connection checkpoints: everything is in the main file */

    /* the pages behind the schema page damaged: opening works, reading the rows does not */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t hdr[100];
    assert_int_equal(fread(hdr, 1, sizeof hdr, f), sizeof hdr);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    fclose(f);
    long page = hdr[16] << 8 | hdr[17];
    assert_true(page >= 512 && size > 8 * page);
    overwrite(path, page, (size_t)(size - page));
    assert_int_equal(node_store_open(path, &store, &eb), XW_OK);
    int rows = 0;
    int rc = node_store_group_msgs(store, (const uint8_t *)"g", 1, 1, 0, 100, count_row, &rows, &eb);
    assert_int_equal(rc, XW_ECORRUPT);
    assert_false(xw_err_is_retriable(rc));
    assert_true(xw_err_is_fatal(rc));
    assert_non_null(strstr(eb.msg, "query group messages"));
    node_store_close(store);

    /* the header damaged: not a database any more, refused at open */
    overwrite(path, 0, 100);
    store = NULL;
    rc = node_store_open(path, &store, &eb);
    assert_int_equal(rc, XW_ECORRUPT);
    assert_true(xw_err_is_fatal(rc));
    assert_null(store);
    tn_db_remove(path);
}

/* --- persistence ------------------------------------------------------------------------------ */

static void test_restart_keeps_everything(void **state)
{
    (void)state;
    char path[] = "/tmp/devnode-test-XXXXXX";
    tn_db_path(path);
    test_node tn;
    xmtp_api_status st;
    tn_start(&tn, path, 0, 0);
    assert_int_equal(send_one(&tn, GID_A, 1, "before", &st), XW_OK);
    tn_stop(&tn);
    tn_start(&tn, path, 0, 0);
    assert_int_equal(send_one(&tn, GID_A, 1, "after", &st), XW_OK);
    assert_int_equal(send_one(&tn, GID_A, 1, "before", &st), XW_OK); /* still a duplicate */
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = query(&tn, GID_A, 1, 0, 0);
    assert_int_equal(r->n_messages, 2);
    assert_string_equal(payload_of(r->messages[0]), "before");
    assert_string_equal(payload_of(r->messages[1]), "after");
    assert_true(r->messages[1]->v1->id > r->messages[0]->v1->id);
    xw_pb_free(&r->base);
    tn_stop(&tn);
    tn_db_remove(path);
}

int main(void)
{
    /* as before the split: a write to a connection the node closed must fail with EPIPE */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_messages_paging_dedupe_commit),
        cmocka_unit_test(test_commit_log),
        cmocka_unit_test(test_key_packages),
        cmocka_unit_test(test_welcomes),
        cmocka_unit_test(test_restart_keeps_everything),
        cmocka_unit_test(test_identity_updates_validated),
        cmocka_unit_test(test_inbox_update_limit),
        cmocka_unit_test(test_store_corruption_is_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
