// sed — shortest expected delay (ip_vs_sed.c): minimises (active + 1) / weight; inactive ignored.
import type { LoadOrder } from './load-index.js';
import { ScanScheduler } from './scan-scheduler.js';
import type { SchedDest } from './types.js';

// (active + 1) / weight, cross-multiplied as the kernel compares it.
const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight > 0,
  better: (a, b) => (a.activeConns + 1) * b.weight < (b.activeConns + 1) * a.weight,
};

export class ShortestExpectedDelayScheduler extends ScanScheduler {
  readonly name = 'sed' as const;

  constructor(indexed = false) {
    super(ORDER, indexed);
  }

  protected scan(dests: readonly SchedDest[]): SchedDest | null {
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
    let loh = least.activeConns + 1;
    for (i++; i < n; i++) {
      const d = dests[i]!;
      if (d.overloaded) continue;
      const doh = d.activeConns + 1;
      if (loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
