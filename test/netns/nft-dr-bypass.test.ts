// DR as deployed: the real servers reply straight to the client through the router, so the
// director sees only the client's packets. Root test in network namespaces (nft-dr-topology.ts)
// of the nft engine with lvsd's table and schedulers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createTable, type DestSpec, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable, TableDirector } from '../../src/forward/nft/index.js';
import { BYPASS_CLIENT4, BYPASS_CLIENT6, DrBypassTopology } from './nft-dr-topology.js';
import { FETCH_JS, HOLD_JS, RAW_TCP_JS, UDP_JS, VIP4, VIP6, rs4, rs6, counts, type Reply } from './nft-topology.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft DR bypass tests: they need root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const dest = (addr: string, port: number, weight: number): DestSpec => ({ addr, port, weight, method: 'DR', uThreshold: 0, lThreshold: 0 });
const tcp = (addr: string, port: number) => ({ kind: 'addr', protocol: 'tcp', addr, port }) as const;
const udp = (addr: string, port: number) => ({ kind: 'addr', protocol: 'udp', addr, port }) as const;

function specs(over: { weights?: number[]; dests?: number[] } = {}): ServiceSpec[] {
  const ids = over.dests ?? [1, 2, 3];
  return [
    { key: tcp(VIP4, 80), scheduler: 'wrr', dests: ids.map((i) => dest(rs4(i), 80, over.weights?.[i - 1] ?? 1)) },
    { key: tcp(VIP4, 8080), scheduler: 'wrr', dests: [1, 2, 3].map((i) => dest(rs4(i), 8080, i)) },
    { key: tcp(VIP4, 8100), scheduler: 'rr', persistence: { timeoutS: 300, prefixLen: 32 }, dests: [1, 2, 3].map((i) => dest(rs4(i), 8100, 1)) },
    { key: udp(VIP4, 5353), scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs4(i), 5353, 1)) },
    { key: tcp(VIP6, 80), scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs6(i), 80, 1)) },
  ];
}

/** Client script: downloads URL, prints the byte count. */
const SIZE_JS = `require('http').get(process.argv[1], (r) => { let n = 0; r.on('data', (d) => n += d.length); r.on('end', () => console.log(n)); }).on('error', (e) => { console.log(-1); });`;

const rawSocketPath = createRequire(import.meta.url).resolve('raw-socket');
const txBytes = (ns: string): number => Number(spawnSync('ip', ['netns', 'exec', ns, 'cat', '/sys/class/net/eth0/statistics/tx_bytes'], { encoding: 'utf8' }).stdout.trim());

