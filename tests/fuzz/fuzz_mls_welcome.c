/*
 * libFuzzer target for joining from a Welcome (and for received ratchet trees), against
 * fixed key material (suite 3). The first input byte picks a mode:
 *   0: the rest is a Welcome (MLSMessage) for the fixed key package;
 *   1: (offset, xor) triples applied to a valid Welcome carrying the ratchet_tree extension;
 *   2: the rest is an out-of-band ratchet tree given with a valid Welcome that has none;
 *   3: the rest is a ratchet tree: decoded, hashed, validated;
 *   4: the rest is a KeyPackage (bare or MLSMessage): decoded and validated;
 *   5: the rest is a Proposal: decoded.
 */
#include <stdlib.h>

#include "mls/proposal.h"
#include "mls/tree.h"
#include "tests/fuzz/fuzz_mls_group_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const mls_suite *suite;
static mls_group_config cfg;
static xw_buf kp, welcome_tree, welcome_bare;
static mls_key_package_secrets sec;
static int ready;

static void setup(void)
{
    suite = mls_suite_get(3);
    mls_group_config_default(&cfg);
    cfg.now = 1;
    xw_buf ckp, okp;
    mls_key_package_secrets csec, osec;
    fz_kp(suite, "creator", &ckp, &csec);
    fz_kp(suite, "other", &okp, &osec);
    fz_kp(suite, "joiner", &kp, &sec);
    xw_buf_init(&welcome_tree, 1 << 24);
    xw_buf_init(&welcome_bare, 1 << 24);
    for (int with_tree = 1; with_tree >= 0; with_tree--) {
        cfg.ratchet_tree_in_welcome = with_tree;
        mls_group *g = NULL;
        mls_group_create(&cfg, (const uint8_t *)"fuzz", 4, ckp.data, ckp.len, &csec, NULL, 0, &g, NULL);
        const uint8_t *kps[2] = {okp.data, kp.data};
        size_t lens[2] = {okp.len, kp.len};
        mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = 2};
        xw_buf cm;
        xw_buf_init(&cm, 1 << 24);
        if (mls_group_commit(g, &o, &cm, with_tree ? &welcome_tree : &welcome_bare, NULL) != XW_OK)
            abort();
        xw_buf_free(&cm);
        mls_group_free(g);
    }
    cfg.ratchet_tree_in_welcome = 1;
    xw_buf_free(&ckp);
    xw_buf_free(&okp);
    mls_key_package_secrets_wipe(&csec);
    mls_key_package_secrets_wipe(&osec);
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 1)
        return 0;
    xw_buf buf;
    xw_buf_init(&buf, 1 << 24);
    mls_group *g = NULL;
    switch (data[0] % 6) {
    case 0:
        mls_group_join(&cfg, data + 1, size - 1, kp.data, kp.len, &sec, NULL, 0, NULL, 0, &g, NULL);
        break;
    case 1:
        fz_mutate(&welcome_tree, data + 1, size - 1, &buf);
        mls_group_join(&cfg, buf.data, buf.len, kp.data, kp.len, &sec, NULL, 0, NULL, 0, &g, NULL);
        break;
    case 2:
        mls_group_join(&cfg, welcome_bare.data, welcome_bare.len, kp.data, kp.len, &sec, data + 1, size - 1,
                       NULL, 0, &g, NULL);
        break;
    case 4: {
        mls_key_package *k = NULL;
        if (mls_key_package_decode(data + 1, size - 1, &k, NULL) == XW_OK)
            mls_key_package_validate(suite, k, 1, (mls_span){NULL, 0}, NULL);
        mls_key_package_free(k);
        break;
    }
    case 5: {
        mls_proposal *p = NULL;
        mls_proposal_decode(data + 1, size - 1, &p, NULL);
        mls_proposal_free(p);
        break;
    }
    default: {
        mls_tree *t = NULL;
        if (mls_tree_decode(suite, data + 1, size - 1, &t, NULL) == XW_OK) {
            uint8_t h[64];
            mls_tree_root_hash(t, h);
            mls_tree_validate(t, (mls_span){(const uint8_t *)"fuzz", 4}, (mls_span){NULL, 0}, NULL);
            xw_buf_reset(&buf);
            mls_tree_encode(t, &buf);
        }
        mls_tree_free(t);
    }
    }
    mls_group_free(g);
    xw_buf_free(&buf);
    return 0;
}
