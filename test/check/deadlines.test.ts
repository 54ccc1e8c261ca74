// The runner's one timeout structure: slots rounded up (never early), cancel and move, the live
// count the runner arms its single timer from; a property test against a plain sorted model.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DeadlineQueue, type Deadline } from '../../src/check/deadlines.js';

function entry(name: string, log: string[]): Deadline & { name: string } {
  return { name, dueSlot: -1, onDue: (now) => void log.push(`${name}@${now}`) };
}

describe('DeadlineQueue', () => {
  it('runs entries in slot order, never before their time, and batches a slot', () => {
    const log: string[] = [];
    const q = new DeadlineQueue(10);
    const a = entry('a', log), b = entry('b', log), c = entry('c', log);
    q.schedule(a, 25); // slot 30
    q.schedule(b, 21); // slot 30
    q.schedule(c, 5); // slot 10
    expect(q.size).toBe(3);
    expect(q.next()).toBe(10);
    expect(q.runDue(9)).toBe(0);
    expect(q.runDue(29)).toBe(1);
    expect(log).toEqual(['c@29']);
    expect(q.runDue(30)).toBe(2);
    expect(log).toEqual(['c@29', 'a@30', 'b@30']);
    expect(q.size).toBe(0);
    expect(q.next()).toBe(Infinity);
  });

  it('cancel and move leave no live entry behind; an empty queue asks for no wake-up', () => {
    const log: string[] = [];
    const q = new DeadlineQueue();
    const a = entry('a', log), b = entry('b', log);
    q.schedule(a, 100);
    q.schedule(b, 50);
    q.schedule(b, 150); // moved
    q.cancel(a);
    expect(q.size).toBe(1);
    q.runDue(120);
    expect(log).toEqual([]);
    q.runDue(150);
    expect(log).toEqual(['b@150']);
    q.schedule(a, 10);
    q.cancel(a);
    q.cancel(a); // twice is harmless
    expect(q.size).toBe(0);
    expect(q.next()).toBe(Infinity);
  });

  it('an entry scheduled by a callback for a due slot runs in the same call', () => {
    const log: string[] = [];
    const q = new DeadlineQueue();
    const b = entry('b', log);
    const a: Deadline = { dueSlot: -1, onDue: (now) => (log.push(`a@${now}`), q.schedule(b, now - 5)) };
    q.schedule(a, 10);
    expect(q.runDue(20)).toBe(2);
    expect(log).toEqual(['a@20', 'b@20']);
  });

  it('matches a sorted list under random schedules, moves and cancels', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('s' as const), i: fc.nat(7), at: fc.integer({ min: 0, max: 500 }) }),
      fc.record({ k: fc.constant('c' as const), i: fc.nat(7) }),
      fc.record({ k: fc.constant('r' as const), at: fc.integer({ min: 0, max: 500 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(op, { maxLength: 60 }), (slotMs, ops) => {
        const q = new DeadlineQueue(slotMs);
        const ran: number[] = [];
        const model = new Map<number, number>(); // entry -> slot
        const es = Array.from({ length: 8 }, (_, i): Deadline => ({ dueSlot: -1, onDue: () => void ran.push(i) }));
        for (const o of ops) {
          if (o.k === 's') {
            q.schedule(es[o.i]!, o.at);
            model.set(o.i, Math.ceil(o.at / slotMs) * slotMs);
          } else if (o.k === 'c') {
            q.cancel(es[o.i]!);
            model.delete(o.i);
          } else {
            ran.length = 0;
            q.runDue(o.at);
            const due = [...model].filter(([, s]) => s <= o.at).sort((x, y) => x[1] - y[1]);
            for (const [i] of due) model.delete(i);
            // same set; slot order between slots
            expect([...ran].sort()).toEqual(due.map(([i]) => i).sort());
            const slots = ran.map((i) => due.find(([j]) => j === i)![1]);
            expect(slots).toEqual([...slots].sort((x, y) => x - y));
          }
          expect(q.size).toBe(model.size);
          const min = Math.min(...model.values());
          if (model.size === 0) expect(q.next()).toBe(Infinity);
          else expect(q.next()).toBeLessThanOrEqual(min);
        }
      }),
    );
  });
});
