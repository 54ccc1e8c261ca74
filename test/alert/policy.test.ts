// keepalived's rules for who gets mail: per-object smtp_alert, else smtp_alert_vrrp /
// smtp_alert_checker, else smtp_alert, else off - except real servers, which default to on.
import { describe, expect, it } from '@jest/globals';
import { alertPolicyOf, resolveFlag } from '../../src/alert/index.js';
import { endpoint, vsId } from '../../src/daemon/specs.js';
import { configTextLoader } from '../helpers/config-text.js';

const load = configTextLoader('lvsd-alert-policy-');
const host = { hostname: 'lb1.example.com', user: 'lvsd' };

function policy(globals: string, objects = { vi: '', sg: '', vs: '', rs: '' }) {
  const r = load(
    [
      'global_defs {',
      '  notification_email {',
      '    ops@example.com',
      '  }',
      '  smtp_server 127.0.0.1 2525',
      globals,
      '}',
      'vrrp_instance VI_1 {',
      '  interface lo',
      '  virtual_router_id 51',
      '  priority 100',
      '  virtual_ipaddress {',
      '    192.0.2.10',
      '  }',
      objects.vi,
      '}',
      'vrrp_sync_group G1 {',
      '  group {',
      '    VI_1',
      '  }',
      objects.sg,
      '}',
      'virtual_server 192.0.2.10 80 {',
      objects.vs,
      '  real_server 198.51.100.1 8080 {',
      objects.rs,
      '    TCP_CHECK {',
      '    }',
      '  }',
      '}',
    ].join('\n'),
  );
  expect(r.errors).toEqual([]);
  const p = alertPolicyOf(r.config!, host, { vsId, endpoint });
  const vs = p.virtualServers.get('TCP 192.0.2.10:80')!;
  return { p, vi: p.vrrpInstances.get('VI_1'), sg: p.vrrpGroups.get('G1')!.alert, vs: vs.alert, rs: vs.rs.get('198.51.100.1:8080')!.alert };
}

describe('alert policy', () => {
  it('with nothing set: VRRP and virtual servers off, real servers on (keepalived backward compatibility)', () => {
    expect(policy('')).toMatchObject({ vi: false, sg: false, vs: false, rs: true });
  });

  it('global smtp_alert turns on all; smtp_alert off turns off even real servers', () => {
    expect(policy('  smtp_alert')).toMatchObject({ vi: true, sg: true, vs: true, rs: true });
    expect(policy('  smtp_alert off')).toMatchObject({ vi: false, sg: false, vs: false, rs: false });
  });

  it('smtp_alert_vrrp and smtp_alert_checker win over smtp_alert, each for its own side', () => {
    expect(policy('  smtp_alert\n  smtp_alert_vrrp off')).toMatchObject({ vi: false, sg: false, vs: true, rs: true });
    expect(policy('  smtp_alert\n  smtp_alert_checker off')).toMatchObject({ vi: true, sg: true, vs: false, rs: false });
    expect(policy('  smtp_alert off\n  smtp_alert_vrrp')).toMatchObject({ vi: true, sg: true, vs: false, rs: false });
    expect(policy('  smtp_alert_checker')).toMatchObject({ vi: false, sg: false, vs: true, rs: true });
  });

  it("an object's own flag wins over every global", () => {
    const own = { vi: '  smtp_alert', sg: '  smtp_alert off', vs: '  smtp_alert yes', rs: '  smtp_alert no' };
    expect(policy('  smtp_alert off\n  smtp_alert_vrrp off\n  smtp_alert_checker', own)).toMatchObject({ vi: true, sg: false, vs: true, rs: false });
  });

  it('resolveFlag: own, then specific, then global, then the fallback', () => {
    for (const own of [null, true, false])
      for (const spec of [null, true, false])
        for (const glob of [null, true, false])
          for (const fb of [true, false]) expect(resolveFlag(own, spec, glob, fb)).toBe(own !== null ? own : spec !== null ? spec : glob !== null ? glob : fb);
  });

  it('mail settings: default HELO is the host name, sender user@host, router_id the host name, timeout 30 s', () => {
    const { p } = policy('');
    expect(p.mail).toEqual({ host: '127.0.0.1', port: 2525, helo: 'lb1.example.com', from: 'lvsd@lb1.example.com', to: ['ops@example.com'], timeoutMs: 30000, routerId: 'lb1.example.com' });
    const set = policy('  router_id lb1\n  smtp_helo_name mx.example.com\n  notification_email_from "LB one <lb1@example.com>"\n  smtp_connect_timeout 5\n  no_email_faults').p;
    expect(set.mail).toMatchObject({ helo: 'mx.example.com', from: 'LB one <lb1@example.com>', timeoutMs: 5000, routerId: 'lb1' });
    expect(set.noEmailFaults).toBe(true);
  });

  it('smtp_connect_timeout 0 is taken as 1 with a warning, as keepalived does', () => {
    const r = load('global_defs {\n  smtp_connect_timeout 0\n}\n');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['2:24: warning WCONFIG_VALUE smtp_connect_timeout must be greater than 0: using 1']);
    expect(r.config!.global_defs.smtp_connect_timeout).toBe(1);
    expect(load('global_defs {\n  smtp_connect_timeout -1\n}\n').errors).toHaveLength(1);
  });

  it('no mail without notification_email or without smtp_server', () => {
    const r = load('global_defs {\n  smtp_server 127.0.0.1\n  smtp_alert\n}\nvirtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n  }\n}\n');
    expect(r.config!.virtual_server).toHaveLength(1);
    const p = alertPolicyOf(r.config!, host, { vsId, endpoint });
    expect(p.mail).toBeNull();
    // Nothing can be sent, so nothing is tabled (reloads of large configs pay nothing).
    expect(p.virtualServers.size + p.vrrpInstances.size).toBe(0);
    const r2 = load('global_defs {\n  notification_email {\n    a@example.com\n  }\n  smtp_alert\n}\n');
    expect(alertPolicyOf(r2.config!, host, { vsId, endpoint }).mail).toBeNull();
  });

  it('formats servers as keepalived does: [ip]:proto:port, FWM n', () => {
    const mailDefs = 'global_defs {\n  notification_email {\n    a@example.com\n  }\n  smtp_server 127.0.0.1\n}\n';
    const r = load(mailDefs + 'virtual_server fwmark 7 {\n  protocol UDP\n  real_server 2001:db8::5 53 {\n  }\n}\nvirtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 {\n  }\n}\n');
    const p = alertPolicyOf(r.config!, host, { vsId, endpoint });
    const fw = p.virtualServers.get('fwmark 7')!;
    expect(fw.display).toBe('FWM 7');
    expect(fw.rs.get('[2001:db8::5]:53')!.display).toBe('[2001:db8::5]:udp:53');
    const ip = p.virtualServers.get('TCP 192.0.2.1:80')!;
    expect(ip.display).toBe('[192.0.2.1]:tcp:80');
    // A real server without a port takes the virtual server's.
    expect(ip.rs.get('198.51.100.2:80')!.display).toBe('[198.51.100.2]:tcp:80');
  });
});
