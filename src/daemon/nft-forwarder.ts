// The daemon's nft forwarding (shell): owns one NftEngine for the table's services whose engine is
// nft, reprograms it after every table change, folds conntrack's view of the flows into the table
// on a timer (so lvsadm and the metrics show the kernel's figures), and never throws: errors are
// logged and the previous kernel state stays in place.

import type { Logger } from 'pino';
import type { ConfigModel } from '../config/index.js';
import { formatLoc } from '../config/diagnostics.js';
import { keyLoc } from '../config/schema.js';
import { NftEngine, servicesFromTable, TableDirector, validateService } from '../forward/nft/index.js';
import type { KernelCounters, NftCounters, NftService } from '../forward/nft/index.js';
import { serviceKeyText } from '../ipvs/index.js';
import type { Conn, IpvsTable, Service, ServiceKey } from '../ipvs/index.js';
import { serviceKeysOf } from './specs.js';

export interface NftForwarderOptions {
  /** NFQUEUE number (default 4242). */
  queueNum?: number;
  /** What happens to new flows while lvsd cannot pick (default fail-open). */
  failMode?: 'fail-open' | 'fail-closed';
  /** FULLNAT source address per service; undefined = masquerade (the outgoing interface's). */
  snatAddr?: (svc: Service) => string | undefined;
  /** FULLNAT source from the configuration (`fullnat_snat`); wins over snatAddr. */
  snat?: SnatResolver;
  /** Conntrack dump period: counters, states and lost DESTROY events (default 2000 ms). */
  statsIntervalMs?: number;
  /** Run the nft/ip/conntrack commands in this network namespace (tests, bench). */
  netns?: string;
}

/** lvsd-side and kernel-side drop/outcome counters, flat for the metrics' drops family. */
export type NftDropCounters = Record<`nft_${string}`, number>;

/**
 * Chooses the engine per service: the virtual_server's `engine`, else lvsd_defs' (default proxy).
 * Keys not in the file (added with lvsadm) get lvsd_defs' engine.
 */
export function nftSelector(config: ConfigModel): (key: ServiceKey) => boolean {
  const fallback = (config.lvsd_defs?.engine ?? 'proxy') === 'nft';
  const chosen = new Map<string, boolean>();
  for (const vs of config.virtual_server) {
    const nft = (vs.engine ?? config.lvsd_defs?.engine ?? 'proxy') === 'nft';
    try {
      for (const key of serviceKeysOf(vs, config)) chosen.set(serviceKeyText(key), nft);
    } catch {
      // An over-large group is reported by the table spec mapping; nothing to choose here.
    }
  }
  return (key) => chosen.get(serviceKeyText(key)) ?? fallback;
}

/** A FULLNAT service's source address, or why the configured one cannot serve it. */
export type SnatResolver = (svc: Service) => { addr?: string; error?: string };

/**
 * FULLNAT source per service from `fullnat_snat`: the virtual_server's, else lvsd_defs' (the
 * address of the service's family; none = masquerade). A virtual_server's own fullnat_snat without
 * an address of its family is an error for that service (with the keyword's location).
 */
export function nftSnat(config: ConfigModel): SnatResolver {
  const defs = config.lvsd_defs?.fullnat_snat ?? null;
  const byKey = new Map<string, { addr?: string; error?: string }>();
  for (const vs of config.virtual_server) {
    const own = vs.fullnat_snat;
    if (!own) continue;
    let keys: ServiceKey[] = [];
    try {
      keys = serviceKeysOf(vs, config);
    } catch {
      continue; // an over-large group is reported by the table spec mapping
    }
    for (const key of keys) {
      const fam = key.kind === 'addr' ? (key.addr.includes(':') ? 6 : 4) : key.family;
      const addr = fam === 6 ? own.v6 : own.v4;
      const at = formatLoc(keyLoc(vs, 'fullnat_snat'));
      byKey.set(serviceKeyText(key), addr ? { addr } : { error: `fullnat_snat${at ? ` (${at})` : ''} has no IPv${fam} address for this IPv${fam} service` });
    }
  }
  return (svc) => {
    const own = byKey.get(serviceKeyText(svc.key));
    if (own) return own;
    const addr = svc.family === 6 ? defs?.v6 : defs?.v4;
    return addr ? { addr } : {};
  };
}

