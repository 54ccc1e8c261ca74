// BFD control packets (RFC 5880 section 4.1): encode and decode, with the reception checks of
// section 6.8.6 that need no session (the ones that do live in session.ts / runner.ts). Pure; a
// bad packet is a typed error value, never an exception. No authentication: we never set the A
// bit and drop packets that have it (6.8.6: "If the A bit is set and no authentication is in use
// (bfd.AuthType is zero), the packet MUST be discarded").

/** bfd.SessionState values as carried in the Sta field. */
export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdStateValue = (typeof BfdState)[keyof typeof BfdState];
export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof STATE_NAMES)[number];

/** Diagnostic codes (RFC 5880 4.1); 9..31 are reserved. */
export const BfdDiag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFailed: 2,
  NeighborSignaledDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;

export const BFD_VERSION = 1;
/** Mandatory section length; with no authentication it is the whole packet. */
export const BFD_HEADER_LEN = 24;
/** RFC 5881 section 4 (single hop) and RFC 5883 section 5 (multihop). */
export const BFD_PORT = 3784;
export const BFD_MULTIHOP_PORT = 4784;

/** One control packet's fields. Intervals are microseconds, as on the wire. */
export interface ControlPacket {
  version: number;
  diag: number;
  state: BfdStateValue;
  poll: boolean;
  final: boolean;
  /** C: control plane independent */
  cpi: boolean;
  /** A: authentication present */
  auth: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  length: number;
  myDiscr: number;
  yourDiscr: number;
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
}

/** What a sender chooses; the rest (version, length, A, M) is fixed by the codec. */
export type OutgoingPacket = Pick<
  ControlPacket,
  'diag' | 'state' | 'poll' | 'final' | 'demand' | 'detectMult' | 'myDiscr' | 'yourDiscr' | 'desiredMinTxUs' | 'requiredMinRxUs'
> & { cpi?: boolean; requiredMinEchoRxUs?: number };

export type BfdDropReason =
  | 'short'
  | 'version'
  | 'length'
  | 'detect-mult-zero'
  | 'multipoint'
  | 'my-discr-zero'
  | 'your-discr-zero'
  | 'auth'
  | 'poll-and-final';

/** A packet that fails a reception check. `reason` is stable (counters and logs key on it). */
export class BfdPacketError extends Error {
  readonly code = 'EBFDPACKET';
  constructor(readonly reason: BfdDropReason, message: string) {
    super(message);
    this.name = 'BfdPacketError';
  }
}

export type DecodeResult = { ok: true; packet: ControlPacket } | { ok: false; error: BfdPacketError };

function fail(reason: BfdDropReason, message: string): DecodeResult {
  return { ok: false, error: new BfdPacketError(reason, message) };
}

const U32 = 0xffffffff;

function u32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > U32) throw new RangeError(`${name} must be an unsigned 32-bit integer, not ${v}`);
  return v;
}

/** Encode a control packet (24 bytes, no authentication). Throws RangeError on a programming error. */
export function encodeControl(p: OutgoingPacket): Buffer {
  if (!Number.isInteger(p.diag) || p.diag < 0 || p.diag > 31) throw new RangeError(`diag must be 0..31, not ${p.diag}`);
  if (!Number.isInteger(p.detectMult) || p.detectMult < 1 || p.detectMult > 255) throw new RangeError(`detectMult must be 1..255, not ${p.detectMult}`);
  if (p.state < 0 || p.state > 3) throw new RangeError(`state must be 0..3, not ${p.state}`);
  const b = Buffer.alloc(BFD_HEADER_LEN);
  b[0] = (BFD_VERSION << 5) | p.diag;
  b[1] = (p.state << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.cpi ? 0x08 : 0) | (p.demand ? 0x02 : 0);
  b[2] = p.detectMult;
  b[3] = BFD_HEADER_LEN;
  b.writeUInt32BE(u32('myDiscr', p.myDiscr), 4);
  b.writeUInt32BE(u32('yourDiscr', p.yourDiscr), 8);
  b.writeUInt32BE(u32('desiredMinTxUs', p.desiredMinTxUs), 12);
  b.writeUInt32BE(u32('requiredMinRxUs', p.requiredMinRxUs), 16);
  b.writeUInt32BE(u32('requiredMinEchoRxUs', p.requiredMinEchoRxUs ?? 0), 20);
  return b;
}

/**
 * Decode and check one UDP payload. Checks (RFC 5880 6.8.6, in its order): version 1; Length at
 * least 24 (26 with A) and not beyond the payload; Detect Mult nonzero; M clear; My
 * Discriminator nonzero; Your Discriminator nonzero unless State is Down or AdminDown; A clear
 * (we run no authentication). Also P and F not both set (6.5: "MUST NOT"), as keepalived.
 */
export function decodeControl(buf: Uint8Array): DecodeResult {
  if (buf.length < BFD_HEADER_LEN) return fail('short', `packet is ${buf.length} bytes, less than ${BFD_HEADER_LEN}`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const version = b[0] >> 5;
  if (version !== BFD_VERSION) return fail('version', `version ${version} is not ${BFD_VERSION}`);
  const auth = (b[1] & 0x04) !== 0;
  const length = b[3];
  if (length < (auth ? 26 : BFD_HEADER_LEN)) return fail('length', `length field ${length} is below the minimum ${auth ? 26 : BFD_HEADER_LEN}`);
  if (length > b.length) return fail('length', `length field ${length} exceeds the ${b.length}-byte payload`);
  const detectMult = b[2];
  if (detectMult === 0) return fail('detect-mult-zero', 'Detect Mult is zero');
  const multipoint = (b[1] & 0x01) !== 0;
  if (multipoint) return fail('multipoint', 'Multipoint (M) bit is set');
  const myDiscr = b.readUInt32BE(4);
  if (myDiscr === 0) return fail('my-discr-zero', 'My Discriminator is zero');
  const yourDiscr = b.readUInt32BE(8);
  const state = (b[1] >> 6) as BfdStateValue;
  if (yourDiscr === 0 && state !== BfdState.Down && state !== BfdState.AdminDown)
    return fail('your-discr-zero', `Your Discriminator is zero in state ${STATE_NAMES[state]}`);
  if (auth) return fail('auth', 'Authentication (A) bit is set and no authentication is in use');
  const poll = (b[1] & 0x20) !== 0;
  const final = (b[1] & 0x10) !== 0;
  if (poll && final) return fail('poll-and-final', 'both Poll (P) and Final (F) bits are set');
  return {
    ok: true,
    packet: {
      version,
      diag: b[0] & 0x1f,
      state,
      poll,
      final,
      cpi: (b[1] & 0x08) !== 0,
      auth,
      demand: (b[1] & 0x02) !== 0,
      multipoint,
      detectMult,
      length,
      myDiscr,
      yourDiscr,
      desiredMinTxUs: b.readUInt32BE(12),
      requiredMinRxUs: b.readUInt32BE(16),
      requiredMinEchoRxUs: b.readUInt32BE(20),
    },
  };
}
