// VRRP v2/v3 advertisement codec (RFC 3768 / RFC 5798, keepalived 2.2.7 on the wire). Pure: bytes in,
// values out. Decoding never throws: every malformed input maps to a DropReason.
import type { ChecksumMode, IpFamily, VrrpVersion } from './types.js';
import { addrToBytes, bytesToAddr } from './addr.js';

export const VRRP_PROTO = 112;
export const VRRP_MCAST4 = '224.0.0.18';
export const VRRP_MCAST6 = 'ff02::12';
export const VRRP_HEADER_LEN = 8;
export const VRRP_AUTH_LEN = 8;

/** Why a packet was dropped; counters and logs are keyed by these. */
export type DropReason =
  | 'short'
  | 'ip-header'
  | 'ip-length'
  | 'length'
  | 'version'
  | 'type'
  | 'checksum'
  | 'ttl'
  | 'vrid-unknown'
  | 'auth-type-invalid'
  | 'auth-type'
  | 'auth'
  | 'interval'
  | 'addr-count'
  | 'addr-missing'
  | 'mcast-unicast'
  | 'unicast-src'
  | 'family';

/** Which form of v3/IPv4 checksum a received packet carried. */
export type ChecksumForm = 'v2' | 'pseudo' | 'pseudo-mcast-dst' | 'none' | 'kernel';

export interface VrrpAdvert {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  /** v2: seconds x 100; v3: the 12-bit Max Advert Interval in centiseconds. */
  intervalCs: number;
  /** v2 only (0 none, 1 PASS, 2 AH); 0 for v3. */
  authType: number;
  /** v2 only: the 8 auth octets; empty for v3. */
  authData: Buffer;
  /** Addresses in packet order, canonical text. */
  addrs: string[];
}

export interface DecodedAdvert extends VrrpAdvert {
  checksumForm: ChecksumForm;
}

export type DecodeResult = { ok: true; advert: DecodedAdvert } | { ok: false; reason: DropReason; detail?: string };

/** RFC 1071 one's-complement sum over several buffers treated as one byte stream. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd = -1; // carried-over high byte when a part ends on an odd boundary
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (odd < 0) odd = p[i];
      else {
        sum += (odd << 8) | p[i];
        odd = -1;
      }
    }
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (odd >= 0) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoHeader4(src: string, dst: string, len: number): Buffer {
  const b = Buffer.alloc(12);
  addrToBytes(src, 4).copy(b, 0);
  addrToBytes(dst, 4).copy(b, 4);
  b[9] = VRRP_PROTO;
  b.writeUInt16BE(len, 10);
  return b;
}

function pseudoHeader6(src: string, dst: string, len: number): Buffer {
  const b = Buffer.alloc(40);
  addrToBytes(src, 6).copy(b, 0);
  addrToBytes(dst, 6).copy(b, 16);
  b.writeUInt32BE(len, 32);
  b[39] = VRRP_PROTO;
  return b;
}

export interface EncodeContext {
  family: IpFamily;
  /** IP source and destination: needed for the v3 checksum pseudo-header. */
  src?: string;
  dst?: string;
  checksumMode?: ChecksumMode;
}

/** Password as keepalived stores it: first 8 octets, NUL padded. */
export function passwordBytes(pass: string): Buffer {
  const b = Buffer.alloc(VRRP_AUTH_LEN);
  Buffer.from(pass, 'utf8').copy(b, 0, 0, VRRP_AUTH_LEN);
  return b;
}

