/*
 * `xmtpw groups`: the groups (and DMs) the bot knows, from the store: id, name, kind, how
 * many members (inboxes), membership state, consent, whether we are still in it, and the
 * time of the last message.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "worker/cli.h"
#include "worker/commands.h"

static const char USAGE[] =
    "usage: xmtpw groups [--node URL] [--db-dir DIR] [--config FILE] [--json]\n"
    "\n"
    "Lists the groups the bot knows (run `xmtpw sync` first for new ones): id, name, members,\n"
    "membership state, consent and last activity. Reads the store only.\n"
    "\n"
    "  --node URL    the node (default: XMTP_ENV's: local = http://localhost:5556, dev, production)\n"
    "  --db-dir DIR  the state directory (default: XMTP_DB_DIRECTORY, else /var/lib/xmtpw)\n"
    "  --config FILE a worker.yaml to read the xmtp section from (default: $XMTPW_CONFIG)\n"
    "  --json        one JSON document on stdout instead of text\n";

typedef struct {
    wk_cli *a;
    json_t *list; /* --json */
    size_t n;
    xw_errbuf eb;
} walk;

/* Distinct inboxes and installations of a group's roster. */
static int count_members(xc_store *st, const xc_group_row *r, size_t *inboxes, size_t *installs,
                         xw_errbuf *eb)
{
    xc_member_row *m = NULL;
    size_t n = 0;
    int rc = xc_store_members_get(st, r->id, r->id_len, &m, &n, eb);
    if (rc != XW_OK)
        return rc;
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && strcmp(m[j].inbox_id, m[i].inbox_id) != 0)
            j++;
        distinct += j == i;
    }
    xw_free(m);
    *inboxes = distinct;
    *installs = n;
    return XW_OK;
}

static int one(void *ctx, const xc_group_row *r)
{
    walk *w = ctx;
    size_t inboxes = 0, installs = 0;
    int rc = count_members(xc_client_store(w->a->client), r, &inboxes, &installs, &w->eb);
    if (rc != XW_OK)
        return rc;
    char id[2 * XC_GROUP_ID_MAX + 1], last[32];
    xw_hex_encode(r->id, r->id_len, id);
    wk_cli_time(r->last_message_ns, last);
    w->n++;
    if (w->list) {
        json_t *j = json_object();
        json_object_set_new(j, "id", json_string(id));
        json_object_set_new(j, "name", wk_cli_text(&r->name));
        json_object_set_new(j, "description", wk_cli_text(&r->description));
        json_object_set_new(j, "type", json_string(wk_cli_conversation_name(r->conversation_type)));
        json_object_set_new(j, "members", json_integer((json_int_t)inboxes));
        json_object_set_new(j, "installations", json_integer((json_int_t)installs));
        json_object_set_new(j, "membership_state", json_string(wk_cli_membership_name(r->membership_state)));
        json_object_set_new(j, "consent", json_string(wk_cli_consent_name(r->consent)));
        json_object_set_new(j, "active", json_boolean(r->active));
        json_object_set_new(j, "added_by_inbox_id", json_string(r->added_by_inbox_id));
        json_object_set_new(j, "epoch", json_integer((json_int_t)r->epoch));
        json_object_set_new(j, "created_at_ns", json_integer((json_int_t)r->created_ns));
        json_object_set_new(j, "last_activity_at", r->last_message_ns > 0 ? json_string(last) : json_null());
        json_object_set_new(j, "last_activity_at_ns", json_integer((json_int_t)r->last_message_ns));
        return json_array_append_new(w->list, j) == 0 ? XW_OK : XW_ENOMEM;
    }
    if (w->n == 1)
        printf("%-32s  %-5s  %7s  %-8s  %-7s  %-24s  %s\n", "ID", "TYPE", "MEMBERS", "STATE", "CONSENT",
               "LAST ACTIVITY", "NAME");
    const char *state = r->active ? wk_cli_membership_name(r->membership_state) : "removed";
    printf("%-32s  %-5s  %7zu  %-8s  %-7s  %-24s  ", id, wk_cli_conversation_name(r->conversation_type),
           inboxes, state, wk_cli_consent_name(r->consent), last);
    wk_cli_put_text((const char *)r->name.data, r->name.data ? r->name.len : 0);
    putchar('\n');
    return XW_OK;
}

static int run(wk_cli *a)
{
    if (wk_cli_open(a))
        return 1;
    walk w = {.a = a};
    if (a->json && !(w.list = json_array()))
        return wk_cli_errorf(a, "out of memory");
    int rc = xc_store_group_each(xc_client_store(a->client), one, &w, &w.eb);
    if (rc != XW_OK) {
        json_decref(w.list);
        return wk_cli_fail(a, rc, &w.eb);
    }
    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "groups", w.list);
        return wk_cli_print_json(a, j);
    }
    if (w.n == 0)
        printf("no groups yet: run `xmtpw sync` to fetch invitations\n");
    return 0;
}

int wk_cmd_groups(int argc, char **argv)
{
    wk_cli a = {.cmd = "groups", .usage = USAGE};
    int rc = wk_cli_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    return wk_cli_done(&a, run(&a));
}
