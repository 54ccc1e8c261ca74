// The virtual server table, driven directly with an explicit clock (ms).
import { describe, expect, test } from '@jest/globals';
import { createScheduler, foldAddress } from '../../src/sched/index.js';
import type { SchedDest } from '../../src/sched/types.js';
import {
  createTable, IpvsError, type DestSpec, type IpvsTable, type ServiceKey, type ServiceSpec, type TableSpec,
} from '../../src/ipvs/index.js';

const VIP = '192.0.2.10';
const tcpKey: ServiceKey = { kind: 'addr', protocol: 'tcp', addr: VIP, port: 80 };
const udpKey: ServiceKey = { kind: 'addr', protocol: 'udp', addr: VIP, port: 53 };

function dest(addr: string, weight = 1, extra: Partial<DestSpec> = {}): DestSpec {
  return { addr, port: 80, weight, method: 'NAT', uThreshold: 0, lThreshold: 0, ...extra };
}
function service(dests: DestSpec[], extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return { key: tcpKey, scheduler: 'rr', dests, ...extra };
}
let port = 40000;
function connect(t: IpvsTable, client: string, now: number) {
  const svc = t.findService(tcpKey)!;
  return t.schedule(svc, { clientAddr: client, clientPort: port++, vaddr: VIP, vport: 80 }, now);
}
function pickAddr(t: IpvsTable, client: string, now: number): string | null {
  const r = connect(t, client, now);
  return r.ok ? r.dest.addr : null;
}

describe('destination order and scheduling', () => {
  test('dests are inserted at the list head, and picks equal the pure scheduler on that list', () => {
    for (const name of ['rr', 'wrr', 'wlc', 'sh', 'mh'] as const) {
      const t = createTable();
      const cfg = [dest('10.0.0.1', 3), dest('10.0.0.2', 1), dest('10.0.0.3', 2)];
      t.applySpec({ services: [service(cfg, { scheduler: name })] }, 0);
      const svc = t.findService(tcpKey)!;
      // Config order 1,2,3 added one by one at the head -> kernel list order 3,2,1.
      expect(svc.dests.map((d) => d.addr)).toEqual(['10.0.0.3', '10.0.0.2', '10.0.0.1']);
      // Reference: the same scheduler fed the same list the same way (one update per add).
      const ref = createScheduler(name);
      const refList: SchedDest[] = [];
      ref.update(refList);
      let id = 1;
      for (const d of cfg) {
        refList.unshift({ id: id++, addr: d.addr, port: d.port, weight: d.weight, activeConns: 0, inactiveConns: 0, overloaded: false });
        ref.update(refList);
      }
      const got: string[] = [];
      const want: string[] = [];
      for (let i = 0; i < 30; i++) {
        const client = `198.51.100.${(i * 7) % 200}`;
        const r = connect(t, client, i);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        got.push(r.dest.addr);
        // mirror the table's counters into the reference list so dynamic schedulers agree
        const key = { family: 4 as const, saddr: client, daddr: VIP, saddrFold: foldAddress(client), daddrFold: foldAddress(VIP), sport: port - 1, dport: 80 };
        const p = ref.pick(key, i)!;
        p.inactiveConns++;
        want.push(p.addr);
      }
      expect({ name, got }).toEqual({ name, got: want });
    }
  });

  test('rr through the table: list order 3,2,1 cycles, weight 0 skipped', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1'), dest('10.0.0.2'), dest('10.0.0.3')])] }, 0);
    expect([0, 1, 2, 3].map((i) => pickAddr(t, '198.51.100.1', i))).toEqual(['10.0.0.3', '10.0.0.2', '10.0.0.1', '10.0.0.3']);
    t.applySpec({ services: [service([dest('10.0.0.1'), dest('10.0.0.2', 0), dest('10.0.0.3')])] }, 5);
    const seq = [0, 1, 2, 3].map((i) => pickAddr(t, '198.51.100.1', 10 + i));
    expect(seq).not.toContain('10.0.0.2');
  });

  test('no destination is a typed result, counted; the sorry server takes over', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1', 0)])] }, 0);
    const r = connect(t, '198.51.100.1', 1);
    expect(r).toEqual({ ok: false, code: 'ENODEST', message: 'rr: TCP 192.0.2.10:80 - no destination available' });
    expect(t.noDestCount).toBe(1);
    t.applySpec({ services: [service([dest('10.0.0.1', 0)], { sorryServer: dest('10.9.9.9') })] }, 2);
    const s = connect(t, '198.51.100.1', 3);
    expect(s.ok && s.sorry && s.dest.addr).toBe('10.9.9.9');
  });

  test('exclude hides one dest for a retry pick', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1'), dest('10.0.0.2')])] }, 0);
    const svc = t.findService(tcpKey)!;
    const first = svc.dests[0]!;
    const r = t.schedule(svc, { clientAddr: '198.51.100.1', clientPort: 1, vaddr: VIP, vport: 80, exclude: first }, 0);
    expect(r.ok && r.dest.addr).toBe('10.0.0.1');
    expect(first.overloaded).toBe(false);
  });
});

