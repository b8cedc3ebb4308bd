/*
 * Scale scenario: a group grows to 100 members, then lives through 200 epochs of random
 * adds, removes and updates (committers chosen at random among the members), with XMTP's
 * policy (every handshake a PrivateMessage). After every epoch every member must be at the
 * same epoch with the same epoch_authenticator; every 10 epochs a random member sends an
 * application message that every other member must read. Randomness of the choices comes
 * from a fixed seed (argv[1] overrides it), so a failure can be replayed.
 * Prints "N passed, N failed": one check per member processing a commit or joining, per
 * epoch agreement and per message round.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/parse.h"
#include "mls/group.h"
#include "mls/keypackage.h"

#define MAXM 200
#define TARGET 100
#define EPOCHS 200

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const mls_suite *suite;
static mls_group_config cfg;
static mls_group *m[MAXM];
static size_t n_slots;
static int passed, failed;

static int check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int check(int ok, const char *fmt, ...)
{
    if (ok) {
        passed++;
        return 1;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return 0;
}

static int make_kp(const char *name, xw_buf *kp, mls_key_package_secrets *sec)
{
    mls_sig_priv sig;
    mls_sig_priv_generate(suite, &sig);
    uint64_t now = (uint64_t)time(NULL);
    mls_key_package_opts o = {
        .identity = {(const uint8_t *)name, strlen(name)}, .not_before = now - 60, .not_after = now + 86400};
    xw_buf_init(kp, 1 << 20);
    int rc = mls_key_package_create(suite, &sig, &o, kp, sec, NULL);
    mls_sig_priv_wipe(&sig);
    return rc;
}

static size_t live(size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < n_slots; i++)
        if (m[i])
            idx[n++] = i;
    return n;
}

/* committer c commits; every other member processes it; new members join */
static int epoch(size_t c, size_t n_add, uint32_t *rm, size_t n_rm, const char *what)
{
    xw_buf kps[8], cm, wm;
    mls_key_package_secrets secs[8];
    const uint8_t *kpp[8];
    size_t lens[8];
    xw_errbuf eb = {{0}};
    for (size_t i = 0; i < n_add; i++) {
        char name[32];
        snprintf(name, sizeof name, "member-%zu", n_slots + i);
        if (make_kp(name, &kps[i], &secs[i]) != XW_OK)
            return check(0, "key package");
        kpp[i] = kps[i].data;
        lens[i] = kps[i].len;
    }
    xw_buf_init(&cm, 1 << 26);
    xw_buf_init(&wm, 1 << 26);
    mls_commit_opts o = {.add_kps = kpp, .add_lens = lens, .n_add = n_add, .remove = rm, .n_remove = n_rm};
    int ok =
        check(mls_group_commit(m[c], &o, &cm, &wm, &eb) == XW_OK, "%s: commit by %zu: %s", what, c, eb.msg);
    for (size_t i = 0; ok && i < n_slots; i++) {
        if (!m[i] || i == c)
            continue;
        mls_received r;
        mls_received_init(&r);
        ok = check(mls_group_receive(m[i], cm.data, cm.len, &r, &eb) == XW_OK, "%s: member %zu: %s", what, i,
                   eb.msg);
        if (ok && r.removed) {
            mls_group_free(m[i]);
            m[i] = NULL;
        }
        mls_received_free(&r);
    }
    if (ok)
        ok = check(mls_group_commit_confirm(m[c], &eb) == XW_OK, "%s: confirm", what);
    for (size_t i = 0; ok && i < n_add; i++) {
        ok = check(mls_group_join(&cfg, wm.data, wm.len, kps[i].data, kps[i].len, &secs[i], NULL, 0, NULL, 0,
                                  &m[n_slots], &eb) == XW_OK,
                   "%s: join: %s", what, eb.msg);
        n_slots++;
    }
    for (size_t i = 0; i < n_add; i++) {
        xw_buf_free(&kps[i]);
        mls_key_package_secrets_wipe(&secs[i]);
    }
    xw_buf_free(&cm);
    xw_buf_free(&wm);
    if (!ok)
        return 0;
    /* agreement */
    size_t idx[MAXM], n = live(idx), al, bl;
    const uint8_t *a = mls_group_epoch_authenticator(m[idx[0]], &al);
    int agree = 1;
    for (size_t k = 1; k < n; k++) {
        const uint8_t *b = mls_group_epoch_authenticator(m[idx[k]], &bl);
        agree &=
            mls_group_epoch(m[idx[k]]) == mls_group_epoch(m[idx[0]]) && al == bl && memcmp(a, b, al) == 0;
    }
    return check(agree, "%s: members disagree on the epoch authenticator", what);
}

