// The table seen through control/view.ts: snapshot() shapes and apply() edits with ipvsadm's errors.
import { describe, expect, test } from '@jest/globals';
import { createTable, IpvsTableControl } from '../../src/ipvs/index.js';
import type { ControlCommand, ServiceKey } from '../../src/control/view.js';

const key: ServiceKey = { kind: 'addr', protocol: 'TCP', address: '192.0.2.10', port: 80 };
const svc = { key, scheduler: 'rr', schedFlags: [], persistence: { timeout: 360, netmask: 24 }, pe: null, ops: false };
const dst = (address: string, weight = 1) => ({ address, port: 80, forward: 'masq' as const, weight, upperThreshold: 0, lowerThreshold: 0, tunnel: null });

describe('IpvsTableControl', () => {
  test('apply edits and snapshot shows them in kernel list order with ipvsadm names', () => {
    let now = 0;
    const table = createTable();
    const ctl = new IpvsTableControl(table, { now: () => now });
    expect(ctl.apply({ op: 'add-service', service: svc })).toEqual({ ok: true });
    expect(ctl.apply({ op: 'add-dest', service: key, dest: dst('10.0.0.1', 2) })).toEqual({ ok: true });
    expect(ctl.apply({ op: 'add-dest', service: key, dest: { ...dst('127.0.0.1'), forward: 'route' } })).toEqual({ ok: true });
    const r = table.schedule(table.services[0]!, { clientAddr: '198.51.100.9', clientPort: 999, vaddr: '192.0.2.10', vport: 80 }, 0);
    expect(r.ok).toBe(true);
    now = 5000;
    const v = ctl.snapshot({ connections: true });
    expect(v.services[0]!.dests.map((d) => [d.address, d.forward, d.weight, d.inactiveConns, d.persistConns])).toEqual([
      ['127.0.0.1', 'Local', 1, 1, 1], // head insertion; loopback shows as Local (kernel)
      ['10.0.0.1', 'Masq', 2, 0, 0],
    ]);
    expect(v.services[0]!.persistence).toEqual({ timeout: 360, netmask: 24 });
    expect(v.connections.map((c) => [c.protocol, c.state, c.template, c.client.port, c.expireSeconds])).toEqual([
      ['TCP', 'NONE', true, 0, 355],
      ['TCP', 'SYN_RECV', false, 999, 55],
    ]);
    expect(v.connections[0]!.client.address).toBe('198.51.100.0');
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });

  test('failures carry the codes lvsadm maps to ipvsadm messages; restore keeps going', () => {
    const ctl = new IpvsTableControl(createTable(), { now: () => 0 });
    const bad: [ControlCommand, string][] = [
      [{ op: 'edit-service', service: svc }, 'NO_SERVICE'],
      [{ op: 'add-dest', service: key, dest: dst('10.0.0.1') }, 'NO_SERVICE'],
      [{ op: 'add-service', service: { ...svc, scheduler: 'xyz' } }, 'SCHEDULER_NOT_FOUND'],
      [{ op: 'add-service', service: { ...svc, pe: 'sip' } }, 'SCHEDULER_NOT_FOUND'],
      [{ op: 'add-service', service: { ...svc, ops: true } }, 'INVALID'],
    ];
    for (const [cmd, code] of bad) expect(ctl.apply(cmd)).toMatchObject({ ok: false, code });
    const res = ctl.apply({ op: 'restore', commands: [
      { op: 'add-service', service: svc },
      { op: 'add-service', service: svc },
      { op: 'add-dest', service: key, dest: dst('10.0.0.1') },
      { op: 'edit-dest', service: key, dest: dst('10.0.0.2') },
    ] });
    expect(res.ok).toBe(false);
    expect(res.results!.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['ok', 'SERVICE_EXISTS', 'ok', 'NO_DEST']);
    expect(ctl.apply({ op: 'set-timeouts', timeouts: { tcp: 10, tcpfin: 0, udp: 0 } })).toEqual({ ok: true });
    expect(ctl.snapshot().timeouts).toEqual({ tcp: 10, tcpfin: 120, udp: 300 });
    expect(ctl.apply({ op: 'clear' })).toEqual({ ok: true });
    expect(ctl.snapshot().services).toEqual([]);
  });
});
