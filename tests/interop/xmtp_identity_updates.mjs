// Identity updates between libxmtp 1.9.1 and xmtp/, both ways, through the real dev node
// (build/xmtp-devnode, started here on a free port with a temp database, stopped at the end),
// which validates every update it stores with xmtp/'s association rules:
//   - libxmtp registers an inbox and changes its associations (add a wallet, a second
//     installation, revoke it, change the recovery address, unlink a wallet); after each
//     step the C folding of the whole log must give libxmtp's own inbox state, and C's
//     signature text must equal the text libxmtp asked the wallet to sign;
//   - C builds updates (an installation added by a wallet member, then revoked by the
//     recovery address), publishes them through the node, and libxmtp's getLatestInboxState
//     must accept them and show their effect; an update C refuses (an installation adding an
//     installation) is refused by the node too (INVALID_ARGUMENT) and, planted straight
//     into the node's database, must make libxmtp refuse the log too;
//   - a replayed libxmtp update is refused by C; libxmtp's installation-key signature
//     (public context) verifies in C.
// usage: node xmtp_identity_updates.mjs path/to/xmtp_interop_helper path/to/xmtp-devnode
// Ends with "N passed, M failed".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import * as b from '@xmtp/node-bindings';
import { privateKeyToAccount } from 'viem/accounts';
import { sha256 } from '@noble/hashes/sha2.js';
import { startDevnode, pbBytes, pbUint, pbFields } from './devnode_process.mjs';

