import { describe, expect, it } from '@jest/globals';
import { createScheduler } from '../../src/sched/index.js';
import type { SchedDest } from '../../src/sched/index.js';
import { dest, picks, picksWith } from './helpers.js';

const newInactive = (d: SchedDest): void => {
  d.inactiveConns++; // a new connection is bound with the INACTIVE flag
};
const newActive = (d: SchedDest): void => {
  d.activeConns++; // as if the TCP handshake completed before the next pick
};

// lc: smallest oh = active*256 + inactive among dests with weight > 0 and no OVERLOAD;
// strictly smaller replaces, so the first minimum in list order wins.
describe('lc', () => {
  it('spec §4 vectors', () => {
    const s = createScheduler('lc');
    s.update([dest('A', 1, { activeConns: 1 }), dest('B', 1, { inactiveConns: 300 }), dest('C', 0)]);
    expect(picks(s, 1)).toEqual(['A']); // C skipped (weight 0), 256 < 300
    s.update([dest('A', 1, { activeConns: 1 }), dest('B', 1, { activeConns: 1 })]);
    expect(picks(s, 1)).toEqual(['A']); // tie → earlier
  });

  it('spreads new (inactive) connections evenly regardless of weight', () => {
    // All oh 0 → A; A oh 1 → B (first 0); → C; all 1 → A ... weight 5 on C changes nothing.
    const s = createScheduler('lc');
    s.update([dest('A', 1), dest('B', 1), dest('C', 5)]);
    expect(picksWith(s, 6, newInactive).join(' ')).toBe('A B C A B C');
  });

  it('skips quiescent and overloaded dests; null when none is left', () => {
    const [a, b, c] = [dest('A', 1), dest('B', 0), dest('C', 1)];
    const s = createScheduler('lc');
    s.update([a, b, c]);
    expect(picksWith(s, 4, newInactive).join(' ')).toBe('A C A C');
    a.overloaded = true;
    expect(picks(s, 1)).toEqual(['C']);
    c.weight = 0;
    expect(picks(s, 1)).toEqual(['-']);
  });
});

// wlc: first candidate = first dest with weight > 0 and no OVERLOAD; later non-overloaded d
// replaces best b iff oh(b)*w(d) > oh(d)*w(b).
describe('wlc', () => {
  it('spec §4 vectors', () => {
    const s = createScheduler('wlc');
    s.update([
      dest('A', 1, { activeConns: 10, inactiveConns: 5 }),
      dest('B', 2, { activeConns: 15 }),
      dest('C', 3, { activeConns: 20, inactiveConns: 40 }),
    ]);
    expect(picks(s, 1)).toEqual(['C']); // 2565·2 > 3840 → B; 3840·3 > 5160·2 → C
    s.update([dest('A', 1, { activeConns: 1 }), dest('B', 2, { activeConns: 2 })]);
    expect(picks(s, 1)).toEqual(['A']); // 256·2 = 512·1: not greater, A stays
  });

  it('follows weights as new connections arrive (A=1 B=2 C=3)', () => {
    // oh/w before each pick (A,B,C): 0,0,0 → A | 1,0,0 → B | 1,½,0 → C | 1,½,⅓ → C
    // (1·3 > 1·2) | 1,½,⅔ → B (1·2 > 0... B: 1·2 > 1·1 yes; C: 1·3 > 2·2 no) | 1,1,⅔ → C
    // (B: 1·2 > 2·1 no; C: 1·3 > 2·1 yes) | 1,1,1 → A (ties keep A)
    const s = createScheduler('wlc');
    s.update([dest('A', 1), dest('B', 2), dest('C', 3)]);
    expect(picksWith(s, 7, newInactive).join(' ')).toBe('A B C C B C A');
  });

  it('never picks weight 0 even with no load, skips overloaded, null when none', () => {
    const [a, b] = [dest('A', 0), dest('B', 1, { activeConns: 100 })];
    const s = createScheduler('wlc');
    s.update([a, b]);
    expect(picks(s, 1)).toEqual(['B']);
    b.overloaded = true;
    expect(picks(s, 1)).toEqual(['-']);
  });
});

// sed: as wlc with oh = active + 1.
describe('sed', () => {
  it('spec §4 vector', () => {
    const s = createScheduler('sed');
    s.update([dest('A', 1), dest('B', 3, { activeConns: 1, inactiveConns: 99 }), dest('C', 2, { activeConns: 1 })]);
    expect(picks(s, 1)).toEqual(['B']); // 1·3 > 2·1 → B; 2·2 > 2·3? no
  });

  it('A=1 B=3 with each pick becoming active', () => {
    // (a+1) A,B: 1,1 → B (1·3 > 1·1) | 1,2 → B (3 > 2) | 1,3 → A (3 > 3 no) | 2,3 → B (6 > 3)
    // | 2,4 → B (6 > 4) | 2,5 → B (6 > 5) | 2,6 → A (6 > 6 no)
    const s = createScheduler('sed');
    s.update([dest('A', 1), dest('B', 3)]);
    expect(picksWith(s, 7, newActive).join(' ')).toBe('B B A B B B A');
  });
});

// nq: first idle (active == 0) eligible dest at once, else sed's rule.
describe('nq', () => {
  it('spec §4 vectors', () => {
    const s = createScheduler('nq');
    s.update([dest('A', 1), dest('B', 3, { activeConns: 1 }), dest('C', 2, { activeConns: 1 })]);
    expect(picks(s, 1)).toEqual(['A']); // A idle
    s.update([dest('A', 1, { activeConns: 2 }), dest('B', 2, { activeConns: 3 }), dest('C', 4, { activeConns: 7 })]);
    expect(picks(s, 1)).toEqual(['B']); // costs 3, 2, 2; B/C tie → B
  });

  it('A=1 B=3 with each pick becoming active', () => {
    // A idle → A | A busy, B idle → B | (a+1) 2,2 → B (2·3 > 2·1) | 2,3 → B | 2,4 → B |
    // 2,5 → B (6 > 5) | 2,6 → A (6 > 6 no)
    const s = createScheduler('nq');
    s.update([dest('A', 1), dest('B', 3)]);
    expect(picksWith(s, 7, newActive).join(' ')).toBe('A B B B B B A');
  });

  it('an idle but quiescent or overloaded dest is not taken', () => {
    const s = createScheduler('nq');
    s.update([dest('A', 0), dest('B', 1, { overloaded: true }), dest('C', 1, { activeConns: 4 })]);
    expect(picks(s, 1)).toEqual(['C']);
  });
});
