// sameSpec, the reload's "is this virtual server unchanged?": agrees with a JSON comparison that
// drops undefined keys, for random spec-like values, and sees a change anywhere.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { sameSpec } from '../../src/check/same.js';

const canon = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Uint8Array) return { bytes: [...x] };
    if (x && typeof x === 'object' && !Array.isArray(x)) return Object.fromEntries(Object.entries(x).filter(([, y]) => y !== undefined).sort(([p], [q]) => (p < q ? -1 : 1)));
    return x;
  });

const leaf = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b', ''), fc.boolean(), fc.constant(undefined), fc.uint8Array({ maxLength: 3 }));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('x', 'y', 'z'), tie('v'), { maxKeys: 3 })),
})).v;

describe('sameSpec', () => {
  it('agrees with a canonical JSON comparison (undefined keys dropped)', () => {
    fc.assert(fc.property(value, value, (a, b) => expect(sameSpec(a, b)).toBe(canon(a) === canon(b))));
    fc.assert(fc.property(value, (a) => expect(sameSpec(a, structuredClone(a))).toBe(true)));
  });

  it('treats an undefined key as absent, and tells arrays, bytes and objects apart', () => {
    expect(sameSpec({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameSpec({ a: 1 }, { a: 1, c: 2 })).toBe(false);
    expect(sameSpec([1], { 0: 1 })).toBe(false);
    expect(sameSpec(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(sameSpec(Uint8Array.of(1, 2), [1, 2])).toBe(false);
    expect(sameSpec({ checkers: [{ type: 'TCP', connectPort: 80 }] }, { checkers: [{ type: 'TCP', connectPort: 81 }] })).toBe(false);
  });
});
