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

/** Bytes a record takes (throws for a header the helper would refuse). */
function recordSize(header: Buffer | null): number {
  const hlen = header?.length ?? 0;
  if (hlen > MAX_HEADER) throw new RelayProtocolError(`PROXY header of ${hlen} bytes is too long`);
  return IN_HDR + hlen;
}

/** Writes a record at off of buf (which has recordSize bytes there); returns the offset after it. */
function writeRecord(buf: Buffer, off: number, type: In, a: number, b: number, target: { addr: string; port: number } | null, header: Buffer | null): number {
  const hlen = header?.length ?? 0;
  // byte by byte: one record per new connection, and fill()/writeUInt*() validate every call
  for (let i = off; i < off + IN_HDR; i++) buf[i] = 0;
  buf[off] = type;
  if (target) {
    const { family, bytes } = addrBytes(target.addr);
    buf[off + 1] = family;
    buf[off + 2] = target.port & 0xff;
    buf[off + 3] = (target.port >>> 8) & 0xff;
    for (let i = 0; i < bytes.length; i++) buf[off + 16 + i] = bytes[i]!;
  }
  putU32(buf, off + 4, a);
  putU32(buf, off + 8, b);
  buf[off + 12] = hlen & 0xff;
  buf[off + 13] = hlen >>> 8;
  if (header) header.copy(buf, off + IN_HDR);
  return off + IN_HDR + hlen;
}

function putU32(buf: Buffer, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

function record(type: In, a: number, b: number, target: { addr: string; port: number } | null, header: Buffer | null): Buffer {
  const buf = Buffer.allocUnsafe(recordSize(header));
  writeRecord(buf, 0, type, a, b, target, header);
  return buf;
}

const EMPTY = Buffer.alloc(0);

/**
 * Records to one helper, written into one growing buffer and taken as one chunk per flush (a
 * pick per new connection costs no allocation of its own).
 */
export class RecordBatch {
  private buf: Buffer = Buffer.allocUnsafe(4096);
  private taken: Buffer | null = null;
  private len = 0;

  get length(): number {
    return this.len;
  }

  pick(slot: number, conn: number, target: { addr: string; port: number } | null, header: Buffer | null): void {
    this.add(In.Pick, slot, conn, target, header);
  }

  /** Appends an encoded record (listen, kill, ...: rare). */
  append(rec: Buffer): void {
    this.reserve(rec.length);
    rec.copy(this.buf, this.len);
    this.len += rec.length;
  }

  /**
   * The batch's bytes; the batch starts empty again. The bytes are the caller's until it says
   * `written` (a pipe write that completed at once): then the same memory serves the next batch.
   */
  take(): Buffer {
    const out = this.buf.subarray(0, this.len);
    this.taken = this.buf;
    this.buf = EMPTY;
    this.len = 0;
    return out;
  }

  /** The bytes take() gave are no longer needed. */
  written(): void {
    if (this.taken) this.buf = this.taken;
    this.taken = null;
  }

  private add(type: In, a: number, b: number, target: { addr: string; port: number } | null, header: Buffer | null): void {
    const n = recordSize(header);
    this.reserve(n);
    // a bad target throws before the batch changes (addrBytes runs first)
    if (target) addrBytes(target.addr);
    this.len = writeRecord(this.buf, this.len, type, a, b, target, header);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    this.taken = null; // still being written: not ours any more
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n, 4096));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
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

/**
 * Takes the helper's records one by one as they are read, with no object per record (the
 * engine's path: four records per new connection). A method that throws is reported to `failed`
 * and the next record is read.
 */
export interface HelperRecordVisitor {
  listen(listener: number, errno: number): void;
  unlistened(listener: number): void;
  accept(slot: number, listener: number, addr: string, port: number): void;
  state(conn: number, state: RelayState): void;
  /** traffic since the last report; with `end` set, the connection's last ones and its end
   * (`endState`: a state entered just before the end, or null) */
  counters(conn: number, inPkts: number, outPkts: number, inBytes: number, outBytes: number, end: RelayEnd | null, endState: RelayState | null): void;
  refused(conn: number): void;
  error(what: number, errno: number): void;
  failed(recordType: string, err: unknown): void;
}

const TYPE_NAMES = ['?', 'listen', 'accept', 'state', 'traffic', 'end', 'refused', 'error'];

/** Reads helper records from a byte stream; bad records are counted in `malformed` and skipped. */
export class HelperRecordReader {
  malformed = 0;
  private rest: Buffer | null = null;

  /** The records in chunk (and what an earlier chunk left over), handed to v in order. */
  read(chunk: Buffer, v: HelperRecordVisitor): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let off = 0;
    for (; off + OUT_REC <= buf.length; off += OUT_REC) {
      try {
        if (!visit(buf, off, v)) this.malformed++;
      } catch (e) {
        v.failed(TYPE_NAMES[buf[off]!] ?? '?', e);
      }
    }
    if (off < buf.length) this.rest = Buffer.from(buf.subarray(off));
  }

  /** The records as objects (tests, tools). */
  push(chunk: Buffer): HelperRecord[] {
    const out: HelperRecord[] = [];
    this.read(chunk, {
      listen: (listener, errno) => out.push({ type: 'listen', listener, errno }),
      unlistened: (listener) => out.push({ type: 'unlistened', listener }),
      accept: (slot, listener, addr, port) => out.push({ type: 'accept', slot, listener, addr, port }),
      state: (conn, state) => out.push({ type: 'state', conn, state }),
      counters: (conn, inPkts, outPkts, inBytes, outBytes, end, endState) => {
        if (!end) out.push({ type: 'traffic', conn, inPkts, outPkts, inBytes, outBytes });
        else if (endState) out.push({ type: 'end', conn, reason: end, state: endState, inPkts, outPkts, inBytes, outBytes });
        else out.push({ type: 'end', conn, reason: end, inPkts, outPkts, inBytes, outBytes });
      },
      refused: (conn) => out.push({ type: 'refused', conn }),
      error: (what, errno) => out.push({ type: 'error', what, errno }),
      failed: (_type, err) => {
        throw err;
      },
    });
    return out;
  }
}

