/*
 * xmtpw: the worker's program. `xmtpw COMMAND [ARGS]`, one table of subcommands.
 *
 * Today: `config` (check, show, keys) and the XMTP client's subcommands (init, info, sync,
 * groups, messages, send, stream; worker/cli.h holds their shared parts). `run` (the worker
 * itself) will be one more line in the table below and its own worker/cmd_run.c
 * (worker/commands.h says how).
 *
 * Exit status: what the subcommand returns (0 success, 1 failure, 2 bad usage); 2 for an
 * unknown command or no command.
 */
#include <stdio.h>
#include <string.h>

#include "worker/commands.h"
#include "worker/util.h"

static const wk_command commands[] = {
    {"init", "create and register the bot's installation (or reopen it)", wk_cmd_init},
    {"info", "the installation: inbox id, installation id, address, node, store, groups", wk_cmd_info},
    {"sync", "fetch welcomes and every group's new messages from the node", wk_cmd_sync},
    {"groups", "list the groups the bot knows", wk_cmd_groups},
    {"messages", "list a group's messages", wk_cmd_messages},
    {"send", "send a text message to a group", wk_cmd_send},
    {"stream", "stream new messages (not available yet)", wk_cmd_stream},
    {"config", "check, show or list the configuration (worker.yaml and the environment)", wk_cmd_config},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: xmtpw COMMAND [ARGS]\n"
                 "       xmtpw COMMAND --help\n"
                 "\n"
                 "A bot for XMTP group conversations: rules that moderate, every event to Kafka.\n"
                 "\n"
                 "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n"
                 "The configuration is read from --config FILE, else $XMTPW_CONFIG, and the environment\n"
                 "(docs/worker.md lists every key and its variable). The client commands also take\n"
                 "--node URL (else XMTP_ENV: local, dev, production), --db-dir DIR (else\n"
                 "XMTP_DB_DIRECTORY) and --json.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (name[0] == '-') {
        fprintf(stderr, "xmtpw: unknown option '%s'; `xmtpw --help` lists the commands\n", name);
        return 2;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        name = argv[2];
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (strcmp(commands[i].name, name) == 0) {
                char *hargv[] = {argv[2], "--help", NULL};
                return commands[i].run(2, hargv);
            }
    } else {
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (strcmp(commands[i].name, name) == 0)
                return commands[i].run(argc - 1, argv + 1);
    }
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    const char *dym = wk_did_you_mean(name, strlen(name), names, NCOMMANDS);
    fprintf(stderr, "xmtpw: unknown command '%s'%s%s%s; `xmtpw --help` lists the commands\n", name,
            dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
    return 2;
}
