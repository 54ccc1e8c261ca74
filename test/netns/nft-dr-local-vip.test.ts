// DR when the director holds the VIP (as VRRP does): the VIPs are on the director's server-side
// interface and the router reaches them on-link (ARP/ND answered by the director only; the real
// servers keep theirs on lo, silent). Without lvsd's `dup` tables (dr-local.ts) the local table
// would deliver the packets to the director itself. Root test in the router topology.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DestSpec, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable } from '../../src/forward/nft/index.js';
import { drLocalCounters } from '../../src/forward/nft/dr-local.js';
import { CommandRunner } from '../../src/forward/nft/commands.js';
import { BYPASS_CLIENT4, BYPASS_CLIENT6, BYPASS_DIRECTOR4, BYPASS_DIRECTOR6, DrBypassTopology } from './nft-dr-topology.js';
import { FETCH_JS, UDP_JS, VIP4, VIP6, rs4, rs6, counts, type Reply } from './nft-topology.js';
import { startEngine, stopDaemon, stopEngine, tableWith } from './nft-engine-lab.js';
import { NsLvsd } from './ns-lvsd.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft DR local-VIP tests: they need root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const dest = (addr: string, port: number, weight: number): DestSpec => ({ addr, port, weight, method: 'DR', uThreshold: 0, lThreshold: 0 });
const specs = (): ServiceSpec[] => [
  { key: { kind: 'addr', protocol: 'tcp', addr: VIP4, port: 80 }, scheduler: 'wrr', dests: [1, 2, 3].map((i) => dest(rs4(i), 80, i)) },
  { key: { kind: 'addr', protocol: 'udp', addr: VIP4, port: 5353 }, scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs4(i), 5353, 1)) },
  { key: { kind: 'addr', protocol: 'tcp', addr: VIP6, port: 80 }, scheduler: 'rr', dests: [1, 2, 3].map((i) => dest(rs6(i), 80, 1)) },
  // fwmark DR: the operator marks VIP4 tcp/8080 with 7 (below).
  { key: { kind: 'fwmark', fwmark: 7, family: 4 }, scheduler: 'wrr', dests: [1, 2, 3].map((i) => dest(rs4(i), 0, 4 - i)) },
];
const OP_TABLE = `
table inet op {
  chain m {
    type filter hook prerouting priority -150; policy accept;
    ip daddr ${VIP4} tcp dport 8080 meta mark set 7
  }
}`;

d('nft engine: DR to a VIP the director holds', () => {
  const topo = new DrBypassTopology();
  let table: IpvsTable;
  let engine: NftEngine;
  const now = () => performance.now();
  const services = () => servicesFromTable(table);
  const fetch = async (url: string, n: number): Promise<Reply[]> => JSON.parse(await topo.runClient(FETCH_JS, [url, String(n)])) as Reply[];
  const runner = () => new CommandRunner(topo.director);
  const nftTables = (): string => spawnSync('ip', ['netns', 'exec', topo.director, 'nft', 'list', 'tables'], { encoding: 'utf8' }).stdout;
  /** The router reaches the VIPs on-link, or routes them via the director's own address. */
  const vipsLocal = (local: boolean): void => {
    const v = local ? 'add' : 'del';
    topo.exec(topo.director, ['ip', 'addr', v, `${VIP4}/32`, 'dev', 'eth0']);
    topo.exec(topo.director, ['ip', 'addr', v, `${VIP6}/128`, 'dev', 'eth0', ...(local ? ['nodad'] : [])]);
    topo.exec(topo.router, ['ip', 'route', 'replace', `${VIP4}/32`, ...(local ? ['dev', 'br0'] : ['via', BYPASS_DIRECTOR4])]);
    topo.exec(topo.router, ['ip', '-6', 'route', 'replace', `${VIP6}/128`, ...(local ? ['dev', 'br0'] : ['via', BYPASS_DIRECTOR6])]);
    topo.exec(topo.router, ['ip', 'neigh', 'flush', 'dev', 'br0']);
  };

  beforeAll(async () => {
    await topo.create();
    vipsLocal(true);
    const r = spawnSync('ip', ['netns', 'exec', topo.director, 'nft', '-f', '-'], { input: OP_TABLE, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    table = tableWith(specs(), now());
    engine = await startEngine(topo, table, services(), { queueNum: 14 }, now);
  }, 60000);

  afterAll(async () => {
    await stopEngine(engine, topo);
  }, 30000);

  it('IPv4 VIP service: wrr 1:2:3 exact, the real servers see the real client, packets go by dup', async () => {
    const before = await engine.kernelCounters();
    const rs = await fetch(`http://${VIP4}:80/`, 12);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(12).fill(BYPASS_CLIENT4));
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 4, rs3: 6 });
    const after = await engine.kernelCounters();
    // Each HTTP flow sends at least SYN, ACK, request, FIN.
    expect(after.drLocal - before.drLocal).toBeGreaterThanOrEqual(12 * 4);
    expect(after.drLocalNoRoute).toBe(0);
  });

  it('IPv4 UDP: round robin, real client seen', async () => {
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(JSON.parse(await topo.runClient(UDP_JS, [VIP4, '5353', '100'])) as Reply);
    expect(replies.map((r) => r.client ?? r.error)).toEqual(Array(3).fill(BYPASS_CLIENT4));
    expect(counts(replies)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
  });

  it('fragmented UDP (3000 bytes): reassembled at defrag, cloned whole and refragmented towards the real server', async () => {
    const before = await engine.kernelCounters();
    const replies: (Reply & { len?: number })[] = [];
    for (let i = 0; i < 3; i++) replies.push(JSON.parse(await topo.runClient(UDP_JS, [VIP4, '5353', '3000'])) as Reply);
    expect(replies.map((r) => [r.client ?? r.error, r.len])).toEqual(Array(3).fill([BYPASS_CLIENT4, 3000]));
    expect(counts(replies)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
    const after = await engine.kernelCounters();
    expect(after.fragments - before.fragments).toBe(9);
    expect(after.drLocal - before.drLocal).toBe(3);
  });

  it('IPv6 VIP service: round robin, real client seen', async () => {
    const rs = await fetch(`http://[${VIP6}]:80/`, 6);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(6).fill(BYPASS_CLIENT6));
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 2, rs3: 2 });
  });

  it('fwmark DR service: wrr 3:2:1 exact, real client seen', async () => {
    const rs = await fetch(`http://${VIP4}:8080/`, 12);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(12).fill(BYPASS_CLIENT4));
    expect(counts(rs)).toEqual({ rs1: 6, rs2: 4, rs3: 2 });
  });

  it('a VIP routed to the director (not local) still goes by the policy routes, not by dup', async () => {
    vipsLocal(false);
    try {
      const before = await drLocalCounters(runner());
      const rs = await fetch(`http://${VIP4}:80/`, 6);
      expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(6).fill(BYPASS_CLIENT4));
      expect(new Set(rs.map((r) => r.rs)).size).toBeGreaterThan(1);
      expect((await drLocalCounters(runner())).drlocal).toBe(before.drlocal);
    } finally {
      vipsLocal(true);
    }
  });

  it('restart rebuilds the ip/ip6 tables; stop removes them', async () => {
    engine.detach();
    engine = await startEngine(topo, table, services(), { queueNum: 14 }, now);
    expect(nftTables()).toMatch(/table ip lvsd[\s\S]*table ip6 lvsd/);
    expect(counts(await fetch(`http://${VIP4}:80/`, 6))).toEqual({ rs1: 1, rs2: 2, rs3: 3 });
    await engine.stop();
    expect(nftTables()).not.toMatch(/lvsd/);
    await engine.start(services());
  }, 60000);
});

