/*
 * Vector kinds message-protection and transcript-hashes.
 */
#include <string.h>

#include "common/alloc.h"
#include "mls/framing.h"
#include "mls/key_schedule.h"
#include "mls/secret_tree.h"
#include "tests/vectors/vectors.h"

enum {
    MP_GID,
    MP_TREE,
    MP_CTH,
    MP_SPRIV,
    MP_SPUB,
    MP_ENC,
    MP_SDS,
    MP_MEM,
    MP_RAW,
    MP_MSG,
    MP_GC,
    MP_OUT,
    MP_N
};

typedef struct {
    mls_span pub;
    uint32_t leaf;
} one_signer;

/* The vectors have one signer; test-vectors.md puts it at leaf 1 of a 2-leaf tree, and any
 * member leaf of that tree is accepted here so that other generators' files work too. */
static int lookup(void *arg, const mls_sender *sender, mls_span *pub, xw_errbuf *eb)
{
    one_signer *o = arg;
    if (sender->type != MLS_SENDER_MEMBER || sender->index > o->leaf)
        return xw_errf(eb, XW_EMLS_SENDER, "unknown sender %u of type %u", sender->index, sender->type);
    *pub = o->pub;
    return XW_OK;
}

/* Unprotects msg with a fresh secret tree (each vector message was made from a fresh one)
 * and compares the content with raw. */
static int open_and_compare(vt_case *c, const mls_suite *s, xw_buf *b, one_signer *signer, const char *name,
                            uint8_t want_type)
{
    mls_secret_tree *st = NULL;
    xw_errbuf eb = {{0}};
    mls_framing_ctx ctx;
    mls_unprotected u;
    mls_unprotected_init(&u);
    int rc = VT_FAIL;
    if (mls_secret_tree_new(s, b[MP_ENC].data, 2, NULL, &st, &eb) ||
        mls_framing_ctx_init(&ctx, s, b[MP_GC].data, b[MP_GC].len, b[MP_MEM].data, b[MP_SDS].data, st, lookup,
                             signer, &eb)) {
        vt_fail(c, "%s: setup failed: %s", name, eb.msg);
        goto done;
    }
    if (mls_unprotect(&ctx, b[MP_MSG].data, b[MP_MSG].len, &u, &eb)) {
        vt_fail(c, "%s does not unprotect: %s", name, eb.msg);
        goto done;
    }
    const mls_framed_content *fc = &u.ac.content;
    if (fc->content_type != want_type || fc->sender.type != MLS_SENDER_MEMBER) {
        vt_fail(c, "%s: content type %u from sender type %u, want type %u from a member", name,
                fc->content_type, fc->sender.type, want_type);
        goto done;
    }
    if (fc->content.len != b[MP_RAW].len || memcmp(fc->content.p, b[MP_RAW].data, b[MP_RAW].len) != 0) {
        vt_fail(c, "%s: the content differs from the raw value", name);
        goto done;
    }
    /* a replay of a PrivateMessage is refused, a PublicMessage with a flipped bit too */
    if (u.ac.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE) {
        mls_unprotected again;
        mls_unprotected_init(&again);
        int r2 = mls_unprotect(&ctx, b[MP_MSG].data, b[MP_MSG].len, &again, NULL);
        mls_unprotected_free(&again);
        if (r2 != XW_EMLS_GENERATION) {
            vt_fail(c, "%s: a replay is not refused (got %d)", name, r2);
            goto done;
        }
    } else {
        b[MP_MSG].data[b[MP_MSG].len - 1] ^= 1;
        mls_unprotected bad;
        mls_unprotected_init(&bad);
        int r2 = mls_unprotect(&ctx, b[MP_MSG].data, b[MP_MSG].len, &bad, NULL);
        mls_unprotected_free(&bad);
        b[MP_MSG].data[b[MP_MSG].len - 1] ^= 1;
        if (r2 != XW_EMLS_TAG) {
            vt_fail(c, "%s: a wrong membership tag is not refused (got %d)", name, r2);
            goto done;
        }
    }
    rc = VT_PASS;
done:
    mls_unprotected_free(&u);
    mls_secret_tree_free(st);
    return rc;
}

