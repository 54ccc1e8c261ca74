// The sync message codec: golden bytes worked out by hand from the kernel's struct layout
// (struct ip_vs_sync_mesg, ip_vs_sync_v4/v6, the option TLVs and the 4-byte alignment in
// net/netfilter/ipvs/ip_vs_sync.c), a round-trip property, and fuzzing of the decoder.
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { CONN_F, CONN_F_BACKUP_MASK, decodeMessage, encodeMessage, packMessages, type SyncConn } from '../../src/sync/codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const est: SyncConn = {
  family: 4, protocol: 6, flags: CONN_F.DROUTE, state: 1, cport: 40000, vport: 80, dport: 80, fwmark: 0,
  timeoutS: 900, caddr: '192.0.2.1', vaddr: '203.0.113.10', daddr: '198.51.100.2',
};

describe('sync codec: golden bytes', () => {
  test('one IPv4 TCP ESTABLISHED entry, syncid 7', () => {
    // header: reserved 0, syncid 7, size 44 (8 + 36), nr_conns 1, version 1, spare 0
    // entry: type 0, proto 6, ver_size 36, flags DROUTE 3, state 1 (ESTABLISHED),
    //        cport 40000 = 0x9c40, vport 80, dport 80, fwmark 0, timeout 900 = 0x384,
    //        caddr c0000201, vaddr cb00710a, daddr c6336402
    const golden = hex(`
      00 07 00 2c 01 01 00 00
      00 06 00 24 00000003 0001 9c40 0050 0050 00000000 00000384
      c0000201 cb00710a c6336402`);
    expect(encodeMessage(7, [est]).equals(golden)).toBe(true);
    const d = decodeMessage(golden, 7);
    expect(d.ok && d.message.conns).toEqual([{ ...est, inSeq: null, outSeq: null, peData: null, peName: null }]);
  });

  test('a template with pe data and name, then a UDP entry after 3 bytes of padding', () => {
    const tpl: SyncConn = {
      family: 4, protocol: 17, flags: CONN_F.TEMPLATE | CONN_F.MASQ, state: 0, cport: 0, vport: 53, dport: 5353,
      fwmark: 0, timeoutS: 360, caddr: '192.0.2.0', vaddr: '203.0.113.53', daddr: '198.51.100.7',
      peData: Uint8Array.from([0x61, 0x62]), peName: 'sip',
    };
    const udp: SyncConn = { ...tpl, flags: CONN_F.INACTIVE, cport: 1234, timeoutS: 300, caddr: '192.0.2.9', peData: null, peName: null };
    // template entry: 36 + (2 + 2) pe data + (2 + 3) pe name = 45 bytes; next entry at 8 + 48
    const golden = hex(`
      00 00 00 5c 02 01 00 00
      00 11 00 2d 00001000 0000 0000 0035 14e9 00000000 00000168
      c0000200 cb007135 c6336407 02 02 6162 03 03 736970 000000
      00 11 00 24 00000100 0000 04d2 0035 14e9 00000000 0000012c
      c0000209 cb007135 c6336407`);
    expect(encodeMessage(0, [tpl, udp]).equals(golden)).toBe(true);
    const d = decodeMessage(golden);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.message.conns.map((c) => [c.flags, c.cport, c.caddr, c.peName, c.peData ? [...c.peData] : null])).toEqual([
      [CONN_F.TEMPLATE, 0, '192.0.2.0', 'sip', [0x61, 0x62]],
      [CONN_F.INACTIVE, 1234, '192.0.2.9', null, null],
    ]);
  });

  test('IPv6 entry with sequence options (72 + 26 bytes)', () => {
    const c: SyncConn = {
      family: 6, protocol: 6, flags: CONN_F.MASQ, state: 4, cport: 1, vport: 443, dport: 8443, fwmark: 9,
      timeoutS: 120, caddr: '2001:db8::1', vaddr: '2001:db8:0:1::10', daddr: '2001:db8:2::5',
      inSeq: { initSeq: 0x01020304, delta: 5, previousDelta: 6 }, outSeq: { initSeq: 7, delta: 8, previousDelta: 0xffffffff },
    };
    const golden = hex(`
      00 00 00 6a 01 01 00 00
      01 06 00 62 00000600 0004 0001 01bb 20fb 00000009 00000078
      20010db8000000000000000000000001 20010db8000000010000000000000010 20010db8000200000000000000000005
      01 18 01020304 00000005 00000006 00000007 00000008 ffffffff`);
    expect(encodeMessage(0, [c]).equals(golden)).toBe(true);
    const d = decodeMessage(golden);
    expect(d.ok && d.message.conns[0]).toEqual({ ...c, flags: CONN_F.SEQ_MASK, peData: null, peName: null });
  });
});

