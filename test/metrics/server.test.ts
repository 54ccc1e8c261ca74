// The metrics endpoint scraped over HTTP on loopback and parsed with parse-prometheus-text-format.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import pino from 'pino';
import { createMetricsRegistry, MetricsServer, parseListen, type MetricsSource } from '../../src/metrics/index.js';
import { MemoryTable } from '../control/memory-table.js';

const table = new MemoryTable();
let drops = 0;
const source: MetricsSource = {
  table: () => table.snapshot(),
  vrrp: () => [{ name: 'VI_1', state: 'MASTER', advertsSent: 42, advertsReceived: 3, becameMaster: 1, releasedMaster: 0 }],
  checkers: () => [{ service: 'TCP 192.0.2.10:80', server: '10.0.0.11:80', type: 'HTTP_GET', up: true, checksOk: 10, checksFailed: 2 }],
  reloads: () => ({ ok: 2, failed: 1, configHash: 'abc123' }),
  drops: () => ({ bad_request: drops }),
};
const server = new MetricsServer(createMetricsRegistry(source), pino({ level: 'silent' }));
let url = '';

beforeAll(async () => {
  table.apply({ op: 'add-service', service: { key: { kind: 'addr', protocol: 'TCP', address: '192.0.2.10', port: 80 }, scheduler: 'rr', schedFlags: [], persistence: null, pe: null, ops: false } });
  table.apply({ op: 'add-dest', service: { kind: 'addr', protocol: 'TCP', address: '192.0.2.10', port: 80 }, dest: { address: '10.0.0.11', port: 80, forward: 'masq', weight: 3, upperThreshold: 0, lowerThreshold: 0, tunnel: null } });
  table.services[0]!.stats.conns = 17;
  table.services[0]!.dests[0]!.stats.inbytes = 123456;
  const addr = await server.start('127.0.0.1:0');
  url = `http://127.0.0.1:${addr.port}/metrics`;
});
afterAll(() => server.stop());

type Family = { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] };
async function scrape(): Promise<Map<string, Family>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

test('scrape shows table, VRRP, checker, reload and drop figures', async () => {
  drops = 5;
  const m = await scrape();
  expect(m.get('lvsd_service_conns_total')!.metrics).toEqual([{ value: '17', labels: { service: 'TCP 192.0.2.10:80' } }]);
  expect(m.get('lvsd_server_inbytes_total')!.metrics).toEqual([{ value: '123456', labels: { service: 'TCP 192.0.2.10:80', server: '10.0.0.11:80' } }]);
  expect(m.get('lvsd_server_weight')!.metrics[0]!.value).toBe('3');
  expect(m.get('lvsd_server_up')!.metrics[0]!.value).toBe('1');
  expect(m.get('lvsd_vrrp_state')!.metrics.find((x) => x.labels!.state === 'MASTER')!.value).toBe('1');
  expect(m.get('lvsd_vrrp_adverts_sent_total')!.metrics[0]!.value).toBe('42');
  expect(m.get('lvsd_checker_checks_total')!.metrics.map((x) => x.value)).toEqual(['10', '2']);
  expect(m.get('lvsd_reloads_total')!.metrics.map((x) => [x.labels!.result, x.value])).toEqual([['ok', '2'], ['failed', '1']]);
  expect(m.get('lvsd_config_info')!.metrics[0]!.labels).toEqual({ hash: 'abc123' });
  expect(m.get('lvsd_dropped_total')!.metrics[0]!.value).toBe('5');
});

test('values follow the table between scrapes; removed servers disappear', async () => {
  table.apply({ op: 'edit-dest', service: { kind: 'addr', protocol: 'TCP', address: '192.0.2.10', port: 80 }, dest: { address: '10.0.0.11', port: 80, forward: 'masq', weight: 0, upperThreshold: 0, lowerThreshold: 0, tunnel: null } });
  expect((await scrape()).get('lvsd_server_up')!.metrics[0]!.value).toBe('0');
  table.apply({ op: 'delete-dest', service: { kind: 'addr', protocol: 'TCP', address: '192.0.2.10', port: 80 }, dest: { address: '10.0.0.11', port: 80 } });
  expect((await scrape()).get('lvsd_server_weight')?.metrics ?? []).toEqual([]);
});

test('listen address parsing and unknown paths', async () => {
  expect(parseListen('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
  expect(() => parseListen('nonsense')).toThrow('ADDRESS:PORT expected');
  expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
});
