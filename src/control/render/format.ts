// printf pieces ipvsadm's listings are made of, and address:port text (addrport_to_anyname).
import type { Family, Protocol } from '../view.js';

/** `%-Ns`: pad right to N, never cut. */
export function left(text: string | number, width: number): string {
  return String(text).padEnd(width, ' ');
}

/** `%Ns`: pad left to N, never cut. */
export function right(text: string | number, width: number): string {
  return String(text).padStart(width, ' ');
}

/** Reverse lookups for listings without -n; the shell resolves ahead of time (renderers are pure). */
export interface NameResolver {
  hostName(family: Family, address: string): string | null;
  serviceName(port: number, protocol: Protocol): string | null;
}

export function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

/**
 * ipvsadm's addrport_to_anyname: `addr:port`, IPv6 in brackets; names when a resolver is given
 * (numeric otherwise). The C buffer is 60 bytes, so at most 59 characters survive.
 */
export function addrPort(
  address: string, port: number, protocol: Protocol | null, names: NameResolver | null,
): string {
  const family = familyOf(address);
  const host = (names && names.hostName(family, address)) ?? address;
  const service = (names && protocol && names.serviceName(port, protocol)) ?? String(port);
  const text = family === 4 ? `${host}:${service}` : `[${host}]:${service}`;
  return text.slice(0, 59);
}

/** print_largenum: 9-character fields, scaled K/M/G/T unless exact. */
export function largeNum(value: number, exact: boolean): string {
  const v = Math.max(0, Math.floor(value));
  if (exact) {
    const digits = String(v);
    return right(digits, digits.length <= 8 ? 9 : digits.length + 1);
  }
  if (v < 1e8) return right(v, 9);
  if (v < 1e9) return right(Math.floor(v / 1e3), 8) + 'K';
  if (v < 1e11) return right(Math.floor(v / 1e6), 8) + 'M';
  if (v < 1e14) return right(Math.floor(v / 1e9), 8) + 'G';
  return right(Math.floor(v / 1e12), 8) + 'T';
}
