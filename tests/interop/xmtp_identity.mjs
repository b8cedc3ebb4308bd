// Cross-checks of xmtp/ (identity and content) against independent implementations:
// libxmtp through @xmtp/node-bindings 1.9.1 (inbox ids, content codecs, Ed25519ph
// verification helper), viem 2.57.20 (Keccak-256, EIP-191 signing and recovery) and
// @noble/curves 2.0.1 (Ed25519ph with XMTP's context). The C side is
// build/tests/xmtp_interop_helper (tests/interop/xmtp_helper.c), driven over stdin/stdout
// one JSON line per request. Inputs come from a seeded generator, so a failure repeats.
// Ends with "N passed, M failed".
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import * as b from '@xmtp/node-bindings';
import { keccak256, recoverMessageAddress, verifyMessage, getAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';

const require = createRequire(import.meta.url);
const proto = require('@xmtp/proto');
const { EncodedContent } = proto.mlsContent;

const helper = process.argv[2];
if (!helper) throw new Error('usage: node xmtp_identity.mjs path/to/xmtp_interop_helper');

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; return; }
  failed++;
  console.log(`FAIL ${name}${detail !== undefined ? ': ' + (typeof detail === 'string' ? detail : JSON.stringify(detail, (k, v) => typeof v === 'bigint' ? v.toString() : v)) : ''}`);
}