static int messages(const char *what)
{
    size_t idx[MAXM], n = live(idx);
    size_t s = idx[rnd((uint32_t)n)];
    xw_buf msg;
    xw_buf_init(&msg, 1 << 20);
    xw_errbuf eb = {{0}};
    int ok = mls_group_send(m[s], (const uint8_t *)what, strlen(what), &msg, &eb) == XW_OK;
    for (size_t k = 0; ok && k < n; k++) {
        if (idx[k] == s)
            continue;
        mls_received r;
        mls_received_init(&r);
        ok = mls_group_receive(m[idx[k]], msg.data, msg.len, &r, &eb) == XW_OK &&
             r.data.len == strlen(what) && memcmp(r.data.data, what, r.data.len) == 0;
        mls_received_free(&r);
    }
    xw_buf_free(&msg);
    return check(ok, "%s: message round: %s", what, eb.msg);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        uint64_t seed;
        xw_errbuf peb = {{0}};
        if (xw_parse_u64("SEED", argv[1], 0, UINT64_MAX, &seed, &peb) != XW_OK) {
            fprintf(stderr, "usage: test_mls_scenario [SEED]: %s\n0 passed, 1 failed\n", peb.msg);
            return 2;
        }
        rng_state = seed | 1;
    }
    suite = mls_suite_get(3);
    mls_group_config_default(&cfg);
    xw_buf kp;
    mls_key_package_secrets sec;
    xw_errbuf eb = {{0}};
    if (make_kp("member-0", &kp, &sec) != XW_OK ||
        mls_group_create(&cfg, (const uint8_t *)"scenario", 8, kp.data, kp.len, &sec, NULL, 0, &m[0], &eb) !=
            XW_OK) {
        printf("cannot create the group: %s\n0 passed, 1 failed\n", eb.msg);
        return 1;
    }
    xw_buf_free(&kp);
    mls_key_package_secrets_wipe(&sec);
    n_slots = 1;
    /* grow to TARGET members, 8 per commit, committers at random */
    char what[64];
    while (n_slots < TARGET) {
        size_t idx[MAXM], n = live(idx), add = TARGET - n_slots < 8 ? TARGET - n_slots : 8;
        snprintf(what, sizeof what, "growth to %zu", n_slots + add);
        if (!epoch(idx[rnd((uint32_t)n)], add, NULL, 0, what))
            break;
    }
    for (int e = 0; e < EPOCHS && !failed; e++) {
        size_t idx[MAXM], n = live(idx);
        size_t c = idx[rnd((uint32_t)n)];
        uint32_t op = rnd(10), rm[2] = {0, 0};
        size_t n_rm = 0, n_add = 0;
        if ((op < 4 && n_slots + 2 < MAXM) || n < TARGET - 20) {
            n_add = 1 + rnd(2);
        } else if (op < 7 && n > 3) {
            n_rm = 1 + rnd(2);
            for (size_t k = 0; k < n_rm; k++) {
                size_t v;
                do
                    v = idx[rnd((uint32_t)n)];
                while (v == c || (k == 1 && mls_group_own_leaf(m[v]) == rm[0]));
                rm[k] = mls_group_own_leaf(m[v]);
            }
        }
        snprintf(what, sizeof what, "epoch %d (%zu members, +%zu -%zu)", e, n, n_add, n_rm);
        if (!epoch(c, n_add, rm, n_rm, what))
            break;
        if (e % 10 == 9)
            messages(what);
    }
    size_t idx[MAXM], n = live(idx);
    printf("after %d epochs: %zu members, epoch %llu\n", EPOCHS, n,
           (unsigned long long)mls_group_epoch(m[idx[0]]));
    for (size_t i = 0; i < n_slots; i++)
        mls_group_free(m[i]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
