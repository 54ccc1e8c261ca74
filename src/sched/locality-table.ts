// The destination-address cache shared by lblc and lblcr (ip_vs_lblc.c / ip_vs_lblcr.c):
// 1024 hash chains keyed by hash_32(fold(daddr), 10), head insertion, and the kernel's
// periodic garbage collection (full sweep every 30th run, otherwise a partial sweep of idle
// entries only when the table holds more than 16384 entries). Entry objects are pooled so the
// steady state allocates nothing.
import { hash32 } from './hash.js';

export const LOCALITY_TAB_BITS = 10;
export const LOCALITY_TAB_SIZE = 1 << LOCALITY_TAB_BITS;
const LOCALITY_TAB_MASK = LOCALITY_TAB_SIZE - 1;
/** CHECK_EXPIRE_INTERVAL: how often the shell should call collectGarbage(). */
export const LOCALITY_GC_INTERVAL_MS = 60_000;
/** ENTRY_TIMEOUT: idle time after which a partial sweep may drop an entry. */
export const LOCALITY_ENTRY_TIMEOUT_MS = 6 * 60_000;
/** DEFAULT_EXPIRATION (sysctl lblc_expiration / lblcr_expiration). */
export const LOCALITY_DEFAULT_EXPIRATION_MS = 24 * 60 * 60_000;
const COUNT_FOR_FULL_EXPIRATION = 30;
const MAX_SIZE = LOCALITY_TAB_SIZE * 16;

export interface LocalityEntry {
  family: 4 | 6;
  addr: string;
  lastuse: number;
  next: LocalityEntry | null;
}

export class LocalityTable<E extends LocalityEntry> {
  private readonly buckets: (E | null)[] = new Array<E | null>(LOCALITY_TAB_SIZE).fill(null);
  private readonly pool: E[] = [];
  private entries = 0;
  private rover = 0;
  private counter = 1;

  constructor(
    private readonly makeEntry: () => E,
    /** Called when an entry leaves the table (lets lblcr drop its member set). */
    private readonly release: (e: E) => void,
    private readonly expirationMs: number,
  ) {}

  get size(): number {
    return this.entries;
  }

  get(family: 4 | 6, addr: string, fold: number): E | null {
    for (let e: E | null = this.buckets[hash32(fold, LOCALITY_TAB_BITS)]; e !== null; e = e.next as E | null) {
      if (e.family === family && e.addr === addr) return e;
    }
    return null;
  }

  /** A fresh entry linked at the head of its chain; the caller fills the rest. */
  insert(family: 4 | 6, addr: string, fold: number, now: number): E {
    const e = this.pool.pop() ?? this.makeEntry();
    const b = hash32(fold, LOCALITY_TAB_BITS);
    e.family = family;
    e.addr = addr;
    e.lastuse = now;
    e.next = this.buckets[b];
    this.buckets[b] = e;
    this.entries++;
    return e;
  }

  /** Unlink `e` (found by get() with the same fold) and return it to the pool. */
  remove(e: E, fold: number): void {
    const b = hash32(fold, LOCALITY_TAB_BITS);
    let prev: E | null = null;
    for (let cur: E | null = this.buckets[b]; cur !== null; prev = cur, cur = cur.next as E | null) {
      if (cur !== e) continue;
      if (prev === null) this.buckets[b] = cur.next as E | null;
      else prev.next = cur.next;
      this.free(cur);
      return;
    }
  }

  /** The periodic timer body (ip_vs_lblc_check_expire / ip_vs_lblcr_check_expire). */
  collectGarbage(now: number): void {
    if (this.counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      this.sweep(now, this.expirationMs, Number.POSITIVE_INFINITY);
      this.counter = 1;
      return;
    }
    if (this.entries <= MAX_SIZE) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.entries - MAX_SIZE) * 4) / 3);
    if (goal > MAX_SIZE / 2) goal = MAX_SIZE / 2;
    this.sweep(now, LOCALITY_ENTRY_TIMEOUT_MS, goal);
  }

  /** Walk chains from the one after `rover`, dropping entries idle >= idleMs, until goal met. */
  private sweep(now: number, idleMs: number, goal: number): void {
    let j = this.rover;
    for (let i = 0; i < LOCALITY_TAB_SIZE; i++) {
      j = (j + 1) & LOCALITY_TAB_MASK;
      let prev: E | null = null;
      let cur: E | null = this.buckets[j];
      while (cur !== null) {
        const next = cur.next as E | null;
        if (now < cur.lastuse + idleMs) {
          prev = cur;
        } else {
          if (prev === null) this.buckets[j] = next;
          else prev.next = next;
          this.free(cur);
          goal--;
        }
        cur = next;
      }
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  private free(e: E): void {
    e.next = null;
    this.entries--;
    this.release(e);
    this.pool.push(e);
  }
}
