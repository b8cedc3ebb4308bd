// Groups the C bot runs (xmtp/client/members.c) with real libxmtp users (@xmtp/node-bindings
// 1.9.1) on the dev node (build/xmtp-devnode); the bot is driven through
// build/tests/client-driver.
//
//   1. The bot creates a group (Default preset, a name and a description) and adds alice and
//      bob by inbox id in one commit.
//   2. Both join from the bot's welcomes: they see the name, description, the bot as the only
//      super admin, no admins, the Default preset, and the same members as the bot.
//   3. The bot and both users chat; each side reads the others' messages.
//   4. The bot removes bob: alice's member list equals the bot's, bob's group is inactive.
//      The bot adds carol by wallet address (an address without an inbox is reported).
//   5. alice adds a second installation: the bot's update of installations adds it (it joins
//      and reads the bot); alice revokes it: the next update removes it; libxmtp agrees.
//   6. An AdminsOnly group with an image URL: alice sees both and libxmtp refuses her add.
// Every check prints a line; the last line is "N passed, N failed".
//
// usage: node client_groups_libxmtp.mjs path/to/xmtp-devnode path/to/client-driver
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as xmtp from '@xmtp/node-bindings';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hexToBytes } from 'viem';
import { newUser as libxmtpUser, textOf } from './libxmtp_user.mjs';
import { startDevnode } from './devnode_process.mjs';

const [nodeBin, driverBin] = process.argv.slice(2).map((p) => path.resolve(p));
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? ` — ${detail}` : ''}`);
}

const node = await startDevnode(nodeBin, 'client-groups-libxmtp');
const dir = node.dir;
const botDb = path.join(dir, 'bot.db3');

function bot(...args) {
  try {
    const out = execFileSync(driverBin, ['--node', node.url, '--db', botDb, ...args], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  } catch (e) {
    throw new Error(`client-driver ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

const newUser = (name, account) => libxmtpUser(node.url, dir, name, 'client-groups-interop/1', account);

async function texts(conv) {
  await conv.sync();
  return (await conv.findMessages({ direction: 0 })).filter((m) => m.kind === 0)
    .map((m) => `${m.senderInboxId}|${textOf(m)}`);
}
const botMembers = (gid) => [...new Set(bot('members', gid).map((m) => m.inbox))].sort();
const theirMembers = async (g) => { await g.sync(); return (await g.listMembers()).map((m) => m.inboxId).sort(); };

