// Interop between our MLS implementation (driven through build/mls-peer, state in files) and
// ts-mls, an independent TypeScript implementation, for cipher suites 1 and 3.
//
// For each suite, two scenarios: the C side creates the group and adds a ts-mls member, then
// the ts-mls side creates it and adds a C member. Then, for at least 20 epochs, committers
// alternate between the two implementations with adds (of both kinds of members), removes
// and updates; after every epoch every member's epoch_authenticator must be identical, and
// application messages go both ways. The C side uses XMTP's policy (PrivateMessage
// handshakes); Welcomes carry the ratchet tree, except some of ts-mls's, for which the tree
// is passed to mls-peer out of band.
//
// usage: node tests/interop/mls_interop.mjs PATH/TO/mls-peer
// Prints one line per checked epoch and "N passed, N failed"; exit status 1 on any failure.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  createApplicationMessage,
  createCommit,
  createGroup,
  createProposal,
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
import { encodeRatchetTree } from "ts-mls/ratchetTree.js";
import { getCiphersuiteFromId } from "ts-mls/crypto/ciphersuite.js";

import { provider } from "./tsmls_provider.mjs";

const PEER = process.argv[2];
if (!PEER) {
  console.error("usage: node mls_interop.mjs PATH/TO/mls-peer");
  process.exit(2);
}

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (h) => new Uint8Array(Buffer.from(h, "hex"));
const te = new TextEncoder();
const td = new TextDecoder();

let passed = 0,
  failed = 0,
  knownTsBug = 0;
