// The checker state rules, as keepalived's check_*.c epilogues and ipwrapper.c apply them.
// Pure: no I/O, no clock (time comes in with each call), randomness injected. The runner (shell)
// turns the returned actions into timers, events, scripts and log lines.
//
// Rules (keepalived):
// - A checker starts up, or down under alpha. A real server is alive when none of its checkers
//   is down (num_failed_checkers == 0).
// - Success: retry count reset; a down checker goes up. Failure of an up checker: retry more
//   times, delay_before_retry apart, before it goes down. A down checker failing stays down.
// - Real server weight = configured weight + each checker's dynamic part (misc_dynamic, FILE),
//   clamped to 0..INT32_MAX. Down: removed from the table, or weight 0 with inhibit_on_failure.
// - Quorum: live weight sum >= quorum + hysteresis gains it; < quorum - hysteresis (or 0) loses
//   it. Losing it with a sorry server swaps all real servers out for the sorry server.
import type {
  CheckerSpec,
  CheckEvent,
  CheckResult,
  RealServerCheckSpec,
  ScriptSpec,
  VirtualServerCheckSpec,
} from './types.js';
import { endpoint, resolveTiming, type ResolvedTiming } from './timing.js';
import { sameSpec } from './same.js';

const WEIGHT_LIMIT = 2 ** 31 - 1;
/** Without warmup, first checks are still spread over this window (never all at one instant). */
const SPREAD_WINDOW_MS = 1_000;

export interface CoreChecker {
  key: string;
  name: string;
  vs: CoreVs;
  rs: CoreRs;
  spec: CheckerSpec;
  timing: ResolvedTiming;
  isUp: boolean;
  hasRun: boolean;
  retryIt: number;
  /** This checker's share of the real server's weight (misc_dynamic / FILE). */
  curWeight: number;
}

interface TableEntry {
  up: boolean;
  inTable: boolean;
  weight: number;
}

export interface CoreRs {
  key: string;
  spec: RealServerCheckSpec;
  iweight: number;
  inhibit: boolean;
  alive: boolean;
  numFailed: number;
  checkers: CoreChecker[];
  last: TableEntry | null;
}

export interface CoreVs {
  id: string;
  spec: VirtualServerCheckSpec;
  quorum: number;
  hysteresis: number;
  quorumUp: boolean;
  sorryAlive: boolean;
  sorryLast: TableEntry | null;
  suspended: boolean;
  rs: CoreRs[];
}

export type CoreAction =
  | { kind: 'schedule'; key: string; atMs: number }
  | { kind: 'cancel'; key: string }
  | { kind: 'emit'; event: CheckEvent }
  | { kind: 'script'; script: ScriptSpec; why: 'notify_up' | 'notify_down' | 'quorum_up' | 'quorum_down'; vs: string; rs: string }
  | { kind: 'log'; msg: string; fields: Record<string, unknown> };

function realWeight(w: number): number {
  return w < 0 ? 0 : w > WEIGHT_LIMIT ? WEIGHT_LIMIT : w;
}

function sameTiming(a: ResolvedTiming, b: ResolvedTiming): boolean {
  return (
    a.connectTimeoutMs === b.connectTimeoutMs &&
    a.retry === b.retry &&
    a.delayBeforeRetryMs === b.delayBeforeRetryMs &&
    a.warmupMs === b.warmupMs &&
    a.delayLoopMs === b.delayLoopMs &&
    a.alpha === b.alpha &&
    a.logAllFailures === b.logAllFailures
  );
}

export class CheckCore {
  vss: CoreVs[] = [];
  readonly checkers = new Map<string, CoreChecker>();
  /** Makes every checker key unique: a changed checker at the same place gets a new key. */
  private serial = 0;

  constructor(specs: readonly VirtualServerCheckSpec[], private readonly rand: () => number = Math.random) {
    for (const vsSpec of specs) this.vss.push(this.buildVs(vsSpec));
  }

  private buildVs(vsSpec: VirtualServerCheckSpec): CoreVs {
    const vs: CoreVs = {
      id: vsSpec.id,
      spec: vsSpec,
      quorum: vsSpec.quorum ?? 1,
      hysteresis: vsSpec.hysteresis ?? 0,
      quorumUp: false,
      sorryAlive: false,
      sorryLast: null,
      suspended: false,
      rs: [],
    };
    for (const rsSpec of vsSpec.realServers) {
      const rs: CoreRs = {
        key: endpoint(rsSpec.addr, rsSpec.port),
        spec: rsSpec,
        iweight: rsSpec.weight ?? 1,
        inhibit: rsSpec.inhibitOnFailure ?? vsSpec.inhibitOnFailure ?? false,
        alive: true,
        numFailed: 0,
        checkers: [],
        last: null,
      };
      for (let i = 0; i < rsSpec.checkers.length; i++) {
        const spec = rsSpec.checkers[i]!;
        const timing = resolveTiming(vsSpec, rsSpec, spec);
        const c: CoreChecker = {
          key: `${vs.id}|${rs.key}|${i}|${++this.serial}`,
          name: `${spec.type}#${i}`,
          vs,
          rs,
          spec,
          timing,
          isUp: !timing.alpha,
          hasRun: false,
          retryIt: 0,
          curWeight: 0,
        };
        if (!c.isUp) rs.numFailed++;
        rs.checkers.push(c);
        this.checkers.set(c.key, c);
      }
      rs.alive = rs.numFailed === 0;
      vs.rs.push(rs);
    }
    return vs;
  }

