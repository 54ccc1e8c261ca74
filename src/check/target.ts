// Where a network checker connects: the checker's connect_ip/connect_port, else the real
// server's; and from where (bindto, bind_port, bind_if as the IPv6 scope). Pure.
import type { CheckConnect } from './types.js';

export interface CheckTarget {
  /** Real server address and port (the defaults). */
  addr: string;
  port: number;
  /** virtualhost inherited from the real server or virtual server (HTTP). */
  virtualhost?: string;
}

export interface Endpoint {
  host: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  family: 4 | 6;
  /** fwmark: SO_MARK for the connection (0/absent: none) */
  mark?: number;
}

export function connectEndpoint(spec: CheckConnect, target: CheckTarget): Endpoint {
  const host = spec.connectIp ?? target.addr;
  const family = host.includes(':') ? 6 : 4;
  // a link-local source needs its interface as the scope id
  const localAddress =
    spec.bindTo && spec.bindIf && spec.bindTo.toLowerCase().startsWith('fe80') ? `${spec.bindTo}%${spec.bindIf}` : spec.bindTo;
  return { host, port: spec.connectPort ?? target.port, localAddress, localPort: spec.bindPort, family, ...(spec.fwmark ? { mark: spec.fwmark } : {}) };
}

/** Milliseconds since `start` (a performance.now() value), rounded. */
export function since(start: number): number {
  return Math.round(performance.now() - start);
}

/**
 * Binds a UDP socket (bindto/bind_port), connects it to the endpoint and sends one datagram,
 * unless the check is already `done()`. Any throw along the way goes to `fail` (a bad target).
 */
export function sendDatagram(sock: import('node:dgram').Socket, ep: Endpoint, data: Uint8Array, done: () => boolean, fail: (e: unknown) => void): void {
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      fail(e);
    }
  };
  attempt(() =>
    sock.bind({ address: ep.localAddress, port: ep.localPort ?? 0 }, () =>
      attempt(() => sock.connect(ep.port, ep.host, () => attempt(() => (done() ? undefined : sock.send(data))))),
    ),
  );
}
