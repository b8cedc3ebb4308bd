/*
 * `xmtpw config`: check, show or list the configuration.
 *
 *   xmtpw config check [--config FILE] [--strict]  every problem as file:line:col; exit 0/1
 *   xmtpw config show  [--config FILE]             the effective configuration, secrets redacted
 *   xmtpw config keys                              every key, its variable, default and bounds
 *
 * check loads the file and the environment, then checks what they point to (key file, CA
 * file, rule files compiled, directories, Kafka properties): what passes here passes the
 * configuration step of `xmtpw run`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "worker/commands.h"
#include "worker/util.h"

extern char **environ;

static const char USAGE[] =
    "usage: xmtpw config check [--config FILE] [--strict]\n"
    "       xmtpw config show [--config FILE]\n"
    "       xmtpw config keys\n"
    "\n"
    "  check   load the configuration, check the files it names (wallet key file, CA file,\n"
    "          rule files, directories, Kafka properties); print every problem as\n"
    "          file:line:col; exit 0 when it is usable, 1 when not\n"
    "          --strict: warnings count as errors\n"
    "  show    print the effective configuration (defaults, file, environment) as YAML,\n"
    "          with where each value came from; secrets are redacted\n"
    "  keys    print every key with its environment variable, default and bounds\n"
    "\n"
    "The file is --config FILE, else $XMTPW_CONFIG; without either, the defaults and the\n"
    "environment alone are used.\n";

const char *wk_cli_config_path(const char *option)
{
    if (option)
        return option;
    const char *e = getenv("XMTPW_CONFIG");
    return e && *e ? e : NULL;
}

int wk_cli_config_load(const char *path, int check_files, wk_config **out)
{
    wk_diags d;
    wk_diags_init(&d);
    int rc = wk_config_load(path, (const char *const *)environ, out, &d);
    if (rc == XW_OK && check_files && wk_config_check_files(*out, &d) != XW_OK) {
        wk_config_free(*out);
        *out = NULL;
        rc = XW_ECONFIG;
    }
    wk_diags_print(&d, stderr);
    wk_diags_free(&d);
    return rc;
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "xmtpw config: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", USAGE);
    return 2;
}

static int check(const char *path, int strict)
{
    wk_diags d;
    wk_diags_init(&d);
    wk_config *c = NULL;
    int rc = wk_config_load(path, (const char *const *)environ, &c, &d);
    if (rc == XW_OK)
        rc = wk_config_check_files(c, &d);
    wk_diags_print(&d, stderr);
    const char *what = path ? path : "defaults and environment";
    int bad = rc != XW_OK || (strict && d.warnings);
    if (!bad)
        printf("ok: %s; %zu warning%s\n", what, d.warnings, d.warnings == 1 ? "" : "s");
    else
        printf("failed: %s; %zu error%s, %zu warning%s\n", what, d.errors, d.errors == 1 ? "" : "s",
               d.warnings, d.warnings == 1 ? "" : "s");
    wk_config_free(c);
    wk_diags_free(&d);
    return bad ? 1 : 0;
}

static int show(const char *path)
{
    wk_config *c = NULL;
    if (wk_cli_config_load(path, 0, &c) != XW_OK)
        return 1;
    xw_buf b;
    xw_buf_init(&b, 4u << 20);
    int rc = wk_config_show(c, &b);
    if (rc == XW_OK)
        fwrite(b.data, 1, b.len, stdout);
    else
        fprintf(stderr, "xmtpw config show: %s\n", xw_strerror(rc));
    xw_buf_free(&b);
    wk_config_free(c);
    return rc == XW_OK ? 0 : 1;
}

static int keys(void)
{
    xw_buf b;
    xw_buf_init(&b, 1u << 20);
    int rc = wk_config_reference(&b);
    if (rc == XW_OK)
        fwrite(b.data, 1, b.len, stdout);
    xw_buf_free(&b);
    return rc == XW_OK ? 0 : 1;
}

int wk_cmd_config(int argc, char **argv)
{
    static const char *const subs[] = {"check", "show", "keys"};
    if (argc < 2)
        return bad_usage("%s", "which one: check, show or keys?");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    int which = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(sub, subs[i]) == 0)
            which = i;
    if (which < 0) {
        const char *dym = wk_did_you_mean(sub, strlen(sub), subs, 3);
        if (dym) {
            fprintf(stderr, "xmtpw config: unknown subcommand '%s'; did you mean '%s'?\n%s", sub, dym, USAGE);
            return 2;
        }
        return bad_usage("unknown subcommand '%s'", sub);
    }
    const char *config = NULL;
    int strict = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (which != 2 && strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return bad_usage("%s needs a file name", a);
            config = argv[++i];
        } else if (which != 2 && strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else if (which == 0 && strcmp(a, "--strict") == 0) {
            strict = 1;
        } else {
            return bad_usage("unknown option '%s'", a);
        }
    }
    if (config && !*config)
        return bad_usage("%s", "--config needs a file name");
    xw_log_set_level(XW_LOG_WARN); /* librdkafka's configuration warnings, if any */
    switch (which) {
    case 0:
        return check(wk_cli_config_path(config), strict);
    case 1:
        return show(wk_cli_config_path(config));
    default:
        return keys();
    }
}
