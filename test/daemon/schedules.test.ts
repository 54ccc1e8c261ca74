// lvsd_schedule: Schedules arms and reconciles cron tasks; the Daemon drains and restores a real
// server when its schedule fires. The cron scheduler is injected, so tests fire by hand instead of
// waiting on wall time; one test arms node-cron itself with a per-second expression.

import { afterAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { Daemon } from '../../src/daemon/daemon.js';
import { nodeCronScheduler, Schedules } from '../../src/daemon/schedules.js';
import type { CronScheduler } from '../../src/daemon/schedules.js';
import { SystemdNotifier } from '../../src/daemon/sd-notify.js';
import type { ConfigModel } from '../../src/config/index.js';
import { configText, freePort, startBackend, tempDir } from '../e2e/harness.js';

type Schedule = ConfigModel['lvsd_schedule'][number];

/** A cron scheduler that records what is armed and fires on demand. */
class ManualCron {
  readonly armed = new Map<string, { expression: string; fire: () => void }>();
  readonly scheduler: CronScheduler = (expression, fire, name) => {
    this.armed.set(name, { expression, fire });
    return { stop: () => this.armed.delete(name) };
  };
  fire(name: string): void {
    const t = this.armed.get(`lvsd-${name}`);
    if (!t) throw new Error(`${name} is not armed`);
    t.fire();
  }
}

const quiet = { info: () => undefined, error: () => undefined };
const sch = (name: string, cron: string, action: string): Schedule => ({ name, cron, action, virtual_server: null, real_server: null, protocol: 'TCP' }) as unknown as Schedule;

const tmp = tempDir('lvsd-sched-');
afterAll(() => tmp.cleanup());

describe('Schedules', () => {
  test('arms each schedule, keeps unchanged ones on reconcile, re-arms changed ones, drops removed ones', () => {
    const cron = new ManualCron();
    const fired: string[] = [];
    const s = new Schedules(quiet, (name, action) => fired.push(`${name}:${action}`), cron.scheduler);
    s.reconcile([sch('a', '0 2 * * 0', 'drain'), sch('b', '0 4 * * 0', 'restore')]);
    expect([...cron.armed.keys()].sort()).toEqual(['lvsd-a', 'lvsd-b']);
    const armedA = cron.armed.get('lvsd-a');
    cron.fire('a');
    cron.fire('b');
    expect(fired).toEqual(['a:drain', 'b:restore']);

    s.reconcile([sch('a', '0 2 * * 0', 'drain'), sch('b', '0 5 * * 0', 'restore'), sch('c', '* * * * *', 'stats')]);
    expect(cron.armed.get('lvsd-a')).toBe(armedA); // unchanged: the same task keeps running
    expect(cron.armed.get('lvsd-b')!.expression).toBe('0 5 * * 0');
    expect(cron.armed.get('lvsd-c')!.expression).toBe('* * * * *');

    s.reconcile([sch('c', '* * * * *', 'stats')]);
    expect([...cron.armed.keys()]).toEqual(['lvsd-c']);
    s.stop();
    expect(cron.armed.size).toBe(0);
  });

  test('an action that throws is logged and the task keeps its schedule', () => {
    const cron = new ManualCron();
    const errors: object[] = [];
    const s = new Schedules({ info: () => undefined, error: (o) => errors.push(o) }, () => {
      throw new Error('boom');
    }, cron.scheduler);
    s.reconcile([sch('x', '* * * * *', 'stats')]);
    expect(() => cron.fire('x')).not.toThrow();
    expect(errors).toEqual([{ schedule: 'x', err: 'Error: boom' }]);
    expect(cron.armed.has('lvsd-x')).toBe(true);
    s.stop();
  });

  test('node-cron with a seconds field fires every second (the real scheduler, bounded wait)', async () => {
    let fires = 0;
    const task = nodeCronScheduler('* * * * * *', () => fires++, 'lvsd-test-every-second');
    const t0 = Date.now();
    while (fires < 2 && Date.now() - t0 < 3500) await new Promise((r) => setTimeout(r, 50));
    task.stop();
    expect(fires).toBeGreaterThanOrEqual(2);
  });
});

describe('Daemon schedules', () => {
  test('drain sets the real server to weight 0 and restore brings the configured weight back; a reload keeps the drain', async () => {
    const backend = await startBackend();
    const other = await startBackend();
    const vip = await freePort();
    const file = tmp.path('sched.conf');
    const extra = [
      'lvsd_schedule nightly_drain {', '    cron "0 2 * * *"', '    action drain', `    virtual_server 127.0.0.1 ${vip}`, `    real_server 127.0.0.1 ${backend.port}`, '}',
      'lvsd_schedule nightly_restore {', '    cron "0 4 * * *"', '    action restore', `    virtual_server 127.0.0.1 ${vip}`, `    real_server 127.0.0.1 ${backend.port}`, '}',
    ].join('\n');
    const conf = { controlSocket: tmp.path('control.sock'), vs: [{ port: vip, rs: [{ port: backend.port, weight: 3 }, { port: other.port, weight: 1 }] }], extra };
    writeFileSync(file, configText(conf));
    const cron = new ManualCron();
    const logger = pino({ level: 'silent' });
    const daemon = new Daemon({ file, configId: 'test', logger, notifier: new SystemdNotifier(logger, {}), workers: 0, cron: cron.scheduler });
    const weightOf = (port: number) => daemon.snapshot().services[0].dests.find((d) => d.port === port)!.weight;
    try {
      await daemon.start();
      expect([...cron.armed.keys()].sort()).toEqual(['lvsd-nightly_drain', 'lvsd-nightly_restore']);
      expect(weightOf(backend.port)).toBe(3);
      cron.fire('nightly_drain');
      expect(weightOf(backend.port)).toBe(0);
      expect(weightOf(other.port)).toBe(1);

      // A reload that changes something else leaves the drained server drained.
      conf.vs[0].rs[1].weight = 2;
      writeFileSync(file, configText(conf));
      const r = await daemon.reload();
      expect(r.ok).toBe(true);
      expect(weightOf(backend.port)).toBe(0);
      expect(weightOf(other.port)).toBe(2);

      cron.fire('nightly_restore');
      expect(weightOf(backend.port)).toBe(3);
    } finally {
      await daemon.stop();
      await backend.close();
      await other.close();
    }
  });
});
