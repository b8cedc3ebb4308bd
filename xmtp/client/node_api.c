/*
 * The real node behind the xc_node ops: each op packs its request with the generated
 * protobuf-c code, makes one unary gRPC call through xmtp/api.h and unpacks the answer with
 * the checked decoder (proto/pb.h). Pages keep the decoded response alive and point into it.
 *
 * gRPC outcomes map onto the project's error classes: UNAVAILABLE -> XW_EUNAVAILABLE,
 * RESOURCE_EXHAUSTED -> XW_EAGAIN, DEADLINE_EXCEEDED -> XW_ETIMEOUT (all retriable), any
 * other status -> XW_EGRPC (the node refused the request) with its message.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "gen/xmtp/identity/api/v1/identity.pb-c.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "proto/pb.h"
#include "xmtp/api.h"
#include "xmtp/client/node.h"

#define RESP_MAX ((size_t)64 << 20)

typedef struct {
    xmtp_api *api;
} api_ctx;

static int call(api_ctx *c, const char *rpc, const ProtobufCMessage *req, xw_buf *resp, xw_errbuf *eb)
{
    xw_buf body;
    xw_buf_init(&body, RESP_MAX);
    int rc = xw_pb_encode(req, &body, eb);
    if (rc != XW_OK) {
        xw_buf_free(&body);
        return rc;
    }
    xmtp_api_status st;
    memset(&st, 0, sizeof st);
    rc = xmtp_api_unary(c->api, rpc, body.data, body.len, resp, &st, eb);
    xw_buf_free(&body);
    if (rc == XW_EGRPC) {
        int mapped = st.code == XW_GRPC_UNAVAILABLE          ? XW_EUNAVAILABLE
                     : st.code == XW_GRPC_RESOURCE_EXHAUSTED ? XW_EAGAIN
                     : st.code == XW_GRPC_DEADLINE_EXCEEDED  ? XW_ETIMEOUT
                                                             : XW_EGRPC;
        return xw_errf(eb, mapped, "the node refused %s (gRPC status %d): %s", rpc, st.code, st.message);
    }
    return rc;
}

static void page_release(void *owner) { xw_pb_free(owner); }

static int query_group(void *ctx, const uint8_t *gid, size_t gid_len, uint64_t after, uint32_t limit,
                       xc_page *out, xw_errbuf *eb)
{
    Xmtp__Mls__Api__V1__PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    pi.direction = XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_ASCENDING;
    pi.limit = limit;
    pi.id_cursor = after;
    Xmtp__Mls__Api__V1__QueryGroupMessagesRequest req =
        XMTP__MLS__API__V1__QUERY_GROUP_MESSAGES_REQUEST__INIT;
    req.group_id.data = (uint8_t *)gid;
    req.group_id.len = gid_len;
    req.paging_info = &pi;
    xw_buf resp;
    xw_buf_init(&resp, RESP_MAX);
    int rc = call(ctx, XMTP_MLS_API "QueryGroupMessages", &req.base, &resp, eb);
    Xmtp__Mls__Api__V1__QueryGroupMessagesResponse *r = NULL;
    if (rc == XW_OK)
        rc = xw_pb_decode_as(&xmtp__mls__api__v1__query_group_messages_response__descriptor, resp.data,
                             resp.len, RESP_MAX, &r, eb);
    xw_buf_free(&resp);
    if (rc != XW_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->groups = r->n_messages ? xw_calloc(r->n_messages, sizeof *out->groups) : NULL;
    if (r->n_messages && !out->groups) {
        xw_pb_free(&r->base);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_messages; i++) {
        const Xmtp__Mls__Api__V1__GroupMessage__V1 *v = r->messages[i]->v1;
        if (r->messages[i]->version_case != XMTP__MLS__API__V1__GROUP_MESSAGE__VERSION_V1 || !v)
            continue; /* an unknown version: skipped (nothing to apply) */
        xc_group_env *e = &out->groups[out->n++];
        e->id = v->id;
        e->created_ns = v->created_ns;
        e->group_id = (xc_bytes){v->group_id.data, v->group_id.len};
        e->data = (xc_bytes){v->data.data, v->data.len};
        e->is_commit = v->is_commit;
    }
    out->owner_ = r;
    out->release_ = page_release;
    return XW_OK;
}