/* Protects raw as content_type from leaf 1 (public or private), then unprotects it. */
static int round_trip(vt_case *c, const mls_suite *s, xw_buf *b, one_signer *signer, const mls_sig_priv *k,
                      uint8_t type, int private_msg)
{
    mls_secret_tree *snd = NULL, *rcv = NULL;
    xw_errbuf eb = {{0}};
    mls_framing_ctx sctx, rctx;
    mls_unprotected u;
    mls_unprotected_init(&u);
    int rc = VT_FAIL;
    const char *what = private_msg ? "PrivateMessage" : "PublicMessage";
    if (mls_secret_tree_new(s, b[MP_ENC].data, 2, NULL, &snd, &eb) ||
        mls_secret_tree_new(s, b[MP_ENC].data, 2, NULL, &rcv, &eb) ||
        mls_framing_ctx_init(&sctx, s, b[MP_GC].data, b[MP_GC].len, b[MP_MEM].data, b[MP_SDS].data, snd, NULL,
                             NULL, &eb) ||
        mls_framing_ctx_init(&rctx, s, b[MP_GC].data, b[MP_GC].len, b[MP_MEM].data, b[MP_SDS].data, rcv,
                             lookup, signer, &eb)) {
        vt_fail(c, "round trip setup failed: %s", eb.msg);
        goto done;
    }
    mls_framed_content fc = {{b[MP_GID].data, b[MP_GID].len}, sctx.epoch, {MLS_SENDER_MEMBER, 1},
                             {(const uint8_t *)"aad", 3},     type,       {b[MP_RAW].data, b[MP_RAW].len}};
    uint8_t tag[MLS_MAX_HASH];
    memset(tag, 0x5a, sizeof tag);
    const uint8_t *t = type == MLS_CONTENT_COMMIT ? tag : NULL;
    xw_buf_reset(&b[MP_OUT]);
    int prc = private_msg ? mls_protect_private(&sctx, &fc, k, t, 64, &b[MP_OUT], &eb)
                          : mls_protect_public(&sctx, &fc, k, t, &b[MP_OUT], &eb);
    if (!private_msg && type == MLS_CONTENT_APPLICATION) {
        if (prc != XW_EMLS_WIREFORMAT)
            vt_fail(c, "protecting application data as a PublicMessage is not refused");
        else
            rc = VT_PASS;
        goto done;
    }
    if (prc) {
        vt_fail(c, "%s protect of content type %u fails: %s", what, type, eb.msg);
        goto done;
    }
    if (mls_unprotect(&rctx, b[MP_OUT].data, b[MP_OUT].len, &u, &eb)) {
        vt_fail(c, "our own %s of content type %u does not unprotect: %s", what, type, eb.msg);
        goto done;
    }
    if (u.ac.content.content.len != b[MP_RAW].len ||
        memcmp(u.ac.content.content.p, b[MP_RAW].data, b[MP_RAW].len) != 0 ||
        u.ac.content.authenticated_data.len != 3 ||
        (t && memcmp(u.ac.auth.confirmation_tag.p, tag, s->nh) != 0)) {
        vt_fail(c, "our own %s of content type %u round-trips to different content", what, type);
        goto done;
    }
    rc = VT_PASS;
done:
    mls_unprotected_free(&u);
    mls_secret_tree_free(snd);
    mls_secret_tree_free(rcv);
    return rc;
}

int vt_message_protection(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int rc = vt_suite(c, e, &s);
    if (rc != VT_PASS)
        return rc;
    xw_buf b[MP_N];
    for (int i = 0; i < MP_N; i++)
        xw_buf_init(&b[i], VT_MAX_BUF);
    mls_sig_priv k;
    memset(&k, 0, sizeof k);
    uint64_t epoch;
    rc = VT_FAIL;
    if (vt_hex(c, e, "group_id", &b[MP_GID]) || vt_uint(c, e, "epoch", &epoch) ||
        vt_hex(c, e, "tree_hash", &b[MP_TREE]) || vt_hex(c, e, "confirmed_transcript_hash", &b[MP_CTH]) ||
        vt_hex(c, e, "signature_priv", &b[MP_SPRIV]) || vt_hex(c, e, "signature_pub", &b[MP_SPUB]) ||
        vt_hex(c, e, "encryption_secret", &b[MP_ENC]) || vt_hex(c, e, "sender_data_secret", &b[MP_SDS]) ||
        vt_hex(c, e, "membership_key", &b[MP_MEM]))
        goto done;
    if (b[MP_ENC].len != s->nh || b[MP_SDS].len != s->nh || b[MP_MEM].len != s->nh) {
        vt_fail(c, "a secret is not Nh bytes");
        goto done;
    }
    mls_group_context gc = {MLS_PROTOCOL_VERSION_10,
                            s->id,
                            {b[MP_GID].data, b[MP_GID].len},
                            epoch,
                            {b[MP_TREE].data, b[MP_TREE].len},
                            {b[MP_CTH].data, b[MP_CTH].len},
                            {NULL, 0}};
    mls_writer w;
    mls_writer_init(&w, &b[MP_GC]);
    mls_group_context_write(&w, &gc);
    xw_errbuf eb = {{0}};
    if (w.err || mls_sig_priv_from_seed(s, b[MP_SPRIV].data, b[MP_SPRIV].len, &k, &eb)) {
        vt_fail(c, "setup: %s", eb.msg);
        goto done;
    }
    one_signer signer = {{b[MP_SPUB].data, b[MP_SPUB].len}, 1};
    static const struct {
        const char *raw, *msg;
        uint8_t type;
    } msgs[] = {
        {"proposal", "proposal_pub", MLS_CONTENT_PROPOSAL},
        {"proposal", "proposal_priv", MLS_CONTENT_PROPOSAL},
        {"commit", "commit_pub", MLS_CONTENT_COMMIT},
        {"commit", "commit_priv", MLS_CONTENT_COMMIT},
        {"application", "application_priv", MLS_CONTENT_APPLICATION},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        if (vt_hex(c, e, msgs[i].raw, &b[MP_RAW]) || vt_hex(c, e, msgs[i].msg, &b[MP_MSG]))
            goto done;
        if (open_and_compare(c, s, b, &signer, msgs[i].msg, msgs[i].type) != VT_PASS)
            goto done;
        for (int priv = 0; priv < 2; priv++)
            if (round_trip(c, s, b, &signer, &k, msgs[i].type, priv) != VT_PASS)
                goto done;
    }
    rc = VT_PASS;
done:
    mls_sig_priv_wipe(&k);
    for (int i = 0; i < MP_N; i++)
        xw_buf_free(&b[i]);
    return rc;
}