export class NftForwarder {
  private table: IpvsTable | null = null;
  private isNft: (key: ServiceKey) => boolean = () => false;
  private opts: NftForwarderOptions = {};
  private director: TableDirector | null = null;
  private engine: NftEngine | null = null;
  private timer: NodeJS.Timeout | null = null;
  private refreshing = false;
  /** No refresh before this (clock ms): a dump that took d ms waits 10*d (huge conntrack tables). */
  private nextRefreshAt = 0;
  private stopped = false;
  /** Serialises start/apply/stop: reconciles may be asked for while one runs. */
  private chain: Promise<void> = Promise.resolve();
  private pending = false;
  private kernel: KernelCounters | null = null;
  private readonly refused = new Map<string, string>();
  private readonly vipHeld = new Map<string, boolean>();
  private errors = 0;
  /** The service list last programmed (health events often change nothing the kernel sees). */
  private applied = '';

  constructor(private readonly log: Logger, private readonly clock: () => number = () => performance.now()) {}

  /**
   * Takes over the table's nft services. The kernel side (table inet lvsd, the NFQUEUE helper,
   * conntrack events) starts only once there is at least one nft service.
   */
  async start(table: IpvsTable, isNft: (key: ServiceKey) => boolean, opts: NftForwarderOptions = {}): Promise<void> {
    this.table = table;
    this.isNft = isNft;
    this.opts = opts;
    this.stopped = false;
    await this.reconcile();
  }

  /** Replaces the FULLNAT source choice (after a reload); call reconcile() next. */
  setSnat(snat: SnatResolver): void {
    this.opts = { ...this.opts, snat };
  }

  /** Replaces the engine choice (after a reload); call reconcile() next. */
  setSelector(isNft: (key: ServiceKey) => boolean): void {
    this.isNft = isNft;
  }

  /**
   * VRRP: a VIP this director does not hold is not programmed (its packets are neither queued
   * nor forwarded here); the proxy engine follows the same states with its listeners.
   */
  setVipHeld(addr: string, held: boolean): void {
    if (this.vipHeld.get(addr) === held) return;
    this.vipHeld.set(addr, held);
    if (this.table && !this.stopped) void this.reconcile();
  }

  /**
   * Sync (src/sync): connections a sync master announced; once their dests are programmed here
   * (after queued reconciles) DR flows go into their dests' flow sets and NAT/FULLNAT flows
   * become conntrack entries with their NAT binding, so a flow open at failover keeps its real
   * server. Never rejects.
   */
  adoptSynced(conns: readonly Conn[]): Promise<void> {
    this.chain = this.chain.then(async () => {
      const engine = this.engine;
      if (!engine || this.stopped) return;
      const now = this.clock();
      const mine = conns.filter((c) => !c.template && c.protocol !== 'sctp' && this.isNft(c.service.key));
      const base = (c: Conn) => ({
        serviceId: c.service.keyText, destId: c.dest.id, caddr: c.clientAddr, cport: c.clientPort, vaddr: c.vaddr, vport: c.vport,
        timeoutS: Math.max(1, Math.round((c.expiresAt - now) / 1000)),
      });
      const dr = mine.filter((c) => c.dest.method === 'DR').map((c) => ({ ...base(c), established: c.state === 'ESTABLISHED' }));
      const nat = mine.filter((c) => c.dest.method === 'NAT' || c.dest.method === 'FULLNAT')
        .map((c) => ({ ...base(c), proto: c.protocol as 'tcp' | 'udp', daddr: c.dest.addr, dport: c.dest.port || c.vport, state: c.state }));
      try {
        const n = dr.length ? await engine.adoptDrFlows(dr) : 0;
        if (n > 0) this.log.info({ engine: 'nft', flows: n }, 'sync: DR flows adopted');
        const m = nat.length ? await engine.adoptNatFlows(nat) : { made: 0, error: null };
        if (m.made > 0) this.log.info({ engine: 'nft', flows: m.made }, 'sync: NAT flows adopted');
        if (m.error) this.log.warn({ engine: 'nft', err: m.error }, 'sync: a NAT flow could not be adopted');
      } catch (err) {
        this.errors++;
        this.log.warn({ engine: 'nft', err: String(err) }, 'sync: flows could not be adopted');
      }
    });
    return this.chain;
  }

