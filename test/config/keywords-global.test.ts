import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { configTextLoader } from '../helpers/config-text.js';
import { SourceMap, Stmt, Word } from '../../src/config/parse.js';
import { readAddressEntry, readRoute } from '../../src/config/keywords/static.js';

const load = configTextLoader('lvsd-kw-global-');

describe('global_defs', () => {
  it('is present with keepalived defaults when absent', () => {
    const r = load('');
    expect(r.errors).toEqual([]);
    const g = r.config!.global_defs;
    expect(g.router_id).toBeNull();
    expect(g.vrrp_garp_master_delay).toBe(5);
    expect(g.vrrp_garp_master_repeat).toBe(5);
    expect(g.vrrp_garp_master_refresh).toBe(0);
    expect(g.vrrp_garp_master_refresh_repeat).toBe(1);
    expect(g.vrrp_garp_lower_prio_delay).toBeNull();
    expect(g.vrrp_garp_interval).toBe(0);
    expect(g.vrrp_down_timer_adverts).toBe(3);
    expect(g.vrrp_version).toBe(2);
    expect(g.vrrp_mcast_group4).toBe('224.0.0.18');
    expect(g.vrrp_mcast_group6).toBe('ff02::12');
    expect(g.vrrp_strict).toBe(false);
    expect(g.default_interface).toBe('eth0');
    expect(g.smtp_connect_timeout).toBe(30);
    expect(g.umask).toBe(0o177);
    expect(g.startup_script_timeout).toBe(10);
    expect(g.vrrp_rlimit_rttime).toBe(10000);
    expect(g.min_auto_priority_delay).toBe(1000000);
    expect(g.lvs_flush_on_stop).toBe('none');
    expect(g.nftables_ipvs_start_fwmark).toBe(1000);
    expect(g.json_version).toBe(1);
    expect(g.script_user).toBeNull();
  });

  it('reads the keywords lvsd acts on', () => {
    const r = load(
      [
        'global_defs {',
        '  router_id LB_1',
        '  script_user nobody:nogroup',
        '  enable_script_security',
        '  notify_fifo /run/lvsd.fifo root adm',
        '  vrrp_notify_fifo_script "/bin/reader --x" www',
        '  vrrp_garp_master_delay 10',
        '  vrrp_garp_master_repeat 1',
        '  vrrp_garp_lower_prio_repeat 2',
        '  vrrp_garp_interval 0.001',
        '  vrrp_gna_interval 0.000001',
        '  vrrp_min_garp on',
        '  vrrp_version 3',
        '  vrrp_check_unicast_src',
        '  vrrp_skip_check_adv_addr',
        '  vrrp_strict',
        '  vrrp_mcast_group4 224.0.0.19',
        '  vrrp_mcast_group6 FF02::0:13',
        '  vrrp_startup_delay 5.5',
        '}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.notActed).toEqual([]);
    const g = r.config!.global_defs;
    expect(g.router_id).toBe('LB_1');
    expect(g.script_user).toEqual({ user: 'nobody', group: 'nogroup' });
    expect(g.enable_script_security).toBe(true);
    expect(g.notify_fifo).toEqual({ name: '/run/lvsd.fifo', user: 'root', group: 'adm' });
    expect(g.vrrp_notify_fifo_script).toEqual({ cmd: '/bin/reader --x', user: 'www', group: null });
    expect(g.vrrp_garp_master_delay).toBe(10);
    expect(g.vrrp_garp_master_repeat).toBe(1);
    expect(g.vrrp_garp_lower_prio_repeat).toBe(2);
    expect(g.vrrp_garp_interval).toBe(0.001);
    expect(g.vrrp_gna_interval).toBe(0.000001);
    expect(g.vrrp_min_garp).toBe(true);
    expect(g.vrrp_version).toBe(3);
    expect(g.vrrp_check_unicast_src).toBe(true);
    expect(g.vrrp_skip_check_adv_addr).toBe(true);
    expect(g.vrrp_strict).toBe(true);
    expect(g.vrrp_mcast_group4).toBe('224.0.0.19');
    expect(g.vrrp_mcast_group6).toBe('ff02::13');
    expect(g.vrrp_startup_delay).toBe(5.5);
  });

  it('reads the rest and says lvsd does not act on it', () => {
    const r = load(
      [
        'global_defs {',
        '  notification_email {',
        '    a@example.com "My admin <b@example.com>"',
        '    c@example.com',
        '  }',
        '  smtp_server 192.0.2.25 2525',
        '  smtp_alert',
        '  lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82',
        '  lvs_timeouts tcp 900 udp 60',
        '  lvs_flush_on_stop VS',
        '  enable_snmp_vrrp',
        '  vrrp_cpu_affinity 0 2',
        '  max_auto_priority',
        '  umask IRWXG|IRWXO',
        '  vrrp_rx_bufs_policy ADVERT',
        '  nftables',
        '  vrrp_iptables',
        '}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const g = r.config!.global_defs;
    expect(g.notification_email).toEqual(['a@example.com', 'My admin <b@example.com>', 'c@example.com']);
    expect(g.smtp_server).toEqual({ host: '192.0.2.25', port: 2525 });
    expect(g.smtp_alert).toBe(true);
    expect(g.lvs_sync_daemon).toEqual({ interface: 'eth1', instance: 'VI_1', syncid: 7, maxlen: 1400, port: 8849, ttl: 2, group: '224.0.0.82' });
    expect(g.lvs_timeouts).toEqual({ tcp: 900, tcpfin: null, udp: 60 });
    expect(g.lvs_flush_on_stop).toBe('vs');
    expect(g.enable_snmp_vrrp).toBe(true);
    expect(g.vrrp_cpu_affinity).toEqual([0, 2]);
    expect(g.max_auto_priority).toBe(99);
    expect(g.umask).toBe(0o077);
    expect(g.vrrp_rx_bufs_policy).toBe('ADVERT');
    expect(g.nftables).toBe('keepalived');
    expect(g.vrrp_iptables).toEqual(['INPUT']);
    expect(r.notActed).toEqual([
      "8:3: warning WCONFIG_NOT_ACTED 'lvs_sync_daemon' is read but lvsd does not act on it",
      "9:3: warning WCONFIG_NOT_ACTED 'lvs_timeouts' is read but lvsd does not act on it",
      "10:3: warning WCONFIG_NOT_ACTED 'lvs_flush_on_stop' is read but lvsd does not act on it",
      "11:3: warning WCONFIG_NOT_ACTED 'enable_snmp_vrrp' is read but lvsd does not act on it",
      "12:3: warning WCONFIG_NOT_ACTED 'vrrp_cpu_affinity' is read but lvsd does not act on it",
      "13:3: warning WCONFIG_NOT_ACTED 'max_auto_priority' is read but lvsd does not act on it",
      "14:3: warning WCONFIG_NOT_ACTED 'umask' is read but lvsd does not act on it",
      "15:3: warning WCONFIG_NOT_ACTED 'vrrp_rx_bufs_policy' is read but lvsd does not act on it",
      "16:3: warning WCONFIG_NOT_ACTED 'nftables' is read but lvsd does not act on it",
      "17:3: warning WCONFIG_NOT_ACTED 'vrrp_iptables' is read but lvsd does not act on it",
    ]);
  });

  it('accepts old spellings with a warning, and warns about unknown keywords with their place', () => {
    const r = load('global_defs {\n  lvs_flush_onstop\n  vrrp_rlimit_rtime 5000\n  enable_snmp_keepalived\n  lvs_process_name chk\n  vrrp_vmac_garp_intvl all 100\n  routr_id x\n}\n');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      "2:3: warning WCONFIG_DEPRECATED 'lvs_flush_onstop' is an old spelling of 'lvs_flush_on_stop'",
      "3:3: warning WCONFIG_DEPRECATED 'vrrp_rlimit_rtime' is an old spelling of 'vrrp_rlimit_rttime'",
      "4:3: warning WCONFIG_DEPRECATED 'enable_snmp_keepalived' is an old spelling of 'enable_snmp_vrrp'",
      "5:3: warning WCONFIG_DEPRECATED 'lvs_process_name' is an old spelling of 'checker_process_name'",
      "6:3: warning WCONFIG_DEPRECATED 'vrrp_vmac_garp_intvl' is an old spelling of 'vrrp_garp_extra_if'",
      "7:3: warning WCONFIG_UNKNOWN unknown keyword 'routr_id' in global_defs (ignored)",
    ]);
    expect(r.all.find((d) => d.code === 'WCONFIG_UNKNOWN')!.loc!.file).toBe(r.file);
    const g = r.config!.global_defs;
    expect(g.lvs_flush_on_stop).toBe('all');
    expect(g.vrrp_rlimit_rttime).toBe(5000);
    expect(g.enable_snmp_vrrp).toBe(true);
    expect(g.checker_process_name).toBe('chk');
    expect(g.vrrp_garp_extra_if).toEqual({ all: true, interval: 100 });
  });

  it('refuses bad values with the place of the bad word', () => {
    const r = load(
      'global_defs {\n  vrrp_version 4\n  vrrp_mcast_group4 224.0.0\n  umask IRWXQ\n  vrrp_garp_master_repeat -1\n  lvs_timeouts tcp\n  vrrp_strict maybe\n  startup_script_timeout 0\n}\n',
    );
    expect(r.config).toBeNull();
    expect(r.errors).toEqual([
      "2:16: error ECONFIG_RANGE 'vrrp_version' 4 is out of range 2..3",
      "3:21: error ECONFIG_ADDRESS address '224.0.0' is not a valid IPv4 or IPv6 address",
      "4:9: error ECONFIG_VALUE 'IRWXQ' is not a umask bit (e.g. IRWXG, IXUSR)",
      "5:27: error ECONFIG_RANGE 'vrrp_garp_master_repeat' -1 is out of range 0..4294967295",
      "6:3: error ECONFIG_ARGS 'lvs_timeouts' needs [tcp SECS] [tcpfin SECS] [udp SECS] (at least one)",
      "7:15: error ECONFIG_VALUE 'maybe' is not a boolean (on|off|true|false|yes|no)",
      "8:26: error ECONFIG_RANGE 'startup_script_timeout' 0 is out of range 1..1000",
    ]);
  });

  it('reads the top-level daemon facilities and linkbeat interfaces', () => {
    const r = load('net_namespace blue\ninstance one\nuse_pid_dir\nchild_wait_time 9\nlinkbeat_interfaces {\n  eth2\n  enp2s0 ethtool\n}\n');
    expect(r.errors).toEqual([]);
    const c = r.config!;
    expect(c.net_namespace).toBe('blue');
    expect(c.instance).toBe('one');
    expect(c.use_pid_dir).toBe(true);
    expect(c.child_wait_time).toBe(9);
    expect(c.linkbeat_interfaces).toEqual([
      { ifname: 'eth2', type: null },
      { ifname: 'enp2s0', type: 'ETHTOOL' },
    ]);
  });
});

describe('static_ipaddress', () => {
  it('reads every address option into a structured entry', () => {
    const r = load(
      [
        'track_group TG1 {',
        '  group {',
        '    VI_1',
        '    VI_2',
        '  }',
        '}',
        'static_ipaddress {',
        '  192.0.2.1/24 brd + dev eth0 scope link label eth0:1 track_group TG1',
        '  192.0.2.9/30 brd - dev eth0',
        '  192.0.2.20 peer 198.51.100.1/24 dev eth1 home -nodad noprefixroute autojoin',
        '  2001:DB8::1/64 dev eth1 mngtmpaddr',
        '  2001:db8::2 dev eth1',
        '  2001:db8::3/64 preferred_lft 60',
        '  203.0.113.1/24 brd 203.0.113.127 scope 200',
        '}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const c = r.config!;
    expect(c.track_group).toEqual([{ name: 'TG1', group: ['VI_1', 'VI_2'] }]);
    const [a, b, p, v6, v6full, lft, num] = c.static_ipaddress;
    expect(a).toEqual({
      addr: '192.0.2.1', family: 4, prefix: 24, brd: '192.0.2.255', dev: 'eth0', scope: 'link', label: 'eth0:1', peer: null,
      home: false, nodad: false, mngtmpaddr: false, noprefixroute: false, autojoin: false, noTrack: false, trackGroup: 'TG1', preferredLft: null, useVmac: false,
    });
    expect(b.brd).toBe('192.0.2.8');
    expect(p.peer).toEqual({ addr: '198.51.100.1', prefix: 24 });
    expect(p.prefix).toBe(24);
    expect([p.home, p.nodad, p.noprefixroute, p.autojoin]).toEqual([true, true, true, true]);
    expect(v6).toMatchObject({ addr: '2001:db8::1', family: 6, prefix: 64, dev: 'eth1', mngtmpaddr: true, preferredLft: 'forever' });
    expect(v6full).toMatchObject({ prefix: 128, preferredLft: 0 });
    expect(lft.preferredLft).toBe(60);
    expect(num).toMatchObject({ brd: '203.0.113.127', scope: 200 });
  });

  it('gives precise errors for bad entries', () => {
    const r = load(
      [
        'static_ipaddress {',
        '  192.0.2.300/24 dev eth0',
        '  192.0.2.1/33',
        '  192.0.2.1 dev',
        '  192.0.2.1 scope planet',
        '  2001:db8::1 brd 2001:db8::ff',
        '  192.0.2.1 label averyveryverylonglabel',
        '  192.0.2.1 peer 2001:db8::1',
        '  192.0.2.1 dev eth0 dev eth1',
        '  192.0.2.1 frobnicate',
        '  192.0.2.1/31 brd +',
        '  192.0.2.1 use_vmac',
        '}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([
      "2:3: error ECONFIG_ADDRESS address '192.0.2.300' is not a valid IPv4 or IPv6 address",
      "3:3: error ECONFIG_ADDRESS prefix length '/33' is not valid for an IPv4 address (0..32)",
      "4:13: error ECONFIG_ARGS 'dev' needs a value for 192.0.2.1",
      "5:19: error ECONFIG_VALUE scope 'planet' is not one of global|site|link|host|nowhere or a number 0..255",
      '6:15: error ECONFIG_ADDRESS a broadcast address cannot be given for the IPv6 address 2001:db8::1',
      "7:19: error ECONFIG_VALUE address label 'averyveryverylonglabel' is longer than 15 characters",
      "8:18: error ECONFIG_ADDRESS peer address '2001:db8::1' is not in the family of 192.0.2.1",
      "9:22: error ECONFIG_ARGS 'dev' is given more than once for 192.0.2.1",
      "10:13: error ECONFIG_ARGS unknown address option 'frobnicate' for 192.0.2.1",
      "11:20: error ECONFIG_ADDRESS prefix length /31 is too long for a '+' broadcast",
      "12:13: error ECONFIG_ARGS unknown address option 'use_vmac' for 192.0.2.1 (use_vmac applies to virtual addresses only)",
    ]);
  });

  it('ignores scope and label on IPv6 addresses with a warning, as keepalived does', () => {
    const r = load('static_ipaddress {\n  2001:db8::5/64 scope link label x:1\n}\n');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      '2:3: warning WCONFIG_IGNORED scope cannot be given for the IPv6 address 2001:db8::5/64; ignored',
      '2:3: warning WCONFIG_IGNORED label cannot be given for the IPv6 address 2001:db8::5/64; ignored',
    ]);
    expect(r.config!.static_ipaddress[0]).toMatchObject({ scope: null, label: null });
  });
});

describe('static_routes and static_rules', () => {
  it('reads routes into objects and keeps options lvsd does not interpret', () => {
    const r = load(
      [
        'static_routes {',
        '  src 192.0.2.1 to 198.51.100.0/24 via 192.0.2.254 dev eth0 scope link table 10 metric 5 protocol bird onlink track_group G',
        '  198.51.100.0/25 gw 192.0.2.253 or 192.0.2.252',
        '  blackhole 203.0.113.0/24',
        '  inet6 default via 2001:db8::1 dev eth1 append',
        '  2001:db8:1::/48 dev eth1 mtu lock 1400 advmss 1300 frobnicate 7',
        '}',
        'static_rules {',
        '  from 192.0.2.0/24 table 1 track_group G',
        '}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      "6:54: warning WCONFIG_ROUTE_OPTION route option 'frobnicate' is not interpreted by lvsd; kept as given",
      "6:65: warning WCONFIG_ROUTE_OPTION route option '7' is not interpreted by lvsd; kept as given",
    ]);
    const [full, or, bh, def6, opts] = r.config!.static_routes;
    expect(full).toEqual({
      type: 'unicast', family: 4, dst: { addr: '198.51.100.0', prefix: 24 }, src: '192.0.2.1', via: '192.0.2.254', or: null, dev: 'eth0', scope: 'link',
      table: '10', metric: 5, protocol: 'bird', onlink: true, noTrack: false, trackGroup: 'G', mode: 'prepend', options: [],
    });
    expect(or).toMatchObject({ dst: { addr: '198.51.100.0', prefix: 25 }, via: '192.0.2.253', or: '192.0.2.252' });
    expect(bh).toMatchObject({ type: 'blackhole', family: 4, dst: { addr: '203.0.113.0', prefix: 24 } });
    expect(def6).toMatchObject({ family: 6, dst: { addr: '::', prefix: 0 }, via: '2001:db8::1', mode: 'append' });
    expect(opts).toMatchObject({ family: 6, options: ['mtu', 'lock', '1400', 'advmss', '1300', 'frobnicate', '7'] });
    expect(r.config!.static_rules).toEqual([{ words: ['from', '192.0.2.0/24', 'table', '1', 'track_group', 'G'] }]);
    expect(r.notActed).toEqual(["8:1: warning WCONFIG_NOT_ACTED 'static_rules' is read but lvsd does not act on it"]);
  });

  it('refuses routes without a destination or with mixed families', () => {
    const r = load('static_routes {\n  via 192.0.2.1 dev eth0\n  198.51.100.0/24 via 2001:db8::1\n  198.51.100.0/24 via\n  2001:db8::/999\n}\n');
    expect(r.errors).toEqual([
      '2:3: error ECONFIG_ARGS the route has no destination',
      "3:23: error ECONFIG_ADDRESS '2001:db8::1' is not in the route's address family (IPv4)",
      "4:19: error ECONFIG_ARGS 'via' needs a value",
      "5:3: error ECONFIG_ADDRESS prefix length '/999' is not valid for an IPv6 address (0..128)",
    ]);
  });
});

describe('track_file, vrrp_track_process, bfd_instance, interface_up_down_delays', () => {
  it('reads named blocks with their defaults', () => {
    const r = load(
      [
        'track_file tf1 {',
        '  file "/run/weight"',
        '  weight -3 reverse',
        '  init_file 7 overwrite',
        '}',
        'vrrp_track_file tf2 {',
        '  file /run/w2',
        '}',
        'vrrp_track_process haproxy {',
        '  process haproxy -f "/etc/h a.cfg"',
        '  param_match partial',
        '  weight 10',
        '  quorum 2',
        '  quorum_max 4',
        '  delay 0.5',
        '  full_command',
        '}',
        'vrrp_track_process sshd {',
        '  process sshd',
        '}',
        'bfd_instance b1 {',
        '  neighbour_ip 192.0.2.7',
        '  min_rx 3.312',
        '}',
        'interface_up_down_delays {',
        '  eth0 0.5 2',
        '  eth1 1',
        '}',
      ].join('\n'),
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([
      "6:1: warning WCONFIG_DEPRECATED 'vrrp_track_file' is an old spelling of 'track_file'",
      "22:3: warning WCONFIG_DEPRECATED 'neighbour_ip' is an old spelling of 'neighbor_ip'",
    ]);
    const c = r.config!;
    expect(c.track_file).toEqual([
      { name: 'tf1', file: '/run/weight', weight: { weight: -3, reverse: true }, init_file: { value: 7, overwrite: true } },
      { name: 'tf2', file: '/run/w2', weight: { weight: 1, reverse: false }, init_file: null },
    ]);
    expect(c.vrrp_track_process).toEqual([
      {
        name: 'haproxy', process: ['haproxy', '-f', '/etc/h a.cfg'], param_match: 'partial', weight: { weight: 10, reverse: false }, quorum: 2, quorum_max: 4,
        fork_delay: null, terminate_delay: null, delay: 0.5, full_command: true,
      },
      { name: 'sshd', process: ['sshd'], param_match: null, weight: { weight: 0, reverse: false }, quorum: 1, quorum_max: null, fork_delay: null, terminate_delay: null, delay: null, full_command: false },
    ]);
    expect(c.bfd_instance[0]).toMatchObject({ name: 'b1', neighbor_ip: '192.0.2.7', min_rx: 3.312, min_tx: 10, idle_tx: 1000, multiplier: 5, ttl: 255, hoplimit: 64 });
    expect(c.interface_up_down_delays).toEqual([
      { ifname: 'eth0', down: 0.5, up: 2 },
      { ifname: 'eth1', down: 1, up: 1 },
    ]);
  });

  it('refuses bad tracked objects', () => {
    const r = load('track_file {\n  file x\n}\ntrack_file t {\n  weight 255\n}\nvrrp_track_process p {\n  param_match some\n  quorum 0\n}\n');
    expect(r.errors).toEqual([
      "1:1: error ECONFIG_ARGS 'track_file' needs one name before its block",
      '5:10: error ECONFIG_RANGE weight 255 is out of range -254..254',
      "8:15: error ECONFIG_VALUE 'some' is not initial or partial for 'param_match'",
      "9:10: error ECONFIG_RANGE 'quorum' 0 is out of range 1..65535",
    ]);
  });
});

describe('entry readers never throw', () => {
  const word = fc.oneof(
    fc.constantFrom('dev', 'brd', '+', '-', 'scope', 'label', 'peer', 'via', 'gw', 'or', 'src', 'to', 'table', 'metric', 'inet6', 'default', 'blackhole', 'lock', 'mtu', 'track_group', 'preferred_lft', 'forever'),
    fc.constantFrom('192.0.2.1', '192.0.2.0/24', '2001:db8::1/64', '::/0', '0.0.0.0/0', '1.2.3', '/', ''),
    fc.string({ maxLength: 12 }),
  );
  const map = new SourceMap([{ text: '', file: 'f', line: 1, colMap: null, colShift: 0 }]);
  const w = (text: string): Word => new Word(text, false, 0, map);
  it('reads random address and route lines into a value or an error', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 10 }), (ws) => {
        const s = new Stmt(w(ws[0]), ws.slice(1).map(w), null, -1, 0, map);
        for (const read of [(st: Stmt, d: Diagnostics) => readAddressEntry(st, { diag: d }, 'static'), (st: Stmt, d: Diagnostics) => readRoute(st, { diag: d }, 'virtual')]) {
          const d = new Diagnostics();
          const v = read(s, d);
          expect(v === undefined ? d.hasErrors : !d.hasErrors).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