/** Checksum of a VRRP message (checksum field must be zero) for a given form. */
export function vrrpChecksum(msg: Buffer, version: VrrpVersion, ctx: EncodeContext, form?: ChecksumForm): number {
  if (version === 2) return internetChecksum(msg);
  if (ctx.family === 6) {
    if (!ctx.src || !ctx.dst) throw new RangeError('v3/IPv6 checksum needs src and dst');
    return internetChecksum(pseudoHeader6(ctx.src, ctx.dst, msg.length), msg);
  }
  const mode = form ?? ctx.checksumMode ?? 'pseudo';
  if (mode === 'none') return internetChecksum(msg);
  if (!ctx.src) throw new RangeError('v3/IPv4 checksum needs src');
  const dst = mode === 'pseudo-mcast-dst' ? VRRP_MCAST4 : ctx.dst ?? VRRP_MCAST4;
  return internetChecksum(pseudoHeader4(ctx.src, dst, msg.length), msg);
}

/** Encode an advertisement (the VRRP message only, no IP header). Throws RangeError on bad fields (our own input). */
export function encodeAdvert(a: VrrpAdvert, ctx: EncodeContext): Buffer {
  if (a.version === 2 && ctx.family === 6) throw new RangeError('VRRP v2 is IPv4 only');
  if (a.vrid < 1 || a.vrid > 255 || a.priority < 0 || a.priority > 255) throw new RangeError('vrid/priority out of range');
  if (a.addrs.length > 255) throw new RangeError('too many addresses');
  const alen = ctx.family === 4 ? 4 : 16;
  const len = VRRP_HEADER_LEN + alen * a.addrs.length + (a.version === 2 ? VRRP_AUTH_LEN : 0);
  const b = Buffer.alloc(len);
  b[0] = (a.version << 4) | 1;
  b[1] = a.vrid;
  b[2] = a.priority;
  b[3] = a.addrs.length;
  if (a.version === 2) {
    b[4] = a.authType;
    const secs = Math.round(a.intervalCs / 100);
    if (secs < 1 || secs > 255) throw new RangeError('v2 advert interval must be 1..255 s');
    b[5] = secs;
  } else {
    if (a.intervalCs < 1 || a.intervalCs > 4095) throw new RangeError('v3 advert interval must be 1..4095 cs');
    b.writeUInt16BE(a.intervalCs & 0x0fff, 4);
  }
  a.addrs.forEach((addr, i) => addrToBytes(addr, ctx.family).copy(b, VRRP_HEADER_LEN + i * alen));
  if (a.version === 2) a.authData.copy(b, len - VRRP_AUTH_LEN, 0, VRRP_AUTH_LEN);
  b.writeUInt16BE(vrrpChecksum(b, a.version, ctx), 6);
  return b;
}

export interface DecodeContext {
  family: IpFamily;
  src?: string;
  dst?: string;
  /** The kernel already verified the checksum (IPv6 raw socket with IPV6_CHECKSUM). */
  kernelChecksum?: boolean;
}

/** Decode and self-check one VRRP message (length, version, type, auth type, checksum). Never throws. */
export function decodeAdvert(buf: Uint8Array, ctx: DecodeContext): DecodeResult {
  try {
    return decodeUnsafe(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), ctx);
  } catch (err) {
    // Only reachable with an unusable context (e.g. a malformed src string); still a drop, never a throw.
    return { ok: false, reason: 'short', detail: String(err) };
  }
}

