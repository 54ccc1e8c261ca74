// A master table's changes through the outbox, the codec and the installer into a backup table:
// what is announced when (injected clock), and what the backup's lvsadm -c shows afterwards.
import { describe, expect, test } from '@jest/globals';
import { createTable, IpvsTableControl, type IpvsTable, type ServiceSpec } from '../../src/ipvs/index.js';
import { decodeMessage } from '../../src/sync/codec.js';
import { SyncInstaller } from '../../src/sync/backup.js';
import { SyncOutbox } from '../../src/sync/master.js';

const dr = (addr: string) => ({ addr, port: 80, weight: 1, method: 'DR' as const, uThreshold: 0, lThreshold: 0 });
const web: ServiceSpec = { key: { kind: 'addr', protocol: 'tcp', addr: '203.0.113.10', port: 80 }, scheduler: 'rr', dests: [dr('198.51.100.2'), dr('198.51.100.3')] };
const sticky: ServiceSpec = { ...web, key: { kind: 'addr', protocol: 'tcp', addr: '203.0.113.11', port: 80 }, persistence: { timeoutS: 300, prefixLen: 24 } };
const dns: ServiceSpec = { key: { kind: 'addr', protocol: 'udp', addr: '203.0.113.10', port: 53 }, scheduler: 'rr', dests: [{ ...dr('198.51.100.2'), port: 53 }] };
const marked: ServiceSpec = { key: { kind: 'fwmark', fwmark: 7, family: 4 }, scheduler: 'rr', persistence: { timeoutS: 120, prefixLen: 32 }, dests: [{ ...dr('198.51.100.4'), port: 0 }] };

function pair(): { m: IpvsTable; b: IpvsTable; outbox: SyncOutbox; installer: SyncInstaller; ship: (now: number, all?: boolean) => number } {
  const m = createTable();
  const b = createTable();
  for (const t of [m, b]) t.applySpec({ services: [web, sticky, dns, marked] }, 0);
  const outbox = new SyncOutbox({ syncid: 3, maxlen: 1472, timeoutOf: (c) => m.timeoutFor(c) });
  m.syncObserver = (c, now) => outbox.offer(c, now);
  const installer = new SyncInstaller(b);
  const ship = (now: number, all = false): number => {
    const msgs = all ? outbox.drain() : outbox.take(now);
    for (const msg of msgs) {
      const d = decodeMessage(msg, 3);
      if (!d.ok) throw d.error;
      installer.install(d.message.conns, now);
    }
    return msgs.length;
  };
  return { m, b, outbox, installer, ship };
}

const conns = (t: IpvsTable, now: number) =>
  new IpvsTableControl(t, { now: () => now }).snapshot({ connections: true }).connections
    .map((c) => `${c.protocol} ${c.state} ${c.client.address}:${c.client.port} ${c.virtual.address}:${c.virtual.port} -> ${c.destination.address}:${c.destination.port} ${c.expireSeconds}`)
    .sort();

