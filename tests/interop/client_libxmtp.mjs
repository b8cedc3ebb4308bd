// The C client (xmtp/client/) against real libxmtp (@xmtp/node-bindings 1.9.1) on the dev
// node (build/xmtp-devnode): the bot is a C installation driven through
// build/tests/client-driver; alice and bob are libxmtp users.
//
//   1. The bot registers a new inbox from a wallet key; libxmtp finds it by address.
//   2. alice creates a group with the bot (by inbox id) and bob; alice and bob write.
//   3. The bot joins from the (X-Wing-wrapped) welcome and reads every message: the same
//      ids, senders and order as alice's own list, the group id and name alice sees.
//   4. alice renames the group; the bot applies the commit (name, epoch, transcript).
//   5. The bot sends text; alice and bob both read it from the bot's inbox id, with the id
//      the bot computed; the bot sees its message published.
//   6. A second group made by the bot's wallet address (createGroup with an identifier).
// Every check prints a line; the last line is "N passed, N failed".
//
// usage: node client_libxmtp.mjs path/to/xmtp-devnode path/to/client-driver
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as xmtp from '@xmtp/node-bindings';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hexToBytes } from 'viem';
import { newUser as libxmtpUser, ident, textOf, appMessages } from './libxmtp_user.mjs';
import { startDevnode } from './devnode_process.mjs';

const [nodeBin, driverBin] = process.argv.slice(2).map((p) => path.resolve(p));
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok && detail ? ` — ${detail}` : ''}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const node = await startDevnode(nodeBin, 'client-libxmtp');
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

const newUser = (name, account) => libxmtpUser(node.url, dir, name, 'client-interop/1', account);


