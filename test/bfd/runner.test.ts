// Two BFD runners on loopback (127.0.0.1 and 127.0.0.2, one random port): real UDP sockets.
// The peer that must die silently runs in a child process and is killed with SIGKILL.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BfdRunner, type BfdInstanceSpec } from '../../src/bfd/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const quiet = { info: () => undefined, warn: () => undefined };
const port = 20000 + Math.floor(Math.random() * 20000);

const spec = (name: string, neighbor: string, source: string, o: Partial<BfdInstanceSpec> = {}): BfdInstanceSpec => ({
  name, neighbor, source, minRxMs: 50, minTxMs: 50, idleTxMs: 100, multiplier: 3, passive: false, ttl: 255, multihop: false, ...o,
});

/** Resolves with the next reported change for `name` (rejects after `ms`). */
function nextChange(r: BfdRunner, name: string, ms = 5000): Promise<{ up: boolean; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no change for ${name} within ${ms} ms`));
    }, ms);
    const off = r.onChange((n, up) => {
      if (n !== name) return;
      clearTimeout(timer);
      off();
      resolve({ up, at: performance.now() });
    });
  });
}

const runners: BfdRunner[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function runner(): BfdRunner {
  const r = new BfdRunner({ logger: quiet, port });
  runners.push(r);
  return r;
}

/**
 * Runners a (session 'x' toward 127.0.0.2) and b ('y' back) with the session Up; `changes` collects
 * the up/down reports a makes from then on.
 */
async function upSessionXY(): Promise<{ a: BfdRunner; b: BfdRunner; changes: boolean[] }> {
  const a = runner();
  const b = runner();
  const up = nextChange(a, 'x');
  await a.start([spec('x', '127.0.0.2', '127.0.0.1')]);
  await b.start([spec('y', '127.0.0.1', '127.0.0.2')]);
  await up;
  const changes: boolean[] = [];
  a.onChange((_n, u) => changes.push(u));
  return { a, b, changes };
}

function peerProcess(specs: BfdInstanceSpec[]): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, [join(here, 'peer-main.js'), JSON.stringify(specs), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.includes('"ready"')) resolve({ child, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`peer exited ${code}`)));
  });
}

describe('BFD runner on loopback', () => {
  it('two runners bring a session Up both ways', async () => {
    const a = runner();
    const b = runner();
    const upA = nextChange(a, 'to-b');
    const upB = nextChange(b, 'to-a');
    expect(await a.start([spec('to-b', '127.0.0.2', '127.0.0.1')])).toEqual([]);
    expect(await b.start([spec('to-a', '127.0.0.1', '127.0.0.2')])).toEqual([]);
    expect((await upA).up).toBe(true);
    expect((await upB).up).toBe(true);
    expect(a.isUp('to-b')).toBe(true);
    const st = a.status()[0];
    expect(st).toMatchObject({ name: 'to-b', state: 'Up', remoteState: 'Up', remoteDiscr: b.discriminator('to-a') });
  });

  it('goes Down within the detection time when the peer process is killed', async () => {
    const a = runner();
    const up = nextChange(a, 'to-peer');
    await a.start([spec('to-peer', '127.0.0.2', '127.0.0.1')]);
    const { child, lines } = await peerProcess([spec('to-a', '127.0.0.1', '127.0.0.2')]);
    expect((await up).up).toBe(true);
    await new Promise((r) => setTimeout(r, 300)); // let the Poll Sequence settle at 50 ms
    expect(a.status()[0].detectTimeMs).toBe(150);
    const down = nextChange(a, 'to-peer');
    const killedAt = performance.now();
    child.kill('SIGKILL');
    const d = await down;
    expect(d.up).toBe(false);
    // detection time 150 ms after the last packet; allow for a loaded 2-core box
    expect(d.at - killedAt).toBeLessThan(150 + 250);
    expect(a.status()[0]).toMatchObject({ state: 'Down', localDiag: 1 });
    expect(lines.some((l) => l.includes('"up":true'))).toBe(true);
  });

  it('a peer that stops gracefully sends AdminDown: Down without a "down" report (keepalived)', async () => {
    const { a, b, changes } = await upSessionXY();
    await b.reconcile([]);
    for (let i = 0; i < 50 && a.status()[0].state === 'Up'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(a.status()[0]).toMatchObject({ state: 'Down', remoteState: 'AdminDown', localDiag: 3 });
    expect(changes).toEqual([]);
    expect(a.isUp('x')).toBe(true);
  });

  it('reload: new intervals keep the session Up with the same discriminator; a new neighbour is a new session', async () => {
    const { a, b, changes } = await upSessionXY();
    const discr = a.discriminator('x');
    expect(await a.reconcile([spec('x', '127.0.0.2', '127.0.0.1', { minTxMs: 80, minRxMs: 80 })])).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.discriminator('x')).toBe(discr);
    expect(a.status()[0]).toMatchObject({ state: 'Up', poll: false, txIntervalMs: 80 });
    expect(b.status()[0].detectTimeMs).toBe(240);
    expect(changes).toEqual([]);
    await a.reconcile([spec('x', '127.0.0.3', '127.0.0.1')]);
    expect(a.discriminator('x')).not.toBe(discr);
    expect(a.isUp('x')).toBe(false);
  });

  it('multihop sessions use their own port (RFC 5883) and come Up', async () => {
    const mh = port + 1;
    const a = new BfdRunner({ logger: quiet, port, multihopPort: mh });
    const b = new BfdRunner({ logger: quiet, port, multihopPort: mh });
    runners.push(a, b);
    const up = nextChange(a, 'mh');
    await a.start([spec('mh', '127.0.0.2', '127.0.0.1', { multihop: true })]);
    await b.start([spec('mh', '127.0.0.1', '127.0.0.2', { multihop: true })]);
    expect((await up).up).toBe(true);
  });

  it('counts and drops bad packets without throwing', async () => {
    const a = runner();
    await a.start([spec('x', '127.0.0.2', '127.0.0.1', { passive: true })]);
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind({ address: '127.0.0.2', port: 0 }, () => r()));
    const send = (b: Buffer) => new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()));
    await send(Buffer.from('not bfd'));
    await send(Buffer.from('20400318000000010000000000000001000000010000000000', 'hex').subarray(0, 24)); // valid Down
    await send(Buffer.from('2040031800000001000000090000000100000001000000000000', 'hex').subarray(0, 24)); // Your Discriminator 9: no such session
    await new Promise((r) => setTimeout(r, 100));
    s.close();
    expect(a.dropped.short).toBe(1);
    expect(a.status()[0].state).toBe('Init');
    expect(a.dropped['no-session']).toBe(1);
  });

  it('reports a socket problem as an error value, not an exception', async () => {
    const a = runner();
    const errs = await a.start([spec('x', '127.0.0.2', '192.0.2.77'), spec('y', 'not-an-ip', '127.0.0.1')]);
    expect(errs.map((e) => e.code)).toEqual(['EBFD', 'EBFD']);
    expect(errs[0].message).toMatch(/bfd_instance x: cannot listen/);
    expect(errs[1].message).toMatch(/neighbor_ip not-an-ip/);
  });
});
