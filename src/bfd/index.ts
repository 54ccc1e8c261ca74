// BFD (RFC 5880/5881/5883): public API of src/bfd/.
export type * from './types.js';
export { BfdError } from './types.js';
export { BfdRunner, type BfdRunnerOptions, type BfdLogger, type BfdStatus } from './runner.js';
export { BfdSession, type SessionParams, type SessionOutput, type SessionSnapshot, type Transition } from './session.js';
export { decodeControl, encodeControl, BfdPacketError, BfdState, BfdDiag, BFD_PORT, BFD_MULTIHOP_PORT, type ControlPacket, type OutgoingPacket } from './codec.js';
