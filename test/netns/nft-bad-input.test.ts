// Root test: bad and hostile input through the nft engine (TCP without SYN, a bounded SYN flood),
// and a killed lvsd: established flows keep going, new ones fail open (counted), a restarted
// engine adopts the table.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import { type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable, TableDirector } from '../../src/forward/nft/index.js';
import { CLIENT4, FETCH_JS, HOLD_JS, RAW_TCP_JS, Topology, VIP4, rs4 } from './nft-topology.js';
import { startEngine, stopEngine, tableWith } from './nft-engine-lab.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft bad-input netns tests: they need root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const rawSocketPath = createRequire(import.meta.url).resolve('raw-socket');

const spec = (): ServiceSpec[] => [
  { key: { kind: 'addr', protocol: 'tcp', addr: VIP4, port: 8000 }, scheduler: 'wlc',
    dests: [1, 2, 3].map((i) => ({ addr: rs4(i), port: 8080, weight: 1, method: 'NAT', uThreshold: 0, lThreshold: 0 })) },
];

d('nft engine: bad input and a killed daemon', () => {
  const topo = new Topology();
  let table: IpvsTable;
  let engine: NftEngine;
  const now = () => performance.now();
  const fetch = async (n: number): Promise<{ rs?: string; client?: string; error?: string }[]> =>
    JSON.parse(await topo.runClient(FETCH_JS, [`http://${VIP4}:8000/`, String(n)])) as { rs?: string; error?: string }[];

  beforeAll(async () => {
    await topo.create();
    table = tableWith(spec(), now());
    engine = await startEngine(topo, table, servicesFromTable(table), { queueNum: 11, queueMaxLen: 256 }, now);
  }, 60000);

  afterAll(async () => {
    await stopEngine(engine, topo);
  }, 30000);

  it('TUN is refused at start with a clear error on this kernel (no ipip)', async () => {
    const tun = new NftEngine(new TableDirector(table, now), { netns: topo.director, queueNum: 12 });
    const svc = { id: 'TCP 203.0.113.10:9', family: 4 as const, proto: 'tcp' as const, vip: VIP4, vport: 9, method: 'tun' as const, dests: [{ id: 1, addr: rs4(1), port: 9 }] };
    await expect(tun.start([svc])).rejects.toMatchObject({ code: 'ENFTTUN' });
  });

  it('TCP without SYN for a new flow is dropped in the kernel and counted, never queued', async () => {
    const before = await engine.kernelCounters();
    const queuedBefore = engine.counters().queued;
    await topo.runClient(RAW_TCP_JS, [rawSocketPath, CLIENT4, VIP4, '8000', '20', 'ack']);
    const after = await engine.kernelCounters();
    expect(after.nosyn - before.nosyn).toBe(20);
    expect(engine.counters().queued).toBe(queuedBefore);
  });

  it('a bounded SYN flood (3000) is queued or counted as dropped; real clients still get through', async () => {
    const before = await engine.kernelCounters();
    const queuedBefore = engine.counters().queued;
    const [flood, ok] = await Promise.all([
      topo.runClient(RAW_TCP_JS, [rawSocketPath, CLIENT4, VIP4, '8000', '3000', 'syn'], 30000),
      fetch(3),
    ]);
    expect(JSON.parse(flood)).toEqual({ sent: 3000 });
    expect(ok.every((r) => r.client === CLIENT4)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const after = await engine.kernelCounters();
    const queued = engine.counters().queued - queuedBefore;
    const dropped = after.queueDropped - before.queueDropped + (after.unscheduled - before.unscheduled);
    // every flood SYN and the 3 real connections were either scheduled by lvsd or counted by the kernel
    expect(queued + dropped).toBeGreaterThanOrEqual(3003);
    expect(after.queued - before.queued).toBeGreaterThanOrEqual(3003);
  }, 40000);

  it('killed lvsd: established flows keep flowing, new flows fail open and are counted; a restart adopts the table', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:8000/`]);
    const lines: { rs?: string; error?: string }[] = [];
    hold.stdout!.setEncoding('utf8').on('data', (s: string) => s.split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l))));
    const next = async (): Promise<{ rs?: string; error?: string }> => {
      const n = lines.length;
      hold.stdin!.write('go\n');
      for (let i = 0; i < 150 && lines.length === n; i++) await new Promise((r) => setTimeout(r, 30));
      return lines[n];
    };
    const first = await next();
    expect(first.rs).toMatch(/^rs[123]$/);
    engine.detach(); // the helper and the event reader die with lvsd; the kernel table stays
    await new Promise((r) => setTimeout(r, 200));
    expect((await next()).rs).toBe(first.rs);
    const before = await engine.kernelCounters();
    const orphan = await fetch(1);
    expect(orphan[0].rs).toBeUndefined();
    expect((await engine.kernelCounters()).unscheduled).toBeGreaterThan(before.unscheduled);
    engine = await startEngine(topo, table, servicesFromTable(table), { queueNum: 11, queueMaxLen: 256 }, now);
    expect((await next()).rs).toBe(first.rs);
    const fresh = await fetch(3);
    expect(fresh.every((r) => r.client === CLIENT4)).toBe(true);
    hold.kill();
  }, 30000);
});
