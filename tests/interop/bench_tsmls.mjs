// ts-mls half of `make bench` (bench/mls_groups.c runs it in the same run and prints the
// ratios): for each group size N, the creator builds a group of N members (adds in batches
// of 100; one other member, the receiver, joins and follows). Then, for every line "round"
// read on stdin, it times once per N
//   commit:  the creator's commit adding one new member (ts-mls states are immutable, so
//            the same state commits again every round),
//   process: the receiver processing that commit,
// in CPU time of the whole process (process.cpuUsage(), user + system: WebCrypto work done
// on libuv's thread pool counts too), and prints "N commit_ms process_ms" per N, then "end".
// The C side interleaves these rounds with its own and takes medians, so load from other
// processes on the machine hits both sides alike and wall-clock waiting does not count.
// usage: node tests/interop/bench_tsmls.mjs SUITE N...; prints "ready" once the groups exist.
import {
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteImpl,
  joinGroup,
  processPrivateMessage,
} from "ts-mls";
import { getCiphersuiteFromId } from "ts-mls/crypto/ciphersuite.js";

import { provider } from "./tsmls_provider.mjs";

import { createInterface } from "node:readline";

const [suite, ...sizes] = process.argv.slice(2).map(Number);
const impl = await getCiphersuiteImpl(getCiphersuiteFromId(suite), provider);
const te = new TextEncoder();
const kp = (name) =>
  generateKeyPackage({ credentialType: "basic", identity: te.encode(name) }, defaultCapabilities(), defaultLifetime, [], impl);
const add = (k) => ({ proposalType: "add", add: { keyPackage: k.publicPackage } });
const roundtrip = (m) => decodeMlsMessage(encodeMlsMessage(m), 0)[0];

const cpuMs = (u) => (u.user + u.system) / 1000;
const groups = [];
for (const n of sizes) {
  const creatorKp = await kp("creator");
  let creator = await createGroup(te.encode(`bench-${n}`), creatorKp.publicPackage, creatorKp.privatePackage, [], impl);
  let receiver = null;
  const recvKp = await kp("receiver");
  let pending = [recvKp];
  for (let i = 2; i <= n; i++) {
    if (i > 2) pending.push(await kp(`m${i}`));
    if (pending.length === 100 || i === n) {
      const r = await createCommit({ state: creator, cipherSuite: impl }, { extraProposals: pending.map(add), ratchetTreeExtension: true });
      creator = r.newState;
      if (!receiver) {
        receiver = await joinGroup(r.welcome, recvKp.publicPackage, recvKp.privatePackage, emptyPskIndex, impl);
      } else {
        const m = roundtrip(r.commit);
        receiver = (await processPrivateMessage(receiver, m.privateMessage, emptyPskIndex, impl)).newState;
      }
      pending = [];
    }
  }
  groups.push({ n, creator, receiver, newKp: await kp("new") });
}
console.log("ready");

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== "round") continue;
  for (const g of groups) {
    const u0 = process.cpuUsage();
    const res = await createCommit({ state: g.creator, cipherSuite: impl }, { extraProposals: [add(g.newKp)], ratchetTreeExtension: true });
    const commitMs = cpuMs(process.cpuUsage(u0));
    const commit = roundtrip(res.commit);
    const u1 = process.cpuUsage();
    await processPrivateMessage(g.receiver, commit.privateMessage, emptyPskIndex, impl);
    const processMs = cpuMs(process.cpuUsage(u1));
    console.log(`${g.n} ${commitMs.toFixed(3)} ${processMs.toFixed(3)}`);
  }
  console.log("end");
}
