/*
 * Unit tests for mls/ framing: protect/unprotect round trips, out-of-order delivery, replays,
 * failures that must leave the ratchet untouched (bad signature, wrong epoch), refusals
 * (application data in a PublicMessage), decoder regressions, and allocation failures on
 * every step of unprotect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/alloc.h"
#include "mls/framing.h"
#include "mls/key_schedule.h"
#include "mls/secret_tree.h"

typedef struct {
    const mls_suite *s;
    mls_sig_priv signer, other;
    uint8_t enc[32], sds[32], mem[32], th[32];
    xw_buf gc;
    mls_secret_tree *snd, *rcv;
    mls_framing_ctx sctx, rctx;
    const mls_sig_priv *lookup_key; /* what the receiver believes the sender's key is */
} fixture;

static int lookup(void *arg, const mls_sender *sender, mls_span *pub, xw_errbuf *eb)
{
    fixture *f = arg;
    if (sender->type != MLS_SENDER_MEMBER || sender->index >= 4)
        return xw_errf(eb, XW_EMLS_SENDER, "leaf %u is not a member", sender->index);
    *pub = (mls_span){f->lookup_key->pub, f->lookup_key->pub_len};
    return XW_OK;
}

static int setup(void **state)
{
    fixture *f = xw_calloc(1, sizeof *f);
    f->s = mls_suite_get(3);
    memset(f->enc, 1, 32);
    memset(f->sds, 2, 32);
    memset(f->mem, 3, 32);
    memset(f->th, 4, 32);
    mls_sig_priv_generate(f->s, &f->signer);
    mls_sig_priv_generate(f->s, &f->other);
    f->lookup_key = &f->signer;
    mls_group_context gc = {1, 3, {(const uint8_t *)"group", 5}, 9, {f->th, 32}, {f->th, 32}, {NULL, 0}};
    xw_buf_init(&f->gc, 1024);
    mls_writer w;
    mls_writer_init(&w, &f->gc);
    mls_group_context_write(&w, &gc);
    assert_int_equal(mls_secret_tree_new(f->s, f->enc, 4, NULL, &f->snd, NULL), XW_OK);
    assert_int_equal(mls_secret_tree_new(f->s, f->enc, 4, NULL, &f->rcv, NULL), XW_OK);
    assert_int_equal(
        mls_framing_ctx_init(&f->sctx, f->s, f->gc.data, f->gc.len, f->mem, f->sds, f->snd, NULL, NULL, NULL),
        XW_OK);
    assert_int_equal(
        mls_framing_ctx_init(&f->rctx, f->s, f->gc.data, f->gc.len, f->mem, f->sds, f->rcv, lookup, f, NULL),
        XW_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mls_secret_tree_free(f->snd);
    mls_secret_tree_free(f->rcv);
    xw_buf_free(&f->gc);
    xw_free(f);
    return 0;
}

static mls_framed_content app(const char *text)
{
    mls_framed_content fc = {{(const uint8_t *)"group", 5}, 9,
                             {MLS_SENDER_MEMBER, 2},        {NULL, 0},
                             MLS_CONTENT_APPLICATION,       {(const uint8_t *)text, strlen(text)}};
    return fc;
}

static void protect(fixture *f, const char *text, xw_buf *out)
{
    mls_framed_content fc = app(text);
    xw_buf_init(out, 1 << 16);
    assert_int_equal(mls_protect_private(&f->sctx, &fc, &f->signer, NULL, 32, out, NULL), XW_OK);
}

static void expect_text(mls_unprotected *u, const char *text)
{
    assert_int_equal(u->ac.content.content.len, strlen(text));
    assert_memory_equal(u->ac.content.content.p, text, strlen(text));
    assert_int_equal(u->ac.content.sender.index, 2);
}

static void test_out_of_order_and_replay(void **state)
{
    fixture *f = *state;
    xw_buf m[3];
    protect(f, "one", &m[0]);
    protect(f, "two", &m[1]);
    protect(f, "three", &m[2]);
    mls_unprotected u;
    mls_unprotected_init(&u);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_unprotect(&f->rctx, m[2].data, m[2].len, &u, &eb), XW_OK);
    expect_text(&u, "three");
    assert_int_equal(u.generation, 2);
    assert_int_equal(mls_unprotect(&f->rctx, m[0].data, m[0].len, &u, &eb), XW_OK);
    expect_text(&u, "one");
    assert_int_equal(mls_unprotect(&f->rctx, m[1].data, m[1].len, &u, &eb), XW_OK);
    expect_text(&u, "two");
    /* every one of them is a replay now, and a failed unprotect leaves the result empty */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mls_unprotect(&f->rctx, m[i].data, m[i].len, &u, &eb), XW_EMLS_GENERATION);
        assert_int_equal(u.buf.len, 0);
    }
    mls_unprotected_free(&u);
    for (int i = 0; i < 3; i++)
        xw_buf_free(&m[i]);
}

