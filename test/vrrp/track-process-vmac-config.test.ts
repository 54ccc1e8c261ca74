// Config text -> loadConfig -> vrrpRuntimeSpecOf for vrrp_track_process, track_process (instance
// and sync group), use_vmac and vmac_xmit_base.
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import { vrrpRuntimeSpecOf, type VrrpSpecProblem } from '../../src/daemon/vrrp-specs.js';
import { tempTree } from '../helpers/paths.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

function specOf(text: string) {
  const t = tempTree({ 'lvsd.conf': text }, 'lvsd-vrrp-tp-');
  cleanups.push(t.cleanup);
  const r = loadConfig(`${t.dir}/lvsd.conf`, { configId: 'test' });
  if (!r.config) throw new Error(r.diagnostics.errors.map((d) => d.message).join('\n'));
  const problems: VrrpSpecProblem[] = [];
  return { spec: vrrpRuntimeSpecOf(r.config, (p) => problems.push(p)), problems, notActed: r.diagnostics.warnings.filter((w) => w.code === 'WCONFIG_NOT_ACTED').map((w) => w.message) };
}

const CONF = `
vrrp_track_process haproxy {
    process haproxy
    weight -30 reverse
    quorum 2
    quorum_max 4
    delay 0.5
    fork_delay 0.25
}
vrrp_track_process web {
    process "/usr/sbin/nginx" -c /etc/nginx/a.conf
    param_match initial
}
vrrp_track_process bare {
    process sleep
    param_match
    full_command
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    use_vmac vip51 02:00:5e:00:01
    vmac_xmit_base
    virtual_ipaddress { 192.0.2.100/24 }
    track_process {
        haproxy
        web weight 10
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    use_vmac
    virtual_ipaddress { 192.0.2.101/24 }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_process { bare }
}
`;

describe('vrrp_track_process / use_vmac through the config', () => {
  it('maps every field, with delay as the default of fork_delay and terminate_delay', () => {
    const { spec } = specOf(CONF);
    expect(spec.processes).toEqual([
      { name: 'haproxy', process: 'haproxy', weight: -30, reverse: true, quorum: 2, quorumMax: 4, forkDelay: 0.25, terminateDelay: 0.5 },
      { name: 'web', process: '/usr/sbin/nginx', params: ['-c', '/etc/nginx/a.conf'], paramMatch: 'initial', weight: 0, quorum: 1 },
      { name: 'bare', process: 'sleep', paramMatch: 'exact', fullCommand: true, weight: 0, quorum: 1 },
    ]);
  });
  it('instances and sync groups reference them; use_vmac with name, MAC and xmit_base', () => {
    const { spec } = specOf(CONF);
    const [a, b] = spec.instances;
    expect(a.trackProcess).toEqual([{ name: 'haproxy' }, { name: 'web', weight: 10 }]);
    expect(a.useVmac).toEqual({ name: 'vip51', mac: '02:00:5e:00:01', xmitBase: true });
    expect(b.useVmac).toEqual({});
    expect(b.trackProcess).toBeUndefined();
    expect(spec.syncGroups?.[0].trackProcess).toEqual([{ name: 'bare' }]);
  });
  it('quorum_max 0 means none may run (quorum 0); quorum_max below quorum is reported and ignored, as keepalived', () => {
    const { spec, problems } = specOf(`
vrrp_track_process none {
    process sleep
    quorum_max 0
}
vrrp_track_process bad {
    process sleep
    quorum 3
    quorum_max 2
}
`);
    expect(spec.processes).toEqual([
      { name: 'none', process: 'sleep', weight: 0, quorum: 0, quorumMax: 0 },
      { name: 'bad', process: 'sleep', weight: 0, quorum: 3 },
    ]);
    expect(problems).toEqual([{ where: 'vrrp_track_process bad', message: 'quorum_max 2 is less than quorum 3 - ignored' }]);
  });
  it('an undefined vrrp_track_process is a config error', () => {
    expect(() => specOf(CONF.replace('        web weight 10\n', '        web weight 10\n        missing\n'))).toThrow(/vrrp_track_process 'missing' is not defined/);
  });
  it('use_vmac and vmac_xmit_base are acted on (no not-acted warning)', () => {
    const { notActed } = specOf(CONF);
    expect(notActed.filter((m) => /vmac/.test(m))).toEqual([]);
  });
});
