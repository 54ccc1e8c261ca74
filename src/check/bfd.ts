// BFD_CHECK (keepalived check_bfd.c): the checker is up while the named BFD session was last
// reported up. The runner pushes each reported change straight into the checker rules, so a
// session going Down takes the real server down without waiting for delay_loop.
import type { BfdStateSource } from '../bfd/index.js';
import type { BfdCheckSpec, CheckResult } from './types.js';

/** Read the session's reported state now. Without a BFD source every BFD_CHECK is down. */
export function bfdCheck(spec: BfdCheckSpec, source: BfdStateSource | undefined): CheckResult {
  const up = source?.isUp(spec.name) ?? false;
  return { ok: up, reason: up ? 'bfd up' : source ? 'bfd down' : 'bfd not running', tookMs: 0 };
}
