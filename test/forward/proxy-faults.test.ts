// Faults through the proxy engine: each is counted, the rest of the traffic is untouched, no
// exception escapes, and no file descriptor leaks (counted in /proc/self/fd).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { createTable, type DestSpec, type IpvsTable } from '../../src/ipvs/index.js';
import { ProxyEngine } from '../../src/forward/proxy/index.js';
import { type Backend, echoBackend, httpBackend, openInetSockets, RELAYS, rawBackend, readAll, sleep, until } from './helpers.js';

const VIP = '127.0.0.20';
const dest = (b: { addr: string; port: number }): DestSpec => ({ addr: b.addr, port: b.port, weight: 1, method: 'FULLNAT', uThreshold: 0, lThreshold: 0 });

let uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => {
  uncaught.push(e);
};

describe.each(RELAYS)('faults (%s relay)', (relay) => {
  const backends: Backend[] = [];
  let table: IpvsTable;
  let engine: ProxyEngine;
  const clock = { offset: 0 };
  let fdsBefore = 0;
  const ports = { http: 0, echo: 0, silent: 0, dying: 0, refused: 0, retry: 0 };

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    fdsBefore = openInetSockets();
    const http = await httpBackend('127.0.0.1', 'web');
    const echo = await echoBackend('127.0.0.2', 'echo');
    const silent = await rawBackend('127.0.0.3', 'silent', () => undefined); // accepts, never answers
    const dying = await rawBackend('127.0.0.4', 'dying', (s) => {
      s.write(randomBytes(64 * 1024));
      setTimeout(() => s.resetAndDestroy(), 20); // dies mid-transfer
    });
    backends.push(http, echo, silent, dying);
    // a port with nothing listening: take one and close it
    const tmp = net.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.5', () => r()));
    const deadPort = (tmp.address() as net.AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    table = createTable();
    const svc = (port: number, d: DestSpec[], extra = {}) => ({ key: { kind: 'addr' as const, protocol: 'tcp' as const, addr: VIP, port }, scheduler: 'rr' as const, dests: d, ...extra });
    ports.http = 18081; ports.echo = 18082; ports.silent = 18083; ports.dying = 18084; ports.refused = 18085; ports.retry = 18086;
    table.applySpec({ services: [
      svc(ports.http, [dest(http)]),
      svc(ports.echo, [dest(echo)]),
      svc(ports.silent, [dest(silent)]),
      svc(ports.dying, [dest(dying)]),
      svc(ports.refused, [{ ...dest(http), addr: '127.0.0.5', port: deadPort }]),
      // list order: dead port first (added last), then the http server
      svc(ports.retry, [dest(http), { ...dest(http), addr: '127.0.0.5', port: deadPort }], { retryOnRefuse: true }),
    ] }, performance.now());
    engine = new ProxyEngine({ workers: 0, relay, clock: () => performance.now() + clock.offset, sweepIntervalMs: 100 });
    await engine.start(table);
  });

  afterAll(async () => {
    await engine.stop(0);
    for (const b of backends) await b.close();
    await sleep(50);
    process.off('uncaughtException', onUncaught);
    expect(openInetSockets()).toBe(fdsBefore); // engine and servers closed all they opened
    expect(uncaught).toEqual([]);
  });

  test('each fault is counted while a concurrent stream stays intact', async () => {
    // the native relay's sockets live in its helper process: counted there too
    const base = openInetSockets(engine.workerPids());
    // the bystander: a stream through the echo service for the whole test
    const by = net.connect({ host: VIP, port: ports.echo });
    const byAll = readAll(by);
    const payload = randomBytes(256 * 1024).toString('hex');
    by.write(payload.slice(0, 1000));

    // 1. garbage to an HTTP server: it answers 400 and closes; counted as a normal close
    const g = net.connect({ host: VIP, port: ports.http });
    const gAll = readAll(g);
    g.write(randomBytes(300));
    expect(await gAll).toMatch(/^HTTP\/1\.1 400/);
    // 2. client resets mid-stream
    const r = net.connect({ host: VIP, port: ports.echo });
    r.on('error', () => undefined);
    await new Promise((res) => r.once('data', res));
    r.write('x'.repeat(10000));
    r.resetAndDestroy();
    await until(() => engine.counters.clientResets === 1, 2000, 'client reset counted');
    // 3. backend dies mid-transfer: the client is reset
    const d = net.connect({ host: VIP, port: ports.dying });
    const dErr = new Promise<string>((res) => d.on('error', (e: NodeJS.ErrnoException) => res(e.code ?? '')));
    d.resume();
    expect(await dErr).toBe('ECONNRESET');
    await until(() => engine.counters.backendResets === 1, 2000, 'backend reset counted');
    // 4. backend refuses: client reset, counted; with retryOnRefuse the other server answers
    const f = net.connect({ host: VIP, port: ports.refused });
    const fErr = new Promise<string>((res) => f.on('error', (e: NodeJS.ErrnoException) => res(e.code ?? '')));
    expect(await fErr).toBe('ECONNRESET');
    expect(engine.counters.refused).toBe(1);
    const rt = net.connect({ host: VIP, port: ports.retry });
    const rtAll = readAll(rt);
    rt.end('GET / HTTP/1.0\r\n\r\n');
    expect(await rtAll).toMatch(/web$/);
    expect([engine.counters.refused, engine.counters.retried]).toEqual([2, 1]);
    // 5. backend accepts and never answers: the client gives up (FIN); the half-open connection
    //    sits in FIN_WAIT until its timeout (120 s, clock jumped), then it is ended and counted.
    const s = net.connect({ host: VIP, port: ports.silent });
    s.on('error', () => undefined); // it is reset when the table ends it
    await new Promise((res) => s.once('connect', res));
    await sleep(50);
    s.end();
    await until(() => [...table.connections()].some((c) => c.state === 'FIN_WAIT'), 2000, 'FIN_WAIT');
    by.write(payload.slice(1000));
    by.end();
    expect(await byAll).toBe(`echo\n${payload}bye ${payload.length}\n`);
    clock.offset += 121_000;
    engine.sweep();
    await until(() => engine.counters.killed === 1, 2000, 'silent backend killed');
    s.destroy();
    await until(() => engine.openConnections === 0, 3000, 'all relays ended');
    await sleep(50);
    expect(openInetSockets(engine.workerPids())).toBe(base); // every faulty connection's sockets closed on both sides
    expect(engine.counters).toMatchObject({ clientResets: 1, backendResets: 1, refused: 2, retried: 1, killed: 1, noDest: 0 });
  });
});
