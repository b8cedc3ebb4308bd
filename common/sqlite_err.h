/*
 * The one mapping of SQLite result codes to the project's error codes (STYLE.md #3, #14), so
 * that every store classifies a database failure the same way:
 *
 *   SQLITE_BUSY, SQLITE_LOCKED            XW_EBUSY     retriable: another connection holds a lock
 *   SQLITE_IOERR, SQLITE_FULL,            XW_EIO       retriable: the disk or file system failed
 *   SQLITE_CANTOPEN                                    or is full; it may recover
 *   SQLITE_CORRUPT, SQLITE_NOTADB         XW_ECORRUPT  fatal: the file is damaged or not a
 *                                                      database; retrying cannot help, stop
 *   anything else                         XW_EDB       retriable
 *
 * Extended result codes are reduced to their primary code first. Needs only the SQLite
 * header, not the library.
 */
#ifndef XW_COMMON_SQLITE_ERR_H
#define XW_COMMON_SQLITE_ERR_H

/* The XW_E* code for a failed SQLite result code (not SQLITE_OK, _ROW or _DONE). */
int xw_sqlite_err(int sqlite_code);

#endif
