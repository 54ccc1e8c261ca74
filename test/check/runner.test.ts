// The runner shell with an injected manual clock driving real checks against real servers:
// timers fire when the test advances time, never by sleeping.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { createServer as createHttp } from 'node:http';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { CheckRunner, ManualClock } from '../../src/check/index.js';
import type { CheckEvent, VirtualServerCheckSpec } from '../../src/check/types.js';
import { close, listen, recordingLogger, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function tcpServer(port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  const p = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  return { server, port: p };
}

function setup(specs: VirtualServerCheckSpec[]) {
  const clock = new ManualClock(0);
  const events: CheckEvent[] = [];
  const log = recordingLogger();
  const runner = new CheckRunner(specs, { onEvent: (e) => events.push(e), logger: log, clock, rand: () => 0.5 });
  const tick = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await runner.idle();
  };
  return { clock, events, log, runner, tick };
}

describe('runner timing with an injected clock', () => {
  let a: { server: Server; port: number };
  beforeAll(async () => {
    a = await tcpServer();
  });
  afterAll(() => close(a.server));

  it('warmup, delay_loop, retry/delay_before_retry, down and back up', async () => {
    const spec: VirtualServerCheckSpec = {
      id: 'vs1', delayLoopMs: 1000, warmupMs: 400, retry: 1, delayBeforeRetryMs: 300, connectTimeoutMs: 1000,
      realServers: [{ addr: '127.0.0.1', port: a.port, weight: 3, checkers: [{ type: 'TCP' }] }],
    };
    const { events, runner, tick, clock } = setup([spec]);
    runner.start();
    expect(events.map((e) => [e.kind, e.up, e.weight])).toEqual([['rs', true, 3]]);
    await tick(199);
    expect(clock.pending()).toBe(1); // first check at warmup * 0.5 = 200 ms, not yet
    await tick(1); // check runs at 200 and succeeds: no event
    expect(events).toHaveLength(1);
    await close(a.server); // backend dies
    await tick(1000); // 1200: fails, retry scheduled at 1500
    expect(events).toHaveLength(1);
    await tick(299);
    expect(events).toHaveLength(1);
    await tick(1); // 1500: second failure -> down
    expect(events.slice(1).map((e) => [e.kind, e.up, e.inTable, e.reason])).toEqual([['quorum', false, true, expect.stringContaining('lost quorum')], ['rs', false, false, 'ECONNREFUSED']]);
    a = await tcpServer(a.port); // back
    await tick(1000); // 2500: up again
    expect(events.at(-1)).toMatchObject({ kind: 'rs', up: true, weight: 3, checker: 'TCP#0', reason: 'connected' });
    await runner.stop();
    expect(clock.pending()).toBe(0);
  });

  it('reconcile keeps unchanged checkers\' state and timers, restarts changed ones', async () => {
    const dead = await tcpServer();
    await close(dead.server);
    const base: VirtualServerCheckSpec = {
      id: 'vs2', delayLoopMs: 1000, warmupMs: 0, retry: 0, connectTimeoutMs: 500,
      realServers: [
        { addr: '127.0.0.1', port: dead.port, checkers: [{ type: 'TCP' }] },
        { addr: '127.0.0.2', port: a.port, checkers: [{ type: 'TCP', connectIp: '127.0.0.1' }] },
      ],
    };
    const { events, runner, tick } = setup([base]);
    runner.start();
    await tick(600); // both checked once: first down
    expect(events.filter((e) => e.kind === 'rs' && !e.up).map((e) => e.rs)).toEqual(['127.0.0.1:' + dead.port]);
    const n = events.length;
    const next = { ...base, realServers: [base.realServers[0]!, { ...base.realServers[1]!, weight: 5 }] };
    runner.reconcile([next]);
    // weight changed on rs2 -> event; rs1 unchanged and still down -> no event
    expect(events.slice(n).map((e) => [e.rs, e.up, e.weight])).toEqual([['127.0.0.2:' + a.port, true, 5]]);
    expect(runner.snapshot()[0]!.rs.map((r) => r.alive)).toEqual([false, true]);
    await runner.stop();
  });

  it('one clock timer for many checkers; a reload that drops a checker mid-connect ignores its result', async () => {
    let accepted = 0;
    a.server.on('connection', () => accepted++);
    const realServers = Array.from({ length: 50 }, (_, i) => ({ addr: `127.0.${i >> 8}.${(i & 255) + 1}`, port: a.port, checkers: [{ type: 'TCP' as const, connectIp: '127.0.0.1' }] }));
    const spec: VirtualServerCheckSpec = { id: 'many', delayLoopMs: 1000, warmupMs: 0, retry: 0, connectTimeoutMs: 500, realServers };
    const { events, runner, tick, clock } = setup([spec]);
    runner.start();
    expect(clock.pending()).toBe(1);
    for (let t = 0; t < 1000; t += 100) {
      await tick(100);
      expect(clock.pending()).toBe(1);
    }
    // first checks spread over 1 s, every one a real connect (the server's accepts may lag a little)
    for (let i = 0; i < 100 && accepted < 50; i++) await new Promise((r) => setTimeout(r, 20));
    expect(accepted).toBe(50);
    expect(events.filter((e) => e.kind === 'rs' && !e.up)).toEqual([]);
    // the next round is under way: server 1's connect starts at 1020; drop it (and the rest of
    // the first half) before it completes
    clock.advance(20);
    runner.reconcile([{ ...spec, realServers: realServers.slice(25) }]);
    await runner.idle();
    expect(runner.snapshot()[0]!.rs).toHaveLength(25);
    expect(events.filter((e) => e.kind === 'rs' && !e.up)).toEqual([]);
    await runner.stop();
    expect(clock.pending()).toBe(0);
  });

  it('ha_suspend pauses checks while backup and resumes them', async () => {
    const { runner, tick, clock } = setup([{ id: 'vs3', haSuspend: true, delayLoopMs: 1000, warmupMs: 0, realServers: [{ addr: '127.0.0.1', port: a.port, checkers: [{ type: 'TCP' }] }] }]);
    runner.start();
    await tick(10);
    runner.setHaSuspended(true);
    expect(clock.pending()).toBe(0);
    runner.setHaSuspended(false);
    expect(clock.pending()).toBe(1);
    await runner.stop();
  });
});

