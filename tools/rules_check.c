/*
 * rules-check FILE...: compiles a layered rule set and reports every error and warning as
 * file:line:col. Exit status 0 when the set compiles (warnings allowed unless --strict),
 * 1 on errors, 2 on bad usage. `--needs` adds a note per rule that needs admin rights.
 */
#include <stdio.h>
#include <string.h>

#include "rules/rules.h"

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: rules-check [--strict] [--needs] FILE...\n"
               "  compiles the rule files in order (later files may override earlier ones)\n"
               "  --strict  treat warnings as errors\n"
               "  --needs   list the rules that need the bot to be an admin\n"
               "  --help    this text\n"
               "exit status 0 when the set compiles, 1 on errors, 2 on bad usage (docs/rules.md)\n");
    return status;
}

int main(int argc, char **argv)
{
    int strict = 0, needs = 0, first = 1;
    for (; first < argc && argv[first][0] == '-' && argv[first][1] == '-'; first++) {
        if (strcmp(argv[first], "--strict") == 0)
            strict = 1;
        else if (strcmp(argv[first], "--needs") == 0)
            needs = 1;
        else if (strcmp(argv[first], "--help") == 0)
            return usage(stdout, 0);
        else {
            fprintf(stderr, "rules-check: unknown option '%s'\n", argv[first]);
            return usage(stderr, 2);
        }
    }
    if (first < argc && strcmp(argv[first], "-h") == 0)
        return usage(stdout, 0);
    if (first >= argc)
        return usage(stderr, 2);
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    int rc = rules_set_load_files((const char *const *)argv + first, (size_t)(argc - first), NULL, &s, &d);
    if (s && needs)
        rules_set_describe_needs(s, &d);
    rules_diags_print(&d, stderr);
    if (rc == XW_OK)
        printf("%s: %zu rules from %d file%s; %zu warning%s\n", d.warnings && strict ? "failed" : "ok",
               rules_set_rule_count(s), argc - first, argc - first == 1 ? "" : "s", d.warnings,
               d.warnings == 1 ? "" : "s");
    else
        printf("failed: %zu error%s, %zu warning%s\n", d.errors, d.errors == 1 ? "" : "s", d.warnings,
               d.warnings == 1 ? "" : "s");
    int bad = rc != XW_OK || (strict && d.warnings);
    rules_set_free(s);
    rules_diags_free(&d);
    return bad ? 1 : 0;
}
