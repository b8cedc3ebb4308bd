/*
 * SQLite result codes to error codes; the table is in sqlite_err.h.
 */
#include "common/sqlite_err.h"

#include <sqlite3.h>

#include "common/err.h"

int xw_sqlite_err(int sqlite_code)
{
    switch (sqlite_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return XW_EBUSY;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
        return XW_EIO;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return XW_ECORRUPT;
    default:
        return XW_EDB;
    }
}
