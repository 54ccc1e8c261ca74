// The virtual server table: services, destinations in kernel list order, the connection table,
// persistence templates, state timeouts, active/inactive counters with the overload flag, stats
// and rate estimators. Pure: no I/O, no clock; every time-dependent call takes `nowMs`.
// Engines (forward/proxy, forward/nft) call schedule / setState / touch / traffic / expire;
// reloads call applySpec; lvsadm edits come through the imperative methods (see control.ts).
import type { PacketKey, SchedDest, Scheduler, SchedFlags, SchedOptions, SchedulerName } from '../sched/types.js';
import { familyOf, maskAddress } from './address.js';
import { IpvsError } from './errors.js';
import { ESTIMATOR_PERIOD_MS, RateEstimator } from './estimator.js';
import { type ConnState, stateTimeoutMs } from './states.js';
import { type Counters, clearCounters, zeroCounters } from './stats.js';
import {
  DEFAULT_TABLE_OPTIONS,
  DEFAULT_TIMEOUTS,
  type DestSpec,
  type ForwardMethod,
  type Protocol,
  type ServiceKey,
  type ServiceSpec,
  type TableOptions,
  type TableSpec,
  type TimeoutSpec,
  type TunnelSpec,
} from './types.js';

/** What the table needs from the scheduler registry (src/sched/index.ts), injected. */
export interface SchedulerRegistry {
  createScheduler(name: SchedulerName, flags?: Partial<SchedFlags>, options?: SchedOptions): Scheduler;
  foldAddress(text: string): number;
}

export interface Dest extends SchedDest {
  readonly service: Service;
  method: ForwardMethod;
  uThreshold: number;
  lThreshold: number;
  tunnel: TunnelSpec | null;
  /** persistence templates bound to this dest */
  persistConns: number;
  /** connections + templates still referencing this dest (kernel refcnt, for the trash) */
  refs: number;
  /** removed from its service's list; kept while connections finish */
  removed: boolean;
  readonly isSorry: boolean;
  readonly stats: Counters;
  readonly est: RateEstimator;
}

export interface Service {
  readonly id: number;
  readonly key: ServiceKey;
  readonly keyText: string;
  readonly family: 4 | 6;
  scheduler: SchedulerName;
  schedFlags: Partial<SchedFlags>;
  sched: Scheduler;
  persistence: { timeoutS: number; prefixLen: number } | null;
  ops: boolean;
  proxyProtocol: 'v1' | 'v2' | null;
  retryOnRefuse: boolean;
  /** kernel list order: new dests go to the front */
  dests: Dest[];
  sorry: Dest | null;
  /** removed dests that still have connections, by addr:port (re-adding revives them) */
  readonly trash: Map<string, Dest>;
  removed: boolean;
  nextDestId: number;
  readonly stats: Counters;
  readonly est: RateEstimator;
}

export interface Conn {
  readonly id: number;
  readonly protocol: Protocol;
  readonly service: Service;
  readonly dest: Dest;
  readonly clientAddr: string;
  /** 0 for templates */
  readonly clientPort: number;
  readonly vaddr: string;
  readonly vport: number;
  state: ConnState;
  /** IP_VS_CONN_F_INACTIVE: counted in inactiveConns rather than activeConns */
  inactive: boolean;
  expiresAt: number;
  readonly template: boolean;
  /** for a template: live connections it controls (it cannot expire while > 0) */
  controlled: number;
  /** for a connection: the template that chose its dest */
  readonly controller: Conn | null;
}

export type ScheduleResult =
  | { ok: true; conn: Conn; dest: Dest; viaTemplate: boolean; sorry: boolean }
  | { ok: false; code: 'ENODEST'; message: string };

export interface ScheduleRequest {
  clientAddr: string;
  clientPort: number;
  vaddr: string;
  vport: number;
  /** Initial state; default SYN_RECV for TCP (the client's SYN has arrived), UDP for UDP. */
  state?: ConnState;
  /** Scheduler-visible exclusions (retry on another dest after a refusal). */
  exclude?: Dest;
}

export type Change =
  | { op: 'add-service'; service: string }
  | { op: 'edit-service'; service: string; fields: string[] }
  | { op: 'delete-service'; service: string }
  | { op: 'add-dest'; service: string; dest: string }
  | { op: 'edit-dest'; service: string; dest: string; fields: string[] }
  | { op: 'delete-dest'; service: string; dest: string }
  | { op: 'set-timeouts'; timeouts: TimeoutSpec }
  | { op: 'set-options'; options: TableOptions };

export function serviceKeyText(k: ServiceKey): string {
  if (k.kind === 'fwmark') return `FWM ${k.fwmark}${k.family === 6 ? ' IPv6' : ''}`;
  const a = k.addr.includes(':') ? `[${k.addr}]` : k.addr;
  return `${k.protocol.toUpperCase()} ${a}:${k.port}`;
}

export function endpointText(addr: string, port: number): string {
  return `${addr.includes(':') ? `[${addr}]` : addr}:${port}`;
}

