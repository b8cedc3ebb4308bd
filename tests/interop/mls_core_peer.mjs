// Interop peer for the mls/ core (tests/interop/mls_core_interop.sh): ts-mls (pinned in
// package.json) plays Alice and Bob in a two-member group of cipher suite 1.
//   node mls_core_peer.mjs make OUT.json   Alice protects application messages and a
//                                           proposal; Bob's epoch view (group context,
//                                           sender-data secret, membership key, ratchet
//                                           secrets, his signature key) is written for C.
//   node mls_core_peer.mjs check IN.json   Alice (restored) processes the messages C protected
//                                           as Bob and prints "N passed, N failed".
import {
  createApplicationMessage, createCommit, createGroup, createProposal, joinGroup, processPrivateMessage,
  processPublicMessage, getCiphersuiteImpl, getCiphersuiteFromName, defaultCapabilities, defaultLifetime,
  emptyPskIndex, generateKeyPackage, encodeMlsMessage, decodeMlsMessage, encodeGroupState, decodeGroupState,
  acceptAll,
} from "ts-mls";
import { encodeGroupContext } from "ts-mls/groupContext.js";
import { defaultClientConfig } from "ts-mls/clientConfig.js";
import { readFileSync, writeFileSync } from "node:fs";

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const text = (s) => new TextEncoder().encode(s);
const impl = await getCiphersuiteImpl(getCiphersuiteFromName("MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519"));

async function make(out) {
  const alice = await generateKeyPackage({ credentialType: "basic", identity: text("alice") }, defaultCapabilities(), defaultLifetime, [], impl);
  const bob = await generateKeyPackage({ credentialType: "basic", identity: text("bob") }, defaultCapabilities(), defaultLifetime, [], impl);
  let aliceGroup = await createGroup(text("interop-group"), alice.publicPackage, alice.privatePackage, [], impl);
  const commit = await createCommit({ state: aliceGroup, cipherSuite: impl }, { extraProposals: [{ proposalType: "add", add: { keyPackage: bob.publicPackage } }] });
  aliceGroup = commit.newState;
  const bobGroup = await joinGroup(commit.welcome, bob.publicPackage, bob.privatePackage, emptyPskIndex, impl, aliceGroup.ratchetTree);
  // Bob's view of the epoch, before any message of it
  const st = bobGroup.secretTree;
  const leaves = st.map((n) => ({
    handshake: { secret: hex(n.handshake.secret), generation: n.handshake.generation },
    application: { secret: hex(n.application.secret), generation: n.application.generation },
  }));
  const sigKeys = bobGroup.ratchetTree.filter((n, i) => i % 2 === 0).map((n) => (n && n.nodeType === "leaf" ? hex(n.leaf.signaturePublicKey) : null));
  const messages = [];
  for (const t of ["hello from ts-mls", "", "a third message, a little longer than the others: " + "x".repeat(150)]) {
    const r = await createApplicationMessage(aliceGroup, text(t), impl);
    aliceGroup = r.newState;
    messages.push({ kind: "application", text: hex(text(t)), message: hex(encodeMlsMessage({ privateMessage: r.privateMessage, wireformat: "mls_private_message", version: "mls10" })) });
  }
  const prop = await createProposal(aliceGroup, true, { proposalType: "remove", remove: { removed: 1 } }, impl);
  aliceGroup = prop.newState;
  messages.push({ kind: "proposal", message: hex(encodeMlsMessage(prop.message)) });
  writeFileSync(out, JSON.stringify({
    cipher_suite: 1,
    group_context: hex(encodeGroupContext(bobGroup.groupContext)),
    sender_data_secret: hex(bobGroup.keySchedule.senderDataSecret),
    membership_key: hex(bobGroup.keySchedule.membershipKey),
    leaves,
    signature_keys: sigKeys,
    bob_leaf: 1,
    bob_signature_priv: hex(bobGroup.signaturePrivateKey),
    alice_state: hex(encodeGroupState(aliceGroup)),
    messages,
  }, null, 1));
}

async function check(file) {
  const j = JSON.parse(readFileSync(file, "utf8"));
  let alice = decodeGroupState(unhex(j.alice_state), 0)[0];
  alice = { ...alice, clientConfig: defaultClientConfig }; // not part of the encoded state
  let pass = 0, fail = 0;
  for (const m of j.replies) {
    try {
      const decoded = decodeMlsMessage(unhex(m.message), 0)[0];
      if (decoded.wireformat !== "mls_private_message") throw new Error("not a PrivateMessage");
      const r = await processPrivateMessage(alice, decoded.privateMessage, emptyPskIndex, impl, acceptAll);
      alice = r.newState;
      if (r.kind !== "applicationMessage") throw new Error("not an application message: " + r.kind);
      if (hex(r.message) !== m.text) throw new Error("plaintext differs");
      pass++;
    } catch (e) {
      console.log(`FAIL reply ${m.text.slice(0, 16)}: ${e.message}`);
      fail++;
    }
  }
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(fail ? 1 : 0);
}

const [mode, file] = process.argv.slice(2);
if (mode === "make") await make(file);
else if (mode === "check") await check(file);
else { console.error("usage: node mls_core_peer.mjs make|check FILE"); process.exit(2); }
