import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { configTextLoader } from '../helpers/config-text.js';

const load = configTextLoader('lvsd-kw-vrrp-');

/** Definitions the full-instance test refers to (appended after it, so line numbers stay). */
const REFERENCED = 'vrrp_script chk {\n  script /bin/true\n}\nvrrp_script chk2 {\n  script /bin/true\n}\ntrack_file tf {\n  file /tmp/tf\n}\nvrrp_track_process haproxy {\n  process haproxy\n}\n';
const TWO_INSTANCES = (a: string, b: string) => `vrrp_instance ${a} {\n  interface eth0\n  virtual_router_id 1\n}\nvrrp_instance ${b} {\n  interface eth0\n  virtual_router_id 2\n}\n`;

const instance = (body: string) => `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n${body}\n}\n`;

describe('vrrp_instance', () => {
  it('fills keepalived defaults and leaves global-inherited options null', () => {
    const r = load(instance('  virtual_ipaddress {\n    192.0.2.100/24\n  }'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const [vi] = r.config!.vrrp_instance;
    expect(vi.name).toBe('VI_1');
    expect(vi.interface).toBe('eth0');
    expect(vi.virtual_router_id).toBe(51);
    expect(vi.state).toBe('BACKUP');
    expect(vi.priority).toBe(100);
    expect(vi.advert_int).toBe(1);
    expect(vi.version).toBeNull();
    expect(vi.nopreempt).toBe(false);
    expect(vi.preempt_delay).toBe(0);
    expect(vi.garp_master_delay).toBeNull();
    expect(vi.garp_master_repeat).toBeNull();
    expect(vi.down_timer_adverts).toBeNull();
    expect(vi.strict_mode).toBeNull();
    expect(vi.skip_check_adv_addr).toBeNull();
    expect(vi.unicast_ttl).toBe(255);
    expect(vi.authentication).toBeNull();
    expect(vi.unicast_peer).toEqual([]);
    expect(vi.track_interface).toEqual([]);
    expect(vi.notify_master).toBeNull();
    expect(vi.virtual_ipaddress).toHaveLength(1);
    expect(vi.virtual_ipaddress[0]).toMatchObject({ addr: '192.0.2.100', family: 4, prefix: 24, dev: null });
  });

  it('reads a full instance field by field', () => {
    const r = load(
      instance(
        [
          '  state master',
          '  priority 150',
          '  advert_int 0.05',
          '  version 3',
          '  nopreempt',
          '  preempt_delay 4.12',
          '  dont_track_primary',
          '  unicast_src_ip 192.0.2.1',
          '  unicast_peer {',
          '    192.0.2.2',
          '    192.0.2.3 min_ttl 250 max_ttl 255',
          '  }',
          '  unicast_fault_no_peer',
          '  check_unicast_src',
          '  old_unicast_checksum never',
          '  garp_master_delay 10',
          '  garp_master_repeat 1',
          '  garp_lower_prio_repeat 2',
          '  garp_master_refresh 60',
          '  down_timer_adverts 4',
          '  strict_mode off',
          '  skip_check_adv_addr',
          '  accept',
          '  track_interface {',
          '    eth1',
          '    eth2 weight -20 reverse',
          '  }',
          '  track_script {',
          '    chk',
          '    chk2 weight 5 noreverse',
          '  }',
          '  track_file {',
          '    tf weight 254',
          '  }',
          '  track_process {',
          '    haproxy',
          '  }',
          '  virtual_ipaddress {',
          '    192.0.2.100/24 dev eth0 label eth0:vip',
          '    192.0.2.101 use_vmac no_track',
          '  }',
          '  virtual_ipaddress_excluded {',
          '    2001:db8::100/64',
          '  }',
          '  virtual_routes {',
          '    src 192.0.2.100 198.51.100.0/24 via 192.0.2.254 no_track',
          '  }',
          '  notify_master "/bin/notify master" root',
          '  notify_backup /bin/backup user:group',
          '  notify "/bin/notify all"',
          '  notify_deleted',
          '  notify_master_rx_lower_pri /bin/lower',
        ].join('\n'),
      ) + REFERENCED,
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const [vi] = r.config!.vrrp_instance;
    expect(vi.state).toBe('MASTER');
    expect(vi.priority).toBe(150);
    expect(vi.advert_int).toBe(0.05);
    expect(vi.version).toBe(3);
    expect(vi.nopreempt).toBe(true);
    expect(vi.preempt_delay).toBe(4.12);
    expect(vi.dont_track_primary).toBe(true);
    expect(vi.unicast_src_ip).toBe('192.0.2.1');
    expect(vi.unicast_peer).toEqual([
      { addr: '192.0.2.2', family: 4, minTtl: null, maxTtl: null },
      { addr: '192.0.2.3', family: 4, minTtl: 250, maxTtl: 255 },
    ]);
    expect(vi.unicast_fault_no_peer).toBe(true);
    expect(vi.check_unicast_src).toBe(true);
    expect(vi.old_unicast_checksum).toBe('never');
    expect([vi.garp_master_delay, vi.garp_master_repeat, vi.garp_lower_prio_repeat, vi.garp_master_refresh, vi.garp_lower_prio_delay]).toEqual([10, 1, 2, 60, null]);
    expect(vi.down_timer_adverts).toBe(4);
    expect(vi.strict_mode).toBe(false);
    expect(vi.skip_check_adv_addr).toBe(true);
    expect(vi.accept).toBe(true);
    expect(vi.track_interface).toEqual([
      { name: 'eth1', weight: 0, reverse: false },
      { name: 'eth2', weight: -20, reverse: true },
    ]);
    expect(vi.track_script).toEqual([
      { name: 'chk', weight: null, reverse: null },
      { name: 'chk2', weight: 5, reverse: false },
    ]);
    expect(vi.track_file).toEqual([{ name: 'tf', weight: 254, reverse: false }]);
    expect(vi.track_process).toEqual([{ name: 'haproxy', weight: null, reverse: null }]);
    expect(vi.virtual_ipaddress.map((v) => [v.addr, v.prefix, v.dev, v.label, v.useVmac, v.noTrack])).toEqual([
      ['192.0.2.100', 24, 'eth0', 'eth0:vip', false, false],
      ['192.0.2.101', 32, null, null, true, true],
    ]);
    expect(vi.virtual_ipaddress_excluded[0]).toMatchObject({ addr: '2001:db8::100', family: 6, prefix: 64 });
    expect(vi.virtual_routes[0]).toMatchObject({ src: '192.0.2.100', dst: { addr: '198.51.100.0', prefix: 24 }, via: '192.0.2.254', noTrack: true });
    expect(vi.notify_master).toEqual({ cmd: '/bin/notify master', user: 'root', group: null });
    expect(vi.notify_backup).toEqual({ cmd: '/bin/backup', user: 'user', group: 'group' });
    expect(vi.notify).toEqual({ cmd: '/bin/notify all', user: null, group: null });
    expect(vi.notify_deleted).toEqual({ script: null });
    expect(vi.notify_master_rx_lower_pri).toEqual({ cmd: '/bin/lower', user: null, group: null });
  });

  it('reads authentication, truncating the password to 8 characters with a warning', () => {
    const r = load(instance('  authentication {\n    auth_type pass\n    auth_pass 0123456789\n  }'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(["6:15: warning WCONFIG_TRUNCATED auth_pass is longer than 8 characters; only '01234567' is used"]);
    expect(r.config!.vrrp_instance[0].authentication).toEqual({ auth_type: 'PASS', auth_pass: '01234567' });
  });

  it('gives exact errors for bad values', () => {
    const r = load(
      [
        'vrrp_instance VI_1 {',
        '  virtual_router_id 256',
        '  priority 0',
        '  state LEADER',
        '  advert_int 0',
        '  version 4',
        '  unicast_peer {',
        '    192.0.2.2 min_ttl 9 max_ttl 3',
        '    192.0.2.3 ttl 3',
        '    192.0.2.x',
        '  }',
        '  track_script {',
        '    chk weight 300',
        '    chk2 reverse',
        '  }',
        '  authentication {',
        '    auth_type MD5',
        '  }',
        '  preempt_delay 1001',
        '  unicast_src_ip 192.0.2.256',
        '  notify_master',
        '}',
        'vrrp_instance {',
        '}',
      ].join('\n'),
    );
    expect(r.config).toBeNull();
    expect(r.errors).toEqual([
      "2:21: error ECONFIG_RANGE 'virtual_router_id' 256 is out of range 1..255",
      "3:12: error ECONFIG_RANGE 'priority' 0 is out of range 1..255",
      "4:9: error ECONFIG_VALUE 'LEADER' is not one of MASTER|BACKUP for 'state'",
      "5:14: error ECONFIG_RANGE 'advert_int' 0 is out of range 0.01..255 seconds",
      "6:11: error ECONFIG_RANGE 'version' 4 is out of range 2..3",
      '8:5: error ECONFIG_RANGE min_ttl 9 is above max_ttl 3',
      "9:15: error ECONFIG_ARGS unknown unicast_peer option 'ttl' (expected min_ttl or max_ttl)",
      "10:5: error ECONFIG_ADDRESS unicast peer '192.0.2.x' is not a valid IPv4 or IPv6 address",
      '13:16: error ECONFIG_RANGE weight 300 is out of range -253..253',
      "14:10: error ECONFIG_ARGS unknown track_script option 'reverse' for chk2 (expected 'weight N [reverse|noreverse]')",
      "17:15: error ECONFIG_VALUE 'MD5' is not one of PASS|AH for 'auth_type'",
      "19:17: error ECONFIG_RANGE 'preempt_delay' 1001 is out of range 0..1000 seconds",
      "20:18: error ECONFIG_ADDRESS address '192.0.2.256' is not a valid IPv4 or IPv6 address",
      "21:3: error ECONFIG_ARGS 'notify_master' needs a script, then optionally a user and a group",
      "23:1: error ECONFIG_ARGS 'vrrp_instance' needs one name before its block",
      // Cross-block validation: the bad id was dropped, so the instance has none.
      "1:1: error ECONFIG_VRRP vrrp_instance VI_1 needs 'virtual_router_id' (1..255)",
    ]);
  });

  it('accepts old spellings with a warning and flags what lvsd does not act on', () => {
    const r = load(instance('  vmac_garp_intvl 60\n  thread_timer_expired\n  lvs_sync_daemon_interface eth1\n  use_vmac vrrp.51 00:00:5e:00:01\n  smtp_alert\n  prio 5'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      "4:3: warning WCONFIG_DEPRECATED 'vmac_garp_intvl' is an old spelling of 'garp_extra_if'",
      "5:3: warning WCONFIG_DEPRECATED 'thread_timer_expired' is an old spelling of 'timer_expired_backup'",
      "6:3: warning WCONFIG_DEPRECATED 'lvs_sync_daemon_interface' in a vrrp_instance is an old spelling of global_defs 'lvs_sync_daemon eth1 <instance>'",
      "9:3: warning WCONFIG_UNKNOWN unknown keyword 'prio' in vrrp_instance (ignored)",
    ]);
    expect(r.notActed).toEqual([
      "4:3: warning WCONFIG_NOT_ACTED 'garp_extra_if' is read but lvsd does not act on it",
      "5:3: warning WCONFIG_NOT_ACTED 'timer_expired_backup' is read but lvsd does not act on it",
      "6:3: warning WCONFIG_NOT_ACTED 'lvs_sync_daemon_interface' is read but lvsd does not act on it",
    ]);
    const [vi] = r.config!.vrrp_instance;
    expect(vi.garp_extra_if).toEqual({ all: false, interval: 60 });
    expect(vi.timer_expired_backup).toBe(254);
    expect(vi.lvs_sync_daemon_interface).toBe('eth1');
    expect(vi.use_vmac).toEqual({ name: 'vrrp.51', mac: '00:00:5e:00:01', netlinkNotifyMsg: false, group: null });
    expect(vi.smtp_alert).toBe(true);
  });

  it('reads auth_hmac (keepalived >= 2.3) without acting on it', () => {
    const r = load(instance('  auth_hmac {\n    key 1 hex:00ff\n    key 2 file:/etc/k\n    active_key 2\n    mode permissive\n  }'));
    expect(r.errors).toEqual([]);
    expect(r.config!.vrrp_instance[0].auth_hmac).toEqual({
      key: [
        { id: 1, value: 'hex:00ff' },
        { id: 2, value: 'file:/etc/k' },
      ],
      active_key: 2,
      anti_replay: 'time',
      time_window: null,
      mode: 'permissive',
    });
  });
});

describe('vrrp_script', () => {
  it('reads scripts with their defaults', () => {
    const r = load('vrrp_script chk {\n  script "killall -0 sshd"\n}\nvrrp_script chk2 {\n  script /bin/check arg\n  interval 2.5\n  timeout 1\n  weight -4 reverse\n  rise 3\n  fall 2\n  user nobody nogroup\n  init_fail\n}\n');
    expect(r.errors).toEqual([]);
    expect(r.config!.vrrp_script).toEqual([
      { name: 'chk', script: 'killall -0 sshd', interval: 1, timeout: null, weight: { weight: 0, reverse: false }, rise: 1, fall: 1, user: null, init_fail: false },
      { name: 'chk2', script: '/bin/check arg', interval: 2.5, timeout: 1, weight: { weight: -4, reverse: true }, rise: 3, fall: 2, user: { user: 'nobody', group: 'nogroup' }, init_fail: true },
    ]);
  });

  it('refuses bad script values', () => {
    const r = load('vrrp_script chk {\n  weight 254\n  rise 0\n  weight 2 forward\n}\n');
    expect(r.errors).toEqual([
      '2:10: error ECONFIG_RANGE weight 254 is out of range -253..253',
      "3:8: error ECONFIG_RANGE 'rise' 0 is out of range 1..2147483647",
      "4:12: error ECONFIG_ARGS expected 'reverse' after the weight, not 'forward'",
    ]);
  });
});

describe('vrrp_sync_group and garp_group', () => {
  it('reads a sync group with its tracking and notify scripts', () => {
    const r = load(
      'vrrp_sync_group G1 {\n  group {\n    VI_1\n    VI_2\n  }\n  track_interface {\n    eth3 weight 2\n  }\n  notify_master "/bin/m x" u:g\n  notify /bin/any\n  global_tracking\n}\n' + TWO_INSTANCES('VI_1', 'VI_2'),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.notActed).toEqual(["11:3: warning WCONFIG_NOT_ACTED 'global_tracking' is read but lvsd does not act on it"]);
    const [g] = r.config!.vrrp_sync_group;
    expect(g.name).toBe('G1');
    expect(g.group).toEqual(['VI_1', 'VI_2']);
    expect(g.track_interface).toEqual([{ name: 'eth3', weight: 2, reverse: false }]);
    expect(g.notify_master).toEqual({ cmd: '/bin/m x', user: 'u', group: 'g' });
    expect(g.notify).toEqual({ cmd: '/bin/any', user: null, group: null });
    expect(g.notify_backup).toBeNull();
  });

  it('accepts the old form that lists members directly, with a warning', () => {
    const r = load('vrrp_sync_group VG1 {\n  VI_2\n  VI_3\n  notify_fault /bin/f\n  notfy_master x\n}\n' + TWO_INSTANCES('VI_2', 'VI_3'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      "5:3: warning WCONFIG_UNKNOWN unknown keyword 'notfy_master' in vrrp_sync_group (ignored)",
      "2:3: warning WCONFIG_DEPRECATED instance 'VI_2' listed directly in vrrp_sync_group: the current spelling is 'group { VI_2 }'",
      "3:3: warning WCONFIG_DEPRECATED instance 'VI_3' listed directly in vrrp_sync_group: the current spelling is 'group { VI_3 }'",
    ]);
    expect(r.config!.vrrp_sync_group[0].group).toEqual(['VI_2', 'VI_3']);
  });

  it('reads garp groups', () => {
    const r = load('garp_group {\n  garp_interval 0.002\n  interfaces {\n    eth0\n    eth1\n  }\n}\n');
    expect(r.errors).toEqual([]);
    expect(r.config!.garp_group).toEqual([{ garp_interval: 0.002, gna_interval: null, interface: null, interfaces: ['eth0', 'eth1'] }]);
  });
});

describe('keepalived sample files', () => {
  const samples = '/work/shared/corpus/keepalived-samples';
  const have = existsSync(samples);
  if (!have) console.log(`skipping the sample files: ${samples} is not present on this machine`);
  (have ? it : it.skip)('all load without errors', () => {
    const files = readdirSync(samples);
    expect(files.length).toBeGreaterThan(0);
    const failures = files.flatMap((f) => loadConfig(join(samples, f), { configId: 'test' }).diagnostics.errors.map((d) => `${f}:${d.loc?.line}: ${d.message}`));
    expect(failures).toEqual([]);
  });
});
