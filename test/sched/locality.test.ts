import { describe, expect, it } from '@jest/globals';
import { createScheduler, hash32, LOCALITY_GC_INTERVAL_MS, needsGarbageCollection } from '../../src/sched/index.js';
import type { GarbageCollectingScheduler } from '../../src/sched/index.js';
import { LocalityReplicatedScheduler } from '../../src/sched/lblcr.js';
import { dest, key, nameOf } from './helpers.js';

const MIN = 60_000;
const toX = key('203.0.113.1', '198.51.100.10');
const toY = key('203.0.113.1', '198.51.100.20');
const gc = (s: unknown) => s as GarbageCollectingScheduler;

// lblc: cached dest reused while in the service, weight > 0 and not locality-overloaded
// (active > weight AND some dest has 2·active < weight); otherwise wlc picks and is cached.
describe('lblc', () => {
  it('sticks to the cached dest per destination address', () => {
    const [a, b] = [dest('A', 10), dest('B', 10)];
    const s = createScheduler('lblc');
    s.update([a, b]);
    expect(nameOf(s.pick(toX, 0))).toBe('A'); // no entry: wlc tie → A; cache X→A
    a.inactiveConns++;
    expect(nameOf(s.pick(toY, 0))).toBe('B'); // wlc: A oh 1 vs B 0 → B; cache Y→B
    b.inactiveConns += 5;
    expect(nameOf(s.pick(toX, 0))).toBe('A'); // cached A (oh 1) kept though B is not busier
    a.inactiveConns += 50;
    expect(nameOf(s.pick(toX, 0))).toBe('A'); // inactive load never invalidates the cache
    expect(gc(s).entryCount).toBe(2);
  });

  it('keeps IPv4 and IPv6 addresses with the same fold apart (same chain, different entries)', () => {
    // fold(0.0.0.1) = fold(::1) = 1 → both hash to chain hash_32(1, 10); entries match on
    // family and address, so each keeps its own dest.
    const [a, b] = [dest('A', 10), dest('B', 10)];
    const s = createScheduler('lblc');
    s.update([a, b]);
    const v4 = key('203.0.113.1', '0.0.0.1');
    const v6 = key('2001:db8::1', '::1');
    expect(nameOf(s.pick(v4, 0))).toBe('A');
    a.inactiveConns++;
    expect(nameOf(s.pick(v6, 0))).toBe('B'); // no entry for ::1 yet: wlc → B
    b.inactiveConns += 2;
    expect([nameOf(s.pick(v4, 0)), nameOf(s.pick(v6, 0))]).toEqual(['A', 'B']);
    expect(gc(s).entryCount).toBe(2);
  });

  it('re-picks when the cached dest is quiesced or removed, replacing the entry', () => {
    const [a, b] = [dest('A', 10), dest('B', 10)];
    const s = createScheduler('lblc');
    s.update([a, b]);
    expect(nameOf(s.pick(toX, 0))).toBe('A');
    a.weight = 0;
    s.update([a, b]);
    expect(nameOf(s.pick(toX, 0))).toBe('B'); // A weight 0 → wlc → B; X→B
    a.weight = 10;
    s.update([a, b]);
    expect(nameOf(s.pick(toX, 0))).toBe('B'); // entry now says B
    s.update([a]); // B deleted
    expect(nameOf(s.pick(toX, 0))).toBe('A');
    expect(gc(s).entryCount).toBe(1);
  });

  it('applies the 2·weight locality-overload rule, not the OVERLOAD flag (spec §4)', () => {
    const a = dest('A', 10, { activeConns: 4 });
    const b = dest('B', 2);
    const s = createScheduler('lblc');
    s.update([b, a]);
    expect(nameOf(s.pick(toX, 0))).toBe('B'); // wlc: B 0 vs A 1024/10 → B
    b.activeConns = 3; // 3 > 2, and A: 4·2 = 8 < 10 → lb-overloaded → wlc: B 768/2 vs A 1024/10 → A
    expect(nameOf(s.pick(toX, 0))).toBe('A');
    const [c, d] = [dest('C', 2), dest('D', 10, { activeConns: 5 })];
    const t = createScheduler('lblc');
    t.update([c, d]);
    expect(nameOf(t.pick(toX, 0))).toBe('C');
    c.activeConns = 3; // 3 > 2 but every dest has 2·a >= w (C 6 >= 2, D 10 >= 10) → stays C
    expect(nameOf(t.pick(toX, 0))).toBe('C');
    c.overloaded = true; // OVERLOAD is not consulted on the cached path
    expect(nameOf(t.pick(toX, 0))).toBe('C');
  });

  it('returns null when nothing is available and caches nothing', () => {
    const s = createScheduler('lblc');
    expect(s.pick(toX, 0)).toBeNull();
    s.update([dest('A', 0)]);
    expect(s.pick(toX, 0)).toBeNull();
    expect(gc(s).entryCount).toBe(0);
  });

  it('full sweep on the 30th GC run drops entries idle for the expiration time', () => {
    // counter starts at 1 and increments each run while the table is small; the run that sees
    // counter % 30 == 0 (the 30th) sweeps everything idle >= expiration (10 min here).
    const s = createScheduler('lblc', {}, { localityExpirationMs: 10 * MIN });
    expect(needsGarbageCollection(s)).toBe(true);
    s.update([dest('A', 1)]);
    s.pick(toX, 0);
    for (let run = 1; run <= 29; run++) {
      if (run === 25) s.pick(toY, run * MIN); // Y last used at 25 min
      gc(s).collectGarbage(run * LOCALITY_GC_INTERVAL_MS);
    }
    expect(gc(s).entryCount).toBe(2); // no sweep yet although X is 29 min idle
    gc(s).collectGarbage(30 * MIN); // X idle 30 ≥ 10 → dropped; Y idle 5 → kept
    expect(gc(s).entryCount).toBe(1);
    for (let run = 31; run <= 59; run++) gc(s).collectGarbage(run * MIN);
    expect(gc(s).entryCount).toBe(1);
    gc(s).collectGarbage(60 * MIN); // next full sweep 30 runs later
    expect(gc(s).entryCount).toBe(0);
  });

  it('partial sweep above 16384 entries drops idle (≥ 6 min) chains from the rover until the goal is met', () => {
    // 16384 + 300 entries → goal = floor(300·4/3) = 400. Chains are walked from bucket 1 and
    // whole chains are dropped until ≥ 400 are gone; the expected count is summed from the
    // chain lengths, computed here independently with hash_32(fold(daddr), 10).
    const s = createScheduler('lblc');
    s.update([dest('A', 1)]);
    const n = 16384 + 300;
    const chain = new Array<number>(1024).fill(0);
    for (let i = 0; i < n; i++) {
      const k = key('203.0.113.1', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      s.pick(k, 0);
      chain[hash32(k.daddrFold, 10)]!++;
    }
    expect(gc(s).entryCount).toBe(n);
    let dropped = 0;
    for (let j = 1; j < 1024 && dropped < 400; j++) dropped += chain[j]!;
    gc(s).collectGarbage(5 * MIN); // nothing idle for 6 min yet
    expect(gc(s).entryCount).toBe(n);
    gc(s).collectGarbage(6 * MIN);
    expect(gc(s).entryCount).toBe(n - dropped);
  });
});

// lblcr: per address a set (newest first). setMin = weighted least overhead among members in
// the service (first needs weight > 0); if it is locality-overloaded, wlc over the service adds
// a member. A set unchanged for the expiration time loses its most loaded member.
describe('lblcr', () => {
  it('grows the set when the best member is locality-overloaded, then shrinks it after expiry', () => {
    const [a, b] = [dest('A', 10), dest('B', 10)];
    const s = createScheduler('lblcr', {}, { localityExpirationMs: 10 * MIN }) as LocalityReplicatedScheduler;
    s.update([a, b]);
    expect(nameOf(s.pick(toX, 0))).toBe('A'); // no entry: wlc tie → A; set {A}, lastmod 0
    a.activeConns = 11; // 11 > 10 and B: 0 < 10 → overloaded → wlc → B, prepended
    expect(nameOf(s.pick(toX, 1000))).toBe('B');
    expect(s.setFor(4, toX.daddr, toX.daddrFold)!.map(nameOf)).toEqual(['B', 'A']);
    b.activeConns = 1;
    // setMin over [B (256/10), A (2816/10)] → B; not overloaded → B. lastmod stays 1000.
    expect(nameOf(s.pick(toX, 2000))).toBe('B');
    expect(nameOf(s.pick(toX, 1000 + 10 * MIN))).toBe('B'); // now == lastmod + exp: not after
    // now > lastmod + exp: setMax [B 256/10, A 2816/10] → A removed; d (B) still returned.
    expect(nameOf(s.pick(toX, 1001 + 10 * MIN))).toBe('B');
    expect(s.setFor(4, toX.daddr, toX.daddrFold)!.map(nameOf)).toEqual(['B']);
  });

  it('skips members that left the service or are quiesced, and re-picks when none is left', () => {
    const [a, b, c] = [dest('A', 10), dest('B', 10), dest('C', 10)];
    const s = createScheduler('lblcr') as LocalityReplicatedScheduler;
    s.update([a, b, c]);
    expect(nameOf(s.pick(toX, 0))).toBe('A');
    a.activeConns = 11;
    expect(nameOf(s.pick(toX, 0))).toBe('B'); // set [B, A]
    s.update([a, c]); // B leaves the service
    // setMin: B not a member, A (11 active) → A; A is overloaded (C idle) → wlc → C; set [C, B, A]
    expect(nameOf(s.pick(toX, 0))).toBe('C');
    expect(s.setFor(4, toX.daddr, toX.daddrFold)!.map(nameOf)).toEqual(['C', 'B', 'A']);
    c.weight = 0;
    a.activeConns = 0;
    s.update([a, c]);
    expect(nameOf(s.pick(toX, 0))).toBe('A'); // C quiesced, B gone → A
    a.weight = 0;
    s.update([a, c]);
    expect(s.pick(toX, 0)).toBeNull();
  });

  it('garbage-collects whole entries like lblc', () => {
    const s = createScheduler('lblcr', {}, { localityExpirationMs: MIN });
    s.update([dest('A', 1)]);
    s.pick(toX, 0);
    for (let run = 1; run <= 30; run++) gc(s).collectGarbage(run * MIN);
    expect(gc(s).entryCount).toBe(0);
  });
});

describe('GC registry helper', () => {
  it('only lblc and lblcr need collectGarbage', () => {
    expect(needsGarbageCollection(createScheduler('wlc'))).toBe(false);
    expect(needsGarbageCollection(createScheduler('lblcr'))).toBe(true);
  });
});