static int query_welcomes(void *ctx, const uint8_t *key, size_t key_len, uint64_t after, uint32_t limit,
                          xc_page *out, xw_errbuf *eb)
{
    Xmtp__Mls__Api__V1__PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    pi.direction = XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_ASCENDING;
    pi.limit = limit;
    pi.id_cursor = after;
    Xmtp__Mls__Api__V1__QueryWelcomeMessagesRequest req =
        XMTP__MLS__API__V1__QUERY_WELCOME_MESSAGES_REQUEST__INIT;
    req.installation_key.data = (uint8_t *)key;
    req.installation_key.len = key_len;
    req.paging_info = &pi;
    xw_buf resp;
    xw_buf_init(&resp, RESP_MAX);
    int rc = call(ctx, XMTP_MLS_API "QueryWelcomeMessages", &req.base, &resp, eb);
    Xmtp__Mls__Api__V1__QueryWelcomeMessagesResponse *r = NULL;
    if (rc == XW_OK)
        rc = xw_pb_decode_as(&xmtp__mls__api__v1__query_welcome_messages_response__descriptor, resp.data,
                             resp.len, RESP_MAX, &r, eb);
    xw_buf_free(&resp);
    if (rc != XW_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->welcomes = r->n_messages ? xw_calloc(r->n_messages, sizeof *out->welcomes) : NULL;
    if (r->n_messages && !out->welcomes) {
        xw_pb_free(&r->base);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_messages; i++) {
        const Xmtp__Mls__Api__V1__WelcomeMessage *m = r->messages[i];
        xc_welcome_env *e = &out->welcomes[out->n];
        if (m->version_case == XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_V1 && m->v1) {
            e->id = m->v1->id;
            e->created_ns = m->v1->created_ns;
            e->wrapper_algorithm = m->v1->wrapper_algorithm;
            e->installation_key = (xc_bytes){m->v1->installation_key.data, m->v1->installation_key.len};
            e->data = (xc_bytes){m->v1->data.data, m->v1->data.len};
            e->hpke_public_key = (xc_bytes){m->v1->hpke_public_key.data, m->v1->hpke_public_key.len};
            e->metadata = (xc_bytes){m->v1->welcome_metadata.data, m->v1->welcome_metadata.len};
        } else if (m->version_case == XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_WELCOME_POINTER &&
                   m->welcome_pointer) {
            e->id = m->welcome_pointer->id;
            e->created_ns = m->welcome_pointer->created_ns;
            e->is_pointer = 1;
            e->wrapper_algorithm = m->welcome_pointer->wrapper_algorithm;
            e->installation_key = (xc_bytes){m->welcome_pointer->installation_key.data,
                                             m->welcome_pointer->installation_key.len};
            e->data =
                (xc_bytes){m->welcome_pointer->welcome_pointer.data, m->welcome_pointer->welcome_pointer.len};
        } else {
            continue;
        }
        out->n++;
    }
    out->owner_ = r;
    out->release_ = page_release;
    return XW_OK;
}

static int send_group(void *ctx, const xc_bytes *msgs, size_t n, xw_errbuf *eb)
{
    if (n == 0)
        return XW_OK;
    Xmtp__Mls__Api__V1__GroupMessageInput__V1 *v1 = xw_calloc(n, sizeof *v1);
    Xmtp__Mls__Api__V1__GroupMessageInput *in = xw_calloc(n, sizeof *in);
    Xmtp__Mls__Api__V1__GroupMessageInput **ptrs = xw_calloc(n, sizeof *ptrs);
    int rc = XW_OK;
    if (!v1 || !in || !ptrs) {
        rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        xmtp__mls__api__v1__group_message_input__v1__init(&v1[i]);
        v1[i].data.data = (uint8_t *)msgs[i].p;
        v1[i].data.len = msgs[i].len;
        v1[i].should_push = 1;
        xmtp__mls__api__v1__group_message_input__init(&in[i]);
        in[i].version_case = XMTP__MLS__API__V1__GROUP_MESSAGE_INPUT__VERSION_V1;
        in[i].v1 = &v1[i];
        ptrs[i] = &in[i];
    }
    Xmtp__Mls__Api__V1__SendGroupMessagesRequest req = XMTP__MLS__API__V1__SEND_GROUP_MESSAGES_REQUEST__INIT;
    req.n_messages = n;
    req.messages = ptrs;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 16);
    rc = call(ctx, XMTP_MLS_API "SendGroupMessages", &req.base, &resp, eb);
    xw_buf_free(&resp);
out:
    xw_free(v1);
    xw_free(in);
    xw_free(ptrs);
    return rc;
}

