// A minimal in-process stand-in for an XMTP v3 node, just enough for libxmtp 1.9.1 to
// register an inbox and change its associations: GetInboxIds, UploadKeyPackage,
// PublishIdentityUpdate (stored in a per-inbox log) and GetIdentityUpdates (served from
// that log). gRPC over cleartext HTTP/2 with Node's http2 module; messages are encoded
// with protobufjs from this repository's proto/ files. It validates nothing: the tests
// use it to capture what libxmtp publishes and to hand it back.
import http2 from 'node:http2';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');
const root = new protobuf.Root();
const protoDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');
root.resolvePath = (origin, target) => path.join(protoDir, target);
root.loadSync(['identity/api/v1/identity.proto', 'mls/api/v1/mls.proto'], { keepCase: false });
const T = (n) => root.lookupType(n);

export function startFakeNode() {
  const logs = new Map(); // inbox id -> [{sequenceId, serverTimestampNs, update (object), bytes}]
  const byIdentifier = new Map();
  const published = []; // {inboxId, bytes}
  const unknown = [];
  let seq = 0;
  const handlers = {
    '/xmtp.identity.api.v1.IdentityApi/GetInboxIds': (req) => {
      const m = T('xmtp.identity.api.v1.GetInboxIdsRequest').decode(req);
      return T('xmtp.identity.api.v1.GetInboxIdsResponse').encode({
        responses: m.requests.map((r) => ({ identifier: r.identifier, identifierKind: r.identifierKind, ...(byIdentifier.has(r.identifier.toLowerCase()) ? { inboxId: byIdentifier.get(r.identifier.toLowerCase()) } : {}) })),
      }).finish();
    },
    '/xmtp.mls.api.v1.MlsApi/UploadKeyPackage': () => new Uint8Array(),
    '/xmtp.identity.api.v1.IdentityApi/PublishIdentityUpdate': (req) => {
      const m = T('xmtp.identity.api.v1.PublishIdentityUpdateRequest').decode(req);
      const u = m.identityUpdate;
      // the exact bytes libxmtp sent: the update is field 1 of the request
      const raw = extractField1(req);
      published.push({ inboxId: u.inboxId, bytes: raw });
      if (!logs.has(u.inboxId)) logs.set(u.inboxId, []);
      logs.get(u.inboxId).push({ sequenceId: ++seq, serverTimestampNs: Date.now() * 1e6, update: u, bytes: raw });
      for (const a of u.actions) {
        if (a.createInbox) byIdentifier.set(a.createInbox.initialIdentifier.toLowerCase(), u.inboxId);
      }
      return new Uint8Array();
    },
    '/xmtp.identity.api.v1.IdentityApi/GetIdentityUpdates': (req) => {
      const m = T('xmtp.identity.api.v1.GetIdentityUpdatesRequest').decode(req);
      return T('xmtp.identity.api.v1.GetIdentityUpdatesResponse').encode({
        responses: m.requests.map((r) => ({
          inboxId: r.inboxId,
          updates: (logs.get(r.inboxId) || []).filter((e) => e.sequenceId > Number(r.sequenceId || 0)).map((e) => ({ sequenceId: e.sequenceId, serverTimestampNs: e.serverTimestampNs, update: e.update })),
        })),
      }).finish();
    },
  };
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const p = headers[':path'];
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const h = handlers[p];
      if (!h) {
        unknown.push(p);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '12', 'grpc-message': 'unimplemented' }));
        stream.end();
        return;
      }
      const msg = body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : Buffer.alloc(0);
      const out = Buffer.from(h(msg));
      const frame = Buffer.alloc(5 + out.length);
      frame.writeUInt32BE(out.length, 1);
      out.copy(frame, 5);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame);
    });
  });
  // Appends update bytes made elsewhere (by the C side) to an inbox log.
  const inject = (inboxId, bytes) => {
    const update = T('xmtp.identity.associations.IdentityUpdate').decode(bytes);
    if (!logs.has(inboxId)) logs.set(inboxId, []);
    logs.get(inboxId).push({ sequenceId: ++seq, serverTimestampNs: Date.now() * 1e6, update, bytes: new Uint8Array(bytes) });
  };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`, published, unknown, logs, inject,
    close: () => new Promise((r) => { server.close(() => r()); for (const s of server._sessions || []) s.destroy(); }),
  })));
}

// Field 1 (length-delimited) of a protobuf message, as raw bytes.
function extractField1(buf) {
  let i = 0;
  const varint = () => { let v = 0, s = 0, b; do { b = buf[i++]; v += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return v; };
  while (i < buf.length) {
    const key = varint(), wt = key & 7, field = Math.floor(key / 8);
    if (wt === 2) { const n = varint(); if (field === 1) return new Uint8Array(buf.subarray(i, i + n)); i += n; }
    else if (wt === 0) varint(); else if (wt === 1) i += 8; else if (wt === 5) i += 4; else break;
  }
  return new Uint8Array();
}
