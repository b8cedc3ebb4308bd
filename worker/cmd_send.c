/*
 * `xmtpw send GROUP TEXT`: sends a text message to a group as the bot and publishes it;
 * prints the message id (the id libxmtp shows for it).
 */
#include <stdio.h>
#include <string.h>

#include "common/codec.h"
#include "worker/cli.h"
#include "worker/commands.h"

#define SEND_TEXT_MAX (1u << 20)

static const char USAGE[] =
    "usage: xmtpw send GROUP TEXT [--node URL] [--db-dir DIR] [--config FILE] [--json]\n"
    "\n"
    "Sends TEXT (xmtp.org/text:1.0) to the group as the bot, publishes it on the node and\n"
    "prints its message id. Fetch the group's news first with `xmtpw sync`.\n"
    "\n"
    "  GROUP         the group id in hex, or its first digits when only one group has them\n"
    "  TEXT          the message (UTF-8, at most 1 MiB); `--` before it if it starts with '-'\n"
    "  --node URL    the node (default: XMTP_ENV's: local = http://localhost:5556, dev, production)\n"
    "  --db-dir DIR  the state directory (default: XMTP_DB_DIRECTORY, else /var/lib/xmtpw)\n"
    "  --config FILE a worker.yaml to read the xmtp section from (default: $XMTPW_CONFIG)\n"
    "  --json        one JSON document on stdout instead of text\n";

static int run(wk_cli *a)
{
    const char *text = a->pos[1];
    if (text[0] == '\0')
        return wk_cli_errorf(a, "the text is empty; there is nothing to send");
    if (strlen(text) > SEND_TEXT_MAX)
        return wk_cli_errorf(a, "the text is %zu bytes; at most %u can be sent", strlen(text), SEND_TEXT_MAX);
    if (wk_cli_open(a))
        return 1;
    uint8_t gid[XC_GROUP_ID_MAX];
    size_t gl = 0;
    if (wk_cli_group(a, a->pos[0], gid, &gl))
        return 1;
    uint8_t id[32];
    xw_errbuf eb = {{0}};
    int rc = xc_group_send_text(a->client, gid, gl, text, id, &eb);
    if (rc != XW_OK)
        return wk_cli_fail(a, rc, &eb);
    char hex[65];
    xw_hex_encode(id, 32, hex);
    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "group_id", wk_cli_hex(gid, gl));
        json_object_set_new(j, "message_id", json_string(hex));
        return wk_cli_print_json(a, j);
    }
    printf("%s\n", hex);
    return 0;
}

int wk_cmd_send(int argc, char **argv)
{
    wk_cli a = {.cmd = "send", .usage = USAGE, .npos_min = 2, .npos_max = 2};
    int rc = wk_cli_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    return wk_cli_done(&a, run(&a));
}
