/*
 * C side of the protobuf cross-check with XMTP's own codecs (see proto_interop.mjs).
 *
 * usage: proto_interop DIR, after `node proto_interop.mjs emit DIR`. For every vector in
 * DIR/manifest.tsv (name, type, reorder flag):
 *   1. decode DIR/<name>.bin (bytes from XMTP's encoder) with xw_pb_decode and check that
 *      every field equals the vector DIR/<name>.json;
 *   2. re-encode the decoded message: the bytes must equal XMTP's, or, for vectors marked
 *      reorder, hold the same top-level records with ours in field-number order;
 *   3. build the message from the vector's JSON, encode it, compare with XMTP's bytes the
 *      same way, and write it to DIR/<name>.c.bin for `proto_interop.mjs check`.
 * Ends with "c: N passed, N failed".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"
#include "gen/xmtp/identity/api/v1/identity.pb-c.h"
#include "gen/xmtp/identity/associations/association.pb-c.h"
#include "gen/xmtp/identity/credential.pb-c.h"
#include "gen/xmtp/mls/api/v1/mls.pb-c.h"
#include "gen/xmtp/mls/message_contents/content.pb-c.h"
#include "gen/xmtp/mls/message_contents/content_types/multi_remote_attachment.pb-c.h"
#include "gen/xmtp/mls/message_contents/content_types/reaction.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_membership.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_metadata.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_mutable_metadata.pb-c.h"
#include "gen/xmtp/mls/message_contents/group_permissions.pb-c.h"
#include "gen/xmtp/mls/message_contents/transcript_messages.pb-c.h"
#include "gen/xmtp/mls/message_contents/welcome_pointer.pb-c.h"
#include "gen/xmtp/mls/message_contents/wrapper_encryption.pb-c.h"
#include "proto/pb.h"
#include "tests/interop/pbjson.h"

#define MAX_MSG (4u << 20)

static const ProtobufCMessageDescriptor *const TYPES[] = {
    &xmtp__mls__api__v1__group_message__descriptor,
    &xmtp__mls__api__v1__welcome_message__descriptor,
    &xmtp__mls__api__v1__query_group_messages_response__descriptor,
    &xmtp__mls__api__v1__fetch_key_packages_response__descriptor,
    &xmtp__mls__api__v1__batch_query_commit_log_response__descriptor,
    &xmtp__mls__api__v1__subscribe_group_messages_request__descriptor,
    &xmtp__identity__associations__identity_update__descriptor,
    &xmtp__identity__api__v1__get_identity_updates_response__descriptor,
    &xmtp__identity__api__v1__get_inbox_ids_response__descriptor,
    &xmtp__identity__mls_credential__descriptor,
    &xmtp__mls__message_contents__group_mutable_metadata_v1__descriptor,
    &xmtp__mls__message_contents__group_mutable_permissions_v1__descriptor,
    &xmtp__mls__message_contents__group_membership__descriptor,
    &xmtp__mls__message_contents__group_metadata_v1__descriptor,
    &xmtp__mls__message_contents__encoded_content__descriptor,
    &xmtp__mls__message_contents__plaintext_envelope__descriptor,
    &xmtp__mls__message_contents__group_updated__descriptor,
    &xmtp__mls__message_contents__welcome_pointee_encryption_aead_types_extension__descriptor,
    &xmtp__mls__message_contents__welcome_wrapper_encryption__descriptor,
    &xmtp__mls__message_contents__content_types__reaction_v2__descriptor,
    &xmtp__mls__message_contents__content_types__multi_remote_attachment__descriptor,
};

static int g_passed, g_failed;

static int check(int ok, const char *name, const char *what)
{
    if (ok)
        g_passed++;
    else {
        g_failed++;
        printf("FAIL %s: %s\n", name, what);
    }
    return ok;
}

static const ProtobufCMessageDescriptor *type_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(TYPES[i]->name, name) == 0)
            return TYPES[i];
    return NULL;
}

static int read_file(const char *path, xw_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t tmp[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rc = xw_buf_append(out, tmp, n);
    fclose(f);
    return rc;
}

static int write_file(const char *path, const xw_buf *b)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = b->len ? fwrite(b->data, 1, b->len, f) : 0;
    return fclose(f) == 0 && n == b->len ? 0 : -1;
}

/* Splits an encoding into top-level records; returns their count or -1. Each record is
 * (field number, offset, length). */
typedef struct {
    uint64_t num;
    size_t off, len;
} record;

