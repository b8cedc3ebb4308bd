/*
 * The exporter's lease on an outbox: one exporter per outbox file, at any time.
 *
 * Two exporters on one outbox read the same rows, deliver them twice and settle rows under
 * each other; one of them can then wait for ever on a row the other deleted
 * (docs/export.md, "One exporter per outbox"). pl_exporter_new() takes this lease and
 * pl_exporter_free() gives it back, so a second exporter, in this process or another, is
 * refused at once with the holder's name.
 *
 * How: an exclusive flock(2) on a file beside the database, "<outbox>-exporter.lock" (the
 * outbox's path with symbolic links resolved, so two spellings of one path meet on one
 * lock). The kernel drops the lock when the holder's process ends in any way (exit, crash,
 * SIGKILL), so a dead holder never blocks the next exporter and nothing has to expire or be
 * cleaned up. The holder writes one line into the file, "pid P, host H, since T, program N",
 * which a refused exporter quotes. The file stays when the holder ends (deleting a lock file
 * races with the next holder): do not delete it while an exporter runs. Why a lock file and
 * not a lease row in the database, and the limits (one machine, as for SQLite's WAL):
 * docs/export.md.
 *
 * Threads: a lease is taken and given back on one thread; no function here waits.
 */
#ifndef XW_PIPELINE_LEASE_H
#define XW_PIPELINE_LEASE_H

#include "common/err.h"

typedef struct pl_lease pl_lease;

/* Takes the lease on the outbox at db_path (a database file path, as SQLite reports it). An
 * in-memory or temporary database ("" or ":memory:") cannot be shared: *out = NULL and
 * XW_OK. XW_EBUSY with a sentence naming the holder (pid, host, since when, program) and the
 * lock file when another exporter holds the lease; XW_EIO when the lock file cannot be
 * created or opened (the sentence says why); XW_ENOMEM. */
int pl_lease_acquire(const char *db_path, pl_lease **out, xw_errbuf *eb);
/* Gives the lease back (NULL is a no-op). */
void pl_lease_release(pl_lease *l);
/* The lock file's path. */
const char *pl_lease_path(const pl_lease *l);

#endif