/** The usual keepalived LVS-DR set-up: lvsd's own VRRP instance puts the VIP on the director. */
function daemonConf(sock: string): string {
  return [
    'lvsd_defs {', '    engine nft', `    control_socket ${sock}`, '    drain_timeout 1', '}',
    'vrrp_instance VI_1 {', '    state BACKUP', '    interface eth0', '    virtual_router_id 61', '    priority 150', '    version 3',
    '    advert_int 0.5', '    garp_master_delay 0', '    virtual_ipaddress {', `        ${VIP4}/32`, '    }', '}',
    `virtual_server ${VIP4} 80 {`, '    lvs_sched wrr', '    lvs_method DR', '    protocol TCP',
    ...[1, 2, 3].flatMap((i) => [`    real_server ${rs4(i)} 80 {`, `        weight ${i}`, '    }']),
    '}',
  ].join('\n') + '\n';
}

d('lvsd (engine nft, DR) whose VRRP instance holds the VIP', () => {
  const topo = new DrBypassTopology();
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-nft-dr-local-'));
  const sock = join(dir, 'control.sock');
  let lvsd: NsLvsd;
  const ns = (args: string[]): string => spawnSync('ip', ['netns', 'exec', topo.director, ...args], { encoding: 'utf8' }).stdout;

  beforeAll(async () => {
    await topo.create();
    // The router reaches the VIP on-link: whoever answers ARP for it (the VRRP master) gets it.
    topo.exec(topo.router, ['ip', 'route', 'replace', `${VIP4}/32`, 'dev', 'br0']);
    const conf = join(dir, 'lvsd.conf');
    writeFileSync(conf, daemonConf(sock));
    lvsd = new NsLvsd(topo.director, conf, sock);
    await lvsd.started();
    expect({ exit: lvsd.proc.exitCode, stderr: lvsd.stderr }).toEqual({ exit: null, stderr: '' });
  }, 90000);

  afterAll(async () => {
    await stopDaemon(lvsd, topo, dir);
  }, 30000);

  it('as MASTER it holds the VIP and forwards: wrr 1:2:3 exact, the real client seen', async () => {
    await lvsd.untilVrrp('MASTER', 'VRRP MASTER', 20000);
    await lvsd.until(() => ns(['ip', '-4', 'addr', 'show', 'dev', 'eth0']).includes(`${VIP4}/32`) && /table ip lvsd/.test(ns(['nft', 'list', 'tables'])), 'VIP held and table ip lvsd programmed', 20000);
    const rs = JSON.parse(await topo.runClient(FETCH_JS, [`http://${VIP4}/`, '12'])) as Reply[];
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(12).fill(BYPASS_CLIENT4));
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 4, rs3: 6 });
  }, 60000);

  it('SIGTERM: exit 0, tables ip/ip6/inet lvsd gone', async () => {
    lvsd.proc.kill('SIGTERM');
    expect(await lvsd.exited).toBe(0);
    expect(ns(['nft', 'list', 'tables'])).not.toMatch(/lvsd/);
  }, 30000);
});
