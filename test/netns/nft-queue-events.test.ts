// Root test: conntrack's events reach lvsd's table through the NFQUEUE helper (binary records, no
// `conntrack -E`), without any conntrack dump: a held flow becomes active, its close makes it
// inactive, and conntrack's DESTROY (here forced with conntrack -D) drops it and folds its final
// packet and byte counters into the table.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { type DestSpec, type IpvsTable } from '../../src/ipvs/index.js';
import { NftEngine, servicesFromTable } from '../../src/forward/nft/index.js';
import { HOLD_JS, Topology, VIP4, rs4 } from './nft-topology.js';
import { startEngine, stopEngine, tableWith } from './nft-engine-lab.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipping nft queue events test: it needs root (network namespaces, nftables)');
const d = isRoot ? describe : describe.skip;

const dest = (i: number): DestSpec => ({ addr: rs4(i), port: 8080, weight: 1, method: 'NAT', uThreshold: 0, lThreshold: 0 });

d('nft engine: conntrack events through the helper', () => {
  const topo = new Topology();
  let table: IpvsTable;
  let engine: NftEngine;
  const now = () => performance.now();
  const totals = () => {
    const dests = table.services[0].dests;
    return {
      active: dests.reduce((a, x) => a + x.activeConns, 0),
      inactive: dests.reduce((a, x) => a + x.inactiveConns, 0),
      inBytes: table.services[0].stats.inBytes,
      outBytes: table.services[0].stats.outBytes,
      inPkts: table.services[0].stats.inPkts,
    };
  };
  /** Polls the table (no dump, no refresh: only events change it) until `ok`, for up to 5 s. */
  const until = async (ok: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
    if (!ok()) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(totals())}`);
  };

  beforeAll(async () => {
    await topo.create();
    table = tableWith([{ key: { kind: 'addr', protocol: 'tcp', addr: VIP4, port: 8000 }, scheduler: 'rr', dests: [1, 2, 3].map(dest) }], now());
    engine = await startEngine(topo, table, servicesFromTable(table), { queueNum: 11 }, now);
  }, 60000);

  afterAll(() => stopEngine(engine, topo), 30000);

  it('a held flow turns active, its close inactive, and DESTROY drops it with its final counters', async () => {
    const hold = topo.spawnClient(HOLD_JS, [`http://${VIP4}:8000/`]);
    const lines: string[] = [];
    hold.stdout!.setEncoding('utf8').on('data', (s: string) => lines.push(...s.split('\n').filter(Boolean)));
    hold.stdin!.write('go\ngo\n');
    for (let i = 0; i < 100 && lines.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(lines.map((l) => (JSON.parse(l) as { rs?: string }).rs)).toEqual([expect.stringMatching(/^rs[123]$/), expect.stringMatching(/^rs[123]$/)]);
    await until(() => totals().active === 1, 'ESTABLISHED from the events');
    expect(totals()).toMatchObject({ active: 1, inactive: 0, inBytes: 0 });

    hold.kill('SIGKILL'); // the kernel closes the socket: FIN
    await until(() => totals().active === 0 && totals().inactive === 1, 'the close from the events');

    const del = spawnSync('ip', ['netns', 'exec', topo.director, 'conntrack', '-D', '-p', 'tcp', '--orig-dst', VIP4, '--orig-port-dst', '8000'], { encoding: 'utf8' });
    expect(del.stderr).toMatch(/1 flow entries have been deleted/);
    await until(() => totals().inactive === 0, 'DESTROY from the events');
    const t = totals();
    // Two requests and their answers crossed the flow: the DESTROY event's counters, folded once.
    expect(t.inPkts).toBeGreaterThanOrEqual(5);
    expect(t.inBytes).toBeGreaterThan(150);
    expect(t.outBytes).toBeGreaterThan(t.inBytes);
    expect(engine.counters()).toMatchObject({ queued: 1, picked: 1 });
    expect(engine.eventsLost).toBe(0);
  }, 30000);
});