static int upload_key_package(void *ctx, const uint8_t *kp, size_t len, xw_errbuf *eb)
{
    Xmtp__Mls__Api__V1__KeyPackageUpload up = XMTP__MLS__API__V1__KEY_PACKAGE_UPLOAD__INIT;
    up.key_package_tls_serialized.data = (uint8_t *)kp;
    up.key_package_tls_serialized.len = len;
    Xmtp__Mls__Api__V1__UploadKeyPackageRequest req = XMTP__MLS__API__V1__UPLOAD_KEY_PACKAGE_REQUEST__INIT;
    req.key_package = &up;
    req.is_inbox_id_credential = 1;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 16);
    int rc = call(ctx, XMTP_MLS_API "UploadKeyPackage", &req.base, &resp, eb);
    xw_buf_free(&resp);
    return rc;
}

static int publish_identity_update(void *ctx, const uint8_t *update, size_t len, xw_errbuf *eb)
{
    Xmtp__Identity__Associations__IdentityUpdate *u = NULL;
    int rc = xw_pb_decode_as(&xmtp__identity__associations__identity_update__descriptor, update, len, 1 << 20,
                             &u, eb);
    if (rc != XW_OK)
        return rc;
    Xmtp__Identity__Api__V1__PublishIdentityUpdateRequest req =
        XMTP__IDENTITY__API__V1__PUBLISH_IDENTITY_UPDATE_REQUEST__INIT;
    req.identity_update = u;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 16);
    rc = call(ctx, XMTP_IDENTITY_API "PublishIdentityUpdate", &req.base, &resp, eb);
    xw_buf_free(&resp);
    xw_pb_free(&u->base);
    return rc;
}

