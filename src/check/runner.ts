// The check runner (shell): owns the timers, runs the checkers, and carries out what the pure
// CheckCore decides: table events to the daemon's callback (one pino line each), notify and
// quorum scripts, reload (reconcile) and ha_suspend. A checker that throws is a failed check;
// nothing here throws into the daemon.
import { CheckCore, type CoreAction, type CoreChecker } from './core.js';
import { systemClock, type Clock } from './clock.js';
import type { CheckEvent, CheckResult, ScriptPolicy, VirtualServerCheckSpec } from './types.js';
import type { CheckTarget } from './target.js';
import { tcpCheck, TcpProbe, type TcpProbeOwner } from './tcp.js';
import { DeadlineQueue, type Deadline } from './deadlines.js';
import { connectEndpoint } from './target.js';
import { httpCheck } from './http.js';
import { miscCheck } from './misc.js';
import { smtpCheck } from './smtp.js';
import { dnsCheck } from './dns.js';
import { udpCheck } from './udp.js';
import { pingCheck } from './ping.js';
import { fileCheck } from './file.js';
import { runScript } from './script.js';
import { bfdCheck } from './bfd.js';
import type { BfdStateSource } from '../bfd/index.js';

/** The part of a pino logger we use. */
export interface CheckLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RunnerOptions {
  onEvent: (e: CheckEvent) => void;
  logger: CheckLogger;
  clock?: Clock;
  /** Randomness for warmup (0 <= r < 1). */
  rand?: () => number;
  scriptPolicy?: ScriptPolicy;
  /** Timeout for notify/quorum scripts (default 30 s). */
  notifyTimeoutMs?: number;
  /** SIGTERM -> SIGKILL grace for scripts (default 2 s, keepalived's). */
  killGraceMs?: number;
  /**
   * Check starts and connect timeouts due within the same slot of this many ms run together on
   * one wake-up (default 10). They are late by less than one slot, never early. At 10,000
   * checkers every 5 s this is ~20 checks per wake-up instead of ~2, and about a quarter less
   * CPU than 1 ms slots (bench/check); 10 ms is nothing next to delay_loop and connect_timeout.
   */
  slotMs?: number;
  /** BFD sessions that BFD_CHECK checkers follow (their changes are pushed in as results). */
  bfd?: BfdStateSource;
}

/** Run one check of `c` now. Never rejects. */
export async function runChecker(c: CoreChecker, policy: ScriptPolicy, signal: AbortSignal, killGraceMs?: number, bfd?: BfdStateSource): Promise<CheckResult> {
  const target: CheckTarget = { addr: c.rs.spec.addr, port: c.rs.spec.port, virtualhost: c.rs.spec.virtualhost ?? c.vs.spec.virtualhost };
  const t = c.timing.connectTimeoutMs;
  const s = c.spec;
  try {
    switch (s.type) {
      case 'TCP': return await tcpCheck(s, target, t, signal);
      case 'HTTP': case 'SSL': return await httpCheck(s, target, t, signal);
      case 'MISC': return await miscCheck(s, s.timeoutMs ?? c.timing.delayLoopMs, policy, killGraceMs);
      case 'SMTP': return await smtpCheck(s, target, t, signal);
      case 'DNS': return await dnsCheck(s, target, t, signal);
      case 'UDP': return await udpCheck(s, target, t, signal);
      case 'PING': return await pingCheck(s, target, t, signal);
      case 'FILE': return await fileCheck(s);
      case 'BFD': return bfdCheck(s, bfd);
    }
  } catch (e) {
    return { ok: false, reason: `internal: ${(e as Error).message}`, tookMs: 0 };
  }
}

/** A checker's place in the runner: its next start in the DeadlineQueue and its running check. */
class CheckTask implements Deadline, TcpProbeOwner {
  dueSlot = -1;
  /** The check in progress (a TcpProbe, or an AbortController for the other types). */
  inflight: { abort(): void } | null = null;
  constructor(readonly key: string, private readonly runner: CheckRunner) {}
  onDue(): void {
    this.runner.fire(this);
  }
  now(): number {
    return this.runner.clock.now();
  }
  tcpDone(probe: TcpProbe, result: CheckResult): void {
    this.runner.done(this, probe, result);
  }
}

const DEFAULT_SLOT_MS = 10;

export class CheckRunner {
  private readonly core: CheckCore;
  /** @internal */
  readonly clock: Clock;
  private readonly queue: DeadlineQueue;
  private readonly tasks = new Map<string, CheckTask>();
  private readonly running = new Set<Promise<unknown>>();
  /** TCP probes in flight (they are not promises); idle() waits for them too. */
  private probes = 0;
  private probesDrained: (() => void)[] = [];
  /** The one clock timer, armed for `armedAt`. */
  private timer: unknown = undefined;
  private armedAt = Infinity;
  private stopped = false;
  private suspended = false;
  private unsubscribeBfd: (() => void) | null = null;

  constructor(specs: readonly VirtualServerCheckSpec[], private readonly o: RunnerOptions) {
    this.clock = o.clock ?? systemClock;
    this.queue = new DeadlineQueue(o.slotMs ?? DEFAULT_SLOT_MS);
    this.core = new CheckCore(specs, o.rand);
  }

  start(): void {
    this.apply(this.core.start(this.clock.now()));
    // keepalived's BFD process reports every session's state at start-up: BFD_CHECKs take it now
    if (this.o.bfd) {
      this.unsubscribeBfd = this.o.bfd.onChange((name) => this.bfdChanged(name));
      this.bfdChanged(null);
    }
  }

