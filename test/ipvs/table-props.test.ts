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
