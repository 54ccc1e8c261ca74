// Wire format between lvsd and native/lvsd-nfq.c (see that file's header). Pure.

import type { Family, L4Proto } from './types.js';

export const PACKET_RECORD_SIZE = 56;
export const CONN_RECORD_SIZE = 96;
export const VERDICT_RECORD_SIZE = 12;

export const TYPE_PACKET = 1;
export const TYPE_READY = 2;
export const TYPE_CONN = 3;
export const TYPE_LOST = 4;

export const FLAG_SYN = 1;
export const FLAG_ACK = 2;
export const FLAG_FRAGMENT = 4;
export const FLAG_TRUNCATED = 8;

export type QueueRecord =
  | { kind: 'ready' }
  | {
      kind: 'packet';
      id: number;
      family: Family | 0;
      /** IP protocol number (6 tcp, 17 udp, ...). */
      l4proto: number;
      flags: number;
      mark: number;
      saddr: string;
      daddr: string;
      sport: number;
      dport: number;
    }
  | ConnRecord
  /** The helper lost `count` conntrack events (socket buffer full); the periodic dump repairs. */
  | { kind: 'lost'; count: number }
  | { kind: 'unknown'; type: number };

/** A conntrack event of one of lvsd's flows (original direction's tuple). */
export interface ConnRecord {
  kind: 'conn';
  ctId: number;
  event: 'new' | 'update' | 'destroy';
  family: Family | 0;
  l4proto: number;
  /** Conntrack's state name (TCP: SYN_SENT ... ; UDP: UNREPLIED/REPLIED/ASSURED); '' = TCP event without one. */
  state: string;
  mark: number;
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  timeoutS: number;
  /** Cumulative counters (DESTROY events; zero in the others). */
  counters: { inPkts: number; inBytes: number; outPkts: number; outBytes: number };
}

/** Conntrack's TCP states by their number (linux/netfilter/nf_conntrack_tcp.h), named as conntrack(8) prints them. */
const TCP_STATES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'];
const IPS_SEEN_REPLY = 1 << 1;
const IPS_ASSURED = 1 << 2;
const EVENTS = [undefined, 'new', 'update', 'destroy'] as const;

/** Bytes of a record of this type (the helper writes types 1-4; others are read as 56). */
export function recordSize(type: number): number {
  return type === TYPE_CONN ? CONN_RECORD_SIZE : PACKET_RECORD_SIZE;
}

/** The state name conntrack(8) would print for this event. */
export function ctStateName(l4proto: number, tcpState: number, status: number): string {
  if (l4proto === 6) return tcpState === 255 ? '' : TCP_STATES[tcpState] ?? 'NONE';
  return status & IPS_ASSURED ? 'ASSURED' : status & IPS_SEEN_REPLY ? 'REPLIED' : 'UNREPLIED';
}

/** u64 little-endian as a number (exact below 2^53: 9 PB per flow). */
function u64(b: Buffer, off: number): number {
  return b.readUInt32LE(off) + b.readUInt32LE(off + 4) * 0x1_0000_0000;
}

function ipv4(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text of 16 network-order bytes. */
export function ipv6Text(b: Buffer, off: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(off + i * 2));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Decodes the record at `off`; `b` must hold recordSize(type) bytes from there. */
export function decodeRecord(b: Buffer, off = 0): QueueRecord {
  const type = b.readUInt32LE(off);
  if (type === TYPE_READY) return { kind: 'ready' };
  if (type === TYPE_CONN) return decodeConn(b, off);
  if (type === TYPE_LOST) return { kind: 'lost', count: b.readUInt32LE(off + 4) };
  if (type !== TYPE_PACKET) return { kind: 'unknown', type };
  const fam = b[off + 8];
  const family: Family | 0 = fam === 4 ? 4 : fam === 6 ? 6 : 0;
  return {
    kind: 'packet',
    id: b.readUInt32LE(off + 4),
    family,
    l4proto: b[off + 9],
    flags: b[off + 10],
    mark: b.readUInt32LE(off + 12),
    sport: b.readUInt16LE(off + 16),
    dport: b.readUInt16LE(off + 18),
    saddr: family === 6 ? ipv6Text(b, off + 20) : ipv4(b, off + 20),
    daddr: family === 6 ? ipv6Text(b, off + 36) : ipv4(b, off + 36),
  };
}

function decodeConn(b: Buffer, off: number): ConnRecord | { kind: 'unknown'; type: number } {
  const fam = b[off + 8];
  const family: Family | 0 = fam === 4 ? 4 : fam === 6 ? 6 : 0;
  const event = EVENTS[b[off + 10]];
  if (event === undefined) return { kind: 'unknown', type: TYPE_CONN };
  const l4proto = b[off + 9];
  return {
    kind: 'conn',
    ctId: b.readUInt32LE(off + 4),
    event,
    family,
    l4proto,
    state: ctStateName(l4proto, b[off + 11], b.readUInt32LE(off + 56)),
    mark: b.readUInt32LE(off + 12),
    sport: b.readUInt16LE(off + 16),
    dport: b.readUInt16LE(off + 18),
    saddr: family === 6 ? ipv6Text(b, off + 20) : ipv4(b, off + 20),
    daddr: family === 6 ? ipv6Text(b, off + 36) : ipv4(b, off + 36),
    timeoutS: b.readUInt32LE(off + 52),
    counters: { inPkts: u64(b, off + 64), inBytes: u64(b, off + 72), outPkts: u64(b, off + 80), outBytes: u64(b, off + 88) },
  };
}

export function encodeVerdict(id: number, accept: boolean, mark: number): Buffer {
  const b = Buffer.alloc(VERDICT_RECORD_SIZE);
  b.writeUInt32LE(id >>> 0, 0);
  b.writeUInt32LE(accept ? 1 : 0, 4);
  b.writeUInt32LE(mark >>> 0, 8);
  return b;
}

export function l4Name(n: number): L4Proto | null {
  return n === 6 ? 'tcp' : n === 17 ? 'udp' : null;
}

/**
 * Verdicts gathered while one chunk of helper records is handled, written to the helper's pipe
 * at once (one system call per chunk instead of one per new flow).
 */
export class VerdictBatch {
  private buf = Buffer.allocUnsafe(VERDICT_RECORD_SIZE * 64);
  private len = 0;
  add(id: number, accept: boolean, mark: number): void {
    if (this.len + VERDICT_RECORD_SIZE > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.buf.writeUInt32LE(id >>> 0, this.len);
    this.buf.writeUInt32LE(accept ? 1 : 0, this.len + 4);
    this.buf.writeUInt32LE(mark >>> 0, this.len + 8);
    this.len += VERDICT_RECORD_SIZE;
  }
  get count(): number {
    return this.len / VERDICT_RECORD_SIZE;
  }
  /** The verdicts so far as their own Buffer (a pipe write may keep it), and an empty batch. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    return out;
  }
}

/**
 * Splits the helper's byte stream into whole records of their type's size and hands each to
 * `visit` in place (no copy, no object per record unless the visitor decodes one); keeps a
 * partial record for the next chunk.
 */
export class RecordReader {
  private pending: Buffer | null = null;
  read(chunk: Buffer, visit: (b: Buffer, off: number, type: number) => void): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    while (off + 4 <= buf.length) {
      const type = buf.readUInt32LE(off);
      const size = recordSize(type);
      if (off + size > buf.length) break;
      visit(buf, off, type);
      off += size;
    }
    this.pending = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
  }
}