static int get_identity_updates(void *ctx, const char *inbox_id, uint64_t after, xc_idlog *out, xw_errbuf *eb)
{
    Xmtp__Identity__Api__V1__GetIdentityUpdatesRequest__Request one =
        XMTP__IDENTITY__API__V1__GET_IDENTITY_UPDATES_REQUEST__REQUEST__INIT;
    one.inbox_id = (char *)inbox_id;
    one.sequence_id = after;
    Xmtp__Identity__Api__V1__GetIdentityUpdatesRequest__Request *ones[1] = {&one};
    Xmtp__Identity__Api__V1__GetIdentityUpdatesRequest req =
        XMTP__IDENTITY__API__V1__GET_IDENTITY_UPDATES_REQUEST__INIT;
    req.n_requests = 1;
    req.requests = ones;
    xw_buf resp;
    xw_buf_init(&resp, RESP_MAX);
    int rc = call(ctx, XMTP_IDENTITY_API "GetIdentityUpdates", &req.base, &resp, eb);
    Xmtp__Identity__Api__V1__GetIdentityUpdatesResponse *r = NULL;
    if (rc == XW_OK)
        rc = xw_pb_decode_as(&xmtp__identity__api__v1__get_identity_updates_response__descriptor, resp.data,
                             resp.len, RESP_MAX, &r, eb);
    xw_buf_free(&resp);
    if (rc != XW_OK)
        return rc;
    xw_buf enc;
    xw_buf_init(&enc, 1 << 20);
    for (size_t i = 0; i < r->n_responses && rc == XW_OK; i++) {
        const Xmtp__Identity__Api__V1__GetIdentityUpdatesResponse__Response *rr = r->responses[i];
        if (strcmp(rr->inbox_id, inbox_id) != 0)
            continue;
        for (size_t j = 0; j < rr->n_updates && rc == XW_OK; j++) {
            const Xmtp__Identity__Api__V1__GetIdentityUpdatesResponse__IdentityUpdateLog *lg = rr->updates[j];
            if (!lg->update) {
                rc = xw_errf(eb, XW_EPROTOCOL,
                             "the node sent identity log entry %llu of inbox %s without its update",
                             (unsigned long long)lg->sequence_id, inbox_id);
                break;
            }
            xw_buf_reset(&enc);
            rc = xw_pb_encode(&lg->update->base, &enc, eb);
            if (rc == XW_OK &&
                xc_idlog_add(out, lg->sequence_id, lg->server_timestamp_ns, enc.data, enc.len) != XW_OK)
                rc = xw_errf(eb, XW_ENOMEM, "out of memory");
        }
    }
    xw_buf_free(&enc);
    xw_pb_free(&r->base);
    return rc;
}

static int get_inbox_id(void *ctx, const char *address, char out[65], int *found, xw_errbuf *eb)
{
    Xmtp__Identity__Api__V1__GetInboxIdsRequest__Request one =
        XMTP__IDENTITY__API__V1__GET_INBOX_IDS_REQUEST__REQUEST__INIT;
    one.identifier = (char *)address;
    one.identifier_kind = XMTP__IDENTITY__ASSOCIATIONS__IDENTIFIER_KIND__IDENTIFIER_KIND_ETHEREUM;
    Xmtp__Identity__Api__V1__GetInboxIdsRequest__Request *ones[1] = {&one};
    Xmtp__Identity__Api__V1__GetInboxIdsRequest req = XMTP__IDENTITY__API__V1__GET_INBOX_IDS_REQUEST__INIT;
    req.n_requests = 1;
    req.requests = ones;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 20);
    int rc = call(ctx, XMTP_IDENTITY_API "GetInboxIds", &req.base, &resp, eb);
    Xmtp__Identity__Api__V1__GetInboxIdsResponse *r = NULL;
    if (rc == XW_OK)
        rc = xw_pb_decode_as(&xmtp__identity__api__v1__get_inbox_ids_response__descriptor, resp.data,
                             resp.len, 1 << 20, &r, eb);
    xw_buf_free(&resp);
    if (rc != XW_OK)
        return rc;
    *found = 0;
    for (size_t i = 0; i < r->n_responses; i++) {
        const Xmtp__Identity__Api__V1__GetInboxIdsResponse__Response *rr = r->responses[i];
        if (rr->_inbox_id_case !=
            XMTP__IDENTITY__API__V1__GET_INBOX_IDS_RESPONSE__RESPONSE___INBOX_ID_INBOX_ID)
            continue;
        if (strlen(rr->inbox_id) != 64) {
            rc = xw_errf(eb, XW_EPROTOCOL, "the node sent an inbox id of %zu characters for %s",
                         strlen(rr->inbox_id), address);
            break;
        }
        memcpy(out, rr->inbox_id, 65);
        *found = 1;
    }
    xw_pb_free(&r->base);
    return rc;
}

