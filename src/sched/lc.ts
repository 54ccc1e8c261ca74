// lc — least connection (ip_vs_lc.c): smallest active*256 + inactive; weight only gates (0 = skip).
import { connOverhead } from './overhead.js';
import type { PacketKey, SchedDest, Scheduler } from './types.js';

export class LeastConnectionScheduler implements Scheduler {
  readonly name = 'lc' as const;
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
      const doh = connOverhead(d);
      if (least === null || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
