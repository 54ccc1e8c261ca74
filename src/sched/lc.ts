// lc — least connection (ip_vs_lc.c): smallest active*256 + inactive; weight only gates (0 = skip).
import { connOverhead } from './overhead.js';
import { INDEX_MIN_DESTS, LoadIndex, type LoadOrder } from './load-index.js';
import type { PacketKey, SchedDest, Scheduler } from './types.js';

const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight !== 0,
  better: (a, b) => connOverhead(a) < connOverhead(b),
};

export class LeastConnectionScheduler implements Scheduler {
  readonly name = 'lc' as const;
  private dests: readonly SchedDest[] = [];
  /** Present when created with { indexed: true } (the table): picks read it instead of scanning. */
  private readonly index: LoadIndex | null;

  constructor(indexed = false) {
    this.index = indexed ? new LoadIndex(ORDER) : null;
  }

  /** Whether picks read the index: only for lists long enough for the scan to cost more. */
  private indexing = false;

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
    this.indexing = this.index !== null && dests.length >= INDEX_MIN_DESTS;
    if (this.indexing) this.index!.rebuild(dests);
  }

  changed(d: SchedDest): void {
    if (this.indexing) this.index!.changed(d);
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    if (this.indexing) return this.index!.best();
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