function decodeUnsafe(b: Buffer, ctx: DecodeContext): DecodeResult {
  if (b.length < VRRP_HEADER_LEN) return { ok: false, reason: 'short' };
  const version = b[0] >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'version', detail: `version ${version}` };
  if (version === 2 && ctx.family === 6) return { ok: false, reason: 'version', detail: 'v2 over IPv6' };
  const alen = ctx.family === 4 ? 4 : 16;
  const count = b[3];
  const expected = VRRP_HEADER_LEN + alen * count + (version === 2 ? VRRP_AUTH_LEN : 0);
  if (b.length !== expected) return { ok: false, reason: 'length', detail: `len ${b.length} expected ${expected}` };
  if ((b[0] & 0x0f) !== 1) return { ok: false, reason: 'type', detail: `type ${b[0] & 0x0f}` };
  const authType = version === 2 ? b[4] : 0;
  if (authType > 2) return { ok: false, reason: 'auth-type-invalid', detail: `auth type ${authType}` };
  const got = b.readUInt16BE(6);
  const zeroed = Buffer.from(b);
  zeroed.writeUInt16BE(0, 6);
  let form: ChecksumForm | undefined;
  if (version === 2) form = internetChecksum(zeroed) === got ? 'v2' : undefined;
  else if (ctx.kernelChecksum) form = 'kernel';
  else if (ctx.family === 6) {
    if (ctx.src && ctx.dst && vrrpChecksum(zeroed, 3, { family: 6, src: ctx.src, dst: ctx.dst }) === got) form = 'pseudo';
  } else {
    // Accept the three forms seen in the wild (spec 1.4), most likely first.
    const ectx: EncodeContext = { family: 4, src: ctx.src, dst: ctx.dst };
    const forms: ChecksumForm[] = ctx.src ? ['pseudo', 'pseudo-mcast-dst', 'none'] : ['none'];
    form = forms.find((f) => vrrpChecksum(zeroed, 3, ectx, f) === got);
  }
  if (!form) return { ok: false, reason: 'checksum', detail: `checksum 0x${got.toString(16)}` };
  const addrs: string[] = [];
  for (let i = 0; i < count; i++) {
    const off = VRRP_HEADER_LEN + i * alen;
    addrs.push(bytesToAddr(b.subarray(off, off + alen)));
  }
  const intervalCs = version === 2 ? b[5] * 100 : b.readUInt16BE(4) & 0x0fff;
  return {
    ok: true,
    advert: {
      version,
      vrid: b[1],
      priority: b[2],
      intervalCs,
      authType,
      authData: version === 2 ? Buffer.from(b.subarray(b.length - VRRP_AUTH_LEN)) : Buffer.alloc(0),
      addrs,
      checksumForm: form,
    },
  };
}

export interface Ipv4Packet {
  ttl: number;
  tos: number;
  id: number;
  protocol: number;
  src: string;
  dst: string;
  payload: Buffer;
}

export type Ipv4Result = { ok: true; packet: Ipv4Packet } | { ok: false; reason: DropReason; detail?: string };

/** Parse the IPv4 header a raw socket hands us. Never throws. */
export function decodeIpv4(buf: Uint8Array): Ipv4Result {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 20) return { ok: false, reason: 'short' };
  if (b[0] >> 4 !== 4) return { ok: false, reason: 'ip-header', detail: 'not IPv4' };
  const ihl = (b[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > b.length) return { ok: false, reason: 'ip-header', detail: `ihl ${ihl}` };
  const totLen = b.readUInt16BE(2);
  // Linux raw sockets see tot_len as sent (host order fix-ups happen only on output).
  if (totLen !== b.length) return { ok: false, reason: 'ip-length', detail: `tot_len ${totLen} received ${b.length}` };
  return {
    ok: true,
    packet: {
      tos: b[1],
      id: b.readUInt16BE(4),
      ttl: b[8],
      protocol: b[9],
      src: bytesToAddr(b.subarray(12, 16)),
      dst: bytesToAddr(b.subarray(16, 20)),
      payload: b.subarray(ihl),
    },
  };
}

/** An IPv4 header as keepalived writes it (IHL 5, TOS 0xC0, DF clear), header checksum filled in. */
export function encodeIpv4Header(o: { src: string; dst: string; ttl: number; id: number; payloadLen: number; tos?: number }): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x45;
  b[1] = o.tos ?? 0xc0;
  b.writeUInt16BE(20 + o.payloadLen, 2);
  b.writeUInt16BE(o.id & 0xffff, 4);
  b[8] = o.ttl;
  b[9] = VRRP_PROTO;
  addrToBytes(o.src, 4).copy(b, 12);
  addrToBytes(o.dst, 4).copy(b, 16);
  b.writeUInt16BE(internetChecksum(b), 10);
  return b;
}
