// mh — Maglev hashing (ip_vs_mh.c): each dest walks its own permutation of a prime-sized lookup
// table (offset and skip from hsiphash of its address and port) and claims free slots in turns
// proportional to its last non-zero weight; the client source address (plus source port with
// mh-port) picks the slot. mh-fallback probes further slots when the dest there is unavailable.
import { TooManyDestinationsError } from './errors.js';
import { foldAddress } from './hash.js';
import { hsipKey, hsiphashMod } from './hsiphash.js';
import type { PacketKey, SchedDest, SchedFlags, Scheduler } from './types.js';

/** The kernel's primes[]: CONFIG_IP_VS_MH_TAB_INDEX 8..17 picks one. */
export const MH_TABLE_SIZES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
/** CONFIG_IP_VS_MH_TAB_INDEX default 12 → 4093 slots. */
export const MH_DEFAULT_TABLE_SIZE = 4093;

const HASH1 = hsipKey(2654435761n, 2654435761n);
const HASH2 = hsipKey(2654446892n, 2654446892n);

function unavailable(d: SchedDest): boolean {
  return d.weight <= 0 || d.overloaded;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** fls(): position of the highest set bit, 1-based; 0 for 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

export class MaglevHashingScheduler implements Scheduler {
  readonly name = 'mh' as const;
  /** Slot → dest (null until some dest with a non-zero last weight exists). */
  readonly lookup: (SchedDest | null)[];
  readonly tableSize: number;
  private readonly tabBits: number;
  private readonly fallback: boolean;
  private readonly usePort: boolean;
  /** dest id → last_weight (the latest non-zero weight; a dest added at weight 0 has 0). */
  private readonly lastWeight = new Map<number, number>();
  private occupied: Uint8Array;

  constructor(flags: SchedFlags, tableSize: number = MH_DEFAULT_TABLE_SIZE) {
    const index = (MH_TABLE_SIZES as readonly number[]).indexOf(tableSize);
    if (index < 0) throw new RangeError(`mh table size must be one of ${MH_TABLE_SIZES.join(', ')}`);
    this.tableSize = tableSize;
    this.tabBits = Math.trunc((index + 8) / 2); // IP_VS_MH_TAB_BITS = CONFIG_..._INDEX / 2
    this.lookup = new Array<SchedDest | null>(tableSize).fill(null);
    this.occupied = new Uint8Array(tableSize);
    this.fallback = flags.fallback;
    this.usePort = flags.port;
  }

  /**
   * ip_vs_mh_dest_changed(): recompute gcd/shift over last weights and repopulate. Throws
   * TooManyDestinationsError (table unchanged) when there are more dests than slots.
   */
  update(dests: readonly SchedDest[]): void {
    const M = this.tableSize;
    if (dests.length > M) throw new TooManyDestinationsError(dests.length, M);
    // Track last_weight: set on add, and on edit only when the new weight is non-zero.
    const seen = new Set<number>();
    for (const d of dests) {
      seen.add(d.id);
      if (!this.lastWeight.has(d.id) || d.weight !== 0) this.lastWeight.set(d.id, d.weight);
    }
    for (const id of this.lastWeight.keys()) if (!seen.has(id)) this.lastWeight.delete(id);

    let g = 0;
    let maxLw = 0;
    for (const d of dests) {
      const lw = this.lastWeight.get(d.id)!;
      if (lw > 0) g = g > 0 ? gcd(lw, g) : lw;
      if (lw > maxLw) maxLw = lw;
    }
    if (g < 1) {
      this.lookup.fill(null);
      return;
    }
    const shift = Math.max(0, fls(Math.trunc(maxLw / g)) - this.tabBits);

    const n = dests.length;
    const perm = new Uint32Array(n);
    const skip = new Uint32Array(n);
    const turns = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const d = dests[i]!;
      // Folded by the dest's own family; the kernel uses the service's, which differs only for
      // an IPv6 dest in an IPv4 service (it would read just the first word).
      const v = (d.port + foldAddress(d.addr)) | 0;
      perm[i] = hsiphashMod(v, HASH1, M);
      skip[i] = hsiphashMod(v, HASH2, M - 1) + 1;
      const lw = this.lastWeight.get(d.id)!;
      const t = Math.trunc(lw / g) >> shift;
      turns[i] = t !== 0 ? t : lw !== 0 ? 1 : 0;
    }

    // ip_vs_mh_populate(): rounds over the list; each dest with turns >= 1 claims `turns` slots,
    // each the next free one along its permutation; stop as soon as every slot is taken.
    const table = this.occupied;
    table.fill(0);
    let filled = 0;
    let dtCount = 0;
    let p = 0;
    while (filled < M) {
      if (p === n) p = 0;
      while (p < n) {
        if (turns[p]! < 1) {
          p++;
          continue;
        }
        let c = perm[p]!;
        while (table[c] !== 0) {
          c += skip[p]!;
          if (c >= M) c -= M;
        }
        perm[p] = c;
        table[c] = 1;
        this.lookup[c] = dests[p]!;
        if (++filled === M) return;
        if (++dtCount >= turns[p]!) {
          dtCount = 0;
          p++;
        }
      }
    }
  }

  /** hsiphash of (offset + port + fold) with the first key, reduced to a slot. */
  private slot(fold: number, port: number, offset: number): number {
    return hsiphashMod((offset + port + fold) | 0, HASH1, this.tableSize);
  }

  pick(key: PacketKey, _nowMs: number): SchedDest | null {
    const port = this.usePort ? key.sport : 0;
    const fold = key.saddrFold;
    const ihash = this.slot(fold, port, 0);
    const first = this.lookup[ihash];
    if (first === null) return null;
    if (!unavailable(first)) return first;
    if (!this.fallback) return null;
    const M = this.tableSize;
    for (let offset = 0; offset < M; offset++) {
      const roffset = (offset + ihash) % M;
      const d = this.lookup[this.slot(fold, port, roffset)];
      if (d === null) return null;
      if (!unavailable(d)) return d;
    }
    return null;
  }
}
