// track_process moving real VRRP instances (lvsd harnesses in namespaces on a bridge): weight 0
// puts the instance in FAULT while the process is missing; a negative weight hands the VIP to the
// peer and preemption brings it back. The process is a copy of sleep under a name of its own
// (process IDs are shared across network namespaces, so the test starts it itself).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, makeLab, nsExec, startHarness, type Lab, type Proc } from '../vrrp/netns-helpers.js';

if (!isRoot) console.log('test/netns/vrrp-track-process: skipped, needs root for network namespaces and raw sockets');
const d = isRoot ? describe : describe.skip;
const SLEEP = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p))!;

d('track_process with real VRRP instances', () => {
  let lab: Lab;
  let bin: string;
  const name = `lvsdtpn${process.pid % 100000}`.slice(0, 15);
  const procs: Proc[] = [];
  const sleepers: ChildProcess[] = [];
  const run = (router: string, s: object) => {
    const p = startHarness(lab, router, s);
    procs.push(p);
    return p;
  };
  const sleeper = () => {
    const c = spawn(bin, ['1000'], { stdio: 'ignore' });
    sleepers.push(c);
    return c;
  };
  const kill = async (c: ChildProcess) => {
    c.kill('SIGKILL');
    if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
  };
  const inst = (priority: number, weight: number) => ({
    processes: [{ name: 'svc', process: name }],
    instances: [{ name: 'VI_1', interface: 'eth0', vrid: 61, priority, version: 3, advertInt: 0.1, virtualIpaddress: [{ address: '192.0.2.100', prefix: 24 }], garp: { masterDelay: 0, masterRepeat: 1 }, trackProcess: [{ name: 'svc', weight }] }],
  });

  beforeAll(() => {
    lab = makeLab('vrrptp');
    bin = join(lab.dir, name);
    copyFileSync(SLEEP, bin);
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await p.exited();
    }
    for (const c of sleepers.splice(0)) await kill(c);
    for (const r of ['r1', 'r2']) try { nsExec(lab.names[r], ['ip', 'addr', 'del', '192.0.2.100/24', 'dev', 'eth0']); } catch { /* absent */ }
  });
  afterAll(() => lab?.cleanup());

  it('weight 0: FAULT while the process is missing, MASTER once it runs, FAULT again when it is killed', async () => {
    const a = run('r1', inst(150, 0));
    await a.waitState('FAULT', 10000);
    const c = sleeper();
    await a.waitState('MASTER', 10000);
    await kill(c);
    await a.waitState('FAULT', 10000);
  }, 40_000);

  it('weight -60: 150 -> 90 below the peer\'s 100 hands the VIP over; the restarted process brings it back', async () => {
    const c = sleeper();
    const a = run('r1', inst(150, -60));
    await a.waitState('MASTER', 10000);
    const b = run('r2', { instances: inst(100, 0).instances.map(({ trackProcess: _t, ...rest }) => rest) });
    await b.waitState('BACKUP', 10000);
    await kill(c);
    await b.waitState('MASTER', 10000);
    await a.waitState('BACKUP', 10000);
    expect(a.events.filter((e) => e.event === 'state').pop()?.priority).toBe(90);
    sleeper();
    await a.waitState('MASTER', 10000);
    await b.waitState('BACKUP', 10000);
  }, 40_000);
});
