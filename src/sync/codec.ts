// The IPVS connection sync message, version 1 (net/netfilter/ipvs/ip_vs_sync.c), encoded and
// decoded. Pure. Layout, all multi-byte fields big-endian (network order):
//   header (struct ip_vs_sync_mesg, 8 bytes): reserved u8 = 0, syncid u8, size u16 (whole
//     datagram), nr_conns u8, version s8 = 1, spare u16 = 0;
//   then nr_conns entries, each starting on a 4-byte boundary (zero padding in between, counted
//   in the header's size but not in the entry's):
//     type u8 (bit 0 = IPv6), protocol u8, ver_size u16 (version << 12 | entry size), flags u32,
//     state u16, cport u16, vport u16, dport u16, fwmark u32, timeout u32 (seconds),
//     caddr, vaddr, daddr (4 or 16 bytes each): 36 bytes for IPv4 (struct ip_vs_sync_v4),
//     72 for IPv6 (struct ip_vs_sync_v6);
//     options: type u8, length u8, data: 1 = sequence data (24 bytes: in_seq, out_seq, each
//     init_seq, delta, previous_delta u32), 2 = persistence engine data (<= 255 bytes),
//     3 = persistence engine name (<= 16 bytes). Types with bit 6 (IPVS_OPT_F_PARAM, 64) set
//     are optional and skipped when unknown; an unknown mandatory one drops the entry.
// Decoding follows ip_vs_process_message: a malformed buffer is dropped whole (the entries before
// the fault included), an entry the kernel would skip (unknown mandatory option, unsupported
// protocol, invalid state) is skipped and counted.

import ipaddr from 'ipaddr.js';
import { SyncDecodeError } from './errors.js';

export const SYNC_PROTO_VER = 1;
export const SYNC_HEADER_SIZE = 8;
export const SYNC_V4_SIZE = 36;
export const SYNC_V6_SIZE = 72;
/** IP_VS_SYNC_GROUP 224.0.0.81 and IP_VS_SYNC_PORT. */
export const DEFAULT_SYNC_GROUP4 = '224.0.0.81';
export const DEFAULT_SYNC_PORT = 8848;

export const OPT_SEQ_DATA = 1;
export const OPT_PE_DATA = 2;
export const OPT_PE_NAME = 3;
/** IPVS_OPT_F_PARAM: 1 << (IPVS_OPT_PARAM - 1), marks an option the receiver may ignore. */
export const OPT_F_PARAM = 1 << 6;
export const SEQ_OPTIONS_SIZE = 24;
/** IP_VS_PEDATA_MAXLEN, IP_VS_PENAME_MAXLEN */
export const PE_DATA_MAXLEN = 255;
export const PE_NAME_MAXLEN = 16;

/** Connection flags (include/uapi/linux/ip_vs.h). */
export const CONN_F = {
  MASQ: 0x0000,
  LOCALNODE: 0x0001,
  TUNNEL: 0x0002,
  DROUTE: 0x0003,
  BYPASS: 0x0004,
  FWD_MASK: 0x0007,
  SYNC: 0x0020,
  HASHED: 0x0040,
  NOOUTPUT: 0x0080,
  INACTIVE: 0x0100,
  OUT_SEQ: 0x0200,
  IN_SEQ: 0x0400,
  SEQ_MASK: 0x0600,
  NO_CPORT: 0x0800,
  TEMPLATE: 0x1000,
  ONE_PACKET: 0x2000,
} as const;
/** IP_VS_CONN_F_BACKUP_MASK: the flags a backup takes from a sync entry. */
export const CONN_F_BACKUP_MASK = CONN_F.FWD_MASK | CONN_F.NOOUTPUT | CONN_F.INACTIVE | CONN_F.SEQ_MASK | CONN_F.NO_CPORT | CONN_F.TEMPLATE;

export const IPPROTO = { IP: 0, TCP: 6, UDP: 17, SCTP: 132 } as const;
/** States per protocol: IP_VS_TCP_S_LAST 11, UDP 1 (IP_VS_UDP_S_NORMAL), SCTP 10. */
const NUM_STATES: Record<number, number> = { [IPPROTO.TCP]: 11, [IPPROTO.UDP]: 1, [IPPROTO.SCTP]: 10 };

export interface SeqData {
  initSeq: number;
  delta: number;
  previousDelta: number;
}