  /** Does the nft engine serve this service? (The proxy engine serves the rest.) */
  serves(svc: Service): boolean {
    return this.isNft(svc.key);
  }

  /** After any table change: reprograms the kernel with the nft services as they are now. */
  reconcile(): Promise<void> {
    if (this.pending) return this.chain; // one queued reconcile sees every change before it
    this.pending = true;
    this.chain = this.chain.then(async () => {
      this.pending = false;
      await this.applyNow();
    });
    return this.chain;
  }

  /** Stops the timer and the engine; removes table inet lvsd and lvsd's DR routes. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.chain = this.chain.then(async () => {
      const engine = this.engine;
      this.engine = null;
      if (!engine) return;
      try {
        await engine.stop();
        this.log.info({ engine: 'nft' }, 'nft forwarding stopped');
      } catch (err) {
        this.log.error({ engine: 'nft', err: String(err) }, 'could not remove the nft forwarding state');
      }
    });
    return this.chain;
  }

  /** Whether the kernel side is running. */
  get running(): boolean {
    return this.engine !== null;
  }

  /** Service ids (keyText) programmed into the kernel at the last successful apply. */
  serviceIds(): string[] {
    return (this.engine?.current() ?? []).map((s) => s.id);
  }

  /** Picks and refusals (lvsd side) and the kernel's counters from the last refresh. */
  counters(): NftDropCounters {
    const c: NftCounters = this.engine?.counters() ?? { queued: 0, picked: 0, noDest: 0, malformed: 0, unknownService: 0, verdictErrors: 0 };
    const k = this.kernel;
    return {
      nft_no_dest: c.noDest,
      nft_malformed: c.malformed,
      nft_unknown_mark: c.unknownService,
      nft_verdict_errors: c.verdictErrors,
      nft_unscheduled: k?.unscheduled ?? 0,
      nft_nosyn: k?.nosyn ?? 0,
      nft_unknown_service: k?.unknown ?? 0,
      nft_fragments: k?.fragments ?? 0,
      // ICMP errors to a VIP about no DR flow and not related to a NAT/FULLNAT flow.
      nft_icmp_unknown: k?.icmpunknown ?? 0,
      nft_queue_dropped: k?.queueDropped ?? 0,
      nft_user_dropped: k?.userDropped ?? 0,
      // DR to a VIP this director holds whose real server has no route (dropped, never delivered locally).
      nft_dr_local_noroute: k?.drLocalNoRoute ?? 0,
      // conntrack events the kernel could not deliver (ENOBUFS); the 2 s dump repairs the states
      nft_events_lost: this.engine?.eventsLost ?? 0,
      nft_errors: this.errors,
    };
  }

