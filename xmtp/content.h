/*
 * XMTP content types (docs/protocol.md §2.5, §2.7): EncodedContent, and codecs for the
 * standard types, producing the same EncodedContent libxmtp's codecs produce (type id,
 * parameters, fallback text, body) and decoding what they produce.
 *
 * Two layers:
 *   xmtp_ec_*        EncodedContent <-> protobuf bytes (type, parameters, fallback, body).
 *   xmtp_content_*   EncodedContent <-> a typed xmtp_content. An unknown or unsupported
 *                    type is never an error: it decodes to XMTP_CT_UNKNOWN with its
 *                    fallback text (and the raw EncodedContent) kept. A known type whose
 *                    body is malformed is XW_EXMTP_CONTENT, with the reason.
 *
 * Memory: decoded objects own all their strings and bytes (one arena each) and are freed
 * with their _free function. For encoding, callers fill an xmtp_content with borrowed
 * pointers; nothing is taken over. Not thread-safe per object.
 */
#ifndef XMTP_CONTENT_H
#define XMTP_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"

#define XMTP_CONTENT_MAX_BYTES (32u << 20) /* largest EncodedContent decoded */
#define XMTP_CONTENT_MAX_PARAMS 64
#define XMTP_CONTENT_MAX_ITEMS 1024 /* list items (attachments, calls, inboxes) per content */

typedef struct {
    const char *authority_id;
    const char *type_id;
    uint32_t major, minor;
} xmtp_content_type_id;

typedef struct {
    const char *key;
    const char *value;
} xmtp_kv;

typedef struct {
    const uint8_t *data;
    size_t len;
} xmtp_bytes;

typedef struct {
    int has_type;
    xmtp_content_type_id type;
    size_t n_params;
    const xmtp_kv *params;
    const char *fallback; /* NULL when absent */
    int has_compression;
    int compression; /* 0 deflate, 1 gzip: carried, never applied (like libxmtp) */
    xmtp_bytes content;
    xw_arena *arena_; /* owner of everything above when decoded; NULL when caller-built */
} xmtp_encoded_content;

int xmtp_ec_decode(const uint8_t *data, size_t len, xmtp_encoded_content **out, xw_errbuf *eb);
int xmtp_ec_encode(const xmtp_encoded_content *ec, xw_buf *out, xw_errbuf *eb);
void xmtp_ec_free(xmtp_encoded_content *ec);
/* The parameter's value, or NULL. */
const char *xmtp_ec_param(const xmtp_encoded_content *ec, const char *key);
/* "authority/type:major.minor" into out (size >= 256); XW_ETOOBIG if it does not fit. */
int xmtp_content_type_format(const xmtp_content_type_id *t, char *out, size_t size);

typedef enum {
    XMTP_CT_UNKNOWN = 0,
    XMTP_CT_TEXT,
    XMTP_CT_MARKDOWN,
    XMTP_CT_REPLY,
    XMTP_CT_REACTION, /* 1.0 (JSON) and 2.0 (protobuf) */
    XMTP_CT_READ_RECEIPT,
    XMTP_CT_ATTACHMENT,
    XMTP_CT_REMOTE_ATTACHMENT,
    XMTP_CT_MULTI_REMOTE_ATTACHMENT,
    XMTP_CT_TRANSACTION_REFERENCE,
    XMTP_CT_WALLET_SEND_CALLS,
    XMTP_CT_GROUP_UPDATED,
    XMTP_CT_LEAVE_REQUEST,
    XMTP_CT_DELETE_MESSAGE,
    XMTP_CT_ACTIONS, /* coinbase.com/actions:1.0 */
    XMTP_CT_INTENT,  /* coinbase.com/intent:1.0 */
    XMTP_CT__COUNT
} xmtp_content_kind;

/* Reaction action/schema numbers are ReactionV2's (0 = unknown). */
enum { XMTP_REACTION_UNKNOWN = 0, XMTP_REACTION_ADDED = 1, XMTP_REACTION_REMOVED = 2 };
enum { XMTP_SCHEMA_UNKNOWN = 0, XMTP_SCHEMA_UNICODE = 1, XMTP_SCHEMA_SHORTCODE = 2, XMTP_SCHEMA_CUSTOM = 3 };

typedef struct {
    int legacy_json; /* 1: reaction:1.0 (JSON), 0: reaction:2.0 (protobuf) */
    const char *reference;
    const char *reference_inbox_id; /* "" or NULL when absent */
    int action;
    const char *content;
    int schema;
} xmtp_reaction;

