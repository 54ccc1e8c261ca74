// specs.ts: the pure mapping from a loaded configuration to the table spec and checker specs.

import { afterAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import type { ConfigModel } from '../../src/config/index.js';
import { checkSpecsOf, endpoint, serviceKeysOf, serviceSpecsOf, tableSpecOf, vsId } from '../../src/daemon/specs.js';
import { tempTree } from '../helpers/paths.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

function load(text: string): ConfigModel {
  const t = tempTree({ 'lvsd.conf': text }, 'lvsd-specs-');
  cleanups.push(t.cleanup);
  const r = loadConfig(`${t.dir}/lvsd.conf`, { configId: 'test' });
  if (!r.config) throw new Error(r.diagnostics.errors.map((d) => d.message).join('\n'));
  return r.config;
}

const CONFIG = `
lvsd_defs {
    timeout 100 20 30
    expire_nodest_conn
}
virtual_server_group WEB {
    192.0.2.1-3 80
    2001:db8::fe-101 443
    fwmark 7
}
virtual_server 192.0.2.10 80 {
    lvs_sched wlc
    lvs_method DR
    protocol TCP
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    sorry_server 198.51.100.99 8080
    real_server 198.51.100.1 {
        weight 3
        uthreshold 100
        lthreshold 10
        HTTP_GET {
            url {
                path /health
                status_code 200 204
            }
            connect_timeout 2
            retry 4
            delay_before_retry 1.5
        }
    }
    real_server 198.51.100.2 8080 {
        weight 0
        lvs_method NAT
        UDP_CHECK {
            payload 0a0b
            require_reply 01xx
        }
    }
}
virtual_server 2001:db8::10 53 {
    lvs_sched sh
    sh-port
    protocol UDP
    ops
    persistence_timeout 60
    persistence_granularity 64
    real_server 2001:db8::1 53 {
        weight 1
    }
}
virtual_server fwmark 9 {
    lvs_sched rr
    protocol TCP
    real_server 198.51.100.5 0 {
        weight 2
    }
}
virtual_server group WEB {
    lvs_sched rr
    protocol TCP
    real_server 198.51.100.7 80 {
        weight 1
    }
}
`;

describe('specs', () => {
  const c = load(CONFIG);
  const [v4, v6, fw, grp] = c.virtual_server;

  test('names and endpoints', () => {
    expect(c.virtual_server.map(vsId)).toEqual(['TCP 192.0.2.10:80', 'UDP [2001:db8::10]:53', 'fwmark 9', 'TCP group WEB']);
    expect(endpoint('2001:db8::1', 80)).toBe('[2001:db8::1]:80');
    expect(endpoint('192.0.2.1', 0)).toBe('192.0.2.1:0');
  });

  test('a service: scheduler, persistence netmask, methods, thresholds, "no port" = the service port, sorry server', () => {
    const [s] = serviceSpecsOf(v4, c);
    expect(s.key).toEqual({ kind: 'addr', protocol: 'tcp', addr: '192.0.2.10', port: 80 });
    expect(s.scheduler).toBe('wlc');
    expect(s.persistence).toEqual({ timeoutS: 600, prefixLen: 24 });
    expect(s.dests.map((d) => [d.addr, d.port, d.weight, d.method, d.uThreshold, d.lThreshold])).toEqual([
      ['198.51.100.1', 80, 3, 'DR', 100, 10],
      ['198.51.100.2', 8080, 0, 'NAT', 0, 0],
    ]);
    expect(s.sorryServer).toMatchObject({ addr: '198.51.100.99', port: 8080, weight: 1, method: 'DR' });
  });

  test('IPv6 persistence granularity is a prefix length; sh-port and ops carry over', () => {
    const [s] = serviceSpecsOf(v6, c);
    expect(s.key).toEqual({ kind: 'addr', protocol: 'udp', addr: '2001:db8::10', port: 53 });
    expect(s.persistence).toEqual({ timeoutS: 60, prefixLen: 64 });
    expect(s.schedFlags).toMatchObject({ port: true });
    expect(s.ops).toBe(true);
  });

  test('fwmark services and a group expanded to one service per address and mark', () => {
    expect(serviceKeysOf(fw, c)).toEqual([{ kind: 'fwmark', fwmark: 9, family: 4 }]);
    expect(serviceSpecsOf(fw, c)[0].dests[0].port).toBe(0);
    const keys = serviceKeysOf(grp, c);
    expect(keys).toEqual([
      { kind: 'addr', protocol: 'tcp', addr: '192.0.2.1', port: 80 },
      { kind: 'addr', protocol: 'tcp', addr: '192.0.2.2', port: 80 },
      { kind: 'addr', protocol: 'tcp', addr: '192.0.2.3', port: 80 },
      { kind: 'addr', protocol: 'tcp', addr: '2001:db8::fe', port: 443 },
      { kind: 'addr', protocol: 'tcp', addr: '2001:db8::ff', port: 443 },
      { kind: 'addr', protocol: 'tcp', addr: '2001:db8::100', port: 443 },
      { kind: 'addr', protocol: 'tcp', addr: '2001:db8::101', port: 443 },
      { kind: 'fwmark', fwmark: 7, family: 4 },
    ]);
    // Every expanded service gets the same real servers.
    expect(new Set(serviceSpecsOf(grp, c).map((s) => JSON.stringify(s.dests))).size).toBe(1);
  });

  test('the table spec: every service in config order, timeouts and options from lvsd_defs', () => {
    const t = tableSpecOf(c);
    expect(t.services).toHaveLength(1 + 1 + 1 + 8);
    expect(t.timeouts).toEqual({ tcp: 100, tcpFin: 20, udp: 30 });
    expect(t.options).toEqual({ expireNodestConn: true });
  });

  test('checker specs: HTTP timings in ms, UDP payload and reply pattern with any-nibbles', () => {
    const [vs4] = checkSpecsOf(c);
    expect(vs4.id).toBe('TCP 192.0.2.10:80');
    expect(vs4.sorryServer).toEqual({ addr: '198.51.100.99', port: 8080 });
    const [http, udp] = vs4.realServers;
    expect([http.addr, http.port, http.weight]).toEqual(['198.51.100.1', 80, 3]);
    expect(http.checkers).toHaveLength(1);
    expect(http.checkers[0]).toMatchObject({ type: 'HTTP', connectTimeoutMs: 2000, retry: 4, delayBeforeRetryMs: 1500, urls: [{ path: '/health', statusCodes: [[200, 200], [204, 204]] }] });
    const u = udp.checkers[0] as { type: string; payload: Uint8Array; requireReply: boolean; replyPattern: { bytes: Uint8Array; mask: Uint8Array } };
    expect(u.type).toBe('UDP');
    expect([...u.payload]).toEqual([0x0a, 0x0b]);
    expect(u.requireReply).toBe(true);
    expect([...u.replyPattern.bytes]).toEqual([0x01, 0x00]);
    expect([...u.replyPattern.mask]).toEqual([0xff, 0x00]);
  });
});
