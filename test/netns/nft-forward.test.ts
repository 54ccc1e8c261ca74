// Root test of the nft engine in network namespaces: nft rules + NFQUEUE + native helper + the
// ipvs table's schedulers, for NAT, FULLNAT, DR and fwmark services, TCP and UDP, IPv4 and IPv6.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type IpvsTable, type ServiceSpec, type DestSpec } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable } from '../../src/forward/nft/index.js';
import { CLIENT4, DIRECTOR4, FETCH_JS, HOLD_JS, Topology, UDP_JS, VIP4, VIP6, rs4, rs6, counts, type Reply } from './nft-topology.js';
import { startEngine, stopEngine, tableWith } from './nft-engine-lab.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft netns tests: they need root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const dest = (addr: string, port: number, method: DestSpec['method'], weight = 1): DestSpec => ({
  addr, port, weight, method, uThreshold: 0, lThreshold: 0,
});
const tcp = (addr: string, port: number) => ({ kind: 'addr', protocol: 'tcp', addr, port }) as const;
const udp = (addr: string, port: number) => ({ kind: 'addr', protocol: 'udp', addr, port }) as const;
const rsAll = (port: number, method: DestSpec['method'], weights = [1, 1, 1]): DestSpec[] =>
  [1, 2, 3].map((i) => dest(rs4(i), port, method, weights[i - 1]));

function specs(over: { natWeights?: number[]; natDests?: number[] } = {}): ServiceSpec[] {
  const natDests = (over.natDests ?? [1, 2, 3]).map((i) => dest(rs4(i), 8080, 'NAT', over.natWeights?.[i - 1] ?? 1));
  return [
    { key: tcp(VIP4, 8000), scheduler: 'rr', dests: natDests },
    { key: udp(VIP4, 53), scheduler: 'rr', dests: rsAll(5353, 'NAT') },
    { key: tcp(VIP4, 9000), scheduler: 'wrr', dests: rsAll(8080, 'FULLNAT', [1, 2, 3]) },
    { key: tcp(VIP4, 80), scheduler: 'rr', dests: rsAll(80, 'DR') },
    { key: { kind: 'fwmark', fwmark: 7, family: 4 }, scheduler: 'rr', dests: rsAll(8080, 'NAT') },
    { key: { kind: 'fwmark', fwmark: 8, family: 4 }, scheduler: 'rr', dests: rsAll(0, 'DR') },
    { key: tcp(VIP4, 8100), scheduler: 'rr', persistence: { timeoutS: 300, prefixLen: 32 }, dests: rsAll(8080, 'NAT') },
    { key: tcp(VIP6, 8000), scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs6(i), 8080, 'NAT')) },
    { key: tcp(VIP6, 80), scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs6(i), 80, 'DR')) },
  ];
}

