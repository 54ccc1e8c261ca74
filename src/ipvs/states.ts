// Connection states as IPVS names them and their default timeouts (ip_vs_proto_tcp.c
// tcp_timeouts, ip_vs_proto_udp.c udp_timeouts). `ipvsadm --set tcp tcpfin udp` overrides
// ESTABLISHED, FIN_WAIT and the UDP state.
import type { Protocol, TimeoutSpec } from './types.js';

export const TCP_STATES = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK',
] as const;
export type TcpState = (typeof TCP_STATES)[number];
/** UDP (and SCTP in the proxy, which has no state machine here) use one state. */
export type ConnState = TcpState | 'UDP';

/** Seconds, kernel defaults. */
const TCP_TIMEOUTS_S: Record<TcpState, number> = {
  NONE: 2,
  ESTABLISHED: 15 * 60,
  SYN_SENT: 2 * 60,
  SYN_RECV: 60,
  FIN_WAIT: 2 * 60,
  TIME_WAIT: 2 * 60,
  CLOSE: 10,
  CLOSE_WAIT: 60,
  LAST_ACK: 30,
  LISTEN: 2 * 60,
  SYNACK: 2 * 60,
};

export function isTcpState(s: string): s is TcpState {
  return (TCP_STATES as readonly string[]).includes(s);
}

/** Timeout in ms for a connection of `protocol` entering `state`. */
export function stateTimeoutMs(protocol: Protocol, state: ConnState, t: TimeoutSpec): number {
  if (protocol !== 'tcp' || state === 'UDP') return t.udp * 1000;
  if (state === 'ESTABLISHED') return t.tcp * 1000;
  if (state === 'FIN_WAIT') return t.tcpFin * 1000;
  return TCP_TIMEOUTS_S[state] * 1000;
}
