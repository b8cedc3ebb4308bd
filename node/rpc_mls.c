/*
 * xmtp.mls.api.v1.MlsApi handlers with xmtp-node-go's semantics (docs/protocol.md §1.2):
 * group messages filed under the group id read from the MLS message itself and marked
 * is_commit for Commit and Proposal content; welcomes V1 and WelcomePointer; one key
 * package per installation (latest wins) after full decoding and signature checks; paged
 * queries (at most 100, descending unless ASCENDING is asked, id cursors); subscriptions
 * (subs.c); the commit log with its batch limits; newest message per group.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "node/mlswire.h"
#include "node/rpc.h"

#define MAX_PAGE 100u
#define MAX_COMMIT_LOG_PUBLISH 10
#define MAX_COMMIT_LOG_QUERIES 20
#define MAX_BATCH 10000
#define MAX_NEWEST_IDS 1000 /* libxmtp asks in chunks of 1000 */

#define M(name) "/xmtp.mls.api.v1.MlsApi/" name

typedef Xmtp__Mls__Api__V1__GroupMessage GroupMessage;
typedef Xmtp__Mls__Api__V1__GroupMessage__V1 GroupMessageV1;
typedef Xmtp__Mls__Api__V1__WelcomeMessage WelcomeMessage;
typedef Xmtp__Mls__Api__V1__PagingInfo PagingInfo;

