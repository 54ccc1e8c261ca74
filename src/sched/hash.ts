// Hash helpers shared by sh, dh, lblc, lblcr and mh, bit-exact with the kernel:
//  - fold(addr): IPv4 as a host-order u32; IPv6 as the XOR of its four big-endian 32-bit words.
//  - hash_32(x, bits) from include/linux/hash.h (multiplicative, keeps the top bits).
//  (hsiphash, used by mh, lives in hsiphash.ts.)
import { InvalidAddressError } from './errors.js';

const GOLDEN_RATIO_32 = 0x61c88647;

/** include/linux/hash.h hash_32(): top `bits` bits of x * GOLDEN_RATIO_32 mod 2^32 (x: a u32 or its int32 alias). */
export function hash32(x: number, bits: number): number {
  return (Math.imul(x, GOLDEN_RATIO_32) >>> 0) >>> (32 - bits);
}

/** Spelled like the kernel for callers that look for it. */
export const hash_32 = hash32;

/** IPv4 dotted quad → u32, or -1. Strict: four decimal parts 0..255, no leading zeros. */
function parseIPv4(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const partStart = i;
    let part = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      part = part * 10 + (c - 48);
      i++;
    }
    const len = i - partStart;
    if (len === 0 || len > 3 || part > 255 || (len > 1 && text.charCodeAt(partStart) === 48)) return -1;
    value = ((value << 8) | part) >>> 0;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** IPv6 text → its eight 16-bit groups in `out`; false when malformed. No zone ids. */
function parseIPv6(text: string, out: Uint16Array): boolean {
  const end = text.length;
  let n = 0; // groups written
  let gap = -1; // index in out where "::" sits
  let i = 0;
  if (end < 2) return false;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) {
      out.fill(0);
      return true;
    }
  }
  while (i < end) {
    if (n === 8) return false;
    // An embedded IPv4 tail (e.g. ::ffff:192.0.2.1) fills the last two groups.
    let dot = false;
    let j = i;
    while (j < end && text.charCodeAt(j) !== 58) {
      if (text.charCodeAt(j) === 46) dot = true;
      j++;
    }
    if (dot) {
      if (j !== end || n > 6) return false;
      const v4 = parseIPv4(text, i, end);
      if (v4 < 0) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    const len = j - i;
    if (len === 0 || len > 4) return false;
    let group = 0;
    for (let k = i; k < j; k++) {
      const d = hexDigit(text.charCodeAt(k));
      if (d < 0) return false;
      group = (group << 4) | d;
    }
    out[n++] = group;
    i = j;
    if (i === end) break;
    // i is at ':'
    i++;
    if (i === end) return false; // trailing single ':'
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return false; // two "::"
      gap = n;
      i++;
      if (i === end) break;
    }
  }
  if (gap < 0) return n === 8;
  if (n === 8) return false; // "::" must stand for at least one group
  const tail = n - gap;
  for (let k = 7; k >= 8 - tail; k--) out[k] = out[k - (8 - n)];
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

const groups = new Uint16Array(8);

/**
 * fold(addr) as the kernel computes it for sh/dh/lblc/lblcr/mh keys: an IPv4 address as a
 * host-order u32; an IPv6 address as w0 ^ w1 ^ w2 ^ w3 of its big-endian 32-bit words.
 * Throws InvalidAddressError on text that is not an address (callers fold at parse time).
 */
export function foldAddress(text: string): number {
  if (text.indexOf(':') < 0) {
    const v4 = parseIPv4(text, 0, text.length);
    if (v4 < 0) throw new InvalidAddressError(text);
    return v4;
  }
  if (!parseIPv6(text, groups)) throw new InvalidAddressError(text);
  let fold = 0;
  for (let w = 0; w < 4; w++) fold ^= (groups[2 * w]! << 16) | groups[2 * w + 1]!;
  return fold >>> 0;
}

/** 4 for dotted-quad text, 6 for IPv6 text (no validation beyond the separator). */
export function addressFamily(text: string): 4 | 6 {
  return text.indexOf(':') < 0 ? 4 : 6;
}