  /** First run: initial table entries, quorum, and every checker's first check (spread). */
  start(nowMs: number): CoreAction[] {
    const out: CoreAction[] = [];
    for (const vs of this.vss) {
      vs.quorumUp = this.liveWeight(vs) >= vs.quorum + vs.hysteresis;
      this.updateQuorum(vs, true, out);
      this.syncTable(vs, '', 'init', 0, out);
    }
    this.scheduleFirst([...this.checkers.values()], nowMs, out);
    return out;
  }

  /**
   * Reload, in place. A virtual server whose spec is unchanged is kept as it is (state, timers,
   * keys); that is the whole cost of an unchanged reload. A changed one is rebuilt, and each of
   * its checkers whose place (real server, index), definition and timing are unchanged takes
   * over the old checker's key and state. Returns actions: cancel the timers of checkers that
   * went away, schedule new ones, and table events for entries whose state differs from what the
   * daemon was last told.
   */
  reconcile(specs: readonly VirtualServerCheckSpec[], nowMs: number): CoreAction[] {
    const out: CoreAction[] = [];
    const fresh: CoreChecker[] = [];
    const oldVs = new Map<string, CoreVs>();
    for (const v of this.vss) oldVs.set(v.id, v);
    const next: CoreVs[] = [];
    const kept = new Set<CoreVs>();
    const rebuilt: { vs: CoreVs; isNew: boolean }[] = [];
    for (const vsSpec of specs) {
      const prev = oldVs.get(vsSpec.id);
      if (prev && (prev.spec === vsSpec || sameSpec(prev.spec, vsSpec))) {
        oldVs.delete(vsSpec.id);
        next.push(prev);
        kept.add(prev);
        continue;
      }
      const vs = this.buildVs(vsSpec);
      next.push(vs);
      rebuilt.push({ vs, isNew: prev === undefined });
      if (prev) oldVs.delete(vsSpec.id);
      this.takeOver(vs, prev, fresh);
    }
    // virtual servers that went away, and the old versions of rebuilt ones
    for (const v of this.vss) {
      if (kept.has(v)) continue;
      for (const rs of v.rs)
        for (const c of rs.checkers)
          if (this.checkers.get(c.key) === c) {
            this.checkers.delete(c.key);
            out.push({ kind: 'cancel', key: c.key });
          }
    }
    this.vss = next;
    for (const { vs, isNew } of rebuilt) {
      this.updateQuorum(vs, isNew, out);
      this.syncTable(vs, '', 'reload', 0, out);
    }
    this.scheduleFirst(fresh.filter((c) => !c.vs.suspended), nowMs, out);
    return out;
  }

  /** A rebuilt virtual server takes over the state of `prev` where the place and definition match. */
  private takeOver(vs: CoreVs, prev: CoreVs | undefined, fresh: CoreChecker[]): void {
    const prevRs = new Map<string, CoreRs>();
    for (const r of prev?.rs ?? []) prevRs.set(r.key, r);
    const resumed = prev !== undefined && prev.suspended && !vs.spec.haSuspend;
    for (const rs of vs.rs) {
      const p = prevRs.get(rs.key);
      if (p) rs.last = p.last;
      rs.numFailed = 0;
      for (let i = 0; i < rs.checkers.length; i++) {
        const c = rs.checkers[i]!;
        const o = p?.checkers[i];
        if (o && sameTiming(o.timing, c.timing) && sameSpec(o.spec, c.spec)) {
          this.checkers.delete(c.key);
          c.key = o.key;
          this.checkers.set(c.key, c);
          c.isUp = o.isUp;
          c.hasRun = o.hasRun;
          c.retryIt = o.retryIt;
          c.curWeight = o.curWeight;
          if (resumed) fresh.push(c); // its timer was cancelled while suspended
        } else fresh.push(c);
        if (!c.isUp) rs.numFailed++;
      }
      rs.alive = rs.numFailed === 0;
    }
    if (prev) {
      vs.quorumUp = prev.quorumUp;
      vs.sorryAlive = prev.sorryAlive && vs.spec.sorryServer !== undefined;
      vs.sorryLast = prev.sorryLast;
      vs.suspended = prev.suspended && vs.spec.haSuspend === true;
    } else vs.quorumUp = this.liveWeight(vs) >= vs.quorum + vs.hysteresis;
  }

