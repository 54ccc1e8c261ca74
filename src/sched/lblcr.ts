// lblcr — locality-based least connection with replication (ip_vs_lblcr.c): each destination
// address maps to a *set* of dests; new connections go to the set's weighted-least-loaded
// member, the set grows (via wlc over the service) when that member is locality-overloaded and
// shrinks by its most loaded member once it has not changed for the expiration time.
import { LOCALITY_DEFAULT_EXPIRATION_MS, LocalityTable, type LocalityEntry } from './locality-table.js';
import { connOverhead, localityOverloaded, weightedLeastConn } from './overhead.js';
import type { GarbageCollectingScheduler, PacketKey, SchedDest } from './types.js';

interface LblcrEntry extends LocalityEntry {
  /** The dest set, most recently added first (list_add_rcu inserts at the head). */
  set: SchedDest[];
  lastmod: number;
}

export class LocalityReplicatedScheduler implements GarbageCollectingScheduler {
  readonly name = 'lblcr' as const;
  private dests: readonly SchedDest[] = [];
  private readonly members = new Set<SchedDest>();
  private readonly table: LocalityTable<LblcrEntry>;

  constructor(private readonly expirationMs: number = LOCALITY_DEFAULT_EXPIRATION_MS) {
    this.table = new LocalityTable<LblcrEntry>(
      () => ({ family: 4, addr: '', lastuse: 0, next: null, set: [], lastmod: 0 }),
      (e) => {
        e.set.length = 0;
      },
      expirationMs,
    );
  }

  get entryCount(): number {
    return this.table.size;
  }

  /** The set cached for a destination address, most recent first (a copy; for tests). */
  setFor(family: 4 | 6, daddr: string, daddrFold: number): SchedDest[] | null {
    const en = this.table.get(family, daddr, daddrFold);
    return en === null ? null : en.set.slice();
  }

  update(dests: readonly SchedDest[]): void {
    this.dests = dests;
    this.members.clear();
    for (const d of dests) this.members.add(d);
  }

  pick(key: PacketKey, nowMs: number): SchedDest | null {
    const fold = key.daddrFold | 0; // int32 alias: same hash, never boxed
    const en = this.table.get(key.family, key.daddr, fold);
    if (en === null) {
      const d = weightedLeastConn(this.dests);
      if (d === null) return null;
      const fresh = this.table.insert(key.family, key.daddr, fold, nowMs);
      fresh.set.push(d);
      fresh.lastmod = nowMs;
      return d;
    }
    en.lastuse = nowMs;
    let d = this.setMin(en.set);
    // More than one member and the set has not changed for the expiration time: drop the
    // most loaded member (d is still used below even if it was the one removed).
    if (en.set.length > 1 && nowMs > en.lastmod + this.expirationMs) {
      const m = setMax(en.set);
      if (m !== null) {
        en.set.splice(en.set.indexOf(m), 1);
        en.lastmod = nowMs;
      }
    }
    if (d !== null && !localityOverloaded(d, this.dests)) return d;
    d = weightedLeastConn(this.dests);
    if (d === null) return null;
    if (en.set.indexOf(d) < 0) {
      en.set.unshift(d);
      en.lastmod = nowMs;
    }
    return d;
  }

  /** ip_vs_dest_set_min(): weighted least overhead among members still in the service. */
  private setMin(set: readonly SchedDest[]): SchedDest | null {
    let i = 0;
    let least: SchedDest | null = null;
    for (; i < set.length; i++) {
      const d = set[i]!;
      if (d.overloaded) continue;
      if (d.weight > 0 && this.members.has(d)) {
        least = d;
        break;
      }
    }
    if (least === null) return null;
    let loh = connOverhead(least);
    for (i++; i < set.length; i++) {
      const d = set[i]!;
      if (d.overloaded) continue;
      const doh = connOverhead(d);
      if (loh * d.weight > doh * least.weight && this.members.has(d)) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }

  collectGarbage(nowMs: number): void {
    this.table.collectGarbage(nowMs);
  }
}

/**
 * ip_vs_dest_set_max(): the first member with weight > 0, replaced by any later member with
 * weight > 0 and a strictly larger overhead/weight. Membership and OVERLOAD are not checked.
 */
function setMax(set: readonly SchedDest[]): SchedDest | null {
  let i = 0;
  let most: SchedDest | null = null;
  for (; i < set.length; i++) {
    if (set[i]!.weight > 0) {
      most = set[i]!;
      break;
    }
  }
  if (most === null) return null;
  let moh = connOverhead(most);
  for (i++; i < set.length; i++) {
    const d = set[i]!;
    const doh = connOverhead(d);
    if (moh * d.weight < doh * most.weight && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}
