// keepalived's own sample configurations, read in place from ../shared/corpus: every one loads
// with no error, and several are checked field by field against what the file says.
import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import type { ConfigModel } from '../../src/config/index.js';
import { corpusDir } from '../helpers/paths.js';

const samplesDir = join(corpusDir, 'keepalived-samples');
const samples = readdirSync(samplesDir).sort();

function load(name: string): ConfigModel {
  const r = loadConfig(join(samplesDir, name), { configId: 'test' });
  expect(r.diagnostics.errors).toEqual([]);
  if (!r.config) throw new Error(`${name} did not load`);
  return r.config;
}

describe('keepalived samples', () => {
  it('finds the samples', () => {
    expect(samples.length).toBeGreaterThanOrEqual(20);
  });

  it.each(samples)('%s loads with no error', (name) => {
    const r = loadConfig(join(samplesDir, name), { configId: 'test' });
    const errors = r.diagnostics.errors.map((d) => `${d.loc?.line}:${d.loc?.col}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(r.config).not.toBeNull();
  });

  it('keepalived.conf.sample: the virtual server, its sorry server and HTTP_GET', () => {
    const c = load('keepalived.conf.sample');
    const vs = c.virtual_server[0];
    expect(vs.key).toEqual({ kind: 'ip', ip: '10.10.10.2', family: 4, port: 1358 });
    expect([vs.delay_loop, vs.lvs_sched, vs.lvs_method?.method, vs.persistence_timeout, vs.protocol]).toEqual([6, 'rr', 'NAT', 50, 'TCP']);
    expect(vs.sorry_server).toEqual({ ip: '192.168.200.200', family: 4, port: 1358 });
    const rs = vs.real_server[0];
    expect([rs.ip, rs.port, rs.weight]).toEqual(['192.168.200.2', 1358, 1]);
    const http = rs.HTTP_GET[0];
    expect(http.url).toHaveLength(1);
    expect(http.url[0].path).toBe('/testurl3/test.jsp');
    expect(http.url[0].digest).toBe('640205b7b0fc66c1ea91c463fac6334d');
    expect(http.url[0].status_code).toEqual([[200, 299]]); // keepalived's default when only a digest is given
    expect([http.connect_timeout, http.retry, http.delay_before_retry]).toEqual([3, 3, 3]);
    // Not given in the file: inherited from the virtual server (delay_loop 6), warmup defaults to delay_loop.
    expect([http.delay_loop, http.warmup]).toEqual([6, 6]);
    // Defaults filled in for what the file does not say.
    expect([vs.quorum, vs.hysteresis, vs.ops, vs.alpha, rs.uthreshold, rs.inhibit_on_failure]).toEqual([1, 0, false, false, 0, false]);
  });

  it('keepalived.conf.fwmark: a fwmark service whose real servers have no port', () => {
    const c = load('keepalived.conf.fwmark');
    const vs = c.virtual_server[0];
    expect(vs.key).toEqual({ kind: 'fwmark', fwmark: 1 });
    expect(vs.persistence_timeout).toBe(900);
    expect(vs.real_server.map((r) => [r.ip, r.port, r.weight])).toEqual([
      ['192.168.201.100', 0, 1],
      ['192.168.201.101', 0, 1],
    ]);
    expect(vs.real_server[0].TCP_CHECK[0].connect_port).toBe(80);
    expect(vs.real_server[0].TCP_CHECK[0].connect_timeout).toBe(3);
    expect(vs.real_server[0].TCP_CHECK[0].retry).toBe(1); // TCP_CHECK's default
  });

  it('keepalived.conf.IPv6: a group with an IPv6 range, and an SMTP_CHECK', () => {
    const c = load('keepalived.conf.IPv6');
    expect(c.virtual_server_group[0].name).toBe('IPv6_group');
    expect(c.virtual_server_group[0].entries).toEqual([
      { kind: 'range', family: 6, first: 'ae00::2', last: 'ae00::9', port: 80 },
      { kind: 'range', family: 6, first: 'ae00::1', last: 'ae00::1', port: 80 },
    ]);
    const vs = c.virtual_server[0];
    expect(vs.key).toEqual({ kind: 'ip', ip: 'ae00::1', family: 6, port: 80 });
    const smtp = vs.real_server[0].SMTP_CHECK[0];
    expect([vs.real_server[0].ip, vs.real_server[0].port]).toEqual(['ae00::10', 25]);
    expect([smtp.connect_timeout, smtp.retry, smtp.helo_name]).toEqual([3, 3, 'foo.bar.com']);
  });

  it('keepalived.conf.misc_check: MISC_CHECK with its path and a commented-out misc_dynamic', () => {
    const c = load('keepalived.conf.misc_check');
    const m = c.virtual_server[0].real_server[0].MISC_CHECK[0];
    expect(m.misc_path).toBe('/usr/local/bin/script.sh');
    expect(m.misc_dynamic).toBe(false);
    expect(m.retry).toBe(0); // MISC_CHECK's default retry
  });
});
