// vrrp_script: run each script every `interval`, apply rise/fall, report up/down changes. Runs are
// asynchronous child processes, so a slow script never delays adverts; a run still going when the
// next is due is not doubled up.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { runCommand } from './exec.js';
import type { VrrpScriptSpec } from './types.js';

export interface ScriptStatus {
  up: boolean;
  /** Consecutive results against the current state (rise/fall progress). */
  streak: number;
}

/** Pure rise/fall step: the new status after one result. */
export function scriptStep(s: ScriptStatus, ok: boolean, rise: number, fall: number): ScriptStatus {
  if (ok === s.up) return { up: s.up, streak: 0 };
  const streak = s.streak + 1;
  const need = s.up ? fall : rise;
  return streak >= need ? { up: ok, streak: 0 } : { up: s.up, streak };
}

export class ScriptTracker extends EventEmitter {
  private readonly status = new Map<string, ScriptStatus>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<string>();
  private stopped = false;

  constructor(
    private readonly scripts: VrrpScriptSpec[],
    private readonly logger: Logger,
  ) {
    super();
    for (const s of scripts) this.status.set(s.name, { up: !s.initFail, streak: 0 });
  }

  isUp(name: string): boolean {
    return this.status.get(name)?.up ?? false;
  }

  spec(name: string): VrrpScriptSpec | undefined {
    return this.scripts.find((s) => s.name === name);
  }

  start(): void {
    for (const s of this.scripts) {
      const every = Math.max(10, (s.interval ?? 1) * 1000);
      void this.runOnce(s);
      this.timers.push(setInterval(() => void this.runOnce(s), every));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
  }

  private async runOnce(s: VrrpScriptSpec): Promise<void> {
    if (this.running.has(s.name) || this.stopped) return;
    this.running.add(s.name);
    const timeoutMs = Math.max(10, (s.timeout ?? s.interval ?? 1) * 1000);
    const r = await runCommand(s.command, [], timeoutMs);
    this.running.delete(s.name);
    if (this.stopped) return;
    const before = this.status.get(s.name)!;
    const after = scriptStep(before, r.ok, s.rise ?? 1, s.fall ?? 1);
    this.status.set(s.name, after);
    if (after.up !== before.up) {
      this.logger.info({ script: s.name, up: after.up, code: r.code, timedOut: r.timedOut }, 'vrrp_script state change');
      this.emit('change', s.name, after.up);
    }
  }
}
