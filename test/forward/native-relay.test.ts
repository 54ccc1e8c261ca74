// The native relay's own faults: the record reader against arbitrary bytes, the helper against
// bad records from us, a helper that dies (its connections are closed in the table, it is
// restarted and serves again), and a listen that fails. Real helper processes, real sockets.
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import net from 'node:net';
import fc from 'fast-check';
import { createTable } from '../../src/ipvs/index.js';
import { ProxyEngine, type ProxyEngineEvent } from '../../src/forward/proxy/index.js';
import { relayHelperPath } from '../../src/forward/proxy/native-relay.js';
import {
  encodeKill, encodeListen, encodePick, HelperRecordReader, OUT_REC, RecordBatch, RelayProtocolError, type HelperRecord,
} from '../../src/forward/proxy/relay-protocol.js';
import { connectLine, echoBackend, RELAYS, until } from './helpers.js';

const VIP = '127.0.0.22';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A well-formed END record for conn `id` (what the helper sends). */
function endRecord(id: number, reason: number, inBytes: number): Buffer {
  const b = Buffer.alloc(OUT_REC);
  b[0] = 5;
  b[1] = reason;
  b.writeUInt32LE(id, 4);
  b.writeUInt32LE(1, 8);
  b.writeBigUInt64LE(BigInt(inBytes), 16);
  return b;
}

describe('record reader', () => {
  test('arbitrary bytes never throw; every whole record is either read or counted as malformed', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
      const r = new HelperRecordReader();
      let n = 0;
      for (const c of chunks) n += r.push(Buffer.from(c)).length;
      const total = chunks.reduce((s, c) => s + c.length, 0);
      expect(n + r.malformed).toBe(Math.floor(total / OUT_REC));
    }));
  });

  test('a stream cut anywhere reads back the same records; a bad record is skipped, not the stream', () => {
    const stream = Buffer.concat([endRecord(7, 1, 100), Buffer.alloc(OUT_REC, 0xee), endRecord(8, 6, 5)]);
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 6 }), (cuts) => {
      const at = [0, ...[...new Set(cuts)].sort((a, b) => a - b), stream.length];
      const r = new HelperRecordReader();
      const got: HelperRecord[] = [];
      for (let i = 1; i < at.length; i++) got.push(...r.push(stream.subarray(at[i - 1], at[i])));
      expect(got).toEqual([
        { type: 'end', conn: 7, reason: 'closed', inPkts: 1, outPkts: 0, inBytes: 100, outBytes: 0 },
        { type: 'end', conn: 8, reason: 'backend-reset', inPkts: 1, outPkts: 0, inBytes: 5, outBytes: 0 },
      ]);
      expect(r.malformed).toBe(1);
    }));
  });

  test('an END carries the state entered just before it (one record instead of STATE + END)', () => {
    const folded = endRecord(9, 6, 300);
    folded.writeUInt16LE(5, 2); // CLOSE
    folded.writeUInt32LE(1, 20); // 2^32 + 300 bytes in: no precision lost below 2^53
    const badState = endRecord(10, 1, 0);
    badState.writeUInt16LE(42, 2);
    const r = new HelperRecordReader();
    expect(r.push(Buffer.concat([folded, badState, endRecord(11, 1, 7)]))).toEqual([
      { type: 'end', conn: 9, reason: 'backend-reset', state: 'CLOSE', inPkts: 1, outPkts: 0, inBytes: 2 ** 32 + 300, outBytes: 0 },
      { type: 'end', conn: 11, reason: 'closed', inPkts: 1, outPkts: 0, inBytes: 7, outBytes: 0 },
    ]);
    expect(r.malformed).toBe(1);
  });

  test('a batch of picks is byte for byte the records encodePick gives; a bad one leaves the batch as it was', () => {
    const target = fc.record({
      addr: fc.oneof(fc.ipV4(), fc.ipV6()), port: fc.integer({ min: 1, max: 65535 }),
    });
    const pick = fc.tuple(fc.nat(), fc.nat(), fc.option(target), fc.option(fc.uint8Array({ maxLength: 120 })));
    fc.assert(fc.property(fc.array(pick, { maxLength: 300 }), (picks) => {
      const batch = new RecordBatch();
      const want: Buffer[] = [];
      for (const [slot, conn, t, h] of picks) {
        const header = h ? Buffer.from(h) : null;
        batch.pick(slot, conn, t, header);
        want.push(encodePick(slot, conn, t, header));
      }
      expect(() => batch.pick(1, 2, { addr: 'not-an-address', port: 1 }, null)).toThrow(RelayProtocolError);
      expect(() => batch.pick(1, 2, null, Buffer.alloc(513))).toThrow(RelayProtocolError);
      batch.append(encodeKill(3, 4));
      want.push(encodeKill(3, 4));
      expect(batch.take().equals(Buffer.concat(want))).toBe(true);
      expect(batch.length).toBe(0);
      // once written, the same memory takes the next batch
      batch.written();
      for (const [slot, conn, t] of picks) batch.pick(slot, conn, t, null);
      expect(batch.take().equals(Buffer.concat(picks.map(([slot, conn, t]) => encodePick(slot, conn, t, null))))).toBe(true);
    }), { numRuns: 50 });
  });

  test('encoders refuse what the helper could not take', () => {
    expect(() => encodePick(1, 2, { addr: 'example.com', port: 80 }, null)).toThrow(RelayProtocolError);
    expect(() => encodePick(1, 2, { addr: '127.0.0.1', port: 80 }, Buffer.alloc(513))).toThrow(RelayProtocolError);
    expect(encodePick(1, 2, { addr: '2001:db8::1', port: 80 }, Buffer.from('PROXY'))).toHaveLength(32 + 5);
  });
});

