// xmtpw's client commands (init, info, sync, groups, messages, send, stream) as an operator
// runs them, against the real dev node (build/xmtp-devnode on a free port of 127.0.0.1) and a
// libxmtp user (@xmtp/node-bindings 1.9.1):
//
//   1. errors before init: every command says to run `xmtpw init`;
//   2. init generates a wallet key (printed once, stored 0600), registers; a second init
//      reopens the same inbox and installation; init with XMTP_WALLET_KEY uses that key;
//   3. info --json: its fields, equal to what libxmtp sees of the bot;
//   4. alice (libxmtp) makes a group with the bot and writes twice; xmtpw sync joins it;
//      groups --json and messages --json show the group and the messages with libxmtp's
//      ids, senders and texts; --limit and id prefixes;
//   5. xmtpw send: alice reads the text from the bot's inbox with the id xmtpw printed;
//   6. errors: unknown group, ambiguous or malformed GROUP, bad --limit, unreachable node,
//      stream not available.
// Every check prints a line; the last line is "N passed, N failed".
//
// usage: node xmtpw_libxmtp.mjs path/to/xmtp-devnode path/to/xmtpw
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as xmtp from '@xmtp/node-bindings';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hexToBytes } from 'viem';
import { newUser as libxmtpUser, ident, textOf, appMessages } from './libxmtp_user.mjs';
import { startDevnode } from './devnode_process.mjs';

