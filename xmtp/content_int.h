/*
 * Internal contract between the content files: content.c dispatches on the type id to the
 * per-kind decoders and encoders of content_codecs.c (parameter-based types),
 * content_pb.c (protobuf bodies) and content_json.c (JSON bodies).
 *
 * A decoder fills c->u from ec, allocating in c->arena_; an encoder fills ec (type,
 * parameters, fallback, body) from c, allocating in the arena `a`.
 */
#ifndef XMTP_CONTENT_INT_H
#define XMTP_CONTENT_INT_H

#include "common/arena.h"
#include "xmtp/content.h"

/* Block size of a content's arena: a decoded content holds a few small strings and arrays
 * (a large body gets a block of its own), and many may be held at once. */
#define XMTP_CT_ARENA_BLOCK 1024u

typedef int (*xmtp_ct_dec_fn)(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb);
typedef int (*xmtp_ct_enc_fn)(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb);

/* content.c helpers */
int xmtp_ct_set_type(xmtp_encoded_content *ec, const char *authority, const char *type, uint32_t major);
int xmtp_ct_add_param(xmtp_encoded_content *ec, xw_arena *a, const char *key, const char *value);
/* Deep copy of an EncodedContent into arena a. XW_ENOMEM only. */
int xmtp_ct_copy_ec(const xmtp_encoded_content *src, xw_arena *a, const xmtp_encoded_content **out);

/* Reaction 1.0 (JSON, content_json.c) and the fallback text both reaction versions share
 * (content_pb.c). */
int xmtp_ct_dec_reaction_json(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb);
int xmtp_ct_enc_reaction_json(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb);
const char *xmtp_ct_reaction_fallback_(xw_arena *a, int removed, const char *content);

#define XMTP_CT_DECL(name)                                                                                   \
    int xmtp_ct_dec_##name(xmtp_content *c, const xmtp_encoded_content *ec, xw_errbuf *eb);                  \
    int xmtp_ct_enc_##name(const xmtp_content *c, xmtp_encoded_content *ec, xw_arena *a, xw_errbuf *eb);

XMTP_CT_DECL(text)
XMTP_CT_DECL(markdown)
XMTP_CT_DECL(reply)
XMTP_CT_DECL(read_receipt)
XMTP_CT_DECL(attachment)
XMTP_CT_DECL(remote_attachment)
XMTP_CT_DECL(reaction)
XMTP_CT_DECL(multi_remote_attachment)
XMTP_CT_DECL(group_updated)
XMTP_CT_DECL(leave_request)
XMTP_CT_DECL(delete_message)
XMTP_CT_DECL(transaction_reference)
XMTP_CT_DECL(wallet_send_calls)
XMTP_CT_DECL(actions)
XMTP_CT_DECL(intent)

#endif
