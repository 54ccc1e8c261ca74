// VRRP failover of an nft (FULLNAT) service between two real lvsd daemons. Namespaces: a client
// on the front bridge with directors r1 (priority 150) and r2 (100); both directors and two real
// servers on a back bridge. Each director runs `lvsd -n -f CONF` with a vrrp_instance owning the
// VIP and `engine nft`; the real servers report the address they saw, which for FULLNAT
// (masquerade) is the serving director's back address. So every answer says which director's nft
// table carried it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lvsdBin } from '../helpers/paths.js';
import { hasArping, isRoot, makeLab, nsExec, Proc, sleep, type Lab } from '../vrrp/netns-helpers.js';
import { FETCH_JS, SERVER_JS } from './nft-topology.js';

if (!isRoot) console.log('test/netns/nft-vrrp-failover: skipped, needs root for network namespaces, nftables and raw sockets');
if (isRoot && !hasArping) console.log('test/netns/nft-vrrp-failover: skipped, the client follows the VIP by gratuitous ARP: install iputils-arping');
const d = isRoot && hasArping ? describe : describe.skip;

const VIP = '192.0.2.100';
const BACK = { r1: '198.51.100.1', r2: '198.51.100.2' } as const;
const RS = ['198.51.100.11', '198.51.100.12'];
type Director = keyof typeof BACK;
type Reply = { rs?: string; client?: string; error?: string };
type LogLine = { msg?: string; to?: string; services?: string[] };

function conf(name: Director, priority: number, sock: string): string {
  return `global_defs {
    router_id ${name}
}
lvsd_defs {
    engine nft
    drain_timeout 1
    control_socket ${sock}
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority ${priority}
    version 3
    advert_int 0.5
    garp_master_delay 0
    garp_master_repeat 2
    virtual_ipaddress {
        ${VIP}/24
    }
}
virtual_server ${VIP} 80 {
    lvs_sched rr
    lvs_method FULLNAT
    protocol TCP
${RS.map((a) => `    real_server ${a} 8080 {\n    }`).join('\n')}
}
`;
}