#define UNPACK(type, lower, var)                                                                             \
    type *var = (type *)node_pb_unpack(&lower##__descriptor, req, len, st);                                  \
    if (!var)                                                                                                \
    return st->code

/* --- encoding rows --------------------------------------------------------------------------- */

static int pack_group_msg(const node_group_msg *m, int with_data, xw_buf *out)
{
    GroupMessageV1 v1 = XMTP__MLS__API__V1__GROUP_MESSAGE__V1__INIT;
    GroupMessage gm = XMTP__MLS__API__V1__GROUP_MESSAGE__INIT;
    v1.id = m->id;
    v1.created_ns = m->created_ns;
    v1.group_id.data = (uint8_t *)m->group_id;
    v1.group_id.len = m->group_id_len;
    if (with_data) {
        v1.data.data = (uint8_t *)m->data;
        v1.data.len = m->data_len;
    }
    v1.sender_hmac.data = (uint8_t *)m->sender_hmac;
    v1.sender_hmac.len = m->sender_hmac_len;
    v1.should_push = m->should_push;
    v1.is_commit = m->is_commit;
    gm.version_case = XMTP__MLS__API__V1__GROUP_MESSAGE__VERSION_V1;
    gm.v1 = &v1;
    size_t n = protobuf_c_message_get_packed_size(&gm.base);
    uint8_t *p = xw_buf_extend(out, n);
    if (!p)
        return XW_ETOOBIG;
    protobuf_c_message_pack(&gm.base, p);
    return XW_OK;
}

static int pack_welcome(const node_welcome *w, xw_buf *out)
{
    WelcomeMessage wm = XMTP__MLS__API__V1__WELCOME_MESSAGE__INIT;
    Xmtp__Mls__Api__V1__WelcomeMessage__V1 v1 = XMTP__MLS__API__V1__WELCOME_MESSAGE__V1__INIT;
    Xmtp__Mls__Api__V1__WelcomeMessage__WelcomePointer wp =
        XMTP__MLS__API__V1__WELCOME_MESSAGE__WELCOME_POINTER__INIT;
    if (w->is_pointer) {
        wp.id = w->id;
        wp.created_ns = w->created_ns;
        wp.installation_key = (ProtobufCBinaryData){w->installation_key_len, (uint8_t *)w->installation_key};
        wp.welcome_pointer = (ProtobufCBinaryData){w->data_len, (uint8_t *)w->data};
        wp.hpke_public_key = (ProtobufCBinaryData){w->hpke_public_key_len, (uint8_t *)w->hpke_public_key};
        wp.wrapper_algorithm = w->wrapper_algorithm;
        wm.version_case = XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_WELCOME_POINTER;
        wm.welcome_pointer = &wp;
    } else {
        v1.id = w->id;
        v1.created_ns = w->created_ns;
        v1.installation_key = (ProtobufCBinaryData){w->installation_key_len, (uint8_t *)w->installation_key};
        v1.data = (ProtobufCBinaryData){w->data_len, (uint8_t *)w->data};
        v1.hpke_public_key = (ProtobufCBinaryData){w->hpke_public_key_len, (uint8_t *)w->hpke_public_key};
        v1.wrapper_algorithm = w->wrapper_algorithm;
        v1.welcome_metadata = (ProtobufCBinaryData){w->welcome_metadata_len, (uint8_t *)w->welcome_metadata};
        wm.version_case = XMTP__MLS__API__V1__WELCOME_MESSAGE__VERSION_V1;
        wm.v1 = &v1;
    }
    size_t n = protobuf_c_message_get_packed_size(&wm.base);
    uint8_t *p = xw_buf_extend(out, n);
    if (!p)
        return XW_ETOOBIG;
    protobuf_c_message_pack(&wm.base, p);
    return XW_OK;
}

static int store_failed(node_status *st, const xw_errbuf *eb)
{
    xw_log_error("node", "%s", eb->msg);
    return node_status_set(st, XW_GRPC_INTERNAL, "the node's store failed (%s); retry later", eb->msg);
}

/* --- the two kinds of rows --------------------------------------------------------------------- */

/* Group messages, filed by group id, and welcomes, filed by installation key, are published,
 * queried and subscribed to the same way; a row_kind says what differs. */

typedef int (*row_fn)(void *arg, const void *row); /* 0 to go on, non-zero to stop */

typedef struct {
    const char *key_name; /* the request field that names the key, for errors */
    int key_is_group_id;  /* the key is a group id (NODE_MAX_GROUP_ID applies) */
    size_t size;          /* sizeof one row */
    /* Stores the row in the open transaction and sets its id (0: a duplicate already stored). */
    int (*add)(node_store *store, void *row, xw_errbuf *eb);
    /* Packs a row (nothing when its id is 0) and says its id and the key it is filed under. */
    int (*pack)(const void *row, xw_buf *out, uint64_t *id, const uint8_t **key, size_t *key_len);
    /* Calls fn for the rows stored under key (node_store_group_msgs, node_store_welcomes). */
    int (*walk)(node_store *store, const uint8_t *key, size_t klen, int ascending, uint64_t cursor,
                uint32_t limit, row_fn fn, void *arg, xw_errbuf *eb);
    /* The query request and its key and paging. */
    const ProtobufCMessageDescriptor *query_request;
    ProtobufCBinaryData (*query_key)(const ProtobufCMessage *req, const PagingInfo **paging);
    /* The subscribe request, its number of filters and (when out is not NULL) its filters. */
    const ProtobufCMessageDescriptor *subscribe_request;
    size_t (*filters)(const ProtobufCMessage *req, node_sub_filter *out);
} row_kind;

/* Hands the store's typed rows to a row_fn. */
typedef struct {
    row_fn fn;
    void *arg;
} row_walk;

static int group_row_add(node_store *store, void *row, xw_errbuf *eb)
{
    return node_store_group_msg_add(store, row, eb);
}

static int group_row_pack(const void *row, xw_buf *out, uint64_t *id, const uint8_t **key, size_t *key_len)
{
    const node_group_msg *m = row;
    *id = m->id;
    *key = m->group_id;
    *key_len = m->group_id_len;
    return *id ? pack_group_msg(m, 1, out) : XW_OK;
}

static int group_row_each(void *arg, const node_group_msg *m)
{
    const row_walk *w = arg;
    return w->fn(w->arg, m);
}

static int group_row_walk(node_store *store, const uint8_t *key, size_t klen, int ascending, uint64_t cursor,
                          uint32_t limit, row_fn fn, void *arg, xw_errbuf *eb)
{
    row_walk w = {fn, arg};
    return node_store_group_msgs(store, key, klen, ascending, cursor, limit, group_row_each, &w, eb);
}

static ProtobufCBinaryData group_query_key(const ProtobufCMessage *req, const PagingInfo **paging)
{
    const Xmtp__Mls__Api__V1__QueryGroupMessagesRequest *r = (const void *)req;
    *paging = r->paging_info;
    return r->group_id;
}

static size_t group_filters(const ProtobufCMessage *req, node_sub_filter *out)
{
    const Xmtp__Mls__Api__V1__SubscribeGroupMessagesRequest *r = (const void *)req;
    for (size_t i = 0; out && i < r->n_filters; i++)
        out[i] = (node_sub_filter){r->filters[i]->group_id.data, r->filters[i]->group_id.len,
                                   r->filters[i]->id_cursor};
    return r->n_filters;
}

static int welcome_row_add(node_store *store, void *row, xw_errbuf *eb)
{
    return node_store_welcome_add(store, row, eb);
}

static int welcome_row_pack(const void *row, xw_buf *out, uint64_t *id, const uint8_t **key, size_t *key_len)
{
    const node_welcome *w = row;
    *id = w->id;
    *key = w->installation_key;
    *key_len = w->installation_key_len;
    return *id ? pack_welcome(w, out) : XW_OK;
}

static int welcome_row_each(void *arg, const node_welcome *r)
{
    const row_walk *w = arg;
    return w->fn(w->arg, r);
}

static int welcome_row_walk(node_store *store, const uint8_t *key, size_t klen, int ascending,
                            uint64_t cursor, uint32_t limit, row_fn fn, void *arg, xw_errbuf *eb)
{
    row_walk w = {fn, arg};
    return node_store_welcomes(store, key, klen, ascending, cursor, limit, welcome_row_each, &w, eb);
}

static ProtobufCBinaryData welcome_query_key(const ProtobufCMessage *req, const PagingInfo **paging)
{
    const Xmtp__Mls__Api__V1__QueryWelcomeMessagesRequest *r = (const void *)req;
    *paging = r->paging_info;
    return r->installation_key;
}

static size_t welcome_filters(const ProtobufCMessage *req, node_sub_filter *out)
{
    const Xmtp__Mls__Api__V1__SubscribeWelcomeMessagesRequest *r = (const void *)req;
    for (size_t i = 0; out && i < r->n_filters; i++)
        out[i] = (node_sub_filter){r->filters[i]->installation_key.data, r->filters[i]->installation_key.len,
                                   r->filters[i]->id_cursor};
    return r->n_filters;
}

static const row_kind group_rows = {
    .key_name = "group",
    .key_is_group_id = 1,
    .size = sizeof(node_group_msg),
    .add = group_row_add,
    .pack = group_row_pack,
    .walk = group_row_walk,
    .query_request = &xmtp__mls__api__v1__query_group_messages_request__descriptor,
    .query_key = group_query_key,
    .subscribe_request = &xmtp__mls__api__v1__subscribe_group_messages_request__descriptor,
    .filters = group_filters,
};

static const row_kind welcome_rows = {
    .key_name = "installation_key",
    .size = sizeof(node_welcome),
    .add = welcome_row_add,
    .pack = welcome_row_pack,
    .walk = welcome_row_walk,
    .query_request = &xmtp__mls__api__v1__query_welcome_messages_request__descriptor,
    .query_key = welcome_query_key,
    .subscribe_request = &xmtp__mls__api__v1__subscribe_welcome_messages_request__descriptor,
    .filters = welcome_filters,
};

/* --- paging ------------------------------------------------------------------------------------ */

typedef struct {
    int ascending;
    uint32_t limit;
    uint64_t cursor;
} paging;

static paging paging_of(const PagingInfo *pi)
{
    paging p = {0, MAX_PAGE, 0};
    if (pi) {
        p.ascending = pi->direction == XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_ASCENDING;
        if (pi->limit > 0 && pi->limit <= MAX_PAGE)
            p.limit = pi->limit;
        p.cursor = pi->id_cursor;
    }
    return p;
}

static int append_paging(xw_buf *out, const paging *p, uint32_t count, uint64_t last_id, uint32_t field)
{
    PagingInfo pi = XMTP__MLS__API__V1__PAGING_INFO__INIT;
    pi.direction = p->ascending ? XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_ASCENDING
                                : XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_DESCENDING;
    pi.limit = p->limit;
    pi.id_cursor = count >= p->limit ? last_id : 0;
    return xw_pb_append_message(out, field, &pi.base);
}

/* --- storing and publishing a batch ------------------------------------------------------------ */

/*
 * Stores n rows in one transaction (all or none), then hands each newly stored row to the
 * subscribers of its key. A duplicate (id 0) was stored and delivered before and is skipped.
 */
static int store_and_publish(node_ctx *ctx, node_subs *subs, const row_kind *kind, void *rows, size_t n,
                             node_status *st)
{
    xw_errbuf eb = {{0}};
    uint8_t *base = rows;
    if (node_store_begin(ctx->store, &eb) != XW_OK)
        return store_failed(st, &eb);
    for (size_t i = 0; i < n; i++) {
        if (kind->add(ctx->store, base + i * kind->size, &eb) != XW_OK) {
            node_store_rollback(ctx->store);
            return store_failed(st, &eb);
        }
    }
    if (node_store_commit(ctx->store, &eb) != XW_OK)
        return store_failed(st, &eb);
    xw_buf tmp;
    xw_buf_init(&tmp, ctx->max_msg + 1024);
    for (size_t i = 0; i < n; i++) {
        uint64_t id;
        const uint8_t *key;
        size_t key_len;
        xw_buf_reset(&tmp);
        if (kind->pack(base + i * kind->size, &tmp, &id, &key, &key_len) == XW_OK && id)
            node_subs_publish(subs, key, key_len, id, tmp.data, tmp.len);
    }
    xw_buf_free(&tmp);
    return XW_GRPC_OK;
}

/* --- SendGroupMessages ------------------------------------------------------------------------- */

static int send_group_messages(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    (void)resp;
    UNPACK(Xmtp__Mls__Api__V1__SendGroupMessagesRequest, xmtp__mls__api__v1__send_group_messages_request, r);
    int rc = XW_GRPC_OK;
    node_group_msg *rows = NULL;
    xw_errbuf eb = {{0}};
    if (r->n_messages == 0) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "no group messages to send");
        goto out;
    }
    if (r->n_messages > MAX_BATCH) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu group messages in one request; at most %d",
                             r->n_messages, MAX_BATCH);
        goto out;
    }
    rows = xw_calloc(r->n_messages, sizeof *rows);
    if (!rows) {
        rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_messages; i++) {
        const Xmtp__Mls__Api__V1__GroupMessageInput *in = r->messages[i];
        if (in->version_case != XMTP__MLS__API__V1__GROUP_MESSAGE_INPUT__VERSION_V1 || !in->v1) {
            rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "message %zu has no V1 body", i);
            goto out;
        }
        node_mls_info info;
        if (node_mls_peek(in->v1->data.data, in->v1->data.len, &info, &eb) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "invalid group message %zu: %s", i, eb.msg);
            goto out;
        }
        if ((rc = node_check_group_id(info.group_id_len, "group message", (long)i, st)) != NODE_GRPC_OK)
            goto out;
        rows[i].group_id = info.group_id;
        rows[i].group_id_len = info.group_id_len;
        rows[i].data = in->v1->data.data;
        rows[i].data_len = in->v1->data.len;
        rows[i].sender_hmac = in->v1->sender_hmac.data;
        rows[i].sender_hmac_len = in->v1->sender_hmac.len;
        rows[i].should_push = in->v1->should_push;
        rows[i].is_commit = info.content_type == NODE_MLS_COMMIT || info.content_type == NODE_MLS_PROPOSAL;
    }
    rc = store_and_publish(ctx, ctx->group_subs, &group_rows, rows, r->n_messages, st);
