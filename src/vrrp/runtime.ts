// VrrpRuntime: the daemon's handle on VRRP. start(spec) / reconcile(spec) / stop(); one raw socket
// per (interface, family) shared by the instances on it; tracking polls; state-change events.
import type { Logger } from 'pino';
import * as net from '../net/index.js';
import { canonicalAddr, isMulticast } from './addr.js';
import { systemClock, type Clock } from './clock.js';
import { decodeIpv4, VRRP_MCAST4, VRRP_MCAST6, VRRP_PROTO, type DropReason } from './codec.js';
import { instanceFamily, VrrpInstance, type ResolvedInstance } from './instance.js';
import { Notifier } from './notify.js';
import { ScriptTracker } from './script-tracker.js';
import { ProcessTracker } from './track-process.js';
import { SyncGroup } from './sync-group.js';
import { VmacLinks } from './vmac.js';
import type { VrrpCounters, VrrpInstanceSpec, VrrpRuntimeSpec, VrrpState } from './types.js';
import { readFile } from 'node:fs/promises';
import type { BfdStateSource } from '../bfd/index.js';

export type StateChangeListener = (instance: string, from: VrrpState, to: VrrpState) => void;

export interface VrrpRuntimeOptions {
  logger: Logger;
  clock?: Clock;
  /** How often interfaces and track files are polled (default 500 ms). */
  trackPollMs?: number;
  /** How often /proc is scanned for vrrp_track_process (default 250 ms). */
  processPollMs?: number;
  dropLogIntervalMs?: number;
  /** BFD sessions for track_bfd (a reported change refreshes tracking at once). */
  bfd?: BfdStateSource;
}

export interface InstanceStatus {
  name: string;
  state: VrrpState;
  priority: number;
  masterAddr: string | null;
  masterAdverIntCs: number;
  counters: VrrpCounters;
}

interface SocketEntry {
  sock: net.VrrpSocket;
  byVrid: Map<number, VrrpInstance>;
}

export class VrrpRuntime {
  private readonly instances = new Map<string, VrrpInstance>();
  private readonly specs = new Map<string, string>();
  private readonly sockets = new Map<string, SocketEntry>();
  private readonly listeners = new Set<StateChangeListener>();
  private groups: SyncGroup[] = [];
  private scripts: ScriptTracker | null = null;
  private scriptsKey = '';
  private procs: ProcessTracker | null = null;
  private procsKey = '';
  private notifier: Notifier;
  private poll: NodeJS.Timeout | null = null;
  private readonly clock: Clock;
  private readonly vmacs: VmacLinks;
  /** Packets that reached no instance, by reason. */
  readonly dropped: Partial<Record<DropReason, number>> = {};
  private unsubscribeBfd: (() => void) | null;

  constructor(private readonly opts: VrrpRuntimeOptions) {
    this.clock = opts.clock ?? systemClock;
    this.notifier = new Notifier(opts.logger);
    this.vmacs = new VmacLinks({ logger: opts.logger });
    this.unsubscribeBfd = opts.bfd?.onChange(() => void this.refreshTracking()) ?? null;
  }