describe('connection counters and timeouts', () => {
  test('kernel active/inactive rule: only ESTABLISHED is active', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1')])] }, 0);
    const d = t.findService(tcpKey)!.dests[0]!;
    const r = connect(t, '198.51.100.1', 0);
    if (!r.ok) throw new Error('no dest');
    expect([d.activeConns, d.inactiveConns, r.conn.state]).toEqual([0, 1, 'SYN_RECV']);
    t.setState(r.conn, 'ESTABLISHED', 10);
    expect([d.activeConns, d.inactiveConns]).toEqual([1, 0]);
    t.setState(r.conn, 'FIN_WAIT', 20);
    expect([d.activeConns, d.inactiveConns]).toEqual([0, 1]);
    t.setState(r.conn, 'TIME_WAIT', 30);
    // TIME_WAIT lasts 120 s (tcp_timeouts); nothing expires before.
    expect(t.expire(30 + 119_999)).toEqual([]);
    expect(t.expire(30 + 120_000).map((c) => c.id)).toEqual([r.conn.id]);
    expect([d.activeConns, d.inactiveConns]).toEqual([0, 0]);
  });

  test('--set tcp tcpfin udp drives ESTABLISHED, FIN_WAIT and UDP; 0 leaves unchanged', () => {
    const t = createTable();
    expect(t.timeoutSpec).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    t.setTimeouts({ tcp: 60, tcpFin: 0, udp: 5 });
    expect(t.timeoutSpec).toEqual({ tcp: 60, tcpFin: 120, udp: 5 });
    t.applySpec({ services: [service([dest('10.0.0.1')]), { key: udpKey, scheduler: 'rr', dests: [dest('10.0.0.1')] }] }, 0);
    const r = connect(t, '198.51.100.1', 0);
    if (!r.ok) throw new Error('no dest');
    t.setState(r.conn, 'ESTABLISHED', 0);
    const u = t.schedule(t.findService(udpKey)!, { clientAddr: '198.51.100.1', clientPort: 5000, vaddr: VIP, vport: 53 }, 0);
    if (!u.ok) throw new Error('no dest');
    expect(u.conn.state).toBe('UDP');
    expect(t.expire(4_999)).toEqual([]);
    expect(t.expire(5_000).map((c) => c.id)).toEqual([u.conn.id]);
    t.touch(r.conn, 30_000); // traffic re-arms the timer
    expect(t.expire(89_999)).toEqual([]);
    expect(t.expire(90_000).map((c) => c.id)).toEqual([r.conn.id]);
  });

  test('overload flag: set at u_threshold, cleared below 3/4 of it (or below l_threshold)', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1', 1, { uThreshold: 4 }), dest('10.0.0.2', 1)])] }, 0);
    const svc = t.findService(tcpKey)!;
    const a = svc.dests.find((d) => d.addr === '10.0.0.1')!;
    const conns = [];
    for (let i = 0; i < 8; i++) {
      const r = connect(t, '198.51.100.1', i);
      if (r.ok && r.dest === a) conns.push(r.conn);
    }
    // rr alternates 10.0.0.2, 10.0.0.1 until 10.0.0.1 holds 4 -> overloaded, then only .2.
    expect(conns.length).toBe(4);
    expect(a.overloaded).toBe(true);
    t.drop(conns[0]!); // total 3: 3*4 = 12 < 4*3 = 12? no -> still overloaded
    expect(a.overloaded).toBe(true);
    t.drop(conns[1]!); // total 2: 8 < 12 -> cleared
    expect(a.overloaded).toBe(false);
    t.applySpec({ services: [service([dest('10.0.0.1', 1, { uThreshold: 2, lThreshold: 1 }), dest('10.0.0.2', 1)])] }, 10);
    // lowering u_threshold does not set the flag (kernel __ip_vs_update_dest); the next bind does
    expect(a.overloaded).toBe(false);
    const more = connect(t, '198.51.100.1', 11); // rr reaches 10.0.0.1 within two picks
    const again = more.ok && more.dest === a ? more : connect(t, '198.51.100.1', 12);
    expect(again.ok && again.dest).toBe(a);
    expect(a.overloaded).toBe(true); // total 3 >= 2 at bind
    t.drop(conns[2]!);
    t.drop(conns[3]!); // total 1, not < l_threshold 1
    expect(a.overloaded).toBe(true);
    if (again.ok) t.drop(again.conn); // total 0 < 1
    expect(a.overloaded).toBe(false);
    // raising u_threshold clears it at once
    const c2 = [connect(t, '198.51.100.1', 13), connect(t, '198.51.100.1', 14), connect(t, '198.51.100.1', 15), connect(t, '198.51.100.1', 16)];
    expect(a.overloaded).toBe(true);
    t.applySpec({ services: [service([dest('10.0.0.1', 1, { uThreshold: 50, lThreshold: 1 }), dest('10.0.0.2', 1)])] }, 20);
    expect(a.overloaded).toBe(false);
    void c2;
  });

  test('UDP never becomes active; ops conns count and vanish at the next sweep', () => {
    const t = createTable();
    t.applySpec({ services: [{ key: udpKey, scheduler: 'rr', ops: true, dests: [dest('10.0.0.1'), dest('10.0.0.2')] }] }, 0);
    const svc = t.findService(udpKey)!;
    const picks = [];
    for (let i = 0; i < 4; i++) {
      const r = t.schedule(svc, { clientAddr: '198.51.100.1', clientPort: 5000, vaddr: VIP, vport: 53 }, i);
      if (!r.ok) throw new Error('no dest');
      t.setState(r.conn, 'UDP', i);
      picks.push(r.dest.addr);
    }
    // one client, one port, yet every datagram is scheduled: rr alternates
    expect(picks).toEqual(['10.0.0.2', '10.0.0.1', '10.0.0.2', '10.0.0.1']);
    expect(svc.stats.conns).toBe(4);
    expect(t.expire(4).length).toBe(4);
    expect(svc.dests.map((d) => d.inactiveConns + d.activeConns)).toEqual([0, 0]);
  });
});

