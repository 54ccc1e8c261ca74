import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BfdPacketError, BfdState, decodeControl, encodeControl, type OutgoingPacket } from '../../src/bfd/codec.js';

// RFC 5880 4.1 laid out by hand: Vers 1, Diag 3, Sta Up, P, Detect Mult 5, Length 24,
// My Discr 0x11223344, Your Discr 0x55667788, DesiredMinTx 300000 us, RequiredMinRx 100000 us, Echo 0.
const GOLDEN = Buffer.from('23e0051811223344556677880004 93e0000186a000000000'.replace(/ /g, ''), 'hex');

const base: OutgoingPacket = {
  diag: 3,
  state: BfdState.Up,
  poll: true,
  final: false,
  demand: false,
  detectMult: 5,
  myDiscr: 0x11223344,
  yourDiscr: 0x55667788,
  desiredMinTxUs: 300_000,
  requiredMinRxUs: 100_000,
};

function withByte(b: Buffer, i: number, v: number): Buffer {
  const c = Buffer.from(b);
  c[i] = v;
  return c;
}

describe('BFD control packet codec', () => {
  it('encodes the RFC 5880 layout byte for byte', () => {
    expect(encodeControl(base).toString('hex')).toBe(GOLDEN.toString('hex'));
  });

  it('decodes the golden packet field by field', () => {
    const r = decodeControl(GOLDEN);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packet).toEqual({
      version: 1, diag: 3, state: BfdState.Up, poll: true, final: false, cpi: false, auth: false, demand: false,
      multipoint: false, detectMult: 5, length: 24, myDiscr: 0x11223344, yourDiscr: 0x55667788,
      desiredMinTxUs: 300_000, requiredMinRxUs: 100_000, requiredMinEchoRxUs: 0,
    });
  });

  it.each([
    ['short', GOLDEN.subarray(0, 23)],
    ['version', withByte(GOLDEN, 0, (2 << 5) | 3)],
    ['length', withByte(GOLDEN, 3, 23)],
    ['length', withByte(GOLDEN, 3, 25)],
    ['detect-mult-zero', withByte(GOLDEN, 2, 0)],
    ['multipoint', withByte(GOLDEN, 1, GOLDEN[1] | 0x01)],
    ['my-discr-zero', Buffer.concat([GOLDEN.subarray(0, 4), Buffer.alloc(4), GOLDEN.subarray(8)])],
    ['your-discr-zero', Buffer.concat([GOLDEN.subarray(0, 8), Buffer.alloc(4), GOLDEN.subarray(12)])],
    ['auth', withByte(withByte(Buffer.concat([GOLDEN, Buffer.alloc(4)]), 3, 28), 1, GOLDEN[1] | 0x04)],
    ['poll-and-final', withByte(GOLDEN, 1, GOLDEN[1] | 0x10)],
  ])('drops a packet failing the %s check (RFC 5880 6.8.6)', (reason, bytes) => {
    const r = decodeControl(bytes);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(BfdPacketError);
    expect(r.error.code).toBe('EBFDPACKET');
    expect(r.error.reason).toBe(reason);
  });

  it('accepts Your Discriminator zero in Down and AdminDown only', () => {
    for (const state of [BfdState.Down, BfdState.AdminDown]) {
      const r = decodeControl(encodeControl({ ...base, state, yourDiscr: 0 }));
      expect(r.ok && r.packet.state).toBe(state);
    }
    expect(decodeControl(encodeControl({ ...base, state: BfdState.Init, yourDiscr: 0 })).ok).toBe(false);
  });

  it('reads a packet whose payload runs past the Length field (6.8.6 drops only a longer Length)', () => {
    const r = decodeControl(Buffer.concat([GOLDEN, Buffer.from([1, 2, 3, 4])]));
    expect(r.ok && r.packet.length).toBe(24);
  });

  it('refuses to encode out-of-range fields (a programming error)', () => {
    expect(() => encodeControl({ ...base, detectMult: 0 })).toThrow(RangeError);
    expect(() => encodeControl({ ...base, myDiscr: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeControl({ ...base, diag: 32 })).toThrow(RangeError);
  });

  it('round-trips every valid packet (property)', () => {
    const pkt = fc.record({
      diag: fc.integer({ min: 0, max: 31 }),
      state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
      poll: fc.boolean(),
      final: fc.boolean(),
      demand: fc.boolean(),
      cpi: fc.boolean(),
      detectMult: fc.integer({ min: 1, max: 255 }),
      myDiscr: fc.integer({ min: 1, max: 0xffffffff }),
      yourDiscr: fc.integer({ min: 1, max: 0xffffffff }),
      desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    }).filter((p) => !(p.poll && p.final));
    fc.assert(
      fc.property(pkt, (p) => {
        const r = decodeControl(encodeControl(p));
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const { version, length, auth, multipoint, ...rest } = r.packet;
        expect({ version, length, auth, multipoint }).toEqual({ version: 1, length: 24, auth: false, multipoint: false });
        expect(rest).toEqual(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on arbitrary bytes, and what it accepts re-encodes to the same 24 bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (bytes) => {
        const r = decodeControl(bytes);
        if (!r.ok) {
          expect(r.error.reason).toMatch(/^[a-z-]+$/);
          return;
        }
        const { version: _v, length: _l, auth: _a, multipoint: _m, ...p } = r.packet;
        // every header bit is a field, so only the Length byte may differ (we always write 24)
        const expected = Buffer.from(bytes.subarray(0, 24));
        expected[3] = 24;
        expect(encodeControl(p)).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('fuzzes near-valid packets: single bit flips of a valid one decode or fail with a reason', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 24 * 8 - 1 }), (bit) => {
        const b = Buffer.from(GOLDEN);
        b[bit >> 3] ^= 1 << (bit & 7);
        const r = decodeControl(b);
        if (r.ok) expect(encodeControl(r.packet).subarray(4)).toEqual(b.subarray(4));
        else expect(r.error).toBeInstanceOf(BfdPacketError);
      }),
    );
  });
});
