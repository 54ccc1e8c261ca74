// Scheduler benchmark: picks/s and ns/pick for the 13 schedulers at 10, 100 and 1000 dests;
// table evenness and key movement for sh and mh; heap growth over 1 M picks (allocation check).
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createScheduler, foldAddress, SCHEDULER_NAMES } from '../src/sched/index.js';
import type { PacketKey, SchedDest, Scheduler } from '../src/sched/index.js';
import { rng } from '../test/helpers/rng.js';

const SIZES = [10, 100, 1000] as const;
const KEY_COUNT = 1024; // a power of two: keys[i & 1023]
const TARGET_NS = 250e6; // measure each case for about a quarter second

function makeDests(n: number, weighted: boolean, seed = 1): SchedDest[] {
  const r = rng(seed);
  const out: SchedDest[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: i + 1,
      addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 80,
      weight: weighted ? 1 + Math.floor(r() * 10) : 1,
      activeConns: Math.floor(r() * 50),
      inactiveConns: Math.floor(r() * 500),
      overloaded: false,
    });
  }
  return out;
}

function makeKeys(count: number, seed = 2): PacketKey[] {
  const r = rng(seed);
  const keys: PacketKey[] = [];
  for (let i = 0; i < count; i++) {
    const saddr = `${1 + Math.floor(r() * 223)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
    const daddr = `198.51.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
    keys.push({ family: 4, saddr, daddr, saddrFold: foldAddress(saddr), daddrFold: foldAddress(daddr), sport: 1024 + Math.floor(r() * 60000), dport: 80 });
  }
  return keys;
}

type Loop = (s: Scheduler, keys: PacketKey[], n: number) => number;

// A fresh copy of the loop per case keeps its call site monomorphic, as a service's hot path
// is; one shared loop would turn megamorphic after a few schedulers and skew later figures.
function freshLoop(): Loop {
  return new Function(
    's',
    'keys',
    'n',
    'let hits = 0; for (let i = 0; i < n; i++) { if (s.pick(keys[i & 1023], i) !== null) hits++; } return hits;',
  ) as Loop;
}

/** CPU time of this process in ns: wall time is meaningless when other jobs share the cores. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function timePicks(s: Scheduler, keys: PacketKey[]): { nsPerPick: number; picksPerSec: number } {
  const loop = freshLoop();
  loop(s, keys, 20_000); // warm up and let the optimiser settle
  let n = 50_000;
  for (;;) {
    const t0 = cpuNs();
    loop(s, keys, n);
    const ns = cpuNs() - t0;
    if (ns >= TARGET_NS || n >= 1 << 28) return { nsPerPick: ns / n, picksPerSec: (n / ns) * 1e9 };
    n = Math.min(1 << 28, Math.ceil((n * TARGET_NS) / Math.max(ns, 1000)) + 1);
  }
}

/** The cheapest possible full scan over the same objects: what any linear scheduler costs. */
function timeBareScan(dests: SchedDest[]): { nsPerPick: number } {
  const scan = new Function(
    'ds',
    'n',
    'let x = 0; for (let k = 0; k < n; k++) { for (let i = 0; i < ds.length; i++) { const d = ds[i]; ' +
      'if (!d.overloaded && d.weight !== 0) x += d.activeConns * 256 + d.inactiveConns; } } return x;',
  ) as (ds: SchedDest[], n: number) => number;
  scan(dests, 2000);
  const n = Math.max(2000, Math.floor(2e7 / dests.length));
  const t0 = cpuNs();
  scan(dests, n);
  return { nsPerPick: (cpuNs() - t0) / n };
}

function speedTable(): void {
  const keys = makeKeys(KEY_COUNT);
  const [load1] = os.loadavg();
  console.log(`picks/s and ns/pick in process CPU time (weights 1..10, random counters, 1024 keys; ` +
    `load average ${load1!.toFixed(1)} on ${os.cpus().length} CPUs)`);
  console.log(`${'sched'.padEnd(6)} ${SIZES.map((n) => `N=${n}`.padStart(24)).join('')}`);
  for (const name of SCHEDULER_NAMES) {
    const cells: string[] = [];
    for (const n of SIZES) {
      const s = createScheduler(name);
      s.update(makeDests(n, true));
      const { nsPerPick, picksPerSec } = timePicks(s, keys);
      cells.push(`${(picksPerSec / 1e6).toFixed(1).padStart(8)} M/s ${nsPerPick.toFixed(1).padStart(8)} ns`);
    }
    console.log(`${name.padEnd(6)} ${cells.map((c) => c.padStart(24)).join('')}`);
  }
  const floor = SIZES.map((n) => {
    const { nsPerPick } = timeBareScan(makeDests(n, true));
    return `${nsPerPick.toFixed(1).padStart(8)} ns`.padStart(24);
  });
  console.log(`${'floor'.padEnd(6)} ${floor.join('')}   (bare loop reading the 4 fields lc reads, for scale)`);
  console.log('(the rows above are the kernel-shaped linear scans; the table runs the indexed ones below)');
  // As the ipvs table runs them: an exact index (src/sched/load-index.ts). Each figure is a pick
  // plus the three index updates one connection causes (bind, ESTABLISHED, unbind), with the
  // picked dest's counters really changing, so the per-connection cost is all counted.
  for (const name of INDEXED) {
    const cells: string[] = [];
    for (const n of SIZES) {
      const s = createScheduler(name, {}, { indexed: true });
      s.update(makeDests(n, true));
      const { nsPerPick, picksPerSec } = timeIndexed(s, keys);
      cells.push(`${(picksPerSec / 1e6).toFixed(1).padStart(8)} M/s ${nsPerPick.toFixed(1).padStart(8)} ns`);
    }
    console.log(`${(name + '*').padEnd(6)} ${cells.map((c) => c.padStart(24)).join('')}`);
  }
  console.log('(* indexed, pick + 3 index updates per connection: what a service with that scheduler costs per new connection)');
  console.log('goals: rr wrr sh dh mh > 10 M picks/s; lc wlc sed nq fo ovf < 2000 ns/pick at N=1000');
}

