// The running daemon's control socket under hostile input: random bytes, random JSON shaped like
// requests, and oversized requests. Every answer is a well-formed protocol line (or nothing), the
// table does not change, and the daemon keeps serving: lvsadm still lists and a request through
// the VIP still succeeds.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import fc from 'fast-check';
import net from 'node:net';
import { MAX_MESSAGE_BYTES } from '../../src/control/index.js';
import { lvsadm, tcpExchange } from './lvsadm-harness.js';
import { REPLY, REQUEST, startScenario, type Scenario } from './lvsadm-scenario.js';

let sc: Scenario;
let saved = '';

beforeAll(async () => {
  sc = await startScenario();
  saved = (await lvsadm(sc.lvsd.socket, ['-S', '-n'])).stdout;
}, 30000);

afterAll(async () => {
  await sc?.stop();
});

/** Sends raw bytes (then half-closes unless `keepOpen`), returns everything read until close. */
function raw(socket: string, data: Buffer, keepOpen = false, timeoutMs = 5000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedByServer: false });
    }, timeoutMs);
    s.on('connect', () => {
      s.write(data);
      if (!keepOpen) s.end();
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    // EPIPE/ECONNRESET when the server closes while we still write a large request: fine
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') {
        clearTimeout(timer);
        reject(err);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedByServer: true });
    });
  });
}

/** Each answer line must be a protocol response: {v, id, ok} and an error code when not ok. */
function checkAnswer(text: string): void {
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const r = JSON.parse(line) as { v: number; id: number | null; ok: boolean; error?: { code: string } };
    expect(r.v).toBe(1);
    expect(typeof r.ok).toBe('boolean');
    if (!r.ok) expect(['EPARSE', 'EVERSION', 'EREQUEST', 'ETOOBIG', 'EHANDLER']).toContain(r.error?.code);
  }
}

test('random bytes: answered with protocol errors or not at all, never a crash', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 512 }), fc.boolean(), async (bytes, newline) => {
      const data = Buffer.concat([Buffer.from(bytes), Buffer.from(newline ? '\n' : '')]);
      const r = await raw(sc.lvsd.socket, data);
      expect(r.closedByServer).toBe(true);
      checkAnswer(r.text);
    }),
    { numRuns: 150 },
  );
}, 60000);

test('JSON shaped like requests, with wrong versions, ids, types and commands', async () => {
  // ops that are harmless if a random body happens to be valid; clear/delete/restore are left out
  // so that the table is known afterwards.
  const command = fc.record({
    op: fc.oneof(fc.constantFrom('add-service', 'edit-dest', 'zero', 'set-timeouts', 'nope'), fc.string()),
    service: fc.anything(), dest: fc.anything(), key: fc.anything(), timeouts: fc.anything(),
  }, { requiredKeys: ['op'] });
  const request = fc.record({
    v: fc.oneof(fc.constant(1), fc.integer(), fc.string()),
    id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string()),
    type: fc.oneof(fc.constantFrom('snapshot', 'apply'), fc.string()),
    command: command,
    options: fc.anything(),
  }, { requiredKeys: [] });
  await fc.assert(
    fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), async (reqs) => {
      const r = await raw(sc.lvsd.socket, Buffer.from(reqs.map((q) => JSON.stringify(q) + '\n').join('')));
      checkAnswer(r.text);
    }),
    { numRuns: 150 },
  );
  // whatever got through was a harmless edit that failed or a zero/set-timeouts: the rules stand
  expect((await lvsadm(sc.lvsd.socket, ['-S', '-n'])).stdout).toBe(saved);
}, 60000);

test('oversized requests: ETOOBIG and the connection closes, with or without a newline', async () => {
  const big = Buffer.alloc(MAX_MESSAGE_BYTES + 4096, 0x61);
  for (const data of [big, Buffer.concat([big, Buffer.from('\n')]), Buffer.from(`{"v":1,"id":1,"type":"snapshot","pad":"${'x'.repeat(MAX_MESSAGE_BYTES)}"}\n`)]) {
    const r = await raw(sc.lvsd.socket, data, true);
    expect(r.closedByServer).toBe(true);
    const answer = JSON.parse(r.text.trim()) as { ok: boolean; error: { code: string } };
    expect(answer.ok).toBe(false);
    expect(answer.error.code).toBe('ETOOBIG');
  }
  // many connections that never finish a line, dropped by us: nothing accumulates
  await Promise.all(Array.from({ length: 50 }, () => raw(sc.lvsd.socket, Buffer.from('{"v":1,"id":'), false, 2000)));
}, 60000);

test('afterwards the daemon still serves: lvsadm lists, the VIP answers, the log says why it refused', async () => {
  const r = await lvsadm(sc.lvsd.socket, ['-S', '-n']);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(saved);
  const through = await tcpExchange('127.0.0.1', sc.ports.tcp4, REQUEST);
  expect([REPLY.b2, REPLY.b3]).toContain(through.reply);
  const six = await tcpExchange('::1', sc.ports.tcp6, REQUEST);
  expect(six.reply).toBe(REPLY.b6);
  expect(sc.lvsd.proc.exitCode).toBeNull();
  const warnings = sc.lvsd.logs().filter((e) => e.level === 40 && typeof e.code === 'string');
  expect(new Set(warnings.map((e) => e.code))).toEqual(new Set(['EPARSE', 'EREQUEST', 'EVERSION', 'ETOOBIG']));
});