describe('sync codec: checks', () => {
  const good = encodeMessage(7, [est]);
  const patched = (at: number, bytes: number[]): Buffer => {
    const b = Buffer.from(good);
    b.set(bytes, at);
    return b;
  };

  test('syncid: a backup with 0 takes all, otherwise only its own', () => {
    expect(decodeMessage(good, 0).ok).toBe(true);
    const r = decodeMessage(good, 8);
    expect(r.ok === false && r.error.code).toBe('ESYNCID');
  });

  test('size field must equal the datagram length; short and version-0 datagrams are dropped', () => {
    const cases: [Buffer, string][] = [
      [good.subarray(0, 40), 'ESIZE'],
      [Buffer.from([0, 1]), 'ESHORT'],
      [patched(5, [0]), 'EVERSION'],
      [patched(0, [1]), 'EVERSION'],
      [patched(10, [0x10, 0x24]), 'EVERSION'], // entry version 1
      [patched(10, [0x00, 0x10]), 'EENTRY_SHORT'], // entry size 16 < 36
      [patched(10, [0x00, 0x30]), 'ESHORT'], // entry size past the datagram
      [patched(8, [4]), 'EENTRY_TYPE'],
    ];
    for (const [buf, code] of cases) {
      const r = decodeMessage(buf);
      expect([code, r.ok === false && r.error.code]).toEqual([code, code]);
    }
  });

  test('entries the kernel skips one by one: unknown mandatory option, bad state, unknown protocol', () => {
    const withOpt = (type: number): Buffer => {
      const b = Buffer.concat([good, Buffer.from([type, 2, 0, 0])]);
      b.writeUInt16BE(b.length, 2);
      b.writeUInt16BE(40, 10);
      return b;
    };
    const mandatory = decodeMessage(withOpt(9));
    expect(mandatory.ok && [mandatory.message.conns.length, mandatory.message.skipped]).toEqual([0, 1]);
    const optional = decodeMessage(withOpt(9 | 64));
    expect(optional.ok && [optional.message.conns.length, optional.message.skipped]).toEqual([1, 0]);
    const zeroLen = withOpt(9 | 64);
    zeroLen[45] = 0;
    const z = decodeMessage(zeroLen);
    expect(z.ok === false && z.error.code).toBe('EOPTION');
    const badState = decodeMessage(patched(16, [0, 11]));
    expect(badState.ok && badState.message.skipped).toBe(1);
    const badProto = decodeMessage(patched(9, [47]));
    expect(badProto.ok && badProto.message.skipped).toBe(1);
  });

  test('packMessages fills datagrams up to maxlen, in order', () => {
    const conns = Array.from({ length: 100 }, (_, i) => ({ ...est, cport: 1000 + i }));
    const msgs = packMessages(1, conns, 1472);
    expect(msgs.every((m) => m.length <= 1472)).toBe(true);
    expect(msgs.map((m) => m[4])).toEqual([40, 40, 20]); // (1472 - 8) / 36 = 40.6
    const back = msgs.flatMap((m) => {
      const d = decodeMessage(m, 1);
      return d.ok ? d.message.conns.map((c) => c.cport) : [];
    });
    expect(back).toEqual(conns.map((c) => c.cport));
  });
});

