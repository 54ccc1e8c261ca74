// ICMP errors about DR flows reach the real server that owns the flow (IPVS's ip_vs_in_icmp /
// ip_vs_in_icmp_v6 forward them by the connection the quoted packet belongs to). Root test in the
// router topology where the real servers' replies bypass the director: the router's link to the
// client has MTU 1280, so a real server's full-size reply makes the router send "fragmentation
// needed" (IPv4) or "packet too big" (IPv6) to the VIP, which the router routes to the director.
// Without steering the real server never learns the path MTU and a large answer stalls.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type DestSpec, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable } from '../../src/forward/nft/index.js';
import { IcmpListener, sendIcmpError, until } from './nft-dr-icmp-tools.js';
import { BYPASS_CLIENT4, BYPASS_CLIENT6, DrBypassTopology } from './nft-dr-topology.js';
import { HOLD_JS, VIP4, VIP6, rs4, rs6 } from './nft-topology.js';
import { startEngine, stopEngine, tableWith } from './nft-engine-lab.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft DR ICMP tests: they need root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const dest = (addr: string, port: number): DestSpec => ({ addr, port, weight: 1, method: 'DR', uThreshold: 0, lThreshold: 0 });
const specs = (): ServiceSpec[] => [
  { key: { kind: 'addr', protocol: 'tcp', addr: VIP4, port: 80 }, scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs4(i), 80)) },
  { key: { kind: 'addr', protocol: 'tcp', addr: VIP6, port: 80 }, scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs6(i), 80)) },
];

/** Client script: on one keep-alive connection, GET / (which real server, which local port), then GET /big/N; prints both. */
const OWNER_THEN_BIG_JS = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const [base, n] = [process.argv[1], Number(process.argv[2])];
const get = (path) => new Promise((res) => { const req = http.get(base + path, { agent, timeout: 8000 }, (r) => { const parts = []; r.on('data', (d) => parts.push(d));
  r.on('end', () => res({ body: Buffer.concat(parts), port: req.socket.localPort })); }); req.on('timeout', () => { req.destroy(); res({ error: 'timeout' }); }); req.on('error', (e) => res({ error: e.code })); });
(async () => { const a = await get('/'); if (a.error) { console.log(JSON.stringify(a)); return; }
  const b = await get('/big/' + n); console.log(JSON.stringify({ rs: JSON.parse(a.body).rs, port: a.port, len: b.body ? b.body.length : -1, error: b.error })); agent.destroy(); })();
`;

d('nft engine: ICMP errors about DR flows go to the real server owning the flow', () => {
  const topo = new DrBypassTopology();
  let table: IpvsTable;
  let engine: NftEngine;
  let listeners: IcmpListener[] = [];
  const now = () => performance.now();

  beforeAll(async () => {
    await topo.create();
    // The path to the client is narrower than the server LAN: full-size replies need PMTU discovery.
    topo.exec(topo.router, ['ip', 'link', 'set', 'cl', 'mtu', '1280']);
    table = tableWith(specs(), now());
    engine = await startEngine(topo, table, servicesFromTable(table), { queueNum: 11 }, now);
  }, 60000);

  afterAll(async () => {
    for (const l of listeners) l.stop();
    await stopEngine(engine, topo);
  }, 30000);

  const listen = async (): Promise<IcmpListener[]> => {
    for (const l of listeners) l.stop();
    listeners = topo.rs.map((ns) => new IcmpListener(ns));
    await Promise.all(listeners.map((l) => l.ready));
    return listeners;
  };

  for (const [family, url, client, type] of [
    [4, `http://${VIP4}:80`, BYPASS_CLIENT4, 3],
    [6, `http://[${VIP6}]:80`, BYPASS_CLIENT6, 2],
  ] as const) {
    it(`IPv${family}: the router's ${family === 4 ? 'fragmentation-needed' : 'packet-too-big'} reaches the owning real server only, and a 300 KB answer completes`, async () => {
      const ls = await listen();
      const before = await engine.kernelCounters();
      const r = JSON.parse(await topo.runClient(OWNER_THEN_BIG_JS, [url, '300000'], 30000)) as { rs?: string; port?: number; len?: number; error?: string };
      expect(r.error).toBeUndefined();
      expect(r.len).toBe(300000);
      const owner = Number(r.rs!.slice(2)) - 1;
      expect(await until(() => ls[owner].received.length > 0, 3000)).toBe(true);
      // The router's error quotes the real server's reply: VIP:80 -> client:port.
      expect(ls[owner].received[0]).toMatchObject({ family, type, innerSrc: family === 4 ? VIP4 : VIP6, innerDst: client, innerSport: 80, innerDport: r.port });
      ls.forEach((l, i) => {
        if (i !== owner) expect(l.received).toEqual([]);
      });
      const after = await engine.kernelCounters();
      expect(after.icmpdr - before.icmpdr).toBe(ls[owner].received.length);
    }, 40000);
  }

  it('an ICMP error about no known flow is counted and dropped (v4 and v6); one about a live flow is steered', async () => {
    const ls = await listen();
    const before = await engine.kernelCounters();
    await sendIcmpError(topo.client, { family: 4, vip: VIP4, vport: 80, client: BYPASS_CLIENT4, cport: 1, type: 3, code: 4 });
    await sendIcmpError(topo.client, { family: 6, vip: VIP6, vport: 80, client: BYPASS_CLIENT6, cport: 1, type: 2, code: 0 });
    // A quoted UDP packet, and time exceeded: same lookup, no flow.
    await sendIcmpError(topo.client, { family: 4, vip: VIP4, vport: 80, client: BYPASS_CLIENT4, cport: 2, type: 11, code: 0, proto: 'udp' });
    expect(await until(async () => (await engine.kernelCounters()).icmpunknown - before.icmpunknown === 3, 3000)).toBe(true);
    expect(ls.flatMap((l) => l.received)).toEqual([]);

    // A live flow (held keep-alive connection): a crafted time-exceeded about its reply goes to its owner.
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:80/`]);
    try {
      const line = new Promise<string>((resolve) => hold.stdout!.setEncoding('utf8').once('data', (s: string) => resolve(s)));
      hold.stdin!.write('go\n');
      const held = JSON.parse(await line) as { rs: string; localPort: number };
      await sendIcmpError(topo.client, { family: 4, vip: VIP4, vport: 80, client: BYPASS_CLIENT4, cport: held.localPort, type: 11, code: 0 });
      const owner = Number(held.rs.slice(2)) - 1;
      expect(await until(() => ls[owner].received.length === 1, 3000)).toBe(true);
      expect(ls[owner].received[0]).toMatchObject({ family: 4, type: 11, src: BYPASS_CLIENT4, dst: VIP4, innerDport: held.localPort });
      ls.forEach((l, i) => {
        if (i !== owner) expect(l.received).toEqual([]);
      });
      expect((await engine.kernelCounters()).icmpunknown - before.icmpunknown).toBe(3);
    } finally {
      hold.kill();
    }
  }, 30000);
});