int vt_transcript_hashes(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int rc = vt_suite(c, e, &s);
    if (rc != VT_PASS)
        return rc;
    xw_buf key, acb, before, input;
    xw_buf_init(&key, VT_MAX_BUF);
    xw_buf_init(&acb, VT_MAX_BUF);
    xw_buf_init(&before, VT_MAX_BUF);
    xw_buf_init(&input, VT_MAX_BUF);
    rc = VT_FAIL;
    if (vt_hex(c, e, "confirmation_key", &key) || vt_hex(c, e, "authenticated_content", &acb) ||
        vt_hex(c, e, "interim_transcript_hash_before", &before))
        goto done;
    xw_errbuf eb = {{0}};
    mls_reader r;
    mls_authenticated_content ac;
    mls_reader_init(&r, acb.data, acb.len, &eb);
    if (mls_authenticated_content_read(&r, &ac) || mls_reader_finish(&r, "AuthenticatedContent")) {
        vt_fail(c, "authenticated_content does not decode: %s", eb.msg);
        goto done;
    }
    if (ac.content.content_type != MLS_CONTENT_COMMIT || key.len != s->nh) {
        vt_fail(c, "authenticated_content is not a commit, or the key is not Nh bytes");
        goto done;
    }
    /* re-encoding the decoded content gives back the input */
    mls_writer w;
    mls_writer_init(&w, &input);
    mls_authenticated_content_write(&w, &ac);
    if (w.err || input.len != acb.len || memcmp(input.data, acb.data, acb.len) != 0) {
        vt_fail(c, "authenticated_content does not re-encode to the same bytes");
        goto done;
    }
    xw_buf_reset(&input);
    mls_writer_init(&w, &input);
    mls_confirmed_transcript_input_write(&w, &ac);
    uint8_t confirmed[MLS_MAX_HASH], interim[MLS_MAX_HASH], tag[MLS_MAX_HASH];
    if (w.err ||
        mls_confirmed_transcript_hash(s, before.data, before.len, input.data, input.len, confirmed) ||
        vt_expect(c, e, "confirmed_transcript_hash_after", confirmed, s->nh))
        goto done;
    if (mls_confirmation_tag(s, key.data, confirmed, tag) || ac.auth.confirmation_tag.len != s->nh ||
        memcmp(tag, ac.auth.confirmation_tag.p, s->nh) != 0) {
        vt_fail(
            c, "the confirmation tag in the content is not MAC(confirmation_key, confirmed_transcript_hash)");
        goto done;
    }
    if (mls_interim_transcript_hash(s, confirmed, ac.auth.confirmation_tag.p, ac.auth.confirmation_tag.len,
                                    interim) ||
        vt_expect(c, e, "interim_transcript_hash_after", interim, s->nh))
        goto done;
    rc = VT_PASS;
done:
    xw_buf_free(&key);
    xw_buf_free(&acb);
    xw_buf_free(&before);
    xw_buf_free(&input);
    return rc;
}
