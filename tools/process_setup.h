/*
 * Process-wide settings that a program chooses for itself. Libraries never change state of
 * the whole process behind their caller's back (a malloc tuning, a signal disposition, the
 * locale); a program that wants one calls it here, once, at the start of main(). Not a
 * library: the programs that use it (xw-export, bench_export, process-setup-check) compile
 * tools/process_setup.c into themselves.
 */
#ifndef XW_TOOLS_PROCESS_SETUP_H
#define XW_TOOLS_PROCESS_SETUP_H

/* For a process that runs a pipeline exporter (xw-export, the worker, the bench), called once
 * at start before other threads: turns glibc's fastbins off (mallopt M_MXFAST 0). Why: in
 * each report poll the exporter thread frees librdkafka's small per-message blocks by the
 * thousand, and between polls SQLite allocates and frees page-sized blocks on the same
 * thread. With fastbins, each of those large blocks makes glibc consolidate every small
 * block freed since, and the next messages' allocations then go through its slow path;
 * without them, small frees coalesce at once (docs/export.md has the figures: ~0.15 µs less
 * exporter CPU per event; a producer without SQLite on its thread is unaffected). A tuning
 * only: without it everything works, more slowly. Returns XW_OK, or XW_EUNSUPPORTED where
 * the C library has no such setting. */
int tools_exporter_process_setup(void);

#endif
