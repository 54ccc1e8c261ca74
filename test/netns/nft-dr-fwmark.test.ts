// fwmark DR services (`virtual_server fwmark N` with `lvs_method DR`) with replies that bypass
// the director. The operator marks in their own `table inet op`; lvsd carries the flows in its DR
// flow sets, not in conntrack. Root test in the router topology (nft-dr-topology.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { type DestSpec, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable } from '../../src/forward/nft/index.js';
import { until } from './nft-dr-icmp-tools.js';
import { BYPASS_CLIENT4, BYPASS_CLIENT6, DrBypassTopology } from './nft-dr-topology.js';
import { FETCH_JS, HOLD_JS, UDP_JS, VIP4, VIP6, rs4, rs6, counts, type Reply } from './nft-topology.js';
import { startEngine, stopEngine, tableWith } from './nft-engine-lab.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft fwmark DR tests: they need root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const dest = (addr: string, weight: number): DestSpec => ({ addr, port: 0, weight, method: 'DR', uThreshold: 0, lThreshold: 0 });
function specs(weights = [1, 2, 3]): ServiceSpec[] {
  return [
    { key: { kind: 'fwmark', fwmark: 7, family: 4 }, scheduler: 'wrr', dests: [1, 2, 3].map((i) => dest(rs4(i), weights[i - 1])) },
    { key: { kind: 'fwmark', fwmark: 8, family: 6 }, scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs6(i), 1)) },
  ];
}

/** The operator's marking table at a priority: TCP 80/8080 and UDP 5353 to the VIPs. */
const opTable = (priority: number): string => `
table inet op {
  chain m {
    type filter hook prerouting priority ${priority}; policy accept;
    ip daddr ${VIP4} tcp dport { 80, 8080 } meta mark set 7
    ip daddr ${VIP4} udp dport 5353 meta mark set 7
    ip6 daddr ${VIP6} tcp dport { 80, 8080 } meta mark set 8
  }
}`;

