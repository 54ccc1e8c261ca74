// keepalived's checker timing defaults and the virtual server > real server > checker
// inheritance (check_parser.c / check_api.c). Pure.
import type { CheckerSpec, CheckTiming, RealServerCheckSpec, VirtualServerCheckSpec } from './types.js';

export interface ResolvedTiming {
  connectTimeoutMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  warmupMs: number;
  delayLoopMs: number;
  alpha: boolean;
  logAllFailures: boolean;
}

export const DEFAULT_DELAY_LOOP_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** FILE_CHECK has no timing of its own in keepalived (inotify); we poll the file this often. */
export const FILE_POLL_MS = 1_000;

function pick<K extends keyof CheckTiming>(k: K, ...levels: CheckTiming[]): CheckTiming[K] {
  for (const l of levels) if (l[k] !== undefined) return l[k];
  return undefined;
}

export function resolveTiming(
  vs: VirtualServerCheckSpec,
  rs: RealServerCheckSpec,
  chk: CheckerSpec,
): ResolvedTiming {
  const levels: CheckTiming[] = [chk, rs, vs];
  const delayLoopMs = chk.type === 'FILE' ? FILE_POLL_MS : (pick('delayLoopMs', ...levels) ?? DEFAULT_DELAY_LOOP_MS);
  const defaultRetry = chk.type === 'DNS' ? 3 : chk.type === 'MISC' || chk.type === 'FILE' ? 0 : 1;
  const defaultDelayBeforeRetry =
    chk.type === 'DNS' ? delayLoopMs : chk.type === 'HTTP' || chk.type === 'SSL' ? 3_000 : 1_000;
  return {
    connectTimeoutMs: pick('connectTimeoutMs', ...levels) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    retry: chk.type === 'FILE' ? 0 : (pick('retry', ...levels) ?? defaultRetry),
    delayBeforeRetryMs: pick('delayBeforeRetryMs', ...levels) ?? defaultDelayBeforeRetry,
    warmupMs: chk.type === 'FILE' ? 0 : (pick('warmupMs', ...levels) ?? delayLoopMs),
    delayLoopMs,
    // keepalived clears alpha for file checkers: their state is known immediately
    alpha: chk.type === 'FILE' ? false : (pick('alpha', ...levels) ?? false),
    logAllFailures: pick('logAllFailures', ...levels) ?? false,
  };
}

/** "addr:port", with IPv6 in brackets. */
export function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}
