/*
 * libFuzzer target for loading a saved group state (mls_group_load: the bytes an
 * application keeps in SQLite). The first input byte picks a mode: even: the rest is the
 * state; odd: (offset, xor) triples applied to a valid saved state of a three-member group
 * with a past epoch, a cached proposal and a staged commit. A state that loads must save back
 * to bytes that load again.
 */
#include <stdlib.h>

#include "tests/fuzz/fuzz_mls_group_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static xw_buf valid;
static int ready;

static void setup(void)
{
    const mls_suite *s = mls_suite_get(1);
    mls_group_config cfg;
    mls_group_config_default(&cfg);
    cfg.now = 1;
    xw_buf kp[3];
    mls_key_package_secrets sec[3];
    const char *names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        fz_kp(s, names[i], &kp[i], &sec[i]);
    mls_group *a = NULL, *b = NULL;
    mls_group_create(&cfg, (const uint8_t *)"fuzz", 4, kp[0].data, kp[0].len, &sec[0], NULL, 0, &a, NULL);
    const uint8_t *kps[2] = {kp[1].data, kp[2].data};
    size_t lens[2] = {kp[1].len, kp[2].len};
    mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = 2};
    xw_buf cm, wm, prop;
    xw_buf_init(&cm, 1 << 24);
    xw_buf_init(&wm, 1 << 24);
    xw_buf_init(&prop, 1 << 24);
    mls_group_commit(a, &o, &cm, &wm, NULL);
    mls_group_commit_confirm(a, NULL);
    mls_group_join(&cfg, wm.data, wm.len, kp[1].data, kp[1].len, &sec[1], NULL, 0, NULL, 0, &b, NULL);
    mls_group_propose_remove(b, 2, &prop, NULL);
    mls_received r;
    mls_received_init(&r);
    mls_group_receive(a, prop.data, prop.len, &r, NULL);
    mls_received_free(&r);
    mls_commit_opts none = {0};
    xw_buf_reset(&cm);
    mls_group_commit(a, &none, &cm, &wm, NULL); /* staged */
    xw_buf_init(&valid, (size_t)1 << 26);
    if (mls_group_save(a, &valid) != XW_OK)
        abort();
    mls_group_free(a);
    mls_group_free(b);
    for (int i = 0; i < 3; i++) {
        xw_buf_free(&kp[i]);
        mls_key_package_secrets_wipe(&sec[i]);
    }
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    xw_buf_free(&prop);
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 1)
        return 0;
    xw_buf in, out;
    xw_buf_init(&in, (size_t)1 << 26);
    xw_buf_init(&out, (size_t)1 << 26);
    if (data[0] & 1)
        fz_mutate(&valid, data + 1, size - 1, &in);
    else
        xw_buf_append(&in, data + 1, size - 1);
    mls_group *g = NULL;
    if (mls_group_load(in.data, in.len, &g, NULL) == XW_OK) {
        if (mls_group_save(g, &out) != XW_OK)
            abort();
        mls_group *h = NULL;
        if (mls_group_load(out.data, out.len, &h, NULL) != XW_OK)
            abort(); /* what we save must load */
        mls_group_free(h);
    }
    mls_group_free(g);
    xw_buf_free(&in);
    xw_buf_free(&out);
    return 0;
}
