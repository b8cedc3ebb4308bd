/*
 * outbox-fill: writes N test events into an outbox file, the way the worker does (through
 * pl_outbox_writer, in transactions of BATCH events).
 *
 *   outbox-fill DB N GROUPS [BATCH [PAD]]
 *
 * Event i (0-based) has id "ev-<i, 10 digits>", belongs to group i mod GROUPS (a 32-hex
 * group id derived from the group number), and carries content {"text":..., "n":k}
 * where k counts that group's events from 0 (plus "pad": PAD x's when PAD is given, to
 * make events larger). export-verify checks exactly this shape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "pipeline/outbox.h"
#include "pipeline/stage.h"

static int parse_u(const char *s, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long n, groups, batch = 10000, pad = 0;
    if (argc < 4 || parse_u(argv[2], &n) || parse_u(argv[3], &groups) || groups == 0 ||
        (argc > 4 && (parse_u(argv[4], &batch) || batch == 0)) ||
        (argc > 5 && (parse_u(argv[5], &pad) || pad > 100000))) {
        fprintf(stderr, "usage: outbox-fill DB N GROUPS [BATCH [PAD]]\n");
        return 2;
    }
    static char content[100000 + 256];
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    if (pl_outbox_open(argv[1], &ob, &eb) != XW_OK) {
        fprintf(stderr, "outbox-fill: %s\n", eb.msg);
        return 1;
    }
    sqlite3 *db = pl_outbox_db(ob);
    pl_outbox_writer *w;
    if (pl_outbox_writer_new(db, &w, &eb) != XW_OK) {
        fprintf(stderr, "outbox-fill: %s\n", eb.msg);
        return 1;
    }
    unsigned long *per_group = calloc(groups, sizeof *per_group);
    int64_t now = xw_clock_now_ns(xw_clock_real());
    for (unsigned long i = 0; i < n; i++) {
        if (i % batch == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            return 1;
        unsigned long g = i % groups;
        char id[32], group[40], inbox[72];
        snprintf(id, sizeof id, "ev-%010lu", i);
        uint64_t h1 = pl_hash64(&g, sizeof g), h2 = pl_hash64(&h1, sizeof h1);
        snprintf(group, sizeof group, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
        snprintf(inbox, sizeof inbox, "%016llx%016llx%016llx%016llx", (unsigned long long)h2,
                 (unsigned long long)h1, (unsigned long long)(h1 ^ i), (unsigned long long)(h2 + i % 7));
        int len = snprintf(content, 200, "{\"text\":\"hello from the load test, message %lu\",\"n\":%lu", i,
                           per_group[g]++);
        if (pad) {
            memcpy(content + len, ",\"pad\":\"", 8);
            memset(content + len + 8, 'x', pad);
            len += 8 + (int)pad;
            content[len++] = '"';
        }
        content[len++] = '}';
        content[len] = '\0';
        pl_event ev = {
            .id = id,
            .kind = PL_EVENT_MESSAGE,
            .group_id = group,
            .sender_inbox_id = inbox,
            .sent_at_ns = now + (int64_t)i,
            .observed_at_ns = now + (int64_t)i + 1000,
            .content_type = "xmtp.org/text:1.0",
            .content_json = content,
        };
        if (pl_outbox_writer_add(w, &ev, now, NULL, &eb) != XW_OK) {
            fprintf(stderr, "outbox-fill: %s\n", eb.msg);
            return 1;
        }
        if ((i % batch == batch - 1 || i == n - 1) &&
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "outbox-fill: commit: %s\n", sqlite3_errmsg(db));
            return 1;
        }
    }
    free(per_group);
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    printf("wrote %lu events in %lu groups\n", n, groups);
    return 0;
}
