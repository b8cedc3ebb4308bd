/*
 * `xmtpw info`: what the store says about the bot's installation, without asking the node:
 * inbox id, installation id, wallet address, node, store path, the current key package's
 * expiry and the number of groups.
 */
#include <stdio.h>

#include "common/codec.h"
#include "worker/cli.h"
#include "worker/commands.h"

static const char USAGE[] =
    "usage: xmtpw info [--node URL] [--db-dir DIR] [--config FILE] [--json]\n"
    "\n"
    "Prints the bot's inbox id, installation id, wallet address, node, store path, when its\n"
    "key package expires and how many groups it knows. Reads the store only.\n"
    "\n"
    "  --node URL    the node (default: XMTP_ENV's: local = http://localhost:5556, dev, production)\n"
    "  --db-dir DIR  the state directory (default: XMTP_DB_DIRECTORY, else /var/lib/xmtpw)\n"
    "  --config FILE a worker.yaml to read the xmtp section from (default: $XMTPW_CONFIG)\n"
    "  --json        one JSON document on stdout instead of text\n";

static int count_group(void *ctx, const xc_group_row *r)
{
    size_t *n = ctx;
    (void)r;
    ++*n;
    return XW_OK;
}

static int run(wk_cli *a)
{
    if (wk_cli_open(a))
        return 1;
    xc_store *st = xc_client_store(a->client);
    xw_errbuf eb = {{0}};
    xc_identity_row id;
    xc_identity_row_init(&id);
    xc_kp_row kp;
    xc_kp_row_init(&kp);
    size_t groups = 0;
    int rc = xc_store_identity_get(st, &id, &eb);
    int have_kp = 0;
    if (rc == XW_OK) {
        rc = xc_store_kp_current(st, &kp, &eb);
        have_kp = rc == XW_OK;
        if (rc == XW_ENOTFOUND)
            rc = XW_OK;
    }
    if (rc == XW_OK)
        rc = xc_store_group_each(st, count_group, &groups, &eb);
    int status = 0;
    char inst[2 * XC_INSTALLATION_LEN + 1], expiry[32];
    xw_hex_encode(id.installation_id, XC_INSTALLATION_LEN, inst);
    wk_cli_time(have_kp ? kp.not_after_ns : 0, expiry);
    if (rc != XW_OK) {
        status = wk_cli_fail(a, rc, &eb);
    } else if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "inbox_id", json_string(id.inbox_id));
        json_object_set_new(j, "installation_id", json_string(inst));
        json_object_set_new(j, "address", json_string(id.address));
        json_object_set_new(j, "node", json_string(a->cfg->xmtp.node_url));
        json_object_set_new(j, "db_path", json_string(a->db_path));
        json_object_set_new(j, "registered", json_boolean(id.registered));
        json_object_set_new(j, "key_package_expires_at", have_kp ? json_string(expiry) : json_null());
        json_object_set_new(j, "key_package_expires_at_ns",
                            have_kp ? json_integer((json_int_t)kp.not_after_ns) : json_null());
        json_object_set_new(j, "groups", json_integer((json_int_t)groups));
        status = wk_cli_print_json(a, j);
    } else {
        printf("inbox id:            %s\n", id.inbox_id);
        printf("installation id:     %s\n", inst);
        printf("address:             %s\n", id.address);
        printf("node:                %s\n", a->cfg->xmtp.node_url);
        printf("store:               %s\n", a->db_path);
        printf("key package expires: %s\n", have_kp ? expiry : "none uploaded: run `xmtpw sync`");
        printf("groups:              %zu\n", groups);
    }
    xc_kp_row_free(&kp);
    xc_identity_row_free(&id);
    return status;
}

int wk_cmd_info(int argc, char **argv)
{
    wk_cli a = {.cmd = "info", .usage = USAGE};
    int rc = wk_cli_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    return wk_cli_done(&a, run(&a));
}
