/*
 * build/mls-peer: a command-line MLS member whose whole state lives in one file, so that any
 * script can drive it (interop tests with ts-mls, manual experiments).
 *
 *   mls-peer [--suite N] [--public] STATE COMMAND [ARG...]
 *
 * Commands: keypackage IDENTITY | create GROUP_ID | add KEYPACKAGE... | remove LEAF... |
 * update | propose-remove LEAF | propose-add KEYPACKAGE | propose-update | commit | confirm |
 * discard |
 * join WELCOME [TREE] | send TEXT | receive MESSAGE | info | tree.
 * Binary inputs are hex, or @FILE for the raw bytes of a file; binary outputs are hex on
 * stdout, one "name value" per line. Any failure prints a sentence on stderr and exits 1
 * (2 for usage errors); the state file is then unchanged. The state file is rewritten
 * atomically (temporary file, fsync, rename) after every successful command, and only then
 * is the output printed: a key package is never printed before the private keys behind it
 * are on disk, nor a message before its ratchet generation is (a crash or a failure to save
 * prints nothing). --help prints the usage on stdout.
 *
 * The state file holds: "XWPEER1", the suite, the wire-format policy, the identity, the key
 * packages issued and not yet used (with their private keys) and the group state
 * (mls_group_save). It holds secrets: keep it private.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/parse.h"
#include "mls/group.h"
#include "mls/hpke.h"
#include "mls/keypackage.h"

#define PEER_MAX ((size_t)1 << 28)
#define PEER_MAX_KPS 64

typedef struct {
    uint16_t suite;
    int public_hs;
    xw_buf identity;
    size_t n_kps;
    xw_buf kp[PEER_MAX_KPS];
    mls_key_package_secrets kps[PEER_MAX_KPS];
    mls_group *g;
} peer;

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mls-peer: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

static int read_file(const char *path, xw_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return XW_EIO;
    uint8_t chunk[65536];
    size_t n;
    int rc = XW_OK;
    while (rc == XW_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = xw_buf_append(out, chunk, n);
    if (ferror(f))
        rc = XW_EIO;
    fclose(f);
    return rc;
}

/* hex or @file */
static int arg_bytes(const char *a, xw_buf *out)
{
    xw_buf_reset(out);
    if (a[0] == '@')
        return read_file(a + 1, out);
    return xw_hex_decode(a, strlen(a), out);
}

/* What a command prints on stdout is held here and written only once the state file holding
 * what it refers to (the private keys of a key package, a ratchet generation that must not be
 * used twice, a pending commit) has been saved: a failure or a crash before then prints
 * nothing, so nothing is ever handed out that the saved state cannot back. out_err records
 * an append that did not fit (nothing is saved or printed then). */
static xw_buf g_out;
static int g_out_err;

static void out_hex(const char *name, const uint8_t *p, size_t n)
{
    size_t start = g_out.len;
    char *h = NULL;
    if (xw_buf_appendf(&g_out, "%s ", name) == XW_OK &&
        (h = (char *)xw_buf_extend(&g_out, 2 * n + 1)) != NULL) {
        xw_hex_encode(p, n, h);
        g_out.data[g_out.len - 1] = '\n'; /* over the NUL */
        return;
    }
    xw_buf_truncate(&g_out, start);
    g_out_err = 1;
}

static void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_printf(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line || xw_buf_append(&g_out, line, (size_t)n) != XW_OK)
        g_out_err = 1;
}

static void out_bytes(const void *p, size_t n)
{
    if (xw_buf_append(&g_out, p, n) != XW_OK)
        g_out_err = 1;
}

static void w_opaque(mls_writer *w, const void *p, size_t n) { mls_write_opaque(w, p, n); }

/* fsync of the folder holding path (best effort: some file systems refuse it). */
static void sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0) {
            /* nothing more to do: the state file itself is synced */
        }
        close(fd);
    }
}

