// One VRRP instance's shell: owns its timer, turns received packets into machine events, and
// performs the machine's actions (adverts, VIPs and routes via src/net, GARP/NA, notify).
import type { Logger } from 'pino';
import * as net from '../net/index.js';
import { canonicalAddr, familyOf } from './addr.js';
import type { Clock } from './clock.js';
import { decodeAdvert, encodeAdvert, encodeIpv4Header, passwordBytes, VRRP_MCAST4, VRRP_MCAST6, type DropReason } from './codec.js';
import { VrrpMachine, type MachineAction } from './machine.js';
import type { Notifier } from './notify.js';
import { effectivePriority, type TrackedObject } from './priority.js';
import { advertIntervalCs } from './timers.js';
import type { IpFamily, VipSpec, VrrpCounters, VrrpInstanceSpec, VrrpState, VrrpVersion } from './types.js';
import { checkAdvert, type PacketMeta, type ReceiveExpectations } from './validate.js';

export class VrrpConfigError extends Error {
  readonly code = 'EVRRPCONFIG';
}

/** How an instance sends: the runtime's socket for (interface, family). */
export interface Transport {
  send(data: Buffer, dst: string): Promise<Error | null>;
}

export interface InstanceDeps {
  clock: Clock;
  logger: Logger;
  notifier: Notifier;
  /** Called on every state change (after VIPs are added, for MASTER). */
  onTransition: (inst: VrrpInstance, from: VrrpState, to: VrrpState) => void;
  /** Drop logs are rate-limited to one per reason per this many ms (default 60 s). */
  dropLogIntervalMs?: number;
}

export interface ResolvedInstance {
  family: IpFamily;
  version: VrrpVersion;
  ownAddr: string;
  ifindex: number;
  /** use_vmac: the macvlan that carries the VIPs (and GARPs/NAs) instead of the interface. */
  vmac?: { dev: string; ifindex: number };
}

/** Family, version and sanity checks of a spec (no I/O). Throws VrrpConfigError. */
export function instanceFamily(spec: VrrpInstanceSpec): { family: IpFamily; version: VrrpVersion } {
  const vips = spec.virtualIpaddress.map((v) => v.address);
  const first = vips[0] ?? spec.unicastSrcIp ?? spec.unicastPeers?.[0]?.address;
  const family: IpFamily = first ? familyOf(first) : 4;
  for (const v of vips) if (familyOf(v) !== family) throw new VrrpConfigError(`${spec.name}: virtual_ipaddress ${v} is not IPv${family}`);
  if (spec.vrid < 1 || spec.vrid > 255 || !Number.isInteger(spec.vrid)) throw new VrrpConfigError(`${spec.name}: virtual_router_id must be 1..255`);
  const p = spec.priority ?? 100;
  if (p < 1 || p > 255) throw new VrrpConfigError(`${spec.name}: priority must be 1..255`);
  let version: VrrpVersion = spec.version ?? 2;
  if (family === 6) version = 3; // keepalived runs IPv6 as v3 only
  if (version === 3 && spec.authPass !== undefined) throw new VrrpConfigError(`${spec.name}: authentication is v2 only`);
  return { family, version };
}

const DEFAULT_COUNTERS = (): VrrpCounters => ({ advertRcvd: 0, advertSent: 0, becameMaster: 0, releasedMaster: 0, priZeroRcvd: 0, priZeroSent: 0, garpSent: 0, garpErrors: 0, dropped: {} });

export class VrrpInstance {
  readonly machine: VrrpMachine;
  readonly counters = DEFAULT_COUNTERS();
  readonly name: string;
  private timer: NodeJS.Timeout | null = null;
  private netQueue: Promise<void> = Promise.resolve();
  private ipId = 0;
  private readonly expect: ReceiveExpectations;
  private readonly lastDropLog = new Map<DropReason, number>();
  private readonly tracked = new Map<string, TrackedObject>();
  private na: net.NaSender | null = null;
  private readonly log: Logger;
  private vipsHeld = false;