function run(reqs) {
  const r = spawnSync(helper, { input: reqs.map((x) => JSON.stringify(x)).join('\n') + '\n', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`helper exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  if (lines.length !== reqs.length) throw new Error(`helper answered ${lines.length} of ${reqs.length}`);
  return lines;
}

// Deterministic bytes: SHA-256 in counter mode over a fixed seed.
let ctr = 0;
function rnd(n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 32) {
    const block = sha256(new TextEncoder().encode(`xmtp-worker interop ${ctr++}`));
    out.set(block.subarray(0, Math.min(32, n - i)), i);
  }
  return out;
}
const hex = (u) => Buffer.from(u).toString('hex');
const unhex = (h) => new Uint8Array(Buffer.from(h, 'hex'));

// ---------------------------------------------------------------------------------------------
// 1. Inbox ids: libxmtp's generateInboxId against ours, checksummed addresses, many nonces.
{
  const nonces = [0n, 1n, 2n, 7n, 99n, 12345n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n];
  const reqs = [], want = [];
  for (let i = 0; i < 27; i++) {
    const addr = privateKeyToAccount('0x' + hex(rnd(32))).address; // EIP-55 mixed case
    const nonce = nonces[i % nonces.length];
    want.push(b.generateInboxId({ identifier: addr, identifierKind: 0 }, nonce));
    reqs.push({ op: 'inbox_id', address: addr, nonce: nonce.toString() });
  }
  const res = run(reqs);
  reqs.forEach((r, i) => check(`inbox id ${r.address} nonce ${r.nonce}`, res[i].inboxId === want[i], { want: want[i], got: res[i] }));
  // lowercase address text gives the same id on both sides
  const a = privateKeyToAccount('0x' + hex(rnd(32))).address;
  const r2 = run([{ op: 'inbox_id', address: a.toLowerCase(), nonce: '3' }, { op: 'inbox_id', address: a, nonce: '3' }]);
  check('inbox id case-insensitive', r2[0].inboxId === r2[1].inboxId && r2[0].inboxId === b.generateInboxId({ identifier: a.toLowerCase(), identifierKind: 0 }, 3n));
  // the default nonce of the bindings is 1
  check('bindings default nonce is 1', b.generateInboxId({ identifier: a, identifierKind: 0 }) === run([{ op: 'inbox_id', address: a, nonce: '1' }])[0].inboxId);
}

// ---------------------------------------------------------------------------------------------
// 2. Keccak-256 against viem for lengths across the 136-byte rate boundary.
{
  const lens = [0, 1, 3, 55, 56, 64, 135, 136, 137, 271, 272, 273, 1000];
  const inputs = lens.map((n) => rnd(n));
  const res = run(inputs.map((u) => ({ op: 'keccak', hex: hex(u) })));
  inputs.forEach((u, i) => check(`keccak len ${u.length}`, '0x' + res[i].hash === keccak256(u), res[i]));
}

// ---------------------------------------------------------------------------------------------
// 3. EIP-191: viem signs, C recovers; C signs, viem recovers; deterministic signatures agree.
{
  const cases = [];
  for (let i = 0; i < 12; i++) {
    const key = '0x' + hex(rnd(32));
    const msg = i === 0 ? '' : i === 1 ? 'XMTP : Authenticate to inbox\n\nInbox ID: 00\n' : `message ${i} ✓ ${hex(rnd(i * 7))}`;
    cases.push({ key, msg, account: privateKeyToAccount(key) });
  }
  const viemSigs = await Promise.all(cases.map((c) => c.account.signMessage({ message: c.msg })));
  const res = run([
    ...cases.map((c, i) => ({ op: 'eip191_recover', msg: c.msg, sig: viemSigs[i].slice(2) })),
    ...cases.map((c) => ({ op: 'eip191_sign', key: c.key, msg: c.msg })),
  ]);
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i], rec = res[i], signed = res[cases.length + i];
    check(`C recovers viem signature ${i}`, rec.address === c.account.address, { want: c.account.address, got: rec });
    check(`C address is EIP-55 ${i}`, signed.address === getAddress(c.account.address.toLowerCase()), signed);
    const addr = await recoverMessageAddress({ message: c.msg, signature: '0x' + signed.sig });
    check(`viem recovers C signature ${i}`, addr === c.account.address, { addr });
    check(`viem verifies C signature ${i}`, await verifyMessage({ address: c.account.address, message: c.msg, signature: '0x' + signed.sig }));
    check(`deterministic signatures agree ${i}`, '0x' + signed.sig === viemSigs[i], { c: signed.sig, viem: viemSigs[i] });
  }
  // a corrupted signature recovers someone else (or fails), never the signer
  const bad = unhex(viemSigs[2].slice(2)); bad[5] ^= 1;
  const r = run([{ op: 'eip191_recover', msg: cases[2].msg, sig: hex(bad) }])[0];
  check('corrupted signature does not recover the signer', r.address !== cases[2].account.address, r);
}

// ---------------------------------------------------------------------------------------------
// 4. Ed25519ph: noble's ed25519ph with XMTP's contexts, and libxmtp's verification helper.
{
  const IDU = 'IDENTITY UPDATE SIGNATURE', PUB = 'PUBLIC SIGNATURE CONTEXT';
  const enc = new TextEncoder();
  const cases = [];
  for (let i = 0; i < 10; i++) cases.push({ seed: rnd(32), msg: i === 0 ? '' : `text ${i} ${hex(rnd(i * 11))}`, ctx: i % 2 ? PUB : IDU });
  const res = run(cases.map((c) => ({ op: 'ed25519ph_sign', seed: hex(c.seed), ctx: c.ctx, msg: c.msg })));
  const verifyReqs = [];
  cases.forEach((c, i) => {
    const pk = ed25519ph.getPublicKey(c.seed);
    const nsig = ed25519ph.sign(enc.encode(c.msg), c.seed, { context: enc.encode(c.ctx) });
    check(`Ed25519ph public key ${i}`, res[i].pk === hex(pk), res[i]);
    check(`Ed25519ph signature equals noble's ${i}`, res[i].sig === hex(nsig), { c: res[i].sig, noble: hex(nsig) });
    check(`noble verifies C Ed25519ph ${i}`, ed25519ph.verify(unhex(res[i].sig), enc.encode(c.msg), pk, { context: enc.encode(c.ctx) }));
    verifyReqs.push({ op: 'ed25519ph_verify', pk: hex(pk), ctx: c.ctx, msg: c.msg, sig: hex(nsig) });
    verifyReqs.push({ op: 'ed25519ph_verify', pk: hex(pk), ctx: c.ctx === IDU ? PUB : IDU, msg: c.msg, sig: hex(nsig) });
    let libOk = true;
    try { b.verifySignedWithPublicKey(c.msg, unhex(res[i].sig), pk); } catch { libOk = false; }
    // libxmtp's helper verifies the public context only: it must accept exactly those
    check(`libxmtp verifySignedWithPublicKey on C signature ${i} (${c.ctx})`, libOk === (c.ctx === PUB));
  });
  const vres = run(verifyReqs);
  for (let i = 0; i < cases.length; i++) {
    check(`C verifies noble Ed25519ph ${i}`, vres[2 * i].ok === true, vres[2 * i]);
    check(`C refuses it under the other context ${i}`, vres[2 * i + 1].code === 'XW_EBADSIG', vres[2 * i + 1]);
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Content types: the bindings encode, C decodes to the same fields; C encodes the same
// fields, and the EncodedContent equals the bindings' (type, parameters, fallback, body).
const ecHex = (ec) => hex(EncodedContent.encode({
  type: ec.type, parameters: ec.parameters, fallback: ec.fallback, compression: ec.compression, content: ec.content,
}).finish());
const STYLE = ['primary', 'secondary', 'danger'];
const nsToIso = (ns) => new Date(Number(ns / 1000000n)).toISOString();
const remoteFields = (r) => ({
  url: r.url, contentDigest: r.contentDigest, secret: hex(r.secret), salt: hex(r.salt), nonce: hex(r.nonce), scheme: r.scheme,
  ...(r.contentLength !== undefined ? { contentLength: r.contentLength } : {}), ...(r.filename !== undefined ? { filename: r.filename } : {}),
});
const remote = (i, withOpt) => ({
  url: `https://files.example/${i}`, contentDigest: hex(rnd(32)), secret: rnd(32), salt: rnd(32), nonce: rnd(12), scheme: 'https://',
  ...(withOpt ? { contentLength: 1000 + i, filename: `photo ${i}.jpg` } : {}),
});
const samples = [
  ['text', 'text', b.encodeText('hello, world ✓'), { text: 'hello, world ✓' }],
  ['text', 'text', b.encodeText(''), { text: '' }],
  ['markdown', 'markdown', b.encodeMarkdown('# Title\n\n- *one*\n- `two`'), { text: '# Title\n\n- *one*\n- `two`' }],
  ...[[1, 1, '👍'], [2, 2, ':smile:'], [1, 3, 'https://e/x.png'], [0, 0, 'x']].map(([action, schema, content], i) => {
    const f = { reference: hex(rnd(32)), referenceInboxId: i % 2 ? '' : hex(rnd(32)), action, content, schema };
    return ['reaction', 'reaction', b.encodeReaction(f), f];
  }),
  ['readReceipt', 'readReceipt', b.encodeReadReceipt({}), {}],
  ['attachment', 'attachment', b.encodeAttachment({ filename: 'a.txt', mimeType: 'text/plain', content: rnd(300) }), null],
  ['attachment', 'attachment', b.encodeAttachment({ mimeType: 'image/png', content: new Uint8Array() }), null],
  ['remoteStaticAttachment', 'remoteStaticAttachment', null, { ...remote(1, true), contentLength: 77 }],
  ['remoteStaticAttachment', 'remoteStaticAttachment', null, { ...remote(2, false), contentLength: 0 }],
  ['multiRemoteStaticAttachment', 'multiRemoteStaticAttachment', null, { attachments: [remote(3, true), remote(4, false), remote(5, true)] }],
  ['transactionReference', 'transactionReference', null, { namespace: 'eip155', networkId: '0x2105', reference: '0x' + hex(rnd(32)), metadata: { transactionType: 'transfer', currency: 'USDC', amount: 12.25, decimals: 6, fromAddress: '0x' + hex(rnd(20)), toAddress: '0x' + hex(rnd(20)) } }],
  ['transactionReference', 'transactionReference', null, { networkId: '1', reference: '0xabc' }],
  ['walletSendCalls', 'walletSendCalls', null, { version: '1.0', chainId: '0x2105', from: '0x' + hex(rnd(20)), calls: [{ to: '0x' + hex(rnd(20)), data: '0x' + hex(rnd(68)), value: '0x0', gas: '0x5208', metadata: { description: 'Send 1 USDC', transactionType: 'transfer' } }, { to: '0x' + hex(rnd(20)) }], capabilities: { paymasterService: 'https://pm.example' } }],
  ['walletSendCalls', 'walletSendCalls', null, { version: '1.0', chainId: '0x1', from: '0xf', calls: [] }],
  ['actions', 'actions', null, { id: 'menu-1', description: 'Pick one', actions: [{ id: 'a', label: 'Yes', imageUrl: 'https://i/y.png', style: 0, expiresAtNs: 1700000000123000000n }, { id: 'b', label: 'No', style: 2 }, { id: 'c', label: 'Later' }], expiresAtNs: 1800000000000000000n }],
  ['intent', 'intent', null, { id: 'menu-1', actionId: 'b', metadata: { note: 'x', n: 3 } }],
];
// fill in the bindings' encodings and the C-side field objects
const items = samples.map(([kind, typeId, enc, f], i) => {
  let fields = f, bindingsEc = enc;
  switch (kind) {
    case 'attachment': {
      const src = i === 8 ? { filename: 'a.txt', mimeType: 'text/plain' } : { mimeType: 'image/png' };
      fields = { ...src, content: hex(enc.content) };
      break;
    }
    case 'remoteStaticAttachment': bindingsEc = b.encodeRemoteAttachment(f); fields = remoteFields(f); break;
    case 'multiRemoteStaticAttachment': bindingsEc = b.encodeMultiRemoteAttachment(f); fields = { attachments: f.attachments.map(remoteFields) }; break;
    case 'transactionReference': bindingsEc = b.encodeTransactionReference(f); break;
    case 'walletSendCalls': bindingsEc = b.encodeWalletSendCalls(f); break;
    case 'actions':
      bindingsEc = b.encodeActions(f);
      fields = { id: f.id, description: f.description, actions: f.actions.map((a) => ({ id: a.id, label: a.label, ...(a.imageUrl ? { imageUrl: a.imageUrl } : {}), ...(a.style !== undefined ? { style: STYLE[a.style] } : {}), ...(a.expiresAtNs ? { expiresAt: nsToIso(a.expiresAtNs) } : {}) })), ...(f.expiresAtNs ? { expiresAt: nsToIso(f.expiresAtNs) } : {}) };
      break;
    case 'intent': bindingsEc = b.encodeIntent(f); break;
    default: break;
  }
  return { kind, typeId, bindingsEc, fields, i };
});
// C decodes what the bindings encoded
{
  const res = run(items.map((it) => ({ op: 'content_decode', hex: ecHex(it.bindingsEc) })));
  items.forEach((it, k) => {
    const r = res[k], t = it.bindingsEc.type;
    check(`C decodes bindings ${it.kind} #${it.i}: kind`, r.kind === it.typeId, r);
    check(`C decodes bindings ${it.kind} #${it.i}: type`, r.type === `${t.authorityId}/${t.typeId}:${t.versionMajor}.${t.versionMinor}`, r);
    check(`C decodes bindings ${it.kind} #${it.i}: fallback`, (r.fallback ?? undefined) === (it.bindingsEc.fallback ?? undefined), { c: r.fallback, bindings: it.bindingsEc.fallback });
    check(`C decodes bindings ${it.kind} #${it.i}: fields`, isDeepStrictEqual(r.fields, it.fields), { c: r.fields, want: it.fields });
  });
}
// C encodes the same fields; compare with the bindings' EncodedContent
{
  const res = run(items.map((it) => ({ op: 'content_encode', kind: it.kind, fields: it.fields })));
  items.forEach((it, k) => {
    if (res[k].error) { check(`C encodes ${it.kind} #${it.i}`, false, res[k]); return; }
    const mine = EncodedContent.decode(unhex(res[k].hex));
    const theirs = it.bindingsEc;
    check(`C ${it.kind} #${it.i}: type`, isDeepStrictEqual({ ...mine.type }, { ...theirs.type }), { c: mine.type, bindings: theirs.type });
    check(`C ${it.kind} #${it.i}: parameters`, isDeepStrictEqual({ ...mine.parameters }, { ...theirs.parameters }), { c: mine.parameters, bindings: theirs.parameters });
    const json = ['transactionReference', 'walletSendCalls', 'actions', 'intent'].includes(it.kind);
    if (json) {
      const a = JSON.parse(Buffer.from(mine.content).toString()), bb = JSON.parse(Buffer.from(theirs.content).toString());
      check(`C ${it.kind} #${it.i}: JSON body`, isDeepStrictEqual(a, bb), { c: a, bindings: bb });
      const strip = (s) => s && s.includes('{') ? s.slice(0, s.indexOf('{')) + JSON.stringify(JSON.parse(s.slice(s.indexOf('{')))) : s;
      check(`C ${it.kind} #${it.i}: fallback`, strip(mine.fallback) === strip(theirs.fallback), { c: mine.fallback, bindings: theirs.fallback });
    } else {
      check(`C ${it.kind} #${it.i}: body bytes`, hex(mine.content) === hex(theirs.content), { c: hex(mine.content), bindings: hex(theirs.content) });
      check(`C ${it.kind} #${it.i}: fallback`, (mine.fallback ?? undefined) === (theirs.fallback ?? undefined), { c: mine.fallback, bindings: theirs.fallback });
    }
    // and the whole EncodedContent decodes back in C to the same fields
  });
  const back = run(res.filter((r) => r.hex).map((r) => ({ op: 'content_decode', hex: r.hex })));
  items.forEach((it, k) => check(`C re-decodes its ${it.kind} #${it.i}`, back[k] && isDeepStrictEqual(back[k].fields, it.fields), back[k]));
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