describe('persistence', () => {
  const persistent = (extra: Partial<ServiceSpec> = {}): TableSpec => ({
    services: [service([dest('10.0.0.1'), dest('10.0.0.2'), dest('10.0.0.3')], { persistence: { timeoutS: 60, prefixLen: 24 }, ...extra })],
  });

  test('a client (masked /24) sticks to one server until the template expires', () => {
    const t = createTable();
    t.applySpec(persistent(), 0);
    const first = pickAddr(t, '198.51.100.7', 0);
    expect(pickAddr(t, '198.51.100.200', 1000)).toBe(first); // same /24
    expect(pickAddr(t, '203.0.113.5', 1000)).not.toBe(first); // other /24, rr moves on
    const d = t.findService(tcpKey)!.dests.find((x) => x.addr === first)!;
    expect(d.persistConns).toBe(1);
    // all conns of the template gone; the template lives 60 s after its last use (t=1000)
    for (const c of [...t.connections()]) if (!c.template) t.drop(c);
    expect(t.expire(60_999).some((c) => c.template && c.dest === d)).toBe(false);
    expect(t.expire(61_000).some((c) => c.template && c.dest === d)).toBe(true);
    expect(d.persistConns).toBe(0);
  });

  test('a template cannot expire while it controls connections: it is re-armed', () => {
    const t = createTable();
    t.applySpec(persistent(), 0);
    const r = connect(t, '198.51.100.7', 0);
    if (!r.ok) throw new Error('no dest');
    t.setState(r.conn, 'ESTABLISHED', 0); // 900 s
    expect(t.expire(60_000).length).toBe(0); // template re-armed to 120 000
    expect(pickAddr(t, '198.51.100.8', 61_000)).toBe(r.dest.addr);
  });

  test('templates ignore weight 0 unless expire_quiescent_template', () => {
    const t = createTable();
    t.applySpec(persistent(), 0);
    const first = pickAddr(t, '198.51.100.7', 0)!;
    const quiesce = (x: string) => [dest('10.0.0.1', x === '10.0.0.1' ? 0 : 1), dest('10.0.0.2', x === '10.0.0.2' ? 0 : 1), dest('10.0.0.3', x === '10.0.0.3' ? 0 : 1)];
    t.applySpec({ services: [service(quiesce(first), { persistence: { timeoutS: 60, prefixLen: 24 } })] }, 1);
    expect(pickAddr(t, '198.51.100.7', 2)).toBe(first);
    t.applySpec({ services: [service(quiesce(first), { persistence: { timeoutS: 60, prefixLen: 24 } })], options: { expireQuiescentTemplate: true } }, 3);
    expect(pickAddr(t, '198.51.100.7', 4)).not.toBe(first);
  });
});

