// fo — weighted fail-over (ip_vs_fo.c): the highest weight among dests not overloaded;
// ties keep the earliest; load is ignored.
import type { PacketKey, SchedDest, Scheduler } from './types.js';

export class WeightedFailoverScheduler implements Scheduler {
  readonly name = 'fo' as const;
  private dests: readonly SchedDest[] = [];

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    const dests = this.dests;
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