const native = RELAYS.includes('native');
if (!native) console.log('native relay helper tests skipped: the helper does not build here (see above)');
const nativeDescribe = native ? describe : describe.skip;

nativeDescribe('the helper process', () => {
  /** Runs the helper with the given input; its exit code and the records it wrote. */
  async function runHelper(input: Buffer[]): Promise<{ code: number | null; records: HelperRecord[]; malformed: number }> {
    const p = spawn(relayHelperPath(), ['1000'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const reader = new HelperRecordReader();
    const records: HelperRecord[] = [];
    p.stdout.on('data', (d: Buffer) => records.push(...reader.push(d)));
    for (const b of input) p.stdin.write(b);
    p.stdin.end();
    // 'close', not 'exit': the exit can be seen before the last of its output is read
    const code = await new Promise<number | null>((r) => p.once('close', r));
    return { code, records, malformed: reader.malformed };
  }

  test('an unknown record type is answered with an error; stale kills and picks are ignored', async () => {
    const unknown = Buffer.alloc(32);
    unknown[0] = 99;
    const r = await runHelper([unknown, encodeKill(5, 9), encodePick(3, 4, { addr: '127.0.0.1', port: 1 }, null)]);
    expect(r.code).toBe(0);
    expect(r.records).toEqual([{ type: 'error', what: 1, errno: 22 }]);
    expect(r.malformed).toBe(0);
  });

  test('a header length it cannot trust ends the helper (exit 3) after saying so', async () => {
    const bad = Buffer.alloc(32);
    bad[0] = 3;
    bad.writeUInt16LE(60000, 12);
    const r = await runHelper([bad]);
    expect(r.code).toBe(3);
    expect(r.records).toEqual([{ type: 'error', what: 1, errno: 22 }]);
  });

  test('one connection\'s records: ACCEPT, ESTABLISHED, FIN_WAIT, then TIME_WAIT folded into the END', async () => {
    const b = await echoBackend('127.0.0.1', 'rs1');
    cleanups.push(() => b.close());
    const p = spawn(relayHelperPath(), ['1000'], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(() => {
      p.stdin.end();
    });
    const reader = new HelperRecordReader();
    const records: HelperRecord[] = [];
    p.stdout.on('data', (d: Buffer) => records.push(...reader.push(d)));
    const port = 18096;
    p.stdin.write(encodeListen(1, VIP, port, 16));
    await until(() => records.length === 1, 2000, 'listening');
    expect(records[0]).toEqual({ type: 'listen', listener: 1, errno: 0 });
    const client = net.connect({ host: VIP, port, allowHalfOpen: true });
    client.on('error', () => undefined);
    await until(() => records.length === 2, 2000, 'accept');
    const acc = records[1]!;
    expect(acc).toMatchObject({ type: 'accept', listener: 1, addr: '127.0.0.1', port: client.localPort });
    p.stdin.write(encodePick((acc as { slot: number }).slot, 77, { addr: b.addr, port: b.port }, null));
    let got = '';
    client.setEncoding('utf8');
    client.on('data', (d: string) => (got += d));
    await until(() => got === 'rs1\n', 2000, 'greeting');
    client.end('abc'); // the backend answers "abc", "bye 3" and ends
    await until(() => records.some((r) => r.type === 'end'), 2000, 'end');
    client.destroy();
    const life = records.slice(2).filter((r) => r.type !== 'traffic');
    // the client's FIN reaches the helper first (FIN_WAIT), then the backend's: TIME_WAIT, folded
    expect(life.map((r) => (r.type === 'state' ? r.state : r.type === 'end' ? `end ${r.reason} ${r.state}` : r.type)))
      .toEqual(['ESTABLISHED', 'FIN_WAIT', 'end closed TIME_WAIT']);
    const bytes = records.reduce((s, r) => (r.type === 'traffic' || r.type === 'end' ? s + r.inBytes : s), 0);
    expect(bytes).toBe(3);
    expect(reader.malformed).toBe(0);
  });

  test('a request and FIN that arrive while the real server is still connecting are relayed whole once it connects', async () => {
    // The client socket is watched (edge-triggered) from the pick on, while the connect is under
    // way: what it reports then must be kept and acted on once the connect completes. The real
    // server's accept queue is kept full (its process blocked) so the connect's SYN is dropped
    // and only the retransmission a second later completes it.
    const server = spawn(process.execPath, ['-e', `
      const net = require('node:net');
      const s = net.createServer({ allowHalfOpen: true }, (c) => {
        let n = 0;
        c.on('error', () => undefined);
        c.write('rs3\\n');
        c.on('data', (d) => { n += d.length; c.write(d); });
        c.on('end', () => c.end('bye ' + n + '\\n'));
      });
      s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => process.stdout.write(s.address().port + '\\n'));
      process.stdin.on('data', () => {
        process.stdout.write('blocked\\n'); // a pipe: written before the wait starts
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
      });
    `], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(() => {
      server.kill('SIGKILL');
    });
    const backendPort = await new Promise<number>((r) => server.stdout.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
    const p = spawn(relayHelperPath(), ['5000'], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(() => {
      p.stdin.end();
    });
    const reader = new HelperRecordReader();
    const records: HelperRecord[] = [];
    p.stdout.on('data', (d: Buffer) => records.push(...reader.push(d)));
    const port = 18097;
    p.stdin.write(encodeListen(1, VIP, port, 16));
    await until(() => records.length === 1, 2000, 'listening');
    const client = net.connect({ host: VIP, port, allowHalfOpen: true });
    client.on('error', () => undefined);
    let got = '';
    let ended = false;
    client.setEncoding('utf8');
    client.on('data', (d: string) => (got += d));
    client.on('end', () => (ended = true));
    await until(() => records.length === 2, 2000, 'accept');
    // block the real server, then fill its accept queue (backlog 1: two entries)
    const blocked = new Promise((r) => server.stdout.once('data', r));
    server.stdin.write('block\n');
    await blocked;
    const fillers = [net.connect({ host: '127.0.0.1', port: backendPort }), net.connect({ host: '127.0.0.1', port: backendPort })];
    for (const f of fillers) f.on('error', () => undefined);
    cleanups.push(() => fillers.forEach((f) => f.destroy()));
    await Promise.all(fillers.map((f) => new Promise((r) => {
      f.once('connect', r);
      f.once('error', r);
    })));
    p.stdin.write(encodePick((records[1] as { slot: number }).slot, 78, { addr: '127.0.0.1', port: backendPort }, null));
    await new Promise((r) => setTimeout(r, 100)); // connecting; now the client speaks and ends
    expect(records.some((r) => r.type === 'state')).toBe(false);
    client.end('early bytes');
    await until(() => ended, 4000, 'the relayed answer');
    expect(got).toBe('rs3\nearly bytesbye 11\n'); // greeting, the echo, the answer to the FIN
    await until(() => records.some((r) => r.type === 'end'), 2000, 'end');
    client.destroy();
    const life = records.slice(2).filter((r) => r.type !== 'traffic');
    expect(life[0]).toEqual({ type: 'state', conn: 78, state: 'ESTABLISHED' });
    expect(life[life.length - 1]).toMatchObject({ type: 'end', reason: 'closed', state: 'TIME_WAIT' });
    const inBytes = records.reduce((s, r) => (r.type === 'traffic' || r.type === 'end' ? s + r.inBytes : s), 0);
    expect(inBytes).toBe(11);
  });

  test('listen reports the errno of a port already taken', async () => {
    const s = net.createServer();
    await new Promise<void>((res) => s.listen(0, VIP, () => res()));
    cleanups.push(() => new Promise<void>((res) => s.close(() => res())));
    const port = (s.address() as net.AddressInfo).port;
    const r = await runHelper([encodeListen(1, VIP, port, 16)]);
    expect(r.records).toEqual([{ type: 'listen', listener: 1, errno: 98 }]); // EADDRINUSE
  });
});

nativeDescribe('engine with the native relay', () => {
  test('a helper that dies: its connections close in the table, it is restarted and serves again', async () => {
    const b = await echoBackend('127.0.0.1', 'rs1');
    cleanups.push(() => b.close());
    const table = createTable();
    table.applySpec({ services: [{
      key: { kind: 'addr', protocol: 'tcp', addr: VIP, port: 18095 }, scheduler: 'rr',
      dests: [{ addr: b.addr, port: b.port, weight: 1, method: 'FULLNAT', uThreshold: 0, lThreshold: 0 }],
    }] }, performance.now());
    const engine = new ProxyEngine({ workers: 1, relay: 'native' });
    const events: ProxyEngineEvent[] = [];
    engine.on('event', (e: ProxyEngineEvent) => events.push(e));
    await engine.start(table);
    cleanups.push(() => engine.stop(0));
    const first = await connectLine(VIP, 18095);
    first.sock.on('error', () => undefined);
    expect(first.name).toBe('rs1');
    await until(() => table.services[0]!.dests[0]!.activeConns === 1, 2000, 'ESTABLISHED');
    const [pid] = engine.workerPids();
    process.kill(pid!, 'SIGKILL');
    await until(() => engine.counters.relayRestarts === 1, 2000, 'restart counted');
    expect(events).toContainEqual({ type: 'worker-exit', worker: 0, code: -1 });
    expect(engine.openConnections).toBe(0);
    expect(engine.counters.killed).toBe(1);
    expect(table.services[0]!.dests[0]!.activeConns).toBe(0);
    // the new helper listens again
    await until(() => engine.workerPids().length === 1 && engine.workerPids()[0] !== pid, 2000, 'new helper');
    let again = '';
    for (let i = 0; i < 40 && !again; i++) {
      again = await connectLine(VIP, 18095).then((c) => {
        c.sock.destroy();
        return c.name;
      }, async () => {
        await new Promise((r) => setTimeout(r, 50));
        return '';
      });
    }
    expect(again).toBe('rs1');
    expect(engine.counters.relayMalformed).toBe(0);
  });

  test('a port another process holds is a listen-error event, not a throw', async () => {
    const s = net.createServer();
    await new Promise<void>((res) => s.listen(0, VIP, () => res()));
    cleanups.push(() => new Promise<void>((res) => s.close(() => res())));
    const port = (s.address() as net.AddressInfo).port;
    const table = createTable();
    table.applySpec({ services: [{
      key: { kind: 'addr', protocol: 'tcp', addr: VIP, port }, scheduler: 'rr',
      dests: [{ addr: '127.0.0.1', port: 9, weight: 1, method: 'FULLNAT', uThreshold: 0, lThreshold: 0 }],
    }] }, performance.now());
    const engine = new ProxyEngine({ workers: 2, relay: 'native' });
    const events: ProxyEngineEvent[] = [];
    engine.on('event', (e: ProxyEngineEvent) => events.push(e));
    await engine.start(table);
    cleanups.push(() => engine.stop(0));
    expect(events).toContainEqual({ type: 'listen-error', service: `TCP ${VIP}:${port}`, addr: VIP, port, message: 'EADDRINUSE' });
    expect(engine.listening()).toEqual([]);
    expect(engine.counters.listenErrors).toBe(1);
  });
});
