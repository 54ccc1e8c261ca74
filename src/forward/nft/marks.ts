// Packet/conntrack marks that name (service, real server) pairs. Pure.
// lvsd's marks live in 0x4c000000/0xff000000 ("L" in the top byte); the low 24 bits are a key
// that stays the same for a dest as long as it exists, so a reload or a restart (which adopts the
// marks it finds in the table) never re-points an established flow.

export const MARK_BASE = 0x4c000000;
export const MARK_MASK = 0xff000000;
const MAX_KEY = 0xffffff;

export function isLvsdMark(mark: number): boolean {
  return ((mark & MARK_MASK) >>> 0) === MARK_BASE;
}

/** Identity of a dest across reloads and restarts: service + address + port. */
export function destIdentity(serviceId: string, addr: string, port: number): string {
  return `${serviceId}|${addr}|${port}`;
}

export class MarkAllocator {
  private readonly byIdentity = new Map<string, number>();
  private readonly byMark = new Map<number, string>();
  private nextKey = 1;

  /** Adopts marks found in an existing table (restart). Conflicting entries are ignored. */
  adopt(entries: Iterable<[number, string]>): void {
    for (const [mark, identity] of entries) {
      if (!isLvsdMark(mark) || this.byMark.has(mark) || this.byIdentity.has(identity)) continue;
      this.byMark.set(mark, identity);
      this.byIdentity.set(identity, mark);
    }
  }

  markFor(identity: string): number {
    const known = this.byIdentity.get(identity);
    if (known !== undefined) return known;
    for (let tries = 0; tries < MAX_KEY; tries++) {
      const mark = (MARK_BASE | this.nextKey) >>> 0;
      this.nextKey = this.nextKey >= MAX_KEY ? 1 : this.nextKey + 1;
      if (this.byMark.has(mark)) continue;
      this.byMark.set(mark, identity);
      this.byIdentity.set(identity, mark);
      return mark;
    }
    throw new RangeError('all 16M lvsd marks are in use');
  }

  identityOf(mark: number): string | undefined {
    return this.byMark.get(mark >>> 0);
  }

  /** Forgets every identity not in `keep` (dests gone from the config and drained). */
  retain(keep: ReadonlySet<string>): void {
    for (const [identity, mark] of this.byIdentity) {
      if (keep.has(identity)) continue;
      this.byIdentity.delete(identity);
      this.byMark.delete(mark);
    }
  }

  entries(): [number, string][] {
    return [...this.byMark.entries()];
  }
}