static int peer_save(const peer *pr, const char *path, xw_errbuf *eb)
{
    xw_buf b;
    xw_buf_init(&b, PEER_MAX);
    mls_writer w;
    mls_writer_init(&w, &b);
    mls_write_fixed(&w, "XWPEER1", 7);
    mls_write_u16(&w, pr->suite);
    mls_write_u8(&w, (uint8_t)pr->public_hs);
    w_opaque(&w, pr->identity.data, pr->identity.len);
    const mls_suite *s = mls_suite_get(pr->suite);
    mls_write_u32(&w, (uint32_t)pr->n_kps);
    for (size_t i = 0; i < pr->n_kps; i++) {
        w_opaque(&w, pr->kp[i].data, pr->kp[i].len);
        w_opaque(&w, pr->kps[i].init_priv, s->hpke_priv_len);
        w_opaque(&w, pr->kps[i].enc_priv, s->hpke_priv_len);
        w_opaque(&w, pr->kps[i].sig.sk, 32);
    }
    mls_write_u8(&w, pr->g != NULL);
    if (pr->g) {
        xw_buf gs;
        xw_buf_init(&gs, PEER_MAX);
        if (mls_group_save(pr->g, &gs) != XW_OK)
            w.err = XW_ETOOBIG;
        w_opaque(&w, gs.data, gs.len);
        xw_buf_free_secret(&gs);
    }
    int rc = w.err;
    if (rc != XW_OK) {
        xw_buf_free_secret(&b);
        return xw_errf(eb, rc, "cannot serialise the state for %s", path);
    }
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp) {
        xw_buf_free_secret(&b);
        return xw_errf(eb, XW_EINVAL, "state file path %s is too long", path);
    }
    /* written whole and synced before it replaces the old file, so a crash or a power cut
     * leaves either the old state or the new one */
    const char *step = "create";
    FILE *f = fopen(tmp, "wb");
    int made = f != NULL;
    if (!f)
        rc = XW_EIO;
    else {
        if (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
            step = "write";
            rc = XW_EIO;
        }
        if (fclose(f) != 0 && rc == XW_OK) {
            step = "write";
            rc = XW_EIO;
        }
        if (rc == XW_OK && rename(tmp, path) != 0) {
            step = "rename";
            rc = XW_EIO;
        }
        if (rc == XW_OK)
            sync_dir(path); /* the rename itself survives a power cut */
    }
    if (rc != XW_OK) {
        int e = errno;
        if (made)
            unlink(tmp);
        xw_errf(eb, rc, "cannot %s %s: %s", step, strcmp(step, "rename") ? tmp : path, strerror(e));
    }
    xw_buf_free_secret(&b);
    return rc;
}

static int peer_load(peer *pr, const char *path, xw_errbuf *eb)
{
    xw_buf b;
    xw_buf_init(&b, PEER_MAX);
    int rc = read_file(path, &b);
    if (rc != XW_OK) {
        xw_buf_free(&b);
        return xw_errf(eb, rc, "cannot read state file %s (%s)", path, strerror(errno));
    }
    mls_reader r;
    mls_reader_init(&r, b.data, b.len, eb);
    mls_span magic = mls_read_fixed(&r, 7);
    if (r.err || memcmp(magic.p, "XWPEER1", 7) != 0) {
        xw_buf_free_secret(&b);
        return xw_errf(eb, XW_ECORRUPT, "%s is not an mls-peer state file", path);
    }
    pr->suite = mls_read_u16(&r);
    pr->public_hs = mls_read_u8(&r);
    mls_span id = mls_read_opaque(&r);
    xw_buf_append(&pr->identity, id.p, id.len);
    const mls_suite *s = mls_suite_get(pr->suite);
    uint32_t n = mls_read_u32(&r);
    if (!s || n > PEER_MAX_KPS)
        rc = xw_errf(eb, XW_ECORRUPT, "state file %s is corrupt", path);
    for (uint32_t i = 0; rc == XW_OK && i < n && !r.err; i++) {
        mls_span kp = mls_read_opaque(&r);
        mls_span ip = mls_read_opaque_len(&r, s->hpke_priv_len, s->hpke_priv_len, "init key");
        mls_span ep = mls_read_opaque_len(&r, s->hpke_priv_len, s->hpke_priv_len, "encryption key");
        mls_span sk = mls_read_opaque_len(&r, 32, 32, "signature key");
        if (r.err)
            break;
        xw_buf_init(&pr->kp[i], PEER_MAX);
        pr->n_kps++;
        xw_buf_append(&pr->kp[i], kp.p, kp.len);
        memcpy(pr->kps[i].init_priv, ip.p, ip.len);
        memcpy(pr->kps[i].enc_priv, ep.p, ep.len);
        rc = mls_sig_priv_from_seed(s, sk.p, sk.len, &pr->kps[i].sig, eb);
    }
    int has_group = mls_read_u8(&r);
    if (rc == XW_OK && !r.err && has_group) {
        mls_span gs = mls_read_opaque(&r);
        if (!r.err)
            rc = mls_group_load(gs.p, gs.len, &pr->g, eb);
    }
    if (rc == XW_OK && (r.err || mls_reader_finish(&r, "state file") != XW_OK))
        rc = xw_errf(eb, XW_ECORRUPT, "state file %s is corrupt", path);
    xw_buf_free_secret(&b);
    return rc;
}

