/*
 * Helpers shared by the group tests (test_mls_group.c, test_mls_group_reject.c): key
 * packages, and a "world" of C members kept in step through commits and Welcomes.
 */
#ifndef XW_TESTS_MLS_GROUP_HELPERS_H
#define XW_TESTS_MLS_GROUP_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "mls/group.h"
#include "mls/keypackage.h"

typedef struct {
    xw_buf kp;
    mls_key_package_secrets sec;
} kpkg;

void make_kp_ext(const mls_suite *s, const char *name, mls_span leaf_ext, mls_span extra, kpkg *k);
void make_kp(const mls_suite *s, const char *name, kpkg *k);
void kp_free(kpkg *k);

#define MAXM 16

typedef struct {
    const mls_suite *s;
    mls_group_config cfg;
    mls_group *m[MAXM]; /* by member number; NULL when gone */
    size_t n;
} world;

void save(const mls_group *g, xw_buf *b);
void deliver(world *w, const xw_buf *msg, size_t except);
void agree(world *w);
void commit(world *w, size_t c, const mls_commit_opts *o, kpkg *adds, size_t n_add);
void world_init(world *w, uint16_t suite, int public_handshake);
void world_free(world *w);
void add_members(world *w, size_t committer, size_t count);
void send_all(world *w, size_t from, const char *text);

#endif
