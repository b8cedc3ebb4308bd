/*
 * `xmtpw sync`: fetches the installation's welcomes (joining every valid group) and then
 * every group's new messages, and prints what it did: welcomes seen, groups joined,
 * envelopes fetched, messages stored (others' application messages, the history of newly
 * joined groups included), commits applied, own messages seen published, and how many
 * envelopes were quarantined.
 */
#include <stdio.h>

#include "worker/cli.h"
#include "worker/commands.h"

static const char USAGE[] =
    "usage: xmtpw sync [--node URL] [--db-dir DIR] [--config FILE] [--json]\n"
    "\n"
    "Fetches new welcomes (joining their groups) and every group's new messages from the node,\n"
    "and publishes messages still waiting to be sent. Prints the counts.\n"
    "\n"
    "  --node URL    the node (default: XMTP_ENV's: local = http://localhost:5556, dev, production)\n"
    "  --db-dir DIR  the state directory (default: XMTP_DB_DIRECTORY, else /var/lib/xmtpw)\n"
    "  --config FILE a worker.yaml to read the xmtp section from (default: $XMTPW_CONFIG)\n"
    "  --json        one JSON document on stdout instead of text\n";

typedef struct {
    xc_store *st;
    size_t n;
    xw_errbuf *eb;
} counter;

static int count_message(void *ctx, const xc_message_row *m)
{
    ((counter *)ctx)->n += m->kind == XC_KIND_APPLICATION;
    return XW_OK;
}

static int count_group(void *ctx, const xc_group_row *r)
{
    counter *c = ctx;
    return xc_store_message_each(c->st, r->id, r->id_len, 0, count_message, c, c->eb);
}

/* Application messages in the store: the difference before and after is what this sync
 * stored, the history of groups joined from welcomes included (the library's group stats
 * count only the groups it already had). */
static int count_messages(xc_store *st, size_t *n, xw_errbuf *eb)
{
    counter c = {st, 0, eb};
    int rc = xc_store_group_each(st, count_group, &c, eb);
    *n = c.n;
    return rc;
}

static int run(wk_cli *a)
{
    if (wk_cli_open(a))
        return 1;
    xw_errbuf eb = {{0}};
    xc_welcome_stats ws = {0};
    xc_sync_stats ss = {0};
    size_t before = 0, after = 0;
    int rc = count_messages(xc_client_store(a->client), &before, &eb);
    if (rc == XW_OK)
        rc = xc_client_sync_welcomes(a->client, &ws, &eb);
    if (rc == XW_OK)
        rc = xc_client_sync_all(a->client, &ss, &eb);
    if (rc == XW_OK)
        rc = count_messages(xc_client_store(a->client), &after, &eb);
    if (rc != XW_OK)
        return wk_cli_fail(a, rc, &eb);
    ss.messages = after > before ? after - before : 0;
    size_t quarantined = ws.quarantined + ss.quarantined;
    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "welcomes", json_integer((json_int_t)ws.welcomes));
        json_object_set_new(j, "joined", json_integer((json_int_t)ws.joined));
        json_object_set_new(j, "envelopes", json_integer((json_int_t)ss.envelopes));
        json_object_set_new(j, "messages", json_integer((json_int_t)ss.messages));
        json_object_set_new(j, "commits", json_integer((json_int_t)ss.commits));
        json_object_set_new(j, "own_published", json_integer((json_int_t)ss.own_published));
        json_object_set_new(j, "quarantined", json_integer((json_int_t)quarantined));
        return wk_cli_print_json(a, j);
    }
    printf("welcomes: %zu (%zu group%s joined)\n", ws.welcomes, ws.joined, ws.joined == 1 ? "" : "s");
    printf("envelopes: %zu: %zu message%s, %zu commit%s, %zu of ours published\n", ss.envelopes, ss.messages,
           ss.messages == 1 ? "" : "s", ss.commits, ss.commits == 1 ? "" : "s", ss.own_published);
    if (quarantined)
        printf("quarantined: %zu (refused as invalid; the quarantine table of %s says why)\n", quarantined,
               a->db_path);
    else
        printf("quarantined: 0\n");
    return 0;
}

int wk_cmd_sync(int argc, char **argv)
{
    wk_cli a = {.cmd = "sync", .usage = USAGE};
    int rc = wk_cli_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    return wk_cli_done(&a, run(&a));
}