out:
    xw_free(rows);
    node_pb_free(&r->base);
    return rc;
}

/* --- SendWelcomeMessages ----------------------------------------------------------------------- */

static int send_welcome_messages(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    (void)resp;
    UNPACK(Xmtp__Mls__Api__V1__SendWelcomeMessagesRequest, xmtp__mls__api__v1__send_welcome_messages_request,
           r);
    int rc = XW_GRPC_OK;
    node_welcome *rows = NULL;
    if (r->n_messages == 0 || r->n_messages > MAX_BATCH) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu welcome messages; send 1 to %d",
                             r->n_messages, MAX_BATCH);
        goto out;
    }
    rows = xw_calloc(r->n_messages, sizeof *rows);
    if (!rows) {
        rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n_messages; i++) {
        const Xmtp__Mls__Api__V1__WelcomeMessageInput *in = r->messages[i];
        node_welcome *w = &rows[i];
        if (in->version_case == XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__VERSION_V1 && in->v1) {
            const Xmtp__Mls__Api__V1__WelcomeMessageInput__V1 *v = in->v1;
            int alg = (int)v->wrapper_algorithm;
            if (!v->installation_key.len || !v->data.len) {
                rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                                     "welcome %zu: installation_key and data are required", i);
                goto out;
            }
            if (alg < 0 || alg > 3) {
                rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                                     "welcome %zu: unknown wrapper algorithm %d (0-3 exist)", i, alg);
                goto out;
            }
            if (!v->hpke_public_key.len && alg != 3) {
                rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                                     "welcome %zu: hpke_public_key is required unless the wrapper is "
                                     "SYMMETRIC_KEY",
                                     i);
                goto out;
            }
            *w = (node_welcome){.installation_key = v->installation_key.data,
                                .installation_key_len = v->installation_key.len,
                                .data = v->data.data,
                                .data_len = v->data.len,
                                .hpke_public_key = v->hpke_public_key.data,
                                .hpke_public_key_len = v->hpke_public_key.len,
                                .wrapper_algorithm = alg,
                                .welcome_metadata = v->welcome_metadata.data,
                                .welcome_metadata_len = v->welcome_metadata.len};
        } else if (in->version_case == XMTP__MLS__API__V1__WELCOME_MESSAGE_INPUT__VERSION_WELCOME_POINTER &&
                   in->welcome_pointer) {
            const Xmtp__Mls__Api__V1__WelcomeMessageInput__WelcomePointer *v = in->welcome_pointer;
            if (!v->installation_key.len || !v->welcome_pointer.len || !v->hpke_public_key.len) {
                rc = node_status_set(
                    st, XW_GRPC_INVALID_ARGUMENT,
                    "welcome pointer %zu: installation_key, welcome_pointer and hpke_public_key "
                    "are required",
                    i);
                goto out;
            }
            if ((int)v->wrapper_algorithm != 2) {
                rc = node_status_set(
                    st, XW_GRPC_INVALID_ARGUMENT,
                    "welcome pointer %zu: wrapper algorithm %d is not valid for pointers; use "
                    "XWING_MLKEM_768_DRAFT_6 (2)",
                    i, (int)v->wrapper_algorithm);
                goto out;
            }
            *w = (node_welcome){.is_pointer = 1,
                                .installation_key = v->installation_key.data,
                                .installation_key_len = v->installation_key.len,
                                .data = v->welcome_pointer.data,
                                .data_len = v->welcome_pointer.len,
                                .hpke_public_key = v->hpke_public_key.data,
                                .hpke_public_key_len = v->hpke_public_key.len,
                                .wrapper_algorithm = 2};
        } else {
            rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                                 "welcome %zu has neither V1 nor WelcomePointer", i);
            goto out;
        }
    }
    rc = store_and_publish(ctx, ctx->welcome_subs, &welcome_rows, rows, r->n_messages, st);
