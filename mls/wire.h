/*
 * Structural codec for the MLS wire structures (RFC 9420 §6-§12): Proposal, Commit,
 * KeyPackage, LeafNode, UpdatePath, Welcome, GroupInfo, GroupSecrets, the ratchet_tree
 * extension and the MLSMessage wrapper.
 *
 * It checks that bytes form a syntactically valid value of a type (every length in bounds,
 * every varint minimal, every enum tag known where the tag decides what follows) and finds
 * where the value ends, without interpreting it: framing uses it to delimit the Proposal or
 * Commit inside a FramedContent, and semantic decoders (ratchet tree, commits, welcomes) get
 * bytes that are known to be well formed.
 *
 * Optionally it records the value as a flat list of tokens (integers, opaque byte strings,
 * vector open/close), from which mls_wire_encode() writes the canonical encoding again,
 * recomputing every length prefix. decode + encode is byte-identical for any valid input,
 * which is what the messages.json vectors check. The token list is bounded by the input:
 * every token but a vector close consumes at least one byte.
 */
#ifndef XW_MLS_WIRE_H
#define XW_MLS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "mls/tls.h"

typedef enum {
    MLS_WIRE_MLS_MESSAGE = 0,
    MLS_WIRE_PUBLIC_MESSAGE,
    MLS_WIRE_PRIVATE_MESSAGE,
    MLS_WIRE_WELCOME,
    MLS_WIRE_GROUP_INFO,
    MLS_WIRE_KEY_PACKAGE,
    MLS_WIRE_LEAF_NODE,
    MLS_WIRE_PROPOSAL,
    MLS_WIRE_COMMIT,
    MLS_WIRE_UPDATE_PATH,
    MLS_WIRE_GROUP_SECRETS,
    MLS_WIRE_GROUP_CONTEXT,
    MLS_WIRE_RATCHET_TREE, /* optional<Node> ratchet_tree<V> */
    MLS_WIRE_FRAMED_CONTENT,
    MLS_WIRE_AUTHENTICATED_CONTENT,
    /* the bodies of proposals, as messages.json holds them */
    MLS_WIRE_ADD,
    MLS_WIRE_UPDATE,
    MLS_WIRE_REMOVE,
    MLS_WIRE_PRE_SHARED_KEY,
    MLS_WIRE_REINIT,
    MLS_WIRE_EXTERNAL_INIT,
    MLS_WIRE_GROUP_CONTEXT_EXTENSIONS,
    MLS_WIRE__COUNT
} mls_wire_type;

/* Name of a type, e.g. "Commit". */
const char *mls_wire_type_name(mls_wire_type t);

typedef enum {
    MLS_TOK_U8 = 1,
    MLS_TOK_U16,
    MLS_TOK_U32,
    MLS_TOK_U64,
    MLS_TOK_OPAQUE,    /* opaque<V>: bytes */
    MLS_TOK_VEC_BEGIN, /* vector<V> opens */
    MLS_TOK_VEC_END,
} mls_tok_kind;

typedef struct {
    uint8_t kind;
    uint64_t v;     /* integers */
    mls_span bytes; /* MLS_TOK_OPAQUE: borrowed from the decoded input */
} mls_tok;

typedef struct {
    mls_tok *toks;
    size_t n, cap;
} mls_toks;

void mls_toks_init(mls_toks *t);
void mls_toks_free(mls_toks *t);

/* Reads one value of type t from r (errors go to r). toks may be NULL. */
int mls_wire_read(mls_reader *r, mls_wire_type t, mls_toks *toks);
/* Decodes exactly one value of type t from p[0..n) (trailing bytes are an error). */
int mls_wire_decode(mls_wire_type t, const uint8_t *p, size_t n, mls_toks *toks, xw_errbuf *eb);
/* Writes the tokens back (appending to out). */
int mls_wire_encode(const mls_toks *toks, xw_buf *out);

#endif
