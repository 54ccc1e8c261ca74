// wlc — weighted least connection (ip_vs_wlc.c), ipvsadm's default: minimises
// (active*256 + inactive) / weight with cross-multiplied integer comparisons.
import { weightedLeastConn } from './overhead.js';
import type { PacketKey, SchedDest, Scheduler } from './types.js';

export class WeightedLeastConnectionScheduler implements Scheduler {
  readonly name = 'wlc' as const;
  private dests: readonly SchedDest[] = [];

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    return weightedLeastConn(this.dests);
  }
}
