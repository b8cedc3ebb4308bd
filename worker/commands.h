/*
 * The subcommands of `xmtpw` (worker/xmtpw.c dispatches to them).
 *
 * A subcommand is a function taking its own arguments (argv[0] is its name) and returning
 * the exit status: 0 success, 1 failure (with a sentence on stderr), 2 bad usage (with its
 * usage on stderr). Each answers --help with its usage on stdout and status 0. Adding one is
 * a line in the table of worker/xmtpw.c and a worker/cmd_<name>.c file; commands that read
 * the configuration find it with wk_cli_config_path() and load it with wk_cli_config_load().
 */
#ifndef XW_WORKER_COMMANDS_H
#define XW_WORKER_COMMANDS_H

#include "worker/config.h"

typedef struct {
    const char *name;
    const char *summary; /* one line for `xmtpw --help` */
    int (*run)(int argc, char **argv);
} wk_command;

/* `xmtpw config check|show|keys` (worker/cmd_config.c). */
int wk_cmd_config(int argc, char **argv);
/* The XMTP client's commands (worker/cmd_<name>.c, on worker/cli.h). */
int wk_cmd_init(int argc, char **argv);
int wk_cmd_info(int argc, char **argv);
int wk_cmd_sync(int argc, char **argv);
int wk_cmd_groups(int argc, char **argv);
int wk_cmd_messages(int argc, char **argv);
int wk_cmd_send(int argc, char **argv);
int wk_cmd_stream(int argc, char **argv);

/* The configuration file to read: the --config value when given, else $XMTPW_CONFIG, else
 * NULL (defaults and environment only). */
const char *wk_cli_config_path(const char *option);
/* Loads the configuration with the process environment; on failure prints every problem to
 * stderr and returns XW_ECONFIG. With check_files, wk_config_check_files() runs too. */
int wk_cli_config_load(const char *path, int check_files, wk_config **out);

#endif