describe('removal, trash and reload', () => {
  test('a removed dest keeps its connections until they end; re-adding revives it', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1'), dest('10.0.0.2')])] }, 0);
    const r = connect(t, '198.51.100.1', 0); // 10.0.0.2 (list head)
    if (!r.ok) throw new Error('no dest');
    t.setState(r.conn, 'ESTABLISHED', 0);
    const changes = t.applySpec({ services: [service([dest('10.0.0.1')])] }, 1);
    expect(changes).toEqual([{ op: 'delete-dest', service: 'TCP 192.0.2.10:80', dest: '10.0.0.2:80' }]);
    const svc = t.findService(tcpKey)!;
    expect(svc.dests.map((d) => d.addr)).toEqual(['10.0.0.1']);
    expect(t.connection(r.conn.id)).toBe(r.conn); // still there
    expect(svc.trash.size).toBe(1);
    t.applySpec({ services: [service([dest('10.0.0.1'), dest('10.0.0.2')])] }, 2);
    expect(svc.dests[0]).toBe(r.dest); // same object, counters continue
    expect(r.dest.activeConns).toBe(1);
  });

  test('expire_nodest_conn ends a removed dest\'s connections at once', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1'), dest('10.0.0.2')])], options: { expireNodestConn: true } }, 0);
    const r = connect(t, '198.51.100.1', 0);
    if (!r.ok) throw new Error('no dest');
    t.setState(r.conn, 'ESTABLISHED', 0);
    t.applySpec({ services: [service([dest('10.0.0.1')])] }, 5);
    expect(t.expire(5).map((c) => c.id)).toEqual([r.conn.id]);
    expect(t.findService(tcpKey)!.trash.size).toBe(0);
  });

  test('applySpec: minimal changes, scheduler state kept unless it changes, invalid spec changes nothing', () => {
    const t = createTable();
    const spec = { services: [service([dest('10.0.0.1'), dest('10.0.0.2'), dest('10.0.0.3')])] };
    expect(t.applySpec(spec, 0).map((c) => c.op)).toEqual(['add-service', 'add-dest', 'add-dest', 'add-dest']);
    expect(pickAddr(t, '198.51.100.1', 0)).toBe('10.0.0.3');
    expect(t.applySpec(spec, 1)).toEqual([]);
    // unchanged scheduler keeps its position: next is 10.0.0.2
    expect(pickAddr(t, '198.51.100.1', 2)).toBe('10.0.0.2');
    const c = t.applySpec({ services: [service([dest('10.0.0.1', 5), dest('10.0.0.2'), dest('10.0.0.3')], { scheduler: 'wrr' })], timeouts: { tcp: 100, tcpFin: 10, udp: 10 } }, 3);
    expect(c).toEqual([
      { op: 'edit-service', service: 'TCP 192.0.2.10:80', fields: ['scheduler'] },
      { op: 'edit-dest', service: 'TCP 192.0.2.10:80', dest: '10.0.0.1:80', fields: ['weight'] },
      { op: 'set-timeouts', timeouts: { tcp: 100, tcpFin: 10, udp: 10 } },
    ]);
    const before = JSON.stringify(t.services.map((s) => s.dests.map((d) => [d.addr, d.weight])));
    expect(() => t.applySpec({ services: [service([dest('10.0.0.9', 70000)])] }, 4)).toThrow(IpvsError);
    expect(() => t.applySpec({ services: [service([dest('10.0.0.9')], { scheduler: 'nope' as 'rr' })] }, 4)).toThrow(IpvsError);
    expect(JSON.stringify(t.services.map((s) => s.dests.map((d) => [d.addr, d.weight])))).toBe(before);
  });

  test('deleting a service: no new connections, existing ones finish', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1')])] }, 0);
    const r = connect(t, '198.51.100.1', 0);
    if (!r.ok) throw new Error('no dest');
    expect(t.applySpec({ services: [] }, 1)).toEqual([{ op: 'delete-service', service: 'TCP 192.0.2.10:80' }]);
    expect(t.findService(tcpKey)).toBeUndefined();
    expect(t.connection(r.conn.id)).toBe(r.conn);
    t.setState(r.conn, 'CLOSE', 2);
    expect(t.expire(10_002).map((c) => c.id)).toEqual([r.conn.id]);
  });
});

