/*
 * libFuzzer target for proto/pb.h, the decoder of every protobuf that arrives from the
 * network: the first byte picks one of the top-level XMTP messages a node, a peer or a key
 * package can hand us, the rest is decoded as that message. A decode that succeeds is
 * re-encoded, decoded and encoded again: the two encodings must be identical (protobuf-c
 * normalizes on the first pass), and nothing may leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "gen/xmtp/identity/api/v1/identity.pb-c.h"
#include "gen/xmtp/identity/associations/association.pb-c.h"
#include "gen/xmtp/identity/credential.pb-c.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "gen/xmtp/mls/message_contents/commit_log.pb-c.h"
#include "gen/xmtp/mls/message_contents/content.pb-c.h"
#include "gen/xmtp/mls/message_contents/content_types/reaction.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_membership.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_metadata.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_mutable_metadata.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_permissions.pb-c.h"
#include "gen/xmtp/mls/message_contents/welcome_pointer.pb-c.h"
#include "gen/xmtp/mls/message_contents/wrapper_encryption.pb-c.h"
#include "proto/pb.h"

#define MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const TYPES[] = {
    &xmtp__mls__api__v1__group_message__descriptor,
    &xmtp__mls__api__v1__welcome_message__descriptor,
    &xmtp__mls__api__v1__query_group_messages_response__descriptor,
    &xmtp__mls__api__v1__query_welcome_messages_response__descriptor,
    &xmtp__mls__api__v1__fetch_key_packages_response__descriptor,
    &xmtp__mls__api__v1__batch_query_commit_log_response__descriptor,
    &xmtp__mls__api__v1__get_newest_group_message_response__descriptor,
    &xmtp__mls__api__v1__subscribe_response__descriptor,
    &xmtp__identity__api__v1__get_identity_updates_response__descriptor,
    &xmtp__identity__api__v1__get_inbox_ids_response__descriptor,
    &xmtp__identity__associations__identity_update__descriptor,
    &xmtp__identity__mls_credential__descriptor,
    &xmtp__mls__message_contents__plaintext_envelope__descriptor,
    &xmtp__mls__message_contents__encoded_content__descriptor,
    &xmtp__mls__message_contents__group_mutable_metadata_v1__descriptor,
    &xmtp__mls__message_contents__group_mutable_permissions_v1__descriptor,
    &xmtp__mls__message_contents__group_membership__descriptor,
    &xmtp__mls__message_contents__group_metadata_v1__descriptor,
    &xmtp__mls__message_contents__welcome_pointer__descriptor,
    &xmtp__mls__message_contents__welcome_wrapper_encryption__descriptor,
    &xmtp__mls__message_contents__plaintext_commit_log_entry__descriptor,
    &xmtp__mls__message_contents__content_types__reaction_v2__descriptor,
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *d = TYPES[data[0] % N_TYPES];
    int64_t live = xw_alloc_live();
    ProtobufCMessage *m = NULL;
    if (xw_pb_decode(d, data + 1, size - 1, MAX, &m, NULL) == XW_OK) {
        xw_buf a, b;
        xw_buf_init(&a, 4 * MAX);
        xw_buf_init(&b, 4 * MAX);
        if (xw_pb_encode(m, &a, NULL) != XW_OK)
            abort();
        ProtobufCMessage *m2 = NULL;
        if (xw_pb_decode(d, a.data, a.len, 4 * MAX, &m2, NULL) != XW_OK) {
            fprintf(stderr, "%s: our own encoding does not decode\n", d->name);
            abort();
        }
        if (xw_pb_encode(m2, &b, NULL) != XW_OK || a.len != b.len ||
            (a.len && memcmp(a.data, b.data, a.len))) {
            fprintf(stderr, "%s: encoding is not stable after one decode/encode pass\n", d->name);
            abort();
        }
        xw_pb_free(m2);
        xw_pb_free(m);
        xw_buf_free(&a);
        xw_buf_free(&b);
    }
    if (xw_alloc_live() != live)
        abort();
    return 0;
}
