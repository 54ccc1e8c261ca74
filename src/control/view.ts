// The seam between the virtual server table (src/ipvs/) and everything that shows or edits it
// (lvsadm, the control socket, Prometheus). Plain data only: every value here survives
// JSON.stringify/JSON.parse unchanged (no bigint, no Map, no undefined: absent = null), so the
// same shapes travel over the control socket and feed the renderers.
//
// The table implements `TableControl` (snapshot + apply); lvsadm renders `TableView` exactly as
// ipvsadm prints the kernel's state, so fields carry what the kernel exposes to ipvsadm.

/** Transport protocol of a service (fwmark services have none; connections may show `IP`). */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** 4 = IPv4, 6 = IPv6 (the same convention as src/sched PacketKey.family). */
export type Family = 4 | 6;

/**
 * Forwarding method as ipvsadm names it in listings. `Local` is never requested: the table shows
 * it for a Masq/Route destination whose address is local to the director (kernel behaviour).
 * `FullNat` is our addition (source and destination rewritten; what the proxy engine does).
 */
export type ForwardName = 'Masq' | 'Local' | 'Tunnel' | 'Route' | 'FullNat';
/** Forwarding method a command may request: -m, -g, -i, and our --fullnat. */
export type ForwardMethod = 'masq' | 'route' | 'tunnel' | 'fullnat';

/** Scheduler flags as ipvsadm -b spells them (flag-1..3 are the raw IP_VS_SVC_F_SCHED1..3). */
export type SchedFlag = 'flag-1' | 'flag-2' | 'flag-3' | 'sh-fallback' | 'sh-port' | 'mh-fallback' | 'mh-port';

/** Canonical address text: IPv4 dotted quad, IPv6 RFC 5952 (what inet_ntop prints), no brackets. */
export type AddressText = string;

export interface Endpoint {
  address: AddressText;
  /** 0..65535 */
  port: number;
}

/** How a service is identified: protocol + address + port, or a firewall mark (+ family). */
export type ServiceKey =
  | { kind: 'addr'; protocol: Protocol; address: AddressText; port: number }
  | { kind: 'fwmark'; fwmark: number; family: Family };

/**
 * Persistence (ipvsadm -p/-M). `netmask` is a prefix length: 0..32 for IPv4 services (printed as a
 * dotted mask, 32 = 255.255.255.255 = the default), 0..128 for IPv6 (default 128).
 */
export interface Persistence {
  /** seconds, 1..2678400 (ipvsadm's bare -p means 360) */
  timeout: number;
  netmask: number;
}

/** Tunnel encapsulation of a Tunnel destination (ipvsadm --tun-type/--tun-port/--tun-*csum). */
export interface TunnelInfo {
  type: 'ipip' | 'gue' | 'gre';
  /** GUE destination port; 0 for ipip/gre. */
  port: number;
  /** none = --tun-nocsum (the default), csum = --tun-csum, remcsum = --tun-remcsum (gue only) */
  csum: 'none' | 'csum' | 'remcsum';
}