d('two lvsd directors: VRRP moves an nft FULLNAT service', () => {
  let lab: Lab;
  const running = new Map<Director, Proc>();

  const start = async (r: Director, priority: number): Promise<Proc> => {
    const f = join(lab.dir, `${r}.conf`);
    const sock = join(lab.dir, `${r}.sock`);
    writeFileSync(f, conf(r, priority, sock));
    const child = spawn('ip', ['netns', 'exec', lab.names[r], process.execPath, lvsdBin, '-n', '-f', f, '--control-socket', sock, '--workers', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    lab.procs.push(child);
    const p = new Proc(child);
    running.set(r, p);
    await p.waitFor(() => logs(p).some((l) => l.msg === 'lvsd started'), 20_000, `${r} started`);
    return p;
  };
  const logs = (p: Proc): LogLine[] => p.events as LogLine[];
  const waitVrrp = (p: Proc, to: string, ms: number) => p.waitFor(() => logs(p).filter((l) => l.msg === 'vrrp state').at(-1)?.to === to, ms, `vrrp ${to}`);
  /** The VIP service's entry in a director's table inet lvsd ('' when the table is absent). */
  const programmed = (r: Director): string => {
    const out = spawnSync('ip', ['netns', 'exec', lab.names[r], 'nft', 'list', 'set', 'inet', 'lvsd', 'svc4'], { encoding: 'utf8' });
    return out.status === 0 ? out.stdout : '';
  };
  const hasTable = (r: Director): boolean => /table inet lvsd\b/.test(nsExec(lab.names[r], ['nft', 'list', 'tables']));
  const fetch = (n: number): Reply[] => {
    const r = spawnSync('ip', ['netns', 'exec', lab.names.cl, process.execPath, '-e', FETCH_JS, `http://${VIP}/`, String(n)], { encoding: 'utf8', timeout: 20_000 });
    return r.status === 0 ? (JSON.parse(r.stdout) as Reply[]) : [{ error: r.stderr }];
  };
  /** Fetches until the serving director is `r` (the client's ARP entry follows the VIP's GARPs). */
  const servedBy = async (r: Director, ms: number): Promise<boolean> => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (fetch(1)[0].client === BACK[r]) return true;
      await sleep(100);
    }
    return false;
  };

  beforeAll(async () => {
    lab = makeLab('nft', ['r1', 'r2']);
    const cl = lab.names.cl;
    // The back network: a second bridge (L2 only) in the client's namespace.
    nsExec(cl, ['ip', 'link', 'add', 'br1', 'type', 'bridge']);
    nsExec(cl, ['ip', 'link', 'set', 'br1', 'up']);
    const attach = (ns: string, peer: string, dev: string, addr: string) => {
      spawnSync('ip', ['link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', cl]);
      nsExec(cl, ['ip', 'link', 'set', peer, 'master', 'br1', 'up']);
      nsExec(ns, ['ip', 'addr', 'add', `${addr}/24`, 'dev', dev]);
      nsExec(ns, ['ip', 'link', 'set', dev, 'up']);
    };
    for (const r of ['r1', 'r2'] as const) {
      attach(lab.names[r], `b-${r}`, 'eth1', BACK[r]);
      nsExec(lab.names[r], ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    }
    const starts: Promise<void>[] = [];
    RS.forEach((addr, i) => {
      const ns = `${lab.names.cl.replace(/-cl$/, '')}-s${i + 1}`;
      lab.names[`s${i + 1}`] = ns;
      spawnSync('ip', ['netns', 'add', ns]);
      nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
      attach(ns, `b-s${i + 1}`, 'eth0', addr);
      const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_JS, `rs${i + 1}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      lab.procs.push(p);
      starts.push(new Promise((resolve) => p.stdout!.once('data', () => resolve())));
    });
    await Promise.all(starts);
  }, 30_000);

  afterAll(() => {
    for (const p of running.values()) p.kill('SIGKILL');
    lab?.cleanup();
  });

  it('MASTER serves through its nft table; SIGKILL -> the BACKUP programs the VIP and serves; preemption brings it back', async () => {
    const a = await start('r1', 150);
    const b = await start('r2', 100);
    await waitVrrp(a, 'MASTER', 10_000);
    await waitVrrp(b, 'BACKUP', 10_000);
    await a.waitFor(() => programmed('r1').includes(VIP), 10_000, 'r1 programs the VIP');
    // The BACKUP holds no VIP, so it has no nft service (and no table unless it was MASTER once).
    expect(programmed('r2')).not.toContain(VIP);
    expect(await servedBy('r1', 10_000)).toBe(true);
    const viaR1 = fetch(4);
    expect(viaR1.map((x) => x.client)).toEqual(Array(4).fill(BACK.r1));
    expect(new Set(viaR1.map((x) => x.rs))).toEqual(new Set(['rs1', 'rs2']));

    // Crash: a killed lvsd cleans nothing up: its table (and the VIP address) stay in r1.
    a.kill('SIGKILL');
    await a.exited();
    running.delete('r1');
    expect(hasTable('r1')).toBe(true);
    expect(programmed('r1')).toContain(VIP);
    await waitVrrp(b, 'MASTER', 10_000);
    await b.waitFor(() => programmed('r2').includes(VIP), 10_000, 'r2 programs the VIP');
    // The client's traffic follows r2's gratuitous ARPs: r1's leftover table sees none of it.
    expect(await servedBy('r2', 10_000)).toBe(true);
    const viaR2 = fetch(4);
    expect(viaR2.map((x) => x.client)).toEqual(Array(4).fill(BACK.r2));
    expect(new Set(viaR2.map((x) => x.rs))).toEqual(new Set(['rs1', 'rs2']));

    // r1 restarts (adopting its leftover table), preempts, reprograms; r2 unprograms the VIP.
    const a2 = await start('r1', 150);
    await waitVrrp(a2, 'MASTER', 10_000);
    await waitVrrp(b, 'BACKUP', 10_000);
    await b.waitFor(() => !programmed('r2').includes(VIP), 10_000, 'r2 unprograms the VIP');
    expect(programmed('r1')).toContain(VIP);
    expect(await servedBy('r1', 10_000)).toBe(true);
    expect(fetch(4).map((x) => x.client)).toEqual(Array(4).fill(BACK.r1));
  }, 90_000);
});