describe('sync master -> backup', () => {
  test('TCP connections are announced from ESTABLISHED on; the backup lists them with their timeouts', () => {
    const { m, b, ship } = pair();
    const svc = m.findService(web.key)!;
    const r = m.schedule(svc, { clientAddr: '192.0.2.1', clientPort: 40000, vaddr: '203.0.113.10', vport: 80 }, 1000);
    if (!r.ok) throw new Error(r.message);
    expect(ship(1000, true)).toBe(0); // SYN_RECV is not announced
    m.setState(r.conn, 'ESTABLISHED', 1500);
    expect(ship(2000)).toBe(0); // a partial buffer waits IPVS_SYNC_FLUSH_TIME
    expect(ship(3500)).toBe(1);
    expect(conns(b, 3500)).toEqual(['TCP ESTABLISHED 192.0.2.1:40000 203.0.113.10:80 -> ' + `${r.dest.addr}:80 900`]);
    const bd = b.findService(web.key)!.dests.find((d) => d.addr === r.dest.addr)!;
    expect([bd.activeConns, bd.inactiveConns]).toEqual([1, 0]);
    m.setState(r.conn, 'FIN_WAIT', 10_000);
    ship(10_000, true);
    expect(conns(b, 10_000)).toEqual([`TCP FIN_WAIT 192.0.2.1:40000 203.0.113.10:80 -> ${r.dest.addr}:80 120`]);
    expect([bd.activeConns, bd.inactiveConns]).toEqual([0, 1]);
  });

  test('an unchanged entry is announced again after half its timeout, not on every touch', () => {
    const { m, b, outbox, ship } = pair();
    const r = m.schedule(m.findService(dns.key)!, { clientAddr: '192.0.2.5', clientPort: 5000, vaddr: '203.0.113.10', vport: 53 }, 0);
    if (!r.ok) throw new Error(r.message);
    ship(0, true);
    expect(outbox.entries).toBe(1);
    for (let t = 1000; t < 150_000; t += 1000) m.touch(r.conn, t);
    expect(outbox.entries).toBe(1);
    m.touch(r.conn, 150_000); // UDP 300 s: half is 150 s
    expect(outbox.entries).toBe(2);
    ship(150_000, true);
    expect(conns(b, 150_000)).toEqual(['UDP UDP 192.0.2.5:5000 203.0.113.10:53 -> 198.51.100.2:53 300']);
  });

  test('templates travel with their connections, and the backup schedules a known client to the same dest', () => {
    const { m, b, ship } = pair();
    const svc = m.findService(sticky.key)!;
    const picks: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = m.schedule(svc, { clientAddr: i % 2 === 0 ? `192.0.2.${10 + i}` : `203.0.113.${100 + i}`, clientPort: 1000 + i, vaddr: '203.0.113.11', vport: 80 }, 0);
      if (!r.ok) throw new Error(r.message);
      m.setState(r.conn, 'ESTABLISHED', 10);
      picks.push(r.dest.addr);
    }
    ship(10, true);
    const bs = b.findService(sticky.key)!;
    const tpl = conns(b, 10).filter((l) => l.includes(' NONE '));
    expect(tpl.length).toBe(2); // two /24 networks
    expect(tpl.every((l) => l.endsWith(' 300'))).toBe(true);
    // a new connection from a known network goes where the master sent that network
    const r = b.schedule(bs, { clientAddr: '192.0.2.77', clientPort: 9, vaddr: '203.0.113.11', vport: 80 }, 20);
    expect(r.ok && [r.viaTemplate, r.dest.addr]).toEqual([true, picks[0]]);
    expect(bs.dests.reduce((n, d) => n + d.persistConns, 0)).toBe(2);
  });

  test('fwmark templates carry the mark as their virtual address (kernel) and find the fwmark service', () => {
    const { m, b, ship } = pair();
    const r = m.schedule(m.findService(marked.key)!, { clientAddr: '192.0.2.9', clientPort: 7, vaddr: '203.0.113.99', vport: 443 }, 0);
    if (!r.ok) throw new Error(r.message);
    m.setState(r.conn, 'ESTABLISHED', 0);
    ship(0, true);
    expect(conns(b, 0)).toEqual([
      'IP NONE 192.0.2.9:0 0.0.0.7:0 -> 198.51.100.4:0 120',
      'TCP ESTABLISHED 192.0.2.9:7 203.0.113.99:443 -> 198.51.100.4:0 900', // a port-0 dest lists as :0 (as on the master)
    ]);
  });

  test('a connection moved to another dest replaces the old one; its late INACTIVE expiry is ignored', () => {
    const { m, b, installer, ship } = pair();
    const svc = m.findService(web.key)!;
    const r = m.schedule(svc, { clientAddr: '192.0.2.1', clientPort: 1, vaddr: '203.0.113.10', vport: 80 }, 0);
    if (!r.ok) throw new Error(r.message);
    m.setState(r.conn, 'ESTABLISHED', 0);
    ship(0, true);
    m.drop(r.conn);
    const again = m.schedule(svc, { clientAddr: '192.0.2.1', clientPort: 1, vaddr: '203.0.113.10', vport: 80 }, 5);
    if (!again.ok) throw new Error(again.message);
    expect(again.dest.addr).not.toBe(r.dest.addr); // rr moved on
    m.setState(again.conn, 'ESTABLISHED', 5);
    ship(5, true);
    expect(conns(b, 5)).toEqual([`TCP ESTABLISHED 192.0.2.1:1 203.0.113.10:80 -> ${again.dest.addr}:80 900`]);
    m.setState(r.conn, 'CLOSE', 6); // the dropped entry is gone from the master's table: nothing sent
    expect(ship(6, true)).toBe(0);
    expect(installer.counters.installed).toBe(2);
  });

  test('IPv6 connections travel as 72-byte entries and list the same on the backup', () => {
    const v6: ServiceSpec = { key: { kind: 'addr', protocol: 'tcp', addr: '2001:db8::10', port: 443 }, scheduler: 'rr', dests: [{ ...dr('2001:db8:2::11'), port: 443 }] };
    const { m, b, ship } = pair();
    for (const t of [m, b]) t.applySpec({ services: [web, v6] }, 0);
    const r = m.schedule(m.findService(v6.key)!, { clientAddr: '2001:db8:1::5', clientPort: 50000, vaddr: '2001:db8::10', vport: 443 }, 0);
    if (!r.ok) throw new Error(r.message);
    m.setState(r.conn, 'CLOSE_WAIT', 0);
    ship(0, true);
    expect(conns(b, 0)).toEqual(['TCP CLOSE_WAIT 2001:db8:1::5:50000 2001:db8::10:443 -> 2001:db8:2::11:443 60']);
  });

  test('entries for services or dests the backup lacks are counted, not installed', () => {
    const { m, b, installer, ship } = pair();
    const r = m.schedule(m.findService(web.key)!, { clientAddr: '192.0.2.1', clientPort: 2, vaddr: '203.0.113.10', vport: 80 }, 0);
    if (!r.ok) throw new Error(r.message);
    b.applySpec({ services: [{ ...web, dests: [dr('198.51.100.9')] }] }, 0);
    m.setState(r.conn, 'ESTABLISHED', 0);
    ship(0, true);
    expect(installer.counters.noDest).toBe(1);
    b.applySpec({ services: [] }, 0);
    m.setState(r.conn, 'FIN_WAIT', 1);
    ship(1, true);
    expect(installer.counters.noService).toBe(1);
  });
});
