// Schema cross-check: our proto/ files against the codecs XMTP generated from its own
// .proto files with ts-proto (npm @xmtp/proto, pinned in package.json).
//
// ts-proto ships no descriptors, so the XMTP side is read from each generated codec's
// `encode` function: every field is written as `writer.uint32(TAG).METHOD(...)`, guarded
// by a presence test (`!== undefined` for explicit presence, `!== 0`/`!== ""` for implicit),
// inside a loop for repeated fields, through an `..._XEntry` codec for maps. Our side is
// parsed from proto/ with protobufjs's .proto parser (not protoc-c, which generated the C
// code), so an error in our files shows up as a difference here.
//
// For every XMTP message of the checked files: same field numbers, names (modulo the
// renames listed in proto/README.md), wire kinds, repeated/map/packed, and presence; for
// every enum: the same names and values. Ends with "N passed, N failed".
//
// usage: node proto_schema.mjs PROTO_DIR
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');
const here = path.dirname(fileURLToPath(import.meta.url));
const protoDir = path.resolve(process.argv[2] ?? path.join(here, '../../proto'));
const cjsRoot = path.join(path.dirname(require.resolve('@xmtp/proto')));

// XMTP codec modules checked, relative to @xmtp/proto's CommonJS root.
const XMTP_MODULES = [
  'identity/api/v1/identity.pb.js',
  'identity/associations/association.pb.js',
  'identity/associations/signature.pb.js',
  'identity/credential.pb.js',
  'message_contents/public_key.pb.js',
  'message_contents/signature.pb.js',
  'mls/api/v1/mls.pb.js',
  'mls/message_contents/commit_log.pb.js',
  'mls/message_contents/content.pb.js',
  'mls/message_contents/content_types/multi_remote_attachment.pb.js',
  'mls/message_contents/content_types/reaction.pb.js',
  'mls/message_contents/content_types/wallet_send_calls.pb.js',
  'mls/message_contents/group_membership.pb.js',
  'mls/message_contents/group_metadata.pb.js',
  'mls/message_contents/group_mutable_metadata.pb.js',
  'mls/message_contents/oneshot.pb.js',
  'mls/message_contents/transcript_messages.pb.js',
  'mls/message_contents/welcome_pointer.pb.js',
  'mls/message_contents/wrapper_encryption.pb.js',
];

// Deliberate differences, each listed in proto/README.md.
// PlaintextEnvelope.V2 carries the device-sync messages as opaque bytes (same wire type).
const KIND_ADAPTED = new Map([
  ['xmtp.mls.message_contents.PlaintextEnvelope_V2#3', ['msg:DeviceSyncRequest', 'bytes']],
  ['xmtp.mls.message_contents.PlaintextEnvelope_V2#4', ['msg:DeviceSyncReply', 'bytes']],
  ['xmtp.mls.message_contents.PlaintextEnvelope_V2#5', ['msg:V1UserPreferenceUpdate', 'bytes']],
]);

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const npmName = (fullName) => fullName.replace(/^\./, '');

// ---- XMTP side: fields from ts-proto encode functions ---------------------------------------
function xmtpSchema() {
  const messages = new Map();
  const enums = new Map();
  for (const rel of XMTP_MODULES) {
    const file = path.join(cjsRoot, rel);
    const mod = require(file);
    const pkg = mod.protobufPackage;
    for (const [name, codec] of Object.entries(mod)) {
      if (!codec || typeof codec !== 'object' || typeof codec.encode !== 'function') continue;
      messages.set(`${pkg}.${name}`, parseEncode(codec.encode.toString(), `${pkg}.${name}`));
    }
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(/\(function \((\w+)\) \{([\s\S]*?)\}\)\(\1 \|\|/g)) {
      const vals = [...m[2].matchAll(/\["(\w+)"\] = (-?\d+)\]/g)]
        .filter((v) => v[1] !== 'UNRECOGNIZED')
        .map((v) => `${v[1]}=${v[2]}`);
      enums.set(`${pkg}.${m[1]}`, vals.sort().join(' '));
    }
  }
  return { messages, enums };
}

