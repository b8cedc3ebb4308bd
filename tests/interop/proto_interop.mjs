// Node side of the protobuf cross-check: XMTP's own codecs (npm @xmtp/proto, ts-proto)
// against our protoc-c code (proto_interop.c). Vectors: proto_vectors.mjs.
//
//   node proto_interop.mjs emit DIR   encode every vector with XMTP's codecs into
//                                     DIR/<name>.bin, write its JSON to DIR/<name>.json
//                                     and the list to DIR/manifest.tsv
//   node proto_interop.mjs check DIR  decode DIR/<name>.c.bin (encoded by the C side from
//                                     the JSON), compare with the vector, re-encode and
//                                     compare bytes
//
// @xmtp/proto 3.96.0 has no codec for group_permissions.proto; for GroupMutablePermissionsV1
// the independent encoder is protobufjs (the library under ts-proto's codecs) driven by a
// schema written here from libxmtp's generated code (crates/xmtp_proto/src/gen), not from
// our proto/ file. Two more vectors take their bytes from libxmtp itself
// (@xmtp/node-bindings' ReactionV2 and MultiRemoteAttachment codecs, prost encoder); those
// bytes must also equal ts-proto's. Ends with "node-<mode>: N passed, N failed".
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { VECTORS } from './proto_vectors.mjs';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');
const cjsRoot = path.dirname(require.resolve('@xmtp/proto'));
const MODULES = [
  'identity/api/v1/identity.pb.js',
  'identity/associations/association.pb.js',
  'identity/credential.pb.js',
  'mls/api/v1/mls.pb.js',
  'mls/message_contents/content.pb.js',
  'mls/message_contents/content_types/multi_remote_attachment.pb.js',
  'mls/message_contents/content_types/reaction.pb.js',
  'mls/message_contents/group_membership.pb.js',
  'mls/message_contents/group_metadata.pb.js',
  'mls/message_contents/group_mutable_metadata.pb.js',
  'mls/message_contents/transcript_messages.pb.js',
  'mls/message_contents/welcome_pointer.pb.js',
  'mls/message_contents/wrapper_encryption.pb.js',
];

// fully-qualified name -> { encode(obj) -> Uint8Array, decode(bytes), fromJSON, toJSON }
const codecs = new Map();
for (const rel of MODULES) {
  const mod = require(path.join(cjsRoot, rel));
  for (const [name, c] of Object.entries(mod)) {
    if (c && typeof c.encode === 'function' && typeof c.toJSON === 'function')
      codecs.set(`${mod.protobufPackage}.${name.replace(/_/g, '.')}`, {
        encode: (o) => c.encode(o).finish(),
        decode: (b) => c.decode(b),
        fromJSON: (j) => c.fromJSON(j),
        toJSON: (o) => c.toJSON(o),
      });
  }
}

// group_permissions.proto as protobufjs JSON; tags and enum values from libxmtp's
// crates/xmtp_proto/src/gen/xmtp.mls.message_contents.rs.
function policy(name, baseEnum, values) {
  return {
    oneofs: { kind: { oneof: ['base', 'andCondition', 'anyCondition'] } },
    fields: {
      base: { type: baseEnum, id: 1 },
      andCondition: { type: 'AndCondition', id: 2 },
      anyCondition: { type: 'AnyCondition', id: 3 },
    },
    nested: {
      [baseEnum]: { values },
      AndCondition: { fields: { policies: { rule: 'repeated', type: name, id: 1 } } },
      AnyCondition: { fields: { policies: { rule: 'repeated', type: name, id: 1 } } },
    },
  };
}
const permRoot = protobuf.Root.fromJSON({
  nested: {
    xmtp: {
      nested: {
        mls: {
          nested: {
            message_contents: {
              nested: {
                GroupMutablePermissionsV1: { fields: { policies: { type: 'PolicySet', id: 1 } } },
                PolicySet: {
                  fields: {
                    addMemberPolicy: { type: 'MembershipPolicy', id: 1 },
                    removeMemberPolicy: { type: 'MembershipPolicy', id: 2 },
                    updateMetadataPolicy: { keyType: 'string', type: 'MetadataPolicy', id: 3 },
                    addAdminPolicy: { type: 'PermissionsUpdatePolicy', id: 4 },
                    removeAdminPolicy: { type: 'PermissionsUpdatePolicy', id: 5 },
                    updatePermissionsPolicy: { type: 'PermissionsUpdatePolicy', id: 6 },
                  },
                },
                MembershipPolicy: policy('MembershipPolicy', 'BasePolicy', {
                  BASE_POLICY_UNSPECIFIED: 0,
                  BASE_POLICY_ALLOW: 1,
                  BASE_POLICY_DENY: 2,
                  BASE_POLICY_ALLOW_IF_ADMIN_OR_SUPER_ADMIN: 3,
                  BASE_POLICY_ALLOW_IF_SUPER_ADMIN: 4,
                }),
                MetadataPolicy: policy('MetadataPolicy', 'MetadataBasePolicy', {
                  METADATA_BASE_POLICY_UNSPECIFIED: 0,
                  METADATA_BASE_POLICY_ALLOW: 1,
                  METADATA_BASE_POLICY_DENY: 2,
                  METADATA_BASE_POLICY_ALLOW_IF_ADMIN: 3,
                  METADATA_BASE_POLICY_ALLOW_IF_SUPER_ADMIN: 4,
                }),
                PermissionsUpdatePolicy: policy('PermissionsUpdatePolicy', 'PermissionsBasePolicy', {
                  PERMISSIONS_BASE_POLICY_UNSPECIFIED: 0,
                  PERMISSIONS_BASE_POLICY_DENY: 1,
                  PERMISSIONS_BASE_POLICY_ALLOW_IF_ADMIN: 2,
                  PERMISSIONS_BASE_POLICY_ALLOW_IF_SUPER_ADMIN: 3,
                }),
              },
            },
          },
        },
      },
    },
  },
});
{
  const T = permRoot.lookupType('xmtp.mls.message_contents.GroupMutablePermissionsV1');
  const opts = { enums: String, longs: String, bytes: String, defaults: false };
  codecs.set('xmtp.mls.message_contents.GroupMutablePermissionsV1', {
    encode: (o) => T.encode(o).finish(),
    decode: (b) => T.decode(b),
    fromJSON: (j) => T.fromObject(j),
    toJSON: (o) => T.toObject(o, opts),
  });
}

