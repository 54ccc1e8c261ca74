// The broken-file corpus: each file gets its exact FILE:LINE:COL message, never an exception or a
// hang. Files are generated here so that binary and huge inputs need no committed blobs.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { tempTree } from '../helpers/paths.js';

const VS = (body: string, head = '10.0.0.1 80') => `virtual_server ${head} {\n${body}\n}\n`;

const cases: Array<[string, string | Buffer, string]> = [
  ['unclosed block', 'virtual_server 10.0.0.1 80 {\n    lvs_sched rr\n    real_server 10.0.0.2 80 {\n        weight 1\n}\n', "1:28: error: missing '}': the block opened here is never closed"],
  ['stray close', 'global_defs {\n}\n}\n', "3:1: error: unexpected '}': no block is open here"],
  ['bad IPv4 address', VS('lvs_sched rr', '10.0.0.300 80'), "1:16: error: virtual server address '10.0.0.300' is not a valid IPv4 or IPv6 address"],
  ['bad IPv6 address', VS('lvs_sched rr', '2001:db8::g 80'), "1:16: error: virtual server address '2001:db8::g' is not a valid IPv4 or IPv6 address"],
  ['bad port', VS('lvs_sched rr', '10.0.0.1 65536'), "1:25: error: port 65536 is out of range 0..65535"],
  ['unknown scheduler', VS('  lvs_sched fastest'), "2:13: error: unknown scheduler 'fastest' (one of rr wrr lc wlc sed nq lblc lblcr sh dh fo ovf mh)"],
  ['bad forwarding method', VS('  lvs_method XYZ'), "2:14: error: 'XYZ' is not a forwarding method (NAT, DR, TUN, or lvsd's FULLNAT)"],
  ['bad protocol', VS('  protocol ICMP'), "2:12: error: 'ICMP' is not one of TCP|UDP|SCTP for 'protocol'"],
  ['weight out of range', VS('  real_server 10.0.0.2 80 {\n    weight 70000\n  }'), "3:12: error: 'weight' 70000 is out of range 0..65535"],
  ['weight not a number', VS('  real_server 10.0.0.2 80 {\n    weight heavy\n  }'), "3:12: error: 'weight' 'heavy' is not an integer"],
  ['duplicate virtual server', VS('') + VS(''), '4:1: error: virtual_server TCP 10.0.0.1:80 is defined twice (first defined at FILE:1:1)'],
  ['duplicate real server', VS('  real_server 10.0.0.2 80 {\n  }\n  real_server 10.0.0.2 80 {\n  }'), '4:3: error: real_server 10.0.0.2:80 is defined twice in virtual_server 10.0.0.1:80 (first defined at FILE:2:3)'],
  ['undefined group', 'virtual_server group WEB {\n}\n', "1:1: error: virtual_server group 'WEB' is not defined (no virtual_server_group of that name)"],
  ['flag for another scheduler', VS('  lvs_sched rr\n  sh-port'), "3:3: error: 'sh-port' applies to the sh scheduler only (this service uses rr)"],
  ['unterminated quote', VS('  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_path "/bin/true\n    }\n  }'), `4:17: error: unterminated quoted string: no closing '"' on this line`],
  ['control character', 'global_defs {\n  router_id a\u0001b\n}\n', '2:14: error: invalid character U+0001'],
  ['binary garbage', Buffer.from([0x67, 0x6c, 0x0a, 0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]), '2:5: error: binary data (a NUL byte): this is not a configuration file'],
  ['invalid UTF-8', Buffer.from('global_defs {\n  router_id caf\xe9\n}\n', 'latin1'), '2:16: error: invalid UTF-8: the file must be UTF-8 text'],
  ['10 MB single line', 'x'.repeat(10 * 1024 * 1024), '1:1: error: line too long (10485760 characters; the limit is 65536)'],
  ['deep nesting', 'a {\n'.repeat(100) + '}\n'.repeat(100), '33:3: error: blocks nested more than 32 deep'],
  ['missing include', 'global_defs {\n}\n  include other/missing.conf\n', "3:3: error: cannot open 'DIR/other/missing.conf': no such file"],
  ['port 0 without persistence', VS('', '10.0.0.1 0'), '1:1: error: virtual_server 10.0.0.1:0: the port may be omitted (or 0) only for a persistent service'],
  ['block expected', VS('  real_server 10.0.0.2 80'), "2:3: error: 'real_server' needs a { ... } block"],
  ['digest not MD5', VS('  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      url {\n        digest xyz\n      }\n    }\n  }'), "5:16: error: digest 'xyz' is not an MD5 digest (32 hex digits)"],
  ['status code range', VS('  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      url {\n        status_code 200-199\n      }\n    }\n  }'), "5:21: error: '200-199' is not a status code or range (100..599, e.g. 200-299)"],
  ['family mix', VS('  real_server 2001:db8::2 80 {\n  }'), '2:3: error: real_server [2001:db8::2]:80 is IPv6 but virtual_server 10.0.0.1:80 is IPv4 (only TUN may mix families)'],
  ['undefined vrrp_script', 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 7\n  track_script {\n    chk_web\n  }\n}\n', "5:5: error: vrrp_script 'chk_web' is not defined (in vrrp_instance VI_1)"],
  ['duplicate VRID on an interface', 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n}\nvrrp_instance B {\n  interface eth0\n  virtual_router_id 7\n}\n', '7:3: error: virtual_router_id 7 on eth0 is already used by vrrp_instance A (first defined at FILE:3:3)'],
  ['VIP prefix too long', 'vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n  virtual_ipaddress {\n    192.0.2.1/33\n  }\n}\n', "5:5: error: prefix length '/33' is not valid for an IPv4 address (0..32)"],
  ['sync group member missing', 'vrrp_sync_group G {\n  group {\n    VI_9\n  }\n}\n', "2:3: error: vrrp_instance 'VI_9' is not defined (in vrrp_sync_group G)"],
  ['bad cron expression', 'lvsd_schedule nightly {\n  cron "61 * * * *"\n  action stats\n}\n', "2:8: error: '61 * * * *' is not a valid cron expression"],
  ['schedule for an unknown real server', VS('  real_server 10.0.0.2 80 {\n  }') + 'lvsd_schedule m {\n  cron "0 2 * * *"\n  action drain\n  virtual_server 10.0.0.1 80\n  real_server 10.0.0.3 80\n}\n', '9:3: error: lvsd_schedule m: virtual_server 10.0.0.1 80 has no real_server 10.0.0.3 80'],
  ['unsplittable notify script', VS('  real_server 10.0.0.2 80 {\n    notify_up "/bin/notify \'up"\n  }'), "3:5: error: 'notify_up': unterminated ' in '/bin/notify 'up'"],
  ['empty vrrp_script command', 'vrrp_script chk {\n  script ""\n}\n', "2:3: error: 'script': empty command"],
];

const tree = tempTree(Object.fromEntries(cases.map(([name, content]) => [`${name.replace(/ /g, '_')}.conf`, content])));
afterAll(() => tree.cleanup());

describe('broken configuration files', () => {
  it.each(cases)('%s', (name, _content, expected) => {
    const file = join(tree.dir, `${name.replace(/ /g, '_')}.conf`);
    const started = Date.now();
    const r = loadConfig(file, { configId: 'test' });
    const errors = r.diagnostics.errors.map((d) => `${d.loc ? `${d.loc.line}:${d.loc.col}` : '-'}: ${d.severity}: ${d.message}`.replaceAll(file, 'FILE').replaceAll(tree.dir, 'DIR'));
    expect(r.config).toBeNull();
    expect(errors[0]).toBe(expected);
    // Every error points into the file that has it.
    for (const d of r.diagnostics.errors) expect(d.loc?.file).toBe(file);
    // Generous bound: a hang or a quadratic blow-up would take far longer (not a speed test).
    expect(Date.now() - started).toBeLessThan(20000);
  });
});
