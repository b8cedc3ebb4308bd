/*
 * client-driver: the C client (xmtp/client/client.h) as a command-line program, so that the
 * interop script (client_libxmtp.mjs) can drive the bot's side against the dev node while
 * libxmtp drives the other members. Output is one JSON object per line.
 *
 *   client-driver --node URL --db FILE init WALLET_HEX   {"inbox":..,"installation":..}
 *   client-driver --node URL --db FILE sync              {"joined":..,"envelopes":..,...}
 *   client-driver --node URL --db FILE groups            one {"id":..,"epoch":..,"name":..,...} per group
 *   client-driver --node URL --db FILE messages GROUP    one {"id","sender","kind","type","text",...} per
 * message client-driver --node URL --db FILE send GROUP TEXT   {"id":..} client-driver --node URL --db FILE
 * quarantine        one {"kind","error","reason"} per record
 *
 * GROUP is the group id in hex. Exit status 0 on success; 1 with the error on stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "xmtp/client/client.h"

static void emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
}

static json_t *hex(const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    if (n > 64)
        n = 64;
    xw_hex_encode(p, n, buf);
    return json_stringn(buf, 2 * n);
}

static int print_group(void *ctx, const xc_group_row *r)
{
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "id", hex(r->id, r->id_len));
    json_object_set_new(o, "epoch", json_integer((json_int_t)r->epoch));
    json_object_set_new(o, "name", json_stringn(r->name.data ? (const char *)r->name.data : "", r->name.len));
    json_object_set_new(
        o, "description",
        json_stringn(r->description.data ? (const char *)r->description.data : "", r->description.len));
    json_object_set_new(o, "admins",
                        json_stringn(r->admins.data ? (const char *)r->admins.data : "", r->admins.len));
    json_object_set_new(
        o, "super_admins",
        json_stringn(r->super_admins.data ? (const char *)r->super_admins.data : "", r->super_admins.len));
    json_object_set_new(o, "membership", json_integer(r->membership_state));
    json_object_set_new(o, "consent", json_integer(r->consent));
    json_object_set_new(o, "active", json_boolean(r->active));
    json_object_set_new(o, "added_by", json_string(r->added_by_inbox_id));
    json_object_set_new(o, "cursor", json_integer((json_int_t)r->cursor));
    emit(o);
    return XW_OK;
}

static int print_message(void *ctx, const xc_message_row *m)
{
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "id", hex(m->id, 32));
    json_object_set_new(o, "sender", json_string(m->sender_inbox_id));
    json_object_set_new(o, "installation", hex(m->sender_installation_id, 32));
    json_object_set_new(o, "kind", json_integer(m->kind));
    json_object_set_new(o, "type", json_string(m->content_type));
    json_object_set_new(o, "text", m->decoded ? json_stringn(m->decoded, m->decoded_len) : json_null());
    json_object_set_new(o, "delivery", json_integer(m->delivery));
    json_object_set_new(o, "sent_at_ns", json_integer((json_int_t)m->sent_at_ns));
    json_object_set_new(o, "cursor", json_integer((json_int_t)m->cursor));
    emit(o);
    return XW_OK;
}

static int print_quarantine(void *ctx, const xc_quarantine_row *q)
{
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(q->kind));
    json_object_set_new(o, "error", json_string(q->error));
    json_object_set_new(o, "reason", json_string(q->reason));
    json_object_set_new(o, "cursor", json_integer((json_int_t)q->cursor));
    emit(o);
    return XW_OK;
}

static int group_arg(const char *s, uint8_t *gid, size_t *len)
{
    size_t n = strlen(s);
    if (n == 0 || n % 2 || n / 2 > XC_GROUP_ID_MAX || xw_hex_decode_exact(s, gid, n / 2) != XW_OK)
        return XW_EINVAL;
    *len = n / 2;
    return XW_OK;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: client-driver --node URL --db FILE init WALLET_HEX | sync | groups | messages GROUP | "
            "send GROUP TEXT | create default|admins NAME DESCRIPTION [IMAGE_URL] | add GROUP INBOX... | "
            "remove GROUP "
            "INBOX... | "
            "quarantine\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *db = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--node") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--db") == 0)
            db = argv[i + 1];
        else
            return usage();
    }
    if (!url || !db || i >= argc)
        return usage();
    const char *cmd = argv[i++];
    xw_errbuf eb = {{0}};
    xc_node *node = NULL;
    int rc = xc_node_api_new(url, &node, &eb);
    xc_client *c = NULL;
    xc_client_opts o = {.db_path = db, .node = node};
    xmtp_wallet *w = NULL;
    if (rc == XW_OK && strcmp(cmd, "init") == 0) {
        if (i >= argc)
            return usage();
        rc = xmtp_wallet_from_hex(argv[i], &w, &eb);
        if (rc == XW_OK)
            rc = xc_client_create(&o, w, &c, &eb);
        if (rc == XW_OK) {
            json_t *j = json_object();
            json_object_set_new(j, "inbox", json_string(xc_client_inbox_id(c)));
            json_object_set_new(j, "installation", hex(xc_client_installation_id(c), 32));
            emit(j);
        }
    } else if (rc == XW_OK) {
        rc = xc_client_open(&o, &c, &eb);
    }
    uint8_t gid[XC_GROUP_ID_MAX];
    size_t gl = 0;
    if (rc != XW_OK || strcmp(cmd, "init") == 0) {
        /* done */
    } else if (strcmp(cmd, "sync") == 0) {
        xc_welcome_stats ws = {0};
        xc_sync_stats ss = {0};
        rc = xc_client_sync_welcomes(c, &ws, &eb);
        if (rc == XW_OK)
            rc = xc_client_sync_all(c, &ss, &eb);
        if (rc == XW_OK) {
            json_t *j = json_object();
            json_object_set_new(j, "welcomes", json_integer((json_int_t)ws.welcomes));
            json_object_set_new(j, "joined", json_integer((json_int_t)ws.joined));
            json_object_set_new(j, "envelopes", json_integer((json_int_t)ss.envelopes));
            json_object_set_new(j, "messages", json_integer((json_int_t)ss.messages));
            json_object_set_new(j, "commits", json_integer((json_int_t)ss.commits));
            json_object_set_new(j, "quarantined",
                                json_integer((json_int_t)(ss.quarantined + ws.quarantined)));
            emit(j);
        }
    } else if (strcmp(cmd, "groups") == 0) {
        rc = xc_store_group_each(xc_client_store(c), print_group, NULL, &eb);
    } else if (strcmp(cmd, "messages") == 0 && i < argc) {
        rc = group_arg(argv[i], gid, &gl);
        if (rc == XW_OK)
            rc = xc_store_message_each(xc_client_store(c), gid, gl, 0, print_message, NULL, &eb);
    } else if (strcmp(cmd, "members") == 0 && i < argc) {
        xc_member_row *m = NULL;
        size_t n = 0;
        rc = group_arg(argv[i], gid, &gl);
        if (rc == XW_OK)
            rc = xc_store_members_get(xc_client_store(c), gid, gl, &m, &n, &eb);
        for (size_t k = 0; rc == XW_OK && k < n; k++) {
            json_t *j = json_object();
            json_object_set_new(j, "leaf", json_integer(m[k].leaf));
            json_object_set_new(j, "inbox", json_string(m[k].inbox_id));
            json_object_set_new(j, "installation", hex(m[k].installation_id, 32));
            emit(j);
        }
        xw_free(m);
    } else if (strcmp(cmd, "send") == 0 && i + 1 < argc) {
        uint8_t id[32];
        rc = group_arg(argv[i], gid, &gl);
        if (rc == XW_OK)
            rc = xc_group_send_text(c, gid, gl, argv[i + 1], id, &eb);
        if (rc == XW_OK) {
            json_t *j = json_object();
            json_object_set_new(j, "id", hex(id, 32));
            emit(j);
        }
    } else if (strcmp(cmd, "create") == 0 && i + 2 < argc) {
        /* create PRESET(default|admins) NAME DESCRIPTION [IMAGE_URL] */
        xc_group_opts go = {.preset =
                                strcmp(argv[i], "admins") == 0 ? XC_PRESET_ADMINS_ONLY : XC_PRESET_DEFAULT,
                            .name = argv[i + 1],
                            .description = argv[i + 2],
                            .image_url = i + 3 < argc ? argv[i + 3] : NULL};
        uint8_t nid[16];
        rc = xc_group_create(c, &go, nid, &eb);
        if (rc == XW_OK) {
            json_t *j = json_object();
            json_object_set_new(j, "id", hex(nid, 16));
            emit(j);
        }
    } else if ((strcmp(cmd, "add") == 0 || strcmp(cmd, "remove") == 0 || strcmp(cmd, "add-address") == 0) &&
               i + 1 < argc) {
        /* add|remove GROUP INBOX... */
        rc = group_arg(argv[i], gid, &gl);
        const char *const *ids = (const char *const *)&argv[i + 1];
        size_t n = (size_t)(argc - i - 1);
        xc_add_result res;
        memset(&res, 0, sizeof res);
        if (rc == XW_OK)
            rc = strcmp(cmd, "add") == 0 ? xc_group_add_members(c, gid, gl, ids, n, &res, &eb)
                 : strcmp(cmd, "add-address") == 0
                     ? xc_group_add_members_by_address(c, gid, gl, ids, n, &res, &eb)
                     : xc_group_remove_members(c, gid, gl, ids, n, &eb);
        if (rc == XW_OK) {
            json_t *j = json_object();
            json_object_set_new(j, "inboxes_added", json_integer((json_int_t)res.inboxes_added));
            json_object_set_new(j, "installations_added", json_integer((json_int_t)res.installations_added));
            json_object_set_new(j, "errors", json_integer((json_int_t)res.n_errors));
            emit(j);
        }
    } else if (strcmp(cmd, "update-installations") == 0 && i < argc) {
        rc = group_arg(argv[i], gid, &gl);
        if (rc == XW_OK)
            rc = xc_group_update_installations(c, gid, gl, &eb);
        if (rc == XW_OK)
            emit(json_object());
    } else if (strcmp(cmd, "quarantine") == 0) {
        rc = xc_store_quarantine_each(xc_client_store(c), print_quarantine, NULL, &eb);
    } else {
        rc = XW_EINVAL;
        snprintf(eb.msg, sizeof eb.msg, "unknown command or missing argument: %s", cmd);
    }
    if (rc != XW_OK)
        fprintf(stderr, "client-driver %s: %s (%s)\n", cmd, eb.msg, xw_errname(rc));
    xc_client_free(c);
    xc_node_free(node);
    xmtp_wallet_free(w);
    return rc == XW_OK ? 0 : 1;
}