const helper = process.argv[2];
const nodeBin = process.argv[3];
let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; return; }
  failed++;
  console.log(`FAIL ${name}${detail !== undefined ? ': ' + JSON.stringify(detail) : ''}`);
}
function run(reqs) {
  const r = spawnSync(helper, { input: reqs.map((x) => JSON.stringify(x)).join('\n') + '\n', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`helper exited ${r.status}: ${r.stderr}`);
  return r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
}
const hex = (u) => Buffer.from(u).toString('hex');
const key = (label) => hex(sha256(new TextEncoder().encode(`xmtp-worker identity interop ${label}`)));

const node = await startDevnode(nodeBin, 'identity-interop');
const M_GET = '/xmtp.identity.api.v1.IdentityApi/GetIdentityUpdates';
const M_PUB = '/xmtp.identity.api.v1.IdentityApi/PublishIdentityUpdate';
// The inbox log as the node serves it: the update bytes exactly as stored.
async function logOf(inbox) {
  const r = await node.call(M_GET, pbBytes(1, Buffer.concat([pbBytes(1, Buffer.from(inbox)), pbUint(2, 0)])));
  if (r.status !== 0) throw new Error(`GetIdentityUpdates: status ${r.status}: ${r.message}`);
  const out = [];
  for (const resp of pbFields(r.body).filter((f) => f.field === 1)) {
    const fs1 = pbFields(resp.value);
    if (fs1.find((f) => f.field === 1)?.value.toString() !== inbox) continue;
    for (const u of fs1.filter((f) => f.field === 2)) {
      const uf = pbFields(u.value);
      out.push({ sequenceId: Number(uf.find((f) => f.field === 1)?.value ?? 0n), bytes: uf.find((f) => f.field === 3)?.value ?? Buffer.alloc(0) });
    }
  }
  return out;
}
// Publishes bytes made by the C side through the node (which validates them).
const publish = (bytes) => node.call(M_PUB, pbBytes(1, bytes));
const k1 = key('wallet 1'), k2 = key('wallet 2');
const w1 = privateKeyToAccount('0x' + k1), w2 = privateKeyToAccount('0x' + k2);
const a1 = w1.address.toLowerCase(), a2 = w2.address.toLowerCase();
const ident1 = { identifier: a1, identifierKind: 0 };
const inboxId = b.generateInboxId(ident1, 1n);
const sign = async (acct, text) => new Uint8Array(Buffer.from((await acct.signMessage({ message: text })).slice(2), 'hex'));
const opts = (n) => [null, null, 'Disabled', { level: 'Off' }, false, null, n];

// The C state of the whole log against libxmtp's view of it.
async function compare(step, client) {
  const log = (await logOf(inboxId)).map((e) => hex(e.bytes));
  const c = run([{ op: 'assoc_fold', inboxId, updates: log }])[0];
  const lib = await client.getLatestInboxState(inboxId);
  const libInst = lib.installations.map((i) => hex(i.bytes)).sort();
  const libIds = lib.identifiers.map((i) => i.identifier.toLowerCase()).sort();
  check(`${step}: C folds the log`, !c.error, c);
  if (c.error) return;
  check(`${step}: installations agree`, JSON.stringify([...c.installations].sort()) === JSON.stringify(libInst), { c: c.installations, libxmtp: libInst });
  check(`${step}: addresses agree`, JSON.stringify([...c.addresses].sort()) === JSON.stringify(libIds), { c: c.addresses, libxmtp: libIds });
  check(`${step}: recovery agrees`, c.recovery === lib.recoveryIdentifier.identifier.toLowerCase(), { c: c.recovery, libxmtp: lib.recoveryIdentifier });
}
// libxmtp's signature text of the last published update equals C's text of its bytes.
async function compareText(step, text) {
  const log = await logOf(inboxId);
  const pub = log[log.length - 1];
  const r = run([{ op: 'idu_text', hex: hex(pub.bytes) }])[0];
  check(`${step}: C signature text equals libxmtp's`, r.text === text, { c: r.text, libxmtp: text });
}

// Has `acct` sign req's text, publishes it with `apply`, and checks C against libxmtp.
async function signAndCompare(step, req, acct, apply, client) {
  const text = await req.signatureText();
  await req.addEcdsaSignature(await sign(acct, text));
  await apply(req);
  await compareText(step, text);
  await compare(step, client);
}

let step = 'start';
try {
  step = '1';
  // 1. libxmtp registers the inbox (CreateInbox + installation A)
  const A = await b.createClient(node.url, null, false, null, inboxId, ident1, ...opts(1n));
  await signAndCompare('register', await A.createInboxSignatureRequest(), w1, (r) => A.registerIdentity(r), A);

  // libxmtp's installation key signs (public context); C verifies with the installation id
  const t = 'hello from libxmtp';
  const sig = A.signWithInstallationKey(t);
  const v = run([{ op: 'ed25519ph_verify', pk: hex(A.installationIdBytes()), ctx: 'PUBLIC SIGNATURE CONTEXT', msg: t, sig: hex(sig) },
    { op: 'ed25519ph_verify', pk: hex(A.installationIdBytes()), ctx: 'IDENTITY UPDATE SIGNATURE', msg: t, sig: hex(sig) }]);
  check('C verifies libxmtp installation signature', v[0].ok === true, v[0]);
  check('...and only under its context', v[1].code === 'XW_EBADSIG', v[1]);

  step = '2';
  // 2. libxmtp links wallet 2 (installation A signs as the existing member, wallet 2 as the new one)
  await signAndCompare('link wallet 2', await A.addIdentifierSignatureRequest({ identifier: a2, identifierKind: 0 }), w2, (r) => A.applySignatureRequest(r), A);

  step = '3';
  // 3. C adds an installation, signed by wallet 2 (a member that is not the recovery address)
  const seedC = key('C installation');
  const now = () => (BigInt(Date.now()) * 1000000n).toString();
  let r = run([{ op: 'idu_build', inboxId, ts: now(), actions: [{ kind: 'add', member: { installation: seedC }, signer: { wallet: k2 } }], wallets: [k2], installations: [seedC] }])[0];
  check('C builds an AddAssociation', !r.error, r);
  let p = await publish(Buffer.from(r.hex, 'hex'));
  check('the node accepts the C-made AddAssociation', p.status === 0, p);
  await compare('C adds an installation', A);
  const pkC = run([{ op: 'ed25519ph_sign', seed: seedC, ctx: 'x', msg: '' }])[0].pk;
  let lib = await A.getLatestInboxState(inboxId);
  check('libxmtp accepts the C-made installation', lib.installations.some((i) => hex(i.bytes) === pkC), lib.installations.map((i) => hex(i.bytes)));

  step = '4';
  // 4. a second libxmtp installation B joins the inbox
  const B = await b.createClient(node.url, null, false, null, inboxId, ident1, ...opts(1n));
  await signAndCompare('installation B', await B.createInboxSignatureRequest(), w1, (r) => B.registerIdentity(r), A);

  step = '5';
  // 5. C revokes its installation with the recovery address (wallet 1)
  await new Promise((res) => setTimeout(res, 1100)); // a new second: a new signature text
  r = run([{ op: 'idu_build', inboxId, ts: now(), actions: [{ kind: 'revoke', member: { installation: seedC }, signer: { wallet: k1 } }], wallets: [k1] }])[0];
  p = await publish(Buffer.from(r.hex, 'hex'));
  check('the node accepts the C-made revocation', p.status === 0, p);
  await compare('C revokes its installation', A);
  lib = await A.getLatestInboxState(inboxId);
  check('libxmtp sees the C revocation', !lib.installations.some((i) => hex(i.bytes) === pkC));

  step = '6';
  // 6. libxmtp revokes installation B
  await signAndCompare('revoke B', await A.revokeInstallationsSignatureRequest([B.installationIdBytes()]), w1, (r) => A.applySignatureRequest(r), A);

  step = '7';
  // 7. libxmtp changes the recovery address to wallet 2
  await signAndCompare('change recovery', await A.changeRecoveryIdentifierSignatureRequest({ identifier: a2, identifierKind: 0 }), w1, (r) => A.applySignatureRequest(r), A);

  step = '8';
  // 8. replaying a libxmtp update is refused by C
  const log = (await logOf(inboxId)).map((e) => hex(e.bytes));
  const rep = run([{ op: 'assoc_fold', inboxId, updates: [...log, log[1]] }])[0];
  check('C refuses a replayed libxmtp update', rep.code === 'XW_EXMTP_REPLAY', rep);

  step = '9';
  // 9. an update C refuses makes libxmtp refuse the log too: installation A adds a new
  // installation (signed by A's key is not possible from here, so a C installation that is
  // not a member signs as "existing member": C says XW_EXMTP_SIGNER)
  const seedD = key('D installation'), seedE = key('E installation');
  r = run([{ op: 'idu_build', inboxId, ts: now(), actions: [{ kind: 'add', member: { installation: seedE }, signer: { installation: seedD } }], installations: [seedD, seedE] }])[0];
  const bad = run([{ op: 'assoc_fold', inboxId, updates: [...log, r.hex] }])[0];
  check('C refuses an add signed by a non-member installation', bad.code === 'XW_EXMTP_SIGNER', bad);
  p = await publish(Buffer.from(r.hex, 'hex'));
  check('the node refuses it (INVALID_ARGUMENT)', p.status === 3 && /signer|signature|member/i.test(p.message), p);
  check('...and stores nothing', (await logOf(inboxId)).length === log.length);
  // plant it in the node's database (as a node that did not validate would have stored it)
  node.sql(`INSERT INTO inbox_log(inbox_id, server_timestamp_ns, identity_update) VALUES('${inboxId}', ${now()}, X'${r.hex}')`);
  check('the planted update is served', (await logOf(inboxId)).length === log.length + 1);
  let libRefused = false;
  try {
    lib = await A.getLatestInboxState(inboxId);
    libRefused = !lib.installations.some((i) => hex(i.bytes) === run([{ op: 'ed25519ph_sign', seed: seedE, ctx: 'x', msg: '' }])[0].pk);
  } catch { libRefused = true; }
  check('libxmtp refuses it too', libRefused);
} catch (e) {
  check(`scenario step ${step}`, false, e.message);
}
const unknown = [...new Set([...fs.readFileSync(node.logFile, 'utf8').matchAll(/ (\/\S+) UNIMPLEMENTED /g)].map((m) => m[1]))];
console.log(`unknown RPCs: ${JSON.stringify(unknown)}`);
const stopped = await node.stop();
check('the node stops cleanly on SIGTERM', stopped && stopped.code === 0, stopped);
console.log(`${passed} passed, ${failed} failed`);
if (failed) console.log(`node log: ${node.logFile}`);
else node.remove();
process.exit(failed ? 1 : 0);
