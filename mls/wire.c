/*
 * Structural codec (see wire.h). One static function per RFC 9420 struct, each reading
 * through a walker that forwards to the TLS reader and records tokens when asked. Tags that
 * select what follows are checked against the values RFC 9420 defines: an unknown one makes
 * the rest of the value undecodable, so it is an error that names the tag and its position.
 */
#include "mls/wire.h"

#include "common/alloc.h"

typedef struct {
    mls_reader *r;
    mls_toks *t;
    int oom;
} walker;

static const char *const type_names[MLS_WIRE__COUNT] = {
    "MLSMessage",
    "PublicMessage",
    "PrivateMessage",
    "Welcome",
    "GroupInfo",
    "KeyPackage",
    "LeafNode",
    "Proposal",
    "Commit",
    "UpdatePath",
    "GroupSecrets",
    "GroupContext",
    "ratchet_tree",
    "FramedContent",
    "AuthenticatedContent",
    "Add",
    "Update",
    "Remove",
    "PreSharedKey",
    "ReInit",
    "ExternalInit",
    "GroupContextExtensions",
};

const char *mls_wire_type_name(mls_wire_type t)
{
    return (unsigned)t < MLS_WIRE__COUNT ? type_names[t] : "unknown type";
}

void mls_toks_init(mls_toks *t)
{
    t->toks = NULL;
    t->n = t->cap = 0;
}

void mls_toks_free(mls_toks *t)
{
    xw_free(t->toks);
    mls_toks_init(t);
}

static void emit(walker *w, uint8_t kind, uint64_t v, mls_span b)
{
    if (!w->t || w->r->err)
        return;
    mls_tok *n = xw_grow(w->t->toks, w->t->n, &w->t->cap, 64, sizeof *n);
    if (!n) {
        mls_reader_fail(w->r, XW_ENOMEM, "out of memory while decoding");
        return;
    }
    w->t->toks = n;
    w->t->toks[w->t->n++] = (mls_tok){kind, v, b};
}

static const mls_span nospan = {NULL, 0};

static uint8_t u8(walker *w)
{
    uint8_t v = mls_read_u8(w->r);
    emit(w, MLS_TOK_U8, v, nospan);
    return v;
}
static uint16_t u16(walker *w)
{
    uint16_t v = mls_read_u16(w->r);
    emit(w, MLS_TOK_U16, v, nospan);
    return v;
}
static uint32_t u32(walker *w)
{
    uint32_t v = mls_read_u32(w->r);
    emit(w, MLS_TOK_U32, v, nospan);
    return v;
}
static uint64_t u64(walker *w)
{
    uint64_t v = mls_read_u64(w->r);
    emit(w, MLS_TOK_U64, v, nospan);
    return v;
}
static void opaque(walker *w)
{
    mls_span s = mls_read_opaque(w->r);
    emit(w, MLS_TOK_OPAQUE, 0, s);
}

/* vector<V> of elements read by fn */
static void vec(walker *w, void (*fn)(walker *))
{
    mls_reader sub, *parent = w->r;
    mls_read_vector(parent, &sub);
    emit(w, MLS_TOK_VEC_BEGIN, 0, nospan);
    w->r = &sub;
    while (!sub.err && mls_reader_left(&sub))
        fn(w);
    w->r = parent;
    mls_reader_join(parent, &sub);
    emit(w, MLS_TOK_VEC_END, 0, nospan);
}

/* optional<T>: returns presence */
static int optional(walker *w, void (*fn)(walker *))
{
    size_t at = w->r->off;
    uint8_t p = u8(w);
    if (p > 1)
        mls_reader_fail(w->r, XW_EMALFORMED,
                        "optional value at byte %zu has presence byte %u; it must be 0 or 1", at, p);
    else if (p)
        fn(w);
    return p;
}