out:
    xw_free(rows);
    node_pb_free(&r->base);
    return rc;
}

/* --- key packages ------------------------------------------------------------------------------ */

static int store_key_package(node_ctx *ctx, const Xmtp__Mls__Api__V1__KeyPackageUpload *kpu,
                             node_kp_info *info, node_status *st)
{
    xw_errbuf eb = {{0}};
    if (!kpu || !kpu->key_package_tls_serialized.len)
        return node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "key_package is required");
    if (node_kp_validate(kpu->key_package_tls_serialized.data, kpu->key_package_tls_serialized.len, info,
                         &eb) != XW_OK)
        return node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "invalid identity: %s", eb.msg);
    if (node_store_kp_put(ctx->store, info->signature_key, info->signature_key_len,
                          kpu->key_package_tls_serialized.data, kpu->key_package_tls_serialized.len,
                          info->inbox_id, &eb) != XW_OK)
        return store_failed(st, &eb);
    return XW_GRPC_OK;
}

static int upload_key_package(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    (void)resp;
    UNPACK(Xmtp__Mls__Api__V1__UploadKeyPackageRequest, xmtp__mls__api__v1__upload_key_package_request, r);
    node_kp_info info;
    int rc = store_key_package(vctx, r->key_package, &info, st);
    node_pb_free(&r->base);
    return rc;
}

