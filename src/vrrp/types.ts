// The VRRP instance specification the runtime takes. Independent of the config model: the config
// loader maps keepalived's keywords (vrrp_instance, vrrp_script, vrrp_sync_group) onto these.

export type VrrpVersion = 2 | 3;
export type IpFamily = 4 | 6;
export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** How the v3-over-IPv4 checksum is formed (spec 1.4): keepalived 2.2.7 default is `pseudo`. */
export type ChecksumMode = 'pseudo' | 'pseudo-mcast-dst' | 'none';

/** One `virtual_ipaddress` / `virtual_ipaddress_excluded` line. */
export interface VipSpec {
  /** Address without prefix, e.g. "192.0.2.100" or "2001:db8::100". */
  address: string;
  /** Prefix length; default 32 (IPv4) / 128 (IPv6). */
  prefix?: number;
  /** Interface to put it on; default the instance's interface. */
  dev?: string;
  label?: string;
  scope?: 'global' | 'site' | 'link' | 'host' | 'nowhere';
  broadcast?: string;
  /** Add with `nodad` (IPv6). */
  noDad?: boolean;
}

/** One `virtual_routes` line: `ip route` destination with optional gateway / device / metric. */
export interface VirtualRouteSpec {
  to: string;
  via?: string;
  dev?: string;
  src?: string;
  metric?: number;
  /** A number or a table name `ip route` knows (main, local, rt_tables). */
  table?: number | string;
  scope?: 'global' | 'site' | 'link' | 'host' | 'nowhere';
}

export interface UnicastPeerSpec {
  address: string;
  minTtl?: number;
  maxTtl?: number;
}

/** A tracked object's weight: positive added while up, negative added while down; 0 = Fault when down. */
export interface TrackWeight {
  weight?: number;
  reverse?: boolean;
}

export interface TrackInterfaceSpec extends TrackWeight {
  name: string;
}

export interface TrackScriptRef extends TrackWeight {
  /** Name of a `VrrpScriptSpec`; its own weight is used unless this one is given. */
  name: string;
}

/** track_file: the file holds an integer; weight multiplies it (keepalived); missing file = 0. */
export interface TrackFileSpec extends TrackWeight {
  path: string;
}

/** track_bfd: a bfd_instance followed (weight and reverse already resolved from the instance's). */
export interface TrackBfdRef extends TrackWeight {
  name: string;
}

export interface TrackProcessRef extends TrackWeight {
  /** Name of a `VrrpTrackProcessSpec`; its own weight is used unless this one is given. */
  name: string;
}

/**
 * vrrp_track_process: how many processes match `process` (and `params`), keepalived's rules:
 * comm (/proc/PID/stat) unless fullCommand or params, then argv[0] and the parameters.
 */
export interface VrrpTrackProcessSpec {
  name: string;
  /** The process name (comm, at most 15 characters) or, with fullCommand, argv[0]. */
  process: string;
  /** Parameters to match (implies fullCommand). */
  params?: string[];
  /** exact (all parameters, default when params given), partial (the first n whole), initial (the last may be longer). */
  paramMatch?: 'exact' | 'partial' | 'initial';
  fullCommand?: boolean;
  weight?: number;
  reverse?: boolean;
  /** Up while quorum <= count <= quorumMax (defaults 1 and unlimited). */
  quorum?: number;
  quorumMax?: number;
  /** Seconds to wait before a gain by fork / a loss by exit counts. */
  forkDelay?: number;
  terminateDelay?: number;
}

/** use_vmac: a macvlan (mode private) carrying the virtual MAC; VIPs go on it. */
export interface VmacSpec {
  /** Interface name (default vrrp.VRID, keepalived's naming). */
  name?: string;
  /** Default 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID (IPv6); 5 octets take the VRID as the 6th. */
  mac?: string;
  /** vmac_xmit_base: adverts are sent and received on the base interface. */
  xmitBase?: boolean;
}

/** A command: argv (no shell). `user`/`group` drop privileges when lvsd runs as root. */
export interface CommandSpec {
  argv: string[];
  user?: string;
  group?: string;
}

export interface VrrpScriptSpec {
  name: string;
  command: CommandSpec;
  /** Seconds between runs (default 1). */
  interval?: number;
  /** Seconds before a run counts as failed (default: interval). */
  timeout?: number;
  weight?: number;
  reverse?: boolean;
  /** Consecutive successes to go up (default 1) / failures to go down (default 1). */
  rise?: number;
  fall?: number;
  /** Start in the failed state (keepalived `init_fail`). */
  initFail?: boolean;
}