function parseEncode(src, where) {
  const fields = [];
  const re = new RegExp(
    [
      // map: Object.entries(message.F).forEach(... X.encode({ key: key, value }, writer.uint32(T)
      String.raw`Object\.entries\(message\.(\w+)\)\.forEach[\s\S]*?(\w+)\.encode\(\{ key: key, value \}, writer\.uint32\((\d+)\)[\s\S]*?\}\);`,
      // packed: writer.uint32(T).fork(); for (const v of message.F) { writer.M(v); } writer.ldelim();
      String.raw`writer\.uint32\((\d+)\)\.fork\(\);\s*for \(const v of message\.(\w+)\) \{\s*writer\.(\w+)\(v\);\s*\}\s*writer\.ldelim\(\);`,
      // repeated: for (const v of message.F) { ... }
      String.raw`for \(const v of message\.(\w+)\) \{\s*\n([\s\S]*?)\n {8}\}`,
      // singular: if (COND) { ... }
      String.raw`if \(([^\n]*)\) \{\s*\n([\s\S]*?)\n {8}\}`,
    ].join('|'),
    'g',
  );
  for (const r of src.matchAll(re)) {
    if (r[1] !== undefined) {
      fields.push({ num: +r[3] >> 3, name: r[1], kind: `map:${r[2]}`, repeated: true });
    } else if (r[4] !== undefined) {
      fields.push({ num: +r[4] >> 3, name: r[5], kind: r[6], repeated: true, packed: true });
    } else if (r[7] !== undefined) {
      const body = r[8];
      const e = body.match(/(\w+)\.encode\(v,/);
      const t = body.match(/writer\.uint32\((\d+)\)(?:\.(\w+)\(v\))?/);
      if (!t) throw new Error(`${where}: cannot read repeated field ${r[7]}`);
      fields.push({ num: +t[1] >> 3, name: r[7], kind: e ? `msg:${e[1]}` : t[2], repeated: true });
    } else {
      const cond = r[9];
      const body = r[10];
      const e = body.match(/(\w+)\.encode\(message\.(\w+),\s*writer\.uint32\((\d+)\)/);
      const t = body.match(/writer\.uint32\((\d+)\)\.(\w+)\(message\.(\w+)\)/);
      if (e) {
        fields.push({ num: +e[3] >> 3, name: e[2], kind: `msg:${e[1]}`, explicit: true });
      } else if (t) {
        fields.push({
          num: +t[1] >> 3,
          name: t[3],
          kind: t[2],
          explicit: /!== undefined/.test(cond),
        });
      } else {
        throw new Error(`${where}: cannot read field guarded by ${cond}`);
      }
    }
  }
  return fields;
}

// ---- our side: protobufjs parse of proto/ ---------------------------------------------------
function ourSchema() {
  const root = new protobuf.Root();
  // The files import each other as "gen/xmtp/<path under proto/>", the virtual path the build
  // gives protoc (-Igen/xmtp=proto, see the Makefile); the files listed below are given as
  // paths under proto/ directly.
  const virtualRoot = 'gen/xmtp/';
  root.resolvePath = (_origin, target) =>
    path.join(protoDir, target.startsWith(virtualRoot) ? target.slice(virtualRoot.length) : target);
  const files = [];
  (function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.proto')) files.push(path.relative(protoDir, p));
    }
  })(protoDir);
  root.loadSync(files.sort(), { keepCase: true });
  root.resolveAll();
  const messages = new Map();
  const enums = new Map();
  // npm names nested types Parent_Child; packages stay dotted.
  const key = (obj) => {
    const parts = [];
    let o = obj;
    while (o && !(o instanceof protobuf.Namespace && !(o instanceof protobuf.Type))) {
      parts.unshift(o.name);
      o = o.parent;
    }
    const pkg = o && o.fullName ? o.fullName.replace(/^\./, '') : '';
    return `${pkg ? pkg + '.' : ''}${parts.join('_')}`;
  };
  const short = (obj) => key(obj).split('.').pop();
  (function walk(ns) {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Type) {
        const fields = obj.fieldsArray.map((f) => {
          let kind;
          if (f.map) kind = `map:${short(obj)}_${f.name.charAt(0).toUpperCase()}${camel(f.name).slice(1)}Entry`;
          else if (f.resolvedType instanceof protobuf.Type) kind = `msg:${short(f.resolvedType)}`;
          else if (f.resolvedType instanceof protobuf.Enum) kind = 'int32';
          else kind = f.type;
          return {
            num: f.id,
            name: camel(f.name),
            protoName: f.name,
            kind,
            repeated: f.repeated || f.map,
            packed: f.repeated && f.packed && !(f.resolvedType instanceof protobuf.Type) && f.type !== 'string' && f.type !== 'bytes',
            explicit: !!f.partOf || f.resolvedType instanceof protobuf.Type,
          };
        });
        messages.set(key(obj), fields);
        walk(obj);
      } else if (obj instanceof protobuf.Enum) {
        enums.set(
          key(obj),
          Object.entries(obj.values)
            .map(([n, v]) => `${n}=${v}`)
            .sort()
            .join(' '),
        );
      } else if (obj instanceof protobuf.Namespace) {
        walk(obj);
      }
    }
  })(root);
  return { messages, enums };
}