static int register_installation(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    UNPACK(Xmtp__Mls__Api__V1__RegisterInstallationRequest, xmtp__mls__api__v1__register_installation_request,
           r);
    node_kp_info info;
    int rc = store_key_package(vctx, r->key_package, &info, st);
    if (rc == XW_GRPC_OK) {
        Xmtp__Mls__Api__V1__RegisterInstallationResponse out =
            XMTP__MLS__API__V1__REGISTER_INSTALLATION_RESPONSE__INIT;
        out.installation_key = (ProtobufCBinaryData){info.signature_key_len, (uint8_t *)info.signature_key};
        rc = node_pb_pack(&out.base, resp, st);
    }
    node_pb_free(&r->base);
    return rc;
}

typedef struct {
    xw_buf *out;
    int err;
} kp_ctx;

static void kp_row(void *c, const uint8_t *kp, size_t n)
{
    kp_ctx *x = c;
    Xmtp__Mls__Api__V1__FetchKeyPackagesResponse__KeyPackage k =
        XMTP__MLS__API__V1__FETCH_KEY_PACKAGES_RESPONSE__KEY_PACKAGE__INIT;
    k.key_package_tls_serialized = (ProtobufCBinaryData){n, (uint8_t *)kp};
    if (xw_pb_append_message(x->out, 1, &k.base) != XW_OK)
        x->err = 1;
}

static int fetch_key_packages(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    UNPACK(Xmtp__Mls__Api__V1__FetchKeyPackagesRequest, xmtp__mls__api__v1__fetch_key_packages_request, r);
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    kp_ctx x = {.out = resp};
    if (r->n_installation_keys > MAX_BATCH) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu installation keys; ask for at most %d",
                             r->n_installation_keys, MAX_BATCH);
        goto out;
    }
    for (size_t i = 0; i < r->n_installation_keys && !x.err; i++) {
        if (node_store_kp_get(ctx->store, r->installation_keys[i].data, r->installation_keys[i].len, kp_row,
                              &x, &eb) != XW_OK) {
            rc = store_failed(st, &eb);
            goto out;
        }
    }
    if (x.err)
        rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "the key packages do not fit in one response");
out:
    node_pb_free(&r->base);
    return rc;
}

/* --- queries ----------------------------------------------------------------------------------- */

typedef struct {
    const row_kind *kind;
    xw_buf *out;
    xw_buf tmp;
    uint32_t count;
    uint64_t last;
    int err;
} page_ctx;

static int page_row(void *c, const void *row)
{
    page_ctx *x = c;
    uint64_t id;
    const uint8_t *key;
    size_t key_len;
    xw_buf_reset(&x->tmp);
    if (x->kind->pack(row, &x->tmp, &id, &key, &key_len) != XW_OK ||
        xw_pb_append_bytes(x->out, 1, x->tmp.data, x->tmp.len)) {
        x->err = 1;
        return 1;
    }
    x->count++;
    x->last = id;
    return 0;
}