function sameFlags(a: Partial<SchedFlags>, b: Partial<SchedFlags>): boolean {
  return Boolean(a.fallback) === Boolean(b.fallback) && Boolean(a.port) === Boolean(b.port);
}

/**
 * A table entry with its place in the expiry wheel: one-second buckets, so a sweep looks only at
 * entries due by now instead of scanning every entry (TIME_WAIT entries live 120 s: at 15k new
 * connections/s a full scan would walk ~2M entries every second). An entry is filed again only
 * when its expiry moves earlier; when its bucket comes due with a later expiry it moves on then.
 */
interface FiledConn extends Conn {
  /** the bucket holding this entry's live filing (older filings elsewhere are skipped), or null */
  bucket: FiledConn[] | null;
  /** that bucket's second */
  slot: number;
  /** still in the table (a flag: asking the connection map costs a lookup in a map of every
   * TIME_WAIT entry, about a million at 10k connections/s) */
  listed: boolean;
}

/** Schedulers that hash no address (the others get the folded client and virtual addresses). */
const NO_ADDRESS_HASH: ReadonlySet<SchedulerName> = new Set<SchedulerName>(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf']);

function addTraffic(c: Counters, inPkts: number, inBytes: number, outPkts: number, outBytes: number): void {
  c.inPkts += inPkts;
  c.inBytes += inBytes;
  c.outPkts += outPkts;
  c.outBytes += outBytes;
}

/** A removed dest is unavailable (kernel: IP_VS_DEST_F_AVAILABLE cleared). */
function available(d: Dest): boolean {
  return !d.removed && !d.service.removed;
}

export class IpvsTable {
  private readonly servicesByKey = new Map<string, Service>();
  private readonly conns = new Map<number, Conn>();
  private readonly templates = new Map<string, Conn>();
  private readonly wheel = new Map<number, FiledConn[]>();
  /** filings in the wheel, live or stale (dropped entries and older filings wait for their bucket) */
  private filings = 0;
  /** the second of the last sweep: its bucket may still hold entries due later in that second */
  private sweptSlot = -Infinity;
  private nextServiceId = 1;
  private nextConnId = 1;
  private timeouts: { tcp: number; tcpFin: number; udp: number } = { ...DEFAULT_TIMEOUTS };
  private opts: TableOptions = { ...DEFAULT_TABLE_OPTIONS };
  private lastEstimateAt: number | null = null;
  /** totals over all services (ipvsadm's global stats) */
  readonly totals: Counters = zeroCounters();
  readonly totalsEst = new RateEstimator();
  /** the scheduler key object is reused across picks (schedulers must not retain it) */
  private readonly key: PacketKey = {
    family: 4, saddr: '', daddr: '', saddrFold: 0, daddrFold: 0, sport: 0, dport: 0,
  };
  /** connections refused because no destination was available */
  noDestCount = 0;
  /**
   * The sync daemon's (src/sync) view of new connections, state changes and re-armed timers;
   * null when no master sync daemon runs.
   */
  syncObserver: ((conn: Conn, nowMs: number) => void) | null = null;

  constructor(private readonly registry: SchedulerRegistry) {}

  // ---- reading -------------------------------------------------------------------------------

  get services(): readonly Service[] {
    return [...this.servicesByKey.values()];
  }
  get timeoutSpec(): TimeoutSpec {
    return { ...this.timeouts };
  }
  get options(): TableOptions {
    return { ...this.opts };
  }
  findService(key: ServiceKey): Service | undefined {
    return this.servicesByKey.get(serviceKeyText(key));
  }
  /** Address-keyed lookup as a packet would do: exact port first, then the port-0 service. */
  lookupService(protocol: Protocol, vaddr: string, vport: number): Service | undefined {
    return (
      this.findService({ kind: 'addr', protocol, addr: vaddr, port: vport }) ??
      this.findService({ kind: 'addr', protocol, addr: vaddr, port: 0 })
    );
  }
  connection(id: number): Conn | undefined {
    return this.conns.get(id);
  }
  /** Live connections and templates, in creation order. */
  connections(): IterableIterator<Conn> {
    return this.conns.values();
  }
  get connectionCount(): number {
    return this.conns.size;
  }
  rates(target: Service | Dest | null): ReturnType<RateEstimator['read']> {
    return (target ? target.est : this.totalsEst).read();
  }

  // ---- scheduling ----------------------------------------------------------------------------

  /**
   * A new connection (or, for ops, one datagram) for `svc`: persistence template first, then the
   * scheduler, then the sorry server. Never throws; "no destination" is a typed result.
   */
  schedule(svc: Service, req: ScheduleRequest, nowMs: number): ScheduleResult {
    let dest: Dest | null = null;
    let template: Conn | null = null;
    let viaTemplate = false;
    let sorry = false;
    const protocol: Protocol = svc.key.kind === 'addr' ? svc.key.protocol : 'tcp';
    const tplKey = svc.persistence ? `${svc.id}|${maskAddress(req.clientAddr, svc.persistence.prefixLen)}` : '';
    if (svc.persistence) {
      const t = this.templates.get(tplKey);
      if (t) {
        const d = t.dest;
        const usable = available(d) && !(this.opts.expireQuiescentTemplate && d.weight === 0) && d !== req.exclude;
        if (usable) {
          dest = d;
          template = t;
          viaTemplate = true;
          this.arm(t, nowMs + svc.persistence.timeoutS * 1000); // re-armed on every use
        } else {
          this.templates.delete(tplKey); // invalid: reschedule; it dies once its conns finish
          this.arm(t, nowMs);
        }
      }
    }
    if (!dest) {
      dest = this.pick(svc, req, nowMs);
      if (!dest && svc.sorry && available(svc.sorry) && svc.sorry.weight > 0) {
        dest = svc.sorry;
        sorry = true;
      }
      if (!dest) {
        this.noDestCount++;
        return {
          ok: false,
          code: 'ENODEST',
          message: `${svc.scheduler}: ${serviceKeyText(svc.key)} - no destination available`,
        };
      }
      if (svc.persistence && !sorry) {
        template = this.newConn(svc, dest, protocol, maskAddress(req.clientAddr, svc.persistence.prefixLen), 0,
          req.vaddr, svc.key.kind === 'addr' ? svc.key.port : 0, 'NONE', true, null,
          nowMs + svc.persistence.timeoutS * 1000);
        this.templates.set(tplKey, template);
      }
    }
    const state: ConnState = req.state ?? (protocol === 'tcp' ? 'SYN_RECV' : 'UDP');
    const conn = this.newConn(svc, dest, protocol, req.clientAddr, req.clientPort, req.vaddr, req.vport, state,
      false, template, nowMs + stateTimeoutMs(protocol, state, this.timeouts));
    if (template) template.controlled++;
    svc.stats.conns++;
    dest.stats.conns++;
    this.totals.conns++;
    if (svc.ops && protocol === 'udp') this.arm(conn, nowMs); // one-packet: gone at the next sweep
    this.syncObserver?.(conn, nowMs);
    return { ok: true, conn, dest, viaTemplate, sorry };
  }

  private pick(svc: Service, req: ScheduleRequest, nowMs: number): Dest | null {
    const k = this.key;
    k.family = svc.family;
    k.saddr = req.clientAddr;
    k.daddr = req.vaddr;
    // parsing two address strings per pick is wasted on schedulers that hash neither
    const hashes = !NO_ADDRESS_HASH.has(svc.scheduler);
    k.saddrFold = hashes ? this.registry.foldAddress(req.clientAddr) : 0;
    k.daddrFold = hashes ? this.registry.foldAddress(req.vaddr) : 0;
    k.sport = req.clientPort;
    k.dport = req.vport;
    const ex = req.exclude;
    // An excluded dest is hidden by marking it overloaded for this one pick (every scheduler
    // skips overloaded dests), then restored.
    const exOverloaded = ex ? ex.overloaded : false;
    if (ex) {
      ex.overloaded = true;
      svc.sched.changed?.(ex);
    }
    const d = svc.sched.pick(k, nowMs) as Dest | null;
    if (ex) {
      ex.overloaded = exOverloaded;
      svc.sched.changed?.(ex);
    }
    return d;
  }

  private newConn(
    svc: Service, dest: Dest, protocol: Protocol, clientAddr: string, clientPort: number, vaddr: string,
    vport: number, state: ConnState, template: boolean, controller: Conn | null, expiresAt: number,
  ): Conn {
    const conn: FiledConn = {
      id: this.nextConnId++, protocol, service: svc, dest, clientAddr, clientPort, vaddr, vport, state,
      inactive: !template, expiresAt, template, controlled: 0, controller, bucket: null, slot: 0, listed: true,
    };
    this.conns.set(conn.id, conn);
    this.file(conn);
    dest.refs++;
    // ip_vs_bind_dest: templates count as persistent, connections start inactive.
    if (template) dest.persistConns++;
    else dest.inactiveConns++;
    if (dest.uThreshold !== 0 && dest.activeConns + dest.inactiveConns >= dest.uThreshold) dest.overloaded = true;
    if (!template && conn.state === 'ESTABLISHED') this.applyActivity(conn);
    dest.service.sched.changed?.(dest);
    return conn;
  }

  // ---- connection life -----------------------------------------------------------------------

  /** A state change seen by the engine; re-arms the timer with the new state's timeout. */
  setState(conn: Conn, state: ConnState, nowMs: number): void {
    if (!(conn as FiledConn).listed) return;
    conn.state = state;
    if (conn.protocol === 'tcp' || conn.protocol === 'sctp') {
      this.applyActivity(conn);
      conn.dest.service.sched.changed?.(conn.dest);
    }
    if (conn.service.ops && conn.protocol === 'udp') return; // one-packet: already expiring
    this.arm(conn, nowMs + stateTimeoutMs(conn.protocol, state, this.timeouts));
    this.syncObserver?.(conn, nowMs);
  }

  /** Kernel rule (schedulers.md §1): only ESTABLISHED counts as active. */
  private applyActivity(conn: Conn): void {
    const d = conn.dest;
    if (conn.state === 'ESTABLISHED') {
      if (conn.inactive) {
        d.inactiveConns--;
        d.activeConns++;
        conn.inactive = false;
      }
    } else if (!conn.inactive) {
      d.activeConns--;
      d.inactiveConns++;
      conn.inactive = true;
    }
  }

  /** Traffic on a connection re-arms its timer (the kernel does so per packet). */
  touch(conn: Conn, nowMs: number): void {
    if (conn.service.ops && conn.protocol === 'udp') return;
    this.arm(conn, nowMs + stateTimeoutMs(conn.protocol, conn.state, this.timeouts));
    this.syncObserver?.(conn, nowMs);
  }

  /** Current timeout (ms) of a connection in `state` (what a sync master announces). */
  timeoutFor(conn: Conn): number {
    return stateTimeoutMs(conn.protocol, conn.state, this.timeouts);
  }

  /**
   * Sync backup (ip_vs_proc_conn): installs a connection or persistence template the master
   * announced, bound to `dest` of `svc`, expiring at `expiresAt`. A template is found again by
   * schedule() for its (already masked) client address; connections are not linked to it.
   */
  adoptSynced(
    svc: Service, dest: Dest,
    e: { protocol: Protocol; clientAddr: string; clientPort: number; vaddr: string; vport: number; state: ConnState; template: boolean },
    expiresAt: number,
  ): Conn {
    const conn = this.newConn(svc, dest, e.protocol, e.clientAddr, e.clientPort, e.vaddr, e.vport, e.state, e.template, null, expiresAt);
    if (e.template) {
      const key = this.templateKeyOf(conn);
      const old = this.templates.get(key);
      if (old && old !== conn) this.arm(old, 0); // replaced: it ends once its connections do
      this.templates.set(key, conn);
    }
    return conn;
  }

  /** Sync backup: a known entry's state and timer as the master announced them. */
  resynced(conn: Conn, state: ConnState, expiresAt: number): void {
    if (!(conn as FiledConn).listed) return;
    conn.state = state;
    if (!conn.template && (conn.protocol === 'tcp' || conn.protocol === 'sctp')) {
      this.applyActivity(conn);
      conn.dest.service.sched.changed?.(conn.dest);
    }
    this.arm(conn, expiresAt);
  }

  /** Count traffic: in = client to real server, out = real server to client. */
  traffic(conn: Conn, inPkts: number, inBytes: number, outPkts: number, outBytes: number): void {
    addTraffic(conn.service.stats, inPkts, inBytes, outPkts, outBytes);
    addTraffic(conn.dest.stats, inPkts, inBytes, outPkts, outBytes);
    addTraffic(this.totals, inPkts, inBytes, outPkts, outBytes);
  }

  /** Ends a connection now (the engine saw it closed and wants no lingering entry). */
  drop(conn: Conn): void {
    if ((conn as FiledConn).listed) this.unbind(conn);
  }

  /**
   * Removes every connection whose timer ran out and returns them, so the engine can close the
   * ones still open. Templates that still control connections are re-armed instead (kernel).
   */
  expire(nowMs: number): Conn[] {
    if (this.filings > 2 * this.conns.size + 4096) this.refileAll(); // mostly stale filings: start afresh
    const nowSlot = Math.floor(nowMs / 1000);
    const due: number[] = [];
    if (this.wheel.size < nowSlot - this.sweptSlot) {
      for (const slot of this.wheel.keys()) if (slot <= nowSlot) due.push(slot);
      due.sort((x, y) => x - y);
    } else {
      for (let slot = this.sweptSlot; slot <= nowSlot; slot++) if (this.wheel.has(slot)) due.push(slot);
    }
    const out: Conn[] = [];
    for (const slot of due) {
      const bucket = this.wheel.get(slot)!;
      this.wheel.delete(slot);
      this.filings -= bucket.length;
      for (const c of bucket) {
        if (c.bucket !== bucket || !c.listed) continue; // filed again, or gone
        c.bucket = null;
        if (c.expiresAt > nowMs) {
          this.file(c);
          continue;
        }
        if (c.template) {
          if (c.controlled > 0) {
            this.arm(c, nowMs + (c.service.persistence?.timeoutS ?? 0) * 1000);
            continue;
          }
          const k = this.templateKeyOf(c);
          if (this.templates.get(k) === c) this.templates.delete(k);
        }
        out.push(c);
      }
    }
    this.sweptSlot = Math.max(this.sweptSlot, nowSlot);
    for (const c of out) this.unbind(c);
    return out;
  }

  /** Sets an entry's expiry; files it in the wheel when that is earlier than where it sits. */
  private arm(c: Conn, atMs: number): void {
    c.expiresAt = atMs;
    this.file(c as FiledConn);
  }

  private file(c: FiledConn): void {
    // never behind the last sweep: an entry due "in the past" waits in the bucket swept next
    const slot = Math.max(Math.floor(c.expiresAt / 1000), this.sweptSlot);
    if (c.bucket && slot >= c.slot) return;
    let bucket = this.wheel.get(slot);
    if (!bucket) this.wheel.set(slot, (bucket = []));
    bucket.push(c);
    this.filings++;
    c.bucket = bucket;
    c.slot = slot;
  }

  private refileAll(): void {
    this.wheel.clear();
    this.filings = 0;
    for (const c of this.conns.values()) (c as FiledConn).bucket = null;
    for (const c of this.conns.values()) this.file(c as FiledConn);
  }

  /** The nearest expiry among live entries, for engines that want to sleep precisely. */
  nextExpiry(): number | null {
    let min: number | null = null;
    for (const c of this.conns.values()) if (min === null || c.expiresAt < min) min = c.expiresAt;
    return min;
  }

  private templateKeyOf(t: Conn): string {
    return `${t.service.id}|${t.clientAddr}`;
  }

  /** ip_vs_unbind_dest: counters down, overload cleared by the threshold rule, trash released. */
  private unbind(c: Conn): void {
    this.conns.delete(c.id);
    (c as FiledConn).listed = false;
    const d = c.dest;
    if (c.template) d.persistConns--;
    else if (c.inactive) d.inactiveConns--;
    else d.activeConns--;
    if (!c.template) {
      const total = d.activeConns + d.inactiveConns;
      if (d.lThreshold !== 0) {
        if (total < d.lThreshold) d.overloaded = false;
      } else if (d.uThreshold !== 0) {
        if (total * 4 < d.uThreshold * 3) d.overloaded = false;
      } else {
        d.overloaded = false;
      }
    }
    d.service.sched.changed?.(d);
    d.refs--;
    if (d.removed && d.refs === 0) d.service.trash.delete(endpointText(d.addr, d.port));
    if (c.controller) c.controller.controlled--;
  }

  // ---- timers --------------------------------------------------------------------------------

  /** Runs the 2-second estimator steps due by `nowMs` (call at least every 2 s). */
  estimate(nowMs: number): void {
    if (this.lastEstimateAt === null) {
      this.lastEstimateAt = nowMs;
      return;
    }
    while (nowMs - this.lastEstimateAt >= ESTIMATOR_PERIOD_MS) {
      this.lastEstimateAt += ESTIMATOR_PERIOD_MS;
      this.totalsEst.tick(this.totals);
      for (const s of this.servicesByKey.values()) {
        s.est.tick(s.stats);
        for (const d of s.dests) d.est.tick(d.stats);
        if (s.sorry) s.sorry.est.tick(s.sorry.stats);
      }
    }
  }

  /** Scheduler housekeeping (lblc/lblcr tables); the shell calls it every 60 s. */
  collectGarbage(nowMs: number): void {
    for (const s of this.servicesByKey.values()) {
      const g = s.sched as Partial<{ collectGarbage(n: number): void }>;
      if (typeof g.collectGarbage === 'function') g.collectGarbage(nowMs);
    }
  }

  // ---- imperative edits (lvsadm) -------------------------------------------------------------

  setTimeouts(t: Partial<TimeoutSpec>): TimeoutSpec {
    // ipvsadm --set: 0 leaves a value unchanged.
    if (t.tcp) this.timeouts.tcp = t.tcp;
    if (t.tcpFin) this.timeouts.tcpFin = t.tcpFin;
    if (t.udp) this.timeouts.udp = t.udp;
    return this.timeoutSpec;
  }

  setOptions(o: Partial<TableOptions>, nowMs: number): void {
    this.opts = { ...this.opts, ...o };
    if (this.opts.expireNodestConn) {
      for (const c of this.conns.values()) if (!available(c.dest)) this.arm(c, nowMs);
    }
  }

  addService(spec: ServiceSpec): Service {
    const keyText = serviceKeyText(spec.key);
    if (this.servicesByKey.has(keyText)) throw new IpvsError('EEXIST_SERVICE', keyText);
    validateServiceKey(spec.key);
    const sched = this.makeScheduler(spec);
    const family = spec.key.kind === 'addr' ? familyOf(spec.key.addr) : spec.key.family;
    const svc: Service = {
      id: this.nextServiceId++, key: spec.key, keyText, family, scheduler: spec.scheduler,
      schedFlags: { ...(spec.schedFlags ?? {}) }, sched, persistence: normPersistence(spec, family),
      ops: Boolean(spec.ops), proxyProtocol: spec.proxyProtocol ?? null, retryOnRefuse: Boolean(spec.retryOnRefuse),
      dests: [], sorry: null, trash: new Map(), removed: false, nextDestId: 1, stats: zeroCounters(),
      est: new RateEstimator(),
    };
    sched.update(svc.dests);
    this.servicesByKey.set(keyText, svc);
    if (spec.sorryServer) svc.sorry = this.makeDest(svc, spec.sorryServer, true);
    return svc;
  }

  /** Edits service-level fields; returns the names of the fields that changed. */
  editService(spec: ServiceSpec): string[] {
    return this.editServiceOf(this.requireService(spec.key, 'ENOENT_SERVICE'), spec);
  }

  private editServiceOf(svc: Service, spec: ServiceSpec): string[] {
    const fields: string[] = [];
    if (svc.scheduler !== spec.scheduler || !sameFlags(svc.schedFlags, spec.schedFlags ?? {})) {
      // A new scheduler starts from its initial state; unchanged ones keep theirs.
      const sched = this.makeScheduler(spec);
      svc.scheduler = spec.scheduler;
      svc.schedFlags = { ...(spec.schedFlags ?? {}) };
      svc.sched = sched;
      sched.update(svc.dests);
      fields.push('scheduler');
    }
    const p = normPersistence(spec, svc.family);
    const q = svc.persistence;
    if (p === null ? q !== null : q === null || p.timeoutS !== q.timeoutS || p.prefixLen !== q.prefixLen) {
      svc.persistence = p;
      fields.push('persistence');
    }
    const ops = Boolean(spec.ops);
    if (svc.ops !== ops) (svc.ops = ops), fields.push('ops');
    const pp = spec.proxyProtocol ?? null;
    if (svc.proxyProtocol !== pp) (svc.proxyProtocol = pp), fields.push('proxyProtocol');
    const retry = Boolean(spec.retryOnRefuse);
    if (svc.retryOnRefuse !== retry) (svc.retryOnRefuse = retry), fields.push('retryOnRefuse');
    const sorrySpec = spec.sorryServer ?? null;
    const cur = svc.sorry;
    const sameSorry = cur === null || sorrySpec === null
      ? cur === sorrySpec
      : cur.addr === sorrySpec.addr && cur.port === sorrySpec.port && cur.weight === sorrySpec.weight && cur.method === sorrySpec.method;
    if (!sameSorry) {
      if (cur) cur.removed = true;
      svc.sorry = sorrySpec ? this.makeDest(svc, sorrySpec, true) : null;
      fields.push('sorryServer');
    }
    return fields;
  }

  /** Removes a service: it takes no new connections; its connections finish (dests in trash). */
  deleteService(key: ServiceKey, nowMs: number): void {
    const svc = this.requireService(key, 'ENOENT_SERVICE');
    this.servicesByKey.delete(svc.keyText);
    svc.removed = true;
    for (const d of [...svc.dests]) this.retireDest(svc, d, nowMs);
    svc.dests.length = 0;
    if (svc.sorry) this.retireDest(svc, svc.sorry, nowMs);
    for (const [k, t] of this.templates) if (t.service === svc) this.templates.delete(k);
    for (const c of this.conns.values()) if (c.template && c.service === svc) this.arm(c, nowMs);
  }

  addDest(key: ServiceKey, spec: DestSpec): Dest {
    const svc = this.requireService(key, 'ENOENT_SERVICE_FOR_DEST');
    const ep = endpointText(spec.addr, spec.port);
    if (svc.dests.some((d) => d.addr === spec.addr && d.port === spec.port)) throw new IpvsError('EEXIST_DEST', ep);
    validateDest(spec);
    // ip_vs_trash_get_dest: a removed dest still finishing its connections comes back as it was.
    let d = svc.trash.get(ep);
    if (d) {
      svc.trash.delete(ep);
      d.removed = false;
      setDestFields(d, spec);
    } else {
      d = this.makeDest(svc, spec, false);
    }
    svc.dests.unshift(d); // head insertion (kernel list order)
    svc.sched.update(svc.dests);
    return d;
  }

  /** Edits a destination in place; returns the names of the fields that changed. */
  editDest(key: ServiceKey, spec: DestSpec, nowMs: number): string[] {
    const svc = this.requireService(key, 'ENOENT_SERVICE_FOR_DEST');
    const d = svc.dests.find((x) => x.addr === spec.addr && x.port === spec.port);
    if (!d) throw new IpvsError('ENOENT_DEST', endpointText(spec.addr, spec.port));
    validateDest(spec);
    const fields = setDestFields(d, spec);
    if (fields.length) svc.sched.update(svc.dests);
    void nowMs;
    return fields;
  }

  deleteDest(key: ServiceKey, addr: string, port: number, nowMs: number): void {
    const svc = this.requireService(key, 'ENOENT_SERVICE_FOR_DEST');
    const d = svc.dests.find((x) => x.addr === addr && x.port === port);
    if (!d) throw new IpvsError('ENOENT_DEST', endpointText(addr, port));
    svc.dests.splice(svc.dests.indexOf(d), 1);
    this.retireDest(svc, d, nowMs);
    svc.sched.update(svc.dests);
  }

  /** Zero the counters and rates of one service and its dests, or of everything. */
  zero(key: ServiceKey | null): void {
    const svcs = key ? [this.requireService(key, 'ENOENT_SERVICE')] : [...this.servicesByKey.values()];
    const zeroOne = (c: Counters, e: RateEstimator): void => {
      clearCounters(c);
      e.reset(c);
    };
    for (const s of svcs) {
      zeroOne(s.stats, s.est);
      for (const d of s.dests) zeroOne(d.stats, d.est);
      if (s.sorry) zeroOne(s.sorry.stats, s.sorry.est);
    }
    if (!key) zeroOne(this.totals, this.totalsEst);
  }

  clear(nowMs: number): void {
    for (const s of [...this.servicesByKey.values()]) this.deleteService(s.key, nowMs);
  }

  // ---- declarative reload --------------------------------------------------------------------

  /**
   * Brings the table to `spec` with the fewest edits: services and dests absent from the spec
   * are removed (their connections finish), new ones added (dests in config order, each at the
   * list head), changed fields edited in place. Live connections are never touched; a scheduler
   * keeps its state unless its name or flags change. Throws IpvsError (and changes nothing) when
   * the spec is invalid.
   */
  applySpec(spec: TableSpec, nowMs: number): Change[] {
    const wanted = validateSpec(spec);
    // Unknown scheduler or flags: fail before any edit (one trial per distinct combination).
    const tried = new Set<string>();
    for (const s of spec.services) {
      const sig = `${s.scheduler}|${Boolean(s.schedFlags?.fallback)}|${Boolean(s.schedFlags?.port)}`;
      if (tried.has(sig)) continue;
      this.makeScheduler(s);
      tried.add(sig);
    }
    const changes: Change[] = [];
    for (const svc of [...this.servicesByKey.values()]) {
      if (!wanted.has(svc.keyText)) {
        this.deleteService(svc.key, nowMs);
        changes.push({ op: 'delete-service', service: svc.keyText });
      }
    }
    for (const [keyText, s] of wanted) {
      let svc = this.servicesByKey.get(keyText);
      if (!svc) {
        svc = this.addService(s);
        changes.push({ op: 'add-service', service: keyText });
      } else {
        const fields = this.editServiceOf(svc, s);
        if (fields.length) changes.push({ op: 'edit-service', service: keyText, fields });
      }
      this.applyDests(svc, s.dests, nowMs, changes);
    }
    if (spec.timeouts) {
      const t = spec.timeouts;
      if (t.tcp !== this.timeouts.tcp || t.tcpFin !== this.timeouts.tcpFin || t.udp !== this.timeouts.udp) {
        this.setTimeouts(t);
        changes.push({ op: 'set-timeouts', timeouts: this.timeoutSpec });
      }
    }
    if (spec.options) {
      const next = { ...this.opts, ...spec.options };
      if (JSON.stringify(next) !== JSON.stringify(this.opts)) {
        this.setOptions(next, nowMs);
        changes.push({ op: 'set-options', options: this.options });
      }
    }
    return changes;
  }

  // ---- internals -----------------------------------------------------------------------------

  /**
   * One service's dests to `want` (validated): removals first, then edits and additions in spec
   * order. Dests are found by address and port without building endpoint texts, which only the
   * change records need (most reloads change few dests of 10,000).
   */
  private applyDests(svc: Service, want: readonly DestSpec[], nowMs: number, changes: Change[]): void {
    const find = destFinder(want);
    for (const d of [...svc.dests]) {
      if (find(d.addr, d.port) !== undefined) continue;
      this.deleteDest(svc.key, d.addr, d.port, nowMs);
      changes.push({ op: 'delete-dest', service: svc.keyText, dest: endpointText(d.addr, d.port) });
    }
    const have = destFinder(svc.dests);
    for (const w of want) {
      const d = have(w.addr, w.port);
      if (d) {
        const fields = setDestFields(d, w);
        if (fields.length) {
          svc.sched.update(svc.dests);
          changes.push({ op: 'edit-dest', service: svc.keyText, dest: endpointText(w.addr, w.port), fields });
        }
      } else {
        this.addDest(svc.key, w);
        changes.push({ op: 'add-dest', service: svc.keyText, dest: endpointText(w.addr, w.port) });
      }
    }
  }

  private requireService(key: ServiceKey, code: 'ENOENT_SERVICE' | 'ENOENT_SERVICE_FOR_DEST'): Service {
    const svc = this.servicesByKey.get(serviceKeyText(key));
    if (!svc) throw new IpvsError(code, serviceKeyText(key));
    return svc;
  }

  private makeScheduler(spec: ServiceSpec): Scheduler {
    try {
      // Indexed: lc/wlc/sed/fo/ovf read an exact index kept up to date through sched.changed.
      return this.registry.createScheduler(spec.scheduler, spec.schedFlags, { indexed: true });
    } catch (e) {
      throw new IpvsError('ESCHED', `${spec.scheduler}: ${(e as Error).message}`);
    }
  }

  private makeDest(svc: Service, spec: DestSpec, isSorry: boolean): Dest {
    validateDest(spec);
    const d: Dest = {
      id: svc.nextDestId++, addr: spec.addr, port: spec.port, weight: spec.weight, activeConns: 0,
      inactiveConns: 0, overloaded: false, service: svc, method: spec.method, uThreshold: spec.uThreshold,
      lThreshold: spec.lThreshold, tunnel: spec.tunnel ?? null, persistConns: 0, refs: 0, removed: false,
      isSorry, stats: zeroCounters(), est: new RateEstimator(),
    };
    return d;
  }

  /** Takes a dest out of service; it stays (trash) while connections reference it. */
  private retireDest(svc: Service, d: Dest, nowMs: number): void {
    d.removed = true;
    if (d.refs > 0 && !d.isSorry) svc.trash.set(endpointText(d.addr, d.port), d);
    for (const [k, t] of this.templates) if (t.dest === d) {
      this.templates.delete(k);
      this.arm(t, nowMs);
    }
    if (this.opts.expireNodestConn) for (const c of this.conns.values()) if (c.dest === d) this.arm(c, nowMs);
  }
}

function normPersistence(spec: ServiceSpec, family: 4 | 6): Service['persistence'] {
  if (!spec.persistence) return null;
  return { timeoutS: spec.persistence.timeoutS, prefixLen: Math.min(spec.persistence.prefixLen, family === 4 ? 32 : 128) };
}

function setDestFields(d: Dest, spec: DestSpec): string[] {
  const fields: string[] = [];
  // __ip_vs_update_dest: raising or removing u_threshold clears OVERLOAD; an edit never sets it
  // (the next bind does).
  if (spec.uThreshold === 0 || spec.uThreshold > d.uThreshold) d.overloaded = false;
  if (d.weight !== spec.weight) (d.weight = spec.weight), fields.push('weight');
  if (d.method !== spec.method) (d.method = spec.method), fields.push('method');
  if (d.uThreshold !== spec.uThreshold) (d.uThreshold = spec.uThreshold), fields.push('uThreshold');
  if (d.lThreshold !== spec.lThreshold) (d.lThreshold = spec.lThreshold), fields.push('lThreshold');
  const tun = spec.tunnel ?? null;
  const cur = d.tunnel;
  const sameTunnel = tun === null || cur === null ? tun === cur : tun.type === cur.type && tun.port === cur.port && tun.csum === cur.csum;
  if (!sameTunnel) (d.tunnel = tun), fields.push('tunnel');
  return fields;
}

/** Lookup by address and port: a scan for short lists, a map for long ones. */
function destFinder<T extends { readonly addr: string; readonly port: number }>(list: readonly T[]): (addr: string, port: number) => T | undefined {
  if (list.length <= 16) {
    return (addr, port) => {
      for (const x of list) if (x.port === port && x.addr === addr) return x;
      return undefined;
    };
  }
  const byEndpoint = new Map<string, T>();
  for (const x of list) byEndpoint.set(`${x.addr}|${x.port}`, x);
  return (addr, port) => byEndpoint.get(`${addr}|${port}`);
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

function validateServiceKey(k: ServiceKey): void {
  if (k.kind === 'addr') {
    if (!isPort(k.port)) throw new IpvsError('EINVAL', `bad port ${k.port}`);
  } else if (!Number.isInteger(k.fwmark) || k.fwmark < 1 || k.fwmark > 0xffffffff) {
    throw new IpvsError('EINVAL', `bad fwmark ${k.fwmark}`);
  }
}

function validateDest(d: DestSpec): void {
  if (!isPort(d.port)) throw new IpvsError('EINVAL', `bad port ${d.port}`);
  if (!Number.isInteger(d.weight) || d.weight < 0 || d.weight > 65535) throw new IpvsError('EINVAL', `bad weight ${d.weight}`);
  for (const t of [d.uThreshold, d.lThreshold]) {
    if (!Number.isInteger(t) || t < 0 || t > 2147483647) throw new IpvsError('EINVAL', `bad threshold ${t}`);
  }
}

/** Throws on an invalid spec; returns its services by key text (spec order). */
function validateSpec(spec: TableSpec): Map<string, ServiceSpec> {
  const seen = new Map<string, ServiceSpec>();
  for (const s of spec.services) {
    const k = serviceKeyText(s.key);
    if (seen.has(k)) throw new IpvsError('EEXIST_SERVICE', k);
    seen.set(k, s);
    validateServiceKey(s.key);
    checkDests(k, s.dests);
    if (s.persistence && (s.persistence.timeoutS < 1 || s.persistence.timeoutS > 2678400)) {
      throw new IpvsError('EINVAL', `bad persistence timeout ${s.persistence.timeoutS}`);
    }
  }
  if (spec.timeouts) {
    for (const v of [spec.timeouts.tcp, spec.timeouts.tcpFin, spec.timeouts.udp]) {
      if (!Number.isInteger(v) || v < 0 || v > 2678400) throw new IpvsError('EINVAL', `bad timeout ${v}`);
    }
  }
  return seen;
}

/** Each dest valid and not repeating an earlier one's address and port (checked in order). */
function checkDests(service: string, dests: readonly DestSpec[]): void {
  const eps = dests.length > 16 ? new Set<string>() : null;
  for (let i = 0; i < dests.length; i++) {
    const d = dests[i];
    validateDest(d);
    let dup = false;
    if (eps) {
      const ep = `${d.addr}|${d.port}`;
      dup = eps.has(ep);
      eps.add(ep);
    } else {
      for (let j = 0; j < i && !dup; j++) dup = dests[j].port === d.port && dests[j].addr === d.addr;
    }
    if (dup) throw new IpvsError('EEXIST_DEST', `${service} ${endpointText(d.addr, d.port)}`);
  }
}