/** Cumulative counters (kernel ip_vs_stats). Non-negative integers within Number.MAX_SAFE_INTEGER. */
export interface StatsView {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

/** Estimated rates per second (kernel ip_vs_est, already unscaled to whole units per second). */
export interface RatesView {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

export interface DestView {
  /** Family of the destination (may differ from the service's only for Tunnel destinations). */
  family: Family;
  address: AddressText;
  port: number;
  forward: ForwardName;
  /** 0..65535 */
  weight: number;
  activeConns: number;
  inactiveConns: number;
  /** persistence templates pointing at this destination (ipvsadm --persistent-conn) */
  persistConns: number;
  /** 0 = no limit */
  upperThreshold: number;
  lowerThreshold: number;
  /** set for Tunnel destinations, else null */
  tunnel: TunnelInfo | null;
  stats: StatsView;
  rates: RatesView;
}

export interface ServiceView {
  key: ServiceKey;
  /** Family of the virtual address (for fwmark services: the -6 choice). */
  family: Family;
  scheduler: string;
  /** In ipvsadm's print order: flag-1/sh-fallback/mh-fallback, flag-2/sh-port/mh-port, flag-3. */
  schedFlags: SchedFlag[];
  /** null = not persistent */
  persistence: Persistence | null;
  /** persistence engine name (e.g. "sip"), null if none */
  pe: string | null;
  /** one-packet scheduling (UDP only) */
  ops: boolean;
  /** In the table's list order; renderers sort unless --nosort. */
  dests: DestView[];
  stats: StatsView;
  rates: RatesView;
}

/** Kernel TCP state names (ip_vs_proto_tcp.c tcp_state_name_table) plus UDP/SCTP/IP names. */
export type ConnState = string;

export interface ConnectionView {
  /** `IP` for fwmark persistence templates (the kernel stores IPPROTO_IP for them). */
  protocol: Protocol | 'IP';
  family: Family;
  /** seconds until expiry (rounded down) */
  expireSeconds: number;
  /** e.g. ESTABLISHED, SYN_RECV, FIN_WAIT, TIME_WAIT, CLOSE_WAIT, UDP, NONE (templates) */
  state: ConnState;
  client: Endpoint;
  virtual: Endpoint;
  destination: Endpoint;
  /** true for a persistence template (client port 0, state NONE) */
  template: boolean;
  /** persistence engine name and its data (hex or text), null when none */
  peName: string | null;
  peData: string | null;
}

/** ipvsadm --set tcp tcpfin udp, seconds. */
export interface TimeoutsView {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/** A running connection sync daemon (ipvsadm -L --daemon), with the kernel's defaults filled in. */
export interface SyncDaemonView {
  state: 'master' | 'backup';
  mcastInterface: string;
  syncid: number;
  /** sync_maxlen in bytes */
  maxlen: number;
  /** multicast group (224.0.0.81 unless given) */
  group: string;
  port: number;
  ttl: number;
}

/** ipvsadm --start-daemon: 0 (and a null group) = the kernel's default. */
export interface SyncDaemonSpec {
  state: 'master' | 'backup';
  mcastInterface: string;
  /** 0..255 */
  syncid: number;
  maxlen: number;
  group: string | null;
  port: number;
  ttl: number;
}

export interface TableView {
  /** IPVS version shown in the listing header; we mirror the kernel's "1.2.1". */
  version: string;
  /** connection hash table size shown in the header (kernel default 4096) */
  connTableSize: number;
  services: ServiceView[];
  /** Empty unless asked for (SnapshotOptions.connections); can be large. */
  connections: ConnectionView[];
  timeouts: TimeoutsView;
  /** running sync daemons, master first; absent where none can run (in-process tables) */
  daemons?: SyncDaemonView[];
}

export interface SnapshotOptions {
  /** include the connection table and persistence templates (lvsadm -c); default false */
  connections?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Edit commands. Each is complete: lvsadm fills ipvsadm's defaults (scheduler wlc, weight 1,
// forwarding route, persistence netmask /32 or /128) before sending, so -E/-e replace all fields.

export interface ServiceSpec {
  key: ServiceKey;
  scheduler: string;
  schedFlags: SchedFlag[];
  persistence: Persistence | null;
  pe: string | null;
  ops: boolean;
}

export interface DestSpec {
  address: AddressText;
  port: number;
  forward: ForwardMethod;
  /** 0..65535 */
  weight: number;
  /** 0..2147483647, 0 = no limit */
  upperThreshold: number;
  lowerThreshold: number;
  /** only with forward 'tunnel'; null = plain ipip */
  tunnel: TunnelInfo | null;
}

export type ControlCommand =
  | { op: 'add-service'; service: ServiceSpec }
  | { op: 'edit-service'; service: ServiceSpec }
  | { op: 'delete-service'; key: ServiceKey }
  | { op: 'add-dest'; service: ServiceKey; dest: DestSpec }
  | { op: 'edit-dest'; service: ServiceKey; dest: DestSpec }
  | { op: 'delete-dest'; service: ServiceKey; dest: Endpoint }
  /** ipvsadm -C: remove every service (and with them their destinations) */
  | { op: 'clear' }
  /** ipvsadm -Z: zero stats of one service (and its dests) or, with null, of all and the totals */
  | { op: 'zero'; service: ServiceKey | null }
  /** ipvsadm --set: a 0 leaves that timeout unchanged */
  | { op: 'set-timeouts'; timeouts: TimeoutsView }
  /** ipvsadm --start-daemon / --stop-daemon (connection sync, see src/sync) */
  | { op: 'start-daemon'; daemon: SyncDaemonSpec }
  | { op: 'stop-daemon'; state: 'master' | 'backup' }
  /**
   * ipvsadm -R: apply in order; a failing command does not stop the rest (ipvsadm semantics).
   * Not nested: a restore inside a restore is rejected as INVALID.
   */
  | { op: 'restore'; commands: ControlCommand[] };

export type ControlOp = ControlCommand['op'];

/**
 * Why a command failed. lvsadm maps (op, code) to ipvsadm's message, as ipvsadm maps
 * (command, errno):
 *  SERVICE_EXISTS      (EEXIST on add-service)    "Service already exists"
 *  SCHEDULER_NOT_FOUND (ENOENT on add/edit-svc)   "Scheduler or persistence engine not found"
 *  NO_SERVICE          (ESRCH)                    "No such service" / dest ops: "Service not defined"
 *  DEST_EXISTS         (EEXIST on add-dest)       "Destination already exists"
 *  NO_DEST             (ENOENT on edit/del-dest)  "No such destination"
 *  PERMISSION          (EPERM)                    "Permission denied (you must be root)"
 *  INVALID             (EINVAL)                   "Invalid operation.  Possibly wrong module version, ..."
 *  NO_MEMORY           (ENOMEM)                   "Memory allocation problem"
 *  AF_NOT_SUPPORTED    (EAFNOSUPPORT)             "Operation not supported with specified address family"
 *  INTERNAL            anything else              the message as given
 */
export type ControlErrorCode =
  | 'SERVICE_EXISTS'
  | 'SCHEDULER_NOT_FOUND'
  | 'NO_SERVICE'
  | 'DEST_EXISTS'
  | 'NO_DEST'
  | 'PERMISSION'
  | 'INVALID'
  | 'NO_MEMORY'
  | 'AF_NOT_SUPPORTED'
  /** sync daemon: EEXIST "Daemon has already run", ESRCH "No daemon is running", ENODEV, ENOPROTOOPT */
  | 'DAEMON_EXISTS'
  | 'NO_DAEMON'
  | 'NO_DEVICE'
  | 'PROTOCOL_NOT_AVAILABLE'
  | 'INTERNAL';

export type ApplyResult =
  | { ok: true; results?: ApplyResult[] }
  | { ok: false; code: ControlErrorCode; message: string; results?: ApplyResult[] };
// For op 'restore', `results` holds one entry per command in order; the overall result is that
// of the last command (ipvsadm's exit status rule).

/** What the table offers to the control socket and metrics. Implemented by src/ipvs/. */
export interface TableControl {
  snapshot(options?: SnapshotOptions): TableView;
  apply(cmd: ControlCommand): ApplyResult;
}

/** Defaults ipvsadm applies (libipvs.h, ipvsadm.c) and the kernel's initial values. */
export const IPVS_DEFAULTS = {
  version: '1.2.1',
  connTableSize: 4096,
  scheduler: 'wlc',
  persistentTimeout: 360,
  weight: 1,
  timeouts: { tcp: 900, tcpfin: 120, udp: 300 } as const,
} as const;

export const ZERO_STATS: Readonly<StatsView> = Object.freeze({ conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 });
export const ZERO_RATES: Readonly<RatesView> = Object.freeze({ cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });

/** Same service? (structural key equality; addresses must be canonical text) */
export function sameServiceKey(a: ServiceKey, b: ServiceKey): boolean {
  if (a.kind === 'addr' && b.kind === 'addr') {
    return a.protocol === b.protocol && a.address === b.address && a.port === b.port;
  }
  if (a.kind === 'fwmark' && b.kind === 'fwmark') return a.fwmark === b.fwmark && a.family === b.family;
  return false;
}