typedef struct {
    const char *reference;
    const char *reference_inbox_id;    /* NULL when absent */
    const xmtp_encoded_content *inner; /* the reply's own content */
    const char *inner_type;            /* the contentType parameter, NULL when absent */
} xmtp_reply;

typedef struct {
    const char *filename; /* NULL when absent */
    const char *mime_type;
    xmtp_bytes data;
} xmtp_attachment;

typedef struct {
    const char *url;
    const char *content_digest;
    xmtp_bytes secret, salt, nonce;
    const char *scheme;
    int has_content_length;
    uint32_t content_length;
    const char *filename; /* NULL when absent */
} xmtp_remote_attachment;

typedef struct {
    size_t n;
    const xmtp_remote_attachment *items;
} xmtp_multi_remote_attachment;

typedef struct {
    const char *namespace_; /* NULL when absent */
    const char *network_id;
    const char *reference;
    int has_metadata;
    struct {
        const char *transaction_type, *currency;
        double amount;
        uint32_t decimals;
        const char *from_address, *to_address;
    } metadata;
} xmtp_transaction_reference;

typedef struct {
    const char *to, *data, *value, *gas; /* NULL when absent */
    size_t n_metadata;
    const xmtp_kv *metadata;
} xmtp_wallet_call;

typedef struct {
    const char *version, *chain_id, *from;
    size_t n_calls;
    const xmtp_wallet_call *calls;
    size_t n_capabilities;
    const xmtp_kv *capabilities;
} xmtp_wallet_send_calls;

typedef struct {
    size_t n;
    const char *const *ids;
} xmtp_inbox_list;

typedef struct {
    const char *field_name;
    const char *old_value, *new_value; /* NULL when absent */
} xmtp_metadata_change;

typedef struct {
    const char *initiated_by_inbox_id;
    xmtp_inbox_list added, removed, left, added_admins, removed_admins, added_super_admins,
        removed_super_admins;
    size_t n_metadata_changes;
    const xmtp_metadata_change *metadata_changes;
} xmtp_group_updated;

typedef struct {
    int has_note;
    xmtp_bytes note;
} xmtp_leave_request;

typedef struct {
    const char *message_id; /* hex of the deleted message's id */
} xmtp_delete_message;

typedef struct {
    const char *id, *label, *image_url; /* image_url NULL when absent */
    const char *style;                  /* "primary", "secondary", "danger" or NULL */
    const char *expires_at;             /* RFC 3339 text or NULL */
} xmtp_action_item;

typedef struct {
    const char *id, *description;
    size_t n_actions;
    const xmtp_action_item *actions;
    const char *expires_at;
} xmtp_actions;

typedef struct {
    const char *id, *action_id;
    const char *metadata_json; /* the metadata object as compact JSON, or NULL */
} xmtp_intent;

typedef struct {
    xmtp_content_kind kind;
    const char *fallback; /* decoded: the EncodedContent's fallback (NULL when absent) */
    union {
        const char *text; /* text and markdown */
        xmtp_reply reply;
        xmtp_reaction reaction;
        xmtp_attachment attachment;
        xmtp_remote_attachment remote_attachment;
        xmtp_multi_remote_attachment multi_remote_attachment;
        xmtp_transaction_reference transaction_reference;
        xmtp_wallet_send_calls wallet_send_calls;
        xmtp_group_updated group_updated;
        xmtp_leave_request leave_request;
        xmtp_delete_message delete_message;
        xmtp_actions actions;
        xmtp_intent intent;
    } u;
    const xmtp_encoded_content *raw; /* decoded only: what it was decoded from */
    xw_arena *arena_;
} xmtp_content;

/* Decodes ec (not taken over; the result copies what it needs). */
int xmtp_content_decode(const xmtp_encoded_content *ec, xmtp_content **out, xw_errbuf *eb);
/* Decodes EncodedContent bytes straight to typed content. */
int xmtp_content_decode_bytes(const uint8_t *data, size_t len, xmtp_content **out, xw_errbuf *eb);
void xmtp_content_free(xmtp_content *c);
/* Encodes as libxmtp's codec would (type, parameters, fallback, body) into EncodedContent
 * protobuf bytes appended to out. XW_EINVAL with the reason for missing required fields. */
int xmtp_content_encode(const xmtp_content *c, xw_buf *out, xw_errbuf *eb);

const char *xmtp_content_kind_name(xmtp_content_kind k);
/* The §2.7 table: should a message of this kind trigger a push notification, and may it be
 * deleted with a deleteMessage. Unknown types: push 1, deletable 0. */
int xmtp_content_should_push(xmtp_content_kind k);
int xmtp_content_deletable(xmtp_content_kind k);

#endif
