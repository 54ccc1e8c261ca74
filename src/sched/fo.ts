// fo — weighted fail-over (ip_vs_fo.c): the highest weight among dests not overloaded;
// ties keep the earliest; load is ignored.
import type { LoadOrder } from './load-index.js';
import { ScanScheduler } from './scan-scheduler.js';
import type { SchedDest } from './types.js';

// The highest weight; the kernel's strict `>` keeps the earliest of equal weights.
const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight > 0,
  better: (a, b) => a.weight > b.weight,
};

export class WeightedFailoverScheduler extends ScanScheduler {
  readonly name = 'fo' as const;

  constructor(indexed = false) {
    super(ORDER, indexed);
  }

  protected scan(dests: readonly SchedDest[]): SchedDest | null {
    let best: SchedDest | null = null;
    let hw = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > hw) {
        best = d;
        hw = d.weight;
      }
    }
    return best;
  }
}