export interface NotifySpec {
  master?: CommandSpec;
  backup?: CommandSpec;
  fault?: CommandSpec;
  stop?: CommandSpec;
  /** Runs after the specific one with 4 extra args: INSTANCE|GROUP, name, state, priority. */
  any?: CommandSpec;
}

export interface GarpSpec {
  /** Seconds before the second burst after becoming master (default 5, 0 = none). */
  masterDelay?: number;
  /** GARPs per burst (default 5). */
  masterRepeat?: number;
  /** Seconds between refresh bursts while master (default 0 = off). */
  masterRefresh?: number;
  /** GARPs per refresh burst (default 1). */
  masterRefreshRepeat?: number;
  /** Milliseconds between GARPs of a burst (keepalived vrrp_garp_interval / vrrp_gna_interval; default 0). */
  intervalMs?: number;
}

export interface VrrpInstanceSpec {
  name: string;
  interface: string;
  vrid: number;
  /** 1..255 (default 100); 255 = address owner. */
  priority?: number;
  /** Seconds; v2 rounds to whole seconds, v3 to centiseconds (default 1). */
  advertInt?: number;
  /** Default 2; forced to 3 for IPv6. */
  version?: VrrpVersion;
  /** Initial state wish (default BACKUP). */
  state?: 'MASTER' | 'BACKUP';
  nopreempt?: boolean;
  /** Seconds (0..1000). */
  preemptDelay?: number;
  /** v2 PASS authentication; only the first 8 characters count. */
  authPass?: string;
  /** Use this source address (multicast and unicast); default the interface's primary (IPv4) / link-local (IPv6). */
  unicastSrcIp?: string;
  unicastPeers?: UnicastPeerSpec[];
  /** TTL of unicast adverts (default 255). */
  unicastTtl?: number;
  checkUnicastSrc?: boolean;
  virtualIpaddress: VipSpec[];
  virtualIpaddressExcluded?: VipSpec[];
  virtualRoutes?: VirtualRouteSpec[];
  trackInterface?: TrackInterfaceSpec[];
  trackScript?: TrackScriptRef[];
  trackFile?: TrackFileSpec[];
  trackProcess?: TrackProcessRef[];
  /** track_bfd; 0 weight: Fault while the session is down */
  trackBfd?: TrackBfdRef[];
  useVmac?: VmacSpec;
  /** Do not go to Fault when the instance's own interface is down. */
  dontTrackPrimary?: boolean;
  garp?: GarpSpec;
  notify?: NotifySpec;
  /** v3/IPv4 checksum form when sending (default 'pseudo'). */
  checksumMode?: ChecksumMode;
  /** Master_Down_Interval multiplier (default 3, 1..100). */
  downTimerAdverts?: number;
  /** Do not send the extra "forcing new election" advert on hearing a lower priority (default false). */
  lowerPrioNoAdvert?: boolean;
  /** Send one advert before yielding to a higher priority master (default false). */
  higherPrioSendAdvert?: boolean;
  /** Skip steps 6 and 10 of the receive checks for repeat adverts from the same master. */
  skipCheckAdvAddr?: boolean;
}

export interface VrrpSyncGroupSpec {
  name: string;
  members: string[];
  notify?: NotifySpec;
  trackInterface?: TrackInterfaceSpec[];
  trackScript?: TrackScriptRef[];
  trackProcess?: TrackProcessRef[];
  trackBfd?: TrackBfdRef[];
}

export interface VrrpRuntimeSpec {
  instances: VrrpInstanceSpec[];
  scripts?: VrrpScriptSpec[];
  processes?: VrrpTrackProcessSpec[];
  syncGroups?: VrrpSyncGroupSpec[];
  /** Path of the notify FIFO (lines `INSTANCE "name" MASTER 100`). */
  notifyFifo?: string;
}

/** Per-instance counters (keepalived's vrrp stats, same meaning). */
export interface VrrpCounters {
  advertRcvd: number;
  advertSent: number;
  becameMaster: number;
  releasedMaster: number;
  priZeroRcvd: number;
  priZeroSent: number;
  garpSent: number;
  garpErrors: number;
  /** Dropped packets by reason (see DropReason). */
  dropped: Record<string, number>;
}
