/*
 * PublicMessage and PrivateMessage protection (RFC 9420 §6.2, §6.3).
 *
 * Private messages: the sender signs FramedContentTBS, builds PrivateMessageContent
 * (content, auth data, zero padding), encrypts it with its next ratchet key (nonce XOR the
 * random 4-byte reuse guard) under PrivateContentAAD, then encrypts SenderData {leaf,
 * generation, reuse_guard} with a key and nonce derived from the sender-data secret and the
 * first Nh bytes of the ciphertext, under SenderDataAAD.
 *
 * Unprotect copies the message into the result's buffer first (so every span of the result
 * points into memory it owns), then decrypts into the same buffer (the key comes from a peek
 * that changes nothing), verifies, and only then consumes the ratchet generation, or leaves
 * that to the caller (defer_consume) when the content still has to pass the caller's checks.
 */
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/framing.h"
#include "mls/key_schedule.h"
#include "mls/scratch_int.h"
#include "mls/wire.h"

#define SENDER_DATA_LEN 12 /* uint32 leaf_index, uint32 generation, opaque reuse_guard[4] */

static int span_eq(mls_span a, mls_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int mls_framing_ctx_init(mls_framing_ctx *ctx, const mls_suite *s, const uint8_t *group_context,
                         size_t gc_len, const uint8_t *membership_key, const uint8_t *sender_data_secret,
                         mls_secret_tree *st, mls_sender_key_fn sender_key, void *arg, xw_errbuf *eb)
{
    memset(ctx, 0, sizeof *ctx);
    mls_reader r;
    mls_group_context gc;
    mls_reader_init(&r, group_context, gc_len, eb);
    if (mls_group_context_read(&r, &gc) || mls_reader_finish(&r, "group context"))
        return xw_errctx(eb, r.err, "group context");
    if (gc.cipher_suite != s->id)
        return xw_errf(eb, XW_EINVAL, "group context is for cipher suite %u, not %u", gc.cipher_suite, s->id);
    ctx->suite = s;
    ctx->group_context = (mls_span){group_context, gc_len};
    ctx->group_id = gc.group_id;
    ctx->epoch = gc.epoch;
    ctx->membership_key = membership_key;
    ctx->sender_data_secret = sender_data_secret;
    ctx->secret_tree = st;
    ctx->sender_key = sender_key;
    ctx->sender_key_arg = arg;
    return XW_OK;
}

static int check_content(const mls_framing_ctx *ctx, const mls_framed_content *c, const uint8_t *tag,
                         xw_errbuf *eb)
{
    if (!span_eq(c->group_id, ctx->group_id))
        return xw_errf(eb, XW_EINVAL, "content is for another group than this context's");
    if (c->epoch != ctx->epoch)
        return xw_errf(eb, XW_EMLS_EPOCH, "content is for epoch %llu but the context is epoch %llu",
                       (unsigned long long)c->epoch, (unsigned long long)ctx->epoch);
    if (c->content_type < MLS_CONTENT_APPLICATION || c->content_type > MLS_CONTENT_COMMIT)
        return xw_errf(eb, XW_EINVAL, "content type %u is not application, proposal or commit",
                       c->content_type);
    if (c->content_type == MLS_CONTENT_COMMIT && !tag)
        return xw_errf(eb, XW_EINVAL, "a commit needs its confirmation tag");
    if (c->content_type != MLS_CONTENT_APPLICATION) {
        /* never send what no receiver can decode */
        mls_wire_type t = c->content_type == MLS_CONTENT_PROPOSAL ? MLS_WIRE_PROPOSAL : MLS_WIRE_COMMIT;
        int rc = mls_wire_decode(t, c->content.p, c->content.len, NULL, eb);
        if (rc)
            return xw_errctx(eb, XW_EINVAL, "content to protect is not a well-formed %s",
                             mls_wire_type_name(t));
    }
    return XW_OK;
}

int mls_protect_public(const mls_framing_ctx *ctx, const mls_framed_content *content, const mls_sig_priv *k,
                       const uint8_t *confirmation_tag, xw_buf *out, xw_errbuf *eb)
{
    const mls_suite *s = ctx->suite;
    int rc = check_content(ctx, content, confirmation_tag, eb);
    if (rc)
        return rc;
    if (content->content_type == MLS_CONTENT_APPLICATION)
        return xw_errf(
            eb, XW_EMLS_WIREFORMAT,
            "application data must be sent as a PrivateMessage (RFC 9420 §6.2), not a PublicMessage");
    if (content->sender.type == MLS_SENDER_MEMBER && !ctx->membership_key)
        return xw_errf(eb, XW_EINVAL, "a member's PublicMessage needs the epoch's membership key");
    uint8_t sig[MLS_MAX_SIG], mtag[MLS_MAX_HASH];
    rc = mls_framed_content_sign(s, MLS_WIRE_FORMAT_PUBLIC_MESSAGE, content, ctx->group_context, k, sig, eb);
    if (rc)
        return rc;
    mls_message m;
    memset(&m, 0, sizeof m);
    m.version = MLS_PROTOCOL_VERSION_10;
    m.wire_format = MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
    m.pub.content = *content;
    m.pub.auth.signature = (mls_span){sig, s->sig_len};
    if (content->content_type == MLS_CONTENT_COMMIT)
        m.pub.auth.confirmation_tag = (mls_span){confirmation_tag, s->nh};
    if (content->sender.type == MLS_SENDER_MEMBER) {
        mls_authenticated_content ac = {MLS_WIRE_FORMAT_PUBLIC_MESSAGE, *content, m.pub.auth};
        rc = mls_membership_tag(s, ctx->membership_key, &ac, ctx->group_context, mtag);
        if (rc)
            return xw_errf(eb, rc, "membership tag computation failed");
        m.pub.membership_tag = (mls_span){mtag, s->nh};
    }
    return mls_message_encode(&m, out, eb);
}

/* Sender-data key and nonce from the ciphertext sample. */
static int sender_data_keys(const mls_suite *s, const uint8_t *secret, mls_span ct, uint8_t *key,
                            uint8_t *nonce)
{
    size_t sample = ct.len < s->nh ? ct.len : s->nh;
    mls_hmac_key k;
    int rc = mls_hmac_key_init(&k, s->hpke.kdf_id, secret, s->nh);
    if (rc == XW_OK)
        rc = mls_expand_with_label_keyed(s, &k, "key", 3, ct.p, sample, key, s->nk);
    if (rc == XW_OK)
        rc = mls_expand_with_label_keyed(s, &k, "nonce", 5, ct.p, sample, nonce, s->nn);
    mls_hmac_key_wipe(&k);
    return rc;
}

static void private_aad(mls_writer *w, mls_span group_id, uint64_t epoch, uint8_t content_type,
                        const mls_span *authenticated_data)
{
    mls_write_span(w, group_id);
    mls_write_u64(w, epoch);
    mls_write_u8(w, content_type);
    if (authenticated_data) /* PrivateContentAAD; SenderDataAAD stops before it */
        mls_write_span(w, *authenticated_data);
}

int mls_protect_private(const mls_framing_ctx *ctx, const mls_framed_content *content, const mls_sig_priv *k,
                        const uint8_t *confirmation_tag, size_t pad_to, xw_buf *out, xw_errbuf *eb)
{
    const mls_suite *s = ctx->suite;
    int rc = check_content(ctx, content, confirmation_tag, eb);
    if (rc)
        return rc;
    if (content->sender.type != MLS_SENDER_MEMBER)
        return xw_errf(eb, XW_EMLS_SENDER, "only members can send a PrivateMessage (sender type %u)",
                       content->sender.type);
    if (!ctx->secret_tree || !ctx->sender_data_secret)
        return xw_errf(eb, XW_EINVAL,
                       "a PrivateMessage needs the epoch's secret tree and sender-data secret");
    if (pad_to > 65536)
        return xw_errf(eb, XW_EINVAL, "padding block %zu is over 65536 bytes", pad_to);
    uint8_t sig[MLS_MAX_SIG];
    rc = mls_framed_content_sign(s, MLS_WIRE_FORMAT_PRIVATE_MESSAGE, content, ctx->group_context, k, sig, eb);
    if (rc)
        return rc;

    /* PrivateMessageContent, with room for the AEAD tag */
    xw_buf pt, aad;
    uint8_t pt_mem[2048], aad_mem[512];
    pt.data = aad.data = NULL;
    if (mls_scratch_init(&pt, pt_mem, sizeof pt_mem,
                         content->content.len + 2 * MLS_MAX_HASH + MLS_MAX_SIG + pad_to + 32,
                         MLS_MESSAGE_MAX) != XW_OK ||
        mls_scratch_init(&aad, aad_mem, sizeof aad_mem,
                         content->group_id.len + content->authenticated_data.len + 32,
                         MLS_MESSAGE_MAX) != XW_OK) {
        rc = xw_errf(eb, XW_ETOOBIG, "message content is too large to protect");
        goto done;
    }
    mls_writer w;
    mls_writer_init(&w, &pt);
    if (content->content_type == MLS_CONTENT_APPLICATION)
        mls_write_span(&w, content->content);
    else
        mls_write_fixed(&w, content->content.p, content->content.len);
    mls_auth_data a = {{sig, s->sig_len}, {confirmation_tag, confirmation_tag ? s->nh : 0}};
    mls_auth_data_write(&w, &a, content->content_type);
    size_t pad = pad_to ? (pad_to - pt.len % pad_to) % pad_to : 0;
    uint8_t *z = w.err ? NULL : xw_buf_extend(&pt, pad + MLS_AEAD_TAG);
    if (!z) {
        rc = xw_errf(eb, XW_ETOOBIG, "message content is too large to protect");
        goto done;
    }
    memset(z, 0, pad + MLS_AEAD_TAG);
    size_t pt_len = pt.len - MLS_AEAD_TAG;

    mls_ratchet_key rk;
    mls_ratchet_type type =
        content->content_type == MLS_CONTENT_APPLICATION ? MLS_RATCHET_APPLICATION : MLS_RATCHET_HANDSHAKE;
    rc = mls_secret_tree_next(ctx->secret_tree, content->sender.index, type, &rk, eb);
    if (rc)
        goto done;
    uint8_t guard[4];
    mls_random_nonsecret(guard, 4);
    for (int i = 0; i < 4; i++)
        rk.nonce[i] ^= guard[i];
    uint32_t gen = rk.generation;
    mls_writer_init(&w, &aad);
    private_aad(&w, content->group_id, content->epoch, content->content_type, &content->authenticated_data);
    if (w.err)
        rc = xw_errf(eb, w.err, "authenticated data is too large");
    else
        rc = mls_aead_seal(s, rk.key, rk.nonce, aad.data, aad.len, pt.data, pt_len, pt.data);
    mls_ratchet_key_wipe(&rk);
    if (rc) {
        rc = xw_errf(eb, rc, "content encryption failed");
        goto done;
    }

    /* SenderData, encrypted under keys bound to the ciphertext sample */
    uint8_t sd[SENDER_DATA_LEN + MLS_AEAD_TAG], key[MLS_MAX_AEAD_KEY], nonce[MLS_NONCE];
    uint32_t leaf = content->sender.index;
    for (int i = 0; i < 4; i++) {
        sd[i] = (uint8_t)(leaf >> (24 - 8 * i));
        sd[4 + i] = (uint8_t)(gen >> (24 - 8 * i));
    }
    memcpy(sd + 8, guard, 4);
    xw_buf_reset(&aad);
    mls_writer_init(&w, &aad);
    private_aad(&w, content->group_id, content->epoch, content->content_type, NULL);
    rc = w.err;
    if (rc == XW_OK)
        rc = sender_data_keys(s, ctx->sender_data_secret, (mls_span){pt.data, pt.len}, key, nonce);
    if (rc == XW_OK)
        rc = mls_aead_seal(s, key, nonce, aad.data, aad.len, sd, SENDER_DATA_LEN, sd);
    xw_wipe(key, sizeof key);
    if (rc) {
        rc = xw_errf(eb, rc, "sender data encryption failed");
        goto done;
    }
    mls_message m;
    memset(&m, 0, sizeof m);
    m.version = MLS_PROTOCOL_VERSION_10;
    m.wire_format = MLS_WIRE_FORMAT_PRIVATE_MESSAGE;
    m.priv.group_id = content->group_id;
    m.priv.epoch = content->epoch;
    m.priv.content_type = content->content_type;
    m.priv.authenticated_data = content->authenticated_data;
    m.priv.encrypted_sender_data = (mls_span){sd, sizeof sd};
    m.priv.ciphertext = (mls_span){pt.data, pt.len};
    rc = mls_message_encode(&m, out, eb);
done:
    mls_scratch_free(&aad, aad_mem);
    mls_scratch_free(&pt, pt_mem);
    return rc;
}

void mls_unprotected_init(mls_unprotected *u)
{
    memset(u, 0, sizeof *u);
    xw_buf_init(&u->buf, 2 * MLS_MESSAGE_MAX);
}

void mls_unprotected_free(mls_unprotected *u)
{
    size_t max = u->buf.max;
    xw_buf_free_secret(&u->buf);
    memset(u, 0, sizeof *u);
    xw_buf_init(&u->buf, max ? max : 2 * MLS_MESSAGE_MAX);
}

static int sender_key(const mls_framing_ctx *ctx, const mls_sender *sender, mls_span *pub, xw_errbuf *eb)
{
    if (!ctx->sender_key)
        return xw_errf(eb, XW_EINVAL, "no sender-key lookup is configured to verify signatures");
    pub->p = NULL;
    pub->len = 0;
    int rc = ctx->sender_key(ctx->sender_key_arg, sender, pub, eb);
    if (rc == XW_OK && !pub->p)
        rc = xw_errf(eb, XW_EMLS_SENDER, "no signature key is known for sender %u of type %u", sender->index,
                     sender->type);
    return rc;
}

static int unprotect_public(const mls_framing_ctx *ctx, const mls_message *m, mls_unprotected *u,
                            xw_errbuf *eb)
{
    const mls_suite *s = ctx->suite;
    const mls_public_message *pm = &m->pub;
    if (!span_eq(pm->content.group_id, ctx->group_id))
        return xw_errf(eb, XW_EPROTOCOL, "PublicMessage is for another group");
    if (pm->content.epoch != ctx->epoch)
        return xw_errf(eb, XW_EMLS_EPOCH, "PublicMessage is for epoch %llu but the group is at epoch %llu",
                       (unsigned long long)pm->content.epoch, (unsigned long long)ctx->epoch);
    if (pm->content.content_type == MLS_CONTENT_APPLICATION)
        return xw_errf(
            eb, XW_EMLS_WIREFORMAT,
            "application data arrived in a PublicMessage; RFC 9420 §6.2 requires a PrivateMessage");
    if (pm->content.content_type == MLS_CONTENT_COMMIT && pm->auth.confirmation_tag.len != s->nh)
        return xw_errf(eb, XW_EMLS_TAG, "commit's confirmation tag is %zu bytes; it must be %zu",
                       pm->auth.confirmation_tag.len, s->nh);
    /* RFC 9420 §6: who may send what outside the member path */
    uint8_t st = pm->content.sender.type, ct = pm->content.content_type;
    if ((st == MLS_SENDER_EXTERNAL || st == MLS_SENDER_NEW_MEMBER_PROPOSAL) && ct != MLS_CONTENT_PROPOSAL)
        return xw_errf(eb, XW_EMLS_SENDER,
                       "an external or new-member-proposal sender may only send proposals");
    if (st == MLS_SENDER_NEW_MEMBER_COMMIT && ct != MLS_CONTENT_COMMIT)
        return xw_errf(eb, XW_EMLS_SENDER, "a new-member-commit sender may only send a commit");
    mls_authenticated_content ac = {MLS_WIRE_FORMAT_PUBLIC_MESSAGE, pm->content, pm->auth};
    if (pm->content.sender.type == MLS_SENDER_MEMBER) {
        uint8_t want[MLS_MAX_HASH];
        if (!ctx->membership_key)
            return xw_errf(eb, XW_EINVAL, "the membership key is needed to check a member's PublicMessage");
        int rc = mls_membership_tag(s, ctx->membership_key, &ac, ctx->group_context, want);
        if (rc)
            return xw_errf(eb, rc, "membership tag computation failed");
        if (pm->membership_tag.len != s->nh || sodium_memcmp(want, pm->membership_tag.p, s->nh) != 0)
            return xw_errf(
                eb, XW_EMLS_TAG,
                "PublicMessage's membership tag does not verify: the sender is not a member of this "
                "epoch or the message was altered");
    }
    mls_span pub;
    int rc = sender_key(ctx, &pm->content.sender, &pub, eb);
    if (rc == XW_OK)
        rc = mls_framed_content_verify(s, &ac, ctx->group_context, pub, eb);
    if (rc)
        return rc;
    u->ac = ac;
    u->membership_tag = pm->membership_tag;
    return XW_OK;
}

static int unprotect_private(const mls_framing_ctx *ctx, const mls_message *m, mls_unprotected *u,
                             xw_errbuf *eb)
{
    const mls_suite *s = ctx->suite;
    const mls_private_message *pm = &m->priv;
    if (!ctx->secret_tree || !ctx->sender_data_secret)
        return xw_errf(eb, XW_EINVAL,
                       "a PrivateMessage needs the epoch's secret tree and sender-data secret");
    if (!span_eq(pm->group_id, ctx->group_id))
        return xw_errf(eb, XW_EPROTOCOL, "PrivateMessage is for another group");
    if (pm->epoch != ctx->epoch)
        return xw_errf(eb, XW_EMLS_EPOCH, "PrivateMessage is for epoch %llu but the group is at epoch %llu",
                       (unsigned long long)pm->epoch, (unsigned long long)ctx->epoch);
    if (pm->encrypted_sender_data.len != SENDER_DATA_LEN + MLS_AEAD_TAG)
        return xw_errf(eb, XW_EDECRYPT, "encrypted sender data is %zu bytes; it must be %d",
                       pm->encrypted_sender_data.len, SENDER_DATA_LEN + MLS_AEAD_TAG);
    if (pm->ciphertext.len < MLS_AEAD_TAG)
        return xw_errf(eb, XW_EDECRYPT, "PrivateMessage ciphertext of %zu bytes is shorter than its tag",
                       pm->ciphertext.len);

    /* sender data */
    uint8_t sd[SENDER_DATA_LEN], key[MLS_MAX_AEAD_KEY], nonce[MLS_NONCE];
    xw_buf aad;
    uint8_t aad_mem[512];
    if (mls_scratch_init(&aad, aad_mem, sizeof aad_mem, pm->group_id.len + pm->authenticated_data.len + 32,
                         MLS_MESSAGE_MAX) != XW_OK) {
        mls_scratch_free(&aad, aad_mem);
        return xw_errf(eb, XW_ENOMEM, "out of memory for the message's authenticated data");
    }
    mls_writer w;
    mls_writer_init(&w, &aad);
    private_aad(&w, pm->group_id, pm->epoch, pm->content_type, NULL);
    int rc = w.err;
    if (rc == XW_OK)
        rc = sender_data_keys(s, ctx->sender_data_secret, pm->ciphertext, key, nonce);
    if (rc == XW_OK)
        rc = mls_aead_open(s, key, nonce, aad.data, aad.len, pm->encrypted_sender_data.p,
                           pm->encrypted_sender_data.len, sd);
    xw_wipe(key, sizeof key);
    if (rc) {
        mls_scratch_free(&aad, aad_mem);
        return xw_errf(
            eb, rc == XW_EDECRYPT ? XW_EDECRYPT : rc,
            "sender data does not decrypt: the message is not for this epoch's keys or was altered");
    }
    mls_sender sender = {MLS_SENDER_MEMBER,
                         ((uint32_t)sd[0] << 24) | ((uint32_t)sd[1] << 16) | ((uint32_t)sd[2] << 8) | sd[3]};
    uint32_t gen = ((uint32_t)sd[4] << 24) | ((uint32_t)sd[5] << 16) | ((uint32_t)sd[6] << 8) | sd[7];
    mls_ratchet_type type =
        pm->content_type == MLS_CONTENT_APPLICATION ? MLS_RATCHET_APPLICATION : MLS_RATCHET_HANDSHAKE;

    /* content */
    mls_ratchet_key rk;
    rc = mls_secret_tree_peek(ctx->secret_tree, sender.index, type, gen, &rk, eb);
    if (rc) {
        mls_scratch_free(&aad, aad_mem);
        return rc;
    }
    for (int i = 0; i < 4; i++)
        rk.nonce[i] ^= sd[8 + i];
    xw_buf_reset(&aad);
    mls_writer_init(&w, &aad);
    private_aad(&w, pm->group_id, pm->epoch, pm->content_type, &pm->authenticated_data);
    size_t pt_len = pm->ciphertext.len - MLS_AEAD_TAG;
    uint8_t one[1];
    uint8_t *pt = pt_len ? xw_buf_extend(&u->buf, pt_len) : one; /* capacity was reserved: no move */
    rc = w.err;
    if (rc == XW_OK && !pt)
        rc = XW_ENOMEM;
    if (rc == XW_OK)
        rc = mls_aead_open(s, rk.key, rk.nonce, aad.data, aad.len, pm->ciphertext.p, pm->ciphertext.len, pt);
    mls_ratchet_key_wipe(&rk);
    mls_scratch_free(&aad, aad_mem);
    if (rc)
        return xw_errf(eb, rc, "PrivateMessage content does not decrypt with leaf %u's generation %u key",
                       sender.index, gen);

    /* PrivateMessageContent */
    mls_reader r;
    mls_reader_init(&r, pt, pt_len, eb);
    mls_framed_content fc = {pm->group_id,           pm->epoch,        sender,
                             pm->authenticated_data, pm->content_type, {NULL, 0}};
    fc.content = mls_framed_content_body_read(&r, pm->content_type);
    mls_auth_data a;
    mls_auth_data_read(&r, pm->content_type, &a);
    if (r.err)
        return xw_errctx(eb, r.err, "decrypted PrivateMessage content");
    for (size_t i = r.off; i < pt_len; i++)
        if (pt[i] != 0)
            return xw_errf(eb, XW_EMALFORMED, "PrivateMessage padding has a non-zero byte at offset %zu", i);
    if (pm->content_type == MLS_CONTENT_COMMIT && a.confirmation_tag.len != s->nh)
        return xw_errf(eb, XW_EMLS_TAG, "commit's confirmation tag is %zu bytes; it must be %zu",
                       a.confirmation_tag.len, s->nh);
    mls_authenticated_content ac = {MLS_WIRE_FORMAT_PRIVATE_MESSAGE, fc, a};
    mls_span pub;
    rc = sender_key(ctx, &sender, &pub, eb);
    if (rc == XW_OK)
        rc = mls_framed_content_verify(s, &ac, ctx->group_context, pub, eb);
    if (rc == XW_OK && !ctx->defer_consume)
        rc = mls_secret_tree_consume(ctx->secret_tree, sender.index, type, gen, eb);
    if (rc)
        return rc;
    u->ac = ac;
    u->generation = gen;
    return XW_OK;
}

int mls_unprotected_consume(const mls_framing_ctx *ctx, const mls_unprotected *u, xw_errbuf *eb)
{
    if (u->ac.wire_format != MLS_WIRE_FORMAT_PRIVATE_MESSAGE)
        return XW_OK;
    if (!ctx->secret_tree)
        return xw_errf(eb, XW_EINVAL, "a PrivateMessage's generation is consumed in the epoch's secret tree");
    mls_ratchet_type type = u->ac.content.content_type == MLS_CONTENT_APPLICATION ? MLS_RATCHET_APPLICATION
                                                                                  : MLS_RATCHET_HANDSHAKE;
    return mls_secret_tree_consume(ctx->secret_tree, u->ac.content.sender.index, type, u->generation, eb);
}

/* Empties u but keeps its storage, so that a reused result does not allocate again. */
static void unprotected_clear(mls_unprotected *u)
{
    if (u->buf.data)
        sodium_memzero(u->buf.data, u->buf.len);
    xw_buf_reset(&u->buf);
    memset(&u->ac, 0, sizeof u->ac);
    u->membership_tag = (mls_span){NULL, 0};
    u->generation = 0;
}

int mls_unprotect(const mls_framing_ctx *ctx, const uint8_t *msg, size_t n, mls_unprotected *u, xw_errbuf *eb)
{
    unprotected_clear(u);
    if (n > MLS_MESSAGE_MAX)
        return xw_errf(eb, XW_ETOOBIG, "message of %zu bytes is over the %zu-byte limit", n, MLS_MESSAGE_MAX);
    /* Room for the message and its plaintext, so spans taken now stay valid. */
    if (xw_buf_reserve(&u->buf, 2 * n + 1) != XW_OK || xw_buf_append(&u->buf, msg, n) != XW_OK)
        return xw_errf(eb, XW_ENOMEM, "out of memory for a %zu-byte message", n);
    mls_message m;
    int rc = mls_message_decode(u->buf.data, n, &m, eb);
    if (rc == XW_OK) {
        if (m.wire_format == MLS_WIRE_FORMAT_PUBLIC_MESSAGE)
            rc = unprotect_public(ctx, &m, u, eb);
        else if (m.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE)
            rc = unprotect_private(ctx, &m, u, eb);
        else
            rc = xw_errf(
                eb, XW_EMLS_WIREFORMAT,
                "MLSMessage of wire format %u is a Welcome, GroupInfo or KeyPackage, not a framed message",
                m.wire_format);
    }
    if (rc)
        unprotected_clear(u);
    return rc;
}
