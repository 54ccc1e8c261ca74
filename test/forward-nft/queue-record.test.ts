// The helper's record stream (native/lvsd-nfq.c header): conntrack event records, mixed-size
// splitting, and the batched verdicts.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  CONN_RECORD_SIZE, ctStateName, decodeRecord, encodeVerdict, PACKET_RECORD_SIZE, RecordReader, recordSize,
  TYPE_CONN, TYPE_LOST, TYPE_PACKET, TYPE_READY, VerdictBatch, type QueueRecord,
} from '../../src/forward/nft/queue-record.js';

/** A type-3 record laid out as the helper's struct ct_rec. */
function connRecord(o: {
  id: number; family: number; l4proto: number; event: number; tcpState: number; mark: number; sport: number; dport: number;
  saddr: string; daddr: string; timeout: number; status: number; counters: [bigint, bigint, bigint, bigint];
}): Buffer {
  const b = Buffer.alloc(CONN_RECORD_SIZE);
  b.writeUInt32LE(TYPE_CONN, 0);
  b.writeUInt32LE(o.id, 4);
  b[8] = o.family; b[9] = o.l4proto; b[10] = o.event; b[11] = o.tcpState;
  b.writeUInt32LE(o.mark, 12);
  b.writeUInt16LE(o.sport, 16); b.writeUInt16LE(o.dport, 18);
  Buffer.from(o.saddr, 'hex').copy(b, 20);
  Buffer.from(o.daddr, 'hex').copy(b, 36);
  b.writeUInt32LE(o.timeout, 52);
  b.writeUInt32LE(o.status, 56);
  o.counters.forEach((c, i) => b.writeBigUInt64LE(c, 64 + i * 8));
  return b;
}

function packetRecord(id: number): Buffer {
  const b = Buffer.alloc(PACKET_RECORD_SIZE);
  b.writeUInt32LE(TYPE_PACKET, 0);
  b.writeUInt32LE(id, 4);
  b[8] = 4; b[9] = 6; b[10] = 1;
  Buffer.from([192, 0, 2, 2]).copy(b, 20);
  Buffer.from([203, 0, 113, 10]).copy(b, 36);
  return b;
}

const collect = (reader: RecordReader, chunk: Buffer, out: QueueRecord[]): void =>
  reader.read(chunk, (b, off) => out.push(decodeRecord(b, off)));

describe('conntrack event records', () => {
  it('decodes an IPv4 TCP update with its state and timeout', () => {
    const b = connRecord({
      id: 77, family: 4, l4proto: 6, event: 2, tcpState: 3, mark: 0x4c000002, sport: 40000, dport: 8000,
      saddr: 'c0000202', daddr: 'cb00710a', timeout: 431999, status: 0x18e, counters: [0n, 0n, 0n, 0n],
    });
    expect(decodeRecord(b)).toEqual({
      kind: 'conn', ctId: 77, event: 'update', family: 4, l4proto: 6, state: 'ESTABLISHED', mark: 0x4c000002,
      saddr: '192.0.2.2', daddr: '203.0.113.10', sport: 40000, dport: 8000, timeoutS: 431999,
      counters: { inPkts: 0, inBytes: 0, outPkts: 0, outBytes: 0 },
    });
  });

  it('decodes an IPv6 UDP destroy with 64-bit counters', () => {
    const big = 5n * 2n ** 32n + 7n;
    const b = connRecord({
      id: 1, family: 6, l4proto: 17, event: 3, tcpState: 255, mark: 0x4c000001, sport: 5, dport: 53,
      saddr: '20010db8000100000000000000000002', daddr: '20010db8000300000000000000000010', timeout: 0, status: 0x0e,
      counters: [3n, big, 2n, 300n],
    });
    const r = decodeRecord(b);
    expect(r).toMatchObject({ kind: 'conn', event: 'destroy', family: 6, state: 'ASSURED', saddr: '2001:db8:1::2', daddr: '2001:db8:3::10' });
    expect(r.kind === 'conn' && r.counters).toEqual({ inPkts: 3, inBytes: Number(big), outPkts: 2, outBytes: 300 });
  });

  it('names states as conntrack(8) does, and a TCP event without one as empty', () => {
    expect([0, 1, 2, 4, 5, 6, 7, 8, 9].map((s) => ctStateName(6, s, 0))).toEqual(
      ['NONE', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'],
    );
    expect(ctStateName(6, 255, 0x6)).toBe('');
    expect(ctStateName(6, 40, 0)).toBe('NONE');
    expect([0, 0x2, 0x6].map((st) => ctStateName(17, 255, st))).toEqual(['UNREPLIED', 'REPLIED', 'ASSURED']);
  });

  it('an event number the helper never writes is an unknown record, and the lost count is read', () => {
    const b = connRecord({
      id: 1, family: 4, l4proto: 6, event: 9, tcpState: 3, mark: 0, sport: 1, dport: 2,
      saddr: '00000000', daddr: '00000000', timeout: 0, status: 0, counters: [0n, 0n, 0n, 0n],
    });
    expect(decodeRecord(b)).toEqual({ kind: 'unknown', type: TYPE_CONN });
    const lost = Buffer.alloc(PACKET_RECORD_SIZE);
    lost.writeUInt32LE(TYPE_LOST, 0);
    lost.writeUInt32LE(12, 4);
    expect(decodeRecord(lost)).toEqual({ kind: 'lost', count: 12 });
  });

  it('never throws on any bytes of a record size (fuzz)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: CONN_RECORD_SIZE, maxLength: CONN_RECORD_SIZE }), fc.constantFrom(1, 2, 3, 4, 5), (bytes, type) => {
      const b = Buffer.from(bytes);
      b.writeUInt32LE(type, 0);
      const r = decodeRecord(b);
      expect(['packet', 'ready', 'conn', 'lost', 'unknown']).toContain(r.kind);
    }), { numRuns: 2000 });
  });
});