static int fetch_key_package(void *ctx, const uint8_t *key, size_t len, xw_buf *out, xw_errbuf *eb)
{
    ProtobufCBinaryData k = {len, (uint8_t *)key};
    Xmtp__Mls__Api__V1__FetchKeyPackagesRequest req = XMTP__MLS__API__V1__FETCH_KEY_PACKAGES_REQUEST__INIT;
    req.n_installation_keys = 1;
    req.installation_keys = &k;
    xw_buf resp;
    xw_buf_init(&resp, RESP_MAX);
    int rc = call(ctx, XMTP_MLS_API "FetchKeyPackages", &req.base, &resp, eb);
    Xmtp__Mls__Api__V1__FetchKeyPackagesResponse *r = NULL;
    if (rc == XW_OK)
        rc = xw_pb_decode_as(&xmtp__mls__api__v1__fetch_key_packages_response__descriptor, resp.data,
                             resp.len, RESP_MAX, &r, eb);
    xw_buf_free(&resp);
    if (rc != XW_OK)
        return rc;
    if (r->n_key_packages < 1 || !r->key_packages[0] ||
        r->key_packages[0]->key_package_tls_serialized.len == 0)
        rc = xw_errf(eb, XW_ENOTFOUND, "the node has no key package for installation %02x%02x%02x%02x...",
                     key[0], key[1], key[2], key[3]);
    else if (xw_buf_append(out, r->key_packages[0]->key_package_tls_serialized.data,
                           r->key_packages[0]->key_package_tls_serialized.len) != XW_OK)
        rc = xw_errf(eb, XW_ETOOBIG, "a key package from the node is too large");
    xw_pb_free(&r->base);
    return rc;
}

static int send_welcome(void *ctx, const xc_welcome_env *w, xw_errbuf *eb)
{
    Xmtp__Mls__Api__V1__WelcomeMessageInput__V1 v1 = XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__V1__INIT;
    v1.installation_key.data = (uint8_t *)w->installation_key.p;
    v1.installation_key.len = w->installation_key.len;
    v1.data.data = (uint8_t *)w->data.p;
    v1.data.len = w->data.len;
    v1.hpke_public_key.data = (uint8_t *)w->hpke_public_key.p;
    v1.hpke_public_key.len = w->hpke_public_key.len;
    v1.wrapper_algorithm = (Xmtp__Mls__MessageContents__WelcomeWrapperAlgorithm)w->wrapper_algorithm;
    v1.welcome_metadata.data = (uint8_t *)w->metadata.p;
    v1.welcome_metadata.len = w->metadata.len;
    Xmtp__Mls__Api__V1__WelcomeMessageInput in = XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__INIT;
    in.version_case = XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__VERSION_V1;
    in.v1 = &v1;
    Xmtp__Mls__Api__V1__WelcomeMessageInput *ins[1] = {&in};
    Xmtp__Mls__Api__V1__SendWelcomeMessagesRequest req =
        XMTP__MLS__API__V1__SEND_WELCOME_MESSAGES_REQUEST__INIT;
    req.n_messages = 1;
    req.messages = ins;
    xw_buf resp;
    xw_buf_init(&resp, 1 << 16);
    int rc = call(ctx, XMTP_MLS_API "SendWelcomeMessages", &req.base, &resp, eb);
    xw_buf_free(&resp);
    return rc;
}

/* --- subscriptions: a polled server stream (xmtp_api_sub), messages decoded as they come --- */
#define SUB_BUF_MAX 1000 /* messages kept between two sub_next calls (the node's pages are 100) */

struct xc_sub {
    xmtp_api_sub *as;
    int welcomes;
    int failed; /* a message could not be decoded: the stream is treated as ended */
    char why[200];
    size_t n;
    ProtobufCMessage **m; /* decoded GroupMessage / WelcomeMessage */
};

typedef struct {
    size_t n;
    ProtobufCMessage **m;
} sub_owner;

static void sub_owner_release(void *owner)
{
    sub_owner *o = owner;
    for (size_t i = 0; o && i < o->n; i++)
        xw_pb_free(o->m[i]);
    if (o)
        xw_free(o->m);
    xw_free(o);
}