d('nft engine: fwmark DR services with replies that bypass the director', () => {
  const topo = new DrBypassTopology();
  let table: IpvsTable;
  let engine: NftEngine;
  const now = () => performance.now();
  const services = () => servicesFromTable(table);
  const fetch = async (url: string, n: number): Promise<Reply[]> => JSON.parse(await topo.runClient(FETCH_JS, [url, String(n)])) as Reply[];
  /** Conntrack entries in the director for the VIPs (lines of `conntrack -L`). */
  const ctLines = (): string[] => {
    const out: string[] = [];
    for (const f of ['ipv4', 'ipv6']) {
      const r = spawnSync('ip', ['netns', 'exec', topo.director, 'conntrack', '-L', '-f', f], { encoding: 'utf8' });
      out.push(...r.stdout.split('\n').filter((l) => l.includes(VIP4) || l.includes(VIP6)));
    }
    return out;
  };
  const setOperator = (priority: number): void => {
    spawnSync('ip', ['netns', 'exec', topo.director, 'nft', 'delete', 'table', 'inet', 'op']);
    const r = spawnSync('ip', ['netns', 'exec', topo.director, 'nft', '-f', '-'], { input: opTable(priority), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  };

  beforeAll(async () => {
    await topo.create();
    // The usual place: a mangle-priority chain, after conntrack (-200).
    setOperator(-150);
    table = tableWith(specs(), now());
    engine = await startEngine(topo, table, services(), { queueNum: 12 }, now);
  }, 60000);

  afterAll(async () => {
    await stopEngine(engine, topo);
  }, 30000);

  it('IPv4, marked at mangle priority: real client seen, wrr 1:2:3 exact, any marked port', async () => {
    const rs = await fetch(`http://${VIP4}:8080/`, 12);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(12).fill(BYPASS_CLIENT4));
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 4, rs3: 6 });
    const rs80 = await fetch(`http://${VIP4}:80/`, 6);
    expect(counts(rs80)).toEqual({ rs1: 1, rs2: 2, rs3: 3 });
  });

  it('conntrack keeps at most the first packet of each flow, for 1 s; the flows are in lvsd\'s flow sets', async () => {
    const flows = (await engine.connections()).filter((c) => c.serviceId === 'FWM 7' && c.orig.dport === 8080);
    expect(flows).toHaveLength(12);
    expect(flows.every((c) => c.state === 'FIN_WAIT' && c.orig.src === BYPASS_CLIENT4 && c.orig.packets >= 4)).toBe(true);
    // Whatever conntrack saw (the SYNs) is SYN_SENT with the short timeout, never ESTABLISHED.
    expect(ctLines().every((l) => /SYN_SENT|UNREPLIED/.test(l) && !/ESTABLISHED/.test(l))).toBe(true);
    expect(await until(() => ctLines().length === 0, 4000)).toBe(true);
  });

  it('IPv6: real client seen, round robin', async () => {
    const rs = await fetch(`http://[${VIP6}]:80/`, 3);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(3).fill(BYPASS_CLIENT6));
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('UDP in the same fwmark service: real client seen, wrr 1:2:3, listed as UDP flows', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 6; i++) replies.push(JSON.parse(await topo.runClient(UDP_JS, [VIP4, '5353', '100'])) as Reply);
    expect(replies.map((r) => r.client ?? r.error)).toEqual(Array(6).fill(BYPASS_CLIENT4));
    expect(counts(replies)).toEqual({ rs1: 1, rs2: 2, rs3: 3 });
    const udp = (await engine.connections()).filter((c) => c.serviceId === 'FWM 7' && c.orig.dport === 5353);
    expect(udp.map((c) => [c.proto, c.state])).toEqual(Array(6).fill(['udp', 'UDP']));
  });

  it('marked at raw priority (-310, the recommended place): conntrack never sees the flows', async () => {
    setOperator(-310);
    try {
      await until(() => ctLines().length === 0, 4000);
      const rs = await fetch(`http://${VIP4}:80/`, 6);
      expect(counts(rs)).toEqual({ rs1: 1, rs2: 2, rs3: 3 });
      expect(rs.every((r) => r.client === BYPASS_CLIENT4)).toBe(true);
      const rs6 = await fetch(`http://[${VIP6}]:8080/`, 3);
      expect(rs6.every((r) => r.client === BYPASS_CLIENT6)).toBe(true);
      expect(ctLines()).toEqual([]);
    } finally {
      setOperator(-150);
    }
  });

  it('a held flow keeps its server and port through a reload with new weights, with no conntrack entry', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:8080/`]);
    const lines: Reply[] = [];
    hold.stdout!.setEncoding('utf8').on('data', (s: string) => s.split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Reply)));
    const next = async (): Promise<Reply> => {
      const n = lines.length;
      hold.stdin!.write('go\n');
      await until(() => lines.length > n, 3000);
      return lines[n] ?? { error: 'no answer' };
    };
    try {
      const first = await next();
      expect(first.rs).toMatch(/^rs[123]$/);
      const held = Number(first.rs!.slice(2));
      // The held flow's packets after the first are untracked (notrack by tuple at -300).
      expect(await until(() => !ctLines().some((l) => l.includes(`sport=${first.localPort} `)), 4000)).toBe(true);
      expect((await next()).localPort).toBe(first.localPort);
      expect(ctLines().some((l) => l.includes(`sport=${first.localPort} `))).toBe(false);
      // Reload: the held server gets weight 0 (no new flows), the others 1 and 1.
      table.applySpec({ services: specs([1, 2, 3].map((i) => (i === held ? 0 : 1))) }, now());
      await engine.apply(services());
      const again = await next();
      expect([again.rs, again.localPort]).toEqual([first.rs, first.localPort]);
      const fresh = await fetch(`http://${VIP4}:8080/`, 4);
      expect(fresh.every((r) => r.rs !== undefined && r.rs !== first.rs && r.client === BYPASS_CLIENT4)).toBe(true);
      expect(Object.values(counts(fresh))).toEqual([2, 2]);
      const est = (await engine.connections()).find((c) => c.orig.sport === first.localPort);
      expect(est?.state).toBe('ESTABLISHED');
    } finally {
      hold.kill();
      table.applySpec({ services: specs() }, now());
      await engine.apply(services());
    }
  });

  it('unmarked traffic to the VIP is not lvsd\'s: an unmarked port gets no answer and is not queued', async () => {
    const queued = engine.counters().queued;
    const rs = await fetch(`http://${VIP4}:8100/`, 1);
    expect(rs[0].error).toBeDefined();
    expect(engine.counters().queued).toBe(queued);
  });
});
