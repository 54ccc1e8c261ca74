// ICMP errors about NAT and FULLNAT flows: conntrack relates them to the flow (RELATED) and its
// NAT rewrites them like the flow's packets, so the real server gets an error about its own reply
// (IPVS does the same rewrite in ip_vs_in_icmp -> ip_vs_icmp_xmit for VS/NAT). Root test in the
// plain topology (nft-topology.ts: the director is the real servers' gateway).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type DestSpec, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable } from '../../src/forward/nft/index.js';
import { IcmpListener, sendIcmpError, until } from './nft-dr-icmp-tools.js';
import { CLIENT4, DIRECTOR4, HOLD_JS, Topology, VIP4, VIP6, rs4, rs6 } from './nft-topology.js';
import { startEngine, stopEngine, tableWith } from './nft-engine-lab.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft NAT/FULLNAT ICMP tests: they need root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const CLIENT6 = '2001:db8:1::2';
const dest = (addr: string, port: number, method: DestSpec['method']): DestSpec => ({ addr, port, weight: 1, method, uThreshold: 0, lThreshold: 0 });
const tcp = (addr: string, port: number) => ({ kind: 'addr', protocol: 'tcp', addr, port }) as const;
const specs = (): ServiceSpec[] => [
  { key: tcp(VIP4, 80), scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs4(i), 8080, 'NAT')) },
  { key: tcp(VIP4, 9000), scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs4(i), 8100, 'FULLNAT')) },
  { key: tcp(VIP6, 80), scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs6(i), 8080, 'NAT')) },
  // A DR service on the same VIPs: lvsd's DR ICMP lookup is active and must let RELATED errors through.
  { key: tcp(VIP4, 8100), scheduler: 'rr', dests: [1, 2, 3].map((i) => ({ ...dest(rs4(i), 8100, 'NAT'), method: 'DR' as const })) },
  { key: tcp(VIP6, 8100), scheduler: 'rr', dests: [1, 2, 3].map((i) => ({ ...dest(rs6(i), 8100, 'NAT'), method: 'DR' as const })) },
];

type Held = { rs: string; localPort: number; port: number };

d('nft engine: ICMP errors about NAT and FULLNAT flows reach the real server rewritten', () => {
  const topo = new Topology();
  let table: IpvsTable;
  let engine: NftEngine;
  const now = () => performance.now();

  beforeAll(async () => {
    await topo.create();
    table = tableWith(specs(), now());
    const services = servicesFromTable(table, { snatAddr: (s) => (s.keyText.includes(':9000') ? DIRECTOR4 : undefined) });
    engine = await startEngine(topo, table, services, { queueNum: 13 }, now);
  }, 60000);

  afterAll(async () => {
    await stopEngine(engine, topo);
  }, 30000);

  /** Opens a keep-alive flow to URL, sends the error about its reply, returns what each real server got. */
  async function errorAbout(url: string, family: 4 | 6, vip: string, vport: number, client: string, type: number, code: number) {
    const listeners = topo.rs.map((ns) => new IcmpListener(ns));
    const hold = topo.spawnClient(HOLD_JS, [url]);
    try {
      await Promise.all(listeners.map((l) => l.ready));
      const line = new Promise<string>((resolve) => hold.stdout!.setEncoding('utf8').once('data', (s: string) => resolve(s)));
      hold.stdin!.write('go\n');
      const held = JSON.parse(await line) as Held;
      await sendIcmpError(topo.client, { family, vip, vport, client, cport: held.localPort, type, code });
      const owner = Number(held.rs.slice(2)) - 1;
      await until(() => listeners[owner].received.length > 0, 3000);
      return { held, owner, seen: listeners.map((l) => [...l.received]) };
    } finally {
      hold.kill();
      for (const l of listeners) l.stop();
    }
  }

  it('NAT IPv4: frag-needed to VIP:80 arrives at the owner as an error about RS:8080 -> client', async () => {
    const { held, owner, seen } = await errorAbout(`http://${VIP4}:80/`, 4, VIP4, 80, CLIENT4, 3, 4);
    expect(seen[owner]).toHaveLength(1);
    expect(seen[owner][0]).toMatchObject({ family: 4, type: 3, code: 4, dst: rs4(owner + 1), innerSrc: rs4(owner + 1), innerSport: 8080, innerDst: CLIENT4, innerDport: held.localPort });
    seen.forEach((s, i) => i !== owner && expect(s).toEqual([]));
  });

  it('FULLNAT IPv4: the quoted reply is RS:8100 -> the director\'s SNAT address', async () => {
    const { owner, seen } = await errorAbout(`http://${VIP4}:9000/`, 4, VIP4, 9000, CLIENT4, 3, 4);
    expect(seen[owner]).toHaveLength(1);
    expect(seen[owner][0]).toMatchObject({ family: 4, type: 3, code: 4, dst: rs4(owner + 1), innerSrc: rs4(owner + 1), innerSport: 8100, innerDst: DIRECTOR4 });
    seen.forEach((s, i) => i !== owner && expect(s).toEqual([]));
  });

  it('NAT IPv6: packet-too-big arrives at the owner rewritten', async () => {
    const { held, owner, seen } = await errorAbout(`http://[${VIP6}]:80/`, 6, VIP6, 80, CLIENT6, 2, 0);
    expect(seen[owner]).toHaveLength(1);
    expect(seen[owner][0]).toMatchObject({ family: 6, type: 2, innerSrc: rs6(owner + 1), innerSport: 8080, innerDst: CLIENT6, innerDport: held.localPort });
    seen.forEach((s, i) => i !== owner && expect(s).toEqual([]));
    // Conntrack handled all three (RELATED): none went through the DR lookup's drop.
    expect((await engine.kernelCounters()).icmpunknown).toBe(0);
  });
});
