// Signals on the real lvsd: SIGUSR1 writes the state file (JSON with the table), SIGUSR2 the stats
// file (ipvsadm --stats and --rate layout), SIGTERM drains a connection in flight and exits 0, and
// a bad configuration refuses to start with lvsd -t's diagnostics.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { configText, freePort, get, LvsdProcess, startBackend, tempDir } from './harness.js';
import type { Backend, TempDir } from './harness.js';

let tmp: TempDir;
let fast: Backend;
let slow: Backend;
const started: LvsdProcess[] = [];

beforeAll(async () => {
  tmp = tempDir();
  fast = await startBackend();
  slow = await startBackend({ delayMs: 1500 });
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await fast.close();
  await slow.close();
  tmp.cleanup();
});

describe('lvsd signals', () => {
  test('SIGUSR1 writes the state as JSON; SIGUSR2 writes the stats like ipvsadm -L -n --stats/--rate', async () => {
    const vip = await freePort();
    const file = tmp.path('dump.conf');
    const stateFile = tmp.path('lvsd.data');
    const statsFile = tmp.path('lvsd.stats');
    writeFileSync(file, configText({ controlSocket: tmp.path('dump.sock'), stateFile, statsFile, vs: [{ port: vip, rs: [{ port: fast.port, weight: 4 }] }] }));
    const lvsd = await LvsdProcess.start(file);
    started.push(lvsd);
    for (let i = 0; i < 3; i++) expect(await get(vip, false)).toBe(`backend ${fast.port}\n`);

    const written = await lvsd.signal('SIGUSR1', (l) => l.msg === 'state written');
    expect(written.file).toBe(stateFile);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { hash: string; config: { virtual_server: unknown[] }; table: { services: Array<{ key: { port: number }; dests: Array<{ port: number; weight: number }> }> } };
    expect(state.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(state.config.virtual_server).toHaveLength(1);
    expect(state.table.services).toHaveLength(1);
    expect(state.table.services[0].key.port).toBe(vip);
    expect(state.table.services[0].dests.map((d) => [d.port, d.weight])).toEqual([[fast.port, 4]]);

    const stats = await lvsd.signal('SIGUSR2', (l) => l.msg === 'stats written');
    expect(stats.file).toBe(statsFile);
    const lines = readFileSync(statsFile, 'utf8').split('\n');
    expect(lines[0]).toMatch(/^IP Virtual Server version \d+\.\d+\.\d+ \(size=\d+\)$/);
    expect(lines[1]).toMatch(/^Prot LocalAddress:Port\s+Conns\s+InPkts\s+OutPkts\s+InBytes\s+OutBytes$/);
    expect(lines[2]).toBe('  -> RemoteAddress:Port');
    // Three new connections went through the service and its one real server.
    expect(lines[3].split(/\s+/).slice(0, 3)).toEqual(['TCP', `127.0.0.1:${vip}`, '3']);
    expect(lines[4].trim().split(/\s+/).slice(0, 3)).toEqual(['->', `127.0.0.1:${fast.port}`, '3']);
    expect(lines.some((l) => /^Prot LocalAddress:Port\s+CPS\s+InPPS\s+OutPPS\s+InBPS\s+OutBPS$/.test(l))).toBe(true);
  });

  test('SIGTERM: stops accepting, lets a request in flight finish within drain_timeout, exits 0', async () => {
    const vip = await freePort();
    const file = tmp.path('drain.conf');
    writeFileSync(file, configText({ controlSocket: tmp.path('drain.sock'), drainTimeout: 5, vs: [{ port: vip, rs: [{ port: slow.port, weight: 1 }] }] }));
    const lvsd = await LvsdProcess.start(file);
    started.push(lvsd);
    const t0 = Date.now();
    const inFlight = get(vip, false);
    // The request reaches the backend (1.5 s to answer) before the signal.
    while (slow.hits === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(slow.hits).toBe(1);
    lvsd.child.kill('SIGTERM');
    await lvsd.waitFor((l) => l.event !== undefined && (l.event as { type: string }).type === 'stopped-listening');
    // New connections are refused while the old one drains.
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(vip, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve('connected'); });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(await inFlight).toBe(`backend ${slow.port}\n`);
    const exit = await lvsd.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    console.log(`drain: exited ${Date.now() - t0} ms after the request started`);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(lvsd.lines.some((l) => l.msg === 'lvsd stopped')).toBe(true);
  });

  test('a bad configuration refuses to start: exit 1 and diagnostics like lvsd -t', async () => {
    const file = tmp.path('bad.conf');
    writeFileSync(file, configText({ controlSocket: tmp.path('bad.sock'), vs: [{ port: 18080, sched: 'nosuch', rs: [{ port: 18081, weight: 1 }] }] }));
    const lvsd = LvsdProcess.spawn(['-n', '-f', file, '--workers', '0']);
    started.push(lvsd);
    const exit = await lvsd.exited;
    expect(exit.code).toBe(1);
    const err = lvsd.stderr.join('');
    expect(err).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: error: .*nosuch`));
    expect(err).toContain('not starting');
    expect(existsSync(tmp.path('bad.sock'))).toBe(false);
  });
});
