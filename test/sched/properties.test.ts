// Property tests over random destination sets (fast-check).
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { createScheduler, SCHEDULER_NAMES } from '../../src/sched/index.js';
import type { SchedDest, Scheduler, SchedulerName } from '../../src/sched/index.js';
import { ANY_KEY, dest, key } from './helpers.js';

const weightsArb = (min: number, max: number) => fc.array(fc.integer({ min, max }), { minLength: 1, maxLength: 8 });
const mkDests = (ws: readonly number[]) => ws.map((w, i) => dest(`D${i}`, w, { addr: `192.0.2.${i + 1}` }));
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function tally(s: Scheduler, dests: SchedDest[], n: number, after?: (d: SchedDest) => void): number[] {
  const counts = dests.map(() => 0);
  for (let i = 0; i < n; i++) {
    const d = s.pick(ANY_KEY, 0);
    if (d === null) continue;
    counts[dests.indexOf(d)]!++;
    after?.(d);
  }
  return counts;
}

describe('long-run weights', () => {
  it('rr: every dest with weight > 0 gets exactly k of k·P picks, weight 0 none', () => {
    fc.assert(
      fc.property(weightsArb(0, 5), fc.integer({ min: 1, max: 5 }), (ws, k) => {
        const dests = mkDests(ws);
        const s = createScheduler('rr');
        s.update(dests);
        const p = ws.filter((w) => w > 0).length;
        const counts = tally(s, dests, k * p);
        return counts.every((c, i) => c === (ws[i]! > 0 ? k : 0));
      }),
    );
  });

  it('wrr: one period (Σ w/gcd picks) gives each dest exactly w/gcd, also after one-by-one adds', () => {
    fc.assert(
      fc.property(weightsArb(0, 20), fc.boolean(), (ws, oneByOne) => {
        const dests = mkDests(ws);
        const s = createScheduler('wrr');
        if (oneByOne) for (let i = dests.length - 1; i >= 0; i--) s.update(dests.slice(i)); // head insertion
        else s.update(dests);
        const g = ws.filter((w) => w > 0).reduce((a, b) => gcd(a, b), 0);
        if (g === 0) return s.pick(ANY_KEY, 0) === null;
        const period = ws.reduce((a, w) => a + w / g, 0);
        const counts = tally(s, dests, 3 * period);
        return counts.every((c, i) => c === (3 * ws[i]!) / g);
      }),
    );
  });

  it('wlc and sed: connection counts track weights within N of the exact share', () => {
    for (const name of ['wlc', 'sed'] as const) {
      fc.assert(
        fc.property(weightsArb(1, 10), fc.integer({ min: 5, max: 40 }), (ws, m) => {
          const dests = mkDests(ws);
          const s = createScheduler(name);
          s.update(dests);
          const total = ws.reduce((a, b) => a + b, 0);
          const n = m * total;
          // wlc counts new connections as inactive, sed only sees active ones.
          const counts = tally(s, dests, n, (d) => (name === 'wlc' ? d.inactiveConns++ : d.activeConns++));
          return counts.every((c, i) => Math.abs(c - (n * ws[i]!) / total) <= ws.length);
        }),
      );
    }
  });
});

describe('hashing schedulers are stable for a fixed destination set', () => {
  const keyArb = fc.record({
    v6: fc.boolean(),
    a: fc.ipV4(),
    b: fc.ipV6(),
    sport: fc.integer({ min: 0, max: 65535 }),
  });
  for (const name of ['sh', 'dh', 'mh'] as const) {
    it(`${name}: same key → same dest, across picks, no-op updates and fresh instances`, () => {
      fc.assert(
        fc.property(weightsArb(1, 5), fc.array(keyArb, { minLength: 1, maxLength: 20 }), fc.boolean(), (ws, keys, port) => {
          const dests = mkDests(ws);
          const s1 = createScheduler(name, { port });
          const s2 = createScheduler(name, { port });
          s1.update(dests);
          s2.update(dests.slice());
          const ks = keys.map((k) => (k.v6 ? key(k.b, k.b, k.sport) : key(k.a, k.a, k.sport)));
          const first = ks.map((k) => s1.pick(k, 0));
          s1.update(dests);
          return ks.every((k, i) => s1.pick(k, 1) === first[i] && s2.pick(k, 2) === first[i] && first[i] !== null);
        }),
        { numRuns: name === 'mh' ? 30 : 100 },
      );
    });
  }
});

describe('fo and ovf choose by weight', () => {
  const destArb = fc.record({
    w: fc.integer({ min: 0, max: 10 }),
    active: fc.integer({ min: 0, max: 12 }),
    overloaded: fc.boolean(),
  });
  const build = (xs: { w: number; active: number; overloaded: boolean }[]) =>
    xs.map((x, i) => dest(`D${i}`, x.w, { activeConns: x.active, overloaded: x.overloaded }));

  it('fo: the first dest with the highest weight among those not overloaded', () => {
    fc.assert(
      fc.property(fc.array(destArb, { maxLength: 8 }), (xs) => {
        const dests = build(xs);
        const s = createScheduler('fo');
        s.update(dests);
        const eligible = dests.filter((d) => !d.overloaded && d.weight > 0);
        const top = Math.max(0, ...eligible.map((d) => d.weight));
        const expected = eligible.find((d) => d.weight === top) ?? null;
        return s.pick(ANY_KEY, 0) === expected;
      }),
    );
  });

  it('ovf: the first non-overflowed dest (active <= weight) with the highest weight', () => {
    fc.assert(
      fc.property(fc.array(destArb, { maxLength: 8 }), (xs) => {
        const dests = build(xs);
        const s = createScheduler('ovf');
        s.update(dests);
        const eligible = dests.filter((d) => !d.overloaded && d.weight > 0 && d.activeConns <= d.weight);
        const top = Math.max(0, ...eligible.map((d) => d.weight));
        const expected = eligible.find((d) => d.weight === top) ?? null;
        return s.pick(ANY_KEY, 0) === expected;
      }),
    );
  });
});

describe('pick never throws', () => {
  it('returns a current, non-quiescent dest or null for random states, keys and list changes', () => {
    const stateArb = fc.array(
      fc.record({
        w: fc.integer({ min: 0, max: 65535 }),
        a: fc.integer({ min: 0, max: 100000 }),
        i: fc.integer({ min: 0, max: 100000 }),
        o: fc.boolean(),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(
        fc.constantFrom<SchedulerName>(...SCHEDULER_NAMES),
        fc.array(stateArb, { minLength: 1, maxLength: 4 }),
        fc.ipV4(),
        fc.ipV6(),
        fc.nat({ max: 65535 }),
        (name, states, v4, v6, sport) => {
          const s = createScheduler(name, { fallback: true, port: true }, { mhTableSize: 251 });
          for (const st of states) {
            const dests: SchedDest[] = st.map((x, i) =>
              dest(`D${i}`, x.w, { activeConns: x.a, inactiveConns: x.i, overloaded: x.o, addr: `2001:db8::${i + 1}` }),
            );
            s.update(dests);
            for (const k of [key(v4, v4, sport), key(v6, v6, sport)]) {
              const d = s.pick(k, 0);
              if (d !== null && (!dests.includes(d) || d.weight === 0)) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