static int split(const xw_buf *b, record *r, int max)
{
    size_t i = 0;
    int n = 0;
    while (i < b->len) {
        if (n == max)
            return -1;
        size_t start = i;
        xw_pb_field f;
        if (xw_pb_field_next(b->data, b->len, &i, "record", &f, NULL) != XW_OK)
            return -1;
        r[n].num = f.num;
        r[n].off = start;
        r[n].len = i - start;
        n++;
    }
    return n;
}

/* Same bytes, or (reorder) the same records with ours in ascending field order. */
static int same_encoding(const xw_buf *ours, const xw_buf *xmtp, int reorder)
{
    if (!reorder)
        return ours->len == xmtp->len && (ours->len == 0 || memcmp(ours->data, xmtp->data, ours->len) == 0);
    record a[64], b[64];
    int na = split(ours, a, 64), nb = split(xmtp, b, 64);
    if (na < 0 || na != nb || ours->len != xmtp->len)
        return 0;
    for (int k = 1; k < na; k++)
        if (a[k].num < a[k - 1].num)
            return 0; /* protobuf-c writes in field-number order */
    int differs = memcmp(ours->data, xmtp->data, ours->len) != 0;
    for (int k = 0; k < na; k++) {
        int found = 0;
        for (int m = 0; m < nb && !found; m++)
            found =
                a[k].len == b[m].len && memcmp(ours->data + a[k].off, xmtp->data + b[m].off, a[k].len) == 0;
        if (!found)
            return 0;
    }
    return differs; /* the vector is marked because the orders differ */
}

static void show_json(const char *label, json_t *j)
{
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    printf("  %s %s\n", label, s ? s : "(null)");
    free(s);
}

static void run_vector(const char *dir, const char *name, const char *type, int reorder)
{
    char path[1024];
    const ProtobufCMessageDescriptor *d = type_by_name(type);
    if (!check(d != NULL, name, "type is in the C table"))
        return;
    xw_buf bin, ours, built;
    xw_buf_init(&bin, MAX_MSG);
    xw_buf_init(&ours, MAX_MSG);
    xw_buf_init(&built, MAX_MSG);
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    json_t *want = json_load_file(path, 0, &jerr);
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    if (!check(want != NULL && read_file(path, &bin) == 0, name, "vector files readable"))
        goto out;

    /* 1. decode XMTP's bytes and compare every field with the vector */
    ProtobufCMessage *m = NULL;
    xw_errbuf eb = {{0}};
    int rc = xw_pb_decode(d, bin.data, bin.len, MAX_MSG, &m, &eb);
    if (!check(rc == XW_OK, name, "decodes XMTP's bytes")) {
        printf("  %s\n", eb.msg);
        goto out;
    }
    json_t *got = pbjson_from_msg(m);
    if (!check(got && json_equal(got, want), name, "decoded fields equal the vector")) {
        show_json("want", want);
        show_json("got ", got);
    }
    json_decref(got);

    /* 2. re-encode what was decoded */
    rc = xw_pb_encode(m, &ours, &eb);
    check(rc == XW_OK && same_encoding(&ours, &bin, reorder), name,
          reorder ? "re-encoding has XMTP's records in field order" : "re-encoding equals XMTP's bytes");
    xw_pb_free(m);

    /* 3. build from the vector, encode, hand to the Node side */
    char err[256] = "";
    ProtobufCMessage *b = NULL;
    if (!check(pbjson_to_msg(d, want, &b, err, sizeof err) == 0, name, "builds from the vector")) {
        printf("  %s\n", err);
        goto out;
    }
    rc = xw_pb_encode(b, &built, &eb);
    xw_pb_free(b);
    check(rc == XW_OK && same_encoding(&built, &bin, reorder), name,
          reorder ? "encoding from the vector has XMTP's records in field order"
                  : "encoding from the vector equals XMTP's bytes");
    snprintf(path, sizeof path, "%s/%s.c.bin", dir, name);
    check(write_file(path, &built) == 0, name, "C encoding written");
    printf("ok %s (%zu bytes)\n", name, built.len);
out:
    json_decref(want);
    xw_buf_free(&bin);
    xw_buf_free(&ours);
    xw_buf_free(&built);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR (after node proto_interop.mjs emit DIR)\n", argv[0]);
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/manifest.tsv", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s; run node proto_interop.mjs emit %s first\n", path, argv[1]);
        return 2;
    }
    char line[512];
    int64_t live0 = xw_alloc_live();
    while (fgets(line, sizeof line, f)) {
        char *name = strtok(line, "\t\n");
        char *type = strtok(NULL, "\t\n");
        char *flag = strtok(NULL, "\t\n");
        if (name && type)
            run_vector(argv[1], name, type, flag && strcmp(flag, "1") == 0);
    }
    fclose(f);
    check(xw_alloc_live() == live0, "all vectors", "every allocation was freed");
    printf("c: %d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