async function main() {
  // 1. the bot registers
  const botKey = generatePrivateKey();
  const botAccount = privateKeyToAccount(botKey);
  const [reg] = bot('init', botKey);
  check('bot registered with inbox id of its wallet (nonce 1)',
    reg.inbox === xmtp.generateInboxId(ident(botAccount), 1n), JSON.stringify(reg));
  const alice = await newUser('alice');
  const bob = await newUser('bob');
  const found = await alice.client.findInboxIdByIdentifier(ident(botAccount));
  check('libxmtp finds the bot by address', found === reg.inbox, `got ${found}`);
  const st = await alice.client.getLatestInboxState(reg.inbox);
  const installs = st.installations.map((i) => Buffer.from(i.bytes).toString('hex'));
  check('libxmtp sees the bot installation in its inbox state', installs.includes(reg.installation),
    JSON.stringify(installs));

  // 2. a group with the bot and bob; alice and bob write
  const group = await alice.client.conversations().createGroupByInboxId([reg.inbox, bob.inboxId]);
  await group.updateGroupName('interop group');
  await group.sendText('hello from alice');
  await bob.client.conversations().sync();
  const bobGroup = bob.client.conversations().findGroupById(group.id());
  await bobGroup.sync();
  await bobGroup.sendText('hello from bob');
  await group.sync();
  await group.sendText('third, from alice');
  // other content types: a reaction (reaction:2.0), a reply and an attachment
  const first = (await appMessages(group))[0];
  await bobGroup.sync();
  await bobGroup.sendReaction({ reference: first.id, referenceInboxId: alice.inboxId, action: 1, content: '👍',
    schema: 1 });
  await group.sync();
  await group.sendReply({ content: xmtp.encodeText('a reply'), reference: first.id, referenceInboxId: alice.inboxId });
  await group.sendAttachment({ filename: 'a.txt', mimeType: 'text/plain', content: new TextEncoder().encode('file') });

  // 3. the bot joins and reads
  const [s1] = bot('sync');
  check('bot joined one group from its welcome', s1.joined === 1, JSON.stringify(s1));
  const wraps = node.sql(`SELECT wrapper_algorithm, is_pointer, length(hpke_public_key) FROM welcome_messages
    WHERE hex(installation_key) = upper('${reg.installation}')`).trim();
  check('libxmtp wrapped the bot\'s welcome with X-Wing (algorithm 2, 1216-byte key, no pointer)', wraps === '2|0|1216',
    wraps);
  check('nothing quarantined', s1.quarantined === 0, JSON.stringify(bot('quarantine')));
  const groups = bot('groups');
  check('bot group id is alice\'s', groups.length === 1 && groups[0].id === group.id(), JSON.stringify(groups));
  check('bot sees the group name', groups[0]?.name === 'interop group', groups[0]?.name);
  check('bot group is pending, consent unknown, added by alice', groups[0]?.membership === 3 &&
    groups[0]?.consent === 0 && groups[0]?.added_by === alice.inboxId, JSON.stringify(groups[0]));
  const aliceMsgs = await appMessages(group);
  const botMsgs = bot('messages', group.id()).filter((m) => m.kind === 1);
  const typeOf = (m) => { const t = m.content.type; return `${t.authorityId}/${t.typeId}:${t.versionMajor}.${t.versionMinor}`; };
  const a = aliceMsgs.map((m) => `${m.id}|${m.senderInboxId}|${typeOf(m)}|${textOf(m) ?? m.content.fallback ?? ''}`);
  const b = botMsgs.map((m) => `${m.id}|${m.sender}|${m.type}|${m.text ?? ''}`);
  console.log(`     alice's list: ${JSON.stringify(a.map((x) => x.split('|').slice(2).join('|')))}`);
  check('bot reads the same messages (ids, senders, types, texts or fallbacks, order) as alice',
    JSON.stringify(a) === JSON.stringify(b), `alice ${JSON.stringify(a)}\n       bot   ${JSON.stringify(b)}`);
  check('six messages: three texts, a reaction, a reply, an attachment', b.length === 6 &&
    ['xmtp.org/reaction:2.0', 'xmtp.org/reply:1.0', 'xmtp.org/attachment:1.0'].every((t) => botMsgs.some((m) => m.type === t)),
  JSON.stringify(botMsgs.map((m) => m.type)));
  const transcripts = bot('messages', group.id()).filter((m) => m.kind === 2);
  check('bot stored its "added" transcript from alice', transcripts.length >= 1 &&
    transcripts[0].sender === alice.inboxId && transcripts[0].type === 'xmtp.org/group_updated:1.0',
  JSON.stringify(transcripts));

  // 4. a commit by alice
  await group.updateGroupName('renamed by alice');
  await group.sendText('after the rename');
  const [s2] = bot('sync');
  const g2 = bot('groups')[0];
  check('bot applied alice\'s rename commit', g2.name === 'renamed by alice' && g2.epoch > groups[0].epoch &&
    s2.commits >= 1, JSON.stringify({ s2, g2 }));
  const last = bot('messages', group.id()).filter((m) => m.kind === 1).pop();
  check('bot reads the message after the commit', last?.text === 'after the rename', JSON.stringify(last));
  const rename = bot('messages', group.id()).filter((m) => m.kind === 2).pop();
  const aliceUpdates = (await group.findMessages({ direction: 0 })).filter((m) => m.kind === 1);
  check('bot\'s rename transcript has libxmtp\'s id', aliceUpdates.some((m) => m.id === rename?.id),
    `${rename?.id} not in ${JSON.stringify(aliceUpdates.map((m) => m.id))}`);
  check('nothing quarantined after the commit', s2.quarantined === 0, JSON.stringify(bot('quarantine')));

  // 4b. more commits by alice; after each, the bot's view equals alice's
  const carol = await newUser('carol');
  const steps = [
    ['alice makes bob an admin', () => group.addAdmin(bob.inboxId)],
    ['alice sets a description', () => group.updateGroupDescription('a test group')],
    ['alice adds carol', () => group.addMembersByInboxId([carol.inboxId])],
    ['alice makes carol a super admin', () => group.addSuperAdmin(carol.inboxId)],
    ['alice removes bob as admin', () => group.removeAdmin(bob.inboxId)],
    ['alice removes carol as super admin', () => group.removeSuperAdmin(carol.inboxId)],
    ['alice removes carol', () => group.removeMembersByInboxId([carol.inboxId])],
  ];
  for (const [what, step] of steps) {
    await step();
    await group.sync();
    const [s] = bot('sync');
    const g = bot('groups').find((x) => x.id === group.id());
    const members = [...new Set(bot('members', group.id()).map((m) => m.inbox))].sort();
    const aliceMembers = (await group.listMembers()).map((m) => m.inboxId).sort();
    const split = (t) => (t ? t.split(' ').sort() : []);
    const same = JSON.stringify(members) === JSON.stringify(aliceMembers) &&
      JSON.stringify(split(g.admins)) === JSON.stringify([...group.adminList()].sort()) &&
      JSON.stringify(split(g.super_admins)) === JSON.stringify([...group.superAdminList()].sort()) &&
      g.name === group.groupName() && g.description === group.groupDescription();
    check(`${what}: the bot's members, admins, super admins, name, description equal alice's`, same &&
      s.quarantined === 0, JSON.stringify({ g, members, aliceMembers, admins: group.adminList(),
        supers: group.superAdminList(), q: bot('quarantine') }));
    const mine = bot('messages', group.id()).filter((m) => m.kind === 2).pop();
    const theirs = (await group.findMessages({ direction: 0 })).filter((m) => m.kind === 1).map((m) => m.id);
    check(`${what}: the bot's transcript has libxmtp's id`, theirs.includes(mine?.id), `${mine?.id}`);
  }

  // 5. the bot sends
  const [sent] = bot('send', group.id(), 'hello from the bot');
  const aliceAfter = await appMessages(group);
  const fromBot = aliceAfter.filter((m) => m.senderInboxId === reg.inbox);
  check('alice reads the bot\'s text from the bot\'s inbox id', fromBot.length === 1 &&
    textOf(fromBot[0]) === 'hello from the bot', JSON.stringify(fromBot.map(textOf)));
  check('alice\'s id for it is the bot\'s', fromBot[0]?.id === sent.id, `${fromBot[0]?.id} vs ${sent.id}`);
  const bobAfter = await appMessages(bobGroup);
  const bobFromBot = bobAfter.filter((m) => m.senderInboxId === reg.inbox);
  check('bob reads it too', bobFromBot.length === 1 && textOf(bobFromBot[0]) === 'hello from the bot' &&
    bobFromBot[0].id === sent.id, JSON.stringify(bobFromBot.map(textOf)));
  bot('sync');
  const mine = bot('messages', group.id()).find((m) => m.id === sent.id);
  check('bot sees its message published (delivery 2)', mine?.delivery === 2 && mine.cursor > 0, JSON.stringify(mine));
  const a2 = (await appMessages(group)).map((m) => m.id);
  const b2 = bot('messages', group.id()).filter((m) => m.kind === 1).map((m) => m.id);
  check('both sides list the same messages in the same order', JSON.stringify(a2) === JSON.stringify(b2),
    `alice ${JSON.stringify(a2)}\n       bot   ${JSON.stringify(b2)}`);

  // 6. a group made with the bot's wallet address
  const g3 = await bob.client.conversations().createGroup([ident(botAccount)]);
  await g3.sendText('by address');
  const [s3] = bot('sync');
  check('bot joins a group made with its address', s3.joined === 1, JSON.stringify(s3));
  const m3 = bot('messages', g3.id()).filter((m) => m.kind === 1);
  const b3 = (await appMessages(g3)).map((m) => `${m.id}|${m.senderInboxId}`);
  check('and reads bob\'s message with libxmtp\'s id', JSON.stringify(m3.map((m) => `${m.id}|${m.sender}`)) ===
    JSON.stringify(b3), JSON.stringify({ bot: m3, bob: b3 }));

  // 7. a DM from bob
  const dm = await bob.client.conversations().createDmByInboxId(reg.inbox);
  await dm.sendText('a direct message');
  const [s4] = bot('sync');
  const dmRow = bot('groups').find((g) => g.id === dm.id());
  check('bot joins bob\'s DM (validated as a DM)', s4.joined === 1 && !!dmRow && s4.quarantined === 0,
    JSON.stringify({ s4, q: bot('quarantine') }));
  const dmMsgs = bot('messages', dm.id()).filter((m) => m.kind === 1);
  const bobDm = (await appMessages(dm)).map((m) => `${m.id}|${m.senderInboxId}`);
  check('and reads it with libxmtp\'s id', JSON.stringify(dmMsgs.map((m) => `${m.id}|${m.sender}`)) ===
    JSON.stringify(bobDm), JSON.stringify({ bot: dmMsgs, bob: bobDm }));
  const [dmSent] = bot('send', dm.id(), 'a direct answer');
  const bobDmAfter = await appMessages(dm);
  check('bob reads the bot\'s DM answer', bobDmAfter.some((m) => m.id === dmSent.id && m.senderInboxId === reg.inbox &&
    textOf(m) === 'a direct answer'), JSON.stringify(bobDmAfter.map(textOf)));

  // 8. alice removes the bot: its group becomes inactive and sending is refused
  await group.removeMembersByInboxId([reg.inbox]);
  const [s5] = bot('sync');
  const gone = bot('groups').find((g) => g.id === group.id());
  check('bot sees it was removed: group inactive', gone && gone.active === false && s5.quarantined === 0,
    JSON.stringify({ gone, q: bot('quarantine') }));
  let refused = '';
  try {
    bot('send', group.id(), 'should not go');
  } catch (e) {
    refused = String(e.message);
  }
  check('a send to it is refused with a clear error', refused.includes('no longer a member'), refused);
  const aliceEnd = await appMessages(group);
  check('nothing reached alice', !aliceEnd.some((m) => textOf(m) === 'should not go'), '');
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
