// nq — never queue (ip_vs_nq.c): the first idle dest (active == 0) in list order at once,
// otherwise sed's minimum of (active + 1) / weight.
import type { PacketKey, SchedDest, Scheduler } from './types.js';

export class NeverQueueScheduler implements Scheduler {
  readonly name = 'nq' as const;
  private dests: readonly SchedDest[] = [];

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    const dests = this.dests;
    let least: SchedDest | null = null;
    let loh = 0;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i]!;
      if (d.overloaded || d.weight === 0) continue;
      if (d.activeConns === 0) return d;
      const doh = d.activeConns + 1;
      if (least === null || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
