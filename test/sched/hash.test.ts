import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { foldAddress, hash32, hash_32, InvalidAddressError } from '../../src/sched/index.js';
import { hsipKey, hsiphashReference, hsiphashU32 } from '../../src/sched/hsiphash.js';

/**
 * Independent fold: bytes from ipaddr.js, words read big-endian, XORed. IPv6 text goes through
 * the WHATWG URL host parser first because ipaddr.js reads the IPv4-compatible form ::a.b.c.d
 * as ::ffff:a.b.c.d (inet_pton and RFC 4291 do not).
 */
function oracleFold(text: string): number {
  const canonical = text.includes(':') ? new URL(`http://[${text}]/`).hostname.slice(1, -1) : text;
  const bytes = ipaddr.parse(canonical).toByteArray();
  let fold = 0;
  for (let w = 0; w < bytes.length; w += 4) {
    fold ^= ((bytes[w]! << 24) | (bytes[w + 1]! << 16) | (bytes[w + 2]! << 8) | bytes[w + 3]!) >>> 0;
  }
  return fold >>> 0;
}

describe('hash_32', () => {
  it('keeps the top bits of x * 0x61C88647 mod 2^32 (hand-computed)', () => {
    expect(hash_32).toBe(hash32);
    expect(hash32(0, 8)).toBe(0);
    expect(hash32(1, 8)).toBe(0x61); // 0x61C88647 >>> 24
    expect(hash32(2, 8)).toBe(0xc3); // 0xC3910C8E >>> 24
    expect(hash32(0xffffffff, 8)).toBe(0x9e); // 2^32 - 0x61C88647 = 0x9E3779B9
    expect(hash32(1, 10)).toBe(0b0110000111); // top 10 bits of 0x61C88647
  });

  it('stays in range for any u32', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 31 }), (x, bits) => {
        const h = hash32(x, bits);
        return Number.isInteger(h) && h >= 0 && h < 2 ** bits;
      }),
    );
  });
});

describe('hsiphash (64-bit kernels: SipHash-1-3, low 32 bits)', () => {
  it('matches the kernel self-test vector for a 4-byte input (lib/test_siphash.c)', () => {
    // test_key_hsiphash = {0x0706050403020100, 0x0f0e0d0c0b0a0908}; input bytes 00 01 02 03
    // = le32 0x03020100; test_vectors_hsiphash[4] = 0x88d38328.
    const k = hsipKey(0x0706050403020100n, 0x0f0e0d0c0b0a0908n);
    expect(hsiphashU32(0x03020100, k)).toBe(0x88d38328);
    expect(hsiphashReference(0x03020100, k)).toBe(0x88d38328);
  });

  it('the WebAssembly build and the JavaScript reference agree on random inputs and keys', () => {
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), u64, u64, (v, k0, k1) => {
        const k = hsipKey(k0, k1);
        return hsiphashU32(v, k) === hsiphashReference(v, k);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('foldAddress', () => {
  it('folds IPv4 to its host-order value and IPv6 to the XOR of its words', () => {
    expect(foldAddress('192.0.2.1')).toBe(0xc0000201);
    expect(foldAddress('0.0.0.0')).toBe(0);
    expect(foldAddress('255.255.255.255')).toBe(0xffffffff);
    expect(foldAddress('2001:db8::1')).toBe((0x20010db8 ^ 1) >>> 0);
    expect(foldAddress('::')).toBe(0);
    expect(foldAddress('::ffff:192.0.2.1')).toBe((0x0000ffff ^ 0xc0000201) >>> 0);
    expect(foldAddress('2001:db8:1:2:3:4:5:6')).toBe((0x20010db8 ^ 0x00010002 ^ 0x00030004 ^ 0x00050006) >>> 0);
  });

  it('agrees with ipaddr.js on every IPv4 and IPv6 address', () => {
    fc.assert(fc.property(fc.ipV4(), (a) => foldAddress(a) === oracleFold(a)));
    fc.assert(fc.property(fc.ipV6(), (a) => foldAddress(a) === oracleFold(a)));
  });

  it('rejects malformed text with InvalidAddressError', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', ':', ':::', '1::2::3',
      '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', 'g::1', '12345::', '::1.2.3', 'fe80::1%eth0', '1:2:3:4:5:6:7:1.2.3.4']) {
      expect(() => foldAddress(bad)).toThrow(InvalidAddressError);
    }
    try {
      foldAddress('nope');
    } catch (e) {
      expect((e as InvalidAddressError).code).toBe('ESCHED_ADDR');
    }
  });

  it('fuzz: any string gives a u32 or InvalidAddressError, and accepted text means what ipaddr.js says', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.%x '.split(''));
    const text = fc.oneof(fc.string(), fc.string({ unit: chars, maxLength: 45 }));
    fc.assert(
      fc.property(text, (t) => {
        let v: number;
        try {
          v = foldAddress(t);
        } catch (e) {
          return e instanceof InvalidAddressError;
        }
        return Number.isInteger(v) && v >= 0 && v <= 0xffffffff && oracleFold(t) === v;
      }),
      { numRuns: 5000 },
    );
  });
});
