/*
 * `xmtpw stream`: not available yet. The client library has no stream API so far
 * (xmtp/client/client.h); until it does, the command says so instead of polling in a loop
 * that would look like a stream and miss what a stream promises.
 */
#include <stdio.h>

#include "worker/cli.h"
#include "worker/commands.h"

static const char USAGE[] =
    "usage: xmtpw stream [--node URL] [--db-dir DIR] [--config FILE] [--json]\n"
    "\n"
    "Not available yet: the XMTP client library has no stream API so far. Use `xmtpw sync`\n"
    "followed by `xmtpw messages GROUP` to read new messages.\n";

int wk_cmd_stream(int argc, char **argv)
{
    wk_cli a = {.cmd = "stream", .usage = USAGE};
    int rc = wk_cli_parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    return wk_cli_errorf(&a, "not available yet: the client library has no stream API so far; run "
                             "`xmtpw sync` and then `xmtpw messages GROUP` to read new messages");
}
