// Interop with the real keepalived (Debian's 2.2.7, built with BFD): keepalived's BFD child in
// namespace r1, our BfdRunner (test/bfd/peer-main.ts) in r2. Sessions come Up both ways and go
// Down within the detection time when the other side is killed outright.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { hasKeepalived, isRoot, makeLab, Proc, repoRoot, sleep, type Lab } from '../vrrp/netns-helpers.js';
import { killKeepalivedBfd, startKeepalivedBfd, type KeepalivedBfd } from './keepalived-bfd.js';

const reason = !isRoot ? 'needs root' : !hasKeepalived ? 'needs /usr/sbin/keepalived (Debian package keepalived)' : '';
if (reason) console.log(`test/netns/bfd-keepalived: skipped, ${reason}`);
const d = reason ? describe.skip : describe;

const peerMain = join(repoRoot, 'dist/test/bfd/peer-main.js');

// keepalived 2.2.7 has no 'multihop' keyword (newer man pages do): multihop is tested between
// two of our runners (test/bfd/runner.test.ts).
function kaConf(o: { passive?: boolean; v6?: boolean } = {}): string {
  return `global_defs {
  router_id ka-bfd
}
bfd_instance to_lvsd {
  neighbor_ip ${o.v6 ? '2001:db8::2' : '192.0.2.2'}
  source_ip ${o.v6 ? '2001:db8::1' : '192.0.2.1'}
  min_rx 100
  min_tx 100
  multiplier 3
  ${o.passive ? 'passive' : ''}
}
`;
}

function startPeer(lab: Lab, o: { passive?: boolean; v6?: boolean } = {}): Proc {
  const spec = [{ name: 'to_ka', neighbor: o.v6 ? '2001:db8::1' : '192.0.2.1', source: o.v6 ? '2001:db8::2' : '192.0.2.2', minRxMs: 100, minTxMs: 100, idleTxMs: 1000, multiplier: 3, passive: !!o.passive, ttl: o.v6 ? 64 : 255, multihop: false }];
  const child = spawn('ip', ['netns', 'exec', lab.names.r2, process.execPath, peerMain, JSON.stringify(spec), '3784'], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.procs.push(child);
  return new Proc(child);
}

const kaSays = (p: Proc, re: RegExp) => p.lines.filter((l) => re.test(l)).length;
const ours = (p: Proc, up: boolean) => p.events.filter((e) => (e as unknown as { up?: boolean }).up === up).length;

d('BFD against keepalived 2.2.7', () => {
  let lab: Lab;
  const kas: KeepalivedBfd[] = [];
  const peers: Proc[] = [];

  beforeAll(() => {
    lab = makeLab('bfd');
  });
  afterEach(async () => {
    for (const k of kas.splice(0)) await killKeepalivedBfd(k);
    for (const p of peers.splice(0)) {
      p.kill('SIGKILL');
      await p.exited();
    }
  });
  afterAll(() => lab?.cleanup());

  it('comes Up both ways, and we go Down within the detection time when keepalived is killed', async () => {
    const ka = startKeepalivedBfd(lab, lab.names.r1, kaConf(), ['-D']);
    kas.push(ka);
    const peer = startPeer(lab);
    peers.push(peer);
    await peer.waitFor(() => ours(peer, true) > 0, 10_000, 'our session up');
    await ka.proc.waitFor(() => kaSays(ka.proc, /\(to_lvsd\) Entering Up state/i) > 0, 5000, 'keepalived session up');
    await sleep(500); // Poll Sequences settle on 100 ms
    const killedAt = Date.now();
    await killKeepalivedBfd(ka);
    kas.length = 0;
    await peer.waitFor(() => ours(peer, false) > 0, 3000, 'our session down');
    const took = Date.now() - killedAt;
    console.log(`bfd-keepalived: down ${took} ms after keepalived was killed (detection time 300 ms)`);
    expect(took).toBeLessThan(300 + 400);
  });

  it('keepalived goes Down within its detection time when we are killed; a restarted peer comes back Up', async () => {
    const ka = startKeepalivedBfd(lab, lab.names.r1, kaConf(), ['-D']);
    kas.push(ka);
    const peer = startPeer(lab);
    peers.push(peer);
    await ka.proc.waitFor(() => kaSays(ka.proc, /\(to_lvsd\) Entering Up state/i) > 0, 10_000, 'keepalived session up');
    await sleep(500);
    const killedAt = Date.now();
    peer.kill('SIGKILL');
    await ka.proc.waitFor(() => kaSays(ka.proc, /\(to_lvsd\) Entering Down state/i) > 0, 3000, 'keepalived session down');
    const took = Date.now() - killedAt;
    console.log(`bfd-keepalived: keepalived down ${took} ms after we were killed`);
    expect(took).toBeLessThan(300 + 400);
    expect(ka.proc.lines.some((l) => /Expired after/.test(l))).toBe(true);
    const again = startPeer(lab);
    peers.push(again);
    await again.waitFor(() => ours(again, true) > 0, 10_000, 'our restarted session up');
    await ka.proc.waitFor(() => kaSays(ka.proc, /\(to_lvsd\) Entering Up state/i) > 1, 5000, 'keepalived session up again');
  });

  it('keepalived passive: our active side brings it Up', async () => {
    const ka = startKeepalivedBfd(lab, lab.names.r1, kaConf({ passive: true }), ['-D']);
    kas.push(ka);
    const peer = startPeer(lab);
    peers.push(peer);
    await peer.waitFor(() => ours(peer, true) > 0, 10_000, 'our session up');
    await ka.proc.waitFor(() => kaSays(ka.proc, /Entering Up state/i) > 0, 5000, 'keepalived session up');
  });

  it('IPv6: comes Up both ways and goes Down when keepalived is killed', async () => {
    const ka = startKeepalivedBfd(lab, lab.names.r1, kaConf({ v6: true }), ['-D']);
    kas.push(ka);
    const peer = startPeer(lab, { v6: true });
    peers.push(peer);
    await peer.waitFor(() => ours(peer, true) > 0, 10_000, 'our IPv6 session up');
    await ka.proc.waitFor(() => kaSays(ka.proc, /\(to_lvsd\) Entering Up state/i) > 0, 5000, 'keepalived IPv6 session up');
    await killKeepalivedBfd(ka);
    kas.length = 0;
    await peer.waitFor(() => ours(peer, false) > 0, 3000, 'our IPv6 session down');
  });

  it('our passive side with active keepalived comes Up', async () => {
    const ka = startKeepalivedBfd(lab, lab.names.r1, kaConf(), ['-D']);
    kas.push(ka);
    const peer = startPeer(lab, { passive: true });
    peers.push(peer);
    await peer.waitFor(() => ours(peer, true) > 0, 10_000, 'our passive session up');
  });
});