  /** One conntrack dump now: table counters/states and kernel counters (the timer's work). */
  async refresh(): Promise<void> {
    const engine = this.engine;
    const director = this.director;
    if (!engine || !director || this.refreshing) return;
    this.refreshing = true;
    const started = this.clock();
    try {
      const flows = await engine.connections();
      director.syncFlows(
        flows.map((e) => ({
          proto: e.proto as 'tcp' | 'udp',
          client: { addr: e.orig.src, port: e.orig.sport },
          vip: { addr: e.orig.dst, port: e.orig.dport },
          state: e.state,
          counters: { inPkts: e.orig.packets, inBytes: e.orig.bytes, outPkts: e.reply.packets, outBytes: e.reply.bytes },
        })),
        this.clock(),
      );
      this.kernel = await engine.kernelCounters();
      this.table?.estimate(this.clock());
    } catch (err) {
      this.errors++;
      this.log.warn({ engine: 'nft', err: String(err) }, 'nft stats refresh failed');
    } finally {
      this.refreshing = false;
      this.nextRefreshAt = this.clock() + 10 * (this.clock() - started);
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  private async applyNow(): Promise<void> {
    const table = this.table;
    if (!table || this.stopped) return;
    const services = this.wanted(table);
    if (!this.engine && services.length === 0) return;
    try {
      if (!this.engine) {
        const director = new TableDirector(table, this.clock);
        const engine = new NftEngine(director, { queueNum: this.opts.queueNum, failMode: this.opts.failMode, netns: this.opts.netns, nowMs: this.clock });
        await engine.start(services);
        this.applied = JSON.stringify(services);
        this.director = director;
        this.engine = engine;
        const period = this.opts.statsIntervalMs ?? 2000;
        this.timer = setInterval(() => {
          if (this.clock() >= this.nextRefreshAt) void this.refresh();
        }, period);
        this.timer.unref();
        this.log.info({ engine: 'nft', services: services.map((s) => s.id) }, 'nft forwarding started');
      } else {
        const text = JSON.stringify(services);
        if (text === this.applied) return;
        await this.engine.apply(services);
        this.applied = text;
        this.log.info({ engine: 'nft', services: services.map((s) => s.id) }, 'nft forwarding reprogrammed');
      }
    } catch (err) {
      this.errors++;
      const e = err as { code?: string };
      this.log.error({ engine: 'nft', code: e.code, err: String(err) }, this.engine ? 'nft reprogramming failed; the previous rules stay' : 'nft forwarding could not start');
    }
  }

  /** The nft services the engine can program; the others are refused once each, with the reason. */
  private wanted(table: IpvsTable): NftService[] {
    const out: NftService[] = [];
    const refusedNow = new Map<string, string>();
    const snatAddr = (svc: Service): string | undefined => this.opts.snat?.(svc).addr ?? this.opts.snatAddr?.(svc);
    for (const s of servicesFromTable(table, { include: nftInclude(this.isNft, this.vipHeld), snatAddr })) {
      const reason = this.refusal(table, s);
      if (reason) refusedNow.set(s.id, reason);
      else out.push(s);
    }
    for (const [id, reason] of refusedNow) {
      if (this.refused.get(id) !== reason) this.log.error({ engine: 'nft', vs: id, reason }, `engine nft cannot serve ${id}: ${reason}`);
    }
    this.refused.clear();
    for (const [k, v] of refusedNow) this.refused.set(k, v);
    return out;
  }

  private refusal(table: IpvsTable, s: NftService): string | null {
    if (s.method === 'tun') {
      return 'lvs_method TUN is not available with engine nft (its data path has no IP-in-IP encapsulation, and this kernel has no ipip module); use NAT, DR or FULLNAT, or engine proxy';
    }
    const svc = table.services.find((x) => x.keyText === s.id);
    const methods = new Set([...(svc?.dests ?? [])].map((d) => d.method));
    if (methods.size > 1) return `real servers mix forwarding methods (${[...methods].join(', ')}); engine nft needs one method per virtual server`;
    if (svc?.key.kind === 'addr' && svc.key.protocol === 'sctp') return 'engine nft forwards TCP and UDP only (no SCTP)';
    const snatError = s.method === 'fullnat' && svc ? this.opts.snat?.(svc).error : undefined;
    if (snatError) return snatError;
    try {
      validateService(s);
    } catch (err) {
      return (err as Error).message;
    }
    return null;
  }
}

/**
 * Which table services the kernel gets: the nft ones whose VIP this director holds (a VIP VRRP
 * does not manage is always held; fwmark services have no VIP of their own).
 */
export function nftInclude(isNft: (key: ServiceKey) => boolean, vipHeld: ReadonlyMap<string, boolean>): (svc: Service) => boolean {
  return (svc) => isNft(svc.key) && (svc.key.kind !== 'addr' || vipHeld.get(svc.key.addr) !== false);
}
