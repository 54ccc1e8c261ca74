// vrrp-specs.ts: config text -> loadConfig -> vrrpRuntimeSpecOf, field by field, with keepalived's
// global_defs inheritance.

import { afterAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config/index.js';
import type { ConfigModel } from '../../src/config/index.js';
import { tableSpecOf } from '../../src/daemon/specs.js';
import { vrrpRuntimeSpecOf, vrrpVips } from '../../src/daemon/vrrp-specs.js';
import { tempTree } from '../helpers/paths.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

function load(text: string): ConfigModel {
  const t = tempTree({ 'lvsd.conf': text }, 'lvsd-vrrp-specs-');
  cleanups.push(t.cleanup);
  const r = loadConfig(`${t.dir}/lvsd.conf`, { configId: 'test' });
  if (!r.config) throw new Error(r.diagnostics.errors.map((d) => d.message).join('\n'));
  return r.config;
}

const FULL = `
global_defs {
    vrrp_version 3
    vrrp_garp_master_delay 7
    vrrp_garp_master_repeat 3
    vrrp_garp_master_refresh 60
    vrrp_garp_master_refresh_repeat 2
    vrrp_garp_interval 0.002
    vrrp_down_timer_adverts 5
    vrrp_lower_prio_no_advert
    vrrp_check_unicast_src
    script_user nobody nogroup
    vrrp_notify_fifo /run/lvsd/vrrp.fifo root
}
track_file maint {
    file /run/lvsd/maint
    weight -20 reverse
}
vrrp_script chk_web {
    script "/usr/local/bin/check 'two words' \\"q\\" x"
    interval 2
    timeout 1
    weight -30
    rise 2
    fall 3
    init_fail
}
vrrp_script chk_db {
    script /usr/local/bin/db-ok
    user postgres
    weight 10 reverse
}
vrrp_instance VI_1 {
    state MASTER
    interface eth1
    virtual_router_id 51
    priority 150
    advert_int 0.5
    nopreempt
    preempt_delay 4
    garp_master_delay 1
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2 min_ttl 250 max_ttl 255
        192.0.2.3
    }
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24 dev eth2 label eth2:vip scope link
        192.0.2.102
    }
    virtual_ipaddress_excluded {
        2001:db8::100/64
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.254
        203.0.113.0/24 dev eth2 metric 5 table 100
        10.0.0.0/8 via 192.0.2.2 src 192.0.2.1 scope link table main
    }
    v3_checksum_as_v2
    track_interface {
        eth3
        eth4 weight -10 reverse
    }
    track_script {
        chk_web
        chk_db weight 5
    }
    track_file {
        maint
    }
    notify_master "/etc/lvsd/to-master.sh VI_1"
    notify_backup /etc/lvsd/to-backup.sh
    notify_stop /etc/lvsd/stop.sh
    notify /etc/lvsd/any.sh
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 52
    version 2
    garp_master_repeat 9
    down_timer_adverts 2
    lower_prio_no_advert off
    authentication {
        auth_type PASS
        auth_pass secret12
    }
    virtual_ipaddress {
        198.51.100.10/32
    }
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
    track_interface {
        eth5 weight -7 reverse
    }
    track_script {
        chk_db weight -3
    }
    notify_master /etc/lvsd/group-master.sh
    notify_fault "/etc/lvsd/group-fault.sh now"
}
`;

describe('vrrpRuntimeSpecOf', () => {
  const spec = vrrpRuntimeSpecOf(load(FULL));
  const [vi1, vi2] = spec.instances;

  test('instance fields', () => {
    expect(vi1).toMatchObject({
      name: 'VI_1', interface: 'eth1', vrid: 51, priority: 150, advertInt: 0.5, state: 'MASTER',
      nopreempt: true, preemptDelay: 4, unicastSrcIp: '192.0.2.1',
    });
    expect(vi2).toMatchObject({ name: 'VI_2', vrid: 52, priority: 100, advertInt: 1, state: 'BACKUP', nopreempt: false });
  });

  test('global_defs fill what an instance leaves unset, the instance wins where set', () => {
    expect(vi1!.version).toBe(3);
    expect(vi2!.version).toBe(2);
    expect(vi1!.garp).toEqual({ masterDelay: 1, masterRepeat: 3, masterRefresh: 60, masterRefreshRepeat: 2, intervalMs: 2 });
    expect(vi2!.garp).toEqual({ masterDelay: 7, masterRepeat: 9, masterRefresh: 60, masterRefreshRepeat: 2, intervalMs: 2 });
    expect(vi1!.downTimerAdverts).toBe(5);
    expect(vi2!.downTimerAdverts).toBe(2);
    expect(vi1!.lowerPrioNoAdvert).toBe(true);
    expect(vi2!.lowerPrioNoAdvert).toBe(false);
    expect(vi1!.checkUnicastSrc).toBe(true);
    expect(vi1!.checksumMode).toBe('none');
    expect(vi2!.checksumMode).toBeUndefined();
  });

  test('authentication PASS (v2 only) and unicast peers with TTL bounds', () => {
    expect(vi2!.authPass).toBe('secret12');
    expect(vi1!.authPass).toBeUndefined();
    expect(vi1!.unicastPeers).toEqual([{ address: '192.0.2.2', minTtl: 250, maxTtl: 255 }, { address: '192.0.2.3' }]);
    expect(vi2!.unicastPeers).toBeUndefined();
  });

  test('VIPs: dev defaults to the instance interface; label and scope kept; excluded ones too', () => {
    expect(vi1!.virtualIpaddress).toEqual([
      { address: '192.0.2.100', prefix: 24, dev: 'eth1' },
      { address: '192.0.2.101', prefix: 24, dev: 'eth2', label: 'eth2:vip', scope: 'link' },
      { address: '192.0.2.102', prefix: 32, dev: 'eth1' },
    ]);
    expect(vi1!.virtualIpaddressExcluded).toEqual([{ address: '2001:db8::100', prefix: 64, dev: 'eth1' }]);
    expect(vrrpVips(spec)).toEqual(new Map([
      ['VI_1', ['192.0.2.100', '192.0.2.101', '192.0.2.102', '2001:db8::100']],
      ['VI_2', ['198.51.100.10']],
    ]));
  });

  test('virtual_routes', () => {
    expect(vi1!.virtualRoutes).toEqual([
      { to: '198.51.100.0/24', via: '192.0.2.254' },
      { to: '203.0.113.0/24', dev: 'eth2', metric: 5, table: 100 },
      { to: '10.0.0.0/8', via: '192.0.2.2', src: '192.0.2.1', scope: 'link', table: 'main' },
    ]);
  });

  test('track_interface, track_script (own weight unless given), track_file (path and weight from its block)', () => {
    expect(vi1!.trackInterface).toEqual([{ name: 'eth3', weight: 0 }, { name: 'eth4', weight: -10, reverse: true }]);
    expect(vi1!.trackScript).toEqual([{ name: 'chk_web' }, { name: 'chk_db', weight: 5 }]);
    expect(vi1!.trackFile).toEqual([{ path: '/run/lvsd/maint', weight: -20, reverse: true }]);
  });

  test('vrrp_script: command split with keepalived quoting, script_user by default, own user wins', () => {
    expect(spec.scripts).toEqual([
      {
        name: 'chk_web', command: { argv: ['/usr/local/bin/check', 'two words', 'q', 'x'], user: 'nobody', group: 'nogroup' },
        interval: 2, timeout: 1, weight: -30, reverse: false, rise: 2, fall: 3, initFail: true,
      },
      { name: 'chk_db', command: { argv: ['/usr/local/bin/db-ok'], user: 'postgres' }, interval: 1, weight: 10, reverse: true, rise: 1, fall: 1, initFail: false },
    ]);
  });

  test('notify scripts per state, as the script user', () => {
    const as = { user: 'nobody', group: 'nogroup' };
    expect(vi1!.notify).toEqual({
      master: { argv: ['/etc/lvsd/to-master.sh', 'VI_1'], ...as },
      backup: { argv: ['/etc/lvsd/to-backup.sh'], ...as },
      stop: { argv: ['/etc/lvsd/stop.sh'], ...as },
      any: { argv: ['/etc/lvsd/any.sh'], ...as },
    });
    expect(vi2!.notify).toBeUndefined();
  });

  test('sync groups: members, notify, tracking with weight and reverse', () => {
    expect(spec.syncGroups).toEqual([{
      name: 'G1',
      members: ['VI_1', 'VI_2'],
      notify: { master: { argv: ['/etc/lvsd/group-master.sh'], user: 'nobody', group: 'nogroup' }, fault: { argv: ['/etc/lvsd/group-fault.sh', 'now'], user: 'nobody', group: 'nogroup' } },
      trackInterface: [{ name: 'eth5', weight: -7, reverse: true }],
      trackScript: [{ name: 'chk_db', weight: -3 }],
    }]);
  });

  test('notify FIFO: the path of vrrp_notify_fifo {name,user,group}, else notify_fifo', () => {
    expect(spec.notifyFifo).toBe('/run/lvsd/vrrp.fifo');
    const g = vrrpRuntimeSpecOf(load('global_defs {\n notify_fifo /run/all.fifo\n}\n'));
    expect(g.notifyFifo).toBe('/run/all.fifo');
    expect(vrrpRuntimeSpecOf(load('global_defs {\n router_id x\n}\n')).notifyFifo).toBeUndefined();
  });

  test('defaults: interface from default_interface, version 2, no VRRP at all', () => {
    const s = vrrpRuntimeSpecOf(load(`global_defs {
    default_interface eth9
}
vrrp_instance V {
    virtual_router_id 9
    virtual_ipaddress {
        192.0.2.50
    }
}
`));
    expect(s.instances[0]).toMatchObject({ interface: 'eth9', version: 2, priority: 100, virtualIpaddress: [{ address: '192.0.2.50', prefix: 32, dev: 'eth9' }] });
    expect(s.instances[0]!.garp).toEqual({ masterDelay: 5, masterRepeat: 5, masterRefresh: 0, masterRefreshRepeat: 1 });
    expect(vrrpRuntimeSpecOf(load('global_defs {\n router_id x\n}\n'))).toEqual({ instances: [], scripts: [], syncGroups: [] });
  });

  test('a VIP is named as the table names its virtual_server (IPv6 in any spelling)', () => {
    const c = load(`vrrp_instance V {
    interface eth0
    virtual_router_id 9
    virtual_ipaddress {
        2001:DB8:0::0100/64
    }
}
virtual_server 2001:db8:0:0::100 80 {
    real_server 2001:db8::1 80 {
    }
}
`);
    const vip = vrrpVips(vrrpRuntimeSpecOf(c)).get('V')![0];
    const svc = tableSpecOf(c).services[0]!.key;
    expect(svc.kind === 'addr' ? svc.addr : '').toBe(vip);
  });

  test('commands that cannot be split are reported and left out, never thrown', () => {
    // Since lvsd -t rejects such commands, the model is edited after loading: the mapping must
    // still never throw (defence in depth for models that did not come through validation).
    const problems: Array<{ where: string; message: string }> = [];
    const c = load(`vrrp_script empty {
    interval 1
}
vrrp_script ok {
    script /bin/true
}
vrrp_instance V {
    interface eth0
    virtual_router_id 9
    virtual_ipaddress {
        192.0.2.1
    }
    track_script {
        empty
        ok
    }
    notify_master /bin/x
    notify_backup /bin/y
}
`);
    c.vrrp_instance[0]!.notify_master = { cmd: "/bin/x 'a b", user: null, group: null };
    const s = vrrpRuntimeSpecOf(c, (p) => problems.push(p));
    expect(problems).toEqual([
      { where: 'vrrp_script empty', message: 'empty command' },
      { where: 'vrrp_instance V notify_master', message: "unterminated ' in '/bin/x 'a b'" },
    ]);
    expect(s.scripts!.map((x) => x.name)).toEqual(['ok']);
    expect(s.instances[0]!.trackScript).toEqual([{ name: 'ok' }]);
    expect(s.instances[0]!.notify).toEqual({ backup: { argv: ['/bin/y'] } });
  });
});
