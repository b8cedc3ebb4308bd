/*
 * MLS framing (RFC 9420 §6): FramedContent, FramedContentAuthData, AuthenticatedContent,
 * PublicMessage with its membership tag, PrivateMessage with sender-data and content
 * encryption (reuse guard, padding), and the MLSMessage wrapper.
 *
 * Decoded structures hold spans into the decoded bytes (zero-copy); the bytes' owner keeps
 * them alive. A Proposal or Commit inside a FramedContent stays an encoded span, checked
 * for well-formedness by mls/wire.h: the group code interprets it.
 *
 * Protection works against one epoch's keys, bundled in mls_framing_ctx (borrowed, not
 * owned). Unprotecting is all-or-nothing: a message that fails any check (group, epoch,
 * decryption, padding, membership tag, signature) changes nothing, and a ratchet key is
 * consumed only after the signature verified. The signer's public key comes from the
 * caller's sender_key callback, which knows the ratchet tree.
 */
#ifndef XW_MLS_FRAMING_H
#define XW_MLS_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/crypto.h"
#include "mls/secret_tree.h"
#include "mls/tls.h"

#define MLS_WIRE_FORMAT_PUBLIC_MESSAGE 1
#define MLS_WIRE_FORMAT_PRIVATE_MESSAGE 2
#define MLS_WIRE_FORMAT_WELCOME 3
#define MLS_WIRE_FORMAT_GROUP_INFO 4
#define MLS_WIRE_FORMAT_KEY_PACKAGE 5

#define MLS_CONTENT_APPLICATION 1
#define MLS_CONTENT_PROPOSAL 2
#define MLS_CONTENT_COMMIT 3

#define MLS_SENDER_MEMBER 1
#define MLS_SENDER_EXTERNAL 2
#define MLS_SENDER_NEW_MEMBER_PROPOSAL 3
#define MLS_SENDER_NEW_MEMBER_COMMIT 4

/* Largest message mls_unprotect accepts. */
#define MLS_MESSAGE_MAX ((size_t)1 << 26)

typedef struct {
    uint8_t type;
    uint32_t index; /* leaf index (member) or external sender index */
} mls_sender;

typedef struct {
    mls_span group_id;
    uint64_t epoch;
    mls_sender sender;
    mls_span authenticated_data;
    uint8_t content_type;
    /* application: the application_data bytes; proposal or commit: the encoded Proposal/Commit */
    mls_span content;
} mls_framed_content;

typedef struct {
    mls_span signature;
    mls_span confirmation_tag; /* commits only */
} mls_auth_data;

typedef struct {
    uint16_t wire_format;
    mls_framed_content content;
    mls_auth_data auth;
} mls_authenticated_content;

typedef struct {
    mls_framed_content content;
    mls_auth_data auth;
    mls_span membership_tag; /* member senders only */
} mls_public_message;

typedef struct {
    mls_span group_id;
    uint64_t epoch;
    uint8_t content_type;
    mls_span authenticated_data;
    mls_span encrypted_sender_data;
    mls_span ciphertext;
} mls_private_message;

typedef struct {
    uint16_t version;
    uint16_t wire_format;
    mls_public_message pub;   /* wire format 1 */
    mls_private_message priv; /* wire format 2 */
    mls_span body; /* 3, 4, 5: the encoded Welcome, GroupInfo or KeyPackage (checked well formed) */
} mls_message;

/* --- codec --- */
void mls_framed_content_write(mls_writer *w, const mls_framed_content *fc);
int mls_framed_content_read(mls_reader *r, mls_framed_content *fc);
/* The content part of a FramedContent or PrivateMessageContent, by content type:
 * application_data<V> (returned without its length), or a Proposal or Commit (returned encoded). */
mls_span mls_framed_content_body_read(mls_reader *r, uint8_t content_type);
void mls_auth_data_write(mls_writer *w, const mls_auth_data *a, uint8_t content_type);
int mls_auth_data_read(mls_reader *r, uint8_t content_type, mls_auth_data *a);
void mls_authenticated_content_write(mls_writer *w, const mls_authenticated_content *ac);
int mls_authenticated_content_read(mls_reader *r, mls_authenticated_content *ac);
/* ConfirmedTranscriptHashInput {wire_format; FramedContent content; opaque signature<V>} */
void mls_confirmed_transcript_input_write(mls_writer *w, const mls_authenticated_content *ac);
/* Decodes a whole MLSMessage (no trailing bytes). */
int mls_message_decode(const uint8_t *p, size_t n, mls_message *m, xw_errbuf *eb);
/* Appends its encoding to out. */
int mls_message_encode(const mls_message *m, xw_buf *out, xw_errbuf *eb);

