// Wire format between lvsd and native/lvsd-nfq.c (see that file's header). Pure.

import type { Family, L4Proto } from './types.js';

export const PACKET_RECORD_SIZE = 56;
export const VERDICT_RECORD_SIZE = 12;

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
  | { kind: 'unknown'; type: number };

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

export function decodeRecord(b: Buffer, off = 0): QueueRecord {
  const type = b.readUInt32LE(off);
  if (type === 2) return { kind: 'ready' };
  if (type !== 1) return { kind: 'unknown', type };
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

/** Splits a byte stream into whole records; keeps the remainder for the next chunk. */
export class RecordSplitter {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): QueueRecord[] {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: QueueRecord[] = [];
    let off = 0;
    for (; off + PACKET_RECORD_SIZE <= buf.length; off += PACKET_RECORD_SIZE) out.push(decodeRecord(buf, off));
    this.pending = Buffer.from(buf.subarray(off));
    return out;
  }
}
