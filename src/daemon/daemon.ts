// The running director: one table, the engines that serve it, the checkers that edit it, VRRP,
// the control socket, metrics and schedules. Every change goes through one apply path: a config
// (start, reload) or an event (health, schedule, VRRP) becomes a table spec that is applied.

import { writeFileSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { markedSocketsUnavailable } from '../net/marked-socket.js';
import type { Logger } from 'pino';
import { Alerter, alertPolicyOf, localIdentity } from '../alert/index.js';
import { CheckRunner } from '../check/index.js';
import type { CheckEvent, VirtualServerCheckSpec } from '../check/index.js';
import { ConfigError, diffConfigs, loadConfig, renderPlan } from '../config/index.js';
import type { ConfigModel, Diagnostic, PlanItem } from '../config/index.js';
import { ControlServer, DEFAULT_CONTROL_SOCKET } from '../control/index.js';
import type { ApplyResult, ControlCommand, SnapshotOptions, TableView } from '../control/index.js';
import { renderTable } from '../control/render/list.js';
import { ProxyEngine } from '../forward/proxy/index.js';
import type { ProxyEngineEvent } from '../forward/proxy/index.js';
import { createTable, IpvsTableControl } from '../ipvs/index.js';
import type { IpvsTable, ServiceSpec, TableSpec } from '../ipvs/index.js';
import { createMetricsRegistry, MetricsServer } from '../metrics/index.js';
import { VrrpRuntime } from '../vrrp/index.js';
import type { VrrpRuntimeSpec, VrrpState } from '../vrrp/index.js';
import { applyService } from './apply.js';
import { HealthOverlay } from './health.js';
import { NftForwarder, nftSelector, nftSnat } from './nft-forwarder.js';
import { Schedules } from './schedules.js';
import type { CronScheduler } from './schedules.js';
import { SystemdNotifier } from './sd-notify.js';
import { DaemonSync } from './sync.js';
import { endpoint, scriptPolicyOf, serviceSpecsOf, tableSpecOf, vsCheckSpecOf, vsId } from './specs.js';
import { bfdSpecsOf } from './specs.js';
import { BfdRunner, type BfdError } from '../bfd/index.js';
import { vrrpRuntimeSpecOf, vrrpVips } from './vrrp-specs.js';

export interface DaemonOptions {
  file: string;
  configId: string;
  logger: Logger;
  notifier: SystemdNotifier;
  /** Monotonic milliseconds (the table's clock). */
  clock?: () => number;
  /** Overrides lvsd_defs control_socket (tests, unprivileged runs). */
  controlSocket?: string;
  /** Overrides lvsd_defs workers. */
  workers?: number;
  /** Arms lvsd_schedule cron expressions (default node-cron; tests fire them by hand). */
  cron?: CronScheduler;
}

export interface ReloadOutcome {
  ok: boolean;
  plan: string[];
  errors: Diagnostic[];
  /** Milliseconds spent reading+parsing+validating, planning, and applying (table, checkers, engine...). */
  timings: { loadMs: number; planMs: number; applyMs: number; tableLiveMs: number };
}

const DEFAULT_RUNNING_SUFFIX = '.running.conf';
const ALERT_STOP_WAIT_MS = 3000;

export class Daemon {
  readonly table: IpvsTable = createTable();
  private config!: ConfigModel;
  private hash = '';
  private runningText = '';
  private spec!: TableSpec;
  /** vs id -> its service specs as configured (before health). */
  private servicesByVs = new Map<string, ServiceSpec[]>();
  /** vs id -> the checker spec last given to the check runner. */
  private checkSpecs = new Map<string, VirtualServerCheckSpec>();
  private readonly health = new HealthOverlay();
  /** Email alerts (global_defs smtp_alert...): queued, never waited on by VRRP or the checkers. */
  private readonly alerts: Alerter;
  private engine: ProxyEngine | null = null;
  /** The nft engine for services whose `engine` is nft; the proxy serves the others. */
  private nft: NftForwarder | null = null;
  private checks: CheckRunner | null = null;
  /** BFD sessions (bfd_instance) that BFD_CHECK and track_bfd follow. */
  private bfd: BfdRunner | null = null;
  private vrrp: VrrpRuntime | null = null;
  private vrrpSpec: VrrpRuntimeSpec = { instances: [] };
  private readonly vrrpStates = new Map<string, VrrpState>();
  private control: ControlServer | null = null;
  private tableControl: IpvsTableControl;
  private metrics: MetricsServer | null = null;
  private metricsListen: string | null = null;
  private schedules: Schedules;
  /** connection sync (lvs_sync_daemon, lvsadm --start-daemon) */
  private readonly sync: DaemonSync;
  private readonly reloads = { ok: 0, failed: 0 };
  private readonly clock: () => number;
  private readonly log: Logger;
  private stopping = false;
  private statusQueued = false;
  /** During a reload's checker reconcile: events seen so far (applied with the table); else -1. */
  private healthBatch = -1;
  private healthEvents = 0;

  constructor(private readonly opts: DaemonOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    this.log = opts.logger;
    this.alerts = new Alerter({ logger: this.log });
    // Current kernels report the configured method (ip_vs_ctl.c __ip_vs_update_dest no longer
    // sets IP_VS_CONN_F_LOCALNODE for local addresses), so no real server lists as "Local".
    this.tableControl = new IpvsTableControl(this.table, { now: this.clock, isLocalAddress: () => false });
    this.schedules = new Schedules(this.log, (name, action, sch) => this.runSchedule(name, action, sch), opts.cron);
    this.sync = new DaemonSync(this.table, this.clock, this.log, () => this.nft);
  }

  get runningConfig(): ConfigModel {
    return this.config;
  }

  /** Loads, validates and starts everything; throws ConfigError (nothing started) on a bad file. */
  async start(): Promise<void> {
    const r = loadConfig(this.opts.file, { configId: this.opts.configId });
    if (!r.config) throw new ConfigError(r.diagnostics.items);
    this.logWarnings(r.diagnostics.warnings);
    this.setConfig(r.config, r.hash);
    this.runningText = r.text;
    this.table.applySpec(this.spec, this.clock());
    const d = this.config.lvsd_defs;
    this.nft = new NftForwarder(this.log, this.clock);
    this.engine = new ProxyEngine({ workers: this.opts.workers ?? d?.workers ?? undefined, relay: d?.proxy_relay ?? undefined, clock: this.clock, serves: (svc) => !(this.nft?.serves(svc) ?? false) });
    this.wireEngineEvents(this.engine);
    // VRRP-managed VIPs are served only while held: mark them before listening.
    this.bfd = new BfdRunner({ logger: this.log });
    this.logBfdErrors(await this.bfd.start(bfdSpecsOf(this.config)));
    await this.startVrrp();
    const checkSpecs = this.checkSpecsFor(null);
    this.warnIfChecksUnmarked(checkSpecs);
    this.checks = new CheckRunner(checkSpecs, { onEvent: (e) => this.onCheckEvent(e), logger: this.log, scriptPolicy: scriptPolicyOf(this.config), bfd: this.bfd });
    this.checks.start();
    await this.nft.start(this.table, nftSelector(this.config), { snat: nftSnat(this.config) });
    await this.engine.start(this.table);
    await this.sync.configure(this.config, this.vrrpStates);
    await this.startControl();
    await this.startMetrics();
    this.schedules.reconcile(this.config.lvsd_schedule);
    this.writeRunning();
    this.log.info({ file: this.opts.file, hash: this.hash, services: this.table.services.length, plan: renderPlan(diffConfigs(emptyConfig(this.config), this.config)) }, 'lvsd started');
  }

  /** SIGHUP: re-read everything; apply only the difference, or change nothing and say why. */
  async reload(): Promise<ReloadOutcome> {
    await this.opts.notifier.reloading();
    const t0 = this.clock();
    const r = loadConfig(this.opts.file, { configId: this.opts.configId });
    const loaded = this.clock();
    if (!r.config) {
      this.reloads.failed++;
      for (const d of r.diagnostics.errors) this.log.error({ loc: d.loc, code: d.code }, d.message);
      this.log.error({ errors: r.diagnostics.errors.length }, 'reload failed: configuration has errors; still running the previous one');
      await this.opts.notifier.ready(`reload failed (${r.diagnostics.errors.length} errors); ${this.statusText()}`);
      return { ok: false, plan: [], errors: r.diagnostics.errors, timings: { loadMs: loaded - t0, planMs: 0, applyMs: 0, tableLiveMs: 0 } };
    }
    this.logWarnings(r.diagnostics.warnings);
    const previous = this.config;
    const started = this.clock();
    this.setConfig(r.config, r.hash);
    this.runningText = r.text;
    const servers = new Map<string, Set<string>>();
    for (const vs of this.config.virtual_server) {
      const eps = new Set<string>();
      for (const rs of vs.real_server) eps.add(endpoint(rs.ip, rs.port || (vs.key.kind === 'ip' ? vs.key.port : 0)));
      servers.set(vsId(vs), eps);
    }
    this.health.retain(servers);
    // The plan first: it tells which virtual servers are unchanged, whose checker specs are then
    // the same objects as before (the check runner passes those over at once).
    const planStart = this.clock();
    const items = diffConfigs(previous, this.config);
    const plan = renderPlan(items);
    const planMs = this.clock() - planStart;
    // Checkers next, their events only noted: the one table apply below then carries the new
    // weights (a changed weight is a checker event), instead of one service apply per event.
    // BFD first: sessions whose neighbour is unchanged carry on (same discriminators)
    if (this.bfd) this.logBfdErrors(await this.bfd.reconcile(bfdSpecsOf(this.config)));
    this.healthBatch = 0;
    try {
      this.checks?.reconcile(this.checkSpecsFor(items));
    } finally {
      this.healthEvents = this.healthBatch;
      this.healthBatch = -1;
    }
    const changes = this.table.applySpec(this.effectiveSpec(), this.clock());
    // From here new connections see the new table; the rest follows it (checkers, listeners).
    const tableLive = this.clock();
    // The running file is written by the thread pool while the rest of the reload goes on; it is
    // complete before 'reload applied' is logged (lvsd -t --diff reads it).
    const written = this.writeRunningAsync();
    await this.reconcileVrrp();
    this.nft?.setSelector(nftSelector(this.config));
    this.nft?.setSnat(nftSnat(this.config));
    await this.nft?.reconcile();
    await this.engine?.reconcile();
    await this.sync.configure(this.config, this.vrrpStates);
    await this.startMetrics();
    this.schedules.reconcile(this.config.lvsd_schedule);
    await written;
    this.reloads.ok++;
    const timings = { loadMs: loaded - t0, planMs, applyMs: this.clock() - started - planMs, tableLiveMs: tableLive - t0 };
    this.log.info({ plan, changes: changes.length, health_events: this.healthEvents, took_ms: Math.round(this.clock() - t0), load_ms: Math.round(timings.loadMs), plan_ms: Math.round(timings.planMs), apply_ms: Math.round(timings.applyMs), hash: this.hash }, 'reload applied');
    await this.opts.notifier.ready(this.statusText());
    return { ok: true, plan, errors: [], timings };
  }

  /** SIGTERM: stop accepting, resign VRRP (priority 0, VIPs removed), drain up to the timeout. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.opts.notifier.stopping();
    const drainMs = Math.round((this.config?.lvsd_defs?.drain_timeout ?? 30) * 1000);
    this.schedules.stop();
    await this.control?.stop();
    await this.metrics?.stop();
    this.alerts.shutdown();
    await this.checks?.stop();
    // Resign first: while draining we no longer accept, so holding the VIP would only refuse new
    // clients for drain_timeout; the backup takes over at once (priority 0) instead.
    await this.vrrp?.stop();
    await this.sync.stop();
    // The STOP alerts just queued get a moment, no more: stopping never waits on a mail server.
    await this.alerts.idle(ALERT_STOP_WAIT_MS);
    await this.engine?.stop(drainMs);
    await this.nft?.stop();
    // last: the AdminDown tells BFD peers this is no path failure
    await this.bfd?.stop();
    this.log.info({}, 'lvsd stopped');
  }

  private logBfdErrors(errors: BfdError[]): void {
    for (const e of errors) this.log.error({ bfd: e.instance, code: e.code, err: e.message }, 'bfd instance not started');
  }

  statusText(): string {
    let up = 0;
    let total = 0;
    for (const s of this.spec?.services ?? []) total += s.dests.length;
    for (const s of this.table.services) for (const d of s.dests) if (d.weight > 0) up++;
    const vrrp = [...this.vrrpStates].map(([n, s]) => `${n}=${s}`).join(' ');
    return `${this.table.services.length} services, ${up}/${total} real servers up${vrrp ? `, VRRP ${vrrp}` : ''}`;
  }

  /** The table as ipvsadm would list it (for SIGUSR2 and the status file). */
  snapshot(options?: SnapshotOptions): TableView {
    return { ...this.tableControl.snapshot(options), daemons: this.sync.views() };
  }

  /** SIGUSR1: the running state; SIGUSR2: the statistics (keepalived's data and stats files). */
  dumpState(): string {
    const d = this.config.lvsd_defs;
    const path = d?.state_file ?? '/tmp/lvsd.data';
    const text = JSON.stringify({ hash: this.hash, config: this.config, vrrp: Object.fromEntries(this.vrrpStates), table: this.snapshot() }, null, 2);
    writeFileSync(path, text + '\n', { mode: 0o600 });
    return path;
  }

  dumpStats(): string {
    const d = this.config.lvsd_defs;
    const path = d?.stats_file ?? '/tmp/lvsd.stats';
    const view = this.snapshot();
    const format = { numeric: true, exact: false, stats: false, rate: false, thresholds: false, persistentConn: false, tunInfo: false, nosort: false, json: false };
    const text = renderTable(view, { ...format, stats: true }, null) + '\n' + renderTable(view, { ...format, rate: true }, null);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  }

  // ---- internals -------------------------------------------------------------------------------

  private setConfig(config: ConfigModel, hash: string): void {
    this.config = config;
    this.hash = hash;
    this.servicesByVs = new Map(config.virtual_server.map((vs) => [vsId(vs), serviceSpecsOf(vs, config)]));
    this.spec = tableSpecOf(config, [...this.servicesByVs.values()].flat());
    this.alerts.setPolicy(alertPolicyOf(config, localIdentity(), { vsId, endpoint }));
  }

  /** Checks with `fwmark` over TCP need native/build/lvsd-sockopt.node; without it they run unmarked. */
  private warnIfChecksUnmarked(specs: readonly VirtualServerCheckSpec[]): void {
    const marked = specs.some((v) => v.realServers.some((r) => r.checkers.some((c) => c.type !== 'PING' && 'fwmark' in c && c.fwmark)));
    const why = marked ? markedSocketsUnavailable() : null;
    if (why) this.log.warn({ reason: why }, 'checks with fwmark run without the mark');
  }

  /**
   * Checker specs for the running config; with the plan from the previous one, a virtual server
   * the plan does not name keeps its spec object (null: build all). SSL and track_file feed
   * every checker spec, so a change there rebuilds all.
   */
  private checkSpecsFor(plan: readonly PlanItem[] | null): VirtualServerCheckSpec[] {
    const changed = new Set<string>();
    let all = plan === null;
    for (const i of plan ?? []) {
      if (i.kind === 'vs') changed.add(i.target);
      else if (i.kind === 'rs') changed.add(i.target.slice(0, i.target.lastIndexOf(' ')));
      else if (i.kind === 'SSL' || i.kind === 'track_file') all = true;
    }
    const before = this.checkSpecs;
    this.checkSpecs = new Map();
    return this.config.virtual_server.map((vs) => {
      const id = vsId(vs);
      const kept = all || changed.has(id) ? undefined : before.get(id);
      const spec = kept ?? vsCheckSpecOf(vs, this.config);
      this.checkSpecs.set(id, spec);
      return spec;
    });
  }

  private effectiveSpec(): TableSpec {
    const services: ServiceSpec[] = [];
    for (const [id, specs] of this.servicesByVs) for (const s of specs) services.push(this.health.effective(id, s));
    return { ...this.spec, services };
  }

  private onCheckEvent(e: CheckEvent): void {
    this.alerts.checkEvent(e);
    if (e.kind === 'quorum') {
      this.log.info({ vs: e.vs, up: e.up, reason: e.reason }, e.up ? 'quorum gained' : 'quorum lost');
      return;
    }
    if (!this.health.apply(e)) return;
    if (this.healthBatch >= 0) {
      this.healthBatch++;
      return;
    }
    this.applyVs(e.vs, { vs: e.vs, rs: e.rs, kind: e.kind, up: e.up, weight: e.weight, inTable: e.inTable, checker: e.checker, reason: e.reason, took_ms: e.took_ms });
  }

  private applyVs(id: string, why: Record<string, unknown>): void {
    const specs = this.servicesByVs.get(id);
    if (!specs) return;
    const now = this.clock();
    for (const s of specs) {
      try {
        const changes = applyService(this.table, this.health.effective(id, s), now);
        if (changes.length) this.log.info({ ...why, changes }, 'table updated');
      } catch (err) {
        this.log.error({ ...why, err: String(err) }, 'could not apply a health change');
      }
    }
    void this.nft?.reconcile(); // a real server back in the table needs its mark
    this.queueStatus();
  }

  private runSchedule(name: string, action: string, sch: ConfigModel['lvsd_schedule'][number]): void {
    this.log.info({ schedule: name, action }, 'schedule fired');
    if (action === 'reload') void this.reload();
    else if (action === 'stats') this.log.info({ file: this.dumpStats() }, 'stats written');
    else if ((action === 'drain' || action === 'restore') && sch.virtual_server && sch.real_server) {
      const id = `${sch.protocol} ${endpoint(sch.virtual_server.ip, sch.virtual_server.port)}`;
      if (this.health.setDrained(id, endpoint(sch.real_server.ip, sch.real_server.port), action === 'drain')) this.applyVs(id, { schedule: name, action });
    }
  }

  private controlCommand(cmd: ControlCommand): ApplyResult {
    const result = this.tableControl.apply(cmd);
    this.log.info({ command: cmd.op, ok: result.ok }, 'lvsadm edit');
    void this.nft?.reconcile();
    void this.engine?.reconcile();
    return result;
  }

  private async startControl(): Promise<void> {
    const path = this.opts.controlSocket ?? this.config.lvsd_defs?.control_socket ?? DEFAULT_CONTROL_SOCKET;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.control = new ControlServer({
      path,
      logger: this.log,
      handler: { snapshot: (o) => this.snapshot(o), apply: (c) => (c.op === 'start-daemon' || c.op === 'stop-daemon' ? this.sync.command(c) : this.controlCommand(c)) },
    });
    await this.control.start();
  }

  private async startMetrics(): Promise<void> {
    const m = this.config.lvsd_defs?.metrics_listen ?? null;
    const listen = m ? (m.family === 6 ? `[${m.host}]:${m.port}` : `${m.host}:${m.port}`) : null;
    if (listen === this.metricsListen) return;
    await this.metrics?.stop();
    this.metrics = null;
    this.metricsListen = listen;
    if (!listen) return;
    const registry = createMetricsRegistry({
      table: () => this.snapshot(),
      vrrp: () => (this.vrrp?.status() ?? []).map((s) => ({ name: s.name, state: s.state, advertsSent: s.counters.advertSent, advertsReceived: s.counters.advertRcvd, becameMaster: s.counters.becameMaster, releasedMaster: s.counters.releasedMaster })),
      reloads: () => ({ ...this.reloads, configHash: this.hash }),
      drops: () => ({ ...(this.vrrp?.dropped ?? {}), ...(this.engine ? { proxy_no_dest: this.engine.counters.noDest, proxy_refused: this.engine.counters.refused } : {}), ...(this.nft?.counters() ?? {}) }) as Record<string, number>,
    });
    this.metrics = new MetricsServer(registry, this.log);
    await this.metrics.start(listen);
  }

  private async startVrrp(): Promise<void> {
    this.vrrpSpec = vrrpRuntimeSpecOf(this.config, (p) => this.log.warn(p, 'vrrp: left out'));
    for (const vips of vrrpVips(this.vrrpSpec).values()) {
      for (const v of vips) {
        this.nft?.setVipHeld(v, false);
        await this.engine?.setVipHeld(v, false);
      }
    }
    if (this.vrrpSpec.instances.length === 0) return;
    this.vrrp = new VrrpRuntime({ logger: this.log, bfd: this.bfd ?? undefined });
    this.vrrp.onStateChange((name, from, to) => void this.onVrrpState(name, from, to));
    const errors = await this.vrrp.start(this.vrrpSpec);
    for (const e of errors) this.log.error({ err: e.message }, 'vrrp instance could not start');
  }

  private async reconcileVrrp(): Promise<void> {
    const next = vrrpRuntimeSpecOf(this.config, (p) => this.log.warn(p, 'vrrp: left out'));
    if (!this.vrrp && next.instances.length === 0) return;
    const before = vrrpVips(this.vrrpSpec);
    this.vrrpSpec = next;
    const after = vrrpVips(next);
    for (const [name, vips] of after) {
      const held = this.vrrpStates.get(name) === 'MASTER';
      for (const v of vips) {
        if (before.get(name)?.includes(v)) continue;
        this.nft?.setVipHeld(v, held);
        await this.engine?.setVipHeld(v, held);
      }
    }
    if (!this.vrrp) {
      this.vrrp = new VrrpRuntime({ logger: this.log, bfd: this.bfd ?? undefined });
      this.vrrp.onStateChange((name, from, to) => void this.onVrrpState(name, from, to));
    }
    const errors = await this.vrrp.reconcile(next);
    for (const e of errors) this.log.error({ err: e.message }, 'vrrp instance could not start');
  }

  private async onVrrpState(name: string, from: VrrpState, to: VrrpState): Promise<void> {
    this.vrrpStates.set(name, to);
    this.log.info({ instance: name, from, to }, 'vrrp state');
    this.alerts.vrrpState(name, to);
    for (const v of vrrpVips(this.vrrpSpec).get(name) ?? []) {
      this.nft?.setVipHeld(v, to === 'MASTER');
      await this.engine?.setVipHeld(v, to === 'MASTER');
    }
    await this.sync.onVrrpState(name, to);
    const anyMaster = [...this.vrrpStates.values()].some((s) => s === 'MASTER');
    this.checks?.setHaSuspended(!anyMaster);
    this.queueStatus();
  }

  /**
   * One STATUS= per burst of events: statusText walks the whole table, and a reload or a start
   * can bring one health event per real server (10,000 of them made this quadratic).
   */
  private queueStatus(): void {
    if (!this.opts.notifier.enabled || this.statusQueued) return;
    this.statusQueued = true;
    setImmediate(() => {
      this.statusQueued = false;
      if (!this.stopping) void this.opts.notifier.status(this.statusText());
    });
  }

  private wireEngineEvents(engine: ProxyEngine): void {
    const warn = new Set(['listen-error', 'forwarding-note', 'unsupported', 'worker-exit', 'no-dest', 'relay-fallback', 'relay-error']);
    engine.on('event', (e: ProxyEngineEvent) => {
      if (warn.has(e.type)) this.log.warn({ event: e }, `proxy ${e.type}`);
      else this.log.info({ event: e }, `proxy ${e.type}`);
    });
  }

  private logWarnings(ws: Diagnostic[]): void {
    for (const d of ws) this.log.warn({ loc: d.loc, code: d.code }, d.message);
  }

  /**
   * The running configuration for `lvsd -t --diff`, next to the control socket: the preprocessed
   * text (includes inlined, parameters resolved), a configuration that means the same and loads
   * back into the same model; cheaper to write than the model itself.
   */
  private writeRunning(): void {
    const path = this.runningPath();
    try {
      writeFileSync(path, this.runningText + '\n', { mode: 0o600 });
    } catch (err) {
      this.log.warn({ path, err: String(err) }, 'could not write the running configuration');
    }
  }

  /** writeRunning without blocking; never rejects. */
  private async writeRunningAsync(): Promise<void> {
    const path = this.runningPath();
    try {
      await writeFile(path, this.runningText + '\n', { mode: 0o600 });
    } catch (err) {
      this.log.warn({ path, err: String(err) }, 'could not write the running configuration');
    }
  }

  private runningPath(): string {
    return runningFilePath(this.opts.controlSocket ?? this.config.lvsd_defs?.control_socket ?? DEFAULT_CONTROL_SOCKET);
  }
}

export function runningFilePath(controlSocket: string): string {
  return controlSocket + DEFAULT_RUNNING_SUFFIX;
}

/** A model with nothing in it, so a first start logs its plan as all additions. */
function emptyConfig(like: ConfigModel): ConfigModel {
  return { ...like, virtual_server: [], vrrp_instance: [], vrrp_script: [], vrrp_sync_group: [], track_file: [], lvsd_schedule: [], virtual_server_group: [] };
}