static int sub_on_message(void *ctx, const uint8_t *msg, size_t len)
{
    xc_sub *s = ctx;
    if (s->n >= SUB_BUF_MAX)
        return 0; /* cannot happen: a poll returns after the first delivery */
    ProtobufCMessage *m = NULL;
    xw_errbuf eb = {{0}};
    int rc =
        s->welcomes
            ? xw_pb_decode_as(&xmtp__mls__api__v1__welcome_message__descriptor, msg, len, RESP_MAX, &m, &eb)
            : xw_pb_decode_as(&xmtp__mls__api__v1__group_message__descriptor, msg, len, RESP_MAX, &m, &eb);
    void *a = rc == XW_OK ? xw_realloc(s->m, (s->n + 1) * sizeof *s->m) : NULL;
    if (!a) {
        if (m)
            xw_pb_free(m);
        s->failed = 1;
        snprintf(s->why, sizeof s->why, "a streamed message: %.150s", rc == XW_OK ? "out of memory" : eb.msg);
        return 1;
    }
    s->m = a;
    s->m[s->n++] = m;
    return 0;
}

static int subscribe(void *ctx, int welcomes, const xc_sub_filter *f, size_t n, xc_sub **out, xw_errbuf *eb)
{
    api_ctx *c = ctx;
    xc_sub *s = xw_calloc(1, sizeof *s);
    void *filters =
        xw_calloc(n ? n : 1, welcomes ? sizeof(Xmtp__Mls__Api__V1__SubscribeWelcomeMessagesRequest__Filter)
                                      : sizeof(Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest__Filter));
    void **ptrs = xw_calloc(n ? n : 1, sizeof *ptrs);
    xw_buf body;
    xw_buf_init(&body, RESP_MAX);
    int rc = s && filters && ptrs ? XW_OK : xw_errf(eb, XW_ENOMEM, "out of memory");
    if (rc == XW_OK && welcomes) {
        Xmtp__Mls__Api__V1__SubscribeWelcomeMessagesRequest__Filter *fl = filters;
        Xmtp__Mls__Api__V1__SubscribeWelcomeMessagesRequest req =
            XMTP__MLS__API__V1__SUBSCRIBE_WELCOME_MESSAGES_REQUEST__INIT;
        for (size_t i = 0; i < n; i++) {
            Xmtp__Mls__Api__V1__SubscribeWelcomeMessagesRequest__Filter x =
                XMTP__MLS__API__V1__SUBSCRIBE_WELCOME_MESSAGES_REQUEST__FILTER__INIT;
            x.installation_key = (ProtobufCBinaryData){f[i].len, (uint8_t *)f[i].key};
            x.id_cursor = f[i].cursor;
            fl[i] = x;
            ptrs[i] = &fl[i];
        }
        req.n_filters = n;
        req.filters = (Xmtp__Mls__Api__V1__SubscribeWelcomeMessagesRequest__Filter **)ptrs;
        rc = xw_pb_encode(&req.base, &body, eb);
    } else if (rc == XW_OK) {
        Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest__Filter *fl = filters;
        Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest req =
            XMTP__MLS__API__V1__SUBSCRIBE_GROUP_MESSAGES_REQUEST__INIT;
        for (size_t i = 0; i < n; i++) {
            Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest__Filter x =
                XMTP__MLS__API__V1__SUBSCRIBE_GROUP_MESSAGES_REQUEST__FILTER__INIT;
            x.group_id = (ProtobufCBinaryData){f[i].len, (uint8_t *)f[i].key};
            x.id_cursor = f[i].cursor;
            fl[i] = x;
            ptrs[i] = &fl[i];
        }
        req.n_filters = n;
        req.filters = (Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest__Filter **)ptrs;
        rc = xw_pb_encode(&req.base, &body, eb);
    }
    if (rc == XW_OK) {
        s->welcomes = welcomes;
        xmtp_api_stream_opts so = {.on_message = sub_on_message, .ctx = s};
        rc = xmtp_api_sub_open(c->api,
                               welcomes ? XMTP_MLS_API "SubscribeWelcomeMessages"
                                        : XMTP_MLS_API "SubscribeGroupMessages",
                               body.data, body.len, &so, &s->as, eb);
    }
    xw_buf_free(&body);
    xw_free(filters);
    xw_free(ptrs);
    if (rc != XW_OK) {
        xw_free(s);
        return rc;
    }
    *out = s;
    return XW_OK;
}

