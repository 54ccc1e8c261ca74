// sh — source hashing (ip_vs_sh.c): a 256-bucket table filled by walking the dest list
// cyclically, each dest taking max(weight, 1) consecutive buckets; the client source address
// (plus source port with sh-port) picks the bucket. sh-fallback probes on when the dest there
// is unavailable.
import { hash32 } from './hash.js';
import type { PacketKey, SchedDest, SchedFlags, Scheduler } from './types.js';

export const SH_TAB_BITS = 8;
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;
const SH_TAB_MASK = SH_TAB_SIZE - 1;

function unavailable(d: SchedDest): boolean {
  return d.weight <= 0 || d.overloaded;
}

export class SourceHashingScheduler implements Scheduler {
  readonly name = 'sh' as const;
  /** Bucket → dest; null when the service has no dests. */
  readonly buckets: (SchedDest | null)[] = new Array<SchedDest | null>(SH_TAB_SIZE).fill(null);
  private readonly fallback: boolean;
  private readonly usePort: boolean;

  constructor(flags: SchedFlags) {
    this.fallback = flags.fallback;
    this.usePort = flags.port;
  }

  /** ip_vs_sh_reassign(): rebuilt on every add, delete and edit (weights change the fill). */
  update(dests: readonly SchedDest[]): void {
    const n = dests.length;
    let p = 0;
    let count = 0;
    for (let i = 0; i < SH_TAB_SIZE; i++) {
      if (n === 0) {
        this.buckets[i] = null;
        continue;
      }
      const d = dests[p]!;
      this.buckets[i] = d;
      // Move on once this dest holds `weight` buckets (at least one, even at weight 0).
      if (++count >= d.weight) {
        p = (p + 1) % n;
        count = 0;
      }
    }
  }

  pick(key: PacketKey, _nowMs: number): SchedDest | null {
    const port = this.usePort ? key.sport : 0;
    // | 0 keeps the argument a small integer (an unsigned value above 2^31 would be boxed).
    const h = hash32((port + key.saddrFold) | 0, SH_TAB_BITS);
    const first = this.buckets[h & SH_TAB_MASK];
    if (first === null) return null;
    if (!unavailable(first)) return first;
    if (!this.fallback) return null;
    // ip_vs_sh_get_fallback(): roffset = (offset + ihash) % size, bucket = (roffset + hash) & mask.
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      const roffset = (offset + h) % SH_TAB_SIZE;
      const d = this.buckets[(roffset + h) & SH_TAB_MASK];
      if (d === null) return null;
      if (!unavailable(d)) return d;
    }
    return null;
  }
}
