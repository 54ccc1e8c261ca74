// track_bfd in the real lvsd: lvsd in namespace r1 with two VRRP instances following one BFD
// session to keepalived 2.2.7's BFD child in r2. weight 0 (the bfd_instance default): FAULT while
// the session is down; weight 20: +20 priority while it is up.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasKeepalived, isRoot, makeLab, type Lab } from '../vrrp/netns-helpers.js';
import { killKeepalivedBfd, startKeepalivedBfd, type KeepalivedBfd } from './keepalived-bfd.js';
import { NsLvsd } from './ns-lvsd.js';

const reason = !isRoot ? 'needs root' : !hasKeepalived ? 'needs /usr/sbin/keepalived (Debian package keepalived)' : '';
if (reason) console.log(`test/netns/bfd-vrrp: skipped, ${reason}`);
const d = reason ? describe.skip : describe;

const KA_CONF = `bfd_instance to_lvsd {
  neighbor_ip 192.0.2.1
  source_ip 192.0.2.2
  min_rx 100
  min_tx 100
  multiplier 3
}
`;

const LVSD_CONF = `bfd_instance peer {
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
  min_rx 100
  min_tx 100
  multiplier 3
}
vrrp_instance FAULTY {
  interface eth0
  virtual_router_id 61
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.161/24
  }
  track_bfd {
    peer
  }
}
vrrp_instance WEIGHTED {
  interface eth0
  virtual_router_id 62
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.162/24
  }
  track_bfd {
    peer weight 20
  }
}
`;

d('lvsd track_bfd against keepalived 2.2.7', () => {
  let lab: Lab;
  let lvsd: NsLvsd | null = null;
  let ka: KeepalivedBfd | null = null;

  const startKa = () => {
    ka = startKeepalivedBfd(lab, lab.names.r2, KA_CONF);
  };
  const killKa = async () => {
    if (!ka) return;
    await killKeepalivedBfd(ka);
    ka = null;
  };

  beforeAll(() => {
    lab = makeLab('bfdv');
  });
  afterEach(async () => {
    await killKa();
    await lvsd?.kill();
    lvsd = null;
  });
  afterAll(() => lab?.cleanup());

  it('weight 0: FAULT while the session is down; weight 20: priority 120 while it is up', async () => {
    const conf = join(lab.dir, 'lvsd.conf');
    writeFileSync(conf, LVSD_CONF);
    lvsd = new NsLvsd(lab.names.r1, conf, join(lab.dir, 'lvsd.sock'));
    await lvsd.started();
    expect(lvsd.proc.exitCode).toBeNull();
    const states = (name: string) => lvsd!.logs.filter((l) => l.msg === 'vrrp state' && l.instance === name).map((l) => l.to);
    const last = (name: string) => states(name).at(-1);
    await lvsd.until(() => last('FAULTY') === 'FAULT', 'FAULTY in FAULT while BFD is down', 5000);
    expect(last('WEIGHTED')).not.toBe('FAULT');

    startKa();
    await lvsd.until(() => last('FAULTY') === 'MASTER', 'FAULTY master once BFD is up', 15_000);
    const prio = () => lvsd!.logs.filter((l) => l.msg === 'effective priority changed').map((l) => l.priority);
    await lvsd.until(() => prio().includes(120), 'WEIGHTED at 120', 5000);

    const killedAt = Date.now();
    await killKa();
    await lvsd.until(() => last('FAULTY') === 'FAULT', 'FAULTY back in FAULT', 5000);
    const fault = lvsd.logs.filter((l) => l.msg === 'vrrp state' && l.instance === 'FAULTY' && l.to === 'FAULT').at(-1)!;
    console.log(`bfd-vrrp: FAULT ${(fault.time as number) - killedAt} ms after the peer was killed (detection time 300 ms)`);
    // FAULT comes through the tracking refresh (it re-reads interfaces too): allow for a loaded box
    expect((fault.time as number) - killedAt).toBeLessThan(300 + 900);
    await lvsd.until(() => prio().at(-1) === 100, 'WEIGHTED back to 100', 5000);
  });
});