static void sub_close(void *ctx, xc_sub *s)
{
    (void)ctx;
    if (!s)
        return;
    xmtp_api_sub_close(s->as);
    for (size_t i = 0; i < s->n; i++)
        xw_pb_free(s->m[i]);
    xw_free(s->m);
    xw_free(s);
}

static int sub_next(void *ctx, xc_sub *s, int timeout_ms, xc_page *out, xw_errbuf *eb)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    int ended = 0;
    xmtp_api_status st;
    memset(&st, 0, sizeof st);
    int rc = s->n ? XW_OK : xmtp_api_sub_poll(s->as, timeout_ms, &ended, &st, eb);
    if (s->failed)
        return xw_errf(eb, XW_EPROTOCOL, "%s", s->why);
    if (rc == XW_EGRPC) {
        int mapped = st.code == XW_GRPC_UNAVAILABLE || st.code == XW_GRPC_ABORTED ||
                             st.code == XW_GRPC_CANCELLED || st.code == XW_GRPC_INTERNAL
                         ? XW_EUNAVAILABLE
                     : st.code == XW_GRPC_RESOURCE_EXHAUSTED ? XW_EAGAIN
                     : st.code == XW_GRPC_DEADLINE_EXCEEDED  ? XW_ETIMEOUT
                                                             : XW_EGRPC;
        return xw_errf(eb, mapped, "the node ended the stream (gRPC status %d): %s", st.code, st.message);
    }
    if (rc != XW_OK && !xw_err_is_retriable(rc)) {
        char why[200];
        snprintf(why, sizeof why, "%.199s", eb->msg);
        return xw_errf(eb, XW_ENETWORK, "the stream failed: %s", why);
    }
    if (rc != XW_OK)
        return rc;
    if (!s->n && ended)
        return xw_errf(eb, XW_ECLOSED, "the node ended the stream");
    if (!s->n)
        return XW_OK;
    sub_owner *o = xw_calloc(1, sizeof *o);
    if (!o)
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    o->n = s->n;
    o->m = s->m;
    s->n = 0;
    s->m = NULL;
    out->owner_ = o;
    out->release_ = sub_owner_release;
    if (s->welcomes)
        out->welcomes = xw_calloc(o->n, sizeof *out->welcomes);
    else
        out->groups = xw_calloc(o->n, sizeof *out->groups);
    if (!out->welcomes && !out->groups) {
        xc_page_free(out);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < o->n; i++) {
        if (!s->welcomes) {
            const Xmtp__Mls__Api__V1__GroupMessage *g = (const void *)o->m[i];
            const Xmtp__Mls__Api__V1__GroupMessage__V1 *v = g->v1;
            if (g->version_case != XMTP__MLS__API__V1__GROUP_MESSAGE__VERSION_V1 || !v)
                continue;
            out->groups[out->n++] = (xc_group_env){v->id,
                                                   v->created_ns,
                                                   {v->group_id.data, v->group_id.len},
                                                   {v->data.data, v->data.len},
                                                   v->is_commit};
            continue;
        }
        const Xmtp__Mls__Api__V1__WelcomeMessage *m = (const void *)o->m[i];
        xc_welcome_env *e = &out->welcomes[out->n];
        if (m->version_case == XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_V1 && m->v1) {
            e->id = m->v1->id;
            e->created_ns = m->v1->created_ns;
            e->wrapper_algorithm = m->v1->wrapper_algorithm;
            e->installation_key = (xc_bytes){m->v1->installation_key.data, m->v1->installation_key.len};
            e->data = (xc_bytes){m->v1->data.data, m->v1->data.len};
            e->hpke_public_key = (xc_bytes){m->v1->hpke_public_key.data, m->v1->hpke_public_key.len};
            e->metadata = (xc_bytes){m->v1->welcome_metadata.data, m->v1->welcome_metadata.len};
        } else if (m->version_case == XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_WELCOME_POINTER &&
                   m->welcome_pointer) {
            e->id = m->welcome_pointer->id;
            e->created_ns = m->welcome_pointer->created_ns;
            e->is_pointer = 1;
            e->wrapper_algorithm = m->welcome_pointer->wrapper_algorithm;
            e->installation_key = (xc_bytes){m->welcome_pointer->installation_key.data,
                                             m->welcome_pointer->installation_key.len};
            e->data =
                (xc_bytes){m->welcome_pointer->welcome_pointer.data, m->welcome_pointer->welcome_pointer.len};
        } else {
            continue;
        }
        out->n++;
    }
    return XW_OK;
}

