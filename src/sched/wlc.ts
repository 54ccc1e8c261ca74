// wlc — weighted least connection (ip_vs_wlc.c), ipvsadm's default: minimises
// (active*256 + inactive) / weight with cross-multiplied integer comparisons.
import { connOverhead, weightedLeastConn } from './overhead.js';
import type { LoadOrder } from './load-index.js';
import { ScanScheduler } from './scan-scheduler.js';
import type { SchedDest } from './types.js';

// The kernel replaces the best b by d iff oh(b) * w(d) > oh(d) * w(b).
const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight > 0,
  better: (a, b) => connOverhead(a) * b.weight < connOverhead(b) * a.weight,
};

export class WeightedLeastConnectionScheduler extends ScanScheduler {
  readonly name = 'wlc' as const;

  constructor(indexed = false) {
    super(ORDER, indexed);
  }

  protected scan(dests: readonly SchedDest[]): SchedDest | null {
    return weightedLeastConn(dests);
  }
}
