// The scheduler interface shared by the 13 IPVS schedulers and the virtual server table.
// Pure: schedulers never read a clock; time (ms, monotonic) comes in with each pick.

/** What a scheduler sees of a destination (real server). Owned and mutated by the ipvs table. */
export interface SchedDest {
  /** Stable identity within the service (never reused while the service lives). */
  readonly id: number;
  /** Canonical address text (IPv4 dotted quad or RFC 5952 IPv6) and port; used by mh/lblc. */
  readonly addr: string;
  readonly port: number;
  /** 0..65535; 0 = quiescent (never chosen for new connections). */
  weight: number;
  /** Connection counters maintained by the table with the kernel's active/inactive rule. */
  activeConns: number;
  inactiveConns: number;
  /** IP_VS_DEST_F_OVERLOAD, maintained by the table from u_threshold/l_threshold. */
  overloaded: boolean;
}

/** The packet fields schedulers may hash. Reused by the caller across picks (no allocation). */
export interface PacketKey {
  family: 4 | 6;
  saddr: string;
  daddr: string;
  /** fold(addr): IPv4 as a host-order u32; IPv6 as the XOR of its four big-endian 32-bit words. */
  saddrFold: number;
  daddrFold: number;
  sport: number;
  dport: number;
}

/** Scheduler flags (ipvsadm -b / keepalived lvs_sched flags). */
export interface SchedFlags {
  /** sh-fallback / mh-fallback */
  fallback: boolean;
  /** sh-port / mh-port */
  port: boolean;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /**
   * Called whenever the destination list, a weight or a flag changes. `dests` is in kernel list
   * order (see schedulers.md §0): the kernel inserts new dests at the head, so newest first.
   * The array may be retained and read on later picks, and may be mutated in place by the
   * caller as long as update() is called again after each change.
   */
  update(dests: readonly SchedDest[]): void;
  /**
   * A destination's activeConns, inactiveConns or overloaded flag changed (weights and the list
   * change through update). Only indexed schedulers need it; the others ignore it.
   */
  changed?(d: SchedDest): void;
  /** Pick a destination for a new connection, or null ("no destination available"). */
  pick(key: PacketKey, nowMs: number): SchedDest | null;
}

export const SCHEDULER_NAMES = [
  'rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr', 'sh', 'dh', 'fo', 'ovf', 'mh',
] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

// ---- Compatible extensions (sched area) ------------------------------------------------------

/** Names of the scheduler flags as ipvsadm -b / keepalived spell them. */
export type SchedFlagName = 'sh-fallback' | 'sh-port' | 'mh-fallback' | 'mh-port';

/**
 * Tunables the kernel takes from sysctls or build options. All optional; defaults match a stock
 * kernel (lblc_expiration = lblcr_expiration = 24 h, CONFIG_IP_VS_MH_TAB_INDEX = 12 → M = 4093).
 */
export interface SchedOptions {
  /** lblc/lblcr: idle time after which the full sweep drops an entry (sysctl *_expiration). */
  localityExpirationMs?: number;
  /** mh: lookup table size, one of MH_TABLE_SIZES. */
  mhTableSize?: number;
  /**
   * lc, wlc, sed, fo, ovf: keep an exact index of the best destination (load-index.ts) instead of
   * scanning the list on every pick. The caller must then report every change of a destination's
   * counters or overload flag through Scheduler.changed (the ipvs table does).
   */
  indexed?: boolean;
}

/**
 * Schedulers with periodic housekeeping (lblc, lblcr) also implement this. The shell calls
 * `collectGarbage(now)` every LOCALITY_GC_INTERVAL_MS, as the kernel's per-service timer does.
 */
export interface GarbageCollectingScheduler extends Scheduler {
  collectGarbage(nowMs: number): void;
  /** Number of cached destination-address entries (for tests and stats). */
  readonly entryCount: number;
}
