// Property tests: random sequences of table operations keep the kernel's counters consistent.
import { expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createTable, TCP_STATES, type Conn, type DestSpec } from '../../src/ipvs/index.js';

const dest = (i: number, weight: number, u: number, l: number): DestSpec => ({
  addr: `10.0.0.${i}`, port: 80, weight, method: 'NAT', uThreshold: u, lThreshold: l,
});

const op = fc.oneof(
  fc.record({ k: fc.constant('conn' as const), client: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ k: fc.constant('state' as const), pick: fc.nat(), state: fc.constantFrom(...TCP_STATES) }),
  fc.record({ k: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 400_000 }) }),
  fc.record({ k: fc.constant('reload' as const), weights: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 4 }) }),
);

test('active/inactive/persist counters always equal the live entries; overload only with u_threshold', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 120 }), fc.boolean(), (ops, persistent) => {
    const t = createTable();
    const key = { kind: 'addr' as const, protocol: 'tcp' as const, addr: '192.0.2.1', port: 80 };
    const spec = (ws: number[]) => ({ services: [{
      key, scheduler: 'wlc' as const, persistence: persistent ? { timeoutS: 60, prefixLen: 24 } : null,
      dests: ws.map((w, i) => dest(i + 1, w, i === 0 ? 3 : 0, 0)),
    }] });
    let now = 0;
    t.applySpec(spec([1, 2, 1]), now);
    const live: Conn[] = [];
    for (const o of ops) {
      const svc = t.findService(key)!;
      if (o.k === 'conn') {
        const r = t.schedule(svc, { clientAddr: `198.51.100.${o.client}`, clientPort: 1000 + o.client, vaddr: key.addr, vport: 80 }, now);
        if (r.ok) live.push(r.conn);
      } else if (o.k === 'state' && live.length) {
        t.setState(live[o.pick % live.length]!, o.state, now);
      } else if (o.k === 'drop' && live.length) {
        t.drop(live.splice(o.pick % live.length, 1)[0]!);
      } else if (o.k === 'time') {
        now += o.ms;
        t.expire(now);
      } else if (o.k === 'reload') {
        t.applySpec(spec(o.weights), now);
      }
      // invariant: every dest's counters equal what its live entries say
      const all = [...t.connections()];
      const dests = new Set(all.map((c) => c.dest));
      for (const d of t.findService(key)!.dests) dests.add(d);
      for (const d of dests) {
        const mine = all.filter((c) => c.dest === d);
        expect(d.activeConns).toBe(mine.filter((c) => !c.template && !c.inactive).length);
        expect(d.inactiveConns).toBe(mine.filter((c) => !c.template && c.inactive).length);
        expect(d.persistConns).toBe(mine.filter((c) => c.template).length);
        expect(mine.filter((c) => !c.template && !c.inactive).every((c) => c.state === 'ESTABLISHED')).toBe(true);
        if (d.uThreshold === 0) expect(d.overloaded).toBe(false);
      }
      for (const c of all) if (c.template) expect(c.controlled).toBe(all.filter((x) => x.controller === c).length);
    }
  }), { numRuns: 200 });
});

// The sweep files entries in one-second buckets; it must expire exactly what a scan of every
// entry would: all entries due by now (templates still controlling connections are re-armed),
// whatever the order of state changes, traffic, drops, persistence and sweeps within a second.
const sweepOp = fc.oneof(
  fc.record({ k: fc.constant('conn' as const), client: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ k: fc.constant('state' as const), pick: fc.nat(), state: fc.constantFrom(...TCP_STATES) }),
  fc.record({ k: fc.constant('touch' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('time' as const), ms: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 1_000_000 })) }),
  fc.record({ k: fc.constant('reload' as const), weights: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 0, maxLength: 3 }) }),
);

test('expire() returns exactly the entries due by now, as a scan of every entry would', () => {
  fc.assert(fc.property(fc.array(sweepOp, { maxLength: 150 }), fc.boolean(), fc.boolean(), (ops, persistent, nodest) => {
    const t = createTable();
    t.setOptions({ expireNodestConn: nodest }, 0);
    const key = { kind: 'addr' as const, protocol: 'tcp' as const, addr: '192.0.2.1', port: 80 };
    const spec = (ws: number[]) => ({ services: [{
      key, scheduler: 'rr' as const, persistence: persistent ? { timeoutS: 3, prefixLen: 32 } : null,
      dests: ws.map((w, i) => dest(i + 1, w, 0, 0)),
    }] });
    let now = 0;
    t.applySpec(spec([1, 1]), now);
    for (const o of ops) {
      const live = [...t.connections()].filter((c) => !c.template);
      const svc = t.findService(key)!;
      if (o.k === 'conn') t.schedule(svc, { clientAddr: `198.51.100.${o.client}`, clientPort: 1000 + o.client, vaddr: key.addr, vport: 80 }, now);
      else if (o.k === 'state' && live.length) t.setState(live[o.pick % live.length]!, o.state, now);
      else if (o.k === 'touch' && live.length) t.touch(live[o.pick % live.length]!, now);
      else if (o.k === 'drop' && live.length) t.drop(live[o.pick % live.length]!);
      else if (o.k === 'reload') t.applySpec(spec(o.weights), now);
      else if (o.k === 'time') {
        now += o.ms;
        const before = [...t.connections()];
        const controlling = new Set(before.filter((c) => !c.template).map((c) => c.controller));
        const due = before.filter((c) => c.expiresAt <= now && !(c.template && controlling.has(c)));
        const expired = t.expire(now);
        expect(new Set(expired)).toEqual(new Set(due));
        expect(expired).toHaveLength(due.length);
        for (const c of t.connections()) expect(c.expiresAt > now || (c.template && c.controlled > 0)).toBe(true);
      }
    }
  }), { numRuns: 300 });
});
