/*
 * Vector kinds tree-validation and tree-operations (RFC 9420 §7.7-§7.9, §12.1.1-§12.1.3):
 * resolutions, per-node tree hashes, parent-hash validity and leaf signatures of received
 * trees; one proposal applied to a tree, compared byte for byte and by tree hash.
 */
#include <string.h>

#include "mls/proposal.h"
#include "mls/tree.h"
#include "mls/treemath.h"
#include "tests/vectors/groups_vectors.h"

int vt_tree_validation(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int r = vt_suite(c, e, &s);
    if (r != VT_PASS)
        return r;
    xw_buf tree, gid;
    xw_buf_init(&tree, VT_MAX_BUF);
    xw_buf_init(&gid, VT_MAX_BUF);
    mls_tree *t = NULL;
    xw_errbuf eb = {{0}};
    if (vt_hex(c, e, "tree", &tree) || vt_hex(c, e, "group_id", &gid))
        goto out;
    if (mls_tree_decode(s, tree.data, tree.len, &t, &eb) != XW_OK) {
        vt_fail(c, "tree does not decode: %s", eb.msg);
        goto out;
    }
    json_t *hashes = json_object_get(e, "tree_hashes"), *res = json_object_get(e, "resolutions");
    if (json_array_size(hashes) != mls_tree_nodes(t) || json_array_size(res) != mls_tree_nodes(t)) {
        vt_fail(c, "tree has %u nodes, the vector lists %zu hashes", mls_tree_nodes(t),
                json_array_size(hashes));
        goto out;
    }
    for (uint32_t x = 0; x < mls_tree_nodes(t); x++) {
        uint32_t got[1024];
        size_t n = mls_tree_resolution(t, x, NULL, 0, got, 1024);
        json_t *want = json_array_get(res, x);
        int ok = json_array_size(want) == n;
        for (size_t i = 0; ok && i < n; i++)
            ok = (uint64_t)json_integer_value(json_array_get(want, i)) == got[i];
        if (!ok) {
            vt_fail(c, "resolution of node %u differs", x);
            goto out;
        }
        uint8_t h[MLS_MAX_HASH];
        mls_tree_hash(t, x, h);
        json_t *obj = json_object();
        json_object_set(obj, "h", json_array_get(hashes, x));
        int bad = vt_expect(c, obj, "h", h, s->nh);
        json_decref(obj);
        if (bad) {
            vt_fail(c, "tree hash of node %u differs", x);
            goto out;
        }
    }
    if (mls_tree_validate(t, (mls_span){gid.data, gid.len}, (mls_span){NULL, 0}, &eb) != XW_OK)
        vt_fail(c, "tree does not validate: %s", eb.msg);
out:
    mls_tree_free(t);
    xw_buf_free(&tree);
    xw_buf_free(&gid);
    return c->failed ? VT_FAIL : VT_PASS;
}

int vt_tree_operations(vt_case *c, json_t *e)
{
    const mls_suite *s;
    int r = vt_suite(c, e, &s);
    if (r != VT_PASS)
        return r;
    xw_buf before, prop, after;
    xw_buf_init(&before, VT_MAX_BUF);
    xw_buf_init(&prop, VT_MAX_BUF);
    xw_buf_init(&after, VT_MAX_BUF);
    mls_tree *t = NULL;
    mls_proposal *p = NULL;
    xw_errbuf eb = {{0}};
    uint64_t sender;
    uint8_t h[MLS_MAX_HASH];
    if (vt_hex(c, e, "tree_before", &before) || vt_hex(c, e, "proposal", &prop) ||
        vt_uint(c, e, "proposal_sender", &sender))
        goto out;
    if (mls_tree_decode(s, before.data, before.len, &t, &eb) != XW_OK) {
        vt_fail(c, "tree_before does not decode: %s", eb.msg);
        goto out;
    }
    mls_tree_root_hash(t, h);
    if (vt_expect(c, e, "tree_hash_before", h, s->nh))
        goto out;
    if (mls_proposal_decode(prop.data, prop.len, &p, &eb) != XW_OK) {
        vt_fail(c, "proposal does not decode: %s", eb.msg);
        goto out;
    }
    uint32_t idx;
    switch (p->type) {
    case MLS_PROPOSAL_ADD:
        mls_tree_add(t, p->kp->leaf, &idx);
        break;
    case MLS_PROPOSAL_UPDATE:
        mls_tree_update(t, (uint32_t)sender, p->leaf);
        break;
    case MLS_PROPOSAL_REMOVE:
        mls_tree_remove(t, p->removed);
        break;
    default:
        vt_fail(c, "unexpected proposal type %u", p->type);
        goto out;
    }
    xw_buf_reset(&before);
    mls_tree_encode(t, &before);
    if (vt_expect(c, e, "tree_after", before.data, before.len))
        goto out;
    mls_tree_root_hash(t, h);
    vt_expect(c, e, "tree_hash_after", h, s->nh);
out:
    mls_proposal_free(p);
    mls_tree_free(t);
    xw_buf_free(&before);
    xw_buf_free(&prop);
    xw_buf_free(&after);
    return c->failed ? VT_FAIL : VT_PASS;
}