d('nft engine in namespaces', () => {
  const topo = new Topology();
  let table: IpvsTable;
  let engine: NftEngine;
  const now = () => performance.now();
  const services = () => servicesFromTable(table, { snatAddr: (s) => (s.keyText.includes(':9000') ? DIRECTOR4 : undefined) });
  const fetch = async (url: string, n: number): Promise<Reply[]> => JSON.parse(await topo.runClient(FETCH_JS, [url, String(n)])) as Reply[];

  beforeAll(async () => {
    await topo.create();
    // The operator's own firewall-mark rule (not lvsd's table): TCP to VIP:7000 gets mark 7.
    topo.exec(topo.director, ['nft', `add table inet op; add chain inet op m { type filter hook prerouting priority -150; }; add rule inet op m ip daddr ${VIP4} tcp dport 7000 meta mark set 7; add rule inet op m ip daddr ${VIP4} tcp dport 8080 meta mark set 8`]);
    table = tableWith(specs(), now());
    engine = await startEngine(topo, table, services(), { queueNum: 7 }, now);
  }, 60000);

  afterAll(async () => {
    await stopEngine(engine, topo);
  }, 30000);

  it('NAT (TCP, IPv4): round robin over the three real servers, which see the real client', async () => {
    const rs = await fetch(`http://${VIP4}:8000/`, 6);
    expect(rs.every((r) => r.client === CLIENT4)).toBe(true);
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 2, rs3: 2 });
    // rr: the sequence repeats with period 3
    expect(rs.slice(3).map((r) => r.rs)).toEqual(rs.slice(0, 3).map((r) => r.rs));
  });

  it('NAT (TCP, IPv6) sees the real client too', async () => {
    const rs = await fetch(`http://[${VIP6}]:8000/`, 3);
    expect(rs.map((r) => r.client)).toEqual(['2001:db8:1::2', '2001:db8:1::2', '2001:db8:1::2']);
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('NAT (UDP) with port mapping 53 -> 5353', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(JSON.parse(await topo.runClient(UDP_JS, [VIP4, '53', '100'])) as Reply);
    expect(replies.every((r) => r.client === CLIENT4 && r.len === 100)).toBe(true);
    expect(counts(replies)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('FULLNAT: real servers see the director address; wrr 1:2:3', async () => {
    const rs = await fetch(`http://${VIP4}:9000/`, 12);
    expect(rs.every((r) => r.client === DIRECTOR4)).toBe(true);
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 4, rs3: 6 });
  });

  it('DR (IPv4 and IPv6): packets reach the real servers unchanged (VIP:80), client address kept', async () => {
    const rs = await fetch(`http://${VIP4}:80/`, 3);
    expect(rs.every((r) => r.client === CLIENT4)).toBe(true);
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
    const rs6r = await fetch(`http://[${VIP6}]:80/`, 3);
    expect(rs6r.every((r) => r.client === '2001:db8:1::2')).toBe(true);
    expect(counts(rs6r)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('fwmark service: the operator marks TCP to VIP:7000 with 7; lvsd schedules by the mark', async () => {
    const rs = await fetch(`http://${VIP4}:7000/`, 3);
    expect(rs.every((r) => r.client === CLIENT4)).toBe(true);
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('fwmark DR service (carried by the DR flow sets; replies return through the director here): VIP:8080 unchanged', async () => {
    const rs = await fetch(`http://${VIP4}:8080/`, 3);
    expect(rs.map((r) => r.client ?? r.error)).toEqual([CLIENT4, CLIENT4, CLIENT4]);
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('persistence holds: every connection from the client goes to the same real server', async () => {
    const rs = await fetch(`http://${VIP4}:8100/`, 5);
    expect(new Set(rs.map((r) => r.rs)).size).toBe(1);
    expect(rs[0].rs).toMatch(/^rs[123]$/);
  });

  it('conntrack feeds states and byte counters back (lvsadm -c / --stats)', async () => {
    await fetch(`http://${VIP4}:8000/`, 3);
    const conns = await engine.connections();
    const mine = conns.filter((c) => c.serviceId.includes(`${VIP4}:8000`));
    expect(mine.length).toBeGreaterThanOrEqual(3);
    expect(mine.every((c) => c.orig.src === CLIENT4 && c.orig.dst === VIP4)).toBe(true);
    expect(mine.every((c) => ['TIME_WAIT', 'CLOSE', 'FIN_WAIT', 'LAST_ACK', 'CLOSE_WAIT'].includes(c.state))).toBe(true);
    const stats = (await engine.refreshStats()).filter((s) => s.serviceId.includes(`${VIP4}:8000`));
    expect(stats.reduce((a, s) => a + s.inactiveConns, 0)).toBe(mine.length);
    expect(stats.every((s) => s.inBytes > 0 && s.outBytes > 0)).toBe(true);
  });

  it('a weight change keeps established flows; a removed real server gets no new connections while its flow finishes', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:8000/`]);
    const lines: Reply[] = [];
    hold.stdout!.setEncoding('utf8').on('data', (s: string) => s.split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Reply)));
    const next = async (): Promise<Reply> => {
      const n = lines.length;
      hold.stdin!.write('go\n');
      for (let i = 0; i < 100 && lines.length === n; i++) await new Promise((r) => setTimeout(r, 30));
      return lines[n];
    };
    const first = await next();
    expect(first.rs).toMatch(/^rs[123]$/);
    const held = Number(first.rs!.slice(2));
    // weight change of every dest, then removal of the held one
    table.applySpec({ services: specs({ natWeights: [3, 3, 3] }) }, now());
    await engine.apply(services());
    expect((await next()).rs).toBe(first.rs);
    table.applySpec({ services: specs({ natDests: [1, 2, 3].filter((i) => i !== held) }) }, now());
    await engine.apply(services());
    const fresh = await fetch(`http://${VIP4}:8000/`, 4);
    expect(fresh.some((r) => r.rs === first.rs)).toBe(false);
    expect(fresh.every((r) => r.rs !== undefined)).toBe(true);
    expect((await next()).rs).toBe(first.rs);
    hold.kill();
    table.applySpec({ services: specs() }, now());
    await engine.apply(services());
  });

  it('unknown services and fragments are counted; fragmented UDP is reassembled and forwarded', async () => {
    const before = await engine.kernelCounters();
    const bad = await fetch(`http://${VIP4}:81/`, 1);
    expect(bad[0].error).toBeDefined();
    const big = JSON.parse(await topo.runClient(UDP_JS, [VIP4, '53', '3000'])) as Reply;
    expect(big.len).toBe(3000);
    const after = await engine.kernelCounters();
    expect(after.unknown).toBeGreaterThan(before.unknown);
    expect(after.fragments).toBeGreaterThanOrEqual(before.fragments + 2);
  });
});
