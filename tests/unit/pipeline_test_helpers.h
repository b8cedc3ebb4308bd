/*
 * Helpers shared by the pipeline tests (test_pipeline_outbox.c, test_pipeline_export.c): a
 * temporary directory made by the group setup, a sample event, an outbox with a writer, an
 * outbox filler, a check of the outbox's counts, and a row collector.
 */
#ifndef XW_TESTS_PIPELINE_TEST_HELPERS_H
#define XW_TESTS_PIPELINE_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "pipeline/exporter.h"

extern char tmpdir[64];

void path_in_tmp(char *out, size_t n, const char *name);
pl_event sample_event(void);
/* Opens the outbox at path and a writer on the outbox's own connection. */
pl_outbox *outbox_with_writer(const char *path, pl_outbox_writer **w);
/* Asserts that the outbox holds `pending` pending and `failed` failed events. */
void assert_outbox_counts(pl_outbox *ob, int64_t pending, int64_t failed);
/* Adds events ev-<from>..ev-<to-1> (groups g0..g<ngroups-1>) in one transaction. */
void fill(sqlite3 *db, pl_outbox_writer *w, int from, int to, int ngroups);

struct collect {
    int n;
    int64_t seqs[64];
    char ids[64][32];
    int stop_at;
};

/* cmocka group setup and teardown: make and remove tmpdir. */
int pl_test_setup(void **state);
int pl_test_teardown(void **state);

#endif