async function main() {
  const [reg] = bot('init', generatePrivateKey());
  const alice = await newUser('alice');
  const bob = await newUser('bob');

  // 1. the bot creates the group and adds both
  const [created] = bot('create', 'default', 'bot group', 'run by a C bot');
  const gid = created.id;
  const [added] = bot('add', gid, alice.inboxId, bob.inboxId);
  check('the bot added both inboxes (one installation each)', added.inboxes_added === 2 &&
    added.installations_added === 2 && added.errors === 0, JSON.stringify(added));
  check('nothing quarantined on the bot', bot('quarantine').length === 0, JSON.stringify(bot('quarantine')));

  // 2. both join from the bot's welcomes
  const joined = {};
  for (const u of [alice, bob]) {
    await u.client.conversations().sync();
    let g = null;
    try {
      g = u.client.conversations().findGroupById(gid);
    } catch (e) {
      g = null;
    }
    joined[u.name] = g;
    check(`${u.name} joined the bot's group from its welcome`, !!g, '');
    if (!g) continue;
    await g.sync();
    check(`${u.name} sees the name and description`, g.groupName() === 'bot group' &&
      g.groupDescription() === 'run by a C bot', `${g.groupName()} / ${g.groupDescription()}`);
    check(`${u.name} sees the bot as the only super admin and no admins`,
      JSON.stringify(g.superAdminList()) === JSON.stringify([reg.inbox]) && g.adminList().length === 0,
      JSON.stringify({ supers: g.superAdminList(), admins: g.adminList() }));
    check(`${u.name} sees the Default policy preset`, g.groupPermissions().policyType() === 0,
      `${g.groupPermissions().policyType()}`);
    check(`${u.name}'s member list equals the bot's`,
      JSON.stringify(await theirMembers(g)) === JSON.stringify(botMembers(gid)),
      JSON.stringify({ theirs: await theirMembers(g), bot: botMembers(gid) }));
  }
  const ga = joined.alice;
  const gb = joined.bob;
  if (!ga || !gb) return;

  // 3. chat
  const [sent] = bot('send', gid, 'hello from the bot');
  await ga.sendText('hello from alice');
  await gb.sync();
  await gb.sendText('hello from bob');
  const [s1] = bot('sync');
  check('the bot applies both users\' commits and messages without quarantine', s1.quarantined === 0,
    JSON.stringify({ s1, q: bot('quarantine') }));
  const botTexts = bot('messages', gid).filter((m) => m.kind === 1).map((m) => `${m.sender}|${m.text}`);
  check('the bot reads alice and bob', botTexts.includes(`${alice.inboxId}|hello from alice`) &&
    botTexts.includes(`${bob.inboxId}|hello from bob`), JSON.stringify(botTexts));
  for (const [u, g] of [[alice, ga], [bob, gb]]) {
    const t = await texts(g);
    check(`${u.name} reads the bot's text from the bot's inbox id`, t.includes(`${reg.inbox}|hello from the bot`),
      JSON.stringify(t));
    const ids = (await g.findMessages({ direction: 0 })).map((m) => m.id);
    check(`${u.name}'s id for it is the bot's`, ids.includes(sent.id), sent.id);
  }
  const ta = await texts(ga);
  check('alice reads bob', ta.includes(`${bob.inboxId}|hello from bob`), JSON.stringify(ta));

  // 4. the bot removes bob
  bot('remove', gid, bob.inboxId);
  const afterBot = botMembers(gid);
  check('the bot\'s members no longer include bob', !afterBot.includes(bob.inboxId) && afterBot.length === 2,
    JSON.stringify(afterBot));
  check('alice\'s member list equals the bot\'s after the removal',
    JSON.stringify(await theirMembers(ga)) === JSON.stringify(afterBot),
    JSON.stringify({ alice: await theirMembers(ga), bot: afterBot }));
  const botRemoval = bot('messages', gid).filter((m) => m.kind === 2).pop();
  const aliceUpdates = (await ga.findMessages({ direction: 0 })).filter((m) => m.kind === 1).map((m) => m.id);
  check('the bot\'s transcript of its removal commit has the id alice\'s libxmtp gives it',
    aliceUpdates.includes(botRemoval?.id), `${botRemoval?.id} not in ${JSON.stringify(aliceUpdates)}`);
  await gb.sync();
  check('bob sees he is no longer active in the group', gb.isActive() === false, `${gb.isActive()}`);
  await ga.sendText('after the removal');
  const [s2] = bot('sync');
  const last = bot('messages', gid).filter((m) => m.kind === 1).pop();
  check('the bot reads alice after the removal', last?.text === 'after the removal' && s2.quarantined === 0,
    JSON.stringify({ last, q: bot('quarantine') }));

  // 4b. the bot adds carol by her wallet address
  const carol = await newUser('carol');
  const [byAddr] = bot('add-address', gid, carol.account.address, '0x000000000000000000000000000000000000dead');
  check('the bot added carol by address and reported the address without an inbox', byAddr.inboxes_added === 1 &&
    byAddr.errors === 1, JSON.stringify(byAddr));
  await carol.client.conversations().sync();
  let gc = null;
  try {
    gc = carol.client.conversations().findGroupById(gid);
  } catch (e) {
    gc = null;
  }
  check('carol joined from the bot\'s welcome', !!gc, '');
  if (gc) {
    check('carol\'s and alice\'s member lists equal the bot\'s', JSON.stringify(await theirMembers(gc)) ===
      JSON.stringify(botMembers(gid)) && JSON.stringify(await theirMembers(ga)) === JSON.stringify(botMembers(gid)),
    JSON.stringify({ carol: await theirMembers(gc), bot: botMembers(gid) }));
  }

  // 5. alice adds a second installation; the bot's update of installations adds it, then it is
  //    revoked and the next update removes it
  const alice2 = await newUser('alice2', alice.account);
  check('alice2 is a second installation of alice\'s inbox', alice2.inboxId === alice.inboxId, alice2.inboxId);
  bot('update-installations', gid);
  const installsOf = (rows, inbox) => rows.filter((m) => m.inbox === inbox).map((m) => m.installation).sort();
  const botAlice = installsOf(bot('members', gid), alice.inboxId);
  const alice2Id = Buffer.from(alice2.client.installationIdBytes()).toString('hex');
  check('the bot added alice\'s second installation', botAlice.length === 2 && botAlice.includes(alice2Id),
    JSON.stringify(botAlice));
  await alice2.client.conversations().sync();
  let ga2 = null;
  try {
    ga2 = alice2.client.conversations().findGroupById(gid);
  } catch (e) {
    ga2 = null;
  }
  check('alice\'s second installation joined from the bot\'s welcome', !!ga2, '');
  await ga.sync();
  const aliceView = (await ga.listMembers()).find((m) => m.inboxId === alice.inboxId);
  check('alice\'s libxmtp lists the same installations of her inbox as the bot',
    JSON.stringify([...aliceView.installationIds].sort()) === JSON.stringify(botAlice),
    JSON.stringify({ libxmtp: aliceView.installationIds, bot: botAlice }));
  const [sent2] = bot('send', gid, 'to every device');
  if (ga2) {
    const t2 = await texts(ga2);
    check('the second installation reads the bot', t2.includes(`${reg.inbox}|to every device`), JSON.stringify(t2));
  }
  check('the bot\'s text has an id', !!sent2?.id, '');
  const revoke = await alice.client.revokeInstallationsSignatureRequest([alice2.client.installationIdBytes()]);
  await revoke.addEcdsaSignature(hexToBytes(await alice.account.signMessage({ message: await revoke.signatureText() })));
  await alice.client.applySignatureRequest(revoke);
  bot('update-installations', gid);
  const afterRevoke = installsOf(bot('members', gid), alice.inboxId);
  check('after alice revokes it, the bot\'s update removes it', afterRevoke.length === 1 &&
    !afterRevoke.includes(alice2Id), JSON.stringify(afterRevoke));
  await ga.sync();
  const aliceView2 = (await ga.listMembers()).find((m) => m.inboxId === alice.inboxId);
  check('alice\'s libxmtp agrees', JSON.stringify([...aliceView2.installationIds].sort()) ===
    JSON.stringify(afterRevoke), JSON.stringify(aliceView2.installationIds));
  check('nothing quarantined on the bot so far', bot('quarantine').length === 0, JSON.stringify(bot('quarantine')));

  // 6. an AdminsOnly group with an image: alice sees the preset and may not add members
  const [strict] = bot('create', 'admins', 'strict group', 'admins only', 'https://example.com/g.png');
  bot('add', strict.id, alice.inboxId);
  await alice.client.conversations().sync();
  const gs = alice.client.conversations().findGroupById(strict.id);
  await gs.sync();
  check('alice sees the AdminsOnly preset and the image URL', gs.groupPermissions().policyType() === 1 &&
    gs.groupImageUrlSquare() === 'https://example.com/g.png',
  `${gs.groupPermissions().policyType()} ${gs.groupImageUrlSquare()}`);
  let refused = false;
  try {
    await gs.addMembersByInboxId([bob.inboxId]);
  } catch (e) {
    refused = true;
  }
  bot('sync');
  // libxmtp publishes the commit and then refuses it on its own validation; the bot refuses it too
  const q = bot('quarantine');
  check('alice\'s add in the AdminsOnly group is refused by libxmtp and by the bot; members unchanged', refused &&
    JSON.stringify(botMembers(strict.id)) === JSON.stringify([alice.inboxId, reg.inbox].sort()) &&
    q.length <= 1 && q.every((x) => x.error === 'XW_EDENIED' && x.reason.includes('not allowed to add members')),
  JSON.stringify({ refused, m: botMembers(strict.id), q }));
  check('alice\'s member list equals the bot\'s', JSON.stringify(await theirMembers(gs)) ===
    JSON.stringify(botMembers(strict.id)), JSON.stringify(await theirMembers(gs)));
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
