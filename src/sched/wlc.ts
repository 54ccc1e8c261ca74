// wlc — weighted least connection (ip_vs_wlc.c), ipvsadm's default: minimises
// (active*256 + inactive) / weight with cross-multiplied integer comparisons.
import { connOverhead, weightedLeastConn } from './overhead.js';
import { INDEX_MIN_DESTS, LoadIndex, type LoadOrder } from './load-index.js';
import type { PacketKey, SchedDest, Scheduler } from './types.js';

// The kernel replaces the best b by d iff oh(b) * w(d) > oh(d) * w(b).
const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight > 0,
  better: (a, b) => connOverhead(a) * b.weight < connOverhead(b) * a.weight,
};

export class WeightedLeastConnectionScheduler implements Scheduler {
  readonly name = 'wlc' as const;
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
    return weightedLeastConn(this.dests);
  }
}
