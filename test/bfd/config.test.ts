// bfd_instance, BFD_CHECK and track_bfd from configuration text to the runner's and checker's specs.
import { describe, expect, it } from '@jest/globals';
import { configTextLoader } from '../helpers/config-text.js';
import { bfdSpecsOf, checkSpecsOf } from '../../src/daemon/specs.js';
import { vrrpRuntimeSpecOf } from '../../src/daemon/vrrp-specs.js';

const load = configTextLoader('lvsd-bfd-conf-');

const good = `
bfd_instance peer1 {
  neighbor_ip 192.0.2.7
  source_ip 192.0.2.1
  min_rx 3.5
  passive
  weight -20 reverse
}
bfd_instance peer6 {
  neighbor_ip 2001:db8::7
  multiplier 3
  checker
}
virtual_server 192.0.2.100 80 {
  real_server 192.0.2.7 80 {
    weight 4
    BFD_CHECK {
      name peer1
      alpha
    }
  }
}
vrrp_instance VI {
  interface eth0
  virtual_router_id 9
  virtual_ipaddress {
    192.0.2.200/24
  }
  track_bfd {
    peer1
    peer1 weight 30
  }
}
`;

describe('BFD configuration', () => {
  it('is acted on (no "read but not acted on" warning) and maps to runner, checker and VRRP specs', () => {
    const r = load(good);
    expect(r.errors).toEqual([]);
    expect(r.notActed.filter((w) => /bfd|BFD/.test(w))).toEqual([]);
    const c = r.config!;
    expect(bfdSpecsOf(c)).toEqual([
      { name: 'peer1', neighbor: '192.0.2.7', source: '192.0.2.1', minRxMs: 3.5, minTxMs: 10, idleTxMs: 1000, multiplier: 5, passive: true, ttl: 255, multihop: false },
      // IPv6: hoplimit (default 64) is the TTL that goes out
      { name: 'peer6', neighbor: '2001:db8::7', minRxMs: 10, minTxMs: 10, idleTxMs: 1000, multiplier: 3, passive: false, ttl: 64, multihop: false },
    ]);
    expect(checkSpecsOf(c)[0].realServers[0].checkers).toEqual([{ type: 'BFD', name: 'peer1', retry: 0, delayLoopMs: 1000, warmupMs: 0, alpha: true }]);
    // a bare name takes the instance's weight and reverse; a line weight overrides both
    expect(vrrpRuntimeSpecOf(c).instances[0].trackBfd).toEqual([
      { name: 'peer1', weight: -20, reverse: true },
      { name: 'peer1', weight: 30 },
    ]);
  });

  it('refuses missing neighbours, unknown names, mixed families and events sent elsewhere', () => {
    const r = load(`
bfd_instance a {
  min_rx 10
}
bfd_instance b {
  neighbor_ip 192.0.2.8
  source_ip 2001:db8::1
  vrrp
}
bfd_instance c {
  neighbor_ip 192.0.2.8
}
virtual_server 192.0.2.100 80 {
  real_server 192.0.2.7 80 {
    BFD_CHECK {
      name nope
    }
    BFD_CHECK {
      name b
    }
    BFD_CHECK {
      alpha
    }
  }
}
`);
    expect(r.errors.map((e) => e.replace(/^\d+:\d+: /, ''))).toEqual([
      "error ECONFIG_BFD bfd_instance a needs 'neighbor_ip'",
      'error ECONFIG_FAMILY bfd_instance b: source_ip 2001:db8::1 and neighbor_ip 192.0.2.8 are of different families',
      "error ECONFIG_DUPLICATE bfd_instance c: neighbor_ip 192.0.2.8 is already bfd_instance b's",
      "error ECONFIG_REFERENCE bfd_instance 'nope' is not defined (BFD_CHECK of real_server 192.0.2.7:80 in virtual_server 192.0.2.100:80)",
      "error ECONFIG_REFERENCE bfd_instance 'b' sends its events to VRRP only (BFD_CHECK of real_server 192.0.2.7:80 in virtual_server 192.0.2.100:80)",
      "error ECONFIG_CHECKER BFD_CHECK needs 'name NAME'",
    ]);
  });
});