const MC = 'xmtp.mls.message_contents';
const b64 = (u8) => Buffer.from(u8).toString('base64');

// Nested encodings: a reply carries an encoded text; the envelope an encoded reply.
function vectors() {
  const vs = VECTORS.map((v) => ({ ...v, json: structuredClone(v.json) }));
  const enc = codecs.get(`${MC}.EncodedContent`);
  const reply = vs.find((v) => v.name === 'encoded_content_reply');
  reply.json.content = b64(
    enc.encode(
      enc.fromJSON({
        type: { authorityId: 'xmtp.org', typeId: 'text', versionMajor: 1 },
        parameters: { encoding: 'UTF-8' },
        content: b64(Buffer.from('gm ☀️ from the bot', 'utf8')),
      }),
    ),
  );
  vs.find((v) => v.name === 'plaintext_envelope').json.v1.content = b64(enc.encode(enc.fromJSON(reply.json)));
  return vs;
}

// Splits an encoding into its top-level records (key + value bytes), for order-only diffs.
function records(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    for (let s = 0n; ; s += 7n) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << s;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const start = i;
    const key = varint();
    const wt = Number(key & 7n);
    if (wt === 0) varint();
    else if (wt === 1) i += 8;
    else if (wt === 5) i += 4;
    else if (wt === 2) {
      const n = Number(varint()); // read first: `i += varint()` would use the old i
      i += n;
    } else throw new Error(`wire type ${wt}`);
    out.push({ num: Number(key >> 3n), hex: Buffer.from(buf.subarray(start, i)).toString('hex') });
  }
  return out;
}
const sameRecords = (a, b) =>
  isDeepStrictEqual(
    records(a).map((r) => r.hex).sort(),
    records(b).map((r) => r.hex).sort(),
  );

const [mode, dir] = process.argv.slice(2);
if (!['emit', 'check'].includes(mode) || !dir) {
  console.error('usage: node proto_interop.mjs emit|check DIR');
  process.exit(2);
}
let passed = 0;
let failed = 0;
const check = (ok, what, detail) => {
  if (ok) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
};