static int bad_tag(walker *w, size_t at, const char *what, unsigned v)
{
    return mls_reader_fail(w->r, XW_EMALFORMED, "%s at byte %zu is %u, which RFC 9420 does not define", what,
                           at, v);
}

static void w_u16(walker *w) { u16(w); }
static void w_u32(walker *w) { u32(w); }
static void w_opaque(walker *w) { opaque(w); }

static void extension(walker *w)
{
    u16(w);
    opaque(w);
}
static void extensions(walker *w) { vec(w, extension); }

static void credential(walker *w)
{
    size_t at = w->r->off;
    uint16_t t = u16(w);
    if (t == 1)
        opaque(w); /* basic: identity */
    else if (t == 2)
        vec(w, w_opaque); /* x509: certificates */
    else if (!w->r->err)
        mls_reader_fail(w->r, XW_EUNSUPPORTED, "credential type %u at byte %zu is not basic (1) or x509 (2)",
                        t, at);
}

static void capabilities(walker *w)
{
    vec(w, w_u16); /* versions */
    vec(w, w_u16); /* cipher_suites */
    vec(w, w_u16); /* extensions */
    vec(w, w_u16); /* proposals */
    vec(w, w_u16); /* credentials */
}

static void leaf_node(walker *w)
{
    opaque(w); /* encryption_key */
    opaque(w); /* signature_key */
    credential(w);
    capabilities(w);
    size_t at = w->r->off;
    uint8_t src = u8(w);
    if (src == 1) { /* key_package: lifetime */
        u64(w);
        u64(w);
    } else if (src == 3) { /* commit: parent_hash */
        opaque(w);
    } else if (src != 2 && !w->r->err) {
        bad_tag(w, at, "leaf_node_source", src);
    }
    extensions(w);
    opaque(w); /* signature */
}

static void key_package(walker *w)
{
    u16(w); /* version */
    u16(w); /* cipher_suite */
    opaque(w);
    leaf_node(w);
    extensions(w);
    opaque(w);
}

static void psk_id(walker *w)
{
    size_t at = w->r->off;
    uint8_t t = u8(w);
    if (t == 1) {
        opaque(w);
    } else if (t == 2) {
        u8(w); /* usage */
        opaque(w);
        u64(w);
    } else if (!w->r->err) {
        bad_tag(w, at, "psktype", t);
    }
    opaque(w); /* psk_nonce */
}

static void reinit(walker *w)
{
    opaque(w);
    u16(w);
    u16(w);
    extensions(w);
}

static void proposal(walker *w)
{
    size_t at = w->r->off;
    uint16_t t = u16(w);
    switch (t) {
    case 1:
        key_package(w);
        break;
    case 2:
        leaf_node(w);
        break;
    case 3:
        u32(w);
        break;
    case 4:
        psk_id(w);
        break;
    case 5:
        reinit(w);
        break;
    case 6:
        opaque(w);
        break;
    case 7:
        extensions(w);
        break;
    default:
        if (!w->r->err)
            mls_reader_fail(
                w->r, XW_EUNSUPPORTED,
                "proposal type %u at byte %zu is not one RFC 9420 defines (1-7); its length is unknown", t,
                at);
    }
}

static void proposal_or_ref(walker *w)
{
    size_t at = w->r->off;
    uint8_t t = u8(w);
    if (t == 1)
        proposal(w);
    else if (t == 2)
        opaque(w);
    else if (!w->r->err)
        bad_tag(w, at, "ProposalOrRef type", t);
}

static void hpke_ciphertext(walker *w)
{
    opaque(w);
    opaque(w);
}

static void update_path_node(walker *w)
{
    opaque(w);
    vec(w, hpke_ciphertext);
}

static void update_path(walker *w)
{
    leaf_node(w);
    vec(w, update_path_node);
}

static void commit(walker *w)
{
    vec(w, proposal_or_ref);
    optional(w, update_path);
}

static void group_context(walker *w)
{
    u16(w);
    u16(w);
    opaque(w);
    u64(w);
    opaque(w);
    opaque(w);
    extensions(w);
}

