// Shared load arithmetic of the connection-counting schedulers (include/net/ip_vs.h).
import type { SchedDest } from './types.js';

/** ip_vs_dest_conn_overhead(): an active connection costs 256 inactive ones. */
export function connOverhead(d: SchedDest): number {
  return d.activeConns * 256 + d.inactiveConns;
}

/**
 * Weighted least-connection over the whole list, the loop wlc, lblc and lblcr share:
 * the first dest that is not overloaded and has weight > 0 starts as best; each later
 * non-overloaded dest replaces it iff oh(best) * w(d) > oh(d) * w(best) (strict, so ties keep
 * the earlier one and weight 0 can never win). Products stay below 2^53 for weights ≤ 65535
 * and counters below 2^27, so plain Numbers are exact.
 */
export function weightedLeastConn(dests: readonly SchedDest[]): SchedDest | null {
  const n = dests.length;
  let i = 0;
  let least: SchedDest | null = null;
  for (; i < n; i++) {
    const d = dests[i]!;
    if (!d.overloaded && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = connOverhead(least);
  for (i++; i < n; i++) {
    const d = dests[i]!;
    if (d.overloaded) continue;
    const doh = connOverhead(d);
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/**
 * lblc/lblcr "is_overloaded": the cached dest has more active connections than its weight AND
 * some dest of the service is below half its weight (m.active * 2 < m.weight).
 */
export function localityOverloaded(d: SchedDest, dests: readonly SchedDest[]): boolean {
  if (d.activeConns <= d.weight) return false;
  for (let i = 0; i < dests.length; i++) {
    const m = dests[i]!;
    if (m.activeConns * 2 < m.weight) return true;
  }
  return false;
}
