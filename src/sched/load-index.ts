// An exact index for the schedulers that scan the whole list for the "best" destination
// (lc, wlc, sed, fo, ovf): a segment tree over list positions whose nodes keep the best
// eligible position of their range. Combining keeps the left (earlier) position unless the
// right one is strictly better, so the root is exactly what the kernel's first-wins scan
// returns. Picks read the root (O(1)); the table reports each counter or flag change through
// Scheduler.changed (O(log n)); update() rebuilds (O(n)).

import type { SchedDest } from './types.js';

/**
 * Below this many destinations the plain scan is cheaper than keeping the index (measured:
 * ~50 ns scan vs ~200 ns of index upkeep per connection at 10; the index wins from ~100 up).
 */
export const INDEX_MIN_DESTS = 64;

export interface LoadOrder {
  /** May this destination take a new connection at all? */
  eligible(d: SchedDest): boolean;
  /** Is `a` strictly better than `b`? (Must be a strict weak order over eligible dests.) */
  better(a: SchedDest, b: SchedDest): boolean;
}

export class LoadIndex {
  private dests: readonly SchedDest[] = [];
  private readonly pos = new Map<SchedDest, number>();
  /** tree[1] is the root; leaves start at `size`; -1 = no eligible dest below. */
  private tree = new Int32Array(2);
  private size = 1;

  constructor(private readonly order: LoadOrder) {}

  rebuild(dests: readonly SchedDest[]): void {
    this.dests = dests;
    this.pos.clear();
    let size = 1;
    while (size < dests.length) size <<= 1;
    this.size = size;
    if (this.tree.length < 2 * size) this.tree = new Int32Array(2 * size);
    this.tree.fill(-1);
    for (let i = 0; i < dests.length; i++) {
      this.pos.set(dests[i]!, i);
      this.tree[size + i] = this.order.eligible(dests[i]!) ? i : -1;
    }
    for (let n = size - 1; n >= 1; n--) this.tree[n] = this.combine(this.tree[2 * n]!, this.tree[2 * n + 1]!);
  }

  /** A destination's counters, weight or overload flag changed. */
  changed(d: SchedDest): void {
    const i = this.pos.get(d);
    if (i === undefined) return;
    let n = this.size + i;
    this.tree[n] = this.order.eligible(d) ? i : -1;
    for (n >>= 1; n >= 1; n >>= 1) this.tree[n] = this.combine(this.tree[2 * n]!, this.tree[2 * n + 1]!);
  }

  best(): SchedDest | null {
    const i = this.tree[1]!;
    return i < 0 ? null : this.dests[i]!;
  }

  private combine(l: number, r: number): number {
    if (l < 0) return r;
    if (r < 0) return l;
    return this.order.better(this.dests[r]!, this.dests[l]!) ? r : l;
  }
}