const INDEXED = ['lc', 'wlc', 'sed', 'fo', 'ovf'] as const;

function timeIndexed(s: Scheduler, keys: PacketKey[]): { nsPerPick: number; picksPerSec: number } {
  // Counters move on the picked dest (+1 inactive, then active, then -1), as a connection does.
  const loop = new Function(
    's',
    'keys',
    'n',
    'let hits = 0; for (let i = 0; i < n; i++) { const d = s.pick(keys[i & 1023], i); if (d === null) continue; hits++; ' +
      'd.inactiveConns++; s.changed(d); d.inactiveConns--; d.activeConns++; s.changed(d); d.activeConns--; s.changed(d); } return hits;',
  ) as Loop;
  loop(s, keys, 20_000);
  let n = 50_000;
  for (;;) {
    const t0 = cpuNs();
    loop(s, keys, n);
    const ns = cpuNs() - t0;
    if (ns >= TARGET_NS || n >= 1 << 26) return { nsPerPick: ns / n, picksPerSec: (n / ns) * 1e9 };
    n = Math.min(1 << 26, Math.ceil((n * TARGET_NS) / Math.max(ns, 1000)) + 1);
  }
}

/** Buckets/slots per dest for sh (256) or mh (4093), equal weights. */
function evenness(name: 'sh' | 'mh', n: number): string {
  const s = createScheduler(name) as Scheduler & { buckets?: (SchedDest | null)[]; lookup?: (SchedDest | null)[] };
  const dests = makeDests(n, false);
  s.update(dests);
  const table = (s.buckets ?? s.lookup)!;
  const per = new Map<number, number>();
  for (const d of dests) per.set(d.id, 0);
  for (const d of table) if (d !== null) per.set(d.id, per.get(d.id)! + 1);
  const counts = [...per.values()];
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  const empty = counts.filter((c) => c === 0).length;
  return min === 0 ? `${max}/0 (${empty} dests unused)` : `${max}/${min} = ${(max / min).toFixed(2)}`;
}

/** Share of 100k source addresses whose dest changes when one dest (mid-list) is removed. */
function moved(name: 'sh' | 'mh', n: number, mhTableSize?: number): number {
  const dests = makeDests(n, false);
  const keys = makeKeys(100_000, 7);
  const options = mhTableSize === undefined ? undefined : { mhTableSize };
  const before = createScheduler(name, {}, options);
  before.update(dests);
  const after = createScheduler(name, {}, options);
  after.update(dests.filter((_, i) => i !== Math.floor(n / 2)));
  let changed = 0;
  for (const k of keys) if (before.pick(k, 0) !== after.pick(k, 0)) changed++;
  return changed / keys.length;
}

function consistencyTable(): void {
  console.log('\ntable evenness (max/min entries per dest, equal weights) and keys moved when 1 dest is removed');
  console.log(
    `${'N'.padStart(5)}  ${'sh evenness'.padEnd(26)}${'mh evenness'.padEnd(18)}${'sh moved'.padStart(9)}` +
      `${'mh moved'.padStart(10)}${'mh(65521)'.padStart(11)}${'ideal 1/N'.padStart(11)}`,
  );
  const pct = (x: number, width: number) => `${(x * 100).toFixed(2).padStart(width - 1)}%`;
  for (const n of SIZES) {
    console.log(
      `${String(n).padStart(5)}  ${evenness('sh', n).padEnd(26)}${evenness('mh', n).padEnd(18)}` +
        `${pct(moved('sh', n), 9)}${pct(moved('mh', n), 10)}${pct(moved('mh', n, 65521), 11)}${pct(1 / n, 11)}`,
    );
  }
  console.log('(mh moved: kernel default table M = 4093, and the largest kernel option M = 65521)');
}

async function allocationCheck(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const keys = makeKeys(KEY_COUNT);
  const PICKS = 1_000_000;
  console.log(`\nallocation check: heap growth and GC count over ${PICKS / 1e6} M picks (N=100, after warm-up)`);
  const line: string[] = [];
  for (const name of SCHEDULER_NAMES) {
    const s = createScheduler(name);
    s.update(makeDests(100, true));
    const loop = freshLoop();
    loop(s, keys, 200_000); // warm up; lblc/lblcr fill their caches for all 1024 keys here
    loop(s, keys, PICKS); // a full untimed round first, so lazy compilation is not counted
    let gcs = 0;
    const obs = new PerformanceObserver((list) => {
      gcs += list.getEntries().length;
    });
    gc();
    obs.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    loop(s, keys, PICKS);
    const grown = process.memoryUsage().heapUsed - before;
    await new Promise((r) => setImmediate(r));
    obs.disconnect();
    line.push(`${name} ${(grown / 1024).toFixed(0)} KiB/${gcs} gc`);
  }
  console.log(line.join(', '));
  console.log('(1 M picks allocating even 16 bytes each would fill the young generation and force GCs)');
}

export default async function run(): Promise<void> {
  speedTable();
  consistencyTable();
  await allocationCheck();
}
