// The proxy engine end to end on loopback: real HTTP/TCP/UDP servers, real sockets.
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import dgram from 'node:dgram';
import net from 'node:net';
import { createTable, type DestSpec, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { ProxyEngine, type ProxyEngineEvent } from '../../src/forward/proxy/index.js';
import { createScheduler, foldAddress } from '../../src/sched/index.js';
import type { SchedDest, SchedulerName } from '../../src/sched/types.js';
import {
  type Backend, connectLine, echoBackend, get, httpBackend, RELAYS, rawBackend, readAll, udpAsk, udpBackend, until,
} from './helpers.js';

/** The TCP relay the running describe block tests (each TCP block runs once per relay). */
let relay: 'node' | 'native' = 'node';
const eachRelay = (name: string, body: () => void): void =>
  describe.each(RELAYS)(`${name} (%s relay)`, (r) => {
    beforeAll(() => {
      relay = r;
    });
    body();
  });

const VIP = '127.0.0.10';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function destOf(b: Backend, weight = 1, method: DestSpec['method'] = 'NAT'): DestSpec {
  return { addr: b.addr, port: b.port, weight, method, uThreshold: 0, lThreshold: 0 };
}

async function freePort(addr = VIP): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, addr, () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function backends(kind: 'http' | 'echo', n: number): Promise<Backend[]> {
  const out: Backend[] = [];
  for (let i = 1; i <= n; i++) {
    const b = kind === 'http' ? await httpBackend(`127.0.0.${i}`, `rs${i}`) : await echoBackend(`127.0.0.${i}`, `rs${i}`);
    out.push(b);
    cleanups.push(() => b.close());
  }
  return out;
}

interface Setup {
  table: IpvsTable;
  engine: ProxyEngine;
  port: number;
  events: ProxyEngineEvent[];
  clock: { offset: number };
}

async function setup(service: Omit<ServiceSpec, 'key'> & { protocol?: 'tcp' | 'udp'; addr?: string }, workers = 0): Promise<Setup> {
  const addr = service.addr ?? VIP;
  const port = await freePort(addr);
  const table = createTable();
  const clock = { offset: 0 };
  const engine = new ProxyEngine({ workers, relay, clock: () => performance.now() + clock.offset, connectTimeoutMs: 1000, sweepIntervalMs: 100 });
  const events: ProxyEngineEvent[] = [];
  engine.on('event', (e: ProxyEngineEvent) => events.push(e));
  const { protocol = 'tcp', addr: _a, ...rest } = service;
  table.applySpec({ services: [{ ...rest, key: { kind: 'addr', protocol, addr, port } }] }, performance.now());
  await engine.start(table);
  cleanups.push(() => engine.stop(0));
  return { table, engine, port, events, clock };
}

/** Reference: the pure scheduler fed the kernel list the table builds (config order reversed). */
function reference(name: SchedulerName, dests: DestSpec[], flags = {}) {
  const sched = createScheduler(name, flags);
  const list: SchedDest[] = [];
  sched.update(list);
  let id = 1;
  for (const d of dests) {
    list.unshift({ id: id++, addr: d.addr, port: d.port, weight: d.weight, activeConns: 0, inactiveConns: 0, overloaded: false });
    sched.update(list);
  }
  return (client: string, sport: number): SchedDest => {
    const d = sched.pick({ family: 4, saddr: client, daddr: VIP, saddrFold: foldAddress(client), daddrFold: foldAddress(VIP), sport, dport: 0 }, 0)!;
    d.inactiveConns++; // each request ends in TIME_WAIT: inactive for 120 s, as in the table
    return d;
  };
}

eachRelay('distribution', () => {
  for (const [name, weights, flags] of [
    ['rr', [1, 1, 1], {}],
    ['wrr', [3, 1, 2], {}],
    ['wlc', [1, 2, 3], {}],
    ['sh', [1, 1, 1], { port: true }],
    ['mh', [2, 1, 1], { port: true }],
  ] as [SchedulerName, number[], object][]) {
    test(`${name}: HTTP picks equal the pure scheduler's sequence`, async () => {
      const bs = await backends('http', 3);
      const dests = bs.map((b, i) => destOf(b, weights[i]));
      const s = await setup({ scheduler: name, schedFlags: flags, dests });
      const ref = reference(name, dests, flags);
      const byAddr = new Map(bs.map((b) => [b.addr, b.name]));
      for (let i = 0; i < 24; i++) {
        const r = await get(VIP, s.port);
        // our table saw the request's source port; the reference gets the same key
        expect(r.body).toBe(byAddr.get(ref('127.0.0.1', r.localPort).addr));
      }
      const svc = s.table.services[0]!;
      expect(svc.stats.conns).toBe(24);
    });
  }
});

eachRelay('connections and table state', () => {
  test('states, counters, half-close and traffic reach the table', async () => {
    const [b] = await backends('echo', 1);
    const s = await setup({ scheduler: 'rr', dests: [destOf(b!)] });
    const d = s.table.services[0]!.dests[0]!;
    const { sock, name } = await connectLine(VIP, s.port);
    expect(name).toBe('rs1');
    await until(() => d.activeConns === 1, 2000, 'ESTABLISHED');
    const conn = [...s.table.connections()][0]!;
    expect(conn.state).toBe('ESTABLISHED');
    const all = readAll(sock);
    sock.write('hello');
    sock.end(); // half-close: the echo server still answers after our FIN
    expect(await all).toBe('hellobye 5\n');
    await until(() => conn.state === 'TIME_WAIT', 2000, 'TIME_WAIT');
    expect([d.activeConns, d.inactiveConns]).toEqual([0, 1]);
    s.engine.sweep();
    expect(d.stats.inBytes).toBe(5);
    expect(d.stats.outBytes).toBe('rs1\nhellobye 5\n'.length);
    expect(s.engine.counters.closed).toBe(1);
    expect(s.events.some((e) => e.type === 'forwarding-note')).toBe(true);
  });

  test('a server that sends in small pieces and closes at once reaches a slow reader whole and in order', async () => {
    // many small writes, then a full close while the client is not reading: the relay holds
    // bytes for the client while the server side has hung up, and must not reorder them
    const pieces = 3000;
    const piece = (i: number): string => `${String(i).padStart(6, '0')}:${'x'.repeat(100)}\n`;
    const b = await rawBackend('127.0.0.1', 'chatty', (sock) => {
      sock.on('end', () => {
        for (let i = 0; i < pieces; i++) sock.write(piece(i));
        sock.end();
      });
      sock.resume();
    });
    cleanups.push(() => b.close());
    const s = await setup({ scheduler: 'rr', dests: [destOf(b)] });
    const c = net.connect({ host: VIP, port: s.port });
    await new Promise((r) => c.once('connect', r));
    c.pause();
    c.end('go');
    await new Promise((r) => setTimeout(r, 300)); // the server has long closed; we read only now
    const got = await readAll(c);
    expect(got).toBe(Array.from({ length: pieces }, (_, i) => piece(i)).join(''));
    await until(() => s.engine.openConnections === 0, 2000, 'relay to end');
    s.engine.sweep();
    expect(s.table.services[0]!.stats.outBytes).toBe(got.length);
  });

  test('weight 0 drains: existing connections flow, new ones go elsewhere; removed servers finish too', async () => {
    const bs = await backends('echo', 3);
    const dests = bs.map((b) => destOf(b));
    const s = await setup({ scheduler: 'rr', dests });
    const first = await connectLine(VIP, s.port); // rs3 (list head)
    expect(first.name).toBe('rs3');
    const key = s.table.services[0]!.key;
    s.table.applySpec({ services: [{ key, scheduler: 'rr', dests: [dests[0]!, dests[1]!, { ...dests[2]!, weight: 0 }] }] }, performance.now());
    const second = await connectLine(VIP, s.port);
    const third = await connectLine(VIP, s.port);
    const fourth = await connectLine(VIP, s.port);
    expect([second.name, third.name, fourth.name].sort()).toEqual(['rs1', 'rs2', 'rs2']);
    // remove rs2 while it holds connections
    s.table.applySpec({ services: [{ key, scheduler: 'rr', dests: [dests[0]!, { ...dests[2]!, weight: 0 }] }] }, performance.now());
    await s.engine.reconcile();
    const fifth = await connectLine(VIP, s.port);
    expect(fifth.name).toBe('rs1');
    for (const c of [first, second, third, fourth, fifth]) {
      const all = readAll(c.sock);
      c.sock.end('ping');
      expect(await all).toBe('pingbye 4\n');
    }
  });

  test('persistence keeps a client on one server until the template expires', async () => {
    const bs = await backends('http', 3);
    const s = await setup({ scheduler: 'rr', persistence: { timeoutS: 30, prefixLen: 32 }, dests: bs.map((b) => destOf(b)) });
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) names.add((await get(VIP, s.port)).body);
    expect(names.size).toBe(1);
    await until(() => s.engine.openConnections === 0, 3000, 'relays to end');
    // Jump the table's clock: TIME_WAIT conns (120 s) expire, then the template (30 s later).
    s.clock.offset += 121_000;
    s.engine.sweep();
    s.clock.offset += 31_000;
    s.engine.sweep();
    expect([...s.table.connections()].length).toBe(0);
    const after = (await get(VIP, s.port)).body;
    expect(after).not.toBe([...names][0]); // rr moved on
  });

  test('sorry server takes traffic when no real server is up; no-dest resets are counted', async () => {
    const [b, sorry] = await backends('http', 2);
    const s = await setup({ scheduler: 'wlc', dests: [destOf(b!, 0)] });
    await expect(get(VIP, s.port)).rejects.toThrow();
    expect(s.engine.counters.noDest).toBe(1);
    expect(s.events.find((e) => e.type === 'no-dest')).toMatchObject({ message: expect.stringContaining('no destination available') });
    const key = s.table.services[0]!.key;
    s.table.applySpec({ services: [{ key, scheduler: 'wlc', dests: [destOf(b!, 0)], sorryServer: destOf(sorry!) }] }, performance.now());
    expect((await get(VIP, s.port)).body).toBe('rs2');
  });

  test('IPv6 VIP and PROXY protocol v1/v2 headers', async () => {
    const seen: Buffer[] = [];
    const b = await rawBackend('::1', 'pp', (sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf[buf.length - 1] === 0x78) { // 'x', what the client sends after the header
          seen.push(buf);
          sock.end('ok');
        }
      });
    });
    cleanups.push(() => b.close());
    for (const v of ['v1', 'v2'] as const) {
      const s = await setup({ addr: '::1', scheduler: 'rr', proxyProtocol: v, dests: [destOf(b)] });
      const c = net.connect({ host: '::1', port: s.port });
      const all = readAll(c);
      await new Promise((r) => c.once('connect', r));
      c.write('x');
      expect(await all).toBe('ok');
      await until(() => seen.length > 0);
      const h = seen.pop()!;
      if (v === 'v1') expect(h.toString('latin1')).toBe(`PROXY TCP6 ::1 ::1 ${c.localPort} ${s.port}\r\nx`);
      else {
        expect(h.length).toBe(16 + 36 + 1);
        expect(h.subarray(0, 16).toString('hex')).toBe('0d0a0d0a000d0a515549540a' + '2121' + '0024');
        expect(h.readUInt16BE(16 + 32)).toBe(c.localPort);
        expect(h.readUInt16BE(18 + 32)).toBe(s.port);
      }
    }
  });

  test('setVipHeld: the VIP is served only while held; reconcile follows applySpec', async () => {
    const [b] = await backends('http', 1);
    const s = await setup({ scheduler: 'rr', dests: [destOf(b!)] });
    await s.engine.setVipHeld(VIP, false);
    await expect(get(VIP, s.port)).rejects.toThrow(/ECONNREFUSED/);
    await s.engine.setVipHeld(VIP, true);
    expect((await get(VIP, s.port)).body).toBe('rs1');
    const port2 = await freePort();
    const key = s.table.services[0]!.key;
    s.table.applySpec({ services: [
      { key, scheduler: 'rr', dests: [destOf(b!)] },
      { key: { kind: 'addr', protocol: 'tcp', addr: VIP, port: port2 }, scheduler: 'rr', dests: [destOf(b!)] },
    ] }, performance.now());
    await s.engine.reconcile();
    expect((await get(VIP, port2)).body).toBe('rs1');
    s.table.applySpec({ services: [] }, performance.now());
    await s.engine.reconcile();
    await expect(get(VIP, port2)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('UDP', () => {
  test('per-client flows follow rr; replies come back; counters kept', async () => {
    const bs: Backend[] = [];
    for (let i = 1; i <= 2; i++) {
      const b = await udpBackend(`127.0.0.${i}`, `u${i}`);
      bs.push(b);
      cleanups.push(() => b.close());
    }
    const s = await setup({ protocol: 'udp', scheduler: 'rr', dests: bs.map((b) => destOf(b)) });
    const clients = [0, 1, 2].map(() => dgram.createSocket('udp4'));
    cleanups.push(() => { clients.forEach((c) => c.close()); });
    const answers = [];
    for (const c of clients) answers.push(await udpAsk(c, VIP, s.port, 'a'));
    expect(answers).toEqual(['u2:a', 'u1:a', 'u2:a']);
    // same client, same flow
    expect(await udpAsk(clients[1]!, VIP, s.port, 'b')).toBe('u1:b');
    const svc = s.table.services[0]!;
    expect(svc.stats).toMatchObject({ conns: 3, inPkts: 4, outPkts: 4 });
    expect(svc.dests.map((d) => d.inactiveConns)).toEqual([2, 1]);
  });

  test('ops: every datagram is scheduled on its own', async () => {
    const bs: Backend[] = [];
    for (let i = 1; i <= 2; i++) {
      const b = await udpBackend(`127.0.0.${i}`, `u${i}`);
      bs.push(b);
      cleanups.push(() => b.close());
    }
    const s = await setup({ protocol: 'udp', scheduler: 'rr', ops: true, dests: bs.map((b) => destOf(b)) });
    const c = dgram.createSocket('udp4');
    cleanups.push(() => { c.close(); });
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await udpAsk(c, VIP, s.port, String(i)));
    expect(got).toEqual(['u2:0', 'u1:1', 'u2:2', 'u1:3']);
    expect(s.table.services[0]!.stats.conns).toBe(4);
  });
});

eachRelay('workers', () => {
  test('relay workers (native: helpers): exact rr sequence, counters and states reported back', async () => {
    const bs = await backends('http', 3);
    const dests = bs.map((b) => destOf(b));
    const s = await setup({ scheduler: 'wrr', dests: [destOf(bs[0]!, 3), destOf(bs[1]!, 1), destOf(bs[2]!, 2)] }, 2);
    const ref = reference('wrr', [destOf(bs[0]!, 3), destOf(bs[1]!, 1), destOf(bs[2]!, 2)]);
    const byAddr = new Map(bs.map((b) => [b.addr, b.name]));
    const got = await Promise.all(Array.from({ length: 12 }, () => get(VIP, s.port)));
    // concurrent requests: the set of answers matches the reference's first 12 picks
    const want = Array.from({ length: 12 }, () => byAddr.get(ref('127.0.0.1', 0).addr));
    expect(got.map((g) => g.body).sort()).toEqual(want.sort());
    await until(() => s.engine.openConnections === 0, 3000, 'relays to end');
    await new Promise((r) => setTimeout(r, 600)); // worker counter flush interval
    s.engine.sweep();
    const svc = s.table.services[0]!;
    expect(svc.stats.conns).toBe(12);
    expect(svc.stats.outBytes).toBeGreaterThan(12 * 3);
    expect(svc.dests.reduce((n, d) => n + d.inactiveConns, 0)).toBe(12); // all TIME_WAIT
    void dests;
  });
});
