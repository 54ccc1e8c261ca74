import { describe, expect, it } from '@jest/globals';
import { createScheduler } from '../../src/sched/index.js';
import { dest, picks } from './helpers.js';

// Derivations follow ip_vs_rr_schedule(): the cursor starts at the list head; each pick scans
// from the element after the cursor to the end, then (unless the cursor is the head) from the
// start up to and including the cursor, taking the first dest with weight > 0 and no OVERLOAD.
describe('rr', () => {
  it('cycles A B C in list order (spec §4)', () => {
    const s = createScheduler('rr');
    s.update([dest('A', 1), dest('B', 1), dest('C', 1)]);
    expect(picks(s, 6)).toEqual(['A', 'B', 'C', 'A', 'B', 'C']);
  });

  it('ignores the size of positive weights', () => {
    // A:5, B:1 → the weight only gates eligibility, so plain alternation.
    const s = createScheduler('rr');
    s.update([dest('A', 5), dest('B', 1)]);
    expect(picks(s, 4)).toEqual(['A', 'B', 'A', 'B']);
  });

  it('skips quiescent and overloaded dests, and returns null when none is eligible', () => {
    const a = dest('A', 1);
    const b = dest('B', 0);
    const c = dest('C', 1);
    const s = createScheduler('rr');
    s.update([a, b, c]);
    expect(picks(s, 4)).toEqual(['A', 'C', 'A', 'C']);
    // Cursor on C; A overloaded: scan after C (nothing), then A (overloaded), B (0), C → C.
    a.overloaded = true;
    expect(picks(s, 2)).toEqual(['C', 'C']);
    c.weight = 0;
    s.update([a, b, c]);
    expect(picks(s, 2)).toEqual(['-', '-']);
    // Overload cleared: scan after the (unchanged) cursor C wraps to A.
    a.overloaded = false;
    expect(picks(s, 2)).toEqual(['A', 'A']);
  });

  it('returns null for an empty service', () => {
    const s = createScheduler('rr');
    expect(picks(s, 1)).toEqual(['-']);
    s.update([]);
    expect(picks(s, 1)).toEqual(['-']);
  });

  it('moves the cursor to the predecessor when its dest is deleted', () => {
    const [a, b, c] = [dest('A', 1), dest('B', 1), dest('C', 1)];
    const s = createScheduler('rr');
    s.update([a, b, c]);
    expect(picks(s, 2)).toEqual(['A', 'B']); // cursor on B
    s.update([a, c]); // delete B: cursor = B's successor's prev = A
    expect(picks(s, 3)).toEqual(['C', 'A', 'C']); // cursor on C
    s.update([a]); // delete C (last): successor is the head, head.prev = A
    expect(picks(s, 2)).toEqual(['A', 'A']);
  });

  it('restarts from the head when the first dest under the cursor is deleted', () => {
    const [a, b, c] = [dest('A', 1), dest('B', 1), dest('C', 1)];
    const s = createScheduler('rr');
    s.update([a, b, c]);
    expect(picks(s, 1)).toEqual(['A']); // cursor on A
    s.update([b, c]); // successor B is first → cursor = head → one pass from B
    expect(picks(s, 3)).toEqual(['B', 'C', 'B']);
  });

  it('carries the cursor when the caller mutates the same array in place (as the ipvs table does)', () => {
    const [a, b, c, d] = [dest('A', 1), dest('B', 1), dest('C', 1), dest('D', 1)];
    const list = [a, b, c];
    const s = createScheduler('rr');
    s.update(list);
    expect(picks(s, 2)).toEqual(['A', 'B']); // cursor on B
    list.unshift(d); // add D at the head, same array
    s.update(list);
    expect(picks(s, 1)).toEqual(['C']); // cursor stayed on B
    list.splice(list.indexOf(c), 1); // delete C under the cursor: cursor → B
    s.update(list);
    expect(picks(s, 3)).toEqual(['D', 'A', 'B']);
  });

  it('keeps the cursor on its dest when a dest is added at the head', () => {
    const [a, b, c] = [dest('A', 1), dest('B', 1), dest('C', 1)];
    const d = dest('D', 1);
    const s = createScheduler('rr');
    s.update([a, b, c]);
    expect(picks(s, 2)).toEqual(['A', 'B']); // cursor on B
    s.update([d, a, b, c]); // kernel head insertion
    expect(picks(s, 5)).toEqual(['C', 'D', 'A', 'B', 'C']);
  });
});