function check(cond, what) {
  if (cond) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}`);
  }
  return cond;
}

// --- a C member: an mls-peer state file ---
class CMember {
  constructor(dir, name, suite) {
    this.name = name;
    this.suite = suite;
    this.state = join(dir, `${name}.state`);
  }
  run(...args) {
    const out = execFileSync(PEER, ["--suite", String(this.suite), this.state, ...args], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const m = {};
    for (const line of out.split("\n")) {
      const i = line.indexOf(" ");
      if (i > 0) (m[line.slice(0, i)] ??= []).push(line.slice(i + 1));
    }
    return m;
  }
  keyPackage() {
    return this.run("keypackage", this.name).keypackage[0];
  }
  info() {
    const m = this.run("info");
    return { epoch: BigInt(m.epoch[0]), auth: m.epoch_authenticator[0], leaf: Number(m.own_leaf[0]) };
  }
  receive(msgHex) {
    return this.run("receive", msgHex);
  }
}

// --- a ts-mls member ---
class TsMember {
  constructor(name, impl) {
    this.name = name;
    this.impl = impl;
    this.state = null;
  }
  async keyPackage() {
    this.kp = await generateKeyPackage(
      { credentialType: "basic", identity: te.encode(this.name) },
      defaultCapabilities(),
      defaultLifetime,
      [],
      this.impl,
    );
    return hex(encodeMlsMessage({ keyPackage: this.kp.publicPackage, wireformat: "mls_key_package", version: "mls10" }));
  }
  async join(welcomeHex, tree) {
    const w = decodeMlsMessage(unhex(welcomeHex), 0)[0];
    this.state = await joinGroup(w.welcome, this.kp.publicPackage, this.kp.privatePackage, emptyPskIndex, this.impl, tree);
  }
  info() {
    return {
      epoch: this.state.groupContext.epoch,
      auth: hex(this.state.keySchedule.epochAuthenticator),
      leaf: this.state.privatePath.leafIndex,
    };
  }
  async receive(msgHex) {
    const m = decodeMlsMessage(unhex(msgHex), 0)[0];
    if (m.wireformat !== "mls_private_message") throw new Error(`unexpected wire format ${m.wireformat}`);
    const r = await processPrivateMessage(this.state, m.privateMessage, emptyPskIndex, this.impl);
    this.state = r.newState;
    return r.kind === "applicationMessage" ? td.decode(r.message) : null;
  }
  async commit(proposals, treeExt = true) {
    const r = await createCommit(
      { state: this.state, cipherSuite: this.impl },
      { extraProposals: proposals, ratchetTreeExtension: treeExt },
    );
    this.state = r.newState;
    const commit = hex(encodeMlsMessage(r.commit));
    const welcome = r.welcome ? hex(encodeMlsMessage({ welcome: r.welcome, wireformat: "mls_welcome", version: "mls10" })) : null;
    return { commit, welcome, tree: hex(encodeRatchetTree(this.state.ratchetTree)) };
  }
  async send(text) {
    const r = await createApplicationMessage(this.state, te.encode(text), this.impl);
    this.state = r.newState;
    return hex(encodeMlsMessage({ privateMessage: r.privateMessage, wireformat: "mls_private_message", version: "mls10" }));
  }
}

function decodeKp(h) {
  return decodeMlsMessage(unhex(h), 0)[0].keyPackage;
}

class World {
  constructor(dir, suite, impl, tag) {
    this.dir = dir;
    this.suite = suite;
    this.impl = impl;
    this.tag = tag;
    this.members = [];
    this.count = 0;
  }
  newC() {
    return new CMember(this.dir, `${this.tag}-c${this.count++}`, this.suite);
  }
  newTs() {
    return new TsMember(`${this.tag}-ts${this.count++}`, this.impl);
  }
  // deliver a commit (or message) from `from` to everyone else
  async deliver(from, msgHex, except = []) {
    for (const m of this.members) {
      if (m === from || except.includes(m)) continue;
      await m.receive(msgHex);
    }
  }
  agree(what) {
    const infos = this.members.map((m) => m.info());
    const ok = infos.every((i) => i.auth === infos[0].auth && i.epoch === infos[0].epoch);
    if (!check(ok, `${what}: members disagree: ${infos.map((i) => `${i.epoch}:${i.auth.slice(0, 8)}`).join(" ")}`))
      return false;
    console.log(`ok ${what}: epoch ${infos[0].epoch}, ${this.members.length} members, ${infos[0].auth.slice(0, 16)}`);
    return true;
  }
  async messages(what) {
    // every member sends one message; every other member reads it
    for (const s of this.members) {
      const text = `${s.name} in ${what}`;
      const msg = s instanceof CMember ? s.run("send", text).message[0] : await s.send(text);
      for (const r of this.members) {
        if (r === s) continue;
        const got = r instanceof CMember ? r.receive(msg).application?.[0]?.replace(/^\d+ /, "") : await r.receive(msg);
        check(got === text, `${what}: ${r.name} reads ${s.name}'s message (got ${got})`);
      }
    }
  }
  // member c commits one operation
  async commitOp(c, op) {
    const others = this.members.filter((m) => m !== c);
    let newMember = null,
      removed = null,
      res;
    if (op === "add-c" || op === "add-ts") {
      newMember = op === "add-c" ? this.newC() : this.newTs();
      const kp = op === "add-c" ? newMember.keyPackage() : await newMember.keyPackage();
      res = c instanceof CMember ? c.run("add", kp) : await c.commit([{ proposalType: "add", add: { keyPackage: decodeKp(kp) } }], op !== "add-c" || this.count % 2 === 0);
    } else if (op === "ref-remove") {
      // a member of the other implementation proposes; the committer commits it by reference
      const proposer = others.find((m) => m instanceof CMember !== c instanceof CMember) ?? others[0];
      const cands = others.filter((m) => m !== proposer);
      removed = cands[Math.floor(cands.length / 2)];
      const leaf = removed.info().leaf;
      let prop;
      if (proposer instanceof CMember) prop = proposer.run("propose-remove", String(leaf)).proposal[0];
      else {
        const r = await createProposal(proposer.state, false, { proposalType: "remove", remove: { removed: leaf } }, this.impl);
        proposer.state = r.newState;
        prop = hex(encodeMlsMessage(r.message));
      }
      await this.deliver(proposer, prop);
      res = c instanceof CMember ? c.run("commit") : await c.commit([]);
    } else if (op === "ref-update") {
      // a C member proposes an Update of its own leaf; the committer commits it by reference
      const proposer = others.find((m) => m instanceof CMember);
      if (proposer) await this.deliver(proposer, proposer.run("propose-update").proposal[0]);
      res = c instanceof CMember ? c.run("commit") : await c.commit([]);
    } else if (op === "remove") {
      removed = others[Math.floor(others.length / 2)];
      const leaf = removed.info().leaf;
      res = c instanceof CMember ? c.run("remove", String(leaf)) : await c.commit([{ proposalType: "remove", remove: { removed: leaf } }]);
    } else {
      res = c instanceof CMember ? c.run("update") : await c.commit([]);
    }
    const commit = c instanceof CMember ? res.commit[0] : res.commit;
    const welcome = c instanceof CMember ? res.welcome?.[0] : res.welcome;
    await this.deliver(c, commit, removed ? [removed] : []);
    if (c instanceof CMember) c.run("confirm");
    if (removed) {
      // the removed member sees the commit too and learns it is out
      if (removed instanceof CMember) check(removed.receive(commit).commit?.[0]?.includes("removed"), "removed C member notices");
      this.members = this.members.filter((m) => m !== removed);
    }
    if (newMember) {
      if (newMember instanceof CMember) {
        // ts-mls Welcomes without the tree extension: pass the tree out of band
        if (c instanceof TsMember) newMember.run("join", welcome, res.tree);
        else newMember.run("join", welcome);
      } else {
        try {
          await newMember.join(welcome);
        } catch (err) {
          // ts-mls 1.6.4 requires every non-blank node on an unmerged leaf's direct path, up to
          // the root, to carry the same unmerged list as the node listing it; RFC 9420
          // §12.4.3.1 only constrains the nodes between the leaf and that node. Trees reached
          // by ordinary commits break its rule; the joiner is left out and the run goes on.
          if (!String(err).includes("non-blank intermediate node must list leaf node")) throw err;
          knownTsBug++;
          console.log(`SKIP ${newMember.name}: ts-mls rejects the RFC-valid tree (known ts-mls 1.6.4 unmerged-leaves check)`);
          return;
        }
      }
      this.members.push(newMember);
    }
  }
}