const arbV4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const arbV6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ipaddr.fromByteArray([...b]).toString());
const arbSeq = fc.record({ initSeq: fc.nat(0xffffffff), delta: fc.nat(0xffffffff), previousDelta: fc.nat(0xffffffff) });
const arbConn: fc.Arbitrary<SyncConn> = fc.boolean().chain((v6) => {
  const addr = v6 ? arbV6 : arbV4;
  return fc.record({
    family: fc.constant(v6 ? 6 as const : 4 as const),
    proto: fc.constantFrom(6, 17, 132),
    template: fc.boolean(),
    flags: fc.nat(CONN_F_BACKUP_MASK).map((f) => f & CONN_F_BACKUP_MASK & ~CONN_F.SEQ_MASK & ~CONN_F.TEMPLATE),
    state: fc.nat(10),
    cport: fc.nat(65535), vport: fc.nat(65535), dport: fc.nat(65535), fwmark: fc.nat(0xffffffff), timeoutS: fc.nat(0xffffffff),
    caddr: addr, vaddr: addr, daddr: addr,
    seq: fc.option(fc.tuple(arbSeq, arbSeq), { nil: null }),
    pe: fc.option(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constantFrom('sip', 'x', 'sixteen-chars-ab')), { nil: null }),
  }).map((r): SyncConn => ({
    family: r.family, protocol: r.proto, flags: r.flags | (r.template ? CONN_F.TEMPLATE : 0) | (r.seq ? CONN_F.SEQ_MASK : 0),
    state: r.template ? r.state : r.proto === 17 ? 0 : r.proto === 6 ? r.state : r.state % 10,
    cport: r.cport, vport: r.vport, dport: r.dport, fwmark: r.fwmark, timeoutS: r.timeoutS,
    caddr: r.caddr, vaddr: r.vaddr, daddr: r.daddr,
    inSeq: r.seq ? r.seq[0] : null, outSeq: r.seq ? r.seq[1] : null,
    peData: r.pe ? r.pe[0] : null, peName: r.pe ? r.pe[1] : null,
  }));
});

describe('sync codec: properties', () => {
  test('decode(encode(x)) == x for messages of up to 20 valid entries', () => {
    fc.assert(fc.property(fc.nat(255), fc.array(arbConn, { maxLength: 20 }), (syncid, conns) => {
      const d = decodeMessage(encodeMessage(syncid, conns), syncid);
      expect(d.ok).toBe(true);
      if (!d.ok) return;
      expect(d.message.syncid).toBe(syncid);
      expect(d.message.skipped).toBe(0);
      expect(d.message.conns.map(norm)).toEqual(conns.map(norm));
    }), { numRuns: 200 });
  });

  test('the decoder never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = decodeMessage(bytes);
      expect(typeof r.ok).toBe('boolean');
    }), { numRuns: 2000 });
  });

  test('the decoder never throws on mutated valid messages (size field kept consistent)', () => {
    fc.assert(fc.property(fc.array(arbConn, { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }), fc.nat(40), (conns, edits, cut) => {
      const b = Buffer.from(encodeMessage(0, conns));
      for (const [at, v] of edits) b[8 + (at % Math.max(1, b.length - 8))] = v;
      const m = b.subarray(0, Math.max(8, b.length - cut));
      m.writeUInt16BE(m.length, 2);
      const r = decodeMessage(m);
      if (r.ok) for (const c of r.message.conns) expect(c.family === 4 || c.family === 6).toBe(true);
      else expect(r.error.code).toMatch(/^E/);
    }), { numRuns: 500 });
  });
});

function norm(c: SyncConn): unknown {
  return { ...c, inSeq: c.inSeq ?? null, outSeq: c.outSeq ?? null, peData: c.peData ? [...c.peData] : null, peName: c.peName ?? null };
}
