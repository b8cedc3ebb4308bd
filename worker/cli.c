/*
 * The shared parts of xmtpw's client subcommands (worker/cli.h): options, configuration,
 * opening the installation, GROUP arguments and output.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/parse.h"
#include "worker/cli.h"
#include "worker/commands.h"

extern char **environ;

static int usage_error(const wk_cli *a, const char *fmt, const char *arg)
{
    fprintf(stderr, "xmtpw %s: ", a->cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", a->usage);
    return 2;
}

/* The value of an option given as "--name VALUE" or "--name=VALUE"; NULL when argv[*i] is
 * not that option. *bad is set when the value is missing or empty. */
static const char *opt_value(const char *name, int argc, char **argv, int *i, int *bad)
{
    size_t n = strlen(name);
    const char *s = argv[*i];
    if (strncmp(s, name, n) != 0)
        return NULL;
    if (s[n] == '=') {
        *bad = s[n + 1] == '\0';
        return s + n + 1;
    }
    if (s[n] != '\0')
        return NULL;
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
        *bad = 1;
        return "";
    }
    return argv[++*i];
}

int wk_cli_parse(wk_cli *a, int argc, char **argv)
{
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (only_pos || s[0] != '-' || strcmp(s, "-") == 0) {
            if (a->npos >= a->npos_max)
                return usage_error(a, "unexpected argument '%s'", s);
            a->pos[a->npos++] = s;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            fputs(a->usage, stdout);
            return 0;
        }
        if (strcmp(s, "--json") == 0) {
            a->json = 1;
            continue;
        }
        int bad = 0;
        const char *v;
        if ((v = opt_value("--config", argc, argv, &i, &bad)))
            a->config = v;
        else if ((v = opt_value("--node", argc, argv, &i, &bad)))
            a->node = v;
        else if ((v = opt_value("--db-dir", argc, argv, &i, &bad)))
            a->db_dir = v;
        else if ((a->opts & WK_CLI_OPT_WALLET_FILE) &&
                 (v = opt_value("--wallet-key-file", argc, argv, &i, &bad)))
            a->wallet_key_file = v;
        else if ((a->opts & WK_CLI_OPT_LIMIT) && (v = opt_value("--limit", argc, argv, &i, &bad))) {
            xw_errbuf eb = {{0}};
            if (!bad && xw_parse_u64("--limit", v, 1, WK_CLI_LIMIT_MAX, &a->limit, &eb) != XW_OK)
                return usage_error(a, "%s", eb.msg);
        } else
            return usage_error(a, "unknown option '%s'", s);
        if (bad)
            return usage_error(a, "%s needs a value", s);
    }
    if (a->npos < a->npos_min)
        return usage_error(a, "%s", a->npos_min == 1 ? "missing argument" : "missing arguments");
    return -1;
}

