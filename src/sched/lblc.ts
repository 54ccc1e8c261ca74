// lblc — locality-based least connection (ip_vs_lblc.c): remembers which dest served each
// destination address; keeps using it while it is in the service, has weight > 0 and is not
// "locality-overloaded", otherwise re-picks with wlc and remembers the new choice.
import { LOCALITY_DEFAULT_EXPIRATION_MS, LocalityTable, type LocalityEntry } from './locality-table.js';
import { localityOverloaded, weightedLeastConn } from './overhead.js';
import type { GarbageCollectingScheduler, PacketKey, SchedDest } from './types.js';

interface LblcEntry extends LocalityEntry {
  dest: SchedDest | null;
}

export class LocalityLeastConnectionScheduler implements GarbageCollectingScheduler {
  readonly name = 'lblc' as const;
  private dests: readonly SchedDest[] = [];
  /** Dests currently in the service (the kernel's IP_VS_DEST_F_AVAILABLE). */
  private readonly members = new Set<SchedDest>();
  private readonly table: LocalityTable<LblcEntry>;

  constructor(expirationMs: number = LOCALITY_DEFAULT_EXPIRATION_MS) {
    this.table = new LocalityTable<LblcEntry>(
      () => ({ family: 4, addr: '', lastuse: 0, next: null, dest: null }),
      (e) => {
        e.dest = null;
      },
      expirationMs,
    );
  }

  get entryCount(): number {
    return this.table.size;
  }

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
    this.members.clear();
    for (const d of dests) this.members.add(d);
  }

  pick(key: PacketKey, nowMs: number): SchedDest | null {
    const fold = key.daddrFold | 0; // int32 alias: same hash, never boxed
    const en = this.table.get(key.family, key.daddr, fold);
    if (en !== null) {
      en.lastuse = nowMs;
      const d = en.dest!;
      // The OVERLOAD flag is not consulted on this path, only the locality rule.
      if (this.members.has(d) && d.weight > 0 && !localityOverloaded(d, this.dests)) return d;
    }
    const d = weightedLeastConn(this.dests);
    if (d === null) return null;
    // ip_vs_lblc_new(): keep an entry that already points at d; otherwise replace it.
    if (en !== null) {
      if (en.dest === d) return d;
      this.table.remove(en, fold);
    }
    this.table.insert(key.family, key.daddr, fold, nowMs).dest = d;
    return d;
  }

  collectGarbage(nowMs: number): void {
    this.table.collectGarbage(nowMs);
  }
}

