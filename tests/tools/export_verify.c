/*
 * export-verify: checks what a consumer (kcat) read back against what outbox-fill wrote.
 *
 *   kcat -C -b BOOTSTRAP -t TOPIC -o beginning -e -q -f '%k\t%h\t%s\n' | export-verify N GROUPS
 *
 * For every line: the payload must decode as an event (pl_event_decode), its id must be
 * one of the N expected, the Kafka key must be its group, and the headers must carry its
 * event_id and event_type. Across lines: every id must be seen (none lost); a repeated id
 * is a duplicate, which must carry the same bytes as the first copy (so a consumer can
 * drop it by id); and each group's first occurrences must come in order n = 0, 1, 2, ...
 * (a group lives in one partition, which kcat prints in order).
 *
 * Prints the counts and "export-verify: P passed, F failed" over its checks; exits 1 on a
 * failed check.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "pipeline/event.h"
#include "pipeline/stage.h"

#define MAX_LINE (1 << 20)

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: export-verify N GROUPS < kcat-output\n"
               "  checks what kcat read back against what outbox-fill N GROUPS wrote\n");
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: export-verify N GROUPS < kcat-output\n");
        return 2;
    }
    uint64_t n64, groups64;
    xw_errbuf peb = {{0}};
    if (xw_parse_u64("N", argv[1], 1, UINT32_MAX, &n64, &peb) != XW_OK ||
        xw_parse_u64("GROUPS", argv[2], 1, UINT32_MAX, &groups64, &peb) != XW_OK) {
        fprintf(stderr, "export-verify: %s\n", peb.msg);
        return 2;
    }
    unsigned long n = (unsigned long)n64, groups = (unsigned long)groups64;
    uint64_t *hash = calloc(n, sizeof *hash); /* payload hash of the first copy, 0 = unseen */
    uint32_t *copies = calloc(n, sizeof *copies);
    long *next_n = calloc(groups, sizeof *next_n);
    char *line = malloc(MAX_LINE);
    unsigned long received = 0, bad = 0, order = 0, mismatch = 0, dups = 0, dup_diff = 0;
    while (fgets(line, MAX_LINE, stdin)) {
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue;
        received++;
        char *key = line, *hdr = strchr(line, '\t'), *payload;
        if (!hdr || !(payload = strchr(hdr + 1, '\t'))) {
            if (bad++ < 5)
                fprintf(stderr, "unparsable line %lu: %.120s\n", received, line);
            continue;
        }
        *hdr++ = '\0';
        *payload++ = '\0';
        pl_event ev;
        xw_errbuf eb = {{0}};
        uint64_t idx;
        if (pl_event_decode(payload, strlen(payload), &ev, &eb) != XW_OK || strncmp(ev.id, "ev-", 3) != 0 ||
            xw_parse_u64("event number", ev.id + 3, 0, n - 1, &idx, &eb) != XW_OK) {
            if (bad++ < 5)
                fprintf(stderr, "bad event on line %lu: %s\n", received,
                        eb.msg[0] ? eb.msg : "unexpected id");
            pl_event_clear(&ev);
            continue;
        }
        char want_hdr[160];
        snprintf(want_hdr, sizeof want_hdr, "event_id=%s,event_type=%s", ev.id, pl_event_kind_name(ev.kind));
        if (strcmp(key, ev.group_id) != 0 || strcmp(hdr, want_hdr) != 0) {
            if (mismatch++ < 5)
                fprintf(stderr, "key/headers mismatch on line %lu: key %s headers %s\n", received, key, hdr);
        }
        unsigned long g = idx % groups;
        uint64_t h = pl_hash64(payload, strlen(payload)) | 1;
        if (copies[idx]++ == 0) {
            hash[idx] = h;
            json_t *c = json_loads(ev.content_json ? ev.content_json : "null", 0, NULL);
            long k = c ? (long)json_integer_value(json_object_get(c, "n")) : -1;
            json_decref(c);
            if (k != next_n[g]) {
                if (order++ < 5)
                    fprintf(stderr, "order: group %lu event %s has n=%ld, expected n=%ld\n", g, ev.id, k,
                            next_n[g]);
            }
            next_n[g] = k + 1;
        } else {
            dups++;
            if (hash[idx] != h)
                dup_diff++;
        }
        pl_event_clear(&ev);
    }
    unsigned long distinct = 0;
    for (unsigned long i = 0; i < n; i++)
        distinct += copies[i] > 0;
    unsigned long lost = n - distinct;
    printf("received %lu messages: %lu distinct of %lu expected, lost %lu, duplicates %lu "
           "(each repeats an id already seen%s), order violations %lu, bad lines %lu, key/header mismatches "
           "%lu\n",
           received, distinct, n, lost, dups, dup_diff ? "; SOME WITH DIFFERENT BYTES" : ", same bytes",
           order, bad, mismatch);
    int checks[] = {lost == 0, dup_diff == 0, order == 0, bad == 0, mismatch == 0};
    int pass = 0, fail = 0;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        checks[i] ? pass++ : fail++;
    printf("export-verify: %d passed, %d failed\n", pass, fail);
    free(hash);
    free(copies);
    free(next_n);
    free(line);
    return fail ? 1 : 0;
}
