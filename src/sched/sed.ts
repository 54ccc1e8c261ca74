// sed — shortest expected delay (ip_vs_sed.c): minimises (active + 1) / weight; inactive ignored.
import { INDEX_MIN_DESTS, LoadIndex, type LoadOrder } from './load-index.js';
import type { PacketKey, SchedDest, Scheduler } from './types.js';

// (active + 1) / weight, cross-multiplied as the kernel compares it.
const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight > 0,
  better: (a, b) => (a.activeConns + 1) * b.weight < (b.activeConns + 1) * a.weight,
};

export class ShortestExpectedDelayScheduler implements Scheduler {
  readonly name = 'sed' as const;
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