  onStateChange(cb: StateChangeListener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Start every instance. Instances that cannot start are reported, the rest run. */
  async start(spec: VrrpRuntimeSpec): Promise<Error[]> {
    return this.reconcile(spec);
  }

  /** Move to a new spec: unchanged instances keep their state; changed ones restart; removed ones stop. */
  async reconcile(spec: VrrpRuntimeSpec): Promise<Error[]> {
    const errors: Error[] = [];
    this.notifier = new Notifier(this.opts.logger, spec.notifyFifo);
    const wanted = new Map(spec.instances.map((i) => [i.name, i]));
    for (const [name, inst] of [...this.instances]) {
      const next = wanted.get(name);
      if (!next || JSON.stringify(next) !== this.specs.get(name)) await this.remove(name, inst);
    }
    const key = JSON.stringify(spec.scripts ?? []);
    if (key !== this.scriptsKey) {
      this.scripts?.stop();
      this.scripts = new ScriptTracker(spec.scripts ?? [], this.opts.logger);
      this.scripts.on('change', () => void this.refreshTracking());
      this.scriptsKey = key;
      this.scripts.start();
    }
    const pkey = JSON.stringify(spec.processes ?? []);
    if (pkey !== this.procsKey) {
      this.procs?.stop();
      this.procs = new ProcessTracker(spec.processes ?? [], { logger: this.opts.logger, clock: this.clock, pollMs: this.opts.processPollMs });
      this.procs.on('change', () => void this.refreshTracking());
      this.procsKey = pkey;
      // The first scan decides every status before an instance starts (keepalived reads /proc at startup).
      await this.procs.start();
    }
    const fresh: VrrpInstance[] = [];
    for (const s of spec.instances) {
      if (this.instances.has(s.name)) continue;
      try {
        fresh.push(await this.create(s));
      } catch (e) {
        errors.push(e as Error);
        this.opts.logger.error({ vrrp: s.name, error: (e as Error).message }, 'vrrp instance not started');
      }
    }
    this.groups = (spec.syncGroups ?? []).map(
      (g) => new SyncGroup(g, g.members.map((m) => this.instances.get(m)).filter((x): x is VrrpInstance => !!x), this.clock, this.notifier),
    );
    // vmacs of removed instances that no new instance took over (a restarted instance keeps its own).
    await this.vmacs.flush();
    await this.refreshTracking();
    for (const i of fresh) i.start();
    this.poll ??= setInterval(() => void this.refreshTracking(), this.opts.trackPollMs ?? 500);
    return errors;
  }

  /** Graceful stop of everything: priority-0 adverts, VIPs removed, STOP notifies. */
  async stop(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    this.scripts?.stop();
    this.scripts = null;
    this.scriptsKey = '';
    this.procs?.stop();
    this.procs = null;
    this.procsKey = '';
    this.unsubscribeBfd?.();
    this.unsubscribeBfd = null;
    await Promise.all([...this.instances].map(([name, inst]) => this.remove(name, inst)));
    await this.vmacs.flush();
  }

  status(): InstanceStatus[] {
    return [...this.instances.values()].map((i) => ({
      name: i.name,
      state: i.state,
      priority: i.machine.priority,
      masterAddr: i.machine.masterAddr,
      masterAdverIntCs: i.machine.masterAdverIntCs,
      counters: i.counters,
    }));
  }

  instance(name: string): VrrpInstance | undefined {
    return this.instances.get(name);
  }

  private async remove(name: string, inst: VrrpInstance): Promise<void> {
    await inst.stop();
    this.vmacs.release(name);
    this.instances.delete(name);
    this.specs.delete(name);
    for (const [key, e] of this.sockets) {
      if (e.byVrid.get(inst.spec.vrid) === inst) e.byVrid.delete(inst.spec.vrid);
      if (e.byVrid.size === 0) {
        e.sock.close();
        this.sockets.delete(key);
      }
    }
  }

  private async create(s: VrrpInstanceSpec): Promise<VrrpInstance> {
    const { family, version } = instanceFamily(s);
    // use_vmac: adverts go out of (and are heard on) the vmac unless vmac_xmit_base; unicast
    // needs the base (keepalived forces vmac_xmit_base then). The source stays the base's address.
    let sendDev = s.interface;
    let vmac: ResolvedInstance['vmac'];
    if (s.useVmac) {
      const xmitBase = s.useVmac.xmitBase || !!s.unicastPeers?.length;
      if (!s.useVmac.xmitBase && s.unicastPeers?.length) this.opts.logger.warn({ vrrp: s.name }, 'unicast with use_vmac requires vmac_xmit_base - setting');
      const h = await this.vmacs.acquire(s.name, s.interface, family, s.vrid, s.useVmac);
      vmac = { dev: h.name, ifindex: h.ifindex };
      if (!xmitBase) sendDev = h.name;
    }
    try {
      return await this.createOn(s, sendDev, family, version, vmac);
    } catch (e) {
      this.vmacs.release(s.name);
      throw e;
    }
  }

  private async createOn(s: VrrpInstanceSpec, sendDev: string, family: 4 | 6, version: 2 | 3, vmac: ResolvedInstance['vmac']): Promise<VrrpInstance> {
    const ifindex = await net.ifIndex(sendDev);
    const ownAddr = canonicalAddr(s.unicastSrcIp ?? (await net.sourceAddress(s.interface, family)));
    const resolved: ResolvedInstance = { family, version, ownAddr, ifindex, ...(vmac ? { vmac } : {}) };
    const entry = this.socketFor(sendDev, family, ifindex);
    if (entry.byVrid.has(s.vrid)) throw new Error(`${s.name}: VRID ${s.vrid} already used on ${sendDev} IPv${family}`);
    const inst = new VrrpInstance(s, resolved, { send: (d, dst) => entry.sock.send(d, dst) }, {
      clock: this.clock,
      logger: this.opts.logger,
      notifier: this.notifier,
      dropLogIntervalMs: this.opts.dropLogIntervalMs,
      onTransition: (i, from, to) => this.transitioned(i, from, to),
    });
    entry.byVrid.set(s.vrid, inst);
    this.instances.set(s.name, inst);
    this.specs.set(s.name, JSON.stringify(s));
    return inst;
  }

  private transitioned(inst: VrrpInstance, from: VrrpState, to: VrrpState): void {
    for (const g of this.groups) if (g.has(inst)) g.onTransition(inst, from, to);
    for (const l of this.listeners) {
      try {
        l(inst.name, from, to);
      } catch (e) {
        this.opts.logger.error({ error: (e as Error).message }, 'state change listener threw');
      }
    }
  }

  private socketFor(dev: string, family: 4 | 6, ifindex: number): SocketEntry {
    const key = `${dev}/${family}`;
    let e = this.sockets.get(key);
    if (e) return e;
    // Joining the group is harmless for unicast-only instances and lets one socket serve both.
    const sock = new net.VrrpSocket({ family, dev, ifindex, group: family === 4 ? VRRP_MCAST4 : VRRP_MCAST6 });
    const entry: SocketEntry = { sock, byVrid: new Map() };
    sock.on('packet', (p: net.RawPacket) => this.onPacket(entry, family, p));
    sock.on('error', (err: Error) => this.opts.logger.error({ dev, family, error: err.message }, 'vrrp socket error'));
    this.sockets.set(key, entry);
    e = entry;
    return e;
  }

  private runtimeDrop(reason: DropReason): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  private onPacket(entry: SocketEntry, family: 4 | 6, p: net.RawPacket): void {
    try {
      let payload: Buffer;
      let meta: { src: string; dst?: string; dstIsMulticast?: boolean; ttl?: number };
      if (family === 4) {
        const ip = decodeIpv4(p.data);
        if (!ip.ok) return this.runtimeDrop(ip.reason);
        if (ip.packet.protocol !== VRRP_PROTO) return;
        payload = ip.packet.payload;
        meta = { src: ip.packet.src, dst: ip.packet.dst, dstIsMulticast: isMulticast(ip.packet.dst), ttl: ip.packet.ttl };
      } else {
        payload = p.data;
        meta = { src: p.from.split('%')[0] };
      }
      if (payload.length < 8) return this.runtimeDrop('short');
      const inst = entry.byVrid.get(payload[1]);
      if (!inst) return this.runtimeDrop('vrid-unknown');
      inst.receive(meta, payload);
    } catch (e) {
      // Defence in depth: the codec never throws, but a packet must never take the runtime down.
      this.runtimeDrop('short');
      this.opts.logger.error({ error: (e as Error).message }, 'vrrp packet handling failed');
    }
  }

  private async refreshTracking(): Promise<void> {
    for (const inst of this.instances.values()) {
      const s = inst.spec;
      try {
        if (!s.dontTrackPrimary) inst.setTracked(`if:${s.interface}:primary`, { weight: 0, up: await net.linkIsUp(s.interface) });
        const vm = inst.resolved.vmac;
        if (vm && !s.dontTrackPrimary) inst.setTracked(`if:${vm.dev}:vmac`, { weight: 0, up: await net.linkIsUp(vm.dev) });
        for (const t of s.trackInterface ?? []) inst.setTracked(`if:${t.name}`, { weight: t.weight ?? 0, reverse: t.reverse, up: await net.linkIsUp(t.name) });
        for (const t of s.trackFile ?? []) {
          const n = Number((await readFile(t.path, 'utf8').catch(() => '0')).trim()) || 0;
          const w = t.weight ?? 1;
          // keepalived: value x weight is added (either sign); with weight 0 a non-zero value is a fault.
          if (w === 0) inst.setTracked(`file:${t.path}`, { weight: 0, up: n === 0 });
          else inst.setTracked(`file:${t.path}`, { weight: w * n * (t.reverse ? -1 : 1), up: w * n * (t.reverse ? -1 : 1) > 0 });
        }
        const groupScripts = this.groups.filter((g) => g.has(inst)).flatMap((g) => g.spec.trackScript ?? []);
        for (const t of [...(s.trackScript ?? []), ...groupScripts]) {
          const def = this.scripts?.spec(t.name);
          inst.setTracked(`script:${t.name}`, { weight: t.weight ?? def?.weight ?? 0, reverse: t.reverse ?? def?.reverse, up: this.scripts?.isUp(t.name) ?? false });
        }
        const groupProcs = this.groups.filter((g) => g.has(inst)).flatMap((g) => g.spec.trackProcess ?? []);
        for (const t of [...(s.trackProcess ?? []), ...groupProcs]) {
          const def = this.procs?.spec(t.name);
          if (!def) continue;
          const weight = t.weight ?? def.weight ?? 0;
          const reverse = t.reverse ?? def.reverse ?? false;
          const up = this.procs!.isUp(t.name);
          // keepalived: 'weight 0 reverse' is Fault while the quorum is up.
          inst.setTracked(`process:${t.name}`, weight === 0 ? { weight: 0, up: reverse ? !up : up } : { weight, reverse, up });
        }
        const groupBfds = this.groups.filter((g) => g.has(inst)).flatMap((g) => g.spec.trackBfd ?? []);
        for (const t of [...(s.trackBfd ?? []), ...groupBfds]) {
          const up = this.opts.bfd?.isUp(t.name) ?? false;
          const weight = t.weight ?? 0;
          // keepalived: 'weight 0 reverse' is Fault while the session is up
          inst.setTracked(`bfd:${t.name}`, weight === 0 ? { weight: 0, up: t.reverse ? !up : up } : { weight, reverse: t.reverse, up });
        }
      } catch (e) {
        this.opts.logger.error({ vrrp: s.name, error: (e as Error).message }, 'tracking refresh failed');
      }
    }
    for (const g of this.groups) g.reevaluateFaults();
  }
}