  /** A check finished. Unknown keys (checker removed by a reload) are ignored. */
  result(key: string, res: CheckResult, nowMs: number): CoreAction[] {
    const c = this.checkers.get(key);
    if (!c || c.vs.suspended) return [];
    const out: CoreAction[] = [];
    const { vs, rs } = c;
    const sorryBefore = vs.sorryAlive;
    let delay = c.timing.delayLoopMs;
    if (res.ok) {
      c.retryIt = 0;
      const newCur =
        res.weightDelta !== undefined ? res.weightDelta : res.weight !== undefined ? res.weight - rs.iweight : 0;
      const weightChanged = newCur !== c.curWeight;
      c.curWeight = newCur;
      if (!c.isUp || !c.hasRun) this.setCheckerState(c, true, res, out);
      if (weightChanged) {
        out.push({ kind: 'log', msg: 'weight changed', fields: { vs: vs.id, rs: rs.key, checker: c.name, weight: this.rsWeight(rs) } });
        this.updateQuorum(vs, false, out);
      }
    } else if (c.isUp || !c.hasRun) {
      if (c.retryIt < c.timing.retry) {
        c.retryIt++;
        delay = c.timing.delayBeforeRetryMs;
        if (c.timing.logAllFailures)
          out.push({ kind: 'log', msg: 'check failed, will retry', fields: { vs: vs.id, rs: rs.key, checker: c.name, reason: res.reason, retry: c.retryIt, of: c.timing.retry } });
      } else {
        c.retryIt = 0;
        c.curWeight = 0;
        this.setCheckerState(c, false, res, out);
      }
    }
    c.hasRun = true;
    // only a sorry-server swap touches the other servers' entries; keep the common case O(1)
    if (vs.sorryAlive !== sorryBefore) this.syncTable(vs, c.name, res.reason, res.tookMs, out);
    else this.syncRs(vs, rs, c.name, res.reason, res.tookMs, out);
    out.push({ kind: 'schedule', key, atMs: nowMs + delay });
    return out;
  }

  /** ha_suspend: pause (true) or resume (false) the checks of every VS that has ha_suspend. */
  setSuspended(suspended: boolean, nowMs: number): CoreAction[] {
    const out: CoreAction[] = [];
    const resumed: CoreChecker[] = [];
    for (const vs of this.vss) {
      if (!vs.spec.haSuspend || vs.suspended === suspended) continue;
      vs.suspended = suspended;
      for (const rs of vs.rs)
        for (const c of rs.checkers) {
          if (suspended) out.push({ kind: 'cancel', key: c.key });
          else resumed.push(c);
        }
      out.push({ kind: 'log', msg: suspended ? 'checks suspended' : 'checks resumed', fields: { vs: vs.id } });
    }
    this.scheduleFirst(resumed, nowMs, out);
    return out;
  }

  /** Shutdown: with omega, run the down notifiers of live servers and quorum_down. */
  stop(): CoreAction[] {
    const out: CoreAction[] = [];
    for (const vs of this.vss) {
      for (const rs of vs.rs) for (const c of rs.checkers) out.push({ kind: 'cancel', key: c.key });
      if (!vs.spec.omega) continue;
      for (const rs of vs.rs)
        if (rs.alive && rs.spec.notifyDown)
          out.push({ kind: 'script', script: rs.spec.notifyDown, why: 'notify_down', vs: vs.id, rs: rs.key });
      if (vs.quorumUp && vs.spec.quorumDown)
        out.push({ kind: 'script', script: vs.spec.quorumDown, why: 'quorum_down', vs: vs.id, rs: '' });
    }
    return out;
  }

  rsWeight(rs: CoreRs): number {
    let w = rs.iweight;
    for (const c of rs.checkers) w += c.curWeight;
    return realWeight(w);
  }

  liveWeight(vs: CoreVs): number {
    let sum = 0;
    for (const rs of vs.rs) if (rs.alive) sum += this.rsWeight(rs);
    return sum;
  }

  private scheduleFirst(list: CoreChecker[], nowMs: number, out: CoreAction[]): void {
    list.forEach((c, i) => {
      const w = c.timing.warmupMs;
      const offset =
        w > 0
          ? Math.floor(this.rand() * w)
          : Math.floor((i / list.length) * Math.min(SPREAD_WINDOW_MS, c.timing.delayLoopMs));
      out.push({ kind: 'schedule', key: c.key, atMs: nowMs + offset });
    });
  }

