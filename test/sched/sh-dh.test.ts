import { describe, expect, it } from '@jest/globals';
import { createScheduler } from '../../src/sched/index.js';
import { DestinationHashingScheduler } from '../../src/sched/dh.js';
import { SourceHashingScheduler } from '../../src/sched/sh.js';
import { dest, key, nameOf, picks } from './helpers.js';

// Hand-computed hash_32(x, 8) values (see hash.test.ts): x=0 → 0, x=1 → 97, x=2 → 195,
// x=0xffffffff → 158.
const names = (buckets: readonly unknown[]): string[] => buckets.map((d) => nameOf(d as never));

describe('sh', () => {
  it('fills 256 buckets cyclically, each dest taking max(weight, 1) in a row', () => {
    const s = createScheduler('sh') as SourceHashingScheduler;
    s.update([dest('A', 2), dest('B', 1), dest('C', 3)]);
    const pattern = ['A', 'A', 'B', 'C', 'C', 'C'];
    expect(names(s.buckets)).toEqual(Array.from({ length: 256 }, (_, i) => pattern[i % 6]));
    s.update([dest('A', 0), dest('B', 1)]); // weight 0 still takes one bucket
    expect(names(s.buckets).slice(0, 4)).toEqual(['A', 'B', 'A', 'B']);
    s.update([dest('A', 300), dest('B', 1)]); // a weight above 256 takes the whole table
    expect(new Set(names(s.buckets))).toEqual(new Set(['A']));
    s.update([]);
    expect(new Set(names(s.buckets))).toEqual(new Set(['-']));
  });

  it('picks bucket hash_32(fold(saddr), 8) (IPv4 and IPv6)', () => {
    // bucket 97 → 97 % 6 = 1 → A; 195 % 6 = 3 → C; 158 % 6 = 2 → B.
    const s = createScheduler('sh');
    s.update([dest('A', 2), dest('B', 1), dest('C', 3)]);
    expect(nameOf(s.pick(key('0.0.0.1'), 0))).toBe('A');
    expect(nameOf(s.pick(key('0.0.0.2'), 0))).toBe('C');
    expect(nameOf(s.pick(key('255.255.255.255'), 0))).toBe('B');
    expect(nameOf(s.pick(key('::1'), 0))).toBe('A'); // fold(::1) = 1
    expect(nameOf(s.pick(key('2001:db8::2001:db8'), 0))).toBe('A'); // words cancel → fold 0 → bucket 0
  });

  it('ignores the source port unless sh-port is set', () => {
    // saddr 0.0.0.0: without the flag bucket 0 (A) whatever the port; with it, port 1 → 97
    // (A), port 2 → 195 (C).
    const dests = [dest('A', 2), dest('B', 1), dest('C', 3)];
    const plain = createScheduler('sh');
    plain.update(dests);
    const withPort = createScheduler('sh', { port: true });
    withPort.update(dests);
    expect([1, 2].map((p) => nameOf(plain.pick(key('0.0.0.0', '198.51.100.1', p), 0)))).toEqual(['A', 'A']);
    expect([1, 2].map((p) => nameOf(withPort.pick(key('0.0.0.0', '198.51.100.1', p), 0)))).toEqual(['A', 'C']);
  });

  it('returns null for an unavailable dest unless sh-fallback probes on', () => {
    // Key 0.0.0.1: h = 97 → bucket 97 (A). Fallback probe i: roffset = (i + 97) % 256,
    // bucket (roffset + 97) & 255 → i=0: 194 (194 % 6 = 2, B); i=1: 195 (C).
    const [a, b, c] = [dest('A', 2), dest('B', 1), dest('C', 3)];
    const plain = createScheduler('sh');
    const fb = createScheduler('sh', { fallback: true });
    plain.update([a, b, c]);
    fb.update([a, b, c]);
    const k = key('0.0.0.1');
    a.overloaded = true;
    expect(nameOf(plain.pick(k, 0))).toBe('-');
    expect(nameOf(fb.pick(k, 0))).toBe('B');
    b.overloaded = true;
    expect(nameOf(fb.pick(k, 0))).toBe('C');
    c.overloaded = true;
    expect(nameOf(fb.pick(k, 0))).toBe('-');
  });

  it('rebuilds on a weight edit and returns null for an empty service', () => {
    const a = dest('A', 2);
    const b = dest('B', 1);
    const s = createScheduler('sh');
    expect(picks(s, 1, key('0.0.0.1'))).toEqual(['-']);
    s.update([a, b]);
    // A A B pattern: bucket 97 % 3 = 1 → A
    expect(nameOf(s.pick(key('0.0.0.1'), 0))).toBe('A');
    a.weight = 0; // quiesced: A keeps one bucket per round → A B pattern, 97 odd → B
    s.update([a, b]);
    expect(nameOf(s.pick(key('0.0.0.1'), 0))).toBe('B');
    expect(nameOf(s.pick(key('0.0.0.0'), 0))).toBe('-'); // bucket 0 → A, weight 0 → null
  });
});

describe('dh', () => {
  it('fills buckets one per dest per round, ignoring weights', () => {
    const s = createScheduler('dh') as DestinationHashingScheduler;
    s.update([dest('A', 5), dest('B', 1), dest('C', 1)]);
    expect(names(s.buckets)).toEqual(Array.from({ length: 256 }, (_, i) => ['A', 'B', 'C'][i % 3]));
  });

  it('picks bucket hash_32(fold(daddr), 8); null when that dest is unavailable', () => {
    // daddr 0.0.0.1 → 97 % 3 = 1 → B; 0.0.0.2 → 195 % 3 = 0 → A; the source is irrelevant.
    const [a, b, c] = [dest('A', 1), dest('B', 1), dest('C', 1)];
    const s = createScheduler('dh');
    s.update([a, b, c]);
    expect(nameOf(s.pick(key('203.0.113.1', '0.0.0.1'), 0))).toBe('B');
    expect(nameOf(s.pick(key('203.0.113.2', '0.0.0.1'), 0))).toBe('B');
    expect(nameOf(s.pick(key('203.0.113.1', '0.0.0.2'), 0))).toBe('A');
    expect(nameOf(s.pick(key('2001:db8::5', '::2'), 0))).toBe('A');
    b.overloaded = true;
    expect(nameOf(s.pick(key('203.0.113.1', '0.0.0.1'), 0))).toBe('-');
    b.overloaded = false;
    b.weight = 0;
    s.update([a, b, c]);
    expect(nameOf(s.pick(key('203.0.113.1', '0.0.0.1'), 0))).toBe('-');
    s.update([]);
    expect(nameOf(s.pick(key('203.0.113.1', '0.0.0.2'), 0))).toBe('-');
  });
});
