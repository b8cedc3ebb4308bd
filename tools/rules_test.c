/*
 * rules-test FILE... < events.jsonl: evaluates each event (one JSON object per line) against
 * the rule set and prints one decision per line, as JSON. A line that is not a valid event
 * prints {"line":N,"error":"..."} and makes the exit status 1; blank lines and lines that
 * start with # are skipped. --state-in / --state-out load and save the window state (rate
 * windows, first messages, cooldowns), as a worker does across a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "rules/rules.h"

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: rules-test [--state-in FILE] [--state-out FILE] RULEFILE... < events.jsonl\n"
               "  evaluates each event (one JSON object per line of stdin) against the rule files and\n"
               "  prints one decision per line, as JSON (docs/rules.md)\n"
               "  --state-in FILE   load the window state (rate windows, cooldowns) first\n"
               "  --state-out FILE  save it at the end\n"
               "  --help            this text\n");
    return status;
}

static int read_file(const char *path, xw_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (xw_buf_append(b, chunk, n) != XW_OK) {
            rc = -1;
            break;
        }
    if (ferror(f))
        rc = -1;
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    const char *state_in = NULL, *state_out = NULL;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        if (strcmp(argv[first], "--state-in") == 0 && first + 1 < argc)
            state_in = argv[++first];
        else if (strcmp(argv[first], "--state-out") == 0 && first + 1 < argc)
            state_out = argv[++first];
        else if (strcmp(argv[first], "--help") == 0)
            return usage(stdout, 0);
        else {
            fprintf(stderr, "rules-test: unknown option '%s' or missing value\n", argv[first]);
            return usage(stderr, 2);
        }
    }
    if (first < argc && strcmp(argv[first], "-h") == 0)
        return usage(stdout, 0);
    if (first >= argc)
        return usage(stderr, 2);
    rules_limits lim;
    rules_limits_default(&lim);
    rules_engine *e = rules_engine_new(&lim);
    rules_diags d;
    rules_diags_init(&d);
    if (!e || rules_engine_reload_files(e, (const char *const *)argv + first, (size_t)(argc - first), &d) !=
                  XW_OK) {
        rules_diags_print(&d, stderr);
        rules_diags_free(&d);
        rules_engine_free(e);
        return 1;
    }
    rules_diags_free(&d);
    int status = 0;
    if (state_in) {
        xw_buf sb;
        xw_buf_init(&sb, (size_t)1 << 30);
        xw_errbuf eb = {{0}};
        if (read_file(state_in, &sb) != 0 || rules_engine_state_import(e, sb.data, sb.len, &eb) != XW_OK) {
            fprintf(stderr, "rules-test: cannot load state from %s: %s\n", state_in,
                    eb.msg[0] ? eb.msg : "unreadable");
            xw_buf_free(&sb);
            rules_engine_free(e);
            return 1;
        }
        xw_buf_free(&sb);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    xw_buf out;
    xw_buf_init(&out, (size_t)1 << 26);
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        size_t sp = strspn(line, " \t");
        if (line[sp] == '\0' || line[sp] == '#')
            continue;
        rules_event *ev = NULL;
        xw_errbuf eb = {{0}};
        const rules_decision *dec = NULL;
        xw_buf_reset(&out);
        if (rules_event_parse_json(line, (size_t)len, &lim, &ev, &eb) != XW_OK ||
            rules_engine_eval(e, ev, &dec, &eb) != XW_OK) {
            xw_buf_appendf(&out, "{\"line\":%ld,\"error\":\"", lineno);
            for (const char *p = eb.msg; *p; p++)
                xw_buf_appendf(&out, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
            xw_buf_append_str(&out, "\"}");
            status = 1;
        } else {
            rules_decision_to_json(dec, &out);
        }
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
        rules_event_free(ev);
    }
    free(line);
    xw_buf_free(&out);
    if (state_out) {
        xw_buf sb;
        xw_buf_init(&sb, (size_t)1 << 30);
        FILE *f = fopen(state_out, "wb");
        if (!f || rules_engine_state_export(e, &sb) != XW_OK || fwrite(sb.data, 1, sb.len, f) != sb.len) {
            fprintf(stderr, "rules-test: cannot save state to %s\n", state_out);
            status = 1;
        }
        if (f)
            fclose(f);
        xw_buf_free(&sb);
    }
    rules_engine_free(e);
    return status;
}
