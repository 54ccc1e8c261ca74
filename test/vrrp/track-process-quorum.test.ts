// keepalived's track_process status rules (track_process.c) with time passed in: quorum bounds,
// fork_delay for gains by fork, terminate_delay for losses by exit, exec/rename at once.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ProcessQuorum, type ProcessChange } from '../../src/vrrp/process-quorum.js';

const S = 1_000_000;
const add = (byFork = false): ProcessChange => ({ kind: 'added', byFork });
const exit = (): ProcessChange => ({ kind: 'removed', byExit: true });
const gone = (): ProcessChange => ({ kind: 'removed', byExit: false });
const q = (o: Partial<{ quorum: number; quorumMax: number; forkDelayUs: number; terminateDelayUs: number }> = {}) =>
  new ProcessQuorum({ quorum: 1, quorumMax: Infinity, forkDelayUs: 0, terminateDelayUs: 0, ...o });

describe('ProcessQuorum', () => {
  it('the first look sets the status with no delay', () => {
    const a = q({ forkDelayUs: 5 * S });
    a.init(1);
    expect(a.up).toBe(true);
    const b = q({ quorum: 2 });
    b.init(1);
    expect(b.up).toBe(false);
  });
  it('without delays: up exactly while quorum <= count <= quorum_max', () => {
    const a = q({ quorum: 2, quorumMax: 3 });
    a.init(0);
    expect(a.apply(0, [add()])).toBe(false);
    expect(a.apply(0, [add()])).toBe(true);
    expect(a.up).toBe(true);
    a.apply(0, [add()]);
    expect(a.up).toBe(true);
    expect(a.apply(0, [add()])).toBe(true); // 4 > quorum_max
    expect(a.up).toBe(false);
    a.apply(0, [exit()]);
    expect(a.up).toBe(true);
  });
  it('quorum_max 0 with quorum 0: up only while none runs', () => {
    const a = q({ quorum: 0, quorumMax: 0 });
    a.init(0);
    expect(a.up).toBe(true);
    a.apply(0, [add()]);
    expect(a.up).toBe(false);
    a.apply(0, [exit()]);
    expect(a.up).toBe(true);
  });
  it('fork_delay: a gain by fork counts only after the delay; by exec at once', () => {
    const a = q({ forkDelayUs: 2 * S });
    a.init(0);
    expect(a.apply(10 * S, [add(true)])).toBe(false);
    expect(a.nextDeadline()).toBe(12 * S);
    expect(a.tick(11.9 * S)).toBe(false);
    expect(a.tick(12 * S)).toBe(true);
    expect(a.up).toBe(true);
    const b = q({ forkDelayUs: 2 * S });
    b.init(0);
    expect(b.apply(10 * S, [add(false)])).toBe(true);
  });
  it('a fork that exits within fork_delay never brings it up (the exit cancels the fork timer)', () => {
    const a = q({ forkDelayUs: 2 * S, terminateDelayUs: 3 * S });
    a.init(0);
    a.apply(0, [add(true)]);
    expect(a.apply(1 * S, [exit()])).toBe(false);
    expect(a.nextDeadline()).toBeNull();
    expect(a.tick(5 * S)).toBe(false);
    expect(a.up).toBe(false);
  });
  it('terminate_delay: a loss by exit waits; a restart within it keeps the status with no bounce', () => {
    const a = q({ terminateDelayUs: 1 * S });
    a.init(1);
    expect(a.apply(0, [exit()])).toBe(false);
    expect(a.up).toBe(true);
    expect(a.apply(0.5 * S, [add(false)])).toBe(false); // restarted: timer cancelled
    expect(a.nextDeadline()).toBeNull();
    expect(a.apply(2 * S, [exit()])).toBe(false);
    expect(a.tick(2.99 * S)).toBe(false);
    expect(a.tick(3 * S)).toBe(true);
    expect(a.up).toBe(false);
  });
  it('the delay re-checks the count when it expires', () => {
    const a = q({ quorum: 2, terminateDelayUs: 1 * S });
    a.init(2);
    a.apply(0, [exit()]);
    a.apply(0.2 * S, [exit(), add(false), add(false)]); // 1 -> 0 -> 1 -> 2: back at quorum
    expect(a.tick(1 * S)).toBe(false);
    expect(a.up).toBe(true);
  });
  it('a process that stops matching (exec, rename) counts at once, terminate_delay or not', () => {
    const a = q({ terminateDelayUs: 5 * S });
    a.init(1);
    expect(a.apply(0, [gone()])).toBe(true);
    expect(a.up).toBe(false);
  });
  it('property: with no delays the status always equals the bounds check of the count', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 }), fc.array(fc.tuple(fc.boolean(), fc.boolean()), { maxLength: 40 }), (quorum, extra, steps) => {
      const a = q({ quorum, quorumMax: quorum + extra });
      a.init(0);
      let n = 0;
      for (const [up, byFork] of steps) {
        if (up) n++;
        else if (n > 0) n--;
        else continue;
        a.apply(0, [up ? add(byFork) : exit()]);
        expect(a.current).toBe(n);
        expect(a.up).toBe(n >= quorum && n <= quorum + extra);
      }
    }), { numRuns: 500 });
  });
});
