// ProxyEngineOptions.serves: the proxy listens only on the services it serves, so another engine
// (nft) can own the rest of the same table; the choice is re-read at every reconcile.
import { afterEach, expect, test } from '@jest/globals';
import net from 'node:net';
import { createTable, type Service } from '../../src/ipvs/index.js';
import { ProxyEngine, type ProxyEngineEvent } from '../../src/forward/proxy/index.js';
import { get, httpBackend, RELAYS } from './helpers.js';

const VIP = '127.0.0.20';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, VIP, () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, VIP);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test.each(RELAYS)('serves (%s relay): skipped services are neither listened on nor noted; a changed choice applies at reconcile', async (relay) => {
  const b = await httpBackend('127.0.0.1', 'rs1');
  cleanups.push(() => b.close());
  const [mine, other] = [await freePort(), await freePort()];
  const table = createTable();
  const dest = { addr: b.addr, port: b.port, weight: 1, method: 'NAT' as const, uThreshold: 0, lThreshold: 0 };
  table.applySpec({
    services: [
      { key: { kind: 'addr', protocol: 'tcp', addr: VIP, port: mine }, scheduler: 'rr', dests: [dest] },
      { key: { kind: 'addr', protocol: 'tcp', addr: VIP, port: other }, scheduler: 'rr', dests: [dest] },
      { key: { kind: 'fwmark', fwmark: 5, family: 4 }, scheduler: 'rr', dests: [dest] },
    ],
  }, performance.now());
  const otherEngine = new Set([`TCP ${VIP}:${other}`, 'FWM 5']);
  const serves = (svc: Service): boolean => !otherEngine.has(svc.keyText);
  const engine = new ProxyEngine({ workers: 0, serves, relay });
  const events: ProxyEngineEvent[] = [];
  engine.on('event', (e: ProxyEngineEvent) => events.push(e));
  await engine.start(table);
  cleanups.push(() => engine.stop(0));

  expect(table.services.map((s) => s.keyText).sort()).toEqual([...otherEngine, `TCP ${VIP}:${mine}`].sort());
  expect(engine.listening()).toEqual([{ protocol: 'tcp', addr: VIP, port: mine }]);
  expect((await get(VIP, mine)).body).toBe('rs1');
  expect(await refused(other)).toBe(true);
  // The fwmark service belongs to the other engine: no "cannot serve fwmark" complaint.
  expect(events.filter((e) => e.type === 'unsupported')).toEqual([]);

  // The choice flips: the proxy takes `other` and gives `mine` away.
  otherEngine.delete(`TCP ${VIP}:${other}`);
  otherEngine.add(`TCP ${VIP}:${mine}`);
  await engine.reconcile();
  expect(engine.listening()).toEqual([{ protocol: 'tcp', addr: VIP, port: other }]);
  expect((await get(VIP, other)).body).toBe('rs1');
  expect(await refused(mine)).toBe(true);
  expect(events.filter((e) => e.type === 'stopped-listening').map((e) => (e as { port: number }).port)).toEqual([mine]);
});
