// The running daemon's Prometheus endpoint (lvsd_defs metrics_listen), scraped over HTTP and
// parsed with parse-prometheus-text-format: after the known traffic every service and real server
// series carries the same exact counters lvsadm --stats shows; a SIGHUP counts a reload and
// changes the config hash label, a bad file counts a failed reload and keeps the hash.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { sleep, waitForTable } from './lvsadm-harness.js';
import { driveTraffic, REPLY, REQUEST, startScenario, TRAFFIC, UDP_REQUEST, type Scenario } from './lvsadm-scenario.js';

type Family = { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] };

let sc: Scenario;

beforeAll(async () => {
  sc = await startScenario();
  await driveTraffic(sc.ports);
  const udpAsks = [...TRAFFIC.udp4Asks, ...TRAFFIC.udp6Asks].reduce((a, b) => a + b, 0);
  await waitForTable(sc.lvsd.client, (v) =>
    v.services.reduce((n, s) => n + s.stats.inpkts + s.stats.outpkts, 0) === 2 * (TRAFFIC.tcp4Conns + TRAFFIC.tcp6Conns + udpAsks),
  'all traffic counted');
}, 60000);

afterAll(async () => {
  await sc?.stop();
});

async function scrape(): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${sc.ports.metrics}/metrics`);
  expect(res.status).toBe(200);
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of one series, by its labels (exact match); undefined when absent. */
function value(m: Map<string, Family>, name: string, labels: Record<string, string>): number | undefined {
  const f = m.get(name);
  const hit = f?.metrics.find((s) => JSON.stringify(Object.entries(s.labels ?? {}).sort()) === JSON.stringify(Object.entries(labels).sort()));
  return hit === undefined ? undefined : Number(hit.value);
}

test('per service and per real server series carry the exact counters after known traffic', async () => {
  const m = await scrape();
  const p = sc.ports;
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const b2 = TRAFFIC.tcp4Conns / 3;
  const b3 = 2 * b2;
  // [service label, server label or null, conns, inpkts, outpkts, inbytes, outbytes]
  const rows: [string, string | null, number, number, number, number, number][] = [
    [`TCP 127.0.0.1:${p.tcp4}`, null, 6, 6, 6, 6 * REQUEST.length, b2 * REPLY.b2.length + b3 * REPLY.b3.length],
    [`TCP 127.0.0.1:${p.tcp4}`, `127.0.0.2:${p.b2}`, b2, b2, b2, b2 * REQUEST.length, b2 * REPLY.b2.length],
    [`TCP 127.0.0.1:${p.tcp4}`, `127.0.0.3:${p.b3}`, b3, b3, b3, b3 * REQUEST.length, b3 * REPLY.b3.length],
    [`TCP 127.0.0.1:${p.tcp4}`, '192.0.2.10:80', 0, 0, 0, 0, 0],
    [`TCP [::1]:${p.tcp6}`, null, 4, 4, 4, 4 * REQUEST.length, 4 * REPLY.b6.length],
    [`TCP [::1]:${p.tcp6}`, `[::1]:${p.b6}`, 4, 4, 4, 4 * REQUEST.length, 4 * REPLY.b6.length],
    [`UDP 127.0.0.1:${p.udp4}`, `127.0.0.4:${p.udp4}`, 2, sum(TRAFFIC.udp4Asks), sum(TRAFFIC.udp4Asks), sum(TRAFFIC.udp4Asks) * UDP_REQUEST.length, sum(TRAFFIC.udp4Asks) * REPLY.b4.length],
    [`UDP [::1]:${p.udp6}`, null, 1, 2, 2, 2 * UDP_REQUEST.length, 2 * REPLY.bu6.length],
    ['FWM 7', null, 0, 0, 0, 0, 0],
    ['FWM 8 IPv6', '[2001:db8::20]:80', 0, 0, 0, 0, 0],
  ];
  for (const [service, server, ...want] of rows) {
    const prefix = server === null ? 'lvsd_service' : 'lvsd_server';
    const labels: Record<string, string> = server === null ? { service } : { service, server };
    const got = ['conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes'].map((f) => value(m, `${prefix}_${f}_total`, labels));
    expect([service, server, ...got]).toEqual([service, server, ...want]);
  }
  // counters are COUNTERs, rates and connection gauges are GAUGEs
  expect(m.get('lvsd_server_conns_total')?.type).toBe('COUNTER');
  expect(m.get('lvsd_service_rate_cps')?.type).toBe('GAUGE');
  // every service and every real server has its series: 6 services, 10 real servers
  expect(m.get('lvsd_service_conns_total')?.metrics).toHaveLength(6);
  expect(m.get('lvsd_server_conns_total')?.metrics).toHaveLength(10);
  // closed connections sit in TIME_WAIT: inactive; weights and up as configured
  expect(value(m, 'lvsd_server_inactive_connections', { service: `TCP 127.0.0.1:${p.tcp4}`, server: `127.0.0.3:${p.b3}` })).toBe(b3);
  expect(value(m, 'lvsd_server_active_connections', { service: `TCP 127.0.0.1:${p.tcp4}`, server: `127.0.0.3:${p.b3}` })).toBe(0);
  expect(value(m, 'lvsd_server_weight', { service: `TCP 127.0.0.1:${p.tcp4}`, server: `127.0.0.3:${p.b3}` })).toBe(2);
  expect(value(m, 'lvsd_server_up', { service: `TCP 127.0.0.1:${p.tcp4}`, server: '192.0.2.10:80' })).toBe(0);
  expect(value(m, 'lvsd_reloads_total', { result: 'ok' })).toBe(0);
  expect(value(m, 'lvsd_reloads_total', { result: 'failed' })).toBe(0);
  expect(m.get('lvsd_config_info')?.metrics).toHaveLength(1);
});

async function waitForReload(field: 'ok' | 'failed', n: number): Promise<Map<string, Family>> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const m = await scrape();
    if (value(m, 'lvsd_reloads_total', { result: field }) === n) return m;
    if (Date.now() > deadline) throw new Error(`reloads_total{result="${field}"} never reached ${n}`);
    await sleep(50);
  }
}

test('SIGHUP: reload counters and the config hash follow the file', async () => {
  const hashOf = (m: Map<string, Family>): string => m.get('lvsd_config_info')!.metrics[0]!.labels!.hash!;
  const before = hashOf(await scrape());
  const text = readFileSync(sc.lvsd.conf, 'utf8');
  const service = `TCP 127.0.0.1:${sc.ports.tcp4}`;
  const server = `127.0.0.3:${sc.ports.b3}`;

  // a changed file: one more ok reload, a new hash, the new weight
  writeFileSync(sc.lvsd.conf, text.replace(/weight 2\n/, 'weight 7\n'));
  sc.lvsd.proc.kill('SIGHUP');
  const m1 = await waitForReload('ok', 1);
  const after = hashOf(m1);
  expect(after).not.toBe(before);
  expect(m1.get('lvsd_config_info')?.metrics).toHaveLength(1);
  expect(value(m1, 'lvsd_server_weight', { service, server })).toBe(7);
  // the counters survived the reload (same service, same real server)
  expect(value(m1, 'lvsd_server_conns_total', { service, server })).toBe(2 * TRAFFIC.tcp4Conns / 3);

  // a broken file: a failed reload, nothing changes
  writeFileSync(sc.lvsd.conf, text.replace('lvs_sched wrr', 'lvs_sched no_such_scheduler'));
  sc.lvsd.proc.kill('SIGHUP');
  const m2 = await waitForReload('failed', 1);
  expect(value(m2, 'lvsd_reloads_total', { result: 'ok' })).toBe(1);
  expect(hashOf(m2)).toBe(after);
  expect(value(m2, 'lvsd_server_weight', { service, server })).toBe(7);
});
