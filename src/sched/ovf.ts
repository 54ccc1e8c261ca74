// ovf — overflow (ip_vs_ovf.c): the highest weight among dests that are not overloaded, have
// weight > 0 and no more active connections than their weight; ties keep the earliest.
import { INDEX_MIN_DESTS, LoadIndex, type LoadOrder } from './load-index.js';
import type { PacketKey, SchedDest, Scheduler } from './types.js';

// The highest weight among dests whose active connections do not exceed their weight.
const ORDER: LoadOrder = {
  eligible: (d) => !d.overloaded && d.weight > 0 && d.activeConns <= d.weight,
  better: (a, b) => a.weight > b.weight,
};

export class OverflowScheduler implements Scheduler {
  readonly name = 'ovf' as const;
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
