// The indexed lc/wlc/sed/fo/ovf (what the ipvs table runs) pick exactly what the kernel's
// linear scans pick (the hand-derived sequences in the other tests use the scans), under
// random counters, overload flags, weights, additions and removals.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createScheduler } from '../../src/sched/index.js';
import type { PacketKey, SchedDest, SchedulerName } from '../../src/sched/types.js';

const KEY: PacketKey = { family: 4, saddr: '192.0.2.1', daddr: '198.51.100.1', saddrFold: 0xc0000201, daddrFold: 0xc6336401, sport: 1234, dport: 80 };
const NAMES: SchedulerName[] = ['lc', 'wlc', 'sed', 'fo', 'ovf'];

type Op =
  | { kind: 'counters'; i: number; active: number; inactive: number }
  | { kind: 'overload'; i: number; on: boolean }
  | { kind: 'weight'; i: number; w: number }
  | { kind: 'add'; w: number }
  | { kind: 'remove'; i: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('counters' as const), i: fc.nat(200), active: fc.nat(60), inactive: fc.nat(600) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('overload' as const), i: fc.nat(200), on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('weight' as const), i: fc.nat(200), w: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), w: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), i: fc.nat(200) }) },
);

describe('indexed schedulers', () => {
  it.each(NAMES)('%s: indexed picks equal the linear scan after every change', (name) => {
    fc.assert(
      fc.property(fc.array(fc.nat(6), { minLength: 0, maxLength: 140 }), fc.array(op, { maxLength: 60 }), (weights, ops) => {
        let nextId = 1;
        const mk = (w: number): SchedDest => ({ id: nextId++, addr: `10.0.0.${nextId}`, port: 80, weight: w, activeConns: 0, inactiveConns: 0, overloaded: false });
        // One list, edited in place as the table does (new dests at the head).
        const dests: SchedDest[] = weights.map(mk);
        const linear = createScheduler(name);
        const indexed = createScheduler(name, {}, { indexed: true });
        linear.update(dests);
        indexed.update(dests);
        expect(indexed.pick(KEY, 0)).toBe(linear.pick(KEY, 0));
        for (const o of ops) {
          if (o.kind === 'add') {
            dests.unshift(mk(o.w));
            linear.update(dests);
            indexed.update(dests);
          } else if (dests.length > 0) {
            const d = dests[o.i % dests.length]!;
            if (o.kind === 'counters') {
              d.activeConns = o.active;
              d.inactiveConns = o.inactive;
              indexed.changed?.(d);
            } else if (o.kind === 'overload') {
              d.overloaded = o.on;
              indexed.changed?.(d);
            } else if (o.kind === 'weight') {
              d.weight = o.w;
              linear.update(dests);
              indexed.update(dests);
            } else {
              dests.splice(o.i % dests.length, 1);
              linear.update(dests);
              indexed.update(dests);
            }
          }
          expect(indexed.pick(KEY, 0)).toBe(linear.pick(KEY, 0));
        }
      }),
      { numRuns: 300 },
    );
  });
});