/** One connection or persistence template as the master announces it. */
export interface SyncConn {
  family: 4 | 6;
  /** IP protocol number: 6 TCP, 17 UDP, 132 SCTP, 0 for a fwmark service's template */
  protocol: number;
  /** IP_VS_CONN_F_* (HASHED is never sent) */
  flags: number;
  /** protocol state number (TCP: ip_vs_proto_tcp.c order; templates 0) */
  state: number;
  cport: number;
  vport: number;
  dport: number;
  fwmark: number;
  /** the entry's whole timeout in seconds (not what is left of it) */
  timeoutS: number;
  /** canonical address text */
  caddr: string;
  vaddr: string;
  daddr: string;
  inSeq?: SeqData | null;
  outSeq?: SeqData | null;
  peData?: Uint8Array | null;
  peName?: string | null;
}

export interface DecodedMessage {
  syncid: number;
  conns: SyncConn[];
  /** entries the kernel would skip one by one (see the file comment) */
  skipped: number;
}

export type DecodeResult = { ok: true; message: DecodedMessage } | { ok: false; error: SyncDecodeError };

// ---- addresses -----------------------------------------------------------------------------

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function writeAddr(buf: Buffer, off: number, addr: string, family: 4 | 6): void {
  const q = family === 4 ? DOTTED.exec(addr) : null;
  if (q && Number(q[1]) < 256 && Number(q[2]) < 256 && Number(q[3]) < 256 && Number(q[4]) < 256) {
    // the common case without ipaddr.js's general parser (most of the encoding time otherwise)
    buf[off] = Number(q[1]);
    buf[off + 1] = Number(q[2]);
    buf[off + 2] = Number(q[3]);
    buf[off + 3] = Number(q[4]);
    return;
  }
  const a = ipaddr.parse(addr);
  if ((family === 4) !== (a.kind() === 'ipv4')) throw new RangeError(`sync entry: ${addr} is not IPv${family}`);
  buf.set(a.toByteArray(), off);
}

/** Canonical text, as the table keeps addresses (dotted quad, RFC 5952). */
function readAddr(buf: Buffer, off: number, family: 4 | 6): string {
  if (family === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  return ipaddr.fromByteArray([...buf.subarray(off, off + 16)]).toString();
}

// ---- encoding ------------------------------------------------------------------------------

/** Bytes one entry takes (without the padding before it), as ip_vs_sync_conn computes `len`. */
export function entrySize(c: SyncConn): number {
  let len = c.family === 6 ? SYNC_V6_SIZE : SYNC_V4_SIZE;
  if (c.inSeq || c.outSeq) len += SEQ_OPTIONS_SIZE + 2;
  const pe = c.peData && c.peData.length > 0 ? c.peData.length : 0;
  if (pe) {
    len += pe + 2;
    if (c.peName) len += Buffer.byteLength(c.peName) + 2;
  }
  return len;
}

function writeSeq(buf: Buffer, off: number, s: SeqData | null | undefined): number {
  buf.writeUInt32BE((s?.initSeq ?? 0) >>> 0, off);
  buf.writeUInt32BE((s?.delta ?? 0) >>> 0, off + 4);
  buf.writeUInt32BE((s?.previousDelta ?? 0) >>> 0, off + 8);
  return off + 12;
}

function checkConn(c: SyncConn): void {
  const u = (v: number, max: number, what: string): void => {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`sync entry: bad ${what} ${v}`);
  };
  u(c.protocol, 255, 'protocol');
  u(c.state, 0xffff, 'state');
  u(c.cport, 0xffff, 'cport');
  u(c.vport, 0xffff, 'vport');
  u(c.dport, 0xffff, 'dport');
  u(c.fwmark, 0xffffffff, 'fwmark');
  u(c.timeoutS, 0xffffffff, 'timeout');
  u(c.flags, 0xffffffff, 'flags');
  if (c.peData && c.peData.length > PE_DATA_MAXLEN) throw new RangeError('sync entry: pe data longer than 255 bytes');
  if (c.peName && (Buffer.byteLength(c.peName) > PE_NAME_MAXLEN || c.peName.length === 0)) throw new RangeError('sync entry: bad pe name');
}

