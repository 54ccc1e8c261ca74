// sed — shortest expected delay (ip_vs_sed.c): minimises (active + 1) / weight; inactive ignored.
import type { PacketKey, SchedDest, Scheduler } from './types.js';

export class ShortestExpectedDelayScheduler implements Scheduler {
  readonly name = 'sed' as const;
  private dests: readonly SchedDest[] = [];

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    const dests = this.dests;
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
