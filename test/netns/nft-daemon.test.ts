// Root test: the real lvsd daemon with `engine nft` in network namespaces (client, director, three
// real servers). lvsd runs in the director's namespace; the services (NAT rr, FULLNAT wrr) are
// forwarded by the kernel through lvsd's nft table, with lvsd picking each new flow. Checked from
// the outside only: what the real servers saw, lvsadm's listing, nft's table list, the log.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config/index.js';
import { NftForwarder, nftSelector } from '../../src/daemon/nft-forwarder.js';
import { pino } from 'pino';
import { TableDirector } from '../../src/forward/nft/index.js';
import { createTable } from '../../src/ipvs/index.js';
import { CLIENT4, FETCH_JS, HOLD_JS, lvsadmRows as rows, Topology, UDP_JS, VIP4, rs4, counts, type Reply } from './nft-topology.js';
import { stopDaemon } from './nft-engine-lab.js';
import { NsLvsd } from './ns-lvsd.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft daemon netns test: it needs root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

/** On the director namespace's own loopback: no clash with anything outside it. */
const METRICS_PORT = 9917;
const SCRAPE_JS = `fetch(process.argv[1]).then((r) => r.text()).then((t) => console.log(t), (e) => { console.error(String(e)); process.exit(1); });`;

/** FULLNAT source addresses: the virtual_server's own, and lvsd_defs' for the others. */
const SNAT_VS = '198.51.100.5';
const SNAT_DEFS = '198.51.100.6';

function configText(sock: string, fullnatWeights: number[]): string {
  const rs = (i: number, weight: number) => [
    `    real_server ${rs4(i)} 8080 {`,
    `        weight ${weight}`,
    '        TCP_CHECK {',
    '            connect_timeout 1',
    '            retry 1',
    '            delay_before_retry 0',
    '        }',
    '    }',
  ];
  return [
    'global_defs {', '    router_id lvsd_nft_daemon', '}',
    'lvsd_defs {', '    engine nft', `    fullnat_snat ${SNAT_DEFS} 2001:db8:2::6`, `    control_socket ${sock}`, '    drain_timeout 1', `    metrics_listen 127.0.0.1:${METRICS_PORT}`, '}',
    `virtual_server ${VIP4} 8000 {`, '    lvs_sched rr', '    lvs_method NAT', '    protocol TCP', '    delay_loop 1',
    ...rs(1, 1), ...rs(2, 1), ...rs(3, 1), '}',
    `virtual_server ${VIP4} 9000 {`, '    lvs_sched wrr', '    lvs_method FULLNAT', `    fullnat_snat ${SNAT_VS}`, '    protocol TCP', '    delay_loop 1',
    ...rs(1, fullnatWeights[0]), ...rs(2, fullnatWeights[1]), ...rs(3, fullnatWeights[2]), '}',
    `virtual_server ${VIP4} 9100 {`, '    lvs_sched rr', '    lvs_method FULLNAT', '    protocol TCP', '    delay_loop 1', ...rs(1, 1), '}',
  ].join('\n') + '\n';
}