static void test_bad_signature_consumes_nothing(void **state)
{
    fixture *f = *state;
    xw_buf m;
    protect(f, "signed", &m);
    mls_unprotected u;
    mls_unprotected_init(&u);
    xw_errbuf eb = {{0}};
    xw_buf before, after;
    xw_buf_init(&before, 1 << 20);
    xw_buf_init(&after, 1 << 20);
    assert_int_equal(mls_secret_tree_encode(f->rcv, &before, NULL), XW_OK);
    f->lookup_key = &f->other; /* the receiver expects another key for leaf 2 */
    assert_int_equal(mls_unprotect(&f->rctx, m.data, m.len, &u, &eb), XW_EBADSIG);
    assert_non_null(strstr(eb.msg, "FramedContentTBS"));
    f->lookup_key = &f->signer;
    /* a bad tag: the content does not decrypt */
    m.data[m.len - 1] ^= 1;
    assert_int_equal(mls_unprotect(&f->rctx, m.data, m.len, &u, &eb), XW_EDECRYPT);
    m.data[m.len - 1] ^= 1;
    /* the secret tree is byte for byte what it was, the leaf's ratchets not even created */
    assert_int_equal(mls_secret_tree_encode(f->rcv, &after, NULL), XW_OK);
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);
    /* deferred consumption: opening changes nothing until the caller consumes */
    f->rctx.defer_consume = 1;
    assert_int_equal(mls_unprotect(&f->rctx, m.data, m.len, &u, &eb), XW_OK);
    xw_buf_reset(&after);
    assert_int_equal(mls_secret_tree_encode(f->rcv, &after, NULL), XW_OK);
    assert_memory_equal(after.data, before.data, before.len);
    assert_int_equal(mls_unprotected_consume(&f->rctx, &u, &eb), XW_OK);
    assert_int_equal(mls_unprotect(&f->rctx, m.data, m.len, &u, &eb), XW_EMLS_GENERATION);
    f->rctx.defer_consume = 0;
    xw_buf_free_secret(&before);
    xw_buf_free_secret(&after);
    /* the generation was not consumed by the failures: the genuine check succeeded */
    protect(f, "signed again", &after);
    assert_int_equal(mls_unprotect(&f->rctx, after.data, after.len, &u, &eb), XW_OK);
    expect_text(&u, "signed again");
    mls_unprotected_free(&u);
    xw_buf_free(&after);
    xw_buf_free(&m);
}

static void test_wrong_epoch_and_group(void **state)
{
    fixture *f = *state;
    xw_buf m;
    protect(f, "hello", &m);
    mls_group_context gc = {1, 3, {(const uint8_t *)"group", 5}, 10, {f->th, 32}, {f->th, 32}, {NULL, 0}};
    xw_buf gcb;
    xw_buf_init(&gcb, 1024);
    mls_writer w;
    mls_writer_init(&w, &gcb);
    mls_group_context_write(&w, &gc);
    mls_framing_ctx next;
    assert_int_equal(
        mls_framing_ctx_init(&next, f->s, gcb.data, gcb.len, f->mem, f->sds, f->rcv, lookup, f, NULL), XW_OK);
    mls_unprotected u;
    mls_unprotected_init(&u);
    xw_errbuf eb = {{0}};
    assert_int_equal(mls_unprotect(&next, m.data, m.len, &u, &eb), XW_EMLS_EPOCH);
    assert_non_null(strstr(eb.msg, "epoch 9"));
    /* protecting content of another epoch is refused too */
    mls_framed_content fc = app("x");
    fc.epoch = 3;
    xw_buf out;
    xw_buf_init(&out, 4096);
    assert_int_equal(mls_protect_private(&f->sctx, &fc, &f->signer, NULL, 0, &out, &eb), XW_EMLS_EPOCH);
    fc = app("x");
    fc.group_id = (mls_span){(const uint8_t *)"other", 5};
    assert_int_equal(mls_protect_private(&f->sctx, &fc, &f->signer, NULL, 0, &out, &eb), XW_EINVAL);
    assert_int_equal(out.len, 0);
    /* the original epoch still opens it */
    assert_int_equal(mls_unprotect(&f->rctx, m.data, m.len, &u, &eb), XW_OK);
    mls_unprotected_free(&u);
    xw_buf_free(&out);
    xw_buf_free(&gcb);
    xw_buf_free(&m);
}

