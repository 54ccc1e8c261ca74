// MISC_CHECK: run misc_path; exit 0 = up, anything else = down. With misc_dynamic, exit 2..255
// is up with weight (status - 2). Killed after misc_timeout (default delay_loop) = down.
import type { CheckResult, MiscCheckSpec, ScriptPolicy } from './types.js';
import { runScript, type ScriptRun } from './script.js';

/** Pure: a finished run -> result. */
export function miscResult(run: ScriptRun, dynamic: boolean): CheckResult {
  const tookMs = run.tookMs;
  if (run.error) return { ok: false, reason: `${run.error.code}: ${run.error.message}`, tookMs };
  if (run.timedOut) return { ok: false, reason: 'timed out', tookMs };
  if (run.code === null) return { ok: false, reason: `signal ${run.signal}`, tookMs };
  if (run.code === 0) return { ok: true, reason: 'exit 0', tookMs };
  if (dynamic && run.code >= 2 && run.code <= 255) return { ok: true, reason: `exit ${run.code}`, weight: run.code - 2, tookMs };
  return { ok: false, reason: `exit ${run.code}`, tookMs };
}

export async function miscCheck(spec: MiscCheckSpec, timeoutMs: number, policy: ScriptPolicy, killGraceMs?: number): Promise<CheckResult> {
  const run = await runScript(spec.script, { timeoutMs, policy, maxOutputBytes: spec.maxOutputBytes, killGraceMs });
  return miscResult(run, spec.dynamic ?? false);
}
