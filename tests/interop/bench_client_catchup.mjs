// The catch-up benchmark of issue 15 (run by build/bench/bench_client_catchup, `make bench`):
// on one xmtp-devnode, the C client (this bench's program) and a libxmtp 1.9.1 reader both
// join alice's group, then alice (libxmtp) writes a backlog of BENCH_MESSAGES texts (default
// 10,000); the libxmtp reader's group.sync() and the C client's catch-up (xc_client_sync_all:
// fetch, decrypt, store) are timed on the same backlog, and both rates and the ratio printed.
//
// usage: node bench_client_catchup.mjs path/to/xmtp-devnode path/to/bench_client_catchup
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as xmtp from '@xmtp/node-bindings';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hexToBytes } from 'viem';
import { newUser as libxmtpUser } from './libxmtp_user.mjs';
import { startDevnode } from './devnode_process.mjs';

const [nodeBin, benchBin] = process.argv.slice(2).map((p) => path.resolve(p));
const N = Number(process.env.BENCH_MESSAGES ?? 10000);
if (!Number.isInteger(N) || N < 1 || N > 1000000) throw new Error('BENCH_MESSAGES: 1 to 1,000,000');

const node = await startDevnode(nodeBin, 'bench-client');
const botDb = path.join(node.dir, 'bot.db3');
// BENCH_WRAP: a command put in front of the catch-up (e.g. "strace -f -o /tmp/trace")
const wrap = (process.env.BENCH_WRAP ?? '').split(' ').filter((w) => w);
const bot = (...args) => {
  const argv = [...(args[0] === 'catchup' ? wrap.slice(1) : []), ...(args[0] === 'catchup' && wrap.length ? [benchBin] : []),
    '--node', node.url, '--db', botDb, ...args];
  const bin = args[0] === 'catchup' && wrap.length ? wrap[0] : benchBin;
  return JSON.parse(execFileSync(bin, argv, { encoding: 'utf8', maxBuffer: 1 << 20 }).trim());
};

const newUser = (name, account) => libxmtpUser(node.url, node.dir, name, 'client-bench/1', account);

try {
  const reg = bot('init', generatePrivateKey());
  const alice = await newUser('alice');
  const carol = await newUser('carol');
  const group = await alice.client.conversations().createGroupByInboxId([reg.inbox, carol.inboxId]);
  // both readers join before the backlog is written
  const joined = bot('join');
  if (joined.joined !== 1) throw new Error(`the C client did not join: ${JSON.stringify(joined)}`);
  await carol.client.conversations().sync();
  const carolGroup = carol.client.conversations().findGroupById(group.id());
  await carolGroup.sync();
  const before = (await carolGroup.findMessages()).filter((m) => m.kind === 0).length;

  let t = performance.now();
  for (let i = 0; i < N; i++) {
    await group.sendText(`backlog message ${i}`, true);
    if ((i + 1) % 500 === 0) await group.publishMessages();
  }
  await group.publishMessages();
  console.log(`backlog: ${N} texts written by libxmtp in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  await carolGroup.sync();
  const libSecs = (performance.now() - t) / 1000;
  const libCount = (await carolGroup.findMessages()).filter((m) => m.kind === 0).length - before;

  const c = bot('catchup');
  if (libCount !== N || c.messages !== N || c.quarantined !== 0)
    throw new Error(`expected ${N} messages each: libxmtp ${libCount}, C ${JSON.stringify(c)}`);
  const libRate = libCount / libSecs;
  const cRate = c.messages / c.seconds;
  console.log(`libxmtp 1.9.1 group.sync(): ${libCount} messages in ${libSecs.toFixed(3)} s = ${libRate.toFixed(0)} msg/s`);
  console.log(`C client catch-up:         ${c.messages} messages in ${c.seconds.toFixed(3)} s = ${cRate.toFixed(0)} msg/s`);
  console.log(`ratio: ${(cRate / libRate).toFixed(1)}x (goal: 10x)`);
} finally {
  await node.stop();
  node.remove();
}
