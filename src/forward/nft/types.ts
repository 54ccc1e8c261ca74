// The narrow seam between the nft forwarding engine and whoever owns scheduling (the ipvs table).
// The engine programs the kernel from a list of services, asks `pickFor` for the first packet of
// every new connection, and reports connection states and byte counts back from conntrack.

export type L4Proto = 'tcp' | 'udp';
/** Forwarding method (keepalived lvs_method). TUN is refused at start on kernels without ipip. */
export type NftMethod = 'nat' | 'dr' | 'fullnat' | 'tun';
export type Family = 4 | 6;

export interface NftDest {
  /** Stable id within the service (the table's dest id). */
  readonly id: number;
  /** Canonical address text. */
  readonly addr: string;
  /** Real-server port; 0 = keep the client's destination port (fwmark services). */
  readonly port: number;
}

export interface NftService {
  /** Stable identity, e.g. "TCP 203.0.113.10:80" or "FWM 7". */
  readonly id: string;
  readonly family: Family;
  /** Protocol of a VIP service. fwmark services match any TCP/UDP packet carrying the mark. */
  readonly proto: L4Proto;
  /** VIP and port, or `fwmark` (exactly one of the two). */
  readonly vip?: string;
  readonly vport?: number;
  readonly fwmark?: number;
  readonly method: NftMethod;
  /** FULLNAT: director address the real servers see as source (default: masquerade). */
  readonly snatAddr?: string;
  /** All dests that may still carry connections, including weight-0 and draining ones. */
  readonly dests: readonly NftDest[];
}

/** The first packet of a new flow, as lvsd sees it in the queue. */
export interface FlowKey {
  family: Family;
  proto: L4Proto;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  /** Packet mark when queued (the operator's firewall mark for fwmark services). */
  mark: number;
}

export type PickResult =
  /** addr/port let the engine use a dest's programmed mark before a reprogram learns a new dest id. */
  | { readonly kind: 'dest'; readonly serviceId: string; readonly destId: number; readonly addr?: string; readonly port?: number }
  | { readonly kind: 'no-dest'; readonly reason: string };

export type ConnEvent = 'new' | 'update' | 'destroy';

/** One conntrack event for a flow lvsd scheduled (ct mark in lvsd's range). */
export interface ConnStateEvent {
  readonly event: ConnEvent;
  readonly serviceId: string;
  readonly destId: number;
  readonly proto: L4Proto;
  readonly client: { readonly addr: string; readonly port: number };
  readonly vip: { readonly addr: string; readonly port: number };
  /** Conntrack state name (TCP: SYN_SENT, ESTABLISHED, ...; UDP: UNREPLIED/ASSURED/REPLIED). */
  readonly state: string;
  /** Seconds left before conntrack expires the entry. */
  readonly expiresS: number;
  /** Cumulative counters of the flow (conntrack accounting; present on DESTROY events). */
  readonly counters?: FlowCounters;
}

/** Cumulative packets/bytes of one flow: in = client to real server, out = the replies. */
export interface FlowCounters {
  readonly inPkts: number;
  readonly inBytes: number;
  readonly outPkts: number;
  readonly outBytes: number;
}

/** One flow lvsd scheduled, as a conntrack dump shows it now. */
export interface FlowSample {
  readonly proto: L4Proto;
  readonly client: { readonly addr: string; readonly port: number };
  readonly vip: { readonly addr: string; readonly port: number };
  /** Conntrack state name (as in ConnStateEvent). */
  readonly state: string;
  readonly counters: FlowCounters;
}

/** Per-dest totals of connections conntrack currently holds, with bytes and packets. */
export interface ConnStats {
  readonly serviceId: string;
  readonly destId: number;
  /** IPVS rule: TCP ESTABLISHED counts as active, everything else as inactive. */
  readonly activeConns: number;
  readonly inactiveConns: number;
  readonly inPkts: number;
  readonly outPkts: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

export interface NftDirector {
  /** Choose the real server for a new flow (scheduler + persistence), or refuse it. */
  pickFor(flow: FlowKey, nowMs: number): PickResult;
  /** Conntrack told us a scheduled flow changed state (new, update, destroy). */
  onConnState(ev: ConnStateEvent): void;
  /** Fresh per-dest counters from a conntrack dump (on `stats()` and periodically). */
  onConnStats(stats: readonly ConnStats[]): void;
}

/** Engine options (per daemon). */
export interface NftEngineOptions {
  /** NFQUEUE number lvsd binds (default 4242). */
  queueNum?: number;
  /** Kernel queue length before overflow (default 4096). */
  queueMaxLen?: number;
  /** fail-open: overflow or a dead lvsd lets new flows pass unscheduled; fail-closed drops them. */
  failMode?: 'fail-open' | 'fail-closed';
  /** Run every command inside this network namespace (`ip netns exec NAME`); tests use it. */
  netns?: string;
  /** Monotonic ms clock for picks. */
  nowMs?: () => number;
}

/** Engine counters (lvsd-side; kernel counters come from `kernelCounters()`). */
export interface NftCounters {
  queued: number;
  picked: number;
  noDest: number;
  malformed: number;
  unknownService: number;
  verdictErrors: number;
}