// ---- compare ---------------------------------------------------------------------------------
const xmtp = xmtpSchema();
const ours = ourSchema();
let passed = 0;
let failed = 0;
const fail = (what, why) => {
  failed++;
  console.log(`FAIL ${what}: ${why}`);
};

for (const [name, xf] of xmtp.messages) {
  // map entry codecs are checked through their map field
  if (/Entry$/.test(name) && xf.length === 2 && xf[0].name === 'key') {
    const of = ours.messages.get(name);
    if (of) passed++;
    continue;
  }
  const of = ours.messages.get(name);
  if (!of) {
    fail(name, 'missing from proto/');
    continue;
  }
  const problems = [];
  for (const x of xf) {
    const o = of.find((f) => f.num === x.num);
    if (!o) {
      problems.push(`field ${x.num} (${x.name}) missing`);
      continue;
    }
    if (o.name !== x.name) problems.push(`field ${x.num}: name ${o.protoName} vs XMTP ${x.name}`);
    const adapted = KIND_ADAPTED.get(`${name}#${x.num}`);
    const xKind = adapted && adapted[0] === x.kind ? adapted[1] : x.kind;
    if (o.kind !== xKind) problems.push(`field ${x.num}: kind ${o.kind} vs XMTP ${x.kind}`);
    if (!!o.repeated !== !!x.repeated) problems.push(`field ${x.num}: repeated differs`);
    if (!!o.packed !== !!x.packed) problems.push(`field ${x.num}: packed differs`);
    if (!x.repeated && !!o.explicit !== !!x.explicit)
      problems.push(`field ${x.num}: presence ${o.explicit ? 'explicit' : 'implicit'} vs XMTP ${x.explicit ? 'explicit' : 'implicit'}`);
  }
  for (const o of of) if (!xf.find((x) => x.num === o.num)) problems.push(`extra field ${o.num} (${o.protoName})`);
  if (problems.length) fail(name, problems.join('; '));
  else passed++;
}
for (const [name, xv] of xmtp.enums) {
  const ov = ours.enums.get(name);
  if (ov === undefined) fail(`enum ${name}`, 'missing from proto/');
  else if (ov !== xv) fail(`enum ${name}`, `values ${ov} vs XMTP ${xv}`);
  else passed++;
}
const notInNpm = [...ours.messages.keys()].filter((k) => !xmtp.messages.has(k) && !/Entry$/.test(k));
console.log(`messages of proto/ that @xmtp/proto does not ship (not checked here): ${notInNpm.join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
