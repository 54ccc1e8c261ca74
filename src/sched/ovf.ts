// ovf — overflow (ip_vs_ovf.c): the highest weight among dests that are not overloaded, have
// weight > 0 and no more active connections than their weight; ties keep the earliest.
import type { PacketKey, SchedDest, Scheduler } from './types.js';

export class OverflowScheduler implements Scheduler {
  readonly name = 'ovf' as const;
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