  /** Push a BFD session's reported state into its BFD_CHECK checkers (all when name is null). */
  private bfdChanged(name: string | null): void {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const c of this.core.checkers.values()) {
      if (c.spec.type !== 'BFD' || (name !== null && c.spec.name !== name)) continue;
      this.apply(this.core.result(c.key, bfdCheck(c.spec, this.o.bfd), now));
    }
  }

  /** Reload: checkers whose place and definition are unchanged keep their state and timers. */
  reconcile(specs: readonly VirtualServerCheckSpec[]): void {
    if (this.stopped) return;
    const actions = this.core.reconcile(specs, this.clock.now());
    if (this.suspended) actions.push(...this.core.setSuspended(true, this.clock.now()));
    this.apply(actions);
    // new BFD_CHECKs take their session's state at once, as at start
    if (this.unsubscribeBfd) this.bfdChanged(null);
  }

  /** ha_suspend: the daemon calls this with true while this director is not VRRP master. */
  setHaSuspended(suspended: boolean): void {
    if (this.stopped) return;
    this.suspended = suspended;
    this.apply(this.core.setSuspended(suspended, this.clock.now()));
  }

  /** Stop all checks; with omega, run the down notifiers (awaited). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const actions = this.core.stop();
    this.apply(actions);
    this.stopped = true;
    this.unsubscribeBfd?.();
    this.unsubscribeBfd = null;
    for (const t of this.tasks.values()) t.inflight?.abort();
    this.disarm();
    await this.idle();
  }

  /** Resolves when no check or script started by this runner is still running. */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.probes > 0) {
      const drained = this.probes > 0 ? new Promise<void>((r) => this.probesDrained.push(r)) : undefined;
      await Promise.allSettled([...this.running, drained]);
    }
  }

  /** Read-only view for status output: per real server, alive and weight. */
  snapshot(): { vs: string; quorumUp: boolean; rs: { rs: string; alive: boolean; weight: number }[] }[] {
    return this.core.vss.map((v) => ({
      vs: v.id,
      quorumUp: v.quorumUp,
      rs: v.rs.map((r) => ({ rs: r.key, alive: r.alive, weight: this.core.rsWeight(r) })),
    }));
  }

  private track(p: Promise<unknown>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private apply(actions: CoreAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'schedule': {
          if (this.stopped) break;
          let t = this.tasks.get(a.key);
          if (!t) this.tasks.set(a.key, (t = new CheckTask(a.key, this)));
          this.queue.schedule(t, a.atMs);
          break;
        }
        case 'cancel': {
          const t = this.tasks.get(a.key);
          if (!t) break;
          this.tasks.delete(a.key);
          this.queue.cancel(t);
          const running = t.inflight;
          t.inflight = null; // its result is ignored
          running?.abort();
          break;
        }
        case 'emit':
          this.o.logger.info({ ...a.event }, `${a.event.kind} ${a.event.up ? 'up' : 'down'}`);
          try {
            this.o.onEvent(a.event);
          } catch (e) {
            this.o.logger.warn({ vs: a.event.vs, rs: a.event.rs, err: (e as Error).message }, 'event handler threw');
          }
          break;
        case 'script': {
          const p = runScript(a.script, {
            timeoutMs: this.o.notifyTimeoutMs ?? 30_000,
            policy: this.o.scriptPolicy,
            killGraceMs: this.o.killGraceMs,
          }).then((r) => {
            if (r.error || r.timedOut || r.code !== 0)
              this.o.logger.warn({ vs: a.vs, rs: a.rs, script: a.why, code: r.code, timedOut: r.timedOut, err: r.error?.message }, 'notify script failed');
          });
          this.track(p);
          break;
        }
        case 'log':
          this.o.logger.info(a.fields, a.msg);
          break;
      }
    }
    this.arm();
  }

  /** Keep the one clock timer armed for the queue's earliest slot. */
  private arm(): void {
    const next = this.stopped ? Infinity : this.queue.next();
    if (next === this.armedAt) return;
    // an earlier wake-up is armed: it re-arms for the rest when it fires
    if (next > this.armedAt && next !== Infinity) return;
    this.disarm();
    if (next === Infinity) return;
    this.armedAt = next;
    this.timer = this.clock.setTimeout(this.wake, Math.ceil(next - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  private readonly wake = (): void => {
    this.timer = undefined;
    this.armedAt = Infinity;
    this.queue.runDue(this.clock.now());
    this.arm();
  };

  /** @internal A task came due: start its check. */
  fire(t: CheckTask): void {
    const c = this.core.checkers.get(t.key);
    if (!c || this.stopped || t.inflight) return;
    if (c.spec.type === 'BFD') {
      // a state read, not a probe: take it now (no in-flight window for a pushed change to race)
      this.apply(this.core.result(t.key, bfdCheck(c.spec, this.o.bfd), this.clock.now()));
      return;
    }
    if (c.spec.type === 'TCP') {
      const target = { addr: c.rs.spec.addr, port: c.rs.spec.port };
      this.probes++;
      t.inflight = new TcpProbe(connectEndpoint(c.spec, target), c.timing.connectTimeoutMs, this.queue, t);
      return;
    }
    const ctl = new AbortController();
    t.inflight = ctl;
    const p = runChecker(c, this.o.scriptPolicy ?? {}, ctl.signal, this.o.killGraceMs, this.o.bfd).then((res) => this.done(t, ctl, res));
    this.track(p);
  }

  /** @internal A check finished (or was aborted). */
  done(t: CheckTask, handle: { abort(): void }, res: CheckResult): void {
    if (handle instanceof TcpProbe && --this.probes === 0) {
      const waiters = this.probesDrained;
      this.probesDrained = [];
      for (const w of waiters) w();
    }
    if (t.inflight !== handle) return; // cancelled, or replaced by a reload
    t.inflight = null;
    if (this.stopped) return;
    this.apply(this.core.result(t.key, res, this.clock.now()));
  }
}
