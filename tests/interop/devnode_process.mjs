// The real dev node (build/xmtp-devnode) for interop tests: started as a child process on a
// free port (--listen 127.0.0.1:0 --port-file) with a SQLite file in a temp directory,
// stopped with SIGTERM. `call` makes a unary gRPC call over cleartext HTTP/2 (node:http2)
// with raw protobuf bytes, so a test can read the node's stored bytes exactly as served
// and publish bytes made elsewhere (by the C side) through the node's own validation.
// `sql` runs a statement on the node's database with the sqlite3 shell (for a test that
// must plant a row the node itself would refuse).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startDevnode(bin, name = 'devnode') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const db = path.join(dir, 'node.db');
  const portFile = path.join(dir, 'port');
  const logFile = path.join(dir, 'node.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(bin, ['--listen', '127.0.0.1:0', '--db', db, '--port-file', portFile, '--log-level', 'info'],
    { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
  const end = Date.now() + 10000;
  while (!fs.existsSync(portFile) || fs.readFileSync(portFile, 'utf8').trim() === '') {
    if (child.exitCode !== null || Date.now() > end)
      throw new Error(`xmtp-devnode did not start: ${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''}`);
    await sleep(50);
  }
  const url = `http://127.0.0.1:${Number(fs.readFileSync(portFile, 'utf8').trim())}`;
  let session = null;

  // Unary call: resolves to {status, message, body (Buffer of the response message)}.
  const call = (method, reqBytes) => new Promise((resolve, reject) => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(url);
      session.on('error', () => {});
    }
    const req = session.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks = [];
    let trailers = {};
    req.on('response', (h) => { if (h['grpc-status'] !== undefined) trailers = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const all = Buffer.concat(chunks);
      const body = all.length >= 5 ? all.subarray(5, 5 + all.readUInt32BE(1)) : Buffer.alloc(0);
      resolve({ status: Number(trailers['grpc-status']), message: decodeURIComponent(trailers['grpc-message'] ?? ''), body });
    });
    const msg = Buffer.from(reqBytes);
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    req.end(frame);
  });

  const sql = (statement) => {
    const r = spawnSync('sqlite3', ['-bail', db, statement], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
    return r.stdout;
  };

  const stop = async () => {
    if (session) session.destroy();
    if (child.exitCode === null) child.kill('SIGTERM');
    const r = await Promise.race([exited, sleep(10000).then(() => null)]);
    if (!r) child.kill('SIGKILL');
    return r;
  };
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  return { url, dir, db, logFile, call, sql, stop, remove };
}

// ---- minimal protobuf (wire format) helpers ----------------------------------------------------
export function pbVarint(n) {
  let v = BigInt(n);
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
export const pbBytes = (field, bytes) => Buffer.concat([pbVarint(field * 8 + 2), pbVarint(bytes.length), Buffer.from(bytes)]);
export const pbUint = (field, n) => Buffer.concat([pbVarint(field * 8), pbVarint(n)]);

// Fields of one message: [{field, wt, value (BigInt for varints, Buffer for bytes)}].
export function pbFields(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n, s = 0n, b;
    do {
      if (i >= buf.length) throw new Error('truncated varint');
      b = buf[i++];
      v |= BigInt(b & 0x7f) << s;
      s += 7n;
    } while (b & 0x80);
    return v;
  };
  while (i < buf.length) {
    const key = varint();
    const field = Number(key >> 3n), wt = Number(key & 7n);
    if (wt === 0) out.push({ field, wt, value: varint() });
    else if (wt === 2) {
      const n = Number(varint());
      if (i + n > buf.length) throw new Error('truncated field');
      out.push({ field, wt, value: buf.subarray(i, i + n) });
      i += n;
    } else if (wt === 1) { out.push({ field, wt, value: buf.subarray(i, i + 8) }); i += 8; }
    else if (wt === 5) { out.push({ field, wt, value: buf.subarray(i, i + 4) }); i += 4; }
    else throw new Error(`wire type ${wt}`);
  }
  return out;
}