static void destroy(void *ctx)
{
    api_ctx *c = ctx;
    xmtp_api_free(c->api);
    xw_free(c);
}

static const xc_node_ops api_ops = {
    .query_group = query_group,
    .query_welcomes = query_welcomes,
    .send_group = send_group,
    .upload_key_package = upload_key_package,
    .publish_identity_update = publish_identity_update,
    .get_identity_updates = get_identity_updates,
    .get_inbox_id = get_inbox_id,
    .fetch_key_package = fetch_key_package,
    .send_welcome = send_welcome,
    .subscribe = subscribe,
    .sub_next = sub_next,
    .sub_close = sub_close,
    .destroy = destroy,
};

int xc_node_api_new(const char *url, xc_node **out, xw_errbuf *eb)
{
    xmtp_api_opts o;
    memset(&o, 0, sizeof o);
    o.url = url;
    o.app_version = "xmtp-worker/0.1";
    xmtp_api *api = NULL;
    int rc = xmtp_api_new(&o, &api, eb);
    if (rc != XW_OK)
        return rc;
    api_ctx *c = xw_calloc(1, sizeof *c);
    xc_node *n = xw_calloc(1, sizeof *n);
    if (!c || !n) {
        xw_free(c);
        xw_free(n);
        xmtp_api_free(api);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    c->api = api;
    n->ops = &api_ops;
    n->ctx = c;
    *out = n;
    return XW_OK;
}

void xc_page_free(xc_page *p)
{
    if (!p)
        return;
    if (p->release_)
        p->release_(p->owner_);
    xw_free(p->groups);
    xw_free(p->welcomes);
    memset(p, 0, sizeof *p);
}

void xc_idlog_free(xc_idlog *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        xw_free(l->e[i].update);
    xw_free(l->e);
    memset(l, 0, sizeof *l);
}

int xc_idlog_add(xc_idlog *l, uint64_t seq, uint64_t server_ns, const uint8_t *update, size_t len)
{
    xc_idlog_entry *e = xw_realloc(l->e, (l->n + 1) * sizeof *e);
    if (!e)
        return XW_ENOMEM;
    l->e = e;
    uint8_t *copy = xc_bytes_dup(update, len);
    if (!copy)
        return XW_ENOMEM;
    l->e[l->n++] = (xc_idlog_entry){seq, server_ns, copy, len};
    return XW_OK;
}

uint8_t *xc_bytes_dup(const void *p, size_t n)
{
    uint8_t *d = xw_malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

void xc_node_free(xc_node *n)
{
    if (!n)
        return;
    if (n->ops && n->ops->destroy)
        n->ops->destroy(n->ctx);
    xw_free(n);
}
