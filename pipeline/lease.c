/*
 * The exporter's lease on an outbox (see lease.h for the contract).
 *
 * Design note. flock(2) rather than fcntl(2) record locks: flock locks belong to the open
 * file description, so a second exporter in the same process is refused too, and closing
 * some other descriptor of the file cannot drop the lock (a record lock is dropped when the
 * process closes any descriptor of the file, the trap SQLite works around). The lock is on a
 * file of its own, never on the database file, whose record locks are SQLite's. The holder
 * line is written after the lock is taken, at offset 0, then the file is cut to it; a
 * reader takes the first line only, so it sees either the previous holder's line, the new
 * one, or (for an instant after a first start) nothing, which the sentence then says.
 */
#include "pipeline/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"

#define LEASE_SUFFIX "-exporter.lock"
#define HOLDER_MAX 200 /* bytes of the holder line, newline included */

struct pl_lease {
    int fd;
    char path[PATH_MAX + sizeof LEASE_SUFFIX];
};

/* "pid P, host H, since T, program N\n" into line; returns its length. */
static size_t holder_line(char *line, size_t n)
{
    char host[64];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    char since[32] = "an unknown time";
    time_t t = (time_t)(xw_clock_now_ns(xw_clock_real()) / XW_NS_PER_SEC);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int len = snprintf(line, n, "pid %ld, host %s, since %s, program %s\n", (long)getpid(), host, since,
                       program_invocation_short_name);
    if (len < 0)
        return 0;
    if ((size_t)len >= n) { /* cut, but still one line */
        len = (int)n - 1;
        line[len - 1] = '\n';
    }
    return (size_t)len;
}

/* The first line of the lock file, printable, or a sentence saying it is not there. */
static void holder_read(int fd, char *out, size_t n)
{
    char buf[HOLDER_MAX];
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    size_t len = got > 0 ? (size_t)got : 0;
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
    snprintf(out, n, "%s", buf[0] ? buf : "holder not recorded yet: it has just started");
}

int pl_lease_acquire(const char *db_path, pl_lease **out, xw_errbuf *eb)
{
    *out = NULL;
    if (!db_path || !db_path[0] || strcmp(db_path, ":memory:") == 0)
        return XW_OK;
    char real[PATH_MAX];
    const char *base = realpath(db_path, real) ? real : db_path;
    pl_lease *l = xw_calloc(1, sizeof *l);
    if (!l)
        return xw_errf(eb, XW_ENOMEM, "out of memory taking the exporter's lease");
    l->fd = -1;
    int rc = XW_OK;
    if ((size_t)snprintf(l->path, sizeof l->path, "%s%s", base, LEASE_SUFFIX) >= sizeof l->path) {
        rc = xw_errf(eb, XW_EINVAL, "outbox path %s is too long for its lock file", base);
        goto fail;
    }
    for (int tries = 0; l->fd < 0; tries++) {
        int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0 && errno == EACCES) /* made by another user: locking needs no write access */
            fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            rc = xw_errf(eb, XW_EIO,
                         "cannot open the exporter lock file %s: %s; the outbox's folder must be writable",
                         l->path, strerror(errno));
            goto fail;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            char who[HOLDER_MAX];
            if (e == EWOULDBLOCK) {
                holder_read(fd, who, sizeof who);
                rc =
                    xw_errf(eb, XW_EBUSY,
                            "another exporter holds this outbox (%s); one exporter per outbox: stop that one "
                            "first, or leave the export to it (lock %s)",
                            who, l->path);
            } else {
                rc = xw_errf(eb, XW_EIO, "cannot lock %s: %s", l->path, strerror(e));
            }
            close(fd);
            goto fail;
        }
        /* the file locked must still be the one at the path (not deleted or replaced meanwhile) */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            l->fd = fd;
            break;
        }
        close(fd);
        if (tries == 3) {
            rc = xw_errf(eb, XW_EBUSY,
                         "the exporter lock file %s keeps disappearing; is something deleting it?", l->path);
            goto fail;
        }
    }
    char line[HOLDER_MAX];
    size_t len = holder_line(line, sizeof line);
    /* the lease holds without the line (a read-only lock file); others then cannot name us */
    if (len > 0 && pwrite(l->fd, line, len, 0) == (ssize_t)len) {
        if (ftruncate(l->fd, (off_t)len) != 0) {
            /* a longer old line may follow ours: readers stop at the first newline */
        }
    }
    *out = l;
    return XW_OK;
fail:
    xw_free(l);
    return rc;
}

void pl_lease_release(pl_lease *l)
{
    if (!l)
        return;
    close(l->fd); /* drops the lock; the file stays (deleting it would race with the next holder) */
    xw_free(l);
}

const char *pl_lease_path(const pl_lease *l) { return l->path; }
