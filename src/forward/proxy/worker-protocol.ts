// Messages between the primary (owns the table, accepts, schedules) and relay workers (own the
// sockets after the hand-off). Plain arrays keep the IPC serialisation cheap.
import type { RelayEnd, RelayState } from './tcp-relay.js';

/** A scheduling answer: [request id, connection id or -1 for "no destination", addr, port, header base64 or ''] */
export type Pick = [number, number, string, number, string];

/** primary -> worker */
export type ToWorker =
  /** accept on the listening server sent with this message (listener id) */
  | ['listen', number]
  /** stop accepting on this listener (existing connections go on) */
  | ['unlisten', number]
  /** answers to accept requests */
  | ['picks', Pick[]]
  /** the answer to a 'refused': another target, or null addr to give up */
  | ['retry', number, string | null, number, string]
  /** end this connection now */
  | ['kill', number]
  /** close everything and exit after draining up to ms */
  | ['stop', number];

/** one event inside a batch */
export type WorkerEvent =
  /** a connection was accepted: [a, request id, listener id, client addr, client port] */
  | ['a', number, number, string, number]
  | ['s', number, RelayState]
  | ['t', number, number, number, number, number]
  | ['e', number, RelayEnd]
  | ['r', number];

/** worker -> primary */
export type FromWorker = ['batch', WorkerEvent[]] | ['ready'];
