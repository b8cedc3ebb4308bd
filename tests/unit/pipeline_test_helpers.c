/*
 * Helpers shared by the pipeline tests; see pipeline_test_helpers.h.
 */
#include "tests/unit/pipeline_test_helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char tmpdir[64];

void path_in_tmp(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

pl_event sample_event(void)
{
    pl_event ev = {
        .id = "ev-1",
        .kind = PL_EVENT_MESSAGE,
        .group_id = "0123abcd",
        .sender_inbox_id = "inbox-a",
        .sender_installation_id = "inst-1",
        .sent_at_ns = INT64_C(1764406800123456789),
        .observed_at_ns = INT64_C(1764406800200000000),
        .content_type = "xmtp.org/text:1.0",
        .content_json = "{ \"text\" : \"hi \\u00e9\" }",
        .decisions_json = "[{\"rule\":\"flood\",\"action\":\"none\"}]",
    };
    return ev;
}

pl_outbox *outbox_with_writer(const char *path, pl_outbox_writer **w)
{
    xw_errbuf eb = {{0}};
    pl_outbox *ob;
    assert_int_equal(pl_outbox_open(path, &ob, &eb), XW_OK);
    assert_int_equal(pl_outbox_writer_new(pl_outbox_db(ob), w, &eb), XW_OK);
    return ob;
}

void assert_outbox_counts(pl_outbox *ob, int64_t pending, int64_t failed)
{
    xw_errbuf eb = {{0}};
    int64_t p, f;
    assert_int_equal(pl_outbox_counts(ob, &p, &f, &eb), XW_OK);
    assert_int_equal(p, pending);
    assert_int_equal(f, failed);
}

void fill(sqlite3 *db, pl_outbox_writer *w, int from, int to, int ngroups)
{
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    for (int i = from; i < to; i++) {
        char id[32], group[16], content[64];
        snprintf(id, sizeof id, "ev-%06d", i);
        snprintf(group, sizeof group, "g%d", i % ngroups);
        snprintf(content, sizeof content, "{\"n\":%d}", i);
        pl_event ev = {.id = id,
                       .kind = PL_EVENT_MESSAGE,
                       .group_id = group,
                       .sender_inbox_id = "s",
                       .content_json = content};
        xw_errbuf eb = {{0}};
        assert_int_equal(pl_outbox_writer_add(w, &ev, 1, NULL, &eb), XW_OK);
    }
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

int pl_test_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xw-pl-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

int pl_test_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}
