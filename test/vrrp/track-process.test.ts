// The /proc poller against real processes: a copy of sleep under a name of its own, started and
// killed, is counted by name, by argv[0] and by parameters.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/vrrp/clock.js';
import { ProcessTracker, scanProcesses } from '../../src/vrrp/track-process.js';

const logger = pino({ level: 'silent' });
const SLEEP = ['/usr/bin/sleep', '/bin/sleep'].find((p) => { try { copyFileSync(p, '/dev/null'); return true; } catch { return false; } })!;

describe('ProcessTracker', () => {
  let dir: string;
  let bin: string;
  const name = `lvsdtp${process.pid % 100000}`.slice(0, 15);
  const children: ChildProcess[] = [];
  const start = (...args: string[]) => {
    const c = spawn(bin, args.length ? args : ['1000'], { stdio: 'ignore' });
    children.push(c);
    return c;
  };
  const kill = async (c: ChildProcess) => {
    c.kill('SIGKILL');
    if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
  };
  const changes = (t: ProcessTracker) => {
    const seen: Array<[string, boolean]> = [];
    t.on('change', (n: string, up: boolean) => seen.push([n, up]));
    return {
      seen,
      until: async (n: string, up: boolean, ms = 3000) => {
        const end = Date.now() + ms;
        while (t.isUp(n) !== up) {
          if (Date.now() > end) throw new Error(`${n} not ${up ? 'up' : 'down'} after ${ms} ms (count ${t.count(n)})`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lvsd-tp-'));
    bin = join(dir, name);
    copyFileSync(SLEEP, bin);
  });
  afterAll(async () => {
    for (const c of children) await kill(c);
    rmSync(dir, { recursive: true, force: true });
  });

  it('scanProcesses sees this process with its parent', async () => {
    const all = await scanProcesses('/proc', true);
    const me = all.get(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    // Node resolves argv[1]; the kernel keeps it as given.
    expect(me?.cmdline?.toString().split('\0').some((a) => a.length > 0 && process.argv[1].endsWith(a.replace(/^\.\//, '')))).toBe(true);
    expect(me?.zombie).toBe(false);
  });

  it('by name: down with none, up once one runs, down when it is killed', async () => {
    const t = new ProcessTracker([{ name: 'p', process: name }], { logger, clock: systemClock, pollMs: 30 });
    const w = changes(t);
    await t.start();
    try {
      expect(t.isUp('p')).toBe(false);
      const c = start();
      await w.until('p', true);
      expect(t.count('p')).toBe(1);
      await kill(c);
      await w.until('p', false);
      expect(w.seen).toEqual([['p', true], ['p', false]]);
    } finally {
      t.stop();
    }
  });

  it('quorum 2: one is not enough; argv[0] and parameters with full_command', async () => {
    const t = new ProcessTracker(
      [
        { name: 'two', process: name, quorum: 2 },
        { name: 'argv0', process: bin, fullCommand: true },
        { name: 'p1000', process: bin, params: ['1000'] },
        { name: 'p10', process: bin, params: ['10'], paramMatch: 'initial' },
      ],
      { logger, clock: systemClock, pollMs: 30 },
    );
    const w = changes(t);
    await t.start();
    try {
      const a = start('1000');
      await w.until('argv0', true);
      await w.until('p1000', true);
      await w.until('p10', true); // '1000' starts with '10'
      expect(t.isUp('two')).toBe(false);
      const b = start('999');
      await w.until('two', true);
      expect(t.count('p1000')).toBe(1);
      expect(t.count('argv0')).toBe(2);
      await kill(a);
      await w.until('two', false);
      await w.until('p1000', false);
      expect(t.isUp('argv0')).toBe(true);
      await kill(b);
      await w.until('argv0', false);
    } finally {
      t.stop();
    }
  });
});