static void group_info(walker *w)
{
    group_context(w);
    extensions(w);
    opaque(w); /* confirmation_tag */
    u32(w);    /* signer */
    opaque(w); /* signature */
}

static void path_secret(walker *w) { opaque(w); }

static void group_secrets(walker *w)
{
    opaque(w);
    optional(w, path_secret);
    vec(w, psk_id);
}

static void encrypted_group_secrets(walker *w)
{
    opaque(w);
    hpke_ciphertext(w);
}

static void welcome(walker *w)
{
    u16(w);
    vec(w, encrypted_group_secrets);
    opaque(w);
}

static void parent_node(walker *w)
{
    opaque(w);
    opaque(w);
    vec(w, w_u32);
}

static void node(walker *w)
{
    size_t at = w->r->off;
    uint8_t t = u8(w);
    if (t == 1)
        leaf_node(w);
    else if (t == 2)
        parent_node(w);
    else if (!w->r->err)
        bad_tag(w, at, "node type", t);
}

static void optional_node(walker *w) { optional(w, node); }
static void ratchet_tree(walker *w) { vec(w, optional_node); }

/* FramedContent; returns content_type and sets *sender_type. */
static uint8_t framed_content(walker *w, uint8_t *sender_type)
{
    opaque(w); /* group_id */
    u64(w);    /* epoch */
    size_t at = w->r->off;
    uint8_t st = u8(w);
    if (st == 1 || st == 2)
        u32(w);
    else if (st != 3 && st != 4 && !w->r->err)
        bad_tag(w, at, "sender type", st);
    *sender_type = st;
    opaque(w); /* authenticated_data */
    at = w->r->off;
    uint8_t ct = u8(w);
    if (ct == 1)
        opaque(w);
    else if (ct == 2)
        proposal(w);
    else if (ct == 3)
        commit(w);
    else if (!w->r->err)
        bad_tag(w, at, "content type", ct);
    return ct;
}

static void auth_data(walker *w, uint8_t content_type)
{
    opaque(w); /* signature */
    if (content_type == 3)
        opaque(w); /* confirmation_tag */
}

static void public_message(walker *w)
{
    uint8_t st;
    uint8_t ct = framed_content(w, &st);
    auth_data(w, ct);
    if (st == 1)
        opaque(w); /* membership_tag */
}

static void private_message(walker *w)
{
    opaque(w);
    u64(w);
    size_t at = w->r->off;
    uint8_t ct = u8(w);
    if ((ct < 1 || ct > 3) && !w->r->err)
        bad_tag(w, at, "content type", ct);
    opaque(w);
    opaque(w);
    opaque(w);
}

static void mls_message(walker *w)
{
    size_t at = w->r->off;
    uint16_t v = u16(w);
    if (v != 1 && !w->r->err) {
        mls_reader_fail(w->r, XW_EUNSUPPORTED,
                        "MLSMessage at byte %zu has protocol version %u; only mls10 (1) is "
                        "supported",
                        at, v);
        return;
    }
    at = w->r->off;
    uint16_t wf = u16(w);
    switch (wf) {
    case 1:
        public_message(w);
        break;
    case 2:
        private_message(w);
        break;
    case 3:
        welcome(w);
        break;
    case 4:
        group_info(w);
        break;
    case 5:
        key_package(w);
        break;
    default:
        if (!w->r->err)
            mls_reader_fail(w->r, XW_EUNSUPPORTED,
                            "wire format %u at byte %zu is not one RFC 9420 defines (1-5)", wf, at);
    }
}

static void framed_content_only(walker *w)
{
    uint8_t st;
    framed_content(w, &st);
}

static void authenticated_content(walker *w)
{
    u16(w); /* wire_format */
    uint8_t st;
    uint8_t ct = framed_content(w, &st);
    auth_data(w, ct);
}

