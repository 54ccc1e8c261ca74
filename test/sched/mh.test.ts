import { describe, expect, it } from '@jest/globals';
import { createScheduler, foldAddress, TooManyDestinationsError } from '../../src/sched/index.js';
import { hsipKey, hsiphashU32 } from '../../src/sched/hsiphash.js';
import { MaglevHashingScheduler } from '../../src/sched/mh.js';
import type { SchedDest } from '../../src/sched/index.js';
import { dest, key, nameOf } from './helpers.js';

// The kernel's first hash key (generate_hash_secret); hsiphashU32 is checked against the
// kernel's own self-test vector in hash.test.ts.
const K1 = hsipKey(2654435761n, 2654435761n);
const mh = (size?: number, flags = {}) =>
  createScheduler('mh', flags, size === undefined ? undefined : { mhTableSize: size }) as MaglevHashingScheduler;
const count = (s: MaglevHashingScheduler, d: SchedDest) => s.lookup.filter((x) => x === d).length;
const ids = (s: MaglevHashingScheduler) => s.lookup.map((d) => (d === null ? 0 : d.id));

describe('mh lookup table', () => {
  it('uses the kernel default size 4093 and fills every slot with a lone dest', () => {
    const a = dest('A', 1);
    const s = mh();
    expect(s.tableSize).toBe(4093);
    s.update([a]);
    expect(count(s, a)).toBe(4093);
  });

  it('claims slots in rounds of `turns` per dest (counts derived from the round structure)', () => {
    // M = 251. Weights 1:1 → turns 1,1: A, B alternate and A claims the 251st slot → 126/125.
    const [a, b] = [dest('A', 1), dest('B', 1)];
    const s = mh(251);
    s.update([a, b]);
    expect([count(s, a), count(s, b)]).toEqual([126, 125]);
    // 2:1 → 3 slots per round; 251 = 83·3 + 2 → A 83·2 + 2 = 168, B 83.
    a.weight = 2;
    s.update([a, b]);
    expect([count(s, a), count(s, b)]).toEqual([168, 83]);
    // 4:2 has gcd 2 → same turns as 2:1, same table.
    const before = ids(s);
    a.weight = 4;
    b.weight = 2;
    s.update([a, b]);
    expect(ids(s)).toEqual(before);
  });

  it('shifts large weight ratios down to TAB_BITS = 6 significant bits', () => {
    // [B=1, A=1000], M 4093: fls(1000) = 10 → shift 4; turns A = 1000 >> 4 = 62, B = 1 >> 4 = 0
    // → 1 (non-zero weight). 63 per round: 64 rounds = 4032, then B 1 and A 60 → B 65, A 4028.
    const [b, a] = [dest('B', 1), dest('A', 1000)];
    const s = mh();
    s.update([b, a]);
    expect([count(s, b), count(s, a)]).toEqual([65, 4028]);
  });

  it("the first dest's first slot is its offset = hsiphash(port + fold(addr), K1) % M", () => {
    const a = dest('A', 1, { addr: '192.0.2.10', port: 8080 });
    const b = dest('B', 1, { addr: '2001:db8::10', port: 80 });
    const s = mh();
    s.update([a, b]);
    const offsetA = hsiphashU32((8080 + foldAddress('192.0.2.10')) >>> 0, K1) % 4093;
    expect(s.lookup[offsetA]).toBe(a);
  });

  it('keeps the table when a dest is quiesced (last_weight), drops dests added at weight 0', () => {
    const [a, b, c] = [dest('A', 1), dest('B', 1), dest('C', 1)];
    const s = mh(251);
    s.update([a, b, c]);
    const before = ids(s);
    b.weight = 0;
    s.update([a, b, c]);
    expect(ids(s)).toEqual(before);
    const z = dest('Z', 0);
    s.update([z, a, b, c]); // added at weight 0: last_weight 0 → no turns → no slots
    expect(count(s, z)).toBe(0);
    z.weight = 3;
    s.update([z, a, b, c]);
    expect(count(s, z)).toBeGreaterThan(0);
  });

  it('empties the table when every last weight is 0, and refuses more dests than slots', () => {
    const s = mh(251);
    s.update([dest('A', 0), dest('B', 0)]);
    expect(s.lookup.every((d) => d === null)).toBe(true);
    expect(nameOf(s.pick(key('203.0.113.7'), 0))).toBe('-');
    const a = dest('A', 1);
    s.update([a]);
    const many = Array.from({ length: 252 }, (_, i) => dest(`D${i}`, 1, { addr: `10.0.${i >> 8}.${i & 255}` }));
    expect(() => s.update(many)).toThrow(TooManyDestinationsError);
    try {
      s.update(many);
    } catch (e) {
      expect((e as TooManyDestinationsError).code).toBe('ESCHED_TOOMANY');
    }
    expect(count(s, a)).toBe(251); // unchanged
  });
});

describe('mh pick', () => {
  const slotOf = (fold: number, port: number, offset: number, M: number) => hsiphashU32((offset + port + fold) >>> 0, K1) % M;

  it('reads slot hsiphash(fold(saddr) [+ sport with mh-port], K1) % M', () => {
    const dests = [dest('A', 1), dest('B', 2), dest('C', 3)];
    const plain = mh();
    const withPort = mh(undefined, { port: true });
    plain.update(dests);
    withPort.update(dests);
    for (const [saddr, sport] of [['203.0.113.5', 1234], ['2001:db8::77', 40000], ['198.51.100.200', 9]] as const) {
      const k = key(saddr, '198.51.100.1', sport);
      expect(plain.pick(k, 0)).toBe(plain.lookup[slotOf(k.saddrFold, 0, 0, 4093)]);
      expect(withPort.pick(k, 0)).toBe(withPort.lookup[slotOf(k.saddrFold, sport, 0, 4093)]);
    }
  });

  it('returns null for an unavailable dest unless mh-fallback probes slot hsiphash(ihash + i + ...)', () => {
    // Fallback probe i reads slot hsiphash((ihash + i) % M + port + fold, K1) % M.
    const [a, b, c] = [dest('A', 1), dest('B', 1), dest('C', 1)];
    const plain = mh(251);
    const fb = mh(251, { fallback: true });
    plain.update([a, b, c]);
    fb.update([a, b, c]);
    a.overloaded = true;
    let checked = 0;
    for (let i = 1; i < 200 && checked < 5; i++) {
      const k = key(`203.0.113.${i}`);
      const ihash = slotOf(k.saddrFold, 0, 0, 251);
      if (fb.lookup[ihash] !== a) continue;
      expect(plain.pick(k, 0)).toBeNull();
      let expected: SchedDest | null = null;
      for (let probe = 0; probe < 251 && expected === null; probe++) {
        const d = fb.lookup[slotOf(k.saddrFold, 0, (ihash + probe) % 251, 251)]!;
        if (d !== a) expected = d;
      }
      expect(fb.pick(k, 0)).toBe(expected);
      checked++;
    }
    expect(checked).toBe(5);
    a.overloaded = b.overloaded = c.overloaded = true;
    expect(fb.pick(key('203.0.113.1'), 0)).toBeNull();
  });
});
