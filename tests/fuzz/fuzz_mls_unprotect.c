/*
 * libFuzzer target for mls_unprotect against a fixed group state (suite 3, 4 leaves, fixed
 * epoch secrets, every member signing with one fixed key). The first input byte picks a mode:
 * even: the rest is the whole message; odd: the rest is a list of (offset, xor) byte pairs
 * applied to a valid PrivateMessage or PublicMessage made at start-up, so that the fuzzer
 * reaches the decryption, padding and signature checks. The secret tree is rebuilt for
 * every input so that runs do not depend on each other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "mls/framing.h"
#include "mls/key_schedule.h"
#include "mls/secret_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const mls_suite *suite;
static uint8_t gc_bytes[256], enc_secret[32], sd_secret[32], mem_key[32];
static size_t gc_len;
static mls_sig_priv signer;
static xw_buf valid[4];

static int lookup(void *arg, const mls_sender *sender, mls_span *pub, xw_errbuf *eb)
{
    (void)arg;
    if (sender->type != MLS_SENDER_MEMBER || sender->index >= 4)
        return xw_errf(eb, XW_EMLS_SENDER, "no such member");
    *pub = (mls_span){signer.pub, signer.pub_len};
    return XW_OK;
}

static void setup(void)
{
    suite = mls_suite_get(3);
    memset(enc_secret, 1, 32);
    memset(sd_secret, 2, 32);
    memset(mem_key, 3, 32);
    uint8_t seed[32] = {4}, th[32] = {5}, cth[32] = {6};
    mls_sig_priv_from_seed(suite, seed, 32, &signer, NULL);
    mls_group_context gc = {1, 3, {(const uint8_t *)"fuzz-group", 10}, 7, {th, 32}, {cth, 32}, {NULL, 0}};
    xw_buf b;
    xw_buf_init(&b, sizeof gc_bytes);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_group_context_write(&w, &gc);
    memcpy(gc_bytes, b.data, b.len);
    gc_len = b.len;
    xw_buf_free(&b);
    /* valid messages: application and commit as PrivateMessage, proposal and commit as PublicMessage */
    static const uint8_t proposal[] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x02}; /* Remove leaf 2 */
    static const uint8_t commit[] = {0x00, 0x00};                           /* no proposals, no path */
    uint8_t tag[32] = {9};
    for (int i = 0; i < 4; i++) {
        mls_secret_tree *st;
        mls_framing_ctx ctx;
        mls_secret_tree_new(suite, enc_secret, 4, NULL, &st, NULL);
        mls_framing_ctx_init(&ctx, suite, gc_bytes, gc_len, mem_key, sd_secret, st, lookup, NULL, NULL);
        mls_framed_content fc = {{(const uint8_t *)"fuzz-group", 10}, 7, {MLS_SENDER_MEMBER, 1},
                                 {(const uint8_t *)"ad", 2},          0, {NULL, 0}};
        xw_buf_init(&valid[i], 1 << 16);
        if (i == 0) {
            fc.content_type = MLS_CONTENT_APPLICATION;
            fc.content = (mls_span){(const uint8_t *)"hello fuzzer", 12};
            mls_protect_private(&ctx, &fc, &signer, NULL, 16, &valid[i], NULL);
        } else if (i == 1) {
            fc.content_type = MLS_CONTENT_COMMIT;
            fc.content = (mls_span){commit, sizeof commit};
            mls_protect_private(&ctx, &fc, &signer, tag, 0, &valid[i], NULL);
        } else if (i == 2) {
            fc.content_type = MLS_CONTENT_PROPOSAL;
            fc.content = (mls_span){proposal, sizeof proposal};
            mls_protect_public(&ctx, &fc, &signer, NULL, &valid[i], NULL);
        } else {
            fc.content_type = MLS_CONTENT_COMMIT;
            fc.content = (mls_span){commit, sizeof commit};
            mls_protect_public(&ctx, &fc, &signer, tag, &valid[i], NULL);
        }
        mls_secret_tree_free(st);
        if (valid[i].len == 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!suite)
        setup();
    if (size < 1)
        return 0;
    xw_buf msg;
    xw_buf_init(&msg, 1 << 20);
    if ((data[0] & 1) == 0) {
        xw_buf_append(&msg, data + 1, size - 1);
    } else {
        const xw_buf *v = &valid[(data[0] >> 1) & 3];
        xw_buf_append(&msg, v->data, v->len);
        for (size_t i = 1; i + 1 < size; i += 2)
            msg.data[data[i] % msg.len] ^= data[i + 1];
        if (size % 2 == 0 && msg.len > 1) /* an odd tail byte truncates */
            msg.len -= data[size - 1] % msg.len;
    }
    mls_secret_tree *st;
    mls_framing_ctx ctx;
    if (mls_secret_tree_new(suite, enc_secret, 4, NULL, &st, NULL) != XW_OK)
        abort();
    mls_framing_ctx_init(&ctx, suite, gc_bytes, gc_len, mem_key, sd_secret, st, lookup, NULL, NULL);
    mls_unprotected u;
    mls_unprotected_init(&u);
    xw_errbuf eb;
    int rc = mls_unprotect(&ctx, msg.data, msg.len, &u, &eb);
    if (rc == XW_OK) {
        /* accepted: it must be one of ours, and a replay of a PrivateMessage must fail */
        if (u.ac.content.sender.index != 1)
            abort();
        if (u.ac.wire_format == MLS_WIRE_FORMAT_PRIVATE_MESSAGE) {
            mls_unprotected again;
            mls_unprotected_init(&again);
            if (mls_unprotect(&ctx, msg.data, msg.len, &again, NULL) != XW_EMLS_GENERATION)
                abort();
            mls_unprotected_free(&again);
        }
    } else if (u.buf.len != 0) {
        abort(); /* a failure leaves the result empty */
    } else if (size == 1 && (data[0] & 1)) {
        abort(); /* an unmodified valid message must be accepted */
    }
    mls_unprotected_free(&u);
    mls_secret_tree_free(st);
    xw_buf_free(&msg);
    return 0;
}
