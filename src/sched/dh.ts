// dh — destination hashing (ip_vs_dh.c): 256 buckets filled round-robin over the dest list,
// one bucket per dest per round (weights are not replicated); the packet's destination address
// picks the bucket. No fallback, no port option.
import { hash32 } from './hash.js';
import type { PacketKey, SchedDest, Scheduler } from './types.js';

export const DH_TAB_BITS = 8;
export const DH_TAB_SIZE = 1 << DH_TAB_BITS;

export class DestinationHashingScheduler implements Scheduler {
  readonly name = 'dh' as const;
  readonly buckets: (SchedDest | null)[] = new Array<SchedDest | null>(DH_TAB_SIZE).fill(null);

  /** ip_vs_dh_reassign() (the kernel has no upd_dest hook; the fill ignores weights anyway). */
  update(dests: readonly SchedDest[]): void {
    const n = dests.length;
    for (let i = 0; i < DH_TAB_SIZE; i++) this.buckets[i] = n === 0 ? null : dests[i % n]!;
  }

  pick(key: PacketKey, _nowMs: number): SchedDest | null {
    const d = this.buckets[hash32(key.daddrFold | 0, DH_TAB_BITS)];
    if (d === null || d.weight <= 0 || d.overloaded) return null;
    return d;
  }
}
