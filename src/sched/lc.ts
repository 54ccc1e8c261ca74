// lc — least connection (ip_vs_lc.c): smallest active*256 + inactive; weight only gates (0 = skip).
import { connOverhead } from './overhead.js';
import type { LoadOrder } from './load-index.js';
import { ScanScheduler } from './scan-scheduler.js';
import type { SchedDest } from './types.js';

const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight !== 0,
  better: (a, b) => connOverhead(a) < connOverhead(b),
};

export class LeastConnectionScheduler extends ScanScheduler {
  readonly name = 'lc' as const;

  constructor(indexed = false) {
    super(ORDER, indexed);
  }

  protected scan(dests: readonly SchedDest[]): SchedDest | null {
    let least: SchedDest | null = null;
    let loh = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (d.overloaded || d.weight === 0) continue;
      const doh = connOverhead(d);
      if (least === null || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
