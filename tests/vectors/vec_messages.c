/*
 * Vector kind messages: every field decodes as its type and re-encodes byte-identically
 * from the decoded tokens (every length prefix recomputed), with no trailing data. The
 * MLSMessage fields must also carry the wire format their name says, and the framed ones
 * go through the typed framing decoder and writer as well.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "mls/framing.h"
#include "mls/wire.h"
#include "tests/vectors/vectors.h"

static const struct {
    const char *field;
    mls_wire_type type;
    int wire_format; /* for MLSMessages: the expected wire format, else 0 */
} fields[] = {
    {"mls_welcome", MLS_WIRE_MLS_MESSAGE, MLS_WIRE_FORMAT_WELCOME},
    {"mls_group_info", MLS_WIRE_MLS_MESSAGE, MLS_WIRE_FORMAT_GROUP_INFO},
    {"mls_key_package", MLS_WIRE_MLS_MESSAGE, MLS_WIRE_FORMAT_KEY_PACKAGE},
    {"ratchet_tree", MLS_WIRE_RATCHET_TREE, 0},
    {"group_secrets", MLS_WIRE_GROUP_SECRETS, 0},
    {"add_proposal", MLS_WIRE_ADD, 0},
    {"update_proposal", MLS_WIRE_UPDATE, 0},
    {"remove_proposal", MLS_WIRE_REMOVE, 0},
    {"pre_shared_key_proposal", MLS_WIRE_PRE_SHARED_KEY, 0},
    {"re_init_proposal", MLS_WIRE_REINIT, 0},
    {"external_init_proposal", MLS_WIRE_EXTERNAL_INIT, 0},
    {"group_context_extensions_proposal", MLS_WIRE_GROUP_CONTEXT_EXTENSIONS, 0},
    {"commit", MLS_WIRE_COMMIT, 0},
    {"public_message_application", MLS_WIRE_MLS_MESSAGE, MLS_WIRE_FORMAT_PUBLIC_MESSAGE},
    {"public_message_proposal", MLS_WIRE_MLS_MESSAGE, MLS_WIRE_FORMAT_PUBLIC_MESSAGE},
    {"public_message_commit", MLS_WIRE_MLS_MESSAGE, MLS_WIRE_FORMAT_PUBLIC_MESSAGE},
    {"private_message", MLS_WIRE_MLS_MESSAGE, MLS_WIRE_FORMAT_PRIVATE_MESSAGE},
};

static int same(const xw_buf *a, const xw_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int vt_messages(vt_case *c, json_t *e)
{
    xw_buf in, out;
    mls_toks toks;
    xw_buf_init(&in, VT_MAX_BUF);
    xw_buf_init(&out, VT_MAX_BUF);
    mls_toks_init(&toks);
    int rc = VT_PASS;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && rc == VT_PASS; i++) {
        xw_errbuf eb = {{0}};
        if (vt_hex(c, e, fields[i].field, &in)) {
            rc = VT_FAIL;
            break;
        }
        if (mls_wire_decode(fields[i].type, in.data, in.len, &toks, &eb)) {
            rc = vt_fail(c, "%s does not decode as %s: %s", fields[i].field,
                         mls_wire_type_name(fields[i].type), eb.msg);
            break;
        }
        xw_buf_reset(&out);
        if (mls_wire_encode(&toks, &out) || !same(&in, &out)) {
            rc = vt_fail(c, "%s does not re-encode to the same %zu bytes (got %zu)", fields[i].field, in.len,
                         out.len);
            break;
        }
        if (!fields[i].wire_format)
            continue;
        mls_message m;
        if (mls_message_decode(in.data, in.len, &m, &eb)) {
            rc = vt_fail(c, "%s: typed MLSMessage decoder refuses it: %s", fields[i].field, eb.msg);
            break;
        }
        if (m.wire_format != fields[i].wire_format) {
            rc = vt_fail(c, "%s has wire format %u, want %d", fields[i].field, m.wire_format,
                         fields[i].wire_format);
            break;
        }
        xw_buf_reset(&out);
        if (mls_message_encode(&m, &out, &eb) || !same(&in, &out)) {
            rc = vt_fail(c, "%s: typed MLSMessage writer does not give the same bytes", fields[i].field);
            break;
        }
    }
    mls_toks_free(&toks);
    xw_buf_free(&in);
    xw_buf_free(&out);
    return rc;
}
