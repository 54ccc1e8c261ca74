// Two tables with sync daemons in two network namespaces joined by a veth pair: the master's
// connections and templates reach the backup over real multicast UDP (224.0.0.81:8848, or an
// IPv6 group), the backup checks the syncid, and start/stop errors are the kernel's.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../helpers/paths.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('test/netns/sync-pair: skipped, needs root for network namespaces');
const d = isRoot ? describe : describe.skip;

const peerJs = join(repoRoot, 'dist', 'test', 'netns', 'sync-peer.js');
const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });

class Peer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: ((x: Record<string, unknown>) => void)[] = [];
  constructor(ns: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, peerJs], { stdio: 'pipe' });
    createInterface({ input: this.proc.stdout }).on('line', (l) => this.waiting.shift()?.(JSON.parse(l) as Record<string, unknown>));
  }
  ask(m: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`peer did not answer ${JSON.stringify(m)}`)), 5000);
      this.waiting.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
      this.proc.stdin.write(JSON.stringify(m) + '\n');
    });
  }
  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(t);
  }
}

/** Polls the backup's table until `pred` holds (multicast delivery takes a moment). */
async function connsUntil(p: Peer, pred: (conns: string[]) => boolean, ms = 5000): Promise<{ conns: string[]; counters: Record<string, unknown> }> {
  const end = Date.now() + ms;
  for (;;) {
    const r = (await p.ask({ cmd: 'conns' })) as { conns: string[]; counters: Record<string, unknown> };
    if (pred(r.conns) || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

d('sync daemons between two namespaces', () => {
  const tag = randomBytes(3).toString('hex');
  const nsA = `lvsd-sync-${tag}-a`;
  const nsB = `lvsd-sync-${tag}-b`;
  const peers: Peer[] = [];
  const peer = (ns: string): Peer => {
    const p = new Peer(ns);
    peers.push(p);
    return p;
  };

  beforeAll(() => {
    sh('ip', 'netns', 'add', nsA);
    sh('ip', 'netns', 'add', nsB);
    sh('ip', 'link', 'add', `sy${tag}a`, 'netns', nsA, 'type', 'veth', 'peer', 'name', `sy${tag}b`, 'netns', nsB);
    for (const [ns, dev, a4, a6] of [[nsA, `sy${tag}a`, '192.0.2.1/24', '2001:db8::1/64'], [nsB, `sy${tag}b`, '192.0.2.2/24', '2001:db8::2/64']] as const) {
      sh('ip', '-n', ns, 'link', 'set', dev, 'name', 'eth0');
      sh('ip', '-n', ns, 'addr', 'add', a4, 'dev', 'eth0');
      sh('ip', '-n', ns, '-6', 'addr', 'add', a6, 'dev', 'eth0', 'nodad');
      sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
      sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
    // datagrams sent before the veth has carrier are lost
    const end = Date.now() + 5000;
    while (![nsA, nsB].every((ns) => sh('ip', '-n', ns, 'link', 'show', 'eth0').includes('LOWER_UP')) && Date.now() < end) execFileSync('sleep', ['0.05']);
  });
  afterAll(async () => {
    for (const p of peers) await p.close();
    for (const ns of [nsA, nsB]) try { sh('ip', 'netns', 'del', ns); } catch { /* gone */ }
  });

  test('IPv4 group: connections and a template reach the backup; a second start is EEXIST; syncid filters', async () => {
    const master = peer(nsA);
    const backup = peer(nsB);
    const cfg = { ifname: 'eth0', syncid: 9 };
    expect(await backup.ask({ cmd: 'start', cfg: { ...cfg, role: 'backup' } })).toEqual({ ok: true });
    expect(await backup.ask({ cmd: 'start', cfg: { ...cfg, role: 'backup' } })).toMatchObject({ ok: false, code: 'EEXIST' });
    expect(await master.ask({ cmd: 'start', cfg: { ...cfg, role: 'master', ifname: 'nosuch0' } })).toMatchObject({ ok: false, code: 'ENODEV' });
    expect(await master.ask({ cmd: 'start', cfg: { ...cfg, role: 'master' } })).toEqual({ ok: true });
    const a = await master.ask({ cmd: 'open', client: '192.0.2.50:40000', vport: 80 });
    const b = await master.ask({ cmd: 'open', client: '192.0.2.51:40001', vport: 80, state: 'SYN_RECV' }); // not announced
    const s = await master.ask({ cmd: 'open', client: '198.51.100.77:5555', vport: 80, sticky: true });
    expect([a.ok, b.ok, s.ok]).toEqual([true, true, true]);
    await master.ask({ cmd: 'flush' });
    const got = await connsUntil(backup, (c) => c.length >= 3);
    expect(got.conns.map((l) => l.replace(/ \d+$/, '')).sort()).toEqual([
      `TCP ESTABLISHED 192.0.2.50:40000 203.0.113.10:80 ${a.dest}:80`,
      `TCP ESTABLISHED 198.51.100.77:5555 203.0.113.11:80 ${s.dest}:80`,
      `TCP NONE 198.51.100.0:0 203.0.113.11:80 ${s.dest}:80`,
    ]);
    // the template makes a new connection from that /24 go to the same real server on the backup
    expect(await backup.ask({ cmd: 'pick', client: '198.51.100.200' })).toEqual({ ok: true, dest: s.dest, viaTemplate: true });
    await master.close();
    // another master with another syncid is not heard by a backup with syncid 9
    const other = peer(nsA);
    expect(await other.ask({ cmd: 'start', cfg: { ifname: 'eth0', syncid: 10, role: 'master' } })).toEqual({ ok: true });
    await other.ask({ cmd: 'open', client: '192.0.2.60:1', vport: 80 });
    await other.ask({ cmd: 'flush' });
    const after = await connsUntil(backup, () => false, 1000);
    expect(after.conns.some((l) => l.includes('192.0.2.60'))).toBe(false);
    expect((after.counters as { dropped: number; lastDrop: string }).lastDrop).toMatch(/^ESYNCID/);
    await other.close();
    await backup.close();
  }, 30_000);

  test('IPv6 group ff02::81, port 8850: entries arrive the same way', async () => {
    const master = peer(nsA);
    const backup = peer(nsB);
    const cfg = { ifname: 'eth0', syncid: 0, group: 'ff02::81', port: 8850 };
    expect(await backup.ask({ cmd: 'start', cfg: { ...cfg, role: 'backup' } })).toEqual({ ok: true });
    expect(await master.ask({ cmd: 'start', cfg: { ...cfg, role: 'master', syncid: 3 } })).toEqual({ ok: true });
    const a = await master.ask({ cmd: 'open', client: '192.0.2.70:1234', vport: 80, state: 'FIN_WAIT' });
    await master.ask({ cmd: 'flush' });
    const got = await connsUntil(backup, (c) => c.length >= 1);
    expect(got.conns.map((l) => l.replace(/ \d+$/, ''))).toEqual([`TCP FIN_WAIT 192.0.2.70:1234 203.0.113.10:80 ${a.dest}:80`]);
    expect(Number(got.conns[0]!.split(' ').pop())).toBeGreaterThanOrEqual(118); // FIN_WAIT 120 s, as announced
    await master.close();
    await backup.close();
  }, 30_000);
});
