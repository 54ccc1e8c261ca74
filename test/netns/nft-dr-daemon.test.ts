// The real lvsd (`lvsd -n -f CONF`, engine nft, lvs_method DR) in the director of the DR topology
// where replies bypass the director (nft-dr-topology.ts). Checked from the outside: what the real
// servers saw, `lvsadm -L -n` active/inactive counts and `lvsadm -L -n -c` entries of DR flows
// (read from lvsd's nft flow sets, not conntrack), a SIGHUP with new weights under a held flow,
// and a clean SIGTERM (table and policy-routing rules gone).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BYPASS_CLIENT4, DrBypassTopology } from './nft-dr-topology.js';
import { FETCH_JS, HOLD_JS, lvsadmRows, VIP4, rs4, counts, type Reply } from './nft-topology.js';
import { stopDaemon } from './nft-engine-lab.js';
import { NsLvsd } from './ns-lvsd.js';
import { sendIcmpError } from './nft-dr-icmp-tools.js';

const METRICS_PORT = 9931;
const SCRAPE_JS = `fetch(process.argv[1]).then((r) => r.text()).then((t) => console.log(t), (e) => { console.error(String(e)); process.exit(1); });`;

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft DR daemon netns test: it needs root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

function configText(sock: string, weights: number[]): string {
  return [
    'lvsd_defs {', '    engine nft', `    control_socket ${sock}`, '    drain_timeout 1', `    metrics_listen 127.0.0.1:${METRICS_PORT}`, '}',
    `virtual_server ${VIP4} 80 {`, '    lvs_sched wrr', '    lvs_method DR', '    protocol TCP',
    ...[1, 2, 3].flatMap((i) => [`    real_server ${rs4(i)} 80 {`, `        weight ${weights[i - 1]}`, '    }']),
    '}',
    // fwmark DR: the operator's table inet op marks TCP to VIP:8080 with 7.
    'virtual_server fwmark 7 {', '    lvs_sched rr', '    lvs_method DR', '    protocol TCP',
    ...[1, 2, 3].flatMap((i) => [`    real_server ${rs4(i)} 8080 {`, '        weight 1', '    }']),
    '}',
  ].join('\n') + '\n';
}

