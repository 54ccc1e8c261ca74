// Messages between the primary (owns the table, accepts, schedules) and relay workers (own the
// sockets after the hand-off). Plain arrays keep the IPC serialisation cheap.
import type { RelayEnd, RelayState } from './tcp-relay.js';

/** primary -> worker */
export type ToWorker =
  /** relay the socket sent with this message to addr:port (header base64 or '') */
  | ['relay', number, string, number, string]
  /** the answer to a 'refused': another target, or null addr to give up */
  | ['retry', number, string | null, number, string]
  /** end this connection now */
  | ['kill', number]
  /** close everything and exit after draining up to ms */
  | ['stop', number];

/** one event inside a batch */
export type WorkerEvent =
  | ['s', number, RelayState]
  | ['t', number, number, number, number, number]
  | ['e', number, RelayEnd]
  | ['r', number];

/** worker -> primary */
export type FromWorker = ['batch', WorkerEvent[]] | ['ready'];
