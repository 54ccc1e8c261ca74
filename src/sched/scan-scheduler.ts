// The shape lc, wlc, sed, fo and ovf share: the kernel's scan over the whole list for the best
// destination, or, when the ipvs table asks for it ({ indexed: true }) and the list is long
// enough, an exact index of that same best (load-index.ts) kept current through changed().
import { INDEX_MIN_DESTS, LoadIndex, type LoadOrder } from './load-index.js';
import type { PacketKey, SchedDest, Scheduler, SchedulerName } from './types.js';

export abstract class ScanScheduler implements Scheduler {
  abstract readonly name: SchedulerName;
  private dests: readonly SchedDest[] = [];
  private readonly index: LoadIndex | null;
  /** Whether picks read the index: only for lists long enough for the scan to cost more. */
  private indexing = false;

  constructor(order: LoadOrder, indexed: boolean) {
    this.index = indexed ? new LoadIndex(order) : null;
  }

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
    this.indexing = this.index !== null && dests.length >= INDEX_MIN_DESTS;
    if (this.indexing) this.index!.rebuild(dests);
  }

  changed(d: SchedDest): void {
    if (this.indexing) this.index!.changed(d);
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    return this.indexing ? this.index!.best() : this.scan(this.dests);
  }

  /** The kernel's own loop (ip_vs_*.c), in list order. */
  protected abstract scan(dests: readonly SchedDest[]): SchedDest | null;
}
