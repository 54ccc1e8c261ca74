// vrrp_track_process: counts matching processes and reports each tracker's up/down changes.
// keepalived follows the kernel's proc connector (fork/exec/comm/exit events); lvsd polls /proc
// instead (every pollMs, default 250 ms): a new PID whose parent was counted is taken as a fork,
// a PID gone from /proc (or a zombie) as an exit, a PID that stopped matching as exec/rename.
// Matching and the quorum/delay rules are pure (process-match.ts, process-quorum.ts).
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { compileProcessMatch, parseStat, processMatches, type CompiledProcessMatch, type ProcInfo } from './process-match.js';
import { ProcessQuorum, type ProcessChange } from './process-quorum.js';
import type { VrrpTrackProcessSpec } from './types.js';

export interface ProcessTrackerOptions {
  logger: Logger;
  clock: Clock;
  /** Default 250 ms. */
  pollMs?: number;
  /** Default /proc (tests may point elsewhere). */
  procRoot?: string;
}

interface Tracked {
  spec: VrrpTrackProcessSpec;
  match: CompiledProcessMatch;
  quorum: ProcessQuorum;
  pids: Set<number>;
}

/**
 * One look at /proc: every process with what the matchers need. Synchronous reads cost a third of
 * fs/promises' CPU here (~100 processes: ~2-6 ms against 10-25 ms per scan); the loop yields every
 * 32 processes so a host with thousands never holds the event loop (and VRRP timers) for long.
 */
export async function scanProcesses(procRoot: string, withCmdline: boolean): Promise<Map<number, ProcInfo>> {
  const out = new Map<number, ProcInfo>();
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return out;
  }
  let n = 0;
  for (const name of names) {
    if (!/^[1-9]\d*$/.test(name)) continue;
    if (++n % 32 === 0) await new Promise((r) => setImmediate(r));
    const pid = Number(name);
    try {
      const st = parseStat(readFileSync(`${procRoot}/${name}/stat`, 'utf8'));
      if (!st) continue;
      let cmdline: Buffer | null = null;
      if (withCmdline) {
        try {
          cmdline = readFileSync(`${procRoot}/${name}/cmdline`);
        } catch {
          cmdline = null;
        }
      }
      out.set(pid, { pid, ppid: st.ppid, comm: st.comm, zombie: st.state === 'Z', cmdline });
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

export class ProcessTracker extends EventEmitter {
  private readonly tracked = new Map<string, Tracked>();
  private poll: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scanning = false;
  private started = false;
  private initialised = false;
  private stopped = false;
  private readonly withCmdline: boolean;

  constructor(
    specs: readonly VrrpTrackProcessSpec[],
    private readonly o: ProcessTrackerOptions,
  ) {
    super();
    for (const s of specs) {
      this.tracked.set(s.name, {
        spec: s,
        match: compileProcessMatch(s),
        quorum: new ProcessQuorum({
          quorum: s.quorum ?? 1,
          quorumMax: s.quorumMax ?? Infinity,
          forkDelayUs: Math.round((s.forkDelay ?? 0) * 1e6),
          terminateDelayUs: Math.round((s.terminateDelay ?? 0) * 1e6),
        }),
        pids: new Set(),
      });
    }
    this.withCmdline = [...this.tracked.values()].some((t) => t.match.fullCommand);
  }

  isUp(name: string): boolean {
    return this.tracked.get(name)?.quorum.up ?? false;
  }

  count(name: string): number {
    return this.tracked.get(name)?.quorum.current ?? 0;
  }

  spec(name: string): VrrpTrackProcessSpec | undefined {
    return this.tracked.get(name)?.spec;
  }

  /** The first scan sets every status (no delays); resolves once it is done. */
  async start(): Promise<void> {
    if (this.started || !this.tracked.size) return;
    this.started = true;
    await this.scan();
    if (this.stopped) return;
    this.poll = setInterval(() => void this.scan(), this.o.pollMs ?? 250);
  }

  stop(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    this.poll = this.timer = null;
  }

  private async scan(): Promise<void> {
    if (this.scanning || this.stopped) return;
    this.scanning = true;
    try {
      const procs = await scanProcesses(this.o.procRoot ?? '/proc', this.withCmdline);
      if (this.stopped) return;
      const now = this.o.clock.nowUs();
      for (const [name, t] of this.tracked) {
        const next = new Set<number>();
        for (const p of procs.values()) if (processMatches(t.match, p)) next.add(p.pid);
        if (!this.initialised) {
          t.pids = next;
          t.quorum.init(next.size);
          this.o.logger.info({ process: name, count: next.size, up: t.quorum.up }, 'track_process initial state');
          continue;
        }
        const changes: ProcessChange[] = [];
        for (const pid of t.pids) if (!next.has(pid)) changes.push({ kind: 'removed', byExit: !procs.has(pid) || procs.get(pid)!.zombie });
        for (const pid of next) if (!t.pids.has(pid)) changes.push({ kind: 'added', byFork: t.pids.has(procs.get(pid)!.ppid) });
        t.pids = next;
        if (changes.length && t.quorum.apply(now, changes)) this.changed(name, t);
      }
      this.initialised = true;
    } catch (e) {
      this.o.logger.error({ error: (e as Error).message }, 'track_process scan failed');
    } finally {
      this.scanning = false;
    }
    this.arm();
  }

  private changed(name: string, t: Tracked): void {
    this.o.logger.info({ process: name, count: t.quorum.current, up: t.quorum.up }, 'track_process state change');
    this.emit('change', name, t.quorum.up);
  }

  /** One timer for the earliest fork/terminate delay. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const due = [...this.tracked.values()].map((t) => t.quorum.nextDeadline()).filter((d): d is number => d !== null);
    if (!due.length) return;
    const ms = Math.max(0, Math.ceil((Math.min(...due) - this.o.clock.nowUs()) / 1000));
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = this.o.clock.nowUs();
      for (const [name, t] of this.tracked) if (t.quorum.tick(now)) this.changed(name, t);
      this.arm();
    }, ms);
  }
}