/* --- signatures and tags (§6.1, §6.2) --- */
/* FramedContentTBS; group_context is the encoded GroupContext (used for member and
 * new_member_commit senders). */
void mls_framed_content_tbs_write(mls_writer *w, uint16_t wire_format, const mls_framed_content *fc,
                                  mls_span group_context);
int mls_framed_content_sign(const mls_suite *s, uint16_t wire_format, const mls_framed_content *fc,
                            mls_span group_context, const mls_sig_priv *k, uint8_t *sig, xw_errbuf *eb);
int mls_framed_content_verify(const mls_suite *s, const mls_authenticated_content *ac, mls_span group_context,
                              mls_span sig_pub, xw_errbuf *eb);
/* membership_tag = MAC(membership_key, AuthenticatedContentTBM); out gets Nh bytes. */
int mls_membership_tag(const mls_suite *s, const uint8_t *membership_key, const mls_authenticated_content *ac,
                       mls_span group_context, uint8_t *out);

/* --- protection --- */
/* Looks up the signature public key of a sender. Writes a span that stays valid until the
 * unprotect call returns; returns XW_OK or an error (with a sentence) to reject the sender. */
typedef int (*mls_sender_key_fn)(void *arg, const mls_sender *sender, mls_span *sig_pub, xw_errbuf *eb);

typedef struct {
    const mls_suite *suite;
    mls_span group_context; /* encoded GroupContext of the epoch */
    mls_span group_id;      /* filled by mls_framing_ctx_init from group_context */
    uint64_t epoch;
    const uint8_t *membership_key;     /* Nh bytes */
    const uint8_t *sender_data_secret; /* Nh bytes */
    mls_secret_tree *secret_tree;
    mls_sender_key_fn sender_key;
    void *sender_key_arg;
    /* 0 (default): mls_unprotect consumes a PrivateMessage's ratchet generation once the
     * message verified. 1: it leaves the secret tree untouched, and the caller consumes the
     * generation with mls_unprotected_consume() once it accepted the content too. */
    int defer_consume;
} mls_framing_ctx;

/* Fills ctx, decoding group_id and epoch out of the encoded group context (borrowed). */
int mls_framing_ctx_init(mls_framing_ctx *ctx, const mls_suite *s, const uint8_t *group_context,
                         size_t gc_len, const uint8_t *membership_key, const uint8_t *sender_data_secret,
                         mls_secret_tree *st, mls_sender_key_fn sender_key, void *arg, xw_errbuf *eb);

/* Signs content and wraps it as an MLSMessage(PublicMessage), appended to out. Application
 * content is refused (RFC 9420 §6.2). confirmation_tag (Nh bytes) is required for commits. */
int mls_protect_public(const mls_framing_ctx *ctx, const mls_framed_content *content, const mls_sig_priv *k,
                       const uint8_t *confirmation_tag, xw_buf *out, xw_errbuf *eb);
/* Signs, pads with zeros to a multiple of pad_to (0: no padding), encrypts with the sender's
 * next ratchet key and wraps it as an MLSMessage(PrivateMessage), appended to out. The sender
 * must be a member. */
int mls_protect_private(const mls_framing_ctx *ctx, const mls_framed_content *content, const mls_sig_priv *k,
                        const uint8_t *confirmation_tag, size_t pad_to, xw_buf *out, xw_errbuf *eb);

typedef struct {
    xw_buf buf;                   /* owns the bytes every span below points into */
    mls_authenticated_content ac; /* wire_format tells which protection it had */
    mls_span membership_tag;      /* PublicMessage from a member */
    uint32_t generation;          /* PrivateMessage: the ratchet generation used */
} mls_unprotected;

void mls_unprotected_init(mls_unprotected *u);
void mls_unprotected_free(mls_unprotected *u);
/* Verifies and opens an MLSMessage holding a PublicMessage or PrivateMessage of ctx's group
 * and epoch. On failure u is left empty and nothing in ctx changed. */
int mls_unprotect(const mls_framing_ctx *ctx, const uint8_t *msg, size_t n, mls_unprotected *u,
                  xw_errbuf *eb);
/* With ctx->defer_consume: consumes the ratchet generation of the PrivateMessage u was opened
 * from (nothing for a PublicMessage). ctx's secret tree must be the one it was opened with and
 * unchanged since; then this fails only when memory runs out, changing nothing. */
int mls_unprotected_consume(const mls_framing_ctx *ctx, const mls_unprotected *u, xw_errbuf *eb);

#endif