/* QueryGroupMessages and QueryWelcomeMessages: one page of rows under the request's key. */
static int query_rows(node_ctx *ctx, const row_kind *kind, const uint8_t *req, size_t len, xw_buf *resp,
                      node_status *st)
{
    ProtobufCMessage *r = node_pb_unpack(kind->query_request, req, len, st);
    if (!r)
        return st->code;
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    page_ctx x = {.kind = kind, .out = resp};
    xw_buf_init(&x.tmp, ctx->max_msg + 1024);
    const PagingInfo *pi;
    ProtobufCBinaryData key = kind->query_key(r, &pi);
    if (!key.len) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%s is required", kind->key_name);
        goto out;
    }
    if (kind->key_is_group_id && (rc = node_check_group_id(key.len, "query", -1, st)) != XW_GRPC_OK)
        goto out;
    paging p = paging_of(pi);
    if (kind->walk(ctx->store, key.data, key.len, p.ascending, p.cursor, p.limit, page_row, &x, &eb) !=
        XW_OK) {
        rc = store_failed(st, &eb);
        goto out;
    }
    if (x.err || append_paging(resp, &p, x.count, x.last, 2) != XW_OK)
        rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED,
                             "the page does not fit in one response; ask for a smaller limit");
out:
    xw_buf_free(&x.tmp);
    node_pb_free(r);
    return rc;
}

static int query_group_messages(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    return query_rows(vctx, &group_rows, req, len, resp, st);
}

static int query_welcome_messages(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    return query_rows(vctx, &welcome_rows, req, len, resp, st);
}

/* --- subscriptions ----------------------------------------------------------------------------- */

typedef struct {
    const row_kind *kind;
    node_subs_emit_fn emit;
    void *e;
    xw_buf tmp;
    int stop;
} sub_fetch_ctx;

static int sub_row(void *c, const void *row)
{
    sub_fetch_ctx *x = c;
    uint64_t id;
    const uint8_t *key;
    size_t key_len;
    xw_buf_reset(&x->tmp);
    if (x->kind->pack(row, &x->tmp, &id, &key, &key_len) != XW_OK)
        return x->stop = 1;
    return x->stop = x->emit(x->e, id, x->tmp.data, x->tmp.len);
}

/* The subscriptions' catch-up: the stored rows after cursor, oldest first. */
static int fetch_rows(node_ctx *ctx, const row_kind *kind, const uint8_t *key, size_t klen, uint64_t cursor,
                      uint32_t limit, node_subs_emit_fn emit, void *e)
{
    sub_fetch_ctx x = {.kind = kind, .emit = emit, .e = e};
    xw_buf_init(&x.tmp, ctx->max_msg + 1024);
    int rc = kind->walk(ctx->store, key, klen, 1, cursor, limit, sub_row, &x, NULL);
    xw_buf_free(&x.tmp);
    return rc;
}

static int fetch_groups(void *vctx, const uint8_t *key, size_t klen, uint64_t cursor, uint32_t limit,
                        node_subs_emit_fn emit, void *e)
{
    return fetch_rows(vctx, &group_rows, key, klen, cursor, limit, emit, e);
}

static int fetch_welcomes(void *vctx, const uint8_t *key, size_t klen, uint64_t cursor, uint32_t limit,
                          node_subs_emit_fn emit, void *e)
{
    return fetch_rows(vctx, &welcome_rows, key, klen, cursor, limit, emit, e);
}

/* SubscribeGroupMessages and SubscribeWelcomeMessages: a subscription on subs with the
 * request's filters. */
static int subscribe_rows(node_subs *subs, const row_kind *kind, node_call *call, const uint8_t *req,
                          size_t len, node_status *st)
{
    ProtobufCMessage *r = node_pb_unpack(kind->subscribe_request, req, len, st);
    if (!r)
        return st->code;
    size_t n = kind->filters(r, NULL);
    node_sub_filter *f = n ? xw_calloc(n, sizeof *f) : NULL;
    int rc;
    if (n && !f) {
        rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "out of memory");
    } else {
        kind->filters(r, f);
        rc = node_subs_open(subs, call, f, n, st);
    }
    xw_free(f);
    node_pb_free(r);
    return rc;
}

static int subscribe_group_messages(void *vctx, node_call *call, const uint8_t *req, size_t len,
                                    node_status *st)
{
    return subscribe_rows(((node_ctx *)vctx)->group_subs, &group_rows, call, req, len, st);
}

static int subscribe_welcome_messages(void *vctx, node_call *call, const uint8_t *req, size_t len,
                                      node_status *st)
{
    return subscribe_rows(((node_ctx *)vctx)->welcome_subs, &welcome_rows, call, req, len, st);
}

/* --- commit log -------------------------------------------------------------------------------- */