describe('HTTP_GET with several urls (fast_recovery)', () => {
  it('checks every url in one pass: up after one check at start and one delay_loop after a fix', async () => {
    // keepalived without fast_recovery would wait delay_loop between urls; lvsd always behaves
    // as keepalived does with fast_recovery set
    const broken = new Set<string>();
    const web = createHttp((req, res) => {
      res.writeHead(broken.has(req.url ?? '') ? 500 : 200);
      res.end('ok');
    });
    const port = await listen(web);
    try {
      const urls = ['/a', '/b', '/c'].map((path) => ({ path }));
      const { events, runner, tick } = setup([{
        id: 'vs5', delayLoopMs: 3000, warmupMs: 0, alpha: true, retry: 0,
        realServers: [{ addr: '127.0.0.1', port, checkers: [{ type: 'HTTP', urls }] }],
      }]);
      runner.start();
      await tick(0);
      expect(events.filter((e) => e.kind === 'rs').map((e) => e.up)).toEqual([false, true]);
      broken.add('/b');
      await tick(3000);
      expect(events.at(-1)).toMatchObject({ kind: 'rs', up: false, reason: '/b: status 500' });
      broken.clear();
      await tick(3000);
      expect(events.at(-1)).toMatchObject({ kind: 'rs', up: true });
      await runner.stop();
    } finally {
      await close(web);
    }
  });
});

describe('notify scripts and logs', () => {
  it('runs notify_down / notify_up with their arguments and logs each transition as one pino line', async () => {
    const out = join(tmp.dir, 'notify.log');
    const script = join(tmp.dir, 'notify.sh');
    writeFileSync(script, `#!/bin/sh\necho "$@" >> ${out}\n`, { mode: 0o755 });
    const flag = join(tmp.dir, 'state');
    writeFileSync(flag, '0');
    const lines: string[] = [];
    const logger = pino({ base: null }, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
    const clock = new ManualClock();
    const events: CheckEvent[] = [];
    const runner = new CheckRunner(
      [{
        id: 'vs4', delayLoopMs: 1000, warmupMs: 0, retry: 0, omega: true,
        realServers: [{
          addr: '127.0.0.1', port: 1, weight: 1,
          notifyUp: { command: `${script} UP "rs one"`, user: 'root' },
          notifyDown: { command: `${script} DOWN "rs one"`, user: 'root' },
          checkers: [{ type: 'MISC', script: { command: `/bin/sh -c 'exit $(cat ${flag})'`, user: 'root' } }],
        }],
      }],
      { onEvent: (e) => events.push(e), logger, clock },
    );
    runner.start();
    clock.advance(0);
    await runner.idle();
    writeFileSync(flag, '1');
    clock.advance(1000);
    await runner.idle(); // check fails -> down -> notify_down
    await runner.idle(); // script finished
    writeFileSync(flag, '0');
    clock.advance(1000);
    await runner.idle();
    await runner.idle();
    await runner.stop(); // omega: notify_down again for the live server
    expect(readFileSync(out, 'utf8')).toBe('DOWN rs one\nUP rs one\nDOWN rs one\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const rsLines = parsed.filter((p) => p.kind === 'rs');
    expect(rsLines.map((p) => [p.msg, p.vs, p.rs, p.up])).toEqual([
      ['rs up', 'vs4', '127.0.0.1:1', true],
      ['rs down', 'vs4', '127.0.0.1:1', false],
      ['rs up', 'vs4', '127.0.0.1:1', true],
    ]);
    expect(events.filter((e) => e.kind === 'rs')).toHaveLength(3);
    expect(existsSync(out)).toBe(true);
  });
});
