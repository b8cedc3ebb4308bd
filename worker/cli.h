/*
 * The shared parts of xmtpw's client subcommands (init, info, sync, groups, messages, send,
 * stream): their common options, the configuration they read, the installation they open,
 * how a GROUP argument is resolved, and how they print (human text, or with --json one JSON
 * document on stdout with stable keys).
 *
 * Common options: --config FILE (else $XMTPW_CONFIG), --node URL (over xmtp.node_url and
 * XMTP_ENV), --db-dir DIR (over xmtp.db_directory / XMTP_DB_DIRECTORY), --json, --help.
 * The sink need not be configured for these commands. The installation's store is
 * DIR/xmtp.db3 (WK_CLI_DB_FILE); a key made by `xmtpw init` is DIR/wallet.key (0600).
 *
 * Errors go to stderr as "xmtpw CMD: sentence", with what to do next; the functions below
 * that fail print their message themselves and return the exit status to use.
 */
#ifndef XW_WORKER_CLI_H
#define XW_WORKER_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "worker/config.h"
#include "xmtp/client/client.h"

#define WK_CLI_DB_FILE "xmtp.db3"
#define WK_CLI_KEY_FILE "wallet.key"
#define WK_CLI_PATH_MAX 4096
#define WK_CLI_MAX_POS 2

/* Options a command takes besides the common ones. */
#define WK_CLI_OPT_WALLET_FILE 1u /* --wallet-key-file FILE */
#define WK_CLI_OPT_LIMIT 2u       /* --limit N */

#define WK_CLI_LIMIT_MAX 1000000

typedef struct {
    const char *cmd;   /* "info" */
    const char *usage; /* the whole usage text */
    unsigned opts;     /* WK_CLI_OPT_* */
    size_t npos_min, npos_max;
    /* filled by wk_cli_parse */
    const char *config, *node, *db_dir, *wallet_key_file;
    int json;
    uint64_t limit; /* 0: none given */
    const char *pos[WK_CLI_MAX_POS];
    size_t npos;
    /* filled by wk_cli_setup / wk_cli_open */
    wk_config *cfg;
    char db_path[WK_CLI_PATH_MAX];
    xc_node *node_api;
    xc_client *client;
} wk_cli;

/* Parses argv (argv[0] is the command). Returns -1 to go on, else the exit status to return
 * at once: 0 after printing --help, 2 after a usage error. */
int wk_cli_parse(wk_cli *a, int argc, char **argv);
/* Loads the configuration (sink optional) and applies --node, --db-dir, --wallet-key-file;
 * computes db_path. 0, or 1 after printing the problems. */
int wk_cli_setup(wk_cli *a);
/* Connects to the node (no request is made yet). 0 or 1. */
int wk_cli_connect(wk_cli *a);
/* wk_cli_setup + wk_cli_connect + opens the installation of db_path; when there is none:
 * "no installation in DIR: run `xmtpw init` first". 0 or 1. */
int wk_cli_open(wk_cli *a);
/* Frees everything the functions above made; returns status. */
int wk_cli_done(wk_cli *a, int status);

/* Prints "xmtpw CMD: <eb or the code's sentence>" and a hint for network errors; returns 1. */
int wk_cli_fail(const wk_cli *a, int rc, const xw_errbuf *eb);
/* Prints "xmtpw CMD: <formatted>"; returns 1. */
int wk_cli_errorf(const wk_cli *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* GROUP: a group id in hex, or a prefix of exactly one known group's id (case-insensitive).
 * 0, or 1 after saying no group or several groups match. */
int wk_cli_group(wk_cli *a, const char *arg, uint8_t gid[XC_GROUP_ID_MAX], size_t *len);

/* Output helpers. */
json_t *wk_cli_hex(const uint8_t *p, size_t n);
json_t *wk_cli_text(const xw_buf *b); /* a metadata view as a JSON string */
/* "2026-12-08T01:02:03.456Z" (UTC, milliseconds); "-" for 0. */
void wk_cli_time(int64_t ns, char out[32]);
const char *wk_cli_membership_name(int state);
const char *wk_cli_consent_name(int consent);
const char *wk_cli_conversation_name(int type);
/* Writes text on stdout on one line: control characters become spaces. */
void wk_cli_put_text(const char *p, size_t n);
/* Prints o on stdout (indented, keys in insertion order) and frees it; 0 or 1. */
int wk_cli_print_json(const wk_cli *a, json_t *o);

#endif
