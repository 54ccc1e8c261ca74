// The real lvsd daemon (dist/src/bin/lvsd.js) on two directors in network namespaces: VRRP elects
// one, the proxy engine serves the VIP only there, and a client on the bridge follows the VIP
// through a crash, a restart with preemption, a graceful stop and a weight-only reload.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lvsdBin } from '../helpers/paths.js';
import { addrs, hasArping, isRoot, makeLab, nsExec, Proc, sleep, type Lab } from '../vrrp/netns-helpers.js';

if (!isRoot) console.log('test/netns/vrrp-daemon: skipped, needs root for network namespaces and raw sockets');
if (isRoot && !hasArping) console.log('test/netns/vrrp-daemon: skipped, the client follows the VIP by gratuitous ARP: install iputils-arping');
const d = isRoot && hasArping ? describe : describe.skip;

const VIP = '192.0.2.100';
const DIRECTORS = ['r1', 'r2'] as const;
type Director = (typeof DIRECTORS)[number];

/** The file each director runs: VRRP v3 at 0.1 s (fast elections), the VIP served by the proxy. */
function conf(name: Director, priority: number, weight = 1, drainS = 1): string {
  return `global_defs {
    router_id ${name}
}
lvsd_defs {
    drain_timeout ${drainS}
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ${priority}
    version 3
    advert_int 0.1
    garp_master_delay 0
    garp_master_repeat 2
    virtual_ipaddress {
        ${VIP}/24
    }
}
virtual_server ${VIP} 80 {
    lvs_sched wrr
    protocol TCP
    real_server 127.0.0.1 8080 {
        weight ${weight}
    }
}
`;
}

type LogLine = { msg?: string; instance?: string; from?: string; to?: string; event?: { type?: string } };