static void peer_free(peer *pr)
{
    xw_buf_free(&pr->identity);
    for (size_t i = 0; i < pr->n_kps; i++) {
        xw_buf_free(&pr->kp[i]);
        mls_key_package_secrets_wipe(&pr->kps[i]);
    }
    mls_group_free(pr->g);
}

static void config(const peer *pr, mls_group_config *c)
{
    mls_group_config_default(c);
    c->handshake_public = pr->public_hs;
    c->accept_public_handshake = pr->public_hs;
}

static int new_key_package(peer *pr, const char *identity, size_t id_len, size_t *idx, xw_errbuf *eb)
{
    const mls_suite *s = mls_suite_get(pr->suite);
    if (pr->n_kps == PEER_MAX_KPS)
        return xw_errf(eb, XW_ELIMIT, "%d unused key packages are pending; use them first", PEER_MAX_KPS);
    mls_sig_priv sig;
    int rc = mls_sig_priv_generate(s, &sig);
    if (rc != XW_OK)
        return xw_errf(eb, rc, "cannot generate a signature key");
    if (identity != (const char *)pr->identity.data) {
        xw_buf_reset(&pr->identity);
        xw_buf_append(&pr->identity, identity, id_len);
    }
    uint64_t now = (uint64_t)time(NULL);
    mls_key_package_opts o = {.identity = {(const uint8_t *)identity, id_len},
                              .not_before = now - 3600,
                              .not_after = now + 90 * 86400};
    size_t i = pr->n_kps;
    xw_buf_init(&pr->kp[i], PEER_MAX);
    mls_writer w;
    mls_writer_init(&w, &pr->kp[i]);
    mls_write_u16(&w, 1);
    mls_write_u16(&w, 5); /* MLSMessage(KeyPackage) */
    rc = mls_key_package_create(s, &sig, &o, &pr->kp[i], &pr->kps[i], eb);
    mls_sig_priv_wipe(&sig);
    if (rc != XW_OK) {
        xw_buf_free(&pr->kp[i]);
        return rc;
    }
    pr->n_kps++;
    *idx = i;
    return XW_OK;
}

static void drop_kp(peer *pr, size_t i)
{
    xw_buf_free(&pr->kp[i]);
    mls_key_package_secrets_wipe(&pr->kps[i]);
    for (size_t k = i + 1; k < pr->n_kps; k++) {
        pr->kp[k - 1] = pr->kp[k];
        pr->kps[k - 1] = pr->kps[k];
    }
    pr->n_kps--;
}

