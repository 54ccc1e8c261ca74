// Declarative shapes of the virtual server table: what a config load or reload wants running.
// The config model and the daemon map onto these; lvsadm edits are translated to the same
// shapes. Plain data only (JSON-serialisable), no behaviour.
import type { SchedFlags, SchedulerName } from '../sched/types.js';

/** Transport protocol of an address-keyed virtual service (ipvsadm -t / -u / --sctp-service). */
export type Protocol = 'tcp' | 'udp' | 'sctp';

/**
 * Forwarding method (keepalived lvs_method; ipvsadm -m NAT, -g DR, -i TUN; FULLNAT is ours).
 * The proxy engine accepts all four and always forwards full-NAT (it terminates the client's
 * connection and opens its own to the real server); see forward/proxy.
 */
export type ForwardMethod = 'NAT' | 'DR' | 'TUN' | 'FULLNAT';

/** PROXY protocol header the proxy engine sends to a real server (our addition). */
export type ProxyProtocolVersion = 'v1' | 'v2';

/** How a virtual service is identified: protocol + address + port, or a firewall mark. */
export type ServiceKey =
  | {
      readonly kind: 'addr';
      readonly protocol: Protocol;
      /** Canonical text: IPv4 dotted quad or RFC 5952 IPv6 (no brackets). */
      readonly addr: string;
      /** 0..65535; 0 = all ports (only for persistent services, as ipvsadm). */
      readonly port: number;
    }
  | {
      readonly kind: 'fwmark';
      /** 1..4294967295 */
      readonly fwmark: number;
      readonly family: 4 | 6;
    };

/** One real server as a reload would set it. Identity within a service = addr + port. */
export interface DestSpec {
  /** Canonical address text (IPv4 dotted quad or RFC 5952 IPv6, no brackets). */
  readonly addr: string;
  /** 0..65535 (for fwmark services the port given, 0 = same as the client's). */
  readonly port: number;
  /** 0..65535; 0 = quiescent (keeps its connections, gets no new ones). Default 1. */
  readonly weight: number;
  readonly method: ForwardMethod;
  /** Upper connection threshold (ipvsadm -x, keepalived uthreshold); 0 = no limit. */
  readonly uThreshold: number;
  /** Lower connection threshold (ipvsadm -y, keepalived lthreshold); 0 = none. */
  readonly lThreshold: number;
  /** TUN only: encapsulation details (shown by lvsadm --tun-info); absent = plain ipip. */
  readonly tunnel?: TunnelSpec | null;
}

/** Tunnel encapsulation of a TUN destination (ipvsadm --tun-type/--tun-port/--tun-*csum). */
export interface TunnelSpec {
  readonly type: 'ipip' | 'gue' | 'gre';
  readonly port: number;
  readonly csum: 'none' | 'csum' | 'remcsum';
}

/** Persistence (ipvsadm -p / -M, keepalived persistence_timeout / persistence_granularity). */
export interface PersistenceSpec {
  /** Seconds, 1..2678400. 360 when given bare (IPVS_SVC_PERSISTENT_TIMEOUT). */
  readonly timeoutS: number;
  /**
   * Client address granularity as a prefix length: IPv4 0..32 (255.255.255.0 -> 24), IPv6
   * 0..128. Default 32 / 128. Non-contiguous IPv4 masks are not supported.
   */
  readonly prefixLen: number;
}

/** One virtual service as a reload would set it. */
export interface ServiceSpec {
  readonly key: ServiceKey;
  /** ipvsadm default is wlc; keepalived's lvs_sched has no default (config decides). */
  readonly scheduler: SchedulerName;
  readonly schedFlags?: Partial<SchedFlags>;
  /** Absent or null = not persistent. */
  readonly persistence?: PersistenceSpec | null;
  /** One-packet scheduling (UDP only): every datagram is scheduled on its own. */
  readonly ops?: boolean;
  /**
   * Real servers in CONFIG order. The table adds them one by one as keepalived does, inserting
   * each at the list head, so the kernel list order (what schedulers see) is the reverse.
   */
  readonly dests: readonly DestSpec[];
  /** Takes new connections when the scheduler finds no destination (keepalived sorry_server). */
  readonly sorryServer?: DestSpec | null;
  /** Proxy engine only: send a PROXY protocol header to real servers. */
  readonly proxyProtocol?: ProxyProtocolVersion | null;
  /** Proxy engine only (our addition): when a real server refuses, retry once on another. */
  readonly retryOnRefuse?: boolean;
}

/** ipvsadm --set tcp tcpfin udp, in seconds; 0 in an edit means "leave unchanged". */
export interface TimeoutSpec {
  /** TCP ESTABLISHED timeout, default 900. */
  readonly tcp: number;
  /** TCP FIN_WAIT timeout, default 120. */
  readonly tcpFin: number;
  /** UDP timeout, default 300. */
  readonly udp: number;
}

/** IPVS sysctls that change table behaviour. */
export interface TableOptions {
  /** net.ipv4.vs.expire_nodest_conn: connections of a removed/unavailable dest end at once. */
  readonly expireNodestConn: boolean;
  /** net.ipv4.vs.expire_quiescent_template: templates to a weight-0 dest are not reused. */
  readonly expireQuiescentTemplate: boolean;
}

/** The whole table as a config load or reload wants it. */
export interface TableSpec {
  readonly services: readonly ServiceSpec[];
  /** Absent = keep the current timeouts. */
  readonly timeouts?: TimeoutSpec;
  /** Absent = keep the current options. */
  readonly options?: Partial<TableOptions>;
}

export const DEFAULT_TIMEOUTS: TimeoutSpec = { tcp: 900, tcpFin: 120, udp: 300 };
export const DEFAULT_PERSISTENCE_TIMEOUT_S = 360;
export const DEFAULT_TABLE_OPTIONS: TableOptions = {
  expireNodestConn: false,
  expireQuiescentTemplate: false,
};