/** Writes one entry at `off`; returns the offset after it. */
function writeConn(buf: Buffer, off: number, c: SyncConn, len: number): number {
  const seq = Boolean(c.inSeq || c.outSeq);
  buf[off] = c.family === 6 ? 1 : 0;
  buf[off + 1] = c.protocol;
  buf.writeUInt16BE(len & 0x0fff, off + 2); // version 0 in the top 4 bits
  // HASHED is local to the sender; SEQ flags follow the options actually sent.
  let flags = (c.flags & ~CONN_F.HASHED & ~CONN_F.SEQ_MASK) >>> 0;
  if (seq) flags |= c.flags & CONN_F.SEQ_MASK || CONN_F.SEQ_MASK;
  buf.writeUInt32BE(flags >>> 0, off + 4);
  buf.writeUInt16BE(c.state, off + 8);
  buf.writeUInt16BE(c.cport, off + 10);
  buf.writeUInt16BE(c.vport, off + 12);
  buf.writeUInt16BE(c.dport, off + 14);
  buf.writeUInt32BE(c.fwmark >>> 0, off + 16);
  buf.writeUInt32BE(c.timeoutS >>> 0, off + 20);
  const a = c.family === 6 ? 16 : 4;
  writeAddr(buf, off + 24, c.caddr, c.family);
  writeAddr(buf, off + 24 + a, c.vaddr, c.family);
  writeAddr(buf, off + 24 + 2 * a, c.daddr, c.family);
  let p = off + 24 + 3 * a;
  if (seq) {
    buf[p++] = OPT_SEQ_DATA;
    buf[p++] = SEQ_OPTIONS_SIZE;
    p = writeSeq(buf, p, c.inSeq);
    p = writeSeq(buf, p, c.outSeq);
  }
  if (c.peData && c.peData.length > 0) {
    buf[p++] = OPT_PE_DATA;
    buf[p++] = c.peData.length;
    buf.set(c.peData, p);
    p += c.peData.length;
    if (c.peName) {
      const name = Buffer.from(c.peName);
      buf[p++] = OPT_PE_NAME;
      buf[p++] = name.length;
      name.copy(buf, p);
      p += name.length;
    }
  }
  return p;
}

/**
 * One datagram holding `conns` (at most 255: nr_conns is a u8). Throws RangeError on a value
 * that does not fit its field (a programming error: the master builds entries from its table).
 */
export function encodeMessage(syncid: number, conns: readonly SyncConn[]): Buffer {
  if (!Number.isInteger(syncid) || syncid < 0 || syncid > 255) throw new RangeError(`bad syncid ${syncid}`);
  if (conns.length > 255) throw new RangeError('more than 255 entries in one message');
  let size = SYNC_HEADER_SIZE;
  for (const c of conns) {
    checkConn(c);
    size = align4(size) + entrySize(c);
  }
  if (size > 0xffff) throw new RangeError('sync message larger than 65535 bytes');
  const buf = Buffer.alloc(size);
  buf[0] = 0;
  buf[1] = syncid;
  buf.writeUInt16BE(size, 2);
  buf[4] = conns.length;
  buf[5] = SYNC_PROTO_VER;
  buf.writeUInt16BE(0, 6);
  let off = SYNC_HEADER_SIZE;
  for (const c of conns) {
    off = align4(off);
    writeConn(buf, off, c, entrySize(c));
    off += entrySize(c);
  }
  return buf;
}

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Packs entries into datagrams of at most `maxlen` bytes (sync_maxlen: the payload the link
 * carries, 1500 - 28 = 1472 for IPv4 on a 1500 MTU), in order, as the kernel fills its buffers.
 */
export function packMessages(syncid: number, conns: readonly SyncConn[], maxlen: number): Buffer[] {
  const out: Buffer[] = [];
  let batch: SyncConn[] = [];
  let size = SYNC_HEADER_SIZE;
  for (const c of conns) {
    const len = entrySize(c);
    const next = align4(size) + len;
    if (batch.length > 0 && (next > maxlen || batch.length === 255)) {
      out.push(encodeMessage(syncid, batch));
      batch = [];
      size = SYNC_HEADER_SIZE;
    }
    size = align4(size) + len;
    batch.push(c);
  }
  if (batch.length > 0) out.push(encodeMessage(syncid, batch));
  return out;
}

// ---- decoding ------------------------------------------------------------------------------

type EntryResult = { kind: 'conn'; conn: SyncConn } | { kind: 'skip' } | { kind: 'drop'; error: SyncDecodeError };

function readSeq(buf: Buffer, off: number): SeqData {
  return { initSeq: buf.readUInt32BE(off), delta: buf.readUInt32BE(off + 4), previousDelta: buf.readUInt32BE(off + 8) };
}