static int do_commit(peer *pr, const mls_commit_opts *o, xw_errbuf *eb)
{
    xw_buf c, w;
    xw_buf_init(&c, PEER_MAX);
    xw_buf_init(&w, PEER_MAX);
    int rc = mls_group_commit(pr->g, o, &c, &w, eb);
    if (rc == XW_OK) {
        out_hex("commit", c.data, c.len);
        if (w.len)
            out_hex("welcome", w.data, w.len);
    }
    xw_buf_free(&c);
    xw_buf_free(&w);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mls-peer [--suite 1|3] [--public] STATE COMMAND [ARG...]\n"
               "commands: keypackage IDENTITY | create GROUP_ID_HEX | add KEYPACKAGE... | remove LEAF... |\n"
               "          update | propose-remove LEAF | propose-add KEYPACKAGE | propose-update | commit |\n"
               "          confirm | discard |\n"
               "          join WELCOME [TREE] | send TEXT |\n"
               "          receive MESSAGE | info | tree\n"
               "binary arguments are hex or @FILE; outputs are printed once the state file is saved;\n"
               "see tests/interop/README.md\n");
}

static int run(peer *pr, int argc, char **argv, xw_errbuf *eb)
{
    const char *cmd = argv[0];
    mls_group_config cfg;
    config(pr, &cfg);
    xw_buf a;
    xw_buf_init(&a, PEER_MAX);
    int rc = XW_OK;
    int need_group = strcmp(cmd, "keypackage") && strcmp(cmd, "create") && strcmp(cmd, "join");
    if (need_group && !pr->g) {
        xw_buf_free(&a);
        return xw_errf(eb, XW_ESTATE, "no group yet: run create or join first");
    }
    if (!strcmp(cmd, "keypackage") && argc == 2) {
        size_t i;
        if ((rc = new_key_package(pr, argv[1], strlen(argv[1]), &i, eb)) == XW_OK)
            out_hex("keypackage", pr->kp[i].data, pr->kp[i].len);
    } else if (!strcmp(cmd, "create") && argc == 2) {
        size_t i;
        if (pr->g)
            rc = xw_errf(eb, XW_ESTATE, "this state already holds a group");
        else if ((rc = arg_bytes(argv[1], &a)) != XW_OK)
            rc = xw_errf(eb, rc, "group id is not hex");
        else if ((rc = pr->identity.len
                           ? new_key_package(pr, (const char *)pr->identity.data, pr->identity.len, &i, eb)
                           : new_key_package(pr, "creator", 7, &i, eb)) == XW_OK) {
            rc = mls_group_create(&cfg, a.data, a.len, pr->kp[i].data, pr->kp[i].len, &pr->kps[i], NULL, 0,
                                  &pr->g, eb);
            drop_kp(pr, i);
        }
    } else if (!strcmp(cmd, "add") && argc >= 2) {
        const uint8_t *kps[64];
        size_t lens[64];
        xw_buf bufs[64];
        int n = argc - 1 > 64 ? 64 : argc - 1;
        for (int i = 0; i < n; i++)
            xw_buf_init(&bufs[i], PEER_MAX);
        if (argc - 1 > 64)
            rc = xw_errf(eb, XW_ELIMIT, "at most 64 key packages per commit, got %d", argc - 1);
        for (int i = 0; i < n && rc == XW_OK; i++) {
            if (arg_bytes(argv[1 + i], &bufs[i]) != XW_OK)
                rc = xw_errf(eb, XW_EINVAL, "key package %d is not hex or a readable @file", i + 1);
            kps[i] = bufs[i].data;
            lens[i] = bufs[i].len;
        }
        mls_commit_opts o = {.add_kps = kps, .add_lens = lens, .n_add = (size_t)n};
        if (rc == XW_OK)
            rc = do_commit(pr, &o, eb);
        for (int i = 0; i < n; i++)
            xw_buf_free(&bufs[i]);
    } else if (!strcmp(cmd, "remove") && argc >= 2) {
        uint32_t leaves[64];
        int n = argc - 1 > 64 ? 64 : argc - 1;
        if (argc - 1 > 64)
            rc = xw_errf(eb, XW_ELIMIT, "at most 64 leaves per commit, got %d", argc - 1);
        for (int i = 0; i < n && rc == XW_OK; i++) {
            uint64_t v = 0;
            rc = xw_parse_u64("leaf index", argv[1 + i], 0, UINT32_MAX, &v, eb);
            leaves[i] = (uint32_t)v;
        }
        mls_commit_opts o = {.remove = leaves, .n_remove = (size_t)n};
        if (rc == XW_OK)
            rc = do_commit(pr, &o, eb);
    } else if (!strcmp(cmd, "update") && argc == 1) {
        mls_commit_opts o = {0};
        rc = do_commit(pr, &o, eb);
    } else if (!strcmp(cmd, "commit") && argc == 1) {
        mls_commit_opts o = {.include_pending = 1};
        rc = do_commit(pr, &o, eb);
    } else if (!strcmp(cmd, "propose-remove") && argc == 2) {
        uint64_t v = 0;
        xw_buf m;
        xw_buf_init(&m, PEER_MAX);
        rc = xw_parse_u64("leaf index", argv[1], 0, UINT32_MAX, &v, eb);
        if (rc == XW_OK)
            rc = mls_group_propose_remove(pr->g, (uint32_t)v, &m, eb);
        if (rc == XW_OK)
            out_hex("proposal", m.data, m.len);
        xw_buf_free(&m);
    } else if (!strcmp(cmd, "propose-update") && argc == 1) {
        xw_buf m;
        xw_buf_init(&m, PEER_MAX);
        rc = mls_group_propose_update(pr->g, &m, eb);
        if (rc == XW_OK)
            out_hex("proposal", m.data, m.len);
        xw_buf_free(&m);
    } else if (!strcmp(cmd, "propose-add") && argc == 2) {
        xw_buf m;
        xw_buf_init(&m, PEER_MAX);
        if (arg_bytes(argv[1], &a) != XW_OK)
            rc = xw_errf(eb, XW_EINVAL, "key package is not hex or a readable @file");
        else
            rc = mls_group_propose_add(pr->g, a.data, a.len, &m, eb);
        if (rc == XW_OK)
            out_hex("proposal", m.data, m.len);
        xw_buf_free(&m);
    } else if (!strcmp(cmd, "confirm") && argc == 1) {
        rc = mls_group_commit_confirm(pr->g, eb);
    } else if (!strcmp(cmd, "discard") && argc == 1) {
        mls_group_commit_discard(pr->g);
    } else if (!strcmp(cmd, "join") && (argc == 2 || argc == 3)) {
        xw_buf tree;
        xw_buf_init(&tree, PEER_MAX);
        if (pr->g)
            rc = xw_errf(eb, XW_ESTATE, "this state already holds a group");
        else if (arg_bytes(argv[1], &a) != XW_OK || (argc == 3 && arg_bytes(argv[2], &tree) != XW_OK))
            rc = xw_errf(eb, XW_EINVAL, "welcome or tree is not hex or a readable @file");
        else {
            rc = xw_errf(eb, XW_EMLS_WELCOME, "no key package issued by this peer matches the welcome");
            for (size_t i = 0; i < pr->n_kps; i++) {
                xw_errbuf e2 = {{0}};
                int r2 = mls_group_join(&cfg, a.data, a.len, pr->kp[i].data, pr->kp[i].len, &pr->kps[i],
                                        argc == 3 ? tree.data : NULL, tree.len, NULL, 0, &pr->g, &e2);
                if (r2 == XW_OK) {
                    drop_kp(pr, i);
                    rc = XW_OK;
                    break;
                }
                if (!strstr(e2.msg, "no secrets for this key package")) {
                    rc = r2;
                    *eb = e2;
                }
            }
        }
        xw_buf_free(&tree);
    } else if (!strcmp(cmd, "send") && argc == 2) {
        xw_buf m;
        xw_buf_init(&m, PEER_MAX);
        rc = mls_group_send(pr->g, (const uint8_t *)argv[1], strlen(argv[1]), &m, eb);
        if (rc == XW_OK)
            out_hex("message", m.data, m.len);
        xw_buf_free(&m);
    } else if (!strcmp(cmd, "receive") && argc == 2) {
        mls_received r;
        mls_received_init(&r);
        if (arg_bytes(argv[1], &a) != XW_OK)
            rc = xw_errf(eb, XW_EINVAL, "message is not hex or a readable @file");
        else
            rc = mls_group_receive(pr->g, a.data, a.len, &r, eb);
        if (rc == XW_OK) {
            if (r.kind == MLS_RECEIVED_APPLICATION) {
                out_printf("application %u ", r.sender);
                out_bytes(r.data.data, r.data.len);
                out_bytes("\n", 1);
            } else {
                out_printf("%s %u%s\n", r.kind == MLS_RECEIVED_PROPOSAL ? "proposal" : "commit", r.sender,
                           r.removed      ? " removed"
                           : r.own_commit ? " own"
                                          : "");
            }
        }
        mls_received_free(&r);
    } else if (!strcmp(cmd, "info") && argc == 1) {
        size_t n;
        const uint8_t *p = mls_group_id(pr->g, &n);
        out_hex("group_id", p, n);
        out_printf("epoch %llu\n", (unsigned long long)mls_group_epoch(pr->g));
        p = mls_group_epoch_authenticator(pr->g, &n);
        out_hex("epoch_authenticator", p, n);
        out_printf("own_leaf %u\n", mls_group_own_leaf(pr->g));
        out_printf("active %d\n", mls_group_active(pr->g));
        for (uint32_t i = 0; i < mls_group_leaf_count(pr->g); i++) {
            mls_span id;
            if (mls_group_member(pr->g, i, &id)) {
                out_printf("member %u ", i);
                out_bytes(id.p, id.len);
                out_bytes("\n", 1);
            }
        }
    } else if (!strcmp(cmd, "tree") && argc == 1) {
        xw_buf t;
        xw_buf_init(&t, PEER_MAX);
        rc = mls_group_tree(pr->g, &t);
        if (rc == XW_OK)
            out_hex("tree", t.data, t.len);
        xw_buf_free(&t);
    } else {
        usage(stderr);
        rc = -1;
    }
    xw_buf_free(&a);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t suite = 3;
    int public_hs = 0, i = 1;
    xw_errbuf eb = {{0}};
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--suite") && i + 1 < argc) {
            if (xw_parse_u64("--suite", argv[++i], 1, UINT16_MAX, &suite, &eb) != XW_OK) {
                die("%s", eb.msg);
                return 2;
            }
        } else if (!strcmp(argv[i], "--public")) {
            public_hs = 1;
        } else {
            die("unknown option '%s'", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (argc - i < 2) {
        usage(stderr);
        return 2;
    }
    if (!mls_suite_get((uint16_t)suite))
        return die("cipher suite %u is not supported (1 and 3 are)", (unsigned)suite);
    const char *path = argv[i];
    peer pr;
    memset(&pr, 0, sizeof pr);
    xw_buf_init(&pr.identity, 1 << 16);
    xw_buf_init(&g_out, 4 * PEER_MAX);
    if (access(path, F_OK) == 0) {
        if (peer_load(&pr, path, &eb) != XW_OK) {
            peer_free(&pr);
            return die("%s", eb.msg);
        }
    } else {
        pr.suite = (uint16_t)suite;
        pr.public_hs = public_hs;
    }
    int rc = run(&pr, argc - i - 1, argv + i + 1, &eb);
    if (rc == -1) {
        peer_free(&pr);
        xw_buf_free(&g_out);
        return 2;
    }
    if (rc == XW_OK && g_out_err)
        rc = xw_errf(&eb, XW_ENOMEM, "the output does not fit in memory; nothing was saved");
    /* save first, then print (see g_out) */
    if (rc == XW_OK && (rc = peer_save(&pr, path, &eb)) != XW_OK)
        xw_errctx(&eb, rc, "state file not saved, nothing printed");
    peer_free(&pr);
    if (rc == XW_OK && g_out.len > 0 &&
        (fwrite(g_out.data, 1, g_out.len, stdout) != g_out.len || fflush(stdout) != 0))
        rc = xw_errf(&eb, XW_EIO, "the state was saved but writing the output failed: %s", strerror(errno));
    xw_buf_free(&g_out);
    if (rc != XW_OK)
        return die("%s (%s)", eb.msg[0] ? eb.msg : xw_strerror(rc), xw_errname(rc));
    return 0;
}