const [nodeBin, xmtpwBin] = process.argv.slice(2).map((p) => path.resolve(p));
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? ` — ${detail}` : ''}`);
}

const node = await startDevnode(nodeBin, 'xmtpw-libxmtp');
const dir = node.dir;
const botDir = path.join(dir, 'bot');

// Runs xmtpw with only the environment given (and the sanitizers' options): {rc, out, err}.
function xmtpw(args, env = {}) {
  const base = { PATH: process.env.PATH };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) base[k] = process.env[k];
  const r = spawnSync(xmtpwBin, args, { env: { ...base, ...env }, encoding: 'utf8' });
  return { rc: r.status, out: r.stdout, err: r.stderr };
}
const bot = (args, env) => xmtpw([...args, '--node', node.url, '--db-dir', botDir], env);
function json(r) {
  try {
    return JSON.parse(r.out);
  } catch {
    return { unparsable: r.out, stderr: r.err };
  }
}
const show = (r) => JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? v.toString() : v));

const newUser = (name, account) => libxmtpUser(node.url, dir, name, 'xmtpw-interop/1', account);

async function main() {
  // 1. before init
  for (const args of [['info'], ['sync'], ['groups'], ['messages', 'abcd'], ['send', 'abcd', 'hi']]) {
    const r = bot(args);
    check(`${args[0]} before init: exit 1, says to run xmtpw init`, r.rc === 1 && r.out === '' &&
      r.err === `xmtpw ${args[0]}: no installation in ${botDir}: run \`xmtpw init\` first (or give --db-dir DIR)\n`,
    show(r));
  }
  check('the commands before init made no store', !fs.existsSync(botDir));

  // 2. init with a generated key, twice
  const i1 = bot(['init', '--json']);
  const j1 = json(i1);
  check('init: exit 0', i1.rc === 0, show(i1));
  check('init --json: its keys', JSON.stringify(Object.keys(j1)) === JSON.stringify(['status', 'inbox_id',
    'installation_id', 'address', 'node', 'db_path', 'wallet_key', 'wallet_key_file']), show(j1));
  const keyFile = path.join(botDir, 'wallet.key');
  check('init made a new key, printed once, stored in DIR/wallet.key', j1.status === 'created' &&
    /^0x[0-9a-f]{64}$/.test(j1.wallet_key ?? '') && j1.wallet_key_file === keyFile &&
    fs.readFileSync(keyFile, 'utf8') === `${j1.wallet_key}\n`, show(j1));
  check('the key file is mode 0600', (fs.statSync(keyFile).mode & 0o777) === 0o600,
    (fs.statSync(keyFile).mode & 0o777).toString(8));
  check('init warns about the key on stderr', /warning: a new wallet key was generated/.test(i1.err), i1.err);
  const account = privateKeyToAccount(j1.wallet_key);
  check('the inbox is the new wallet\'s (nonce 1), the address its address',
    j1.inbox_id === xmtp.generateInboxId(ident(account.address), 1n) &&
    j1.address === account.address.toLowerCase(), show(j1));
  check('init: node and store path', j1.node === node.url && j1.db_path === path.join(botDir, 'xmtp.db3'), show(j1));
  const i2 = bot(['init', '--json']);
  const j2 = json(i2);
  check('second init: reopened, same inbox and installation, no key printed, no warning', i2.rc === 0 &&
    j2.status === 'reopened' && j2.inbox_id === j1.inbox_id && j2.installation_id === j1.installation_id &&
    j2.wallet_key === null && !/warning/.test(i2.err), show(i2));
  const i3 = bot(['init']);
  check('init in text: reopened, with the inbox id', i3.rc === 0 && i3.out.startsWith('reopened the installation in ') &&
    i3.out.includes(`inbox id:        ${j1.inbox_id}\n`) && !i3.out.includes(j1.wallet_key.slice(2)), show(i3));

  // init from XMTP_WALLET_KEY
  const key2 = generatePrivateKey();
  const dir2 = path.join(dir, 'bot2');
  const e1 = xmtpw(['init', '--json', '--node', node.url], { XMTP_WALLET_KEY: key2, XMTP_DB_DIRECTORY: dir2 });
  const je = json(e1);
  check('init with XMTP_WALLET_KEY and XMTP_DB_DIRECTORY: that wallet\'s inbox, no key file, no key printed',
    e1.rc === 0 && je.inbox_id === xmtp.generateInboxId(ident(privateKeyToAccount(key2).address), 1n) &&
    je.wallet_key === null && !fs.existsSync(path.join(dir2, 'wallet.key')) && !e1.out.includes(key2.slice(2)) &&
    !e1.err.includes(key2.slice(2)), show(e1));
  // a first init that cannot reach the node keeps its new key; the next one uses it
  const dir4 = path.join(dir, 'bot4');
  const f1 = xmtpw(['init', '--node', 'http://127.0.0.1:1', '--db-dir', dir4]);
  const key4 = fs.existsSync(path.join(dir4, 'wallet.key')) ? fs.readFileSync(path.join(dir4, 'wallet.key'), 'utf8').trim() : '';
  check('init with the node unreachable: exit 1, says to check the node and where the new key is kept', f1.rc === 1 &&
    f1.err.includes('is the node at http://127.0.0.1:1 reachable?') &&
    f1.err.includes(`the wallet key generated for this installation is kept in ${path.join(dir4, 'wallet.key')}`) &&
    /^0x[0-9a-f]{64}$/.test(key4) && !f1.out.includes(key4.slice(2)) && !f1.err.includes(key4.slice(2)), show(f1));
  const f2 = json(xmtpw(['init', '--json', '--node', node.url, '--db-dir', dir4]));
  check('the next init registers the kept key\'s inbox', f2.status === 'created' && f2.wallet_key === null &&
    f2.address === privateKeyToAccount(key4).address.toLowerCase(), show(f2));
  // --wallet-key-file: refused at 0644, accepted at 0600; both a key and a file refused
  const kf = path.join(dir, 'k3');
  fs.writeFileSync(kf, `${generatePrivateKey()}\n`, { mode: 0o644 });
  fs.chmodSync(kf, 0o644);
  const dir3 = path.join(dir, 'bot3');
  const w1 = xmtpw(['init', '--wallet-key-file', kf, '--node', node.url, '--db-dir', dir3]);
  check('--wallet-key-file readable by others: refused with the fix, nothing registered', w1.rc === 1 &&
    w1.err.includes(`xmtp.wallet_key_file: ${kf} can be read or written by others (mode 0644); chmod 600 it`) &&
    !fs.existsSync(path.join(dir3, 'xmtp.db3')), show(w1));
  fs.chmodSync(kf, 0o600);
  const w2 = xmtpw(['init', '--json', '--wallet-key-file', kf, '--node', node.url, '--db-dir', dir3]);
  const kAcct = privateKeyToAccount(fs.readFileSync(kf, 'utf8').trim());
  check('--wallet-key-file at 0600: that wallet\'s inbox', w2.rc === 0 &&
    json(w2).address === kAcct.address.toLowerCase(), show(w2));
  const w3 = xmtpw(['init', '--wallet-key-file', kf, '--node', node.url, '--db-dir', dir3],
    { XMTP_WALLET_KEY: key2 });
  check('a wallet key and --wallet-key-file: refused, keep one', w3.rc === 1 &&
    w3.err.includes('option --wallet-key-file: error: a wallet key is also set (environment XMTP_WALLET_KEY); keep one'),
    show(w3));

  // 3. info
  const inf = bot(['info', '--json']);
  const ji = json(inf);
  check('info --json: exit 0, its keys', inf.rc === 0 && JSON.stringify(Object.keys(ji)) === JSON.stringify(['inbox_id',
    'installation_id', 'address', 'node', 'db_path', 'registered', 'key_package_expires_at',
    'key_package_expires_at_ns', 'groups']), show(inf));
  check('info --json: the values', ji.inbox_id === j1.inbox_id && ji.installation_id === j1.installation_id &&
    ji.address === j1.address && ji.node === node.url && ji.db_path === j1.db_path && ji.registered === true &&
    ji.groups === 0, show(ji));
  const nowNs = BigInt(Date.now()) * 1000000n;
  check('info --json: the key package expires in the future (about 90 days)',
    BigInt(ji.key_package_expires_at_ns) > nowNs + 80n * 86400n * 1000000000n &&
    ji.key_package_expires_at === new Date(Number(BigInt(ji.key_package_expires_at_ns) / 1000000n)).toISOString(),
    show(ji));
  const alice = await newUser('alice');
  const st = await alice.client.getLatestInboxState(ji.inbox_id);
  check('libxmtp sees the installation info prints in the bot\'s inbox',
    st.installations.some((i) => Buffer.from(i.bytes).toString('hex') === ji.installation_id), show(st.installations));
  const it = bot(['info']);
  check('info in text', it.rc === 0 && it.out.includes(`inbox id:            ${j1.inbox_id}\n`) &&
    it.out.includes(`node:                ${node.url}\n`) && it.out.includes('groups:              0\n'), show(it));

  // 4. a group from libxmtp; sync, groups, messages
  const group = await alice.client.conversations().createGroupByInboxId([j1.inbox_id]);
  await group.updateGroupName('xmtpw group');
  await group.sendText('first from alice');
  await group.sendText('second from alice');
  const s1 = bot(['sync', '--json']);
  const js = json(s1);
  check('sync --json: joined the group, its two messages, nothing quarantined', s1.rc === 0 && js.joined === 1 &&
    js.messages === 2 && js.quarantined === 0, show(s1));
  check('sync --json: its keys', JSON.stringify(Object.keys(js)) === JSON.stringify(['welcomes', 'joined', 'envelopes',
    'messages', 'commits', 'own_published', 'quarantined']), show(js));
  const g = json(bot(['groups', '--json']));
  const g0 = g.groups?.[0];
  check('groups --json: alice\'s group, its name, two members, pending, consent unknown, added by alice',
    g.groups?.length === 1 && g0.id === group.id() && g0.name === 'xmtpw group' && g0.members === 2 &&
    g0.membership_state === 'pending' && g0.consent === 'unknown' && g0.active === true && g0.type === 'group' &&
    g0.added_by_inbox_id === alice.inboxId, show(g));
  const aliceMsgs = await appMessages(group);
  check('groups --json: a last activity time, in ns and as ISO 8601', BigInt(g0?.last_activity_at_ns ?? 0) > 0n &&
    g0.last_activity_at === new Date(Number(BigInt(g0.last_activity_at_ns) / 1000000n)).toISOString(), show(g0));
  const m = json(bot(['messages', group.id(), '--json']));
  const botApp = (m.messages ?? []).filter((x) => x.kind === 'application');
  const a = aliceMsgs.map((x) => `${x.id}|${x.senderInboxId}|${textOf(x)}`);
  const b = botApp.map((x) => `${x.id}|${x.sender_inbox_id}|${x.text}`);
  check('messages --json: libxmtp\'s ids, senders and texts, in order', a.length === 2 &&
    JSON.stringify(a) === JSON.stringify(b), `alice ${JSON.stringify(a)}\n       bot   ${JSON.stringify(b)}`);
  check('messages --json: content type, group id, membership changes listed too', m.group_id === group.id() &&
    botApp.every((x) => x.content_type === 'xmtp.org/text:1.0' && x.delivery === 'published') &&
    m.messages.some((x) => x.kind === 'membership_change' && x.content_type === 'xmtp.org/group_updated:1.0'), show(m));
  check('messages --json: each message\'s keys', JSON.stringify(Object.keys(botApp[0] ?? {})) === JSON.stringify(['id',
    'sent_at', 'sent_at_ns', 'sender_inbox_id', 'sender_installation_id', 'kind', 'content_type', 'text', 'delivery',
    'cursor']), show(botApp[0]));
  const prefix = group.id().slice(0, 6);
  const lim = json(bot(['messages', prefix.toUpperCase(), '--limit', '1', '--json']));
  check('messages PREFIX --limit 1: only the newest message', lim.messages?.length === 1 &&
    lim.messages[0].id === aliceMsgs[1].id, show(lim));
  const mt = bot(['messages', prefix]);
  check('messages in text: one line each, with time, id, sender, type and text', mt.rc === 0 &&
    mt.out.split('\n').some((l) => l.includes(aliceMsgs[0].id) && l.includes(alice.inboxId) &&
      l.includes('xmtp.org/text:1.0') && l.endsWith('first from alice')), show(mt));

  // 5. send
  const sent = bot(['send', prefix, 'hello from xmtpw']);
  const sentId = sent.out.trim();
  check('send: exit 0, prints the message id', sent.rc === 0 && /^[0-9a-f]{64}$/.test(sentId), show(sent));
  const after = await appMessages(group);
  const fromBot = after.filter((x) => x.senderInboxId === j1.inbox_id);
  check('alice reads the text from the bot\'s inbox with the id xmtpw printed', fromBot.length === 1 &&
    textOf(fromBot[0]) === 'hello from xmtpw' && fromBot[0].id === sentId, show(fromBot.map((x) => [x.id, textOf(x)])));
  const sj = json(xmtpw(['send', '--node', node.url, '--db-dir', botDir, group.id(), '--json', '--', '-dash first']));
  const after2 = await appMessages(group);
  check('send --json with --: the message id; alice reads it', after2.some((x) => x.id === sj.message_id &&
    textOf(x) === '-dash first' && x.senderInboxId === j1.inbox_id) && sj.group_id === group.id(), show(sj));
  bot(['sync']);
  const mine = json(bot(['messages', group.id(), '--json'])).messages.filter((x) => x.sender_inbox_id === j1.inbox_id &&
    x.kind === 'application');
  check('after sync the bot\'s own messages are published', mine.length === 2 &&
    mine.every((x) => x.delivery === 'published'), show(mine));
  const gi = json(bot(['info', '--json']));
  check('info counts the group', gi.groups === 1, show(gi));

  // 6. errors
  const unknown = 'ab'.repeat(16);
  const u = bot(['messages', unknown]);
  check('unknown group: exit 1, says how to list and fetch groups', u.rc === 1 && u.err ===
    `xmtpw messages: no group with id '${unknown}' in ${j1.db_path}; \`xmtpw groups\` lists them, \`xmtpw sync\` fetches new ones\n`,
  show(u));
  const us = bot(['send', 'zz', 'x']);
  check('malformed group id: exit 1, says what a group id is', us.rc === 1 &&
    us.err.startsWith("xmtpw send: 'zz' is not a group id: give the id in hex, or its first digits"), show(us));
  // more groups until two ids share their first digit (at most 17 groups: 16 digits)
  const ids = [group.id()];
  let dup = null;
  while (!dup) {
    const gx = await alice.client.conversations().createGroupByInboxId([j1.inbox_id]);
    dup = ids.find((id) => id[0] === gx.id()[0]) ? gx.id()[0] : null;
    ids.push(gx.id());
  }
  bot(['sync']);
  const n = ids.filter((id) => id[0] === dup).length;
  const amb = bot(['messages', dup]);
  check('ambiguous prefix: exit 1, says how many match, asks for more digits', amb.rc === 1 &&
    amb.err === `xmtpw messages: ${n} groups have ids starting with '${dup}'; give more digits\n`, show(amb));
  const gl = json(bot(['groups', '--json']));
  check('groups --json lists them all', gl.groups?.length === ids.length &&
    ids.every((id) => gl.groups.some((x) => x.id === id)), show(gl));
  for (const [v, msg] of [['0', 'out of range'], ['12x', ''], ['-1', 'negative'], ['1000001', 'out of range'], ['', 'needs a value']]) {
    const r = bot(['messages', group.id(), '--limit', v]);
    check(`--limit '${v}': exit 2 with a specific message and the usage`, r.rc === 2 && r.out === '' &&
      r.err.startsWith('xmtpw messages: ') && r.err.includes('usage: xmtpw messages GROUP') &&
      (v === '' || r.err.includes('--limit')) && r.err.includes(msg), show(r));
  }
  const far = xmtpw(['sync', '--node', 'http://127.0.0.1:1', '--db-dir', botDir]);
  check('unreachable node: exit 1, says to check the node', far.rc === 1 &&
    far.err.includes('is the node at http://127.0.0.1:1 reachable?'), show(far));
  const offline = xmtpw(['groups', '--json', '--node', 'http://127.0.0.1:1', '--db-dir', botDir]);
  check('groups reads the store only: works with the node unreachable', offline.rc === 0 &&
    json(offline).groups?.length === ids.length, show(offline));
  const badNode = xmtpw(['info', '--node', 'ftp://x', '--db-dir', botDir]);
  check('a bad --node URL: refused, the option named', badNode.rc === 1 &&
    badNode.err.startsWith('option --node: error: xmtp.node_url'), show(badNode));
  const str = bot(['stream']);
  check('stream: not available yet, exit 1, says what to use', str.rc === 1 &&
    str.err.includes('not available yet') && str.err.includes('xmtpw sync'), show(str));
  const gone = bot(['messages', group.id(), '--json']);
  check('nothing above changed the messages', JSON.stringify(json(gone).messages?.filter((x) => x.kind === 'application')
    .map((x) => x.id)) === JSON.stringify((await appMessages(group)).map((x) => x.id)), show(gone));
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL unexpected error: ${e.stack ?? e}`);
} finally {
  await node.stop();
  if (failed === 0) node.remove();
  else console.log(`files kept in ${dir} (node log: ${node.logFile})`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