// Vectors whose bytes come from libxmtp itself (npm @xmtp/node-bindings, the Rust library
// behind XMTP's SDKs, encoding with prost): its content codecs return EncodedContent
// objects whose `content` is the protobuf the codec wrote.
async function libxmtpVectors() {
  let b;
  try {
    b = await import('@xmtp/node-bindings');
  } catch (e) {
    check(false, 'libxmtp node bindings load', e.message);
    return [];
  }
  const out = [];
  const reaction = {
    reference: '5e'.repeat(32),
    referenceInboxId: '0f'.repeat(32),
    action: 2, // Removed
    content: ':thumbsup:',
    schema: 2, // Shortcode
  };
  const r = b.encodeReaction(reaction);
  check(
    r.type.authorityId === 'xmtp.org' && r.type.typeId === 'reaction' && r.type.versionMajor === 2,
    'libxmtp encodes reactions as xmtp.org/reaction:2.0',
    JSON.stringify(r.type),
  );
  out.push({
    name: 'libxmtp_reaction_v2',
    type: 'xmtp.mls.message_contents.content_types.ReactionV2',
    bytes: r.content,
    json: {
      reference: reaction.reference,
      referenceInboxId: reaction.referenceInboxId,
      action: 'REACTION_ACTION_REMOVED',
      content: ':thumbsup:',
      schema: 'REACTION_SCHEMA_SHORTCODE',
    },
  });
  const att = (seed, extra) => ({
    secret: new Uint8Array(32).fill(seed),
    contentDigest: `${seed}`.padStart(64, 'a'),
    nonce: new Uint8Array(12).fill(seed + 1),
    scheme: 'https://',
    url: `https://cdn.example.com/${seed}`,
    salt: new Uint8Array(32).fill(seed + 2),
    ...extra,
  });
  const atts = [att(1, { contentLength: 0, filename: 'a ✓.jpg' }), att(4, { contentLength: 123456 }), att(7, {})];
  const m = b.encodeMultiRemoteAttachment({ attachments: atts });
  check(m.type.typeId === 'multiRemoteStaticAttachment', 'libxmtp multi remote attachment type id', m.type.typeId);
  out.push({
    name: 'libxmtp_multi_remote_attachment',
    type: 'xmtp.mls.message_contents.content_types.MultiRemoteAttachment',
    bytes: m.content,
    json: {
      attachments: atts.map((a) => {
        const j = {
          contentDigest: a.contentDigest,
          secret: b64(a.secret),
          nonce: b64(a.nonce),
          salt: b64(a.salt),
          scheme: a.scheme,
          url: a.url,
        };
        if (a.contentLength !== undefined) j.contentLength = a.contentLength;
        if (a.filename !== undefined) j.filename = a.filename;
        return j;
      }),
    },
  });
  return out;
}

const manifest = [];
const all = [...vectors(), ...(await libxmtpVectors())];
for (const v of all) {
  const codec = codecs.get(v.type);
  if (!check(!!codec, `${v.name}: codec for ${v.type}`)) continue;
  if (mode === 'emit') {
    // Canonical check through the bytes: ts-proto's fromJSON parses a uint64 above 2^63
    // as a signed Long (its toJSON would then print "-1"), while encode writes the right
    // 64 bits and decode reads them back unsigned.
    let bytes = codec.encode(codec.fromJSON(v.json));
    if (v.bytes) {
      // libxmtp's bytes must equal ts-proto's encoding of the same values
      check(Buffer.compare(Buffer.from(bytes), Buffer.from(v.bytes)) === 0, `${v.name}: ts-proto bytes equal libxmtp's`,
        `${Buffer.from(bytes).toString('hex')} vs ${Buffer.from(v.bytes).toString('hex')}`);
      bytes = v.bytes;
    }
    const back = codec.toJSON(codec.decode(bytes));
    check(isDeepStrictEqual(back, v.json), `${v.name}: XMTP codec round-trips the vector`, JSON.stringify(back));
    if (v.hex) check(Buffer.from(bytes).toString('hex') === v.hex, `${v.name}: bytes are ${v.hex}`);
    fs.writeFileSync(path.join(dir, `${v.name}.bin`), bytes);
    fs.writeFileSync(path.join(dir, `${v.name}.json`), JSON.stringify(v.json, null, 1));
    manifest.push(`${v.name}\t${v.type}\t${v.reorder ? 1 : 0}`);
    console.log(`ok ${v.name}: ${bytes.length} bytes`);
  } else {
    const file = path.join(dir, `${v.name}.c.bin`);
    if (!check(fs.existsSync(file), `${v.name}: C encoding present`)) continue;
    const cbytes = new Uint8Array(fs.readFileSync(file));
    let obj;
    try {
      obj = codec.decode(cbytes);
    } catch (e) {
      check(false, `${v.name}: XMTP codec decodes the C bytes`, e.message);
      continue;
    }
    const got = codec.toJSON(obj);
    check(isDeepStrictEqual(got, v.json), `${v.name}: fields decoded from C bytes`, JSON.stringify(got));
    const re = codec.encode(obj);
    if (v.reorder) {
      check(sameRecords(re, cbytes), `${v.name}: same records as C, in another order`);
      check(Buffer.compare(Buffer.from(re), Buffer.from(cbytes)) !== 0, `${v.name}: order differs as documented`);
    } else {
      check(Buffer.compare(Buffer.from(re), Buffer.from(cbytes)) === 0, `${v.name}: re-encoding equals C bytes`,
        `${Buffer.from(re).toString('hex')} vs ${Buffer.from(cbytes).toString('hex')}`);
    }
    console.log(`ok ${v.name}`);
  }
}
if (mode === 'emit') fs.writeFileSync(path.join(dir, 'manifest.tsv'), manifest.join('\n') + '\n');
console.log(`node-${mode}: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
