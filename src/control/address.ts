// Address text as ipvsadm reads and prints it: inet_aton for IPv4 input (so "10.1" and "0x0a.1"
// work as they do for ipvsadm), inet_pton for IPv6, inet_ntop (glibc) for output.
import type { Family } from './view.js';

/** inet_aton: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); last part fills the rest. */
export function parseInetAton(text: string): number | null {
  if (text.length === 0 || text.length > 64) return null;
  const parts = text.split('.');
  if (parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) v = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]*$/.test(part)) v = parseInt(part, 8);
    else if (/^[1-9][0-9]*$/.test(part)) v = parseInt(part, 10);
    else return null;
    if (!Number.isFinite(v)) return null;
    values.push(v);
  }
  const last = values[values.length - 1]!;
  const lead = values.slice(0, -1);
  if (lead.some((v) => v > 255)) return null;
  const lastMax = 2 ** (8 * (4 - lead.length)) - 1;
  if (last > lastMax) return null;
  let n = 0;
  for (const v of lead) n = n * 256 + v;
  return n * 2 ** (8 * (4 - lead.length)) + last;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Strict dotted quad (inet_pton AF_INET). */
export function parseDottedQuad(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((v) => v > 255)) return null;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

/** inet_pton(AF_INET6): eight 16-bit words, or null. */
export function parseIPv6Words(text: string): number[] | null {
  if (text.length < 2 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let tail = text;
  const extra: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseDottedQuad(text.slice(lastColon + 1));
    if (v4 === null) return null;
    extra.push(v4 >>> 16, v4 & 0xffff);
    tail = text.slice(0, lastColon + 1);
    if (tail.endsWith('::')) tail = tail; // "::1.2.3.4": the "::" stays
    else if (tail.endsWith(':')) tail = tail.slice(0, -1);
  }
  const halves = tail.split('::');
  if (halves.length > 2) return null;
  const toWords = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = toWords(halves[0]!);
  if (head === null) return null;
  if (halves.length === 1) {
    const words = [...head, ...extra];
    return words.length === 8 ? words : null;
  }
  const rest = toWords(halves[1]!);
  if (rest === null) return null;
  const known = head.length + rest.length + extra.length;
  if (known > 7) return null;
  return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...extra];
}

/** inet_ntop(AF_INET6) as glibc prints it (RFC 5952 plus the embedded-IPv4 forms). */
export function formatIPv6Words(w: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { bestBase = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    const embedV4 = i === 6 && bestBase === 0 &&
      (bestLen === 6 || (bestLen === 7 && w[7] !== 1) || (bestLen === 5 && w[5] === 0xffff));
    if (embedV4) {
      out += formatIPv4(((w[6]! << 16) >>> 0) + w[7]!);
      break;
    }
    out += w[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** Canonical text of an address of either family, or null if it is neither. */
export function canonicalAddress(text: string): { family: Family; address: string } | null {
  const w = parseIPv6Words(text);
  if (w) return { family: 6, address: formatIPv6Words(w) };
  const v4 = parseDottedQuad(text);
  if (v4 !== null) return { family: 4, address: formatIPv4(v4) };
  return null;
}

/** Numeric comparison of two canonical addresses of the same family (IPv4 before IPv6). */
export function compareAddresses(a: string, b: string): number {
  const ka = addressKey(a);
  const kb = addressKey(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const d = (ka[i] ?? -1) - (kb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function addressKey(text: string): number[] {
  const v4 = parseDottedQuad(text);
  if (v4 !== null) return [v4];
  return parseIPv6Words(text) ?? [];
}

/** Prefix length of a contiguous IPv4 netmask, or null if the mask has holes. */
export function ipv4MaskToPrefix(mask: number): number | null {
  for (let p = 0; p <= 32; p++) {
    if (prefixToIPv4Mask(p) === mask) return p;
  }
  return null;
}

export function prefixToIPv4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
