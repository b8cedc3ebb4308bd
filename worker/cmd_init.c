/*
 * `xmtpw init`: creates the bot's installation in the store directory and registers it on
 * the node, or reopens the one that is there.
 *
 * The wallet key comes from XMTP_WALLET_KEY (or xmtp.wallet_key), --wallet-key-file FILE
 * (or xmtp.wallet_key_file), else DIR/wallet.key when an earlier init made one; with none
 * and no installation yet, a new key is generated, written to DIR/wallet.key (mode 0600,
 * never overwritten) before anything is registered, and printed once with a warning. A
 * second init reopens the installation (finishing a registration that was cut short when
 * the key is known) and says so; it never makes a second installation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "worker/cli.h"
#include "worker/commands.h"
#include "xmtp/wallet.h"

static const char USAGE[] =
    "usage: xmtpw init [--wallet-key-file FILE] [--node URL] [--db-dir DIR] [--config FILE] [--json]\n"
    "\n"
    "Creates the bot's XMTP installation in DIR/" WK_CLI_DB_FILE " and registers it on the node,\n"
    "or reopens the one already there (running init twice is safe).\n"
    "\n"
    "  The wallet key: XMTP_WALLET_KEY, or --wallet-key-file FILE (mode 0600), or\n"
    "  DIR/" WK_CLI_KEY_FILE " from an earlier init; with none, a new key is generated, stored in\n"
    "  DIR/" WK_CLI_KEY_FILE " (mode 0600) and printed once.\n"
    "  --node URL    the node (default: XMTP_ENV's: local = http://localhost:5556, dev, production)\n"
    "  --db-dir DIR  the state directory (default: XMTP_DB_DIRECTORY, else /var/lib/xmtpw)\n"
    "  --config FILE a worker.yaml to read the xmtp section from (default: $XMTPW_CONFIG)\n"
    "  --json        one JSON document on stdout instead of text\n";

/* Makes dir (0700) when missing; its parent must exist. */
static int ensure_dir(wk_cli *a, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return wk_cli_errorf(a, "%s is not a directory; give another with --db-dir DIR", dir);
        return 0;
    }
    if (errno != ENOENT || mkdir(dir, 0700) != 0)
        return wk_cli_errorf(
            a, "cannot create the state directory %s: %s; create it or give another with --db-dir", dir,
            strerror(errno));
    return 0;
}

/* Whether the store file holds an identity (1), none or no file (0); -1 after an error. */
static int has_identity(wk_cli *a)
{
    struct stat st;
    if (stat(a->db_path, &st) != 0)
        return 0;
    xc_store *s = NULL;
    xw_errbuf eb = {{0}};
    int rc = xc_store_open(a->db_path, &s, &eb);
    xc_identity_row row;
    xc_identity_row_init(&row);
    if (rc == XW_OK)
        rc = xc_store_identity_get(s, &row, &eb);
    xc_identity_row_free(&row);
    xc_store_close(s);
    if (rc == XW_ENOTFOUND)
        return 0;
    if (rc != XW_OK) {
        wk_cli_fail(a, rc, &eb);
        return -1;
    }
    return 1;
}

/* Writes a generated key to path, which must not exist yet. */
static int write_key(wk_cli *a, const char *path, const char *hex)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return wk_cli_errorf(a, "cannot create %s: %s", path, strerror(errno));
    size_t n = strlen(hex);
    int ok = write(fd, hex, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        return wk_cli_errorf(a, "cannot write %s: %s", path, strerror(err));
    }
    return 0;
}

/* After a failed init that generated a key: where the key is (it was not printed). */
static int kept_key(const char *key_path, char *generated)
{
    if (generated[0])
        fprintf(stderr,
                "xmtpw init: the wallet key generated for this installation is kept in %s (mode 0600); "
                "the next init uses it\n",
                key_path);
    xw_wipe(generated, 2 + 2 * XMTP_WALLET_SECRET_LEN + 1);
    return 1;
}

