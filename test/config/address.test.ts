// The IPv4 fast path of address reading against the rule it implements, written as a regex.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalAddress, isDottedQuad } from '../../src/config/schema.js';

const RULE = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const byRule = (t: string) => {
  const q = RULE.exec(t);
  return q !== null && q.slice(1).every((p) => Number(p) <= 255);
};

describe('isDottedQuad', () => {
  it('agrees with the dotted-quad rule on edge cases', () => {
    for (const t of ['0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3.256', '01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', '1000.1.1.1', '', '١.٢.٣.٤']) {
      expect([t, isDottedQuad(t)]).toEqual([t, byRule(t)]);
    }
  });

  it('agrees with the rule on generated texts (dotted digits and noise)', () => {
    const part = fc.oneof(fc.integer({ min: 0, max: 999 }).map(String), fc.constantFrom('00', '01', '', 'a', '-1', '1000', ':'));
    const quadish = fc.array(part, { minLength: 1, maxLength: 6 }).map((ps) => ps.join('.'));
    fc.assert(fc.property(fc.oneof(quadish, fc.string()), (t) => isDottedQuad(t) === byRule(t)), { numRuns: 5000 });
  });

  it('canonical IPv4 is the text itself; other text falls to IPv6 or is refused', () => {
    expect(canonicalAddress('192.0.2.1')).toEqual({ addr: '192.0.2.1', family: 4 });
    expect(canonicalAddress('192.0.2.300')).toBeUndefined();
    expect(canonicalAddress('2001:DB8::1')).toEqual({ addr: '2001:db8::1', family: 6 });
  });
});
