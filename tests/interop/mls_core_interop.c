/*
 * Interop with ts-mls (tests/interop/mls_core_interop.sh): `mls-core-interop IN.json OUT.json`.
 * IN.json comes from mls_core_peer.mjs: Bob's view of an epoch of a two-member suite-1 group
 * that ts-mls made, and messages Alice protected with ts-mls. This program unprotects them
 * with mls/ (as Bob), checks their content, then protects replies as Bob and writes them to
 * OUT.json for ts-mls to process as Alice. Prints "N passed, N failed" for its own checks.
 *
 * ts-mls keeps per-leaf ratchet secrets rather than the encryption secret, so Bob's secret
 * tree is loaded through the persisted-state format of mls/secret_tree.c (version 1).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "mls/framing.h"
#include "mls/key_schedule.h"
#include "mls/secret_tree.h"

typedef struct {
    xw_buf keys[8];
    size_t n;
} signers;

static int lookup(void *arg, const mls_sender *sender, mls_span *pub, xw_errbuf *eb)
{
    signers *s = arg;
    if (sender->type != MLS_SENDER_MEMBER || sender->index >= s->n || s->keys[sender->index].len == 0)
        return xw_errf(eb, XW_EMLS_SENDER, "leaf %u is not a member", sender->index);
    *pub = (mls_span){s->keys[sender->index].data, s->keys[sender->index].len};
    return XW_OK;
}

static int hexfield(json_t *o, const char *k, xw_buf *out)
{
    json_t *v = json_object_get(o, k);
    xw_buf_reset(out);
    if (!json_is_string(v) || xw_hex_decode(json_string_value(v), json_string_length(v), out)) {
        printf("FAIL input: field %s is missing or not hex\n", k);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mls-core-interop IN.json OUT.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *in = json_load_file(argv[1], 0, &jerr);
    if (!in) {
        printf("FAIL cannot read %s: %s\n0 passed, 1 failed\n", argv[1], jerr.text);
        return 1;
    }
    int pass = 0, fail = 0;
    const mls_suite *s = mls_suite_get((uint16_t)json_integer_value(json_object_get(in, "cipher_suite")));
    xw_buf gc, sds, mem, tmp, state, seed;
    xw_buf_init(&gc, 1 << 20);
    xw_buf_init(&sds, 1024);
    xw_buf_init(&mem, 1024);
    xw_buf_init(&tmp, 1 << 20);
    xw_buf_init(&state, 1 << 20);
    xw_buf_init(&seed, 1024);
    signers sig = {.n = 0};
    for (int i = 0; i < 8; i++)
        xw_buf_init(&sig.keys[i], 64);
    mls_secret_tree *st = NULL;
    json_t *replies = json_array();
    xw_errbuf eb = {{0}};
    if (!s || hexfield(in, "group_context", &gc) || hexfield(in, "sender_data_secret", &sds) ||
        hexfield(in, "membership_key", &mem) || hexfield(in, "bob_signature_priv", &seed)) {
        fail++;
        goto done;
    }
    /* the secret tree: ts-mls lists one entry per node; leaf i is entry 2i */
    json_t *nodes = json_object_get(in, "leaves");
    uint32_t n_leaves = (uint32_t)(json_array_size(nodes) + 1) / 2;
    mls_writer w;
    mls_writer_init(&w, &state);
    mls_write_u8(&w, 1);
    mls_write_u16(&w, s->id);
    mls_write_u32(&w, n_leaves);
    mls_write_u32(&w, MLS_SECRET_TREE_DEFAULT_OUT_OF_ORDER);
    mls_write_u32(&w, MLS_SECRET_TREE_DEFAULT_MAX_FORWARD);
    mls_write_varint(&w, 0); /* no node secrets left */
    size_t m = mls_write_vec_begin(&w);
    for (uint32_t i = 0; i < n_leaves; i++) {
        json_t *node = json_array_get(nodes, 2 * i);
        mls_write_u32(&w, i);
        static const char *const types[2] = {"handshake", "application"};
        for (int t = 0; t < 2; t++) {
            json_t *r = json_object_get(node, types[t]);
            if (hexfield(r, "secret", &tmp) || tmp.len != s->nh) {
                fail++;
                goto done;
            }
            mls_write_u32(&w, (uint32_t)json_integer_value(json_object_get(r, "generation")));
            mls_write_u8(&w, 0);
            mls_write_fixed(&w, tmp.data, tmp.len);
            mls_write_varint(&w, 0);
        }
    }
    mls_write_vec_end(&w, m);
    if (w.err || mls_secret_tree_decode(s, state.data, state.len, &st, &eb)) {
        printf("FAIL cannot load Bob's secret tree: %s\n", eb.msg);
        fail++;
        goto done;
    }
    json_t *keys = json_object_get(in, "signature_keys");
    for (size_t i = 0; i < json_array_size(keys) && i < 8; i++, sig.n++)
        if (json_is_string(json_array_get(keys, i)))
            xw_hex_decode(json_string_value(json_array_get(keys, i)),
                          json_string_length(json_array_get(keys, i)), &sig.keys[i]);
    mls_framing_ctx ctx;
    if (mls_framing_ctx_init(&ctx, s, gc.data, gc.len, mem.data, sds.data, st, lookup, &sig, &eb)) {
        printf("FAIL group context from ts-mls does not decode: %s\n", eb.msg);
        fail++;
        goto done;
    }

    /* 1. unprotect what ts-mls protected */
    json_t *msgs = json_object_get(in, "messages");
    mls_unprotected u;
    mls_unprotected_init(&u);
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *o = json_array_get(msgs, i);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        if (!kind || hexfield(o, "message", &tmp)) {
            fail++;
            continue;
        }
        if (mls_unprotect(&ctx, tmp.data, tmp.len, &u, &eb)) {
            printf("FAIL ts-mls %s message %zu does not unprotect: %s\n", kind, i, eb.msg);
            fail++;
            continue;
        }
        int ok = u.ac.content.sender.type == MLS_SENDER_MEMBER && u.ac.content.sender.index == 0;
        if (strcmp(kind, "application") == 0) {
            xw_buf want;
            xw_buf_init(&want, 1 << 20);
            ok = ok && hexfield(o, "text", &want) == 0 &&
                 u.ac.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE &&
                 u.ac.content.content.len == want.len &&
                 (want.len == 0 || memcmp(u.ac.content.content.p, want.data, want.len) == 0);
            xw_buf_free(&want);
        } else {
            /* a Remove of leaf 1 as a PublicMessage */
            static const uint8_t remove1[] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x01};
            ok = ok && u.ac.wire_format == MLS_WIRE_FORMAT_PUBLIC_MESSAGE &&
                 u.ac.content.content_type == MLS_CONTENT_PROPOSAL &&
                 u.ac.content.content.len == sizeof remove1 &&
                 memcmp(u.ac.content.content.p, remove1, sizeof remove1) == 0;
        }
        if (ok) {
            pass++;
        } else {
            printf("FAIL ts-mls %s message %zu: unexpected sender or content\n", kind, i);
            fail++;
        }
    }
    mls_unprotected_free(&u);

    /* 2. protect replies as Bob (ts-mls stores his Ed25519 key as PKCS#8: the seed is its tail) */
    mls_sig_priv bob;
    if (seed.len < 32 || mls_sig_priv_from_seed(s, seed.data + seed.len - 32, 32, &bob, &eb) ||
        bob.pub_len != sig.keys[1].len || memcmp(bob.pub, sig.keys[1].data, bob.pub_len) != 0) {
        printf("FAIL Bob's signature key from ts-mls does not match his leaf\n");
        fail++;
        goto done;
    }
    static const char *const texts[] = {"hello from C", "second reply from mls/", ""};
    for (size_t i = 0; i < 3; i++) {
        mls_framed_content fc = {ctx.group_id,
                                 ctx.epoch,
                                 {MLS_SENDER_MEMBER, 1},
                                 {NULL, 0},
                                 MLS_CONTENT_APPLICATION,
                                 {(const uint8_t *)texts[i], strlen(texts[i])}};
        xw_buf_reset(&tmp);
        if (mls_protect_private(&ctx, &fc, &bob, NULL, i == 1 ? 32 : 0, &tmp, &eb)) {
            printf("FAIL protect reply %zu: %s\n", i, eb.msg);
            fail++;
            continue;
        }
        char *hm = xw_malloc(2 * tmp.len + 1), *ht = xw_malloc(2 * strlen(texts[i]) + 1);
        xw_hex_encode(tmp.data, tmp.len, hm);
        xw_hex_encode((const uint8_t *)texts[i], strlen(texts[i]), ht);
        json_array_append_new(replies, json_pack("{s:s, s:s}", "message", hm, "text", ht));
        xw_free(hm);
        xw_free(ht);
        pass++;
    }
    mls_sig_priv_wipe(&bob);
    json_t *outj =
        json_pack("{s:O, s:O}", "alice_state", json_object_get(in, "alice_state"), "replies", replies);
    if (json_dump_file(outj, argv[2], 0) != 0) {
        printf("FAIL cannot write %s\n", argv[2]);
        fail++;
    }
    json_decref(outj);
done:
    json_decref(replies);
    mls_secret_tree_free(st);
    xw_buf_free(&gc);
    xw_buf_free(&sds);
    xw_buf_free(&mem);
    xw_buf_free(&tmp);
    xw_buf_free_secret(&state);
    xw_buf_free_secret(&seed);
    for (int i = 0; i < 8; i++)
        xw_buf_free(&sig.keys[i]);
    json_decref(in);
    printf("%d passed, %d failed\n", pass, fail);
    return fail ? 1 : 0;
}
