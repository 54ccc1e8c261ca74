// Checkers against a host in a network namespace created by the test: ICMP echo over a veth
// (IPv4 and IPv6), TCP connect timeout against a port the namespace drops (nft), and the runner's
// detection of the drop. Needs root; skips with a printed reason otherwise.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pingCheck } from '../../src/check/ping.js';
import { tcpCheck } from '../../src/check/tcp.js';
import { httpCheck } from '../../src/check/http.js';
import { CheckRunner, ManualClock, type CheckEvent } from '../../src/check/index.js';

const root = process.getuid?.() === 0;
const suffix = randomBytes(3).toString('hex');
const ns = `lvsd-check-${suffix}`;
const vethHost = `lvck${suffix}`; // <= 15 chars
const vethNs = `lvcn${suffix}`;
const markTable = `lvsd_check_${suffix}`; // host-side, only for our veth: echo requests need mark 0x1234
const run = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
const inNs = (...args: string[]): string => run('ip', 'netns', 'exec', ns, ...args);
let server: ChildProcess | undefined;

beforeAll(async () => {
  if (!root) return;
  try {
    run('ip', 'netns', 'add', ns);
    run('ip', 'link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs);
    run('ip', 'link', 'set', vethNs, 'netns', ns);
    run('ip', 'addr', 'add', '198.51.100.1/30', 'dev', vethHost);
    run('ip', '-6', 'addr', 'add', '2001:db8:c4::1/64', 'dev', vethHost, 'nodad');
    run('ip', 'link', 'set', vethHost, 'up');
    inNs('ip', 'addr', 'add', '198.51.100.2/30', 'dev', vethNs);
    inNs('ip', '-6', 'addr', 'add', '2001:db8:c4::2/64', 'dev', vethNs, 'nodad');
    inNs('ip', 'link', 'set', vethNs, 'up');
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('nft', 'add table inet lvsdcheck; add chain inet lvsdcheck in { type filter hook input priority 0; }; add rule inet lvsdcheck in tcp dport 9 drop');
    // a real HTTP server inside the namespace
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', "require('http').createServer((q,s)=>s.end('ns ok')).listen(8080,'198.51.100.2')"], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      if ((await tcpCheck({ type: 'TCP' }, { addr: '198.51.100.2', port: 8080 }, 200)).ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    cleanup();
    throw e;
  }
});

function cleanup(): void {
  try {
    run('nft', 'delete', 'table', 'inet', markTable);
  } catch { /* not made */ }
  if (server?.pid) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch { /* gone */ }
  }
  try {
    run('ip', 'netns', 'pids', ns).split('\n').filter(Boolean).forEach((p) => process.kill(Number(p), 'SIGKILL'));
  } catch { /* no ns */ }
  try {
    run('ip', 'link', 'del', vethHost);
  } catch { /* already gone */ }
  try {
    run('ip', 'netns', 'del', ns);
  } catch { /* already gone */ }
}
afterAll(cleanup);

describe('checks across a network namespace', () => {
  it('pings the namespace host over IPv4 and IPv6; an address with no host times out', async () => {
    if (!root) return void console.log('skipped: needs root for namespaces and raw sockets');
    expect(await pingCheck({ type: 'PING' }, { addr: '198.51.100.2', port: 0 }, 1000)).toMatchObject({ ok: true });
    expect(await pingCheck({ type: 'PING' }, { addr: '2001:db8:c4::2', port: 0 }, 2000)).toMatchObject({ ok: true });
    inNs('ip', 'link', 'set', vethNs, 'down');
    const r = await pingCheck({ type: 'PING' }, { addr: '198.51.100.2', port: 0 }, 500);
    inNs('ip', 'link', 'set', vethNs, 'up');
    expect(r.ok).toBe(false);
  });

  it('a dropped SYN times out at connect_timeout; a real HTTP server in the namespace is up', async () => {
    if (!root) return void console.log('skipped: needs root for namespaces');
    const t0 = Date.now();
    expect(await tcpCheck({ type: 'TCP' }, { addr: '198.51.100.2', port: 9 }, 400)).toMatchObject({ ok: false, reason: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(1200);
    expect(await httpCheck({ type: 'HTTP', urls: [{ path: '/' }], bindTo: '198.51.100.1' }, { addr: '198.51.100.2', port: 8080 }, 2000)).toMatchObject({ ok: true });
  });

  it('the runner times a dropped SYN out by its injected clock, at connect_timeout exactly', async () => {
    if (!root) return void console.log('skipped: needs root for namespaces');
    const clock = new ManualClock();
    const events: CheckEvent[] = [];
    const runner = new CheckRunner(
      [{ id: 'ns', delayLoopMs: 5000, warmupMs: 0, retry: 0, connectTimeoutMs: 700, realServers: [{ addr: '198.51.100.2', port: 9, checkers: [{ type: 'TCP' }] }] }],
      { onEvent: (e) => events.push(e), logger: { info: () => {}, warn: () => {} }, clock },
    );
    runner.start();
    clock.advance(0); // the check starts: the SYN is dropped, so the probe waits
    await new Promise((r) => setTimeout(r, 300)); // real time passes; only the injected clock times out
    clock.advance(699);
    expect(events.filter((e) => e.kind === 'rs' && !e.up)).toEqual([]);
    clock.advance(1);
    expect(events.filter((e) => e.kind === 'rs' && !e.up).map((e) => [e.reason, e.took_ms])).toEqual([['timeout', 700]]);
    await runner.stop();
    expect(clock.pending()).toBe(0);
  });

  it('PING_CHECK fwmark sets SO_MARK on its echo socket (a host rule on our veth drops unmarked echoes)', async () => {
    if (!root) return void console.log('skipped: needs root for namespaces, nft and raw sockets');
    run('nft', `add table inet ${markTable}; add chain inet ${markTable} out { type filter hook output priority 0; }; add rule inet ${markTable} out oifname ${vethHost} icmp type echo-request meta mark != 0x1234 drop`);
    try {
      // an output-hook drop makes the send fail at once (EPERM)
      expect(await pingCheck({ type: 'PING' }, { addr: '198.51.100.2', port: 0 }, 500)).toMatchObject({ ok: false });
      expect(await pingCheck({ type: 'PING', fwmark: 0x1234 }, { addr: '198.51.100.2', port: 0 }, 1000)).toMatchObject({ ok: true });
      expect(await pingCheck({ type: 'PING', fwmark: 0x99 }, { addr: '198.51.100.2', port: 0 }, 500)).toMatchObject({ ok: false });
    } finally {
      run('nft', 'delete', 'table', 'inet', markTable);
    }
  });
});