/** One record at off handed to v; false if it is malformed. */
function visit(b: Buffer, off: number, v: HelperRecordVisitor): boolean {
  const type = b[off]!;
  const arg = b[off + 1]!;
  const id = b.readUInt32LE(off + 4);
  const x = b.readUInt32LE(off + 8);
  const y = b.readUInt32LE(off + 12);
  switch (type) {
    case 1:
      if (arg === 1) v.unlistened(id);
      else v.listen(id, x);
      return true;
    case 2: {
      const addr = formatAddr(arg, b, off + 32);
      if (addr === null) return false;
      v.accept(id, x, addr, b.readUInt16LE(off + 2));
      return true;
    }
    case 3: {
      const state = STATES[arg];
      if (!state || !id) return false;
      v.state(id, state);
      return true;
    }
    case 4:
    case 5: {
      if (!id) return false;
      // byte counts beyond 2^53 cannot happen between two reports (two u32 reads: no BigInt)
      const inBytes = b.readUInt32LE(off + 16) + b.readUInt32LE(off + 20) * 0x100000000;
      const outBytes = b.readUInt32LE(off + 24) + b.readUInt32LE(off + 28) * 0x100000000;
      if (type === 4) {
        v.counters(id, x, y, inBytes, outBytes, null, null);
        return true;
      }
      const reason = ENDS[arg];
      const st = b.readUInt16LE(off + 2);
      const state = st === 0 ? null : STATES[st];
      if (!reason || state === undefined) return false;
      v.counters(id, x, y, inBytes, outBytes, reason, state);
      return true;
    }
    case 6:
      if (!id) return false;
      v.refused(id);
      return true;
    case 7:
      v.error(arg, x);
      return true;
    default:
      return false;
  }
}
