// What the BFD runner takes and gives, independent of the config model (daemon/specs.ts maps
// keepalived's bfd_instance keywords onto BfdInstanceSpec).

/** One bfd_instance. Intervals are milliseconds (keepalived's unit; microsecond resolution). */
export interface BfdInstanceSpec {
  name: string;
  /** neighbor_ip */
  neighbor: string;
  /** source_ip: the address we send from and listen on (default: any) */
  source?: string;
  /** min_rx (default 10 ms) */
  minRxMs: number;
  /** min_tx (default 10 ms) */
  minTxMs: number;
  /** idle_tx (default 1000 ms) */
  idleTxMs: number;
  /** multiplier (default 5) */
  multiplier: number;
  /** passive */
  passive: boolean;
  /** ttl (IPv4) or hoplimit (IPv6) on what we send */
  ttl: number;
  /** multihop: RFC 5883, port 4784 */
  multihop: boolean;
}

/** Who hears a session's up/down: keepalived's `vrrp` / `checker` keywords (default both). */
export interface BfdAudience {
  vrrp: boolean;
  checker: boolean;
}

/** What checkers and VRRP read: the state last reported for a named session, and its changes. */
export interface BfdStateSource {
  /** true when the session was last reported up; false when down or unknown. */
  isUp(name: string): boolean;
  /** Called on every reported change; returns the unsubscribe function. */
  onChange(cb: (name: string, up: boolean) => void): () => void;
}

/** A runner problem (socket, bind) for one instance; the other instances keep running. */
export class BfdError extends Error {
  readonly code = 'EBFD';
  constructor(readonly instance: string, message: string) {
    super(`bfd_instance ${instance}: ${message}`);
    this.name = 'BfdError';
  }
}