  // keepalived update_svr_checker_state + perform_svr_state
  private setCheckerState(c: CoreChecker, up: boolean, res: CheckResult, out: CoreAction[]): void {
    const { vs, rs } = c;
    if (c.isUp === up) {
      // first result agreeing with the start state: alpha servers that fail announce "down"
      if (!c.hasRun && (c.timing.alpha || !up)) this.notifyRs(vs, rs, out);
      return;
    }
    const change = up ? rs.numFailed <= 1 : rs.numFailed === 0;
    c.isUp = up;
    rs.numFailed += up ? -1 : 1;
    out.push({ kind: 'log', msg: up ? 'checker up' : 'checker down', fields: { vs: vs.id, rs: rs.key, checker: c.name, reason: res.reason } });
    if (change && rs.alive !== up) {
      rs.alive = up;
      this.notifyRs(vs, rs, out);
      this.updateQuorum(vs, false, out);
    }
  }

  private notifyRs(vs: CoreVs, rs: CoreRs, out: CoreAction[]): void {
    const script = rs.alive ? rs.spec.notifyUp : rs.spec.notifyDown;
    if (script) out.push({ kind: 'script', script, why: rs.alive ? 'notify_up' : 'notify_down', vs: vs.id, rs: rs.key });
  }

  // keepalived update_quorum_state
  private updateQuorum(vs: CoreVs, init: boolean, out: CoreAction[]): void {
    const sum = this.liveWeight(vs);
    const threshold = vs.quorum + (vs.quorumUp ? -1 : 1) * vs.hysteresis;
    const sorry = vs.spec.sorryServer !== undefined;
    if (!vs.quorumUp && sum >= threshold) {
      vs.quorumUp = true;
      vs.sorryAlive = false;
    } else if ((vs.quorumUp && (sum === 0 || sum < threshold)) || (init && !vs.quorumUp && sorry && !vs.sorryAlive)) {
      vs.quorumUp = false;
      if (sorry) vs.sorryAlive = true;
    } else return;
    out.push({
      kind: 'emit',
      event: { kind: 'quorum', vs: vs.id, rs: '', up: vs.quorumUp, weight: sum, inTable: true, checker: '', reason: `${vs.quorumUp ? (init ? 'starting with quorum up' : 'gained quorum') : init ? 'starting with quorum down' : 'lost quorum'} (sum ${sum}, threshold ${threshold})`, took_ms: 0 },
    });
    const script = vs.quorumUp ? vs.spec.quorumUp : vs.spec.quorumDown;
    if (script) out.push({ kind: 'script', script, why: vs.quorumUp ? 'quorum_up' : 'quorum_down', vs: vs.id, rs: '' });
  }

  /** Emit an event for every table entry of `vs` whose desired state changed. */
  private syncTable(vs: CoreVs, checker: string, reason: string, tookMs: number, out: CoreAction[]): void {
    for (const rs of vs.rs) this.syncRs(vs, rs, checker, reason, tookMs, out);
    const s = vs.spec.sorryServer;
    if (!s) return;
    const want: TableEntry = vs.sorryAlive
      ? { up: true, inTable: true, weight: 1 }
      : { up: false, inTable: vs.spec.sorryServerInhibit ?? false, weight: 0 };
    const l = vs.sorryLast;
    if (l && l.up === want.up && l.inTable === want.inTable && l.weight === want.weight) return;
    vs.sorryLast = want;
    out.push({ kind: 'emit', event: { kind: 'sorry', vs: vs.id, rs: endpoint(s.addr, s.port), up: want.up, weight: want.weight, inTable: want.inTable, checker: '', reason: vs.sorryAlive ? 'quorum lost' : 'quorum held', took_ms: 0 } });
  }

  /** Emit an event if this real server's desired table entry changed. */
  private syncRs(vs: CoreVs, rs: CoreRs, checker: string, reason: string, tookMs: number, out: CoreAction[]): void {
    const want: TableEntry =
      rs.alive && !vs.sorryAlive
        ? { up: true, inTable: true, weight: this.rsWeight(rs) }
        : { up: rs.alive, inTable: rs.inhibit, weight: 0 };
    const l = rs.last;
    if (l && l.up === want.up && l.inTable === want.inTable && l.weight === want.weight) return;
    rs.last = want;
    const why = rs.alive && vs.sorryAlive ? 'quorum lost: sorry server in use' : reason;
    out.push({ kind: 'emit', event: { kind: 'rs', vs: vs.id, rs: rs.key, up: want.up, weight: want.weight, inTable: want.inTable, checker, reason: why, took_ms: tookMs } });
  }
}
