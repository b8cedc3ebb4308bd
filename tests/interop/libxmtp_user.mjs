// Real libxmtp users (@xmtp/node-bindings 1.9.1) for the interop suites and benches: an
// inbox registered on a node with a fresh (or given) wallet, and the readers every suite uses.
import path from 'node:path';
import * as xmtp from '@xmtp/node-bindings';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { hexToBytes } from 'viem';

// An Ethereum identifier as libxmtp takes it, from an address or a viem account.
export const ident = (who) => ({ identifier: (who.address ?? who).toLowerCase(), identifierKind: 0 });

// A registered libxmtp client named `name`, its database in dir; another installation of
// the same inbox when an account is given again.
export async function newUser(nodeUrl, dir, name, appVersion, account = privateKeyToAccount(generatePrivateKey())) {
  const user = { name, account, dbPath: path.join(dir, `${name}.db3`) };
  user.inboxId = xmtp.generateInboxId(ident(account), 1n);
  user.client = await xmtp.createClient(nodeUrl, null, false, user.dbPath, user.inboxId, ident(account), undefined,
    null, 'Disabled', { level: 'Off' }, false, appVersion, 1n);
  const req = await user.client.createInboxSignatureRequest();
  if (req) {
    const text = await req.signatureText();
    await req.addEcdsaSignature(hexToBytes(await account.signMessage({ message: text })));
    await user.client.registerIdentity(req);
  }
  return user;
}

// The text of a text message, or null.
export const textOf = (m) => (m.content?.type?.typeId === 'text' ? new TextDecoder().decode(m.content.content) : null);

// A conversation's application messages, oldest first, after a sync.
export async function appMessages(conv) {
  await conv.sync();
  return (await conv.findMessages({ direction: 0 })).filter((m) => m.kind === 0);
}