d('lvsd with engine nft, DR, replies bypassing the director', () => {
  const topo = new DrBypassTopology();
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-nft-dr-daemon-'));
  const conf = join(dir, 'lvsd.conf');
  const sock = join(dir, 'control.sock');
  let lvsd: NsLvsd;

  const fetch = async (n: number): Promise<Reply[]> => JSON.parse(await topo.runClient(FETCH_JS, [`http://${VIP4}/`, String(n)])) as Reply[];
  const lvsadm = (...args: string[]): string => lvsd.lvsadm(...args);
  // Generous: lvsd refreshes every 2 s, backing off to 10x a dump's duration on a loaded machine.
  const until = (cond: () => boolean, what: string, timeoutMs = 40000): Promise<void> => lvsd.until(cond, what, timeoutMs);
  /** [weight, ActiveConn, InActConn] of a real server in `lvsadm -L -n`. */
  const row = (i: number): number[] => lvsadmRows(lvsadm('-L', '-n')).get(`TCP ${VIP4}:80 -> ${rs4(i)}:80`) ?? [];
  /** `lvsadm -L -n -c` lines as [state, source, virtual, destination]. */
  const entries = (): string[][] => lvsadm('-L', '-n', '-c').split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(/\s+/).slice(2));

  beforeAll(async () => {
    await topo.create();
    const op = spawnSync('ip', ['netns', 'exec', topo.director, 'nft', '-f', '-'], {
      input: `table inet op {\n chain m {\n type filter hook prerouting priority raw - 10;\n ip daddr ${VIP4} tcp dport 8080 meta mark set 7\n }\n}\n`, encoding: 'utf8' });
    expect(op.stderr).toBe('');
    writeFileSync(conf, configText(sock, [1, 1, 1]));
    lvsd = new NsLvsd(topo.director, conf, sock);
    await lvsd.started();
    expect({ exit: lvsd.proc.exitCode, stderr: lvsd.stderr, log: lvsd.logs.slice(-3) }).toEqual({ exit: null, stderr: '', log: expect.anything() });
  }, 90000);

  afterAll(async () => {
    await stopDaemon(lvsd, topo, dir);
  }, 30000);

  it('closed flows: each real server saw the real client; lvsadm shows them inactive, -c lists them', async () => {
    const rs = await fetch(6);
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(6).fill(BYPASS_CLIENT4));
    expect(counts(rs)).toEqual({ rs1: 2, rs2: 2, rs3: 2 });
    // Picked flows start SYN_RECV (inactive); lvsd's 2 s refresh reads the flow sets' FIN_WAIT.
    await until(() => entries().filter((e) => e[0] === 'FIN_WAIT').length === 6, 'six FIN_WAIT entries after a refresh');
    expect([1, 2, 3].map((i) => row(i))).toEqual([[1, 0, 2], [1, 0, 2], [1, 0, 2]]);
    const closed = entries().filter((e) => e[1].startsWith(`${BYPASS_CLIENT4}:`));
    expect(closed).toHaveLength(6);
    expect(closed.map((e) => [e[0], e[2]])).toEqual(Array(6).fill(['FIN_WAIT', `${VIP4}:80`]));
  }, 60000);

  it('a held keep-alive flow is ESTABLISHED and active; it survives a SIGHUP with new weights', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}/`]);
    const lines = createInterface({ input: hold.stdout! });
    const next = (): Promise<Reply> => new Promise((resolve) => {
      lines.once('line', (l) => resolve(JSON.parse(l) as Reply));
      hold.stdin!.write('go\n');
    });
    try {
      const a = await next();
      const held = Number(a.rs!.slice(2));
      await until(() => row(held)[1] === 1, 'ActiveConn 1 on the held flow\'s real server');
      expect(entries().filter((e) => e[0] === 'ESTABLISHED')).toEqual([['ESTABLISHED', `${BYPASS_CLIENT4}:${a.localPort}`, `${VIP4}:80`, `${rs4(held)}:80`]]);

      writeFileSync(conf, configText(sock, [1, 2, 3]));
      const from = lvsd.logs.length;
      lvsd.proc.kill('SIGHUP');
      await until(() => lvsd.logs.slice(from).some((l) => l.msg === 'reload applied'), 'reload applied');
      const b = await next();
      expect([b.rs, b.localPort]).toEqual([a.rs, a.localPort]);
      const fresh = await fetch(6);
      expect(counts(fresh)).toEqual({ rs1: 1, rs2: 2, rs3: 3 });
      expect(row(held)[1]).toBe(1);
    } finally {
      hold.kill('SIGKILL');
    }
  }, 90000);

  it('fwmark DR (virtual_server fwmark 7, lvs_method DR): real client seen, rr, flows listed and inactive once closed', async () => {
    const rs = JSON.parse(await topo.runClient(FETCH_JS, [`http://${VIP4}:8080/`, '3'])) as Reply[];
    expect(rs.map((r) => r.client ?? r.error)).toEqual(Array(3).fill(BYPASS_CLIENT4));
    expect(counts(rs)).toEqual({ rs1: 1, rs2: 1, rs3: 1 });
    /** The "->" rows under "FWM  7" in `lvsadm -L -n`: [weight, ActiveConn, InActConn]. */
    const fwmRows = (): number[][] => {
      const lines = lvsadm('-L', '-n').split('\n');
      const at = lines.findIndex((l) => /^FWM\s+7\b/.test(l.trim()));
      const out: number[][] = [];
      for (const l of lines.slice(at + 1)) {
        const f = l.trim().split(/\s+/);
        if (f[0] !== '->') break;
        out.push(f.slice(3).filter((x) => /^\d+$/.test(x)).map(Number));
      }
      return out;
    };
    // Picked flows start SYN_RECV; lvsd's 2 s refresh reads FIN_WAIT from the flow sets.
    const fwm = () => entries().filter((e) => e[2] === `${VIP4}:8080`).map((e) => e[0]);
    await until(() => JSON.stringify(fwm()) === JSON.stringify(Array(3).fill('FIN_WAIT')), 'three FIN_WAIT fwmark entries after a refresh');
    expect(fwmRows()).toEqual([[1, 0, 1], [1, 0, 1], [1, 0, 1]]);
  }, 60000);

  it('an ICMP error to the VIP about no flow is dropped and counted as nft_icmp_unknown in the metrics', async () => {
    await sendIcmpError(topo.client, { family: 4, vip: VIP4, vport: 80, client: BYPASS_CLIENT4, cport: 1, type: 3, code: 4 });
    const scrape = (): string => spawnSync('ip', ['netns', 'exec', topo.director, process.execPath, '-e', SCRAPE_JS, `http://127.0.0.1:${METRICS_PORT}/metrics`], { encoding: 'utf8' }).stdout;
    const value = (reason: string): number | undefined => {
      const m = new RegExp(`^lvsd_dropped_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(scrape());
      return m ? Number(m[1]) : undefined;
    };
    await until(() => value('nft_icmp_unknown') === 1, 'nft_icmp_unknown = 1 in the metrics');
  }, 60000);

  it('SIGTERM: exit 0, table inet lvsd and the DR policy-routing rules are gone', async () => {
    lvsd.proc.kill('SIGTERM');
    expect(await lvsd.exited).toBe(0);
    const ns = (args: string[]) => spawnSync('ip', ['netns', 'exec', topo.director, ...args], { encoding: 'utf8' }).stdout;
    expect(ns(['nft', 'list', 'tables'])).not.toMatch(/table inet lvsd\b/);
    expect(ns(['ip', 'rule', 'show'])).not.toMatch(/31000/);
  }, 30000);
});