async function scenario(suite, cFirst) {
  const impl = await getCiphersuiteImpl(getCiphersuiteFromId(suite), provider);
  const dir = mkdtempSync(join(tmpdir(), "mls-interop-"));
  const tag = `s${suite}${cFirst ? "c" : "t"}`;
  const w = new World(dir, suite, impl, tag);
  try {
    let creator;
    if (cFirst) {
      creator = w.newC();
      creator.run("keypackage", creator.name);
      creator.run("create", hex(te.encode(`group-${tag}`)));
    } else {
      creator = w.newTs();
      await creator.keyPackage();
      creator.state = await createGroup(te.encode(`group-${tag}`), creator.kp.publicPackage, creator.kp.privatePackage, [], impl);
    }
    w.members.push(creator);
    await w.commitOp(creator, cFirst ? "add-ts" : "add-c");
    w.agree(`suite ${suite} ${cFirst ? "C" : "ts-mls"} creates, adds the other`);
    await w.messages("epoch 1");
    // eleven operations (an odd number): with committers alternating, each side does each kind
    const ops = ["add-c", "add-ts", "update", "add-ts", "remove", "add-c", "update", "ref-remove", "add-ts", "ref-update", "add-c"];
    for (let e = 0; e < 22; e++) {
      const cs = w.members.filter((m) => m instanceof CMember);
      const ts = w.members.filter((m) => m instanceof TsMember);
      const pool = e % 2 === 0 ? (cs.length ? cs : ts) : ts.length ? ts : cs;
      const committer = pool[e % pool.length];
      let op = ops[e % ops.length];
      if ((op === "remove" || op === "ref-remove") && w.members.length < 4) op = "update";
      await w.commitOp(committer, op);
      if (!w.agree(`suite ${suite} epoch ${e + 2}: ${committer instanceof CMember ? "C" : "ts-mls"} ${op}`)) break;
      if (e % 5 === 4) await w.messages(`epoch ${e + 2}`);
    }
  } catch (err) {
    check(false, `suite ${suite} ${cFirst ? "C-first" : "ts-first"}: ${err.stderr ? `status ${err.status} signal ${err.signal}: ${err.stderr.toString()}` : err.stack}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const suite of [1, 3]) {
  await scenario(suite, true);
  await scenario(suite, false);
}
console.log(`ts-mls joins skipped for its unmerged-leaves check: ${knownTsBug}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
