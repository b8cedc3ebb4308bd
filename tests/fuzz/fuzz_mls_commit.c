/*
 * libFuzzer target for commit processing against a fixed group (four members, suite 3).
 * The first input byte picks a mode:
 *   0: the rest is a Commit body, processed as if member (byte 1 % 4) sent it (framing and
 *      its signature are assumed checked: this reaches proposal lists, update paths,
 *      decryption and the key schedule);
 *   1: the rest is (offset, xor) triples applied to a valid Commit body (an add plus a path);
 *   2: the rest is a whole MLSMessage given to mls_group_process;
 *   3: (offset, xor) triples applied to that valid commit's whole PublicMessage.
 * The member has a leaf check that refuses every leaf for one input in seven (picked by the
 * last input byte), so refusals are fuzzed too. Every rejected input, and every accepted
 * commit that is then discarded, must leave the saved group state byte-identical; a change
 * report must be consistent (counts, spans inside the leaves they describe): the target
 * aborts otherwise.
 */
#include <stdlib.h>

#include "mls/framing.h"
#include "mls/group_int.h"
#include "tests/fuzz/fuzz_mls_group_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mls_group *member; /* leaf 2's view */
static xw_buf saved, valid_msg, valid_body;
static int refuse_all;

static void check_view(const mls_leaf_view *v)
{
    if (!v->leaf_node.p || v->signature_key.p < v->leaf_node.p ||
        v->signature_key.p + v->signature_key.len > v->leaf_node.p + v->leaf_node.len)
        abort(); /* a view points outside its leaf */
}

static int leaf_check(void *arg, const mls_leaf_event *ev, xw_errbuf *eb)
{
    (void)arg;
    check_view(&ev->leaf);
    if (ev->has_previous)
        check_view(&ev->previous);
    return refuse_all ? xw_errf(eb, XW_EDENIED, "refused by the fuzzer") : XW_OK;
}

static void check_changes(const mls_commit_changes *c)
{
    if (c->n != c->n_added + c->n_removed + c->n_updated)
        abort();
    for (size_t i = 0; i < c->n; i++) {
        check_view(&c->entries[i].leaf);
        if (c->entries[i].kind == MLS_ROSTER_UPDATED)
            check_view(&c->entries[i].previous);
    }
}

static void setup(void)
{
    const mls_suite *s = mls_suite_get(3);
    mls_group_config cfg;
    mls_group_config_default(&cfg);
    cfg.handshake_public = cfg.accept_public_handshake = 1;
    cfg.now = 1;
    xw_buf kp[5];
    mls_key_package_secrets sec[5];
    const char *names[5] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        fz_kp(s, names[i], &kp[i], &sec[i]);
    mls_group *g[4] = {0};
    mls_group_create(&cfg, (const uint8_t *)"fuzz", 4, kp[0].data, kp[0].len, &sec[0], NULL, 0, &g[0], NULL);
    const uint8_t *kps[3] = {kp[1].data, kp[2].data, kp[3].data};
    size_t lens[3] = {kp[1].len, kp[2].len, kp[3].len};
    mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = 3};
    xw_buf cm, wm;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    mls_group_commit(g[0], &o, &cm, &wm, NULL);
    mls_group_commit_confirm(g[0], NULL);
    for (int i = 1; i < 4; i++)
        mls_group_join(&cfg, wm.data, wm.len, kp[i].data, kp[i].len, &sec[i], NULL, 0, NULL, 0, &g[i], NULL);
    /* the valid commit: member 1 adds e, with a path */
    const uint8_t *k4[1] = {kp[4].data};
    size_t l4[1] = {kp[4].len};
    mls_commit_opts o2 = {.add_kps = k4, .add_lens = l4, .n_add = 1};
    xw_buf_init(&valid_msg, 1 << 24);
    xw_buf_init(&valid_body, 1 << 24);
    xw_buf_reset(&wm);
    if (mls_group_commit(g[1], &o2, &valid_msg, &wm, NULL) != XW_OK)
        abort();
    mls_message m;
    if (mls_message_decode(valid_msg.data, valid_msg.len, &m, NULL) != XW_OK)
        abort();
    xw_buf_append(&valid_body, m.pub.content.content.p, m.pub.content.content.len);
    member = g[2];
    mls_group_set_leaf_check(member, leaf_check, NULL);
    xw_buf_init(&saved, (size_t)1 << 26);
    mls_group_save(member, &saved);
    for (int i = 0; i < 4; i++)
        if (i != 2)
            mls_group_free(g[i]);
    for (int i = 0; i < 5; i++) {
        xw_buf_free(&kp[i]);
        mls_key_package_secrets_wipe(&sec[i]);
    }
    xw_buf_free(&cm);
    xw_buf_free(&wm);
}

static void check_unchanged(void)
{
    xw_buf now;
    xw_buf_init(&now, (size_t)1 << 26);
    mls_group_save(member, &now);
    if (now.len != saved.len || memcmp(now.data, saved.data, now.len) != 0)
        abort(); /* a rejected input changed the state */
    xw_buf_free(&now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!member)
        setup();
    if (size < 2)
        return 0;
    refuse_all = data[size - 1] % 7 == 0;
    xw_buf buf;
    xw_buf_init(&buf, 1 << 24);
    int mode = data[0] % 4;
    int rc;
    if (mode <= 1) {
        if (mode == 0)
            xw_buf_append(&buf, data + 2, size - 2);
        else
            fz_mutate(&valid_body, data + 1, size - 1, &buf);
        size_t gl;
        const uint8_t *gid = mls_group_id(member, &gl);
        uint8_t sig[64] = {0}, tag[32] = {0};
        mls_authenticated_content ac = {MLS_WIRE_FORMAT_PUBLIC_MESSAGE,
                                        {{gid, gl},
                                         mls_group_epoch(member),
                                         {MLS_SENDER_MEMBER, mode == 0 ? data[1] % 4u : 1},
                                         {NULL, 0},
                                         MLS_CONTENT_COMMIT,
                                         {buf.data, buf.len}},
                                        {{sig, 64}, {tag, 32}}};
        mls_group *next = NULL;
        int removed = 0;
        mls_commit_changes ch;
        memset(&ch, 0, sizeof ch);
        rc = mls_group_process_commit(member, &ac, &next, &removed, &ch, NULL);
        if (rc == XW_OK)
            check_changes(&ch);
        else if (ch.n)
            abort(); /* a failed commit reports nothing */
        mls_commit_changes_clear(&ch);
        mls_group_free(next);
        check_unchanged(); /* processing builds a fork; the group itself never changes */
    } else {
        if (mode == 2)
            xw_buf_append(&buf, data + 1, size - 1);
        else
            fz_mutate(&valid_msg, data + 1, size - 1, &buf);
        mls_received r;
        mls_received_init(&r);
        rc = mls_group_process(member, buf.data, buf.len, &r, NULL);
        if (rc == XW_OK && r.incoming) {
            /* an accepted commit waits aside: dropping it changes nothing, merging it moves on */
            check_changes(&r.changes);
            mls_group_incoming_discard(member);
            check_unchanged();
            rc = mls_group_receive(member, buf.data, buf.len, &r, NULL);
            if (rc != XW_OK)
                abort(); /* the same commit was accepted a moment ago */
        }
        mls_received_free(&r);
        if (rc == XW_OK) {
            /* an accepted message moved the group: start again from the saved state */
            mls_group_free(member);
            mls_group_load(saved.data, saved.len, &member, NULL);
            mls_group_set_leaf_check(member, leaf_check, NULL);
        } else {
            check_unchanged();
        }
    }
    xw_buf_free(&buf);
    return 0;
}