static int batch_publish_commit_log(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    (void)resp;
    UNPACK(Xmtp__Mls__Api__V1__BatchPublishCommitLogRequest,
           xmtp__mls__api__v1__batch_publish_commit_log_request, r);
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    xw_buf sigs;
    xw_buf_init(&sigs, ctx->max_msg);
    size_t offs[MAX_COMMIT_LOG_PUBLISH + 1] = {0};
    if (r->n_requests == 0 || r->n_requests > MAX_COMMIT_LOG_PUBLISH) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu commit log entries; send 1 to %d per batch",
                             r->n_requests, MAX_COMMIT_LOG_PUBLISH);
        goto out;
    }
    for (size_t i = 0; i < r->n_requests; i++) {
        const Xmtp__Mls__Api__V1__PublishCommitLogRequest *e = r->requests[i];
        if (!e->group_id.len || !e->serialized_commit_log_entry.len || !e->signature) {
            rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                                 "invalid commit log entry %zu: group_id, serialized_commit_log_entry and "
                                 "signature are required",
                                 i);
            goto out;
        }
        if ((rc = node_check_group_id(e->group_id.len, "commit log entry", (long)i, st)) != XW_GRPC_OK)
            goto out;
        if (node_pb_pack(&e->signature->base, &sigs, st) != XW_GRPC_OK) {
            rc = st->code;
            goto out;
        }
        offs[i + 1] = sigs.len;
    }
    if (node_store_begin(ctx->store, &eb) != XW_OK) {
        rc = store_failed(st, &eb);
        goto out;
    }
    for (size_t i = 0; i < r->n_requests; i++) {
        const Xmtp__Mls__Api__V1__PublishCommitLogRequest *e = r->requests[i];
        node_commit_entry ce = {.group_id = e->group_id.data,
                                .group_id_len = e->group_id.len,
                                .entry = e->serialized_commit_log_entry.data,
                                .entry_len = e->serialized_commit_log_entry.len,
                                .sig = sigs.data ? sigs.data + offs[i] : NULL,
                                .sig_len = offs[i + 1] - offs[i]};
        if (node_store_commit_add(ctx->store, &ce, &eb) != XW_OK) {
            node_store_rollback(ctx->store);
            rc = store_failed(st, &eb);
            goto out;
        }
    }
    if (node_store_commit(ctx->store, &eb) != XW_OK)
        rc = store_failed(st, &eb);
out:
    xw_buf_free(&sigs);
    node_pb_free(&r->base);
    return rc;
}

typedef struct {
    xw_buf *out;
    uint32_t count;
    uint64_t last;
    int err;
} commit_ctx;

static int commit_row(void *c, const node_commit_entry *e)
{
    commit_ctx *x = c;
    Xmtp__Mls__MessageContents__CommitLogEntry ce = XMTP__MLS__MESSAGE_CONTENTS__COMMIT_LOG_ENTRY__INIT;
    ce.sequence_id = e->id;
    ce.serialized_commit_log_entry = (ProtobufCBinaryData){e->entry_len, (uint8_t *)e->entry};
    Xmtp__Identity__Associations__RecoverableEd25519Signature *sig = NULL;
    if (e->sig_len)
        xw_pb_decode_as(&xmtp__identity__associations__recoverable_ed25519_signature__descriptor, e->sig,
                        e->sig_len, e->sig_len, &sig, NULL);
    ce.signature = sig;
    if (xw_pb_append_message(x->out, 2, &ce.base) != XW_OK)
        x->err = 1;
    xw_pb_free(sig ? &sig->base : NULL);
    x->count++;
    x->last = e->id;
    return x->err;
}

static int batch_query_commit_log(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    UNPACK(Xmtp__Mls__Api__V1__BatchQueryCommitLogRequest, xmtp__mls__api__v1__batch_query_commit_log_request,
           r);
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    xw_buf one;
    xw_buf_init(&one, ctx->max_msg);
    if (r->n_requests == 0 || r->n_requests > MAX_COMMIT_LOG_QUERIES) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu commit log queries; send 1 to %d per batch",
                             r->n_requests, MAX_COMMIT_LOG_QUERIES);
        goto out;
    }
    for (size_t i = 0; i < r->n_requests; i++) {
        const Xmtp__Mls__Api__V1__QueryCommitLogRequest *q = r->requests[i];
        if (!q->group_id.len) {
            rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "commit log query %zu: group is required", i);
            goto out;
        }
        if ((rc = node_check_group_id(q->group_id.len, "commit log query", (long)i, st)) != NODE_GRPC_OK)
            goto out;
        if (q->paging_info &&
            q->paging_info->direction == XMTP__MLS__API__V1__SORT_DIRECTION__SORT_DIRECTION_DESCENDING) {
            rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT,
                                 "commit log query %zu: descending direction is not supported", i);
            goto out;
        }
    }
    for (size_t i = 0; i < r->n_requests; i++) {
        const Xmtp__Mls__Api__V1__QueryCommitLogRequest *q = r->requests[i];
        paging p = paging_of(q->paging_info);
        p.ascending = 1;
        xw_buf_reset(&one);
        commit_ctx x = {.out = &one};
        if (xw_pb_append_bytes(&one, 1, q->group_id.data, q->group_id.len) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED, "response too large");
            goto out;
        }
        if (node_store_commits(ctx->store, q->group_id.data, q->group_id.len, 1, p.cursor, p.limit,
                               commit_row, &x, &eb) != XW_OK) {
            rc = store_failed(st, &eb);
            goto out;
        }
        if (x.err || append_paging(&one, &p, x.count, x.last, 3) != XW_OK ||
            xw_pb_append_bytes(resp, 1, one.data, one.len) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED,
                                 "the commit log pages do not fit in one response; ask for fewer");
            goto out;
        }
    }