/** One entry between `start` and `end` (ip_vs_proc_sync_conn). */
function decodeEntry(buf: Buffer, start: number, end: number): EntryResult {
  const type = buf[start];
  let family: 4 | 6;
  let p: number;
  if (type & 1) {
    family = 6;
    p = start + SYNC_V6_SIZE;
  } else if (type === 0) {
    family = 4;
    p = start + SYNC_V4_SIZE;
  } else {
    return { kind: 'drop', error: new SyncDecodeError('EENTRY_TYPE', `entry type ${type}`) };
  }
  if (p > end) return { kind: 'drop', error: new SyncDecodeError('EENTRY_SHORT', 'entry shorter than its addresses') };
  let inSeq: SeqData | null = null;
  let outSeq: SeqData | null = null;
  let peData: Uint8Array | null = null;
  let peName: string | null = null;
  let skip = false;
  while (p < end) {
    if (p + 2 > end) return { kind: 'drop', error: new SyncDecodeError('EOPTION', 'option header past the entry') };
    const ptype = buf[p++];
    const plen = buf[p++];
    if (plen === 0 || p + plen > end) return { kind: 'drop', error: new SyncDecodeError('EOPTION', 'option length 0 or past the entry') };
    switch (ptype & ~OPT_F_PARAM) {
      case OPT_SEQ_DATA:
        if (plen !== SEQ_OPTIONS_SIZE || inSeq) return { kind: 'drop', error: new SyncDecodeError('EOPTION', 'bad or repeated sequence option') };
        inSeq = readSeq(buf, p);
        outSeq = readSeq(buf, p + 12);
        break;
      case OPT_PE_DATA:
        if (peData) return { kind: 'drop', error: new SyncDecodeError('EOPTION', 'repeated pe data') };
        peData = Uint8Array.from(buf.subarray(p, p + plen));
        break;
      case OPT_PE_NAME:
        if (plen > PE_NAME_MAXLEN || peName !== null) return { kind: 'drop', error: new SyncDecodeError('EOPTION', 'bad or repeated pe name') };
        peName = buf.toString('latin1', p, p + plen);
        break;
      default:
        if (!(ptype & OPT_F_PARAM)) skip = true; // unknown mandatory option: this entry only
    }
    p += plen;
  }
  if (skip) return { kind: 'skip' };
  const flags = (buf.readUInt32BE(start + 4) & CONN_F_BACKUP_MASK) >>> 0;
  const protocol = buf[start + 1];
  const state = buf.readUInt16BE(start + 8);
  if (!(flags & CONN_F.TEMPLATE)) {
    const n = NUM_STATES[protocol];
    if (n === undefined || state >= n) return { kind: 'skip' };
  }
  // PE data without a name cannot be bound to an engine (ip_vs_conn_fill_param_sync).
  if (peData && peName === null) return { kind: 'skip' };
  const a = family === 6 ? 16 : 4;
  const conn: SyncConn = {
    family, protocol, flags, state,
    cport: buf.readUInt16BE(start + 10),
    vport: buf.readUInt16BE(start + 12),
    dport: buf.readUInt16BE(start + 14),
    fwmark: buf.readUInt32BE(start + 16),
    timeoutS: buf.readUInt32BE(start + 20),
    caddr: readAddr(buf, start + 24, family),
    vaddr: readAddr(buf, start + 24 + a, family),
    daddr: readAddr(buf, start + 24 + 2 * a, family),
    inSeq, outSeq, peData, peName,
  };
  return { kind: 'conn', conn };
}

/**
 * Decodes a datagram (ip_vs_process_message, version 1). Never throws. `syncid` is the backup's:
 * 0 accepts every syncid, anything else must match. Version 0 datagrams are refused (the kernel
 * still reads them; masters have sent version 1 since Linux 2.6.39).
 */
export function decodeMessage(data: Uint8Array, syncid = 0): DecodeResult {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (code: SyncDecodeError['code'], message: string): DecodeResult => ({ ok: false, error: new SyncDecodeError(code, message) });
  if (buf.length < 4) return fail('ESHORT', 'message header too short');
  if (buf.readUInt16BE(2) !== buf.length) return fail('ESIZE', `size field ${buf.readUInt16BE(2)} != datagram length ${buf.length}`);
  const id = buf[1];
  if (syncid !== 0 && id !== syncid) return fail('ESYNCID', `syncid ${id} ignored (ours is ${syncid})`);
  if (buf.length < SYNC_HEADER_SIZE || buf[0] !== 0 || buf[5] !== SYNC_PROTO_VER || buf.readUInt16BE(6) !== 0) {
    return fail('EVERSION', 'not a version 1 sync message');
  }
  const n = buf[4];
  const conns: SyncConn[] = [];
  let skipped = 0;
  let p = SYNC_HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    if (p + SYNC_V4_SIZE > buf.length) return fail('ESHORT', 'entry past the datagram');
    const verSize = buf.readUInt16BE(p + 2);
    const size = verSize & 0x0fff;
    const end = p + size;
    if (end > buf.length) return fail('ESHORT', 'entry size past the datagram');
    if (verSize >> 12) return fail('EVERSION', `entry version ${verSize >> 12}`);
    const r = decodeEntry(buf, p, end);
    if (r.kind === 'drop') return { ok: false, error: r.error };
    if (r.kind === 'skip') skipped++;
    else conns.push(r.conn);
    p += align4(size);
  }
  return { ok: true, message: { syncid: id, conns, skipped } };
}