describe('RecordReader', () => {
  it('sizes records by type', () => {
    expect([TYPE_PACKET, TYPE_READY, TYPE_CONN, TYPE_LOST, 99].map(recordSize)).toEqual([56, 56, 96, 56, 56]);
  });

  it('splits any chunking of a mixed stream into the same records, in order (fuzz)', () => {
    const rec = fc.oneof(
      fc.nat(0xffffffff).map((id) => packetRecord(id)),
      fc.nat(0xffffffff).map((id) => connRecord({
        id, family: 4, l4proto: 6, event: 1 + (id % 3), tcpState: id % 10, mark: 0x4c000000 | (id & 0xffff), sport: id & 0xffff, dport: 80,
        saddr: 'c0000202', daddr: 'cb00710a', timeout: id % 1000, status: 0, counters: [BigInt(id), 0n, 0n, 0n],
      })),
    );
    fc.assert(fc.property(fc.array(rec, { maxLength: 20 }), fc.array(fc.nat(200), { maxLength: 12 }), (recs, cuts) => {
      const buf = Buffer.concat(recs);
      const expected = recs.map((r) => decodeRecord(r));
      const got: QueueRecord[] = [];
      const reader = new RecordReader();
      let off = 0;
      for (const c of cuts) {
        const end = Math.min(buf.length, off + c);
        collect(reader, buf.subarray(off, end), got);
        off = end;
      }
      collect(reader, buf.subarray(off), got);
      expect(got).toEqual(expected);
    }), { numRuns: 500 });
  });

  it('keeps a partial record until the rest arrives', () => {
    const b = connRecord({
      id: 5, family: 4, l4proto: 17, event: 1, tcpState: 255, mark: 0x4c000003, sport: 9, dport: 53,
      saddr: 'c0000202', daddr: 'cb00710a', timeout: 30, status: 0, counters: [0n, 0n, 0n, 0n],
    });
    const got: QueueRecord[] = [];
    const reader = new RecordReader();
    collect(reader, b.subarray(0, 60), got);
    expect(got).toEqual([]);
    collect(reader, Buffer.concat([b.subarray(60), packetRecord(8).subarray(0, 3)]), got);
    expect(got.map((r) => r.kind)).toEqual(['conn']);
    collect(reader, packetRecord(8).subarray(3), got);
    expect(got.map((r) => r.kind)).toEqual(['conn', 'packet']);
  });
});

describe('VerdictBatch', () => {
  it('is byte for byte the verdict records, in order, past its first buffer, and empties on take', () => {
    const batch = new VerdictBatch();
    const want: Buffer[] = [];
    for (let i = 0; i < 150; i++) {
      const accept = i % 3 !== 0;
      const mark = accept ? 0x4c000000 + i : 0;
      batch.add(i * 7919, accept, mark);
      want.push(encodeVerdict(i * 7919, accept, mark));
    }
    expect(batch.count).toBe(150);
    const first = batch.take();
    expect(first.equals(Buffer.concat(want))).toBe(true);
    expect(batch.count).toBe(0);
    batch.add(1, true, 2);
    const second = batch.take();
    expect(second.equals(encodeVerdict(1, true, 2))).toBe(true);
    // A taken batch is its own memory: the next verdicts do not change it.
    expect(first.subarray(0, 12).equals(encodeVerdict(0, false, 0))).toBe(true);
  });
});
