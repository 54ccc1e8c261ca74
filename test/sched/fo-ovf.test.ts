import { describe, expect, it } from '@jest/globals';
import { createScheduler } from '../../src/sched/index.js';
import { dest, picks, picksWith } from './helpers.js';

// fo: highest weight (strictly greater replaces, hw starts at 0) among non-overloaded dests.
describe('fo', () => {
  it('spec §4 vectors and fail-over as weights and flags change', () => {
    const [a, b, c] = [dest('A', 5), dest('B', 10, { overloaded: true }), dest('C', 10)];
    const s = createScheduler('fo');
    s.update([a, b, c]);
    expect(picks(s, 2)).toEqual(['C', 'C']); // B overloaded; C is the only 10
    c.weight = 3;
    s.update([a, b, c]);
    expect(picks(s, 1)).toEqual(['A']); // 5 > 3
    b.overloaded = false;
    expect(picks(s, 1)).toEqual(['B']);
    s.update([dest('A', 10), dest('C', 10)]);
    expect(picks(s, 1)).toEqual(['A']); // tie → earliest
    s.update([dest('A', 0), dest('B', 0)]);
    expect(picks(s, 1)).toEqual(['-']);
  });
});

// ovf: skip OVERLOAD, weight 0 and active > weight; highest weight, ties → earliest.
describe('ovf', () => {
  it('spec §4 vector', () => {
    const s = createScheduler('ovf');
    s.update([dest('A', 2, { activeConns: 3 }), dest('B', 1, { activeConns: 1 }), dest('C', 1)]);
    expect(picks(s, 1)).toEqual(['B']);
  });

  it('overflows to the next weight as active connections pass the weight', () => {
    // A w2: a=0,1,2 eligible (2 == 2 still ok) → A A A; a=3 > 2 → B (a 0, 1) → B B; B a=2 → null
    const s = createScheduler('ovf');
    s.update([dest('A', 2), dest('B', 1)]);
    expect(picksWith(s, 6, (d) => d.activeConns++).join(' ')).toBe('A A A B B -');
  });

  it('ignores inactive connections (UDP never overflows)', () => {
    const s = createScheduler('ovf');
    s.update([dest('A', 1, { inactiveConns: 1000 }), dest('B', 1)]);
    expect(picks(s, 1)).toEqual(['A']);
  });
});