describe('stats and the rate estimator', () => {
  test('counters per service, dest and totals; estimator matches ip_vs_est.c arithmetic', () => {
    const t = createTable();
    t.applySpec({ services: [service([dest('10.0.0.1')])] }, 0);
    t.estimate(0);
    const svc = t.findService(tcpKey)!;
    // 1000 conns and 1 MB in per 2 s period, for 80 periods (the 1/4 smoothing needs ~60 to settle)
    for (let p = 1; p <= 80; p++) {
      for (let i = 0; i < 1000; i++) {
        const r = connect(t, '198.51.100.1', p * 2000 - 1);
        if (!r.ok) throw new Error('no dest');
        t.traffic(r.conn, 1, 1000, 2, 50);
        t.drop(r.conn);
      }
      t.estimate(p * 2000);
      if (p === 1) {
        // cps: (1000<<9)>>2 = 128000 -> (128000+511)>>10 = 125
        // inbps: (1e6<<4)>>2 = 4e6 -> (4e6+15)>>5 = 125000
        expect(t.rates(svc)).toEqual({ cps: 125, inpps: 125, outpps: 250, inbps: 125000, outbps: 6250 });
      }
    }
    // converges to the true per-second rates
    expect(t.rates(svc)).toEqual({ cps: 500, inpps: 500, outpps: 1000, inbps: 500000, outbps: 25000 });
    expect(svc.stats).toEqual({ conns: 80000, inPkts: 80000, outPkts: 160000, inBytes: 80_000_000, outBytes: 4_000_000 });
    expect(t.totals).toEqual(svc.stats);
    expect(svc.dests[0]!.stats).toEqual(svc.stats);
    t.zero(null);
    expect(t.rates(svc)).toEqual({ cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 });
    expect(svc.stats.conns).toBe(0);
  });
});

describe('applySpec on long destination lists (found by map, not by scan)', () => {
  const many = (n: number, weight: (i: number) => number) => Array.from({ length: n }, (_, i) => dest(`10.1.${i >> 8}.${i & 255}`, weight(i)));

  test('edits, removals and additions come out as for a short list, in spec order', () => {
    for (const n of [3, 16, 17, 40]) {
      const t = createTable();
      t.applySpec({ services: [service(many(n, () => 1))] }, 0);
      // Drop the first, reweight the last, add one new at the end.
      const next = many(n, (i) => (i === n - 1 ? 5 : 1)).slice(1).concat(dest('10.9.0.1', 2));
      const changes = t.applySpec({ services: [service(next)] }, 1);
      expect(changes).toEqual([
        { op: 'delete-dest', service: 'TCP 192.0.2.10:80', dest: '10.1.0.0:80' },
        { op: 'edit-dest', service: 'TCP 192.0.2.10:80', dest: `10.1.${(n - 1) >> 8}.${(n - 1) & 255}:80`, fields: ['weight'] },
        { op: 'add-dest', service: 'TCP 192.0.2.10:80', dest: '10.9.0.1:80' },
      ]);
      const svc = t.findService(tcpKey)!;
      expect(svc.dests.map((d) => `${d.addr}/${d.weight}`).sort()).toEqual(next.map((d) => `${d.addr}/${d.weight}`).sort());
      // The same spec again changes nothing.
      expect(t.applySpec({ services: [service(next)] }, 2)).toEqual([]);
    }
  });

  test('a repeated destination is refused before any edit, with the first repeat named', () => {
    for (const n of [4, 30]) {
      const t = createTable();
      const list = many(n, () => 1);
      list.push(dest(list[1].addr), dest(list[2].addr));
      expect(() => t.applySpec({ services: [service(list)] }, 0)).toThrow(IpvsError);
      try {
        t.applySpec({ services: [service(list)] }, 0);
      } catch (e) {
        expect((e as IpvsError).code).toBe('EEXIST_DEST');
        expect((e as IpvsError).detail).toBe(`TCP 192.0.2.10:80 ${list[1].addr}:80`);
      }
      expect(t.services).toHaveLength(0);
    }
  });

  test('an invalid destination before a repeat is reported first (checked in list order)', () => {
    const t = createTable();
    const list = [dest('10.0.0.1'), dest('10.0.0.2', 70000), dest('10.0.0.1')];
    let err: IpvsError | null = null;
    try {
      t.applySpec({ services: [service(list)] }, 0);
    } catch (e) {
      err = e as IpvsError;
    }
    expect(err?.code).toBe('EINVAL');
    expect(err?.detail).toBe('bad weight 70000');
  });
});
