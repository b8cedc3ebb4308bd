/*
 * `xmtpw messages GROUP [--limit N]`: a group's messages from the store, oldest first (with
 * --limit, the newest N): time, message id, sender inbox, content type, and the text (or
 * the fallback of a content type we do not render). Membership changes are listed too,
 * as libxmtp lists its GroupUpdated messages.
 */
#include <stdio.h>

#include "common/codec.h"
#include "worker/cli.h"
#include "worker/commands.h"

static const char USAGE[] =
    "usage: xmtpw messages GROUP [--limit N] [--node URL] [--db-dir DIR] [--config FILE] [--json]\n"
    "\n"
    "Lists a group's messages, oldest first: time, message id, sender inbox id, content type,\n"
    "and the text (or the fallback text of other content types). Reads the store only: run\n"
    "`xmtpw sync` first for new messages.\n"
    "\n"
    "  GROUP         the group id in hex, or its first digits when only one group has them\n"
    "  --limit N     only the newest N messages (1..1000000)\n"
    "  --node URL    the node (default: XMTP_ENV's: local = http://localhost:5556, dev, production)\n"
    "  --db-dir DIR  the state directory (default: XMTP_DB_DIRECTORY, else /var/lib/xmtpw)\n"
    "  --config FILE a worker.yaml to read the xmtp section from (default: $XMTPW_CONFIG)\n"
    "  --json        one JSON document on stdout instead of text\n";

typedef struct {
    json_t *list;
    size_t seen, skip, total;
} walk;

static const char *kind_name(int kind)
{
    return kind == XC_KIND_APPLICATION         ? "application"
           : kind == XC_KIND_MEMBERSHIP_CHANGE ? "membership_change"
                                               : "unknown";
}

static const char *delivery_name(int d)
{
    return d == XC_DELIVERY_UNPUBLISHED ? "unpublished"
           : d == XC_DELIVERY_PUBLISHED ? "published"
           : d == XC_DELIVERY_FAILED    ? "failed"
                                        : "unknown";
}

static int count(void *ctx, const xc_message_row *m)
{
    (void)m;
    ((walk *)ctx)->total++;
    return XW_OK;
}

static int one(void *ctx, const xc_message_row *m)
{
    walk *w = ctx;
    if (w->seen++ < w->skip)
        return XW_OK;
    char id[65], when[32];
    xw_hex_encode(m->id, 32, id);
    wk_cli_time(m->sent_at_ns, when);
    if (w->list) {
        json_t *j = json_object();
        json_object_set_new(j, "id", json_string(id));
        json_object_set_new(j, "sent_at", json_string(when));
        json_object_set_new(j, "sent_at_ns", json_integer((json_int_t)m->sent_at_ns));
        json_object_set_new(j, "sender_inbox_id", json_string(m->sender_inbox_id));
        json_object_set_new(j, "sender_installation_id", wk_cli_hex(m->sender_installation_id, 32));
        json_object_set_new(j, "kind", json_string(kind_name(m->kind)));
        json_object_set_new(j, "content_type", json_string(m->content_type));
        json_object_set_new(j, "text", m->decoded ? json_stringn(m->decoded, m->decoded_len) : json_null());
        json_object_set_new(j, "delivery", json_string(delivery_name(m->delivery)));
        json_object_set_new(j, "cursor", json_integer((json_int_t)m->cursor));
        return json_array_append_new(w->list, j) == 0 ? XW_OK : XW_ENOMEM;
    }
    printf("%s  %s  %s  %s  ", when, id, m->sender_inbox_id, m->content_type);
    if (!m->decoded)
        fputs("(no text)", stdout);
    wk_cli_put_text(m->decoded, m->decoded_len); /* one line per message */
    if (m->delivery != XC_DELIVERY_PUBLISHED)
        printf("  [%s]", delivery_name(m->delivery));
    putchar('\n');
    return XW_OK;
}

static int run(wk_cli *a)
{
    if (wk_cli_open(a))
        return 1;
    uint8_t gid[XC_GROUP_ID_MAX];
    size_t gl = 0;
    if (wk_cli_group(a, a->pos[0], gid, &gl))
        return 1;
    xc_store *st = xc_client_store(a->client);
    walk w = {0};
    xw_errbuf eb = {{0}};
    int rc = XW_OK;
    if (a->limit) { /* the newest N: count, then skip the older ones */
        rc = xc_store_message_each(st, gid, gl, 0, count, &w, &eb);
        w.skip = w.total > a->limit ? w.total - (size_t)a->limit : 0;
    }
    if (rc == XW_OK && a->json && !(w.list = json_array()))
        return wk_cli_errorf(a, "out of memory");
    if (rc == XW_OK)
        rc = xc_store_message_each(st, gid, gl, 0, one, &w, &eb);
    if (rc != XW_OK) {
        json_decref(w.list);
        return wk_cli_fail(a, rc, &eb);
    }
    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "group_id", wk_cli_hex(gid, gl));
        json_object_set_new(j, "messages", w.list);
        return wk_cli_print_json(a, j);
    }
    if (w.seen == 0)
        printf("no messages yet: `xmtpw sync` fetches new ones\n");
    return 0;
}

int wk_cmd_messages(int argc, char **argv)
{
    wk_cli a = {.cmd = "messages", .usage = USAGE, .opts = WK_CLI_OPT_LIMIT, .npos_min = 1, .npos_max = 1};
    int rc = wk_cli_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    return wk_cli_done(&a, run(&a));
}
