// The records lvsd and native/lvsd-relay exchange over the helper's stdin/stdout (layouts in the C
// file's header comment). Pure: encoders return bytes, the reader turns bytes into records and
// counts what it cannot read. Records from the helper are a fixed 48 bytes, so one bad record
// is skipped without losing the stream.
import ipaddr from 'ipaddr.js';
import type { RelayEnd, RelayState } from './tcp-relay.js';

const IN_HDR = 32;
export const OUT_REC = 48;
/** The helper refuses longer PROXY headers (ours are at most 108 bytes). */
export const MAX_HEADER = 512;

const enum In {
  Listen = 1,
  Unlisten = 2,
  Pick = 3,
  Kill = 4,
  Retry = 5,
}

const STATES: readonly (RelayState | undefined)[] = [undefined, 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'TIME_WAIT', 'CLOSE'];
const ENDS: readonly (RelayEnd | undefined)[] = [
  undefined, 'closed', 'closed-no-reply', 'refused', 'connect-timeout', 'client-reset', 'backend-reset', 'killed',
];

export interface RelayTraffic {
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

export type HelperRecord =
  | { type: 'listen'; listener: number; errno: number }
  | { type: 'unlistened'; listener: number }
  | { type: 'accept'; slot: number; listener: number; addr: string; port: number }
  | { type: 'state'; conn: number; state: RelayState }
  | ({ type: 'traffic'; conn: number } & RelayTraffic)
  /** state: entered just before the end (the helper folds that STATE record into the END) */
  | ({ type: 'end'; conn: number; reason: RelayEnd; state?: RelayState } & RelayTraffic)
  | { type: 'refused'; conn: number }
  /** what: 1 a record lvsd sent was bad, 2 accept failed (descriptors) */
  | { type: 'error'; what: number; errno: number };

export class RelayProtocolError extends Error {
  readonly code = 'ERELAYPROTO';
}

const addrCache = new Map<string, { family: 4 | 6; bytes: number[] }>();

/** Real server addresses repeat: parsed once (the cache is cleared if it ever grows large). */
function addrBytes(addr: string): { family: 4 | 6; bytes: number[] } {
  let r = addrCache.get(addr);
  if (r) return r;
  if (!ipaddr.isValid(addr)) throw new RelayProtocolError(`not an IP address: ${addr}`);
  const a = ipaddr.parse(addr);
  r = { family: a.kind() === 'ipv4' ? 4 : 6, bytes: a.toByteArray() };
  if (addrCache.size >= 4096) addrCache.clear();
  addrCache.set(addr, r);
  return r;
}

function record(type: In, a: number, b: number, target: { addr: string; port: number } | null, header: Buffer | null): Buffer {
  const hlen = header?.length ?? 0;
  if (hlen > MAX_HEADER) throw new RelayProtocolError(`PROXY header of ${hlen} bytes is too long`);
  const buf = Buffer.alloc(IN_HDR + hlen);
  buf[0] = type;
  if (target) {
    const { family, bytes } = addrBytes(target.addr);
    buf[1] = family;
    buf.writeUInt16LE(target.port, 2);
    buf.set(bytes, 16);
  }
  buf.writeUInt32LE(a >>> 0, 4);
  buf.writeUInt32LE(b >>> 0, 8);
  buf.writeUInt16LE(hlen, 12);
  if (header) header.copy(buf, IN_HDR);
  return buf;
}

export const encodeListen = (listener: number, addr: string, port: number, backlog: number): Buffer =>
  record(In.Listen, listener, backlog, { addr, port }, null);
export const encodeUnlisten = (listener: number): Buffer => record(In.Unlisten, listener, 0, null, null);
/** conn 0 answers "no destination": the helper resets the client. */
export const encodePick = (slot: number, conn: number, target: { addr: string; port: number } | null, header: Buffer | null): Buffer =>
  record(In.Pick, slot, conn, target, header);
export const encodeKill = (slot: number, conn: number): Buffer => record(In.Kill, slot, conn, null, null);
/** A null target gives up (the client is reset). */
export const encodeRetry = (slot: number, conn: number, target: { addr: string; port: number } | null, header: Buffer | null): Buffer =>
  record(In.Retry, slot, conn, target, header);

function formatAddr(family: number, b: Buffer, off: number): string | null {
  if (family === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  if (family !== 6) return null;
  const bytes = Array.from(b.subarray(off, off + 16));
  const v6 = new ipaddr.IPv6(bytes);
  // as Node's remoteAddress shows a v4 client on a dual-stack socket
  if (v6.isIPv4MappedAddress()) return `::ffff:${v6.toIPv4Address().toString()}`;
  return v6.toString();
}

/** Reads helper records from a byte stream; bad records are counted in `malformed` and skipped. */
export class HelperRecordReader {
  malformed = 0;
  private rest: Buffer | null = null;

  push(chunk: Buffer): HelperRecord[] {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const out: HelperRecord[] = [];
    let off = 0;
    for (; off + OUT_REC <= buf.length; off += OUT_REC) {
      const r = decode(buf, off);
      if (r) out.push(r);
      else this.malformed++;
    }
    if (off < buf.length) this.rest = Buffer.from(buf.subarray(off));
    return out;
  }
}

function decode(b: Buffer, off: number): HelperRecord | null {
  const type = b[off]!;
  const arg = b[off + 1]!;
  const id = b.readUInt32LE(off + 4);
  const x = b.readUInt32LE(off + 8);
  const y = b.readUInt32LE(off + 12);
  switch (type) {
    case 1:
      return arg === 1 ? { type: 'unlistened', listener: id } : { type: 'listen', listener: id, errno: x };
    case 2: {
      const addr = formatAddr(arg, b, off + 32);
      return addr === null ? null : { type: 'accept', slot: id, listener: x, addr, port: b.readUInt16LE(off + 2) };
    }
    case 3: {
      const state = STATES[arg];
      return state && id ? { type: 'state', conn: id, state } : null;
    }
    case 4:
    case 5: {
      // byte counts beyond 2^53 cannot happen between two reports (two u32 reads: no BigInt)
      const inBytes = b.readUInt32LE(off + 16) + b.readUInt32LE(off + 20) * 0x100000000;
      const outBytes = b.readUInt32LE(off + 24) + b.readUInt32LE(off + 28) * 0x100000000;
      if (!id) return null;
      if (type === 4) return { type: 'traffic', conn: id, inPkts: x, outPkts: y, inBytes, outBytes };
      const reason = ENDS[arg];
      if (!reason) return null;
      const st = b.readUInt16LE(off + 2);
      if (st === 0) return { type: 'end', conn: id, reason, inPkts: x, outPkts: y, inBytes, outBytes };
      const state = STATES[st];
      return state ? { type: 'end', conn: id, reason, state, inPkts: x, outPkts: y, inBytes, outBytes } : null;
    }
    case 6:
      return id ? { type: 'refused', conn: id } : null;
    case 7:
      return { type: 'error', what: arg, errno: x };
    default:
      return null;
  }
}