d('lvsd with engine nft (daemon in a network namespace)', () => {
  const topo = new Topology();
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-nft-daemon-'));
  const conf = join(dir, 'lvsd.conf');
  const sock = join(dir, 'control.sock');
  let lvsd: NsLvsd;

  const fetch = async (url: string, n: number): Promise<Reply[]> => JSON.parse(await topo.runClient(FETCH_JS, [url, String(n)])) as Reply[];
  const lvsadm = (...args: string[]): string => lvsd.lvsadm(...args);
  const tables = (): string => spawnSync('ip', ['netns', 'exec', topo.director, 'nft', 'list', 'tables'], { encoding: 'utf8' }).stdout;
  const until = (cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> => lvsd.until(cond, what, timeoutMs);
  const listed = (): Map<string, number[]> => rows(lvsadm('-L', '-n'));

  beforeAll(async () => {
    await topo.create();
    for (const a of [SNAT_VS, SNAT_DEFS]) topo.exec(topo.director, ['ip', 'addr', 'add', `${a}/24`, 'dev', 'br0']);
    writeFileSync(conf, configText(sock, [1, 2, 3]));
    lvsd = new NsLvsd(topo.director, conf, sock);
    await lvsd.started();
    expect(lvsd.proc.exitCode).toBeNull();
  }, 90000);

  afterAll(async () => {
    // lvsd died or was killed: remove what it left in the director's namespace with it.
    await stopDaemon(lvsd, topo, dir);
  }, 30000);

  it('programs table inet lvsd for the nft services and the proxy listens on none of them', () => {
    expect(tables()).toMatch(/table inet lvsd\b/);
    const started = lvsd.logs.find((l) => l.msg === 'nft forwarding started') as { services?: string[] } | undefined;
    expect(started?.services?.sort()).toEqual([`TCP ${VIP4}:8000`, `TCP ${VIP4}:9000`, `TCP ${VIP4}:9100`]);
    expect(lvsd.logs.filter((l) => l.msg === 'proxy listening')).toEqual([]);
  });

  it('NAT rr: the real servers take turns and see the real client', async () => {
    const rs = await fetch(`http://${VIP4}:8000/`, 6);
    expect(rs.every((r) => r.client === CLIENT4)).toBe(true);
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 2, rs3: 2 });
    expect(rs.slice(3).map((r) => r.rs)).toEqual(rs.slice(0, 3).map((r) => r.rs));
  });

  it('FULLNAT wrr 1:2:3: exact shares, the real servers see the virtual_server\'s fullnat_snat address', async () => {
    const rs = await fetch(`http://${VIP4}:9000/`, 6);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(6).fill(SNAT_VS));
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 2, rs3: 3 });
  });

  it('FULLNAT without its own fullnat_snat: the real server sees lvsd_defs\' address', async () => {
    const rs = await fetch(`http://${VIP4}:9100/`, 2);
    expect(rs.map((r) => r.client ?? r.error)).toEqual([SNAT_DEFS, SNAT_DEFS]);
  });

  it('lvsadm -L -n --stats: exact connection counts per service and real server, conntrack bytes folded in', async () => {
    const stats = (): Map<string, number[]> => rows(lvsadm('-L', '-n', '--stats', '--exact'));
    // Columns: Conns InPkts OutPkts InBytes OutBytes. Conns count at the pick; bytes on the refresh.
    await until(() => (stats().get(`TCP ${VIP4}:9000 -> ${rs4(3)}:8080`)?.[3] ?? 0) > 0, 'conntrack bytes in the table');
    const s = stats();
    expect(s.get(`TCP ${VIP4}:8000`)?.[0]).toBe(6);
    expect(s.get(`TCP ${VIP4}:9000`)?.[0]).toBe(6);
    for (let i = 1; i <= 3; i++) {
      expect(s.get(`TCP ${VIP4}:8000 -> ${rs4(i)}:8080`)?.[0]).toBe(2);
      expect(s.get(`TCP ${VIP4}:9000 -> ${rs4(i)}:8080`)?.[0]).toBe(i);
      // Every connection carried a request and a reply: packets both ways.
      expect(s.get(`TCP ${VIP4}:9000 -> ${rs4(i)}:8080`)?.[1]).toBeGreaterThanOrEqual(3 * i);
      expect(s.get(`TCP ${VIP4}:9000 -> ${rs4(i)}:8080`)?.[2]).toBeGreaterThanOrEqual(3 * i);
    }
  }, 30000);

  it('metrics: the kernel\'s nft counters appear as lvsd_dropped_total reasons', async () => {
    // One UDP datagram to a VIP port with no service: counted once by the kernel (`unknown`).
    const reply = JSON.parse(await topo.runClient(UDP_JS, [VIP4, '5400', '10'])) as Reply;
    expect(reply.error).toBe('timeout');
    const scrape = (): string => spawnSync('ip', ['netns', 'exec', topo.director, process.execPath, '-e', SCRAPE_JS, `http://127.0.0.1:${METRICS_PORT}/metrics`], { encoding: 'utf8' }).stdout;
    const value = (text: string, reason: string): number | undefined => {
      const m = new RegExp(`^lvsd_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    await until(() => value(scrape(), 'nft_unknown_service') === 1, 'nft_unknown_service = 1 in the metrics');
    const text = scrape();
    expect(value(text, 'nft_no_dest')).toBe(0);
    expect(value(text, 'nft_nosyn')).toBe(0);
    expect(value(text, 'nft_unscheduled')).toBe(0);
  }, 30000);

  it('TCP_CHECK failing takes a real server out: no new connections; back in when it passes', async () => {
    const rs3 = `TCP ${VIP4}:8000 -> ${rs4(3)}:8080`;
    topo.exec(topo.rs[2], ['nft', 'add table inet block; add chain inet block in { type filter hook input priority 0; }; add rule inet block in tcp dport 8080 reject with tcp reset']);
    try {
      await until(() => !listed().has(rs3), 'rs3 removed by its health check');
      const rs = await fetch(`http://${VIP4}:8000/`, 6);
      expect(counts(rs)).toEqual({ rs1: 3, rs2: 3 });
    } finally {
      topo.exec(topo.rs[2], ['nft', 'delete table inet block']);
    }
    await until(() => listed().has(rs3), 'rs3 back after its health check passes');
    // Picked at once (no wait for the reprogram): its mark is still in the kernel's maps.
    const back = await fetch(`http://${VIP4}:8000/`, 6);
    expect(counts(back)).toEqual({ rs1: 2, rs2: 2, rs3: 2 });
  }, 60000);

  it('SIGHUP with new weights: the held flow carries on, new flows follow the new weights', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:9000/`]);
    const lines = createInterface({ input: hold.stdout! });
    const next = (): Promise<Reply> => new Promise((resolve) => lines.once('line', (l) => resolve(JSON.parse(l) as Reply)));
    try {
      const first = next();
      hold.stdin!.write('go\n');
      const a = await first;
      expect(a.rs).toMatch(/^rs[123]$/);

      writeFileSync(conf, configText(sock, [3, 2, 1]));
      const from = lvsd.logs.length;
      lvsd.proc.kill('SIGHUP');
      await until(() => lvsd.logs.slice(from).some((l) => l.msg === 'reload applied'), 'reload applied');
      const w = listed();
      expect([1, 2, 3].map((i) => w.get(`TCP ${VIP4}:9000 -> ${rs4(i)}:8080`)?.[0])).toEqual([3, 2, 1]);

      const second = next();
      hold.stdin!.write('go\n');
      const b = await second;
      expect(b.error).toBeUndefined();
      expect([b.rs, b.localPort]).toEqual([a.rs, a.localPort]);

      const rs = await fetch(`http://${VIP4}:9000/`, 6);
      expect(counts(rs)).toEqual({ rs1: 3, rs2: 2, rs3: 1 });
    } finally {
      hold.kill('SIGKILL');
    }
  }, 60000);

  it('SIGTERM: lvsd exits 0 and table inet lvsd is gone', async () => {
    lvsd.proc.kill('SIGTERM');
    expect(await lvsd.exited).toBe(0);
    expect(tables()).not.toMatch(/table inet lvsd\b/);
    expect(lvsd.logs.some((l) => l.msg === 'nft forwarding stopped')).toBe(true);
  }, 30000);
});