int wk_cli_errorf(const wk_cli *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xmtpw %s: ", a->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int wk_cli_fail(const wk_cli *a, int rc, const xw_errbuf *eb)
{
    wk_cli_errorf(a, "%s", eb && eb->msg[0] ? eb->msg : xw_strerror(rc));
    if (rc == XW_ENETWORK || rc == XW_EUNAVAILABLE || rc == XW_ETIMEOUT || rc == XW_EAGAIN)
        fprintf(stderr,
                "xmtpw %s: is the node at %s reachable? Choose it with --node URL or XMTP_ENV "
                "(local, dev, production), then try again\n",
                a->cmd, a->cfg && a->cfg->xmtp.node_url ? a->cfg->xmtp.node_url : "(none)");
    else if (rc == XW_EDB)
        fprintf(stderr, "xmtpw %s: is another xmtpw using %s? Try again when it is done\n", a->cmd,
                a->db_path);
    return 1;
}

int wk_cli_setup(wk_cli *a)
{
    wk_diags d;
    wk_diags_init(&d);
    int rc = wk_config_load_flags(wk_cli_config_path(a->config), (const char *const *)environ,
                                  WK_CONFIG_SINK_OPTIONAL, &a->cfg, &d);
    if (rc == XW_OK && a->node)
        rc = wk_config_override(a->cfg, "xmtp.node_url", a->node, "option --node", &d);
    if (rc == XW_OK && a->db_dir)
        rc = wk_config_override(a->cfg, "xmtp.db_directory", a->db_dir, "option --db-dir", &d);
    if (rc == XW_OK && a->wallet_key_file) {
        if (a->cfg->xmtp.wallet_key) {
            wk_diags_add(&d, 0, "option --wallet-key-file", "a wallet key is also set (%s); keep one",
                         wk_config_origin(a->cfg, "xmtp.wallet_key"));
            rc = XW_ECONFIG;
        } else {
            rc = wk_config_override(a->cfg, "xmtp.wallet_key_file", a->wallet_key_file,
                                    "option --wallet-key-file", &d);
        }
    }
    wk_diags_print(&d, stderr);
    wk_diags_free(&d);
    if (rc != XW_OK)
        return wk_cli_errorf(a, "the configuration above is not usable; `xmtpw config check` explains it");
    const char *dir = a->cfg->xmtp.db_directory;
    size_t n = strlen(dir);
    if ((size_t)snprintf(a->db_path, sizeof a->db_path, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/",
                         WK_CLI_DB_FILE) >= sizeof a->db_path)
        return wk_cli_errorf(a, "the store directory's name is too long");
    return 0;
}

int wk_cli_connect(wk_cli *a)
{
    xw_errbuf eb = {{0}};
    int rc = xc_node_api_new(a->cfg->xmtp.node_url, &a->node_api, &eb);
    return rc == XW_OK ? 0 : wk_cli_fail(a, rc, &eb);
}

int wk_cli_open(wk_cli *a)
{
    if (wk_cli_setup(a))
        return 1;
    struct stat st;
    if (stat(a->db_path, &st) != 0) {
        if (errno == ENOENT)
            return wk_cli_errorf(a, "no installation in %s: run `xmtpw init` first (or give --db-dir DIR)",
                                 a->cfg->xmtp.db_directory);
        return wk_cli_errorf(a, "cannot read %s: %s", a->db_path, strerror(errno));
    }
    if (wk_cli_connect(a))
        return 1;
    xw_errbuf eb = {{0}};
    xc_client_opts o = {.db_path = a->db_path, .node = a->node_api};
    int rc = xc_client_open(&o, &a->client, &eb);
    if (rc == XW_ENOTFOUND)
        return wk_cli_errorf(a, "no installation in %s: run `xmtpw init` first", a->cfg->xmtp.db_directory);
    return rc == XW_OK ? 0 : wk_cli_fail(a, rc, &eb);
}

int wk_cli_done(wk_cli *a, int status)
{
    xc_client_free(a->client);
    xc_node_free(a->node_api);
    wk_config_free(a->cfg);
    a->client = NULL;
    a->node_api = NULL;
    a->cfg = NULL;
    return status;
}

/* --- GROUP ------------------------------------------------------------------------------ */
typedef struct {
    const char *prefix;
    size_t plen;
    size_t matches;
    uint8_t id[XC_GROUP_ID_MAX];
    size_t id_len;
} group_match;

static int match_group(void *ctx, const xc_group_row *r)
{
    group_match *m = ctx;
    char h[2 * XC_GROUP_ID_MAX + 1];
    xw_hex_encode(r->id, r->id_len, h);
    if (m->plen <= 2 * r->id_len && strncasecmp(h, m->prefix, m->plen) == 0) {
        if (m->plen == 2 * r->id_len) { /* the whole id: no other can match it exactly */
            memcpy(m->id, r->id, r->id_len);
            m->id_len = r->id_len;
            m->matches = 1;
            return XW_EEXISTS; /* stop */
        }
        if (m->matches++ == 0) {
            memcpy(m->id, r->id, r->id_len);
            m->id_len = r->id_len;
        }
    }
    return XW_OK;
}

int wk_cli_group(wk_cli *a, const char *arg, uint8_t gid[XC_GROUP_ID_MAX], size_t *len)
{
    size_t n = strlen(arg);
    int hex = n <= 2 * XC_GROUP_ID_MAX;
    for (size_t i = 0; hex && i < n; i++)
        hex = strchr("0123456789abcdefABCDEF", arg[i]) != NULL;
    if (!hex)
        return wk_cli_errorf(a,
                             "'%.140s' is not a group id: give the id in hex, or its first digits "
                             "(`xmtpw groups` lists them)",
                             arg);
    if (n == 0)
        return wk_cli_errorf(a, "the group id is empty; `xmtpw groups` lists them");
    group_match m = {.prefix = arg, .plen = n};
    xw_errbuf eb = {{0}};
    int rc = xc_store_group_each(xc_client_store(a->client), match_group, &m, &eb);
    if (rc != XW_OK && rc != XW_EEXISTS)
        return wk_cli_fail(a, rc, &eb);
    if (m.matches == 0)
        return wk_cli_errorf(
            a, "no group %s '%s' in %s; `xmtpw groups` lists them, `xmtpw sync` fetches new ones",
            n % 2 == 0 && n >= 32 ? "with id" : "whose id starts with", arg, a->db_path);
    if (m.matches > 1)
        return wk_cli_errorf(a, "%zu groups have ids starting with '%s'; give more digits", m.matches, arg);
    memcpy(gid, m.id, m.id_len);
    *len = m.id_len;
    return 0;
}

/* --- output -------------------------------------------------------------------------------- */
json_t *wk_cli_hex(const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    if (n > 64)
        n = 64;
    xw_hex_encode(p, n, buf);
    return json_stringn(buf, 2 * n);
}

json_t *wk_cli_text(const xw_buf *b)
{
    return json_stringn(b->data ? (const char *)b->data : "", b->data ? b->len : 0);
}

void wk_cli_time(int64_t ns, char out[32])
{
    if (ns <= 0) {
        snprintf(out, 32, "-");
        return;
    }
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(out, 32, "-");
        return;
    }
    char d[24];
    strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", d, (int)(ns / 1000000 % 1000));
}

const char *wk_cli_membership_name(int state)
{
    switch (state) {
    case XC_MEMBERSHIP_ALLOWED:
        return "allowed";
    case XC_MEMBERSHIP_REJECTED:
        return "rejected";
    case XC_MEMBERSHIP_PENDING:
        return "pending";
    default:
        return "unknown";
    }
}

const char *wk_cli_consent_name(int consent)
{
    switch (consent) {
    case XC_CONSENT_ALLOWED:
        return "allowed";
    case XC_CONSENT_DENIED:
        return "denied";
    default:
        return "unknown";
    }
}

const char *wk_cli_conversation_name(int type)
{
    switch (type) {
    case XC_CONV_GROUP:
        return "group";
    case XC_CONV_DM:
        return "dm";
    case XC_CONV_SYNC:
        return "sync";
    case XC_CONV_ONESHOT:
        return "oneshot";
    default:
        return "unknown";
    }
}

void wk_cli_put_text(const char *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        putchar(ch < 0x20 || ch == 0x7f ? ' ' : ch);
    }
}

int wk_cli_print_json(const wk_cli *a, json_t *o)
{
    if (!o)
        return wk_cli_errorf(a, "out of memory");
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return wk_cli_errorf(a, "out of memory");
    puts(s);
    free(s);
    return fflush(stdout) == 0 ? 0 : wk_cli_errorf(a, "cannot write the output: %s", strerror(errno));
}
