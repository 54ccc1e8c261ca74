// Address helpers for the table: canonical text, family, and persistence masking.
import ipaddr from 'ipaddr.js';

export function familyOf(addr: string): 4 | 6 {
  return addr.includes(':') ? 6 : 4;
}

/** Canonical text (dotted quad, RFC 5952 IPv6); IPv4-mapped IPv6 becomes IPv4. Throws on junk. */
export function canonicalAddress(text: string): string {
  const a = ipaddr.process(text.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  return a.toString();
}

export function isValidAddress(text: string): boolean {
  return ipaddr.isValid(text.replace(/^\[|\]$/g, ''));
}

/** Client address masked to `prefixLen` bits (persistence granularity), as text. */
export function maskAddress(addr: string, prefixLen: number): string {
  const family = familyOf(addr);
  const full = family === 4 ? 32 : 128;
  if (prefixLen >= full) return addr;
  const bytes = ipaddr.parse(addr).toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const bitsHere = Math.max(0, Math.min(8, prefixLen - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - bitsHere)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** IPv4 prefix length -> dotted mask (for listings). */
export function prefixToMask4(prefixLen: number): string {
  const m = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join('.');
}
