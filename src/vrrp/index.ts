// src/vrrp public API: other areas import only from here.
export { VrrpRuntime } from './runtime.js';
export type { StateChangeListener, VrrpRuntimeOptions, InstanceStatus } from './runtime.js';
export { VrrpConfigError, instanceFamily } from './instance.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { decodeAdvert, encodeAdvert, decodeIpv4, encodeIpv4Header, internetChecksum } from './codec.js';
export type { VrrpAdvert, DecodedAdvert, DecodeResult, DropReason, ChecksumForm } from './codec.js';
export { VrrpMachine } from './machine.js';
export type { MachineAction, MachineOptions, AdvertIn } from './machine.js';
export { effectivePriority } from './priority.js';
export { advertIntervalCs, skewUs, masterDownUs } from './timers.js';
export { fifoLine } from './notify.js';
export type * from './types.js';
