// Two lvsd VRRP runtimes (harness child processes) in network namespaces joined by a bridge, with a
// client namespace reaching a TCP service through the VIP.
import { describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { addrs, hasArping, isRoot, nsExec, probe, probeUntil, readLines, sleep, startHarness, type Lab, Proc } from '../vrrp/netns-helpers.js';
import { useTwoRouterLab } from './two-router-lab.js';
import { encodeAdvert, encodeIpv4Header } from '../../src/vrrp/codec.js';

if (!isRoot) console.log('test/netns/vrrp: skipped, needs root for network namespaces and raw sockets');
if (isRoot && !hasArping) console.log('test/netns/vrrp: the client-follows-GARP checks are skipped: install iputils-arping');
/** Checks that need lvsd's gratuitous ARPs (iputils-arping). */
const garpCheck = async (f: () => Promise<void>) => (hasArping ? f() : undefined);
const d = isRoot ? describe : describe.skip;

const VIP4 = '192.0.2.100';
const VIP6 = '2001:db8::100';
type Extra = Record<string, unknown>;
const inst4 = (priority: number, extra: Extra = {}) => ({
  instances: [{ name: 'VI_1', interface: 'eth0', vrid: 51, priority, version: 3, advertInt: 0.1, virtualIpaddress: [{ address: VIP4, prefix: 24 }], garp: { masterDelay: 0, masterRepeat: 2 }, ...extra }],
});

d('lvsd VRRP between network namespaces', () => {
  let lab: Lab;
  const procs: Proc[] = [];
  const run = (router: string, spec: object) => {
    const p = startHarness(lab, router, spec);
    procs.push(p);
    return p;
  };
  const stopAll = async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await p.exited();
    }
    for (const r of ['r1', 'r2']) for (const v of [`${VIP4}/24`, `${VIP6}/128`]) try { nsExec(lab.names[r], ['ip', 'addr', 'del', v, 'dev', 'eth0']); } catch { /* absent */ }
  };

  useTwoRouterLab('vrrp', { ready: (l) => (lab = l), afterEachTest: stopAll });

  it('v2 advert_int 1: the higher priority wins, holds the VIP, serves the client; SIGKILL moves it', async () => {
    const spec = (p: number) => inst4(p, { version: 2, advertInt: 1 });
    const a = run('r1', spec(150));
    const b = run('r2', spec(100));
    await a.waitState('MASTER', 8000);
    await sleep(300);
    expect(b.state()).toBe('BACKUP');
    expect(addrs(lab, 'r1')).toContain(VIP4);
    expect(addrs(lab, 'r2')).not.toContain(VIP4);
    expect(probe(lab, VIP4)).toBe('r1');
    // SIGKILL: no priority 0, r2 waits its full Master_Down_Interval (3.609 s) from r1's last advert.
    a.kill('SIGKILL');
    const t0 = Date.now();
    await b.waitState('MASTER', 6000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(2500);
    expect(took).toBeLessThan(4300);
    expect(addrs(lab, 'r2')).toContain(VIP4);
    // r1's namespace still holds the VIP (it was killed), so the client follows r2's gratuitous ARP.
    await garpCheck(async () => expect(await probeUntil(lab, VIP4, 'r2', 3000)).toBe('r2'));
    await stopAll();
  }, 30_000);

  it('graceful stop: priority 0 advert, the peer takes over within skew time, VIP removed, STOP', async () => {
    const a = run('r1', inst4(150));
    const b = run('r2', inst4(100));
    await a.waitState('MASTER', 5000);
    await b.waitState('BACKUP', 5000);
    await sleep(300);
    const t0 = Date.now();
    a.kill('SIGTERM');
    await b.waitState('MASTER', 2000);
    // Skew for p100 at 10 cs is 61 ms; a full down interval would be 361 ms.
    expect(Date.now() - t0).toBeLessThan(300);
    await a.exited();
    expect(a.events.filter((e) => e.event === 'state').pop()).toMatchObject({ to: 'STOP' });
    expect(addrs(lab, 'r1')).not.toContain(VIP4);
    // The client follows r2's gratuitous ARP.
    await garpCheck(async () => expect(await probeUntil(lab, VIP4, 'r2', 2000)).toBe('r2'));
    await stopAll();
  }, 20_000);

  it('preempt: a returning higher priority router takes the VIP back after its down timer', async () => {
    const b = run('r2', inst4(100));
    await b.waitState('MASTER', 5000);
    const t0 = Date.now();
    const a = run('r1', inst4(150));
    await a.waitState('MASTER', 5000);
    await b.waitState('BACKUP', 1000);
    // r1 hears r2's lower adverts, discards them and preempts when its own down timer (~0.35 s) ends.
    expect(Date.now() - t0).toBeLessThan(3000);
    await sleep(200);
    expect(addrs(lab, 'r1')).toContain(VIP4);
    expect(addrs(lab, 'r2')).not.toContain(VIP4);
    await stopAll();
  }, 20_000);

  it('nopreempt: the higher priority router stays Backup while a lower master advertises', async () => {
    const b = run('r2', inst4(100));
    await b.waitState('MASTER', 5000);
    const a = run('r1', inst4(150, { nopreempt: true }));
    await a.waitState('BACKUP', 3000);
    await sleep(2000); // > 5 down intervals
    expect(a.state()).toBe('BACKUP');
    expect(b.state()).toBe('MASTER');
    // ... until the master goes away.
    b.kill('SIGTERM');
    await a.waitState('MASTER', 2000);
    await stopAll();
  }, 20_000);

  it('IPv6 v3 at 50 ms: election, VIP on the master, SIGKILL failover within ~3 intervals + skew', async () => {
    const spec = (p: number) => ({
      instances: [{ name: 'VI_6', interface: 'eth0', vrid: 52, priority: p, advertInt: 0.05, virtualIpaddress: [{ address: VIP6, prefix: 64 }], garp: { masterDelay: 0, masterRepeat: 1 } }],
    });
    const a = run('r1', spec(150));
    const b = run('r2', spec(100));
    await a.waitState('MASTER', 5000);
    await b.waitState('BACKUP', 1000);
    await sleep(500);
    expect(a.state()).toBe('MASTER');
    expect(b.state()).toBe('BACKUP');
    expect(addrs(lab, 'r1')).toContain(VIP6);
    expect(probe(lab, VIP6)).toBe('r1');
    a.kill('SIGKILL');
    const t0 = Date.now();
    await b.waitState('MASTER', 2000);
    expect(Date.now() - t0).toBeLessThan(180 + 150);
    // r1's namespace still holds the VIP; the client follows r2's unsolicited Neighbour Advertisement.
    expect(await probeUntil(lab, VIP6, 'r2', 3000)).toBe('r2');
    await stopAll();
  }, 20_000);

  it('bad packets are dropped and counted by reason; the master never flaps', async () => {
    const a = run('r1', inst4(150));
    await a.waitState('MASTER', 5000);
    // A raw-socket injector in r2's namespace: TTL 254, bad checksum, unknown VRID, wrong VIP.
    const require = createRequire(import.meta.url);
    const codecPath = require.resolve('../../src/vrrp/codec.js');
    const adv = (vrid: number, addrs: string[]) => encodeAdvert({ version: 3, vrid, priority: 200, intervalCs: 10, authType: 0, authData: Buffer.alloc(0), addrs }, { family: 4, src: '192.0.2.2', dst: '224.0.0.18' });
    const good = adv(51, [VIP4]);
    const badSum = Buffer.from(good);
    badSum[7] ^= 0xff;
    const pkts = [
      { ttl: 254, p: good },
      { ttl: 255, p: badSum },
      { ttl: 255, p: adv(99, [VIP4]) },
      { ttl: 255, p: adv(51, ['192.0.2.222']) },
      { ttl: 255, p: good.subarray(0, 6) },
    ].map(({ ttl, p }) => Buffer.concat([encodeIpv4Header({ src: '192.0.2.2', dst: '224.0.0.18', ttl, id: 7, payloadLen: p.length }), p]).toString('hex'));
    void codecPath;
    const inject = `const raw=require(${JSON.stringify(require.resolve('raw-socket'))});const s=raw.createSocket({protocol:112});s.setOption(0,3,1);const n=Buffer.from('eth0\\0');s.setOption(1,25,n,n.length);
      const ps=${JSON.stringify(pkts)};let i=0;const next=()=>{if(i>=ps.length){s.close();return}const b=Buffer.from(ps[i++],'hex');s.send(b,0,b.length,'224.0.0.18',()=>setTimeout(next,20))};next();`;
    nsExec(lab.names.r2, [process.execPath, '-e', inject]);
    await sleep(300);
    a.kill('SIGUSR1');
    const st = await a.waitFor(() => a.events.find((e) => e.event === 'status'), 2000, 'status');
    const status = st.status as Array<{ counters: { dropped: Record<string, number> } }>;
    expect(status[0].counters.dropped).toEqual({ ttl: 1, checksum: 1, 'addr-missing': 1 });
    expect(st.dropped).toEqual({ 'vrid-unknown': 1, short: 1 });
    expect(a.state()).toBe('MASTER');
    expect(a.events.filter((e) => e.event === 'state').length).toBe(2);
    await stopAll();
  }, 20_000);

  it('sync group + vrrp_script (weight 0) + notify/FIFO: one failing member takes the whole group to FAULT and back', async () => {
    const flag = join(lab.dir, 'fail-flag');
    const notes = join(lab.dir, 'lv-notify.log');
    const script = join(lab.dir, 'lv-notify.sh');
    writeFileSync(script, `#!/bin/sh\necho "$1 $2 $3 $4" >> ${notes}\n`);
    chmodSync(script, 0o755);
    const fifo = join(lab.dir, 'notify.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = new Proc(spawn('sh', ['-c', `exec 3<>"$1"; exec cat <&3`, 'sh', fifo], { stdio: ['ignore', 'pipe', 'pipe'] }));
    lab.procs.push(reader.child);
    const inst = (name: string, vrid: number, vip: string, priority: number, track: boolean) => ({
      name, interface: 'eth0', vrid, priority, version: 3, advertInt: 0.1,
      virtualIpaddress: [{ address: vip, prefix: 24 }], garp: { masterDelay: 0, masterRepeat: 1 },
      ...(track ? { trackScript: [{ name: 'chk' }], notify: { any: { argv: [script] } } } : {}),
    });
    const spec = (priority: number, track: boolean) => ({
      instances: [inst('VI_A', 61, '192.0.2.161', priority, track), inst('VI_B', 62, '192.0.2.162', priority, track)],
      scripts: track ? [{ name: 'chk', command: { argv: ['/usr/bin/test', '!', '-e', flag] }, interval: 0.1, weight: 0, fall: 2, rise: 2 }] : [],
      syncGroups: [{ name: 'G', members: ['VI_A', 'VI_B'], ...(track ? { notify: { any: { argv: [script] } } } : {}) }],
      notifyFifo: track ? fifo : undefined,
    });
    const a = run('r1', spec(150, true));
    const b = run('r2', spec(100, false));
    await a.waitFor(() => a.state('VI_A') === 'MASTER' && a.state('VI_B') === 'MASTER', 5000, 'r1 master of both');
    // r2 may have been master for a moment at start; r1's higher-priority adverts send it back.
    await b.waitFor(() => b.state('VI_A') === 'BACKUP' && b.state('VI_B') === 'BACKUP', 5000, 'r2 backup of both');
    writeFileSync(flag, '');
    await a.waitFor(() => a.state('VI_A') === 'FAULT' && a.state('VI_B') === 'FAULT', 3000, 'r1 group in FAULT');
    await b.waitFor(() => b.state('VI_A') === 'MASTER' && b.state('VI_B') === 'MASTER', 3000, 'r2 master of both');
    expect(addrs(lab, 'r1')).not.toContain('192.0.2.162');
    rmSync(flag);
    await a.waitFor(() => a.state('VI_A') === 'MASTER' && a.state('VI_B') === 'MASTER', 5000, 'r1 back to master');
    await sleep(300);
    const lines = readLines(notes);
    expect(lines).toEqual(expect.arrayContaining(['INSTANCE VI_A FAULT 150', 'INSTANCE VI_B FAULT 150', 'GROUP G FAULT 150', 'INSTANCE VI_A MASTER 150', 'GROUP G MASTER 150']));
    expect(reader.lines).toEqual(expect.arrayContaining(['INSTANCE "VI_A" FAULT 150', 'INSTANCE "VI_B" MASTER 150']));
    expect(existsSync(flag)).toBe(false);
    await stopAll();
  }, 20_000);

  it('track_interface (weight 0): the master goes to FAULT with a priority-0 advert, the peer takes over at once; back up, it preempts', async () => {
    // A veth pair inside r1 stands in for an uplink (the kernel here has no dummy driver).
    nsExec(lab.names.r1, ['ip', 'link', 'add', 'trk0', 'type', 'veth', 'peer', 'name', 'trk1']);
    nsExec(lab.names.r1, ['ip', 'link', 'set', 'trk1', 'up']);
    nsExec(lab.names.r1, ['ip', 'link', 'set', 'trk0', 'up']);
    try {
      const a = run('r1', inst4(150, { trackInterface: [{ name: 'trk0' }] }));
      const b = run('r2', inst4(100));
      await a.waitState('MASTER', 5000);
      await b.waitState('BACKUP', 5000);
      await sleep(300);
      const t0 = Date.now();
      nsExec(lab.names.r1, ['ip', 'link', 'set', 'trk0', 'down']);
      await a.waitState('FAULT', 2000);
      await b.waitState('MASTER', 2000);
      expect(Date.now() - t0).toBeLessThan(1200); // link poll (500 ms) + skew
      b.kill('SIGUSR1');
      const st = await b.waitFor(() => b.events.find((e) => e.event === 'status'), 2000, 'status');
      expect((st.status as Array<{ counters: { priZeroRcvd: number } }>)[0].counters.priZeroRcvd).toBe(1);
      expect(addrs(lab, 'r1')).not.toContain(VIP4);
      nsExec(lab.names.r1, ['ip', 'link', 'set', 'trk0', 'up']);
      await a.waitState('MASTER', 3000);
      await b.waitState('BACKUP', 1000);
      expect(a.events.filter((e) => e.event === 'state').map((e) => e.to)).toEqual(['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER']);
      await stopAll();
    } finally {
      nsExec(lab.names.r1, ['ip', 'link', 'del', 'trk0']);
    }
  }, 20_000);

  it('reconcile (SIGHUP): an unchanged instance keeps MASTER; a changed one restarts; a removed one stops', async () => {
    const two = (p2: number) => ({
      instances: [
        { name: 'KEEP', interface: 'eth0', vrid: 71, priority: 150, version: 3, advertInt: 0.1, virtualIpaddress: [{ address: '192.0.2.171', prefix: 24 }], garp: { masterRepeat: 0 } },
        { name: 'EDIT', interface: 'eth0', vrid: 72, priority: p2, version: 3, advertInt: 0.1, virtualIpaddress: [{ address: '192.0.2.172', prefix: 24 }], garp: { masterRepeat: 0 } },
      ],
    });
    const a = run('r1', two(150));
    await a.waitFor(() => a.state('KEEP') === 'MASTER' && a.state('EDIT') === 'MASTER', 5000, 'both master');
    const file = a.child.spawnargs[a.child.spawnargs.length - 1];
    writeFileSync(file, JSON.stringify(two(120)));
    a.kill('SIGHUP');
    await a.waitFor(() => a.events.find((e) => e.event === 'reconciled'), 3000, 'reconciled');
    await a.waitFor(() => a.events.filter((e) => e.instance === 'EDIT' && e.to === 'MASTER').length === 2, 3000, 'EDIT master again');
    expect(a.events.filter((e) => e.instance === 'KEEP' && e.event === 'state').map((e) => e.to)).toEqual(['BACKUP', 'MASTER']);
    expect(a.events.filter((e) => e.instance === 'EDIT' && e.event === 'state').map((e) => e.to)).toEqual(['BACKUP', 'MASTER', 'STOP', 'BACKUP', 'MASTER']);
    writeFileSync(file, JSON.stringify({ instances: [two(120).instances[0]] }));
    a.kill('SIGHUP');
    await a.waitFor(() => a.state('EDIT') === 'STOP', 3000, 'EDIT stopped');
    await sleep(200);
    expect(addrs(lab, 'r1')).not.toContain('192.0.2.172');
    expect(addrs(lab, 'r1')).toContain('192.0.2.171');
    expect(a.state('KEEP')).toBe('MASTER');
    await stopAll();
    nsExec(lab.names.r1, ['ip', 'addr', 'del', '192.0.2.171/24', 'dev', 'eth0']);
  }, 20_000);
});
