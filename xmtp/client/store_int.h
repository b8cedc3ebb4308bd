/*
 * Helpers shared by store.c and store_data.c: the one mapping of SQLite errors for the
 * client store, statement preparation and the blob/text column conversions.
 */
#ifndef XW_XMTP_CLIENT_STORE_INT_H
#define XW_XMTP_CLIENT_STORE_INT_H

#include "xmtp/client/store.h"

struct xc_store {
    sqlite3 *db;
    int in_tx;
};

/* XW_ECORRUPT for a damaged file, XW_EDB otherwise, with what we were doing. */
int xc_sql_err(xc_store *st, xw_errbuf *eb, const char *what);
int xc_sql_prepare(xc_store *st, const char *sql, sqlite3_stmt **out, xw_errbuf *eb);
/* Steps a statement that returns no rows and finalizes it. */
int xc_sql_exec_stmt(xc_store *st, sqlite3_stmt *s, const char *what, xw_errbuf *eb);
/* Copies a BLOB or TEXT column into b (reset first). */
int xc_sql_col_buf(sqlite3_stmt *s, int col, xw_buf *b);
/* Copies a TEXT column into out (size n, NUL-terminated); XW_ECORRUPT if it does not fit. */
int xc_sql_col_text(sqlite3_stmt *s, int col, char *out, size_t n);
/* Copies a BLOB column of exactly n bytes (0 bytes allowed when allow_empty). */
int xc_sql_col_fixed(sqlite3_stmt *s, int col, uint8_t *out, size_t n, int allow_empty);
/* Binds len bytes (an empty blob, never NULL, for len 0). */
int xc_sql_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len);

#endif