// The pure parts the daemon relies on (no root needed): the engine choice per service and the
// folding of conntrack's view into the table.
describe('engine choice and conntrack folding (pure)', () => {
  it('nftSelector: virtual_server engine, else lvsd_defs engine, else proxy; unknown keys get the default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-nft-sel-'));
    try {
      const load = (text: string) => {
        writeFileSync(join(dir, 'c.conf'), text);
        const r = loadConfig(join(dir, 'c.conf'));
        if (!r.config) throw new Error(JSON.stringify(r.diagnostics.items));
        return nftSelector(r.config);
      };
      const vs = (head: string, engine?: string) => `virtual_server ${head} {\n${engine ? `    engine ${engine}\n` : ''}    protocol TCP\n    real_server 198.51.100.11 80 {\n    }\n}\n`;
      const tcp = (addr: string, port: number) => ({ kind: 'addr', protocol: 'tcp', addr, port }) as const;
      const sel = load(`lvsd_defs {\n    engine nft\n}\n${vs('203.0.113.1 80')}${vs('203.0.113.2 80', 'proxy')}${vs('fwmark 7', 'nft')}`);
      expect(sel(tcp('203.0.113.1', 80))).toBe(true);
      expect(sel(tcp('203.0.113.2', 80))).toBe(false);
      expect(sel({ kind: 'fwmark', fwmark: 7, family: 4 })).toBe(true);
      expect(sel(tcp('203.0.113.9', 81))).toBe(true); // added with lvsadm: lvsd_defs' engine
      const plain = load(`${vs('203.0.113.1 80')}${vs('203.0.113.2 80', 'nft')}`);
      expect(plain(tcp('203.0.113.1', 80))).toBe(false);
      expect(plain(tcp('203.0.113.2', 80))).toBe(true);
      expect(plain(tcp('203.0.113.9', 81))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('TableDirector: dumps fold counter growth once, fix states, and drop flows conntrack lost', () => {
    const table = createTable();
    const dest = (addr: string) => ({ addr, port: 8080, weight: 1, method: 'NAT' as const, uThreshold: 0, lThreshold: 0 });
    table.applySpec({ services: [{ key: { kind: 'addr', protocol: 'tcp', addr: VIP4, port: 80 }, scheduler: 'rr', dests: [dest(rs4(1)), dest(rs4(2))] }] }, 0);
    let now = 1000;
    const director = new TableDirector(table, () => now);
    const flow = (sport: number) => ({ family: 4 as const, proto: 'tcp' as const, saddr: CLIENT4, sport, daddr: VIP4, dport: 80, mark: 0 });
    const a = director.pickFor(flow(40000), now);
    const b = director.pickFor(flow(40001), now);
    expect(a.kind === 'dest' && b.kind === 'dest' && a.destId !== b.destId).toBe(true);
    const svc = table.services[0];
    const sample = (sport: number, state: string, n: number) => ({
      proto: 'tcp' as const, client: { addr: CLIENT4, port: sport }, vip: { addr: VIP4, port: 80 }, state,
      counters: { inPkts: n, inBytes: 100 * n, outPkts: 2 * n, outBytes: 1000 * n },
    });
    director.syncFlows([sample(40000, 'ESTABLISHED', 3), sample(40001, 'SYN_SENT', 1)], now);
    expect(svc.stats).toEqual({ conns: 2, inPkts: 4, inBytes: 400, outPkts: 8, outBytes: 4000 });
    expect(svc.dests.map((d) => d.activeConns + d.inactiveConns * 10).sort()).toEqual([1, 10]);
    // The same figures again add nothing; growth adds the difference only.
    director.syncFlows([sample(40000, 'ESTABLISHED', 3), sample(40001, 'SYN_SENT', 1)], now);
    director.syncFlows([sample(40000, 'ESTABLISHED', 5), sample(40001, 'SYN_SENT', 1)], now);
    expect(svc.stats).toEqual({ conns: 2, inPkts: 6, inBytes: 600, outPkts: 12, outBytes: 6000 });
    // DESTROY with final counters: the last growth counted, the connection gone.
    director.onConnState({ event: 'destroy', serviceId: svc.keyText, destId: 0, proto: 'tcp', client: { addr: CLIENT4, port: 40000 }, vip: { addr: VIP4, port: 80 }, state: 'ASSURED', expiresS: 0, counters: { inPkts: 6, inBytes: 600, outPkts: 12, outBytes: 6000 } });
    expect(svc.stats.inBytes).toBe(700);
    expect(director.trackedFlows).toBe(1);
    // 40001 vanished from the dumps (its DESTROY event was lost): kept within the grace, then dropped.
    now += 4000;
    director.syncFlows([], now);
    expect(director.trackedFlows).toBe(1);
    now += 2000;
    director.syncFlows([], now);
    expect(director.trackedFlows).toBe(0);
    expect(svc.dests.map((d) => d.activeConns + d.inactiveConns)).toEqual([0, 0]);
    expect(svc.stats.conns).toBe(2);
  });

  it('NftForwarder refuses TUN and mixed methods with a logged reason, never throws, starts nothing', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const table = createTable();
    const dest = (addr: string, method: 'TUN' | 'NAT' | 'DR') => ({ addr, port: 80, weight: 1, method, uThreshold: 0, lThreshold: 0 });
    table.applySpec({ services: [
      { key: { kind: 'addr', protocol: 'tcp', addr: VIP4, port: 80 }, scheduler: 'rr', dests: [dest(rs4(1), 'TUN')] },
      { key: { kind: 'addr', protocol: 'tcp', addr: VIP4, port: 81 }, scheduler: 'rr', dests: [dest(rs4(1), 'NAT'), dest(rs4(2), 'DR')] },
    ] }, 0);
    const fwd = new NftForwarder(log, () => 0);
    await fwd.start(table, () => true);
    expect(fwd.running).toBe(false);
    const errors = lines.filter((l) => l.level === 50).map((l) => [l.vs, l.msg]);
    expect(errors).toEqual([
      [`TCP ${VIP4}:80`, expect.stringMatching(/TUN is not available with engine nft/)],
      [`TCP ${VIP4}:81`, expect.stringMatching(/mix forwarding methods \(NAT, DR\)|mix forwarding methods \(DR, NAT\)/)],
    ]);
    // Logged once per reason, not at every reconcile.
    await fwd.reconcile();
    expect(lines.filter((l) => l.level === 50)).toHaveLength(2);
    await fwd.stop();
  });
});