static void remove_body(walker *w) { u32(w); }

int mls_wire_read(mls_reader *r, mls_wire_type t, mls_toks *toks)
{
    static void (*const fns[MLS_WIRE__COUNT])(walker *) = {
        [MLS_WIRE_MLS_MESSAGE] = mls_message,
        [MLS_WIRE_PUBLIC_MESSAGE] = public_message,
        [MLS_WIRE_PRIVATE_MESSAGE] = private_message,
        [MLS_WIRE_WELCOME] = welcome,
        [MLS_WIRE_GROUP_INFO] = group_info,
        [MLS_WIRE_KEY_PACKAGE] = key_package,
        [MLS_WIRE_LEAF_NODE] = leaf_node,
        [MLS_WIRE_PROPOSAL] = proposal,
        [MLS_WIRE_COMMIT] = commit,
        [MLS_WIRE_UPDATE_PATH] = update_path,
        [MLS_WIRE_GROUP_SECRETS] = group_secrets,
        [MLS_WIRE_GROUP_CONTEXT] = group_context,
        [MLS_WIRE_RATCHET_TREE] = ratchet_tree,
        [MLS_WIRE_FRAMED_CONTENT] = framed_content_only,
        [MLS_WIRE_AUTHENTICATED_CONTENT] = authenticated_content,
        [MLS_WIRE_ADD] = key_package,
        [MLS_WIRE_UPDATE] = leaf_node,
        [MLS_WIRE_REMOVE] = remove_body,
        [MLS_WIRE_PRE_SHARED_KEY] = psk_id,
        [MLS_WIRE_REINIT] = reinit,
        [MLS_WIRE_EXTERNAL_INIT] = w_opaque,
        [MLS_WIRE_GROUP_CONTEXT_EXTENSIONS] = extensions,
    };
    if ((unsigned)t >= MLS_WIRE__COUNT)
        return mls_reader_fail(r, XW_EINVAL, "unknown wire type %d", (int)t);
    walker w = {r, toks, 0};
    fns[t](&w);
    return r->err;
}

int mls_wire_decode(mls_wire_type t, const uint8_t *p, size_t n, mls_toks *toks, xw_errbuf *eb)
{
    mls_reader r;
    mls_reader_init(&r, p, n, eb);
    if (toks)
        toks->n = 0;
    mls_wire_read(&r, t, toks);
    mls_reader_finish(&r, mls_wire_type_name(t));
    if (r.err && toks)
        toks->n = 0;
    return r.err;
}

int mls_wire_encode(const mls_toks *toks, xw_buf *out)
{
    mls_writer w;
    mls_writer_init(&w, out);
    size_t marks[MLS_TLS_MAX_DEPTH + 1];
    size_t depth = 0;
    for (size_t i = 0; i < toks->n && !w.err; i++) {
        const mls_tok *t = &toks->toks[i];
        switch (t->kind) {
        case MLS_TOK_U8:
            mls_write_u8(&w, (uint8_t)t->v);
            break;
        case MLS_TOK_U16:
            mls_write_u16(&w, (uint16_t)t->v);
            break;
        case MLS_TOK_U32:
            mls_write_u32(&w, (uint32_t)t->v);
            break;
        case MLS_TOK_U64:
            mls_write_u64(&w, t->v);
            break;
        case MLS_TOK_OPAQUE:
            mls_write_span(&w, t->bytes);
            break;
        case MLS_TOK_VEC_BEGIN:
            if (depth > MLS_TLS_MAX_DEPTH)
                return XW_EINVAL;
            marks[depth++] = mls_write_vec_begin(&w);
            break;
        case MLS_TOK_VEC_END:
            if (depth == 0)
                return XW_EINVAL;
            mls_write_vec_end(&w, marks[--depth]);
            break;
        default:
            return XW_EINVAL;
        }
    }
    if (!w.err && depth)
        return XW_EINVAL;
    return w.err;
}
