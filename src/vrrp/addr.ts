// Address helpers for the VRRP codec and machine: bytes <-> canonical text, and the RFC's
// "compare as unsigned integers in network order" used to break priority ties.
import ipaddr from 'ipaddr.js';
import type { IpFamily } from './types.js';

export class AddressError extends Error {
  readonly code = 'EVRRPADDR';
}

/** Canonical text (dotted quad / RFC 5952). Throws AddressError on junk. */
export function canonicalAddr(text: string): string {
  if (!ipaddr.isValid(text)) throw new AddressError(`invalid address: ${text}`);
  return ipaddr.parse(text).toString();
}

export function familyOf(text: string): IpFamily {
  if (!ipaddr.isValid(text)) throw new AddressError(`invalid address: ${text}`);
  return ipaddr.parse(text).kind() === 'ipv4' ? 4 : 6;
}

export function addrToBytes(text: string, family: IpFamily): Buffer {
  if (!ipaddr.isValid(text)) throw new AddressError(`invalid address: ${text}`);
  const a = ipaddr.parse(text);
  if ((a.kind() === 'ipv4' ? 4 : 6) !== family) throw new AddressError(`address ${text} is not IPv${family}`);
  return Buffer.from(a.toByteArray());
}

export function bytesToAddr(b: Uint8Array): string {
  return ipaddr.fromByteArray(Array.from(b)).toString();
}

/** <0, 0, >0 as a is lower, equal, higher than b (unsigned, network byte order). */
export function compareAddr(a: string, b: string): number {
  const x = ipaddr.parse(a).toByteArray();
  const y = ipaddr.parse(b).toByteArray();
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

export function isMulticast(text: string): boolean {
  return ipaddr.isValid(text) && ipaddr.parse(text).range() === 'multicast';
}
