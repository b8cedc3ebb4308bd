/*
 * outbox-fill: writes N test events into an outbox file, the way the worker does (through
 * pl_outbox_writer, in SQLite transactions of BATCH events, each made of simulated store
 * transactions of 1..50 events written with one pl_outbox_writer_add_many: a batch row).
 *
 *   outbox-fill DB N GROUPS [BATCH [PAD]]
 *
 * Event i (0-based) has id "ev-<i, 10 digits>", belongs to group i mod GROUPS (a 32-hex
 * group id derived from the group number), and carries content {"text":..., "n":k}
 * where k counts that group's events from 0 (plus "pad": PAD x's when PAD is given, to
 * make events larger). export-verify checks exactly this shape.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/parse.h"
#include "pipeline/outbox.h"
#include "pipeline/stage.h"

static int parse_u(const char *what, const char *s, unsigned long *out)
{
    uint64_t v;
    xw_errbuf eb = {{0}};
    if (xw_parse_u64(what, s, 0, ULONG_MAX, &v, &eb) != XW_OK) {
        fprintf(stderr, "outbox-fill: %s\n", eb.msg);
        return -1;
    }
    *out = (unsigned long)v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long n, groups, batch = 10000, pad = 0;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: outbox-fill DB N GROUPS [BATCH [PAD]]\n"
               "  writes N test events in GROUPS groups into the outbox DB (created if missing), BATCH\n"
               "  events per transaction (default 10000), PAD bytes of padding each (default 0)\n");
        return 0;
    }
    if (argc < 4 || parse_u("N", argv[2], &n) || parse_u("GROUPS", argv[3], &groups) || groups == 0 ||
        (argc > 4 && (parse_u("BATCH", argv[4], &batch) || batch == 0)) ||
        (argc > 5 && (parse_u("PAD", argv[5], &pad) || pad > 100000))) {
        fprintf(stderr, "usage: outbox-fill DB N GROUPS [BATCH [PAD]]\n");
        return 2;
    }
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
    /* one simulated store transaction = one add_many of 1..50 events (a batch row) */
    enum { MAXB = 50 };
    static char ids[MAXB][32], grp[MAXB][40], inbox[MAXB][72];
    static char *contents[MAXB];
    pl_event evs[MAXB];
    for (int k = 0; k < MAXB; k++)
        if (!(contents[k] = malloc(100000 + 256)))
            return 1;
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ n;
    for (unsigned long i = 0; i < n;) {
        if (i % batch == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            return 1;
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        unsigned long k = 1 + (unsigned long)(rng % MAXB);
        unsigned long room = batch - i % batch; /* stay inside this SQLite transaction */
        if (k > room)
            k = room;
        if (k > n - i)
            k = n - i;
        for (unsigned long j = 0; j < k; j++, i++) {
            unsigned long g = i % groups;
            char *content = contents[j];
            snprintf(ids[j], sizeof ids[j], "ev-%010lu", i);
            uint64_t h1 = pl_hash64(&g, sizeof g), h2 = pl_hash64(&h1, sizeof h1);
            snprintf(grp[j], sizeof grp[j], "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
            snprintf(inbox[j], sizeof inbox[j], "%016llx%016llx%016llx%016llx", (unsigned long long)h2,
                     (unsigned long long)h1, (unsigned long long)(h1 ^ i), (unsigned long long)(h2 + i % 7));
            int len = snprintf(content, 200, "{\"text\":\"hello from the load test, message %lu\",\"n\":%lu",
                               i, per_group[g]++);
            if (pad) {
                memcpy(content + len, ",\"pad\":\"", 8);
                memset(content + len + 8, 'x', pad);
                len += 8 + (int)pad;
                content[len++] = '"';
            }
            content[len++] = '}';
            content[len] = '\0';
            evs[j] = (pl_event){
                .id = ids[j],
                .kind = PL_EVENT_MESSAGE,
                .group_id = grp[j],
                .sender_inbox_id = inbox[j],
                .sent_at_ns = now + (int64_t)i,
                .observed_at_ns = now + (int64_t)i + 1000,
                .content_type = "xmtp.org/text:1.0",
                .content_json = content,
            };
        }
        if (pl_outbox_writer_add_many(w, evs, k, now, NULL, &eb) != XW_OK) {
            fprintf(stderr, "outbox-fill: %s\n", eb.msg);
            return 1;
        }
        if ((i % batch == 0 || i == n) && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "outbox-fill: commit: %s\n", sqlite3_errmsg(db));
            return 1;
        }
    }
    for (int k = 0; k < MAXB; k++)
        free(contents[k]);
    free(per_group);
    pl_outbox_writer_free(w);
    pl_outbox_close(ob);
    printf("wrote %lu events in %lu groups\n", n, groups);
    return 0;
}
