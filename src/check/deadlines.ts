// One structure for every pending check start and TCP connect timeout, so the runner arms a
// single clock timer instead of one per checker. At 10,000 checkers a Node timer each costs a
// Timeout object, a timer list per distinct (fractional) duration and a heap entry; here an entry
// is one slot number on an object the caller already has. Pure: time comes in as arguments.
//
// Entries are grouped in slots of `slotMs` (rounded up, so nothing fires early); entries due in
// the same slot run together on one wake-up. Cancelling or moving an entry only rewrites its slot
// number; the stale copy left in the old bucket is skipped when that bucket comes due.

export interface Deadline {
  /** The slot this entry is due in, or -1 when it is not scheduled. Written by DeadlineQueue only. */
  dueSlot: number;
  /** Called once when the entry comes due. */
  onDue(nowMs: number): void;
}

export class DeadlineQueue {
  private readonly buckets = new Map<number, Deadline[]>();
  /** Min-heap of the slots that have a bucket. */
  private readonly heap: number[] = [];
  private live = 0;

  constructor(private readonly slotMs = 1) {}

  /** Number of scheduled entries. */
  get size(): number {
    return this.live;
  }

  /** Schedule `d` (or move it, if scheduled) to come due at `atMs`, never earlier. */
  schedule(d: Deadline, atMs: number): void {
    const slot = Math.ceil(atMs / this.slotMs) * this.slotMs;
    if (d.dueSlot === slot) return;
    if (d.dueSlot < 0) this.live++;
    d.dueSlot = slot;
    let b = this.buckets.get(slot);
    if (!b) {
      b = [];
      this.buckets.set(slot, b);
      this.push(slot);
    }
    b.push(d);
  }

  cancel(d: Deadline): void {
    if (d.dueSlot < 0) return;
    d.dueSlot = -1;
    if (--this.live === 0) this.clear();
  }

  /** The earliest slot that may hold a due entry (Infinity when none is scheduled). */
  next(): number {
    return this.live === 0 ? Infinity : this.heap[0]!;
  }

  /**
   * Run every entry due at or before `nowMs`, earliest slot first. Entries scheduled by a
   * callback for a slot <= nowMs run in the same call. Returns how many ran.
   */
  runDue(nowMs: number): number {
    let ran = 0;
    while (this.heap.length > 0 && this.heap[0]! <= nowMs) {
      const slot = this.pop();
      const bucket = this.buckets.get(slot)!;
      this.buckets.delete(slot);
      for (const d of bucket) {
        if (d.dueSlot !== slot) continue; // cancelled or moved
        d.dueSlot = -1;
        this.live--;
        ran++;
        d.onDue(nowMs);
      }
    }
    if (this.live === 0) this.clear();
    return ran;
  }

  /** Nothing is live: drop stale buckets at once instead of waking up for them. */
  private clear(): void {
    this.buckets.clear();
    this.heap.length = 0;
  }

  private push(slot: number): void {
    const h = this.heap;
    let i = h.length;
    h.push(slot);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= slot) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = slot;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && h[r]! < h[l]! ? r : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