  constructor(
    readonly spec: VrrpInstanceSpec,
    readonly resolved: ResolvedInstance,
    private readonly transport: Transport,
    private readonly deps: InstanceDeps,
  ) {
    this.name = spec.name;
    this.log = deps.logger.child({ vrrp: spec.name });
    const intervalCs = advertIntervalCs(resolved.version, spec.advertInt ?? 1);
    const g = spec.garp ?? {};
    this.machine = new VrrpMachine({
      version: resolved.version,
      priority: spec.priority ?? 100,
      advertIntCs: intervalCs,
      initialState: spec.state ?? 'BACKUP',
      ownAddr: resolved.ownAddr,
      nopreempt: spec.nopreempt,
      preemptDelayUs: Math.round((spec.preemptDelay ?? 0) * 1e6),
      downTimerAdverts: spec.downTimerAdverts,
      lowerPrioNoAdvert: spec.lowerPrioNoAdvert,
      higherPrioSendAdvert: spec.higherPrioSendAdvert,
      garpDelayUs: Math.round((g.masterDelay ?? 5) * 1e6),
      garpRepeat: g.masterRepeat ?? 5,
      garpRefreshUs: Math.round((g.masterRefresh ?? 0) * 1e6),
      garpRefreshRepeat: g.masterRefreshRepeat ?? 1,
    });
    this.expect = {
      version: resolved.version,
      authType: spec.authPass !== undefined ? 1 : 0,
      authData: spec.authPass !== undefined ? passwordBytes(spec.authPass) : Buffer.alloc(8),
      intervalCs,
      vips: spec.virtualIpaddress.map((v) => canonicalAddr(v.address)),
      peers: spec.unicastPeers ?? [],
      checkUnicastSrc: spec.checkUnicastSrc ?? false,
    };
  }

  get state(): VrrpState {
    return this.machine.state;
  }

  /** Declare a tracked object (script, interface, file) and its current state. */
  setTracked(key: string, obj: TrackedObject): void {
    this.tracked.set(key, obj);
    this.applyTracking();
  }

  private applyTracking(): void {
    const r = effectivePriority(this.spec.priority ?? 100, [...this.tracked.values()]);
    const now = this.deps.clock.nowUs();
    if (r.priority !== this.machine.priority) {
      this.log.info({ priority: r.priority }, 'effective priority changed');
      this.apply(this.machine.setPriority(now, r.priority));
    }
    this.apply(this.machine.setFault(now, 'track', r.fault));
  }

  start(): void {
    this.apply(this.machine.start(this.deps.clock.nowUs()));
  }

  /** Graceful stop: priority-0 advert if Master, VIPs removed; resolves when the removal is done. */
  async stop(): Promise<void> {
    this.apply(this.machine.stop(this.deps.clock.nowUs()));
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.netQueue;
    this.na?.close();
  }

  /** Run machine actions produced elsewhere (sync group). */
  apply(actions: MachineAction[]): void {
    for (const a of actions) this.perform(a);
    this.schedule();
  }

  /** A packet for our VRID from the runtime's socket. */
  receive(meta: PacketMeta, payload: Buffer): void {
    const now = this.deps.clock.nowUs();
    if (this.state !== 'BACKUP' && this.state !== 'MASTER') return; // Fault/Stop listen to nothing
    const r = decodeAdvert(payload, { family: this.resolved.family, src: meta.src, dst: meta.dst, kernelChecksum: this.resolved.family === 6 });
    if (!r.ok) return this.drop(r.reason, meta.src, r.detail);
    const skip = (this.spec.skipCheckAdvAddr ?? false) && this.machine.masterAddr === meta.src;
    const bad = checkAdvert(r.advert, meta, this.expect, { skipAddrCheck: skip });
    if (bad) return this.drop(bad, meta.src, `prio ${r.advert.priority} intvl ${r.advert.intervalCs}cs`);
    this.counters.advertRcvd++;
    if (r.advert.priority === 0) this.counters.priZeroRcvd++;
    this.apply(this.machine.receive(now, { priority: r.advert.priority, intervalCs: r.advert.intervalCs, src: canonicalAddr(meta.src) }));
  }