out:
    xw_buf_free(&one);
    node_pb_free(&r->base);
    return rc;
}

/* --- GetNewestGroupMessage --------------------------------------------------------------------- */

typedef struct {
    xw_buf *tmp;
    int include_content;
    int found;
} newest_ctx;

static int newest_row(void *c, const node_group_msg *m)
{
    newest_ctx *x = c;
    x->found = pack_group_msg(m, x->include_content, x->tmp) == XW_OK;
    return 1;
}

static int get_newest_group_message(void *vctx, const uint8_t *req, size_t len, xw_buf *resp, node_status *st)
{
    node_ctx *ctx = vctx;
    UNPACK(Xmtp__Mls__Api__V1__GetNewestGroupMessageRequest,
           xmtp__mls__api__v1__get_newest_group_message_request, r);
    int rc = XW_GRPC_OK;
    xw_errbuf eb = {{0}};
    xw_buf tmp, one;
    xw_buf_init(&tmp, ctx->max_msg + 1024);
    xw_buf_init(&one, ctx->max_msg + 1024);
    if (r->n_group_ids == 0 || r->n_group_ids > MAX_NEWEST_IDS) {
        rc = node_status_set(st, XW_GRPC_INVALID_ARGUMENT, "%zu group ids; ask for 1 to %d per request",
                             r->n_group_ids, MAX_NEWEST_IDS);
        goto out;
    }
    for (size_t i = 0; i < r->n_group_ids; i++)
        if ((rc = node_check_group_id(r->group_ids[i].len, "group_ids", (long)i, st)) != NODE_GRPC_OK)
            goto out;
    for (size_t i = 0; i < r->n_group_ids; i++) {
        xw_buf_reset(&tmp);
        xw_buf_reset(&one);
        newest_ctx x = {.tmp = &tmp, .include_content = r->include_content};
        if (r->group_ids[i].len &&
            node_store_group_msgs(ctx->store, r->group_ids[i].data, r->group_ids[i].len, 0, 0, 1, newest_row,
                                  &x, &eb) != XW_OK) {
            rc = store_failed(st, &eb);
            goto out;
        }
        /* Response { optional GroupMessage group_message = 1 } */
        if ((x.found && xw_pb_append_bytes(&one, 1, tmp.data, tmp.len) != XW_OK) ||
            xw_pb_append_bytes(resp, 1, one.data ? one.data : (const uint8_t *)"", one.len) != XW_OK) {
            rc = node_status_set(st, XW_GRPC_RESOURCE_EXHAUSTED,
                                 "the newest messages do not fit in one response; ask for fewer groups or "
                                 "without content");
            goto out;
        }
    }
out:
    xw_buf_free(&tmp);
    xw_buf_free(&one);
    node_pb_free(&r->base);
    return rc;
}

/* --- table ------------------------------------------------------------------------------------- */

size_t node_rpc_mls_methods(node_ctx *ctx, node_method *out, size_t cap)
{
    const node_method m[] = {
        {M("SendGroupMessages"), send_group_messages, NULL, ctx},
        {M("SendWelcomeMessages"), send_welcome_messages, NULL, ctx},
        {M("RegisterInstallation"), register_installation, NULL, ctx},
        {M("UploadKeyPackage"), upload_key_package, NULL, ctx},
        {M("FetchKeyPackages"), fetch_key_packages, NULL, ctx},
        {M("QueryGroupMessages"), query_group_messages, NULL, ctx},
        {M("QueryWelcomeMessages"), query_welcome_messages, NULL, ctx},
        {M("SubscribeGroupMessages"), NULL, subscribe_group_messages, ctx},
        {M("SubscribeWelcomeMessages"), NULL, subscribe_welcome_messages, ctx},
        {M("BatchPublishCommitLog"), batch_publish_commit_log, NULL, ctx},
        {M("BatchQueryCommitLog"), batch_query_commit_log, NULL, ctx},
        {M("GetNewestGroupMessage"), get_newest_group_message, NULL, ctx},
    };
    size_t n = sizeof m / sizeof m[0];
    if (n > cap)
        n = cap;
    memcpy(out, m, n * sizeof m[0]);
    return n;
}

int node_ctx_init(node_ctx *ctx, xw_errbuf *eb)
{
    ctx->group_subs = node_subs_new("group", fetch_groups, ctx);
    ctx->welcome_subs = node_subs_new("welcome", fetch_welcomes, ctx);
    if (!ctx->group_subs || !ctx->welcome_subs) {
        node_ctx_fini(ctx);
        return xw_errf(eb, XW_ENOMEM, "out of memory");
    }
    return XW_OK;
}

void node_ctx_fini(node_ctx *ctx)
{
    node_subs_free(ctx->group_subs);
    node_subs_free(ctx->welcome_subs);
    ctx->group_subs = ctx->welcome_subs = NULL;
}
