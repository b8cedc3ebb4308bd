// ts-mls half of `make bench` (bench/mls_groups.c runs it in the same run and prints the
// ratios): for each group size N, the creator builds a group of N members (adds in batches
// of 100; one other member, the receiver, joins and follows), then we time
//   commit:  the creator's commit adding one new member (best of REPS; ts-mls states are
//            immutable, so the same state commits again),
//   process: the receiver processing that commit.
// usage: node tests/interop/bench_tsmls.mjs SUITE REPS N...; prints "N commit_ms process_ms".
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

const [suite, reps, ...sizes] = process.argv.slice(2).map(Number);
const impl = await getCiphersuiteImpl(getCiphersuiteFromId(suite), provider);
const te = new TextEncoder();
const kp = (name) =>
  generateKeyPackage({ credentialType: "basic", identity: te.encode(name) }, defaultCapabilities(), defaultLifetime, [], impl);
const add = (k) => ({ proposalType: "add", add: { keyPackage: k.publicPackage } });
const roundtrip = (m) => decodeMlsMessage(encodeMlsMessage(m), 0)[0];

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
  const newKp = await kp("new");
  let best = Infinity,
    bestP = Infinity,
    commit = null;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const res = await createCommit({ state: creator, cipherSuite: impl }, { extraProposals: [add(newKp)], ratchetTreeExtension: true });
    best = Math.min(best, performance.now() - t0);
    commit = roundtrip(res.commit);
    const t1 = performance.now();
    await processPrivateMessage(receiver, commit.privateMessage, emptyPskIndex, impl);
    bestP = Math.min(bestP, performance.now() - t1);
  }
  console.log(`${n} ${best.toFixed(3)} ${bestP.toFixed(3)}`);
}