  drop(reason: DropReason, src: string, detail?: string): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
    const nowMs = this.deps.clock.nowUs() / 1000;
    const last = this.lastDropLog.get(reason);
    if (last === undefined || nowMs - last >= (this.deps.dropLogIntervalMs ?? 60_000)) {
      this.lastDropLog.set(reason, nowMs);
      this.log.warn({ reason, src, detail, count: this.counters.dropped[reason] }, 'vrrp packet dropped');
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const d = this.machine.nextDeadline();
    if (d === null) return;
    const ms = Math.max(0, Math.ceil((d - this.deps.clock.nowUs()) / 1000));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.apply(this.machine.tick(this.deps.clock.nowUs()));
    }, ms);
  }

  private perform(a: MachineAction): void {
    switch (a.type) {
      case 'send':
        this.sendAdvert(a.priority);
        break;
      case 'addVips':
        this.queue(() => this.addVips());
        break;
      case 'removeVips':
        this.queue(() => this.removeVips());
        break;
      case 'garp':
        // Not in the queue's critical path: notifies must not wait for GARP bursts.
        this.queue(async () => void this.garpBurst(a.count));
        break;
      case 'transition':
        this.transition(a.from, a.to, a.priority);
        break;
      case 'log':
        this.log.debug({ event: a.event, ...a.detail }, 'vrrp');
        break;
    }
  }

  private queue(op: () => Promise<void>): void {
    this.netQueue = this.netQueue.then(op).catch((e: Error) => this.log.error({ error: e.message }, 'vrrp network action failed'));
  }

  private transition(from: VrrpState, to: VrrpState, priority: number): void {
    this.log.info({ from, to, priority }, `Entering ${to} STATE`);
    if (to === 'MASTER') this.counters.becameMaster++;
    if (from === 'MASTER') this.counters.releasedMaster++;
    const done = () => {
      this.deps.onTransition(this, from, to);
      void this.deps.notifier.run(this.spec.notify, 'INSTANCE', this.name, to, priority);
    };
    // Announced through the network queue so listeners see transitions in order: MASTER once its
    // VIPs are up, leaving MASTER once they are gone (a quick MASTER->BACKUP never arrives reversed).
    this.queue(async () => done());
  }

  private destinations(): string[] {
    const peers = this.spec.unicastPeers ?? [];
    if (peers.length) return peers.map((p) => p.address);
    return [this.resolved.family === 4 ? VRRP_MCAST4 : VRRP_MCAST6];
  }

  private sendAdvert(priority: number): void {
    const { family, version, ownAddr } = this.resolved;
    const advert = {
      version,
      vrid: this.spec.vrid,
      priority,
      intervalCs: this.expect.intervalCs,
      authType: this.expect.authType,
      authData: this.expect.authData,
      addrs: this.expect.vips,
    };
    for (const dst of this.destinations()) {
      const payload = encodeAdvert(advert, { family, src: ownAddr, dst, checksumMode: this.spec.checksumMode });
      let data = payload;
      if (family === 4) {
        this.ipId = (this.ipId % 0xffff) + 1; // increasing, skipping 0, as keepalived
        const ttl = this.spec.unicastPeers?.length ? (this.spec.unicastTtl ?? 255) : 255;
        data = Buffer.concat([encodeIpv4Header({ src: ownAddr, dst, ttl, id: this.ipId, payloadLen: payload.length }), payload]);
      }
      this.counters.advertSent++;
      if (priority === 0) this.counters.priZeroSent++;
      void this.transport.send(data, dst).then((err) => {
        if (err) this.log.warn({ dst, error: err.message }, 'advert send failed');
      });
    }
  }

  private allVips(): VipSpec[] {
    return [...this.spec.virtualIpaddress, ...(this.spec.virtualIpaddressExcluded ?? [])];
  }

  /** keepalived: VIPs of the instance's family left on its interface go on the vmac instead. */
  private vipDev(v: VipSpec): string {
    const dev = v.dev ?? this.spec.interface;
    const vm = this.resolved.vmac;
    return vm && dev === this.spec.interface && familyOf(v.address) === this.resolved.family ? vm.dev : dev;
  }

  private addrSpec(v: VipSpec): net.AddressSpec {
    return { address: v.address, prefix: v.prefix, dev: this.vipDev(v), label: v.label, scope: v.scope, broadcast: v.broadcast, noDad: v.noDad ?? true };
  }

  private async addVips(): Promise<void> {
    for (const v of this.allVips()) await net.addAddress(this.addrSpec(v));
    for (const r of this.spec.virtualRoutes ?? []) await net.addRoute({ ...r, dev: r.dev ?? (r.via ? undefined : this.spec.interface) });
    this.vipsHeld = true;
  }

  private async removeVips(): Promise<void> {
    for (const r of this.spec.virtualRoutes ?? []) await net.delRoute({ ...r, dev: r.dev ?? (r.via ? undefined : this.spec.interface) }).catch(() => false);
    for (const v of this.allVips()) await net.delAddress(this.addrSpec(v));
    this.vipsHeld = false;
  }

  get holdsVips(): boolean {
    return this.vipsHeld;
  }

  private async garpBurst(count: number): Promise<void> {
    const gap = this.spec.garp?.intervalMs ?? 0;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count && this.state === 'MASTER'; i++) {
      for (const v of this.allVips()) sends.push(this.garpOne(v));
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    }
    await Promise.all(sends);
  }

  private async garpOne(v: VipSpec): Promise<void> {
    const dev = this.vipDev(v);
    try {
      if (familyOf(v.address) === 4) await net.sendGarp(dev, v.address);
      else {
        this.na ??= new net.NaSender(dev, this.resolved.vmac?.dev === dev ? this.resolved.vmac.ifindex : this.resolved.ifindex);
        await this.na.send(v.address);
      }
      this.counters.garpSent++;
    } catch (e) {
      this.counters.garpErrors++;
      if (this.counters.garpErrors === 1) this.log.warn({ error: (e as Error).message }, 'gratuitous ARP/NA failed');
    }
  }
}
