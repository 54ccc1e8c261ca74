// BFD_CHECK through the check runner: a real BfdRunner on loopback follows a peer in a child
// process; the real server goes down at start (the session starts Down, as keepalived reports
// it), up when the session comes Up, and down (inhibited: weight 0) when the peer is SIGKILLed.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BfdRunner, type BfdInstanceSpec } from '../../src/bfd/index.js';
import { CheckRunner, ManualClock } from '../../src/check/index.js';
import type { CheckEvent } from '../../src/check/types.js';
import { recordingLogger } from '../check/helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const quiet = { info: () => undefined, warn: () => undefined };
const port = 20000 + Math.floor(Math.random() * 20000);
const spec = (name: string, neighbor: string, source: string): BfdInstanceSpec => ({
  name, neighbor, source, minRxMs: 50, minTxMs: 50, idleTxMs: 100, multiplier: 3, passive: false, ttl: 255, multihop: false,
});

const children: ChildProcess[] = [];
const bfds: BfdRunner[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const b of bfds) await b.stop();
});

function until<T>(what: string, pred: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const v = pred();
      if (v !== undefined) return resolve(v);
      if (Date.now() > end) return reject(new Error(`timeout: ${what}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

describe('BFD_CHECK in the check runner', () => {
  it('follows the session: down at start, up when Up, down at once when the peer dies', async () => {
    const bfd = new BfdRunner({ logger: quiet, port });
    bfds.push(bfd);
    await bfd.start([spec('peer', '127.0.0.2', '127.0.0.1')]);
    const events: CheckEvent[] = [];
    const checks = new CheckRunner(
      [{ id: 'vs', inhibitOnFailure: true, realServers: [{ addr: '192.0.2.5', port: 80, weight: 7, checkers: [{ type: 'BFD', name: 'peer', retry: 0, delayLoopMs: 60_000, warmupMs: 0 }] }] }],
      { onEvent: (e) => events.push(e), logger: recordingLogger(), clock: new ManualClock(0), bfd },
    );
    checks.start();
    const rs = () => events.filter((e) => e.kind === 'rs').map((e) => [e.up, e.weight, e.inTable]);
    expect(rs()).toEqual([[true, 7, true], [false, 0, true]]);
    const child = spawn(process.execPath, [join(here, 'peer-main.js'), JSON.stringify([spec('a', '127.0.0.1', '127.0.0.2')]), String(port)], { stdio: 'ignore' });
    children.push(child);
    await until('rs up', () => (rs().length === 3 ? true : undefined));
    expect(rs()[2]).toEqual([true, 7, true]);
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGKILL');
    await until('rs down', () => (rs().length === 4 ? true : undefined), 2000);
    expect(rs()[3]).toEqual([false, 0, true]);
    expect(events.filter((e) => e.kind === 'rs')[3]).toMatchObject({ checker: 'BFD#0', reason: 'bfd down' });
    await checks.stop();
  });

  it('with no BFD source every BFD_CHECK is down', async () => {
    const events: CheckEvent[] = [];
    const checks = new CheckRunner(
      [{ id: 'vs', realServers: [{ addr: '192.0.2.5', port: 80, checkers: [{ type: 'BFD', name: 'x', retry: 0, delayLoopMs: 1000, warmupMs: 0 }] }] }],
      { onEvent: (e) => events.push(e), logger: recordingLogger(), clock: new ManualClock(0) },
    );
    const clock = (checks as unknown as { clock: ManualClock }).clock;
    checks.start();
    clock.advance(1000);
    await checks.idle();
    expect(events.filter((e) => e.kind === 'rs').map((e) => [e.up, e.inTable, e.reason])).toEqual([[true, true, 'init'], [false, false, 'bfd not running']]);
    await checks.stop();
  });
});