static void test_public_message_rules(void **state)
{
    fixture *f = *state;
    xw_errbuf eb = {{0}};
    xw_buf out;
    xw_buf_init(&out, 1 << 16);
    mls_framed_content fc = app("not public");
    assert_int_equal(mls_protect_public(&f->sctx, &fc, &f->signer, NULL, &out, &eb), XW_EMLS_WIREFORMAT);
    /* a hand-made PublicMessage with application content is refused on receipt */
    uint8_t sig[64] = {0}, tag[32] = {0};
    mls_message m;
    memset(&m, 0, sizeof m);
    m.version = 1;
    m.wire_format = MLS_WIRE_FORMAT_PUBLIC_MESSAGE;
    m.pub.content = fc;
    m.pub.auth.signature = (mls_span){sig, 64};
    m.pub.membership_tag = (mls_span){tag, 32};
    assert_int_equal(mls_message_encode(&m, &out, &eb), XW_OK);
    mls_unprotected u;
    mls_unprotected_init(&u);
    assert_int_equal(mls_unprotect(&f->rctx, out.data, out.len, &u, &eb), XW_EMLS_WIREFORMAT);
    /* a proposal goes through; a commit needs its confirmation tag */
    static const uint8_t remove3[] = {0x00, 0x03, 0x00, 0x00, 0x00, 0x03};
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.content = (mls_span){remove3, sizeof remove3};
    xw_buf_reset(&out);
    assert_int_equal(mls_protect_public(&f->sctx, &fc, &f->signer, NULL, &out, &eb), XW_OK);
    assert_int_equal(mls_unprotect(&f->rctx, out.data, out.len, &u, &eb), XW_OK);
    assert_int_equal(u.ac.content.content_type, MLS_CONTENT_PROPOSAL);
    assert_int_equal(u.membership_tag.len, 32);
    static const uint8_t empty_commit[] = {0x00, 0x00};
    fc.content_type = MLS_CONTENT_COMMIT;
    fc.content = (mls_span){empty_commit, 2};
    assert_int_equal(mls_protect_public(&f->sctx, &fc, &f->signer, NULL, &out, &eb), XW_EINVAL);
    /* a proposal that is not a well-formed Proposal cannot be decoded */
    static const uint8_t bogus[] = {0x00, 0x63, 0x01};
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.content = (mls_span){bogus, sizeof bogus};
    xw_buf_reset(&out);
    assert_int_equal(mls_protect_public(&f->sctx, &fc, &f->signer, NULL, &out, &eb), XW_EINVAL);
    assert_non_null(strstr(eb.msg, "proposal type 99"));
    assert_int_equal(out.len, 0);
    m.pub.content = fc;
    assert_int_equal(mls_message_encode(&m, &out, &eb), XW_OK);
    assert_int_equal(mls_unprotect(&f->rctx, out.data, out.len, &u, &eb), XW_EUNSUPPORTED);
    assert_non_null(strstr(eb.msg, "proposal type 99"));
    /* an external sender may not send a commit */
    fc.content_type = MLS_CONTENT_COMMIT;
    fc.content = (mls_span){empty_commit, 2};
    fc.sender = (mls_sender){MLS_SENDER_EXTERNAL, 0};
    m.pub.content = fc;
    m.pub.auth.confirmation_tag = (mls_span){tag, 32};
    xw_buf_reset(&out);
    assert_int_equal(mls_message_encode(&m, &out, &eb), XW_OK);
    assert_int_equal(mls_unprotect(&f->rctx, out.data, out.len, &u, &eb), XW_EMLS_SENDER);
    mls_unprotected_free(&u);
    xw_buf_free(&out);
}

static void test_decoder_regressions(void **state)
{
    (void)state;
    mls_message m;
    xw_errbuf eb = {{0}};
    /* found by fuzz_mls_message: wire format 0 used to decode as an empty message */
    static const uint8_t wf0[] = {0x00, 0x01, 0x00, 0x00};
    assert_int_equal(mls_message_decode(wf0, sizeof wf0, &m, &eb), XW_EUNSUPPORTED);
    static const uint8_t v2[] = {0x00, 0x02, 0x00, 0x01};
    assert_int_equal(mls_message_decode(v2, sizeof v2, &m, &eb), XW_EUNSUPPORTED);
    static const uint8_t truncated[] = {0x00, 0x01, 0x00, 0x02, 0x05, 'a'};
    assert_int_equal(mls_message_decode(truncated, sizeof truncated, &m, &eb), XW_ETRUNCATED);
}

static void test_unprotect_allocation_failures(void **state)
{
    fixture *f = *state;
    xw_buf first, m;
    protect(f, "first", &first);
    protect(f, "under memory pressure", &m);
    mls_unprotected u;
    /* The first message from a leaf creates its ratchets, state the tree keeps: receive one
     * before counting. */
    mls_unprotected_init(&u);
    assert_int_equal(mls_unprotect(&f->rctx, first.data, first.len, &u, NULL), XW_OK);
    mls_unprotected_free(&u);
    xw_buf_free(&first);
    int64_t live = xw_alloc_live();
    int ok = 0;
    for (uint64_t nth = 1; nth < 64 && !ok; nth++) {
        mls_unprotected_init(&u);
        xw_alloc_fail_at(nth, 0);
        int rc = mls_unprotect(&f->rctx, m.data, m.len, &u, NULL);
        xw_alloc_fail_at(0, 0);
        if (rc == XW_OK) {
            expect_text(&u, "under memory pressure");
            ok = 1;
        } else {
            assert_int_equal(u.buf.len, 0);
        }
        mls_unprotected_free(&u);
        assert_int_equal(xw_alloc_live(), live);
    }
    assert_true(ok);
    xw_buf_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_out_of_order_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature_consumes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_epoch_and_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_message_rules, setup, teardown),
        cmocka_unit_test(test_decoder_regressions),
        cmocka_unit_test_setup_teardown(test_unprotect_allocation_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