static int run(wk_cli *a)
{
    if (wk_cli_setup(a))
        return 1;
    const char *dir = a->cfg->xmtp.db_directory;
    if (ensure_dir(a, dir))
        return 1;
    char key_path[WK_CLI_PATH_MAX + 16];
    size_t dl = strlen(dir);
    snprintf(key_path, sizeof key_path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", WK_CLI_KEY_FILE);
    int existing = has_identity(a);
    if (existing < 0)
        return 1;

    /* the wallet key */
    wk_diags d;
    wk_diags_init(&d);
    int rc = XW_OK;
    struct stat st;
    if (!a->cfg->xmtp.wallet_key && !a->cfg->xmtp.wallet_key_file && stat(key_path, &st) == 0)
        rc = wk_config_override(a->cfg, "xmtp.wallet_key_file", key_path, "the key an earlier init made", &d);
    if (rc == XW_OK)
        rc = wk_config_read_wallet_key(a->cfg, &d);
    wk_diags_print(&d, stderr);
    wk_diags_free(&d);
    if (rc != XW_OK)
        return wk_cli_errorf(a, "the wallet key above cannot be used");
    xw_errbuf eb = {{0}};
    xmtp_wallet *w = NULL;
    char generated[2 + 2 * XMTP_WALLET_SECRET_LEN + 1] = "";
    if (a->cfg->xmtp.wallet_key) {
        rc = xmtp_wallet_from_hex(a->cfg->xmtp.wallet_key, &w, &eb);
    } else if (!existing) {
        rc = xmtp_wallet_generate(&w, &eb);
        if (rc == XW_OK) {
            uint8_t secret[XMTP_WALLET_SECRET_LEN];
            xmtp_wallet_secret(w, secret);
            memcpy(generated, "0x", 2);
            xw_hex_encode(secret, sizeof secret, generated + 2);
            xw_wipe(secret, sizeof secret);
            if (write_key(a, key_path, generated)) {
                xw_wipe(generated, sizeof generated);
                xmtp_wallet_free(w);
                return 1;
            }
        }
    }
    if (rc != XW_OK) {
        xmtp_wallet_free(w);
        return wk_cli_fail(a, rc, &eb);
    }

    if (wk_cli_connect(a)) {
        xmtp_wallet_free(w);
        return kept_key(key_path, generated);
    }
    xc_client_opts o = {.db_path = a->db_path, .node = a->node_api};
    int have_wallet = w != NULL;
    rc = w ? xc_client_create(&o, w, &a->client, &eb) : xc_client_open(&o, &a->client, &eb);
    xmtp_wallet_free(w);
    if (rc == XW_ESTATE && !have_wallet)
        rc = xw_errf(&eb, XW_ESTATE,
                     "the installation in %s was never registered: run init again with its wallet key "
                     "(XMTP_WALLET_KEY or --wallet-key-file)",
                     dir);
    if (rc != XW_OK) {
        wk_cli_fail(a, rc, &eb);
        return kept_key(key_path, generated);
    }

    xc_identity_row row;
    xc_identity_row_init(&row);
    rc = xc_store_identity_get(xc_client_store(a->client), &row, &eb);
    char inst[2 * XC_INSTALLATION_LEN + 1];
    xw_hex_encode(xc_client_installation_id(a->client), XC_INSTALLATION_LEN, inst);
    int status = 0;
    if (rc != XW_OK) {
        status = wk_cli_fail(a, rc, &eb);
    } else if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "status", json_string(existing ? "reopened" : "created"));
        json_object_set_new(j, "inbox_id", json_string(xc_client_inbox_id(a->client)));
        json_object_set_new(j, "installation_id", json_string(inst));
        json_object_set_new(j, "address", json_string(row.address));
        json_object_set_new(j, "node", json_string(a->cfg->xmtp.node_url));
        json_object_set_new(j, "db_path", json_string(a->db_path));
        json_object_set_new(j, "wallet_key", generated[0] ? json_string(generated) : json_null());
        json_object_set_new(j, "wallet_key_file", generated[0] ? json_string(key_path) : json_null());
        status = wk_cli_print_json(a, j);
    } else {
        printf("%s installation in %s\n", existing ? "reopened the" : "registered a new", a->db_path);
        printf("inbox id:        %s\n", xc_client_inbox_id(a->client));
        printf("installation id: %s\n", inst);
        printf("address:         %s\n", row.address);
        printf("node:            %s\n", a->cfg->xmtp.node_url);
        if (generated[0])
            printf("wallet key:      %s\n", generated);
    }
    if (status == 0 && generated[0])
        fprintf(
            stderr,
            "xmtpw init: warning: a new wallet key was generated and is printed above once; it is also in %s "
            "(mode 0600). Keep a copy somewhere safe: whoever has it controls the bot's inbox, and "
            "without it no new installation can be added.\n",
            key_path);
    xw_wipe(generated, sizeof generated);
    xc_identity_row_free(&row);
    return status;
}

int wk_cmd_init(int argc, char **argv)
{
    wk_cli a = {.cmd = "init", .usage = USAGE, .opts = WK_CLI_OPT_WALLET_FILE};
    int rc = wk_cli_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    return wk_cli_done(&a, run(&a));
}
