// rr — round robin (ip_vs_rr.c). Weights > 0 are all equal; weight 0 and overloaded are skipped.
import type { PacketKey, SchedDest, Scheduler } from './types.js';

const HEAD = -1;

export class RoundRobinScheduler implements Scheduler {
  readonly name = 'rr' as const;
  private dests: readonly SchedDest[] = [];
  /**
   * The list as it was at the last update. Callers may mutate their array in place before
   * calling update() again, so the old order must be our own copy to carry the cursor over.
   */
  private previous: SchedDest[] = [];
  /** Index of the last chosen dest, or HEAD (before the first element). */
  private pos = HEAD;

  update(dests: readonly SchedDest[]): void {
    this.pos = carryPosition(this.previous, this.pos, dests);
    this.dests = dests;
    this.previous = dests.slice();
  }

  pick(_key: PacketKey, _nowMs: number): SchedDest | null {
    const dests = this.dests;
    const n = dests.length;
    const last = this.pos < n ? this.pos : HEAD;
    // Scan from the element after `last` to the end, then (unless we started at head) from
    // the start up to and including `last` itself.
    for (let i = last + 1; i < n; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > 0) {
        this.pos = i;
        return d;
      }
    }
    for (let i = 0; i <= last; i++) {
      const d = dests[i]!;
      if (!d.overloaded && d.weight > 0) {
        this.pos = i;
        return d;
      }
    }
    return null;
  }
}

/**
 * Where the kernel's rr cursor ends up after the list changes. Adds and edits leave it on the
 * same dest. When its dest is deleted, ip_vs_rr_del_dest moves it to p->next->prev: the element
 * now in front of the deleted dest's nearest surviving successor (head when that successor is
 * first; the last element when there is none).
 */
export function carryPosition(oldList: readonly SchedDest[], oldPos: number, newList: readonly SchedDest[]): number {
  if (oldPos < 0 || oldPos >= oldList.length) return HEAD;
  const at = indexOfId(newList, oldList[oldPos]!.id);
  if (at >= 0) return at;
  for (let i = oldPos + 1; i < oldList.length; i++) {
    const s = indexOfId(newList, oldList[i]!.id);
    if (s >= 0) return s - 1; // s - 1 is HEAD when the successor is first
  }
  return newList.length - 1; // successor is the list head: its prev is the last element
}

function indexOfId(list: readonly SchedDest[], id: number): number {
  for (let i = 0; i < list.length; i++) if (list[i]!.id === id) return i;
  return -1;
}
