// ovf — overflow (ip_vs_ovf.c): the highest weight among dests that are not overloaded, have
// weight > 0 and no more active connections than their weight; ties keep the earliest.
import type { LoadOrder } from './load-index.js';
import { ScanScheduler } from './scan-scheduler.js';
import type { SchedDest } from './types.js';

// The highest weight among dests whose active connections do not exceed their weight.
const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight > 0 && d.activeConns <= d.weight,
  better: (a, b) => a.weight > b.weight,
};

export class OverflowScheduler extends ScanScheduler {
  readonly name = 'ovf' as const;

  constructor(indexed = false) {
    super(ORDER, indexed);
  }

  protected scan(dests: readonly SchedDest[]): SchedDest | null {
    let best: SchedDest | null = null;
    let hw = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      const w = d.weight;
      if (d.overloaded || d.activeConns > w || w === 0) continue;
      if (best === null || w > hw) {
        best = d;
        hw = w;
      }
    }
    return best;
  }
}
