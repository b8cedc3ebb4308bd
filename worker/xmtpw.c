/*
 * xmtpw: the worker's program. `xmtpw COMMAND [ARGS]`, one table of subcommands.
 *
 * Today: `config` (check, show, keys). The XMTP client's subcommands (init, info, sync,
 * groups, messages, send, stream) and `run` (the worker itself) are each one more line in
 * the table below and their own worker/cmd_<name>.c (worker/commands.h says how).
 *
 * Exit status: what the subcommand returns (0 success, 1 failure, 2 bad usage); 2 for an
 * unknown command or no command.
 */
#include <stdio.h>
#include <string.h>

#include "worker/commands.h"
#include "worker/util.h"

static const wk_command commands[] = {
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
                 "(docs/worker.md lists every key and its variable).\n");
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
