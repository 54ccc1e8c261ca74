import { describe, expect, it } from '@jest/globals';
import { createScheduler } from '../../src/sched/index.js';
import { dest, picks } from './helpers.js';

// Derivations follow ip_vs_wrr.c: di = gcd of positive weights, mw = max - (di - 1); on every
// change cl = head and cw = mw if cw > mw or cw == 0 (else snapped to a multiple of di + 1 when
// di > 1). A pick scans after cl for weight >= cw; at the end of the list cw -= di (wrapping to
// mw at <= 0) and the scan restarts from the head. Each level lists the dests with weight >= cw.
describe('wrr', () => {
  it('A=4 B=3 C=2 with all present at init: period A A B A B C A B C (spec §4a)', () => {
    // cw 4: A | cw 3: A B | cw 2: A B C | cw 1: A B C | wrap to 4 ...
    const s = createScheduler('wrr');
    s.update([dest('A', 4), dest('B', 3), dest('C', 2)]);
    expect(picks(s, 18).join(' ')).toBe('A A B A B C A B C A A B A B C A B C');
  });

  it('dests added one at a time start at cw = 1 (spec §4b, keepalived workflow)', () => {
    // Kernel order is reverse insertion: add C (di 2, mw 1, cw 0 → 1), add B (di 1, mw 3, cw
    // stays 1), add A (mw 4, cw 1). cw 1: A B C; then wrap to cw 4 and the cycle of §4a.
    const [a, b, c] = [dest('A', 4), dest('B', 3), dest('C', 2)];
    const s = createScheduler('wrr');
    s.update([c]);
    s.update([b, c]);
    s.update([a, b, c]);
    expect(picks(s, 18).join(' ')).toBe('A B C A A B A B C A B C A A B A B C');
  });

  it('A=4 B=2: gcd 2, levels cw = 3 and 1 (spec §4c)', () => {
    // di 2, mw = 4 - 1 = 3. cw 3: A | cw 1: A B | wrap.
    const s = createScheduler('wrr');
    s.update([dest('A', 4), dest('B', 2)]);
    expect(picks(s, 6).join(' ')).toBe('A A B A A B');
  });

  it('follows a weight change mid-sequence', () => {
    // After A A B: cl = B, cw = 3. B → 1: cl = head, di 1, mw 4, cw stays 3.
    // cw 3: A | cw 2: A C | cw 1: A B C | wrap cw 4: A | cw 3: A | cw 2: A C | cw 1: A B C
    const [a, b, c] = [dest('A', 4), dest('B', 3), dest('C', 2)];
    const s = createScheduler('wrr');
    s.update([a, b, c]);
    expect(picks(s, 3).join(' ')).toBe('A A B');
    b.weight = 1;
    s.update([a, b, c]);
    expect(picks(s, 13).join(' ')).toBe('A A C A B C A A A C A B C');
  });

  it('snaps cw to a multiple of the new gcd plus one', () => {
    // A=6 B=3: di 3, mw = 6 - 2 = 4, cw 4. cw 4: A | cw 1: A B | wrap 4: A ... → A A B A
    // After the first pick cw = 4; add C=9 at the head: di 3, mw = 9 - 2 = 7, cw 4 ≤ 7 →
    // floor(4/3)*3 + 1 = 4. cw 4: C A | cw 1: C A B | wrap 7: C | cw 4: C A | cw 1: C A B
    const [a, b, c] = [dest('A', 6), dest('B', 3), dest('C', 9)];
    const s = createScheduler('wrr');
    s.update([a, b]);
    expect(picks(s, 4).join(' ')).toBe('A A B A');
    s.update([c, a, b]);
    expect(picks(s, 11).join(' ')).toBe('C A C A B C C A C A B');
  });

  it('follows a dest removed mid-sequence', () => {
    // After A A B A: cw = 2. Remove B: di = gcd(4,2) = 2, mw = 4 - 1 = 3, cw = floor(2/2)·2 + 1
    // = 3, cl = head. cw 3: A | cw 1: A C | wrap 3: A | cw 1: A C
    const [a, b, c] = [dest('A', 4), dest('B', 3), dest('C', 2)];
    const s = createScheduler('wrr');
    s.update([a, b, c]);
    expect(picks(s, 4).join(' ')).toBe('A A B A');
    s.update([a, c]);
    expect(picks(s, 6).join(' ')).toBe('A A C A A C');
  });

  it('skips quiescent dests', () => {
    // C=0: di = gcd(4,3) = 1, mw 4. cw 4: A | 3: A B | 2: A B | 1: A B
    const s = createScheduler('wrr');
    s.update([dest('A', 4), dest('B', 3), dest('C', 0)]);
    expect(picks(s, 7).join(' ')).toBe('A A B A B A B');
  });

  it('skips overloaded dests and returns null when all are overloaded', () => {
    // B overloaded: cw 4: A | 3: A | 2: A C | 1: A C
    const [a, b, c] = [dest('A', 4), dest('B', 3, { overloaded: true }), dest('C', 2)];
    const s = createScheduler('wrr');
    s.update([a, b, c]);
    expect(picks(s, 6).join(' ')).toBe('A A A C A C');
    a.overloaded = true;
    c.overloaded = true;
    expect(picks(s, 2)).toEqual(['-', '-']);
    b.overloaded = false;
    expect(picks(s, 1)).toEqual(['B']);
  });

  it('returns null when every weight is 0 or the service is empty', () => {
    const s = createScheduler('wrr');
    expect(picks(s, 1)).toEqual(['-']);
    s.update([dest('A', 0), dest('B', 0)]);
    expect(picks(s, 2)).toEqual(['-', '-']);
  });
});