d('lvsd daemon: VRRP -> VIP -> proxy engine', () => {
  let lab: Lab;
  const running = new Map<Director, Proc>();
  const files = (r: Director) => ({ conf: join(lab.dir, `${r}.conf`), sock: join(lab.dir, `${r}.sock`) });

  const start = async (r: Director, priority: number, drainS = 1): Promise<Proc> => {
    const f = files(r);
    writeFileSync(f.conf, conf(r, priority, 1, drainS));
    const child = spawn('ip', ['netns', 'exec', lab.names[r], process.execPath, lvsdBin, '-n', '-f', f.conf, '--control-socket', f.sock, '--workers', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    lab.procs.push(child);
    const p = new Proc(child);
    running.set(r, p);
    await p.waitFor(() => logs(p).some((l) => l.msg === 'lvsd started'), 10_000, `${r} started`);
    return p;
  };
  const logs = (p: Proc): LogLine[] => p.events as LogLine[];
  const vrrpStates = (p: Proc) => logs(p).filter((l) => l.msg === 'vrrp state').map((l) => l.to);
  const waitVrrp = (p: Proc, to: string, ms: number) => p.waitFor(() => vrrpStates(p).at(-1) === to, ms, `vrrp ${to}`);
  /** The proxy listens on the VIP (a log line from the engine), i.e. the service is up. */
  const listeningCount = (p: Proc) => logs(p).filter((l) => l.msg === 'proxy listening').length;
  const kill = async (r: Director, sig: NodeJS.Signals) => {
    const p = running.get(r)!;
    p.kill(sig);
    await p.exited();
    running.delete(r);
    return p;
  };
  /** HTTP GET through the VIP from the client namespace: the answering director's name, or ''. */
  const get = (): string => {
    const r = spawnSync('ip', ['netns', 'exec', lab.names.cl, 'curl', '-s', '--max-time', '1', `http://${VIP}/`], { encoding: 'utf8', timeout: 5000 });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  const getUntil = async (want: string, ms: number): Promise<string> => {
    const until = Date.now() + ms;
    let who = get();
    while (who !== want && Date.now() < until) {
      await sleep(50);
      who = get();
    }
    return who;
  };

  beforeAll(() => {
    lab = makeLab('vd');
    for (const r of DIRECTORS) {
      // The real server: HTTP on each director's loopback, answering with the director's name.
      const code = `require('http').createServer((q,s)=>s.end(${JSON.stringify(r)}+'\\n')).listen(8080,'127.0.0.1')`;
      lab.procs.push(spawn('ip', ['netns', 'exec', lab.names[r], process.execPath, '-e', code], { stdio: 'ignore' }));
    }
  });
  afterEach(async () => {
    for (const r of [...running.keys()]) await kill(r, 'SIGKILL');
    for (const r of DIRECTORS) try { nsExec(lab.names[r], ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']); } catch { /* absent */ }
  });
  afterAll(() => lab?.cleanup());

  it('lvsd -t accepts both directors\' files', () => {
    for (const [r, prio] of [['r1', 150], ['r2', 100]] as const) {
      const f = files(r);
      writeFileSync(f.conf, conf(r, prio));
      const t = spawnSync(process.execPath, [lvsdBin, '-t', '-f', f.conf], { encoding: 'utf8', timeout: 10_000 });
      expect({ status: t.status, stderr: t.stderr.trim() }).toEqual({ status: 0, stderr: `${f.conf}: 0 errors, 0 warnings - configuration OK` });
    }
  });

  it('elects, serves the VIP on the MASTER only, follows a crash, preempts back, resigns on SIGTERM', async () => {
    const a = await start('r1', 150);
    const b = await start('r2', 100);
    await waitVrrp(a, 'MASTER', 5000);
    await waitVrrp(b, 'BACKUP', 5000);
    await a.waitFor(() => listeningCount(a) > 0, 3000, 'r1 listening');
    expect(addrs(lab, 'r1')).toContain(`${VIP}/24`);
    expect(addrs(lab, 'r2')).not.toContain(`${VIP}/24`);
    expect(listeningCount(b)).toBe(0);
    expect(await getUntil('r1', 3000)).toBe('r1');

    // Crash: no priority 0, so r2 waits Master_Down_Interval (3 x 0.1 s + skew), then serves.
    await kill('r1', 'SIGKILL');
    await waitVrrp(b, 'MASTER', 3000);
    await b.waitFor(() => listeningCount(b) > 0, 3000, 'r2 listening');
    expect(addrs(lab, 'r2')).toContain(`${VIP}/24`);
    expect(await getUntil('r2', 3000)).toBe('r2');

    // r1 comes back (its namespace still has the VIP left by the crash): it starts BACKUP, sees
    // a lower priority and preempts; r2 gives the VIP and the listener up.
    const a2 = await start('r1', 150);
    await waitVrrp(a2, 'MASTER', 5000);
    await waitVrrp(b, 'BACKUP', 3000);
    await b.waitFor(() => !addrs(lab, 'r2').includes(`${VIP}/24`), 2000, 'r2 VIP removed');
    expect(addrs(lab, 'r1')).toContain(`${VIP}/24`);
    expect(await getUntil('r1', 3000)).toBe('r1');

    // Graceful: SIGTERM sends priority 0, so r2 takes over within its skew time, not 3 intervals.
    const t0 = Date.now();
    await kill('r1', 'SIGTERM');
    await waitVrrp(b, 'MASTER', 3000);
    const tookMs = Date.now() - t0;
    expect(addrs(lab, 'r1')).not.toContain(`${VIP}/24`);
    expect(await getUntil('r2', 3000)).toBe('r2');
    expect(tookMs).toBeLessThan(2500);
    // Listening followed the VIP: never a bind on an address not (yet) on the interface.
    for (const p of [a, b, a2]) expect(logs(p).filter((l) => l.msg === 'proxy listen-error')).toEqual([]);
    expect(listeningCount(b)).toBe(2);
  }, 45_000);

  it('a SIGHUP that changes only a weight keeps the MASTER MASTER and serving', async () => {
    const a = await start('r1', 150);
    const b = await start('r2', 100);
    await waitVrrp(a, 'MASTER', 5000);
    await waitVrrp(b, 'BACKUP', 5000);
    expect(await getUntil('r1', 3000)).toBe('r1');
    const before = { a: vrrpStates(a).length, b: vrrpStates(b).length };
    writeFileSync(files('r1').conf, conf('r1', 150, 5));
    a.kill('SIGHUP');
    await a.waitFor(() => logs(a).some((l) => l.msg === 'reload applied'), 5000, 'reload applied');
    await sleep(500); // five advert intervals: a transition, had there been one, would show
    expect({ a: vrrpStates(a).length, b: vrrpStates(b).length }).toEqual(before);
    expect(addrs(lab, 'r1')).toContain(`${VIP}/24`);
    expect(get()).toBe('r1');
  }, 30_000);

  it('SIGTERM with a connection still open: the MASTER resigns at once, then drains it', async () => {
    const a = await start('r1', 150, 5);
    const b = await start('r2', 100);
    await waitVrrp(a, 'MASTER', 5000);
    await waitVrrp(b, 'BACKUP', 5000);
    await a.waitFor(() => listeningCount(a) > 0, 3000, 'r1 listening');
    // A client connection that stays open (nothing sent): the proxy holds it to the real server.
    const hold = spawn('ip', ['netns', 'exec', lab.names.cl, process.execPath, '-e',
      `const s=require('net').connect(80,${JSON.stringify(VIP)},()=>console.log('open'));s.on('error',()=>{});setTimeout(()=>process.exit(0),15000)`], { stdio: ['ignore', 'pipe', 'ignore'] });
    lab.procs.push(hold);
    await new Promise<void>((resolve) => hold.stdout!.once('data', () => resolve()));
    const t0 = Date.now();
    a.kill('SIGTERM');
    await waitVrrp(b, 'MASTER', 3000);
    const tookMs = Date.now() - t0;
    expect(tookMs).toBeLessThan(2000); // not drain_timeout (5 s)
    expect(await getUntil('r2', 3000)).toBe('r2');
    hold.kill('SIGKILL');
    await a.exited();
    running.delete('r1');
  }, 30_000);
});