d('nft engine: DR with replies that bypass the director', () => {
  const topo = new DrBypassTopology();
  let table: IpvsTable;
  let director: TableDirector;
  let engine: NftEngine;
  const now = () => performance.now();
  const services = () => servicesFromTable(table);
  const fetch = async (url: string, n: number): Promise<Reply[]> => JSON.parse(await topo.runClient(FETCH_JS, [url, String(n)])) as Reply[];

  beforeAll(async () => {
    await topo.create();
    table = createTable();
    table.applySpec({ services: specs() }, now());
    director = new TableDirector(table, now);
    engine = new NftEngine(director, { netns: topo.director, queueNum: 9 });
    await engine.start(services());
  }, 60000);

  afterAll(async () => {
    try {
      await engine?.stop();
    } finally {
      topo.destroy();
    }
  }, 30000);

  it('IPv4: the real servers see the real client, the scheduler decides, replies do not cross the director', async () => {
    const rs = await fetch(`http://${VIP4}:80/`, 6);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(6).fill(BYPASS_CLIENT4));
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 2, rs3: 2 });
    // 1 MB answer: the real server sends it, the director forwards only the client's few KB.
    const dirBefore = txBytes(topo.director);
    const rsBefore = topo.rs.map(txBytes).reduce((a, b) => a + b, 0);
    expect(Number(await topo.runClient(SIZE_JS, [`http://${VIP4}:80/big/1000000`]))).toBe(1000000);
    const rsSent = topo.rs.map(txBytes).reduce((a, b) => a + b, 0) - rsBefore;
    expect(rsSent).toBeGreaterThan(1000000);
    expect(txBytes(topo.director) - dirBefore).toBeLessThan(100000);
  });

  it('wrr 1:2:3 exact', async () => {
    const rs = await fetch(`http://${VIP4}:8080/`, 12);
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 4, rs3: 6 });
  });

  it('IPv6: round robin, real client seen', async () => {
    const rs = await fetch(`http://[${VIP6}]:80/`, 3);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(3).fill(BYPASS_CLIENT6));
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('UDP: round robin, real client seen', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(JSON.parse(await topo.runClient(UDP_JS, [VIP4, '5353', '100'])) as Reply);
    expect(replies.map((r) => r.client ?? r.error)).toEqual(Array(3).fill(BYPASS_CLIENT4));
    expect(counts(replies)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('persistence holds across new connections', async () => {
    const rs = await fetch(`http://${VIP4}:8100/`, 5);
    expect(rs.every((r) => r.client === BYPASS_CLIENT4)).toBe(true);
    expect(new Set(rs.map((r) => r.rs)).size).toBe(1);
  });

  it('flows and states come from the flow sets (lvsadm -c, -L active/inactive, --stats in-direction)', async () => {
    const conns = (await engine.connections()).filter((c) => c.serviceId === `TCP ${VIP4}:8080`);
    expect(conns).toHaveLength(12);
    // Closed by the client: a FIN was seen (FIN_WAIT), never ESTABLISHED-active any more.
    expect(conns.every((c) => c.state === 'FIN_WAIT' && c.orig.src === BYPASS_CLIENT4 && c.orig.dst === VIP4)).toBe(true);
    expect(conns.every((c) => c.orig.packets >= 4 && c.orig.bytes > 0 && c.reply.packets === 0)).toBe(true);
    const stats = (await engine.refreshStats()).filter((s) => s.serviceId === `TCP ${VIP4}:8080`);
    expect(stats.map((s) => [s.activeConns, s.inactiveConns]).sort()).toEqual([[0, 2], [0, 4], [0, 6]]);
  });

  it('a held keep-alive flow survives a reload with new weights and the removal of its server, which gets no new flows', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:80/`]);
    const lines: Reply[] = [];
    hold.stdout!.setEncoding('utf8').on('data', (s: string) => s.split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Reply)));
    const next = async (): Promise<Reply> => {
      const n = lines.length;
      hold.stdin!.write('go\n');
      for (let i = 0; i < 100 && lines.length === n; i++) await new Promise((r) => setTimeout(r, 30));
      return lines[n] ?? { error: 'no answer' };
    };
    try {
      const first = await next();
      expect(first.rs).toMatch(/^rs[123]$/);
      const held = Number(first.rs!.slice(2));
      // The table sees it ESTABLISHED (active) through the flow set.
      const sync = async () => director.syncFlows((await engine.connections()).map((e) => ({
        proto: e.proto as 'tcp', client: { addr: e.orig.src, port: e.orig.sport }, vip: { addr: e.orig.dst, port: e.orig.dport }, state: e.state,
        counters: { inPkts: e.orig.packets, inBytes: e.orig.bytes, outPkts: 0, outBytes: 0 },
      })), now());
      await sync();
      const svc = () => table.findService(tcp(VIP4, 80))!;
      expect(svc().dests.find((x) => x.addr === rs4(held))!.activeConns).toBe(1);
      // Reload with new weights: held flow stays; new flows follow 0:1:2-ish weights.
      const weights = [1, 2, 3].map((i) => (i === held ? 1 : 2));
      table.applySpec({ services: specs({ weights }) }, now());
      await engine.apply(services());
      expect((await next()).rs).toBe(first.rs);
      expect((await next()).localPort).toBe(first.localPort);
      // Removal of the held flow's server: no new flows there, the held one still answers.
      table.applySpec({ services: specs({ dests: [1, 2, 3].filter((i) => i !== held) }) }, now());
      await engine.apply(services());
      // Asked at once too: the real server closes a keep-alive connection idle for 5 s (Node's
      // default), which a loaded machine can reach across the reload and the fetch below.
      const right = await next();
      expect([right.rs, right.localPort]).toEqual([first.rs, first.localPort]);
      const fresh = await fetch(`http://${VIP4}:80/`, 4);
      expect(fresh.every((r) => r.rs !== undefined && r.rs !== first.rs && r.client === BYPASS_CLIENT4)).toBe(true);
      const again = await next();
      expect([again.rs, again.localPort]).toEqual([first.rs, first.localPort]);
    } finally {
      hold.kill();
      table.applySpec({ services: specs() }, now());
      await engine.apply(services());
    }
  });

  it('TCP without a SYN for an unknown flow is dropped in the kernel and counted, never queued', async () => {
    const before = await engine.kernelCounters();
    const queued = engine.counters().queued;
    await topo.runClient(RAW_TCP_JS, [rawSocketPath, BYPASS_CLIENT4, VIP4, '80', '20', 'ack']);
    const after = await engine.kernelCounters();
    expect(after.nosyn - before.nosyn).toBe(20);
    expect(engine.counters().queued).toBe(queued);
  });

  it('flow states follow the client\'s segments; a reused client port starts over (SYN after FIN -> SYN_RECV -> ESTABLISHED)', async () => {
    // The client's kernel would answer the real server's SYN-ACKs with RSTs: keep them home.
    topo.exec(topo.client, ['nft', 'add table inet lvsdtest; add chain inet lvsdtest out { type filter hook output priority 0; }; add rule inet lvsdtest out tcp flags rst drop']);
    const send = (kind: string) => topo.runClient(RAW_TCP_JS, [rawSocketPath, BYPASS_CLIENT4, VIP4, '8080', '1', kind]);
    const state = async (): Promise<string | undefined> => (await engine.connections()).find((c) => c.orig.sport === 20000 && c.orig.dport === 8080)?.state;
    try {
      const seen: (string | undefined)[] = [];
      for (const kind of ['syn', 'ack', 'fin', 'syn', 'ack']) {
        await send(kind);
        seen.push(await state());
      }
      expect(seen).toEqual(['SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'SYN_RECV', 'ESTABLISHED']);
    } finally {
      topo.exec(topo.client, ['nft', 'delete table inet lvsdtest']);
    }
  });

  it('killed lvsd: DR flows keep flowing, new flows are dropped and counted (never forwarded unscheduled); a restart adopts them', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:80/`]);
    const lines: Reply[] = [];
    hold.stdout!.setEncoding('utf8').on('data', (s: string) => s.split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Reply)));
    const next = async (): Promise<Reply> => {
      const n = lines.length;
      hold.stdin!.write('go\n');
      for (let i = 0; i < 100 && lines.length === n; i++) await new Promise((r) => setTimeout(r, 30));
      return lines[n] ?? { error: 'no answer' };
    };
    try {
      const first = await next();
      expect(first.rs).toMatch(/^rs[123]$/);
      engine.detach();
      const before = await engine.kernelCounters();
      expect((await next()).localPort).toBe(first.localPort);
      const failed = await fetch(`http://${VIP4}:80/`, 1);
      expect(failed[0].error).toBeDefined();
      expect((await engine.kernelCounters()).unscheduled).toBeGreaterThan(before.unscheduled);
      // A new engine (a restarted lvsd) adopts the marks and the flow sets.
      director = new TableDirector(table, now);
      engine = new NftEngine(director, { netns: topo.director, queueNum: 9 });
      await engine.start(services());
      const again = await next();
      expect([again.rs, again.localPort]).toEqual([first.rs, first.localPort]);
      const fresh = await fetch(`http://${VIP4}:80/`, 3);
      expect(counts(fresh)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
      expect((await engine.connections()).some((c) => c.orig.sport === first.localPort && c.state === 'ESTABLISHED')).toBe(true);
    } finally {
      hold.kill();
    }
  });
});
