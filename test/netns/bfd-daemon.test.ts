// The real lvsd with BFD_CHECK real servers, its BFD peer the real keepalived 2.2.7: lvsd in
// namespace r1, keepalived's BFD child in r2. `lvsadm -L -n` shows the real servers leave the
// table (or drop to weight 0 with inhibit_on_failure) when keepalived is killed, and come back
// when it restarts; a reload with new intervals keeps the session Up.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasKeepalived, isRoot, makeLab, type Lab } from '../vrrp/netns-helpers.js';
import { killKeepalivedBfd, startKeepalivedBfd, type KeepalivedBfd } from './keepalived-bfd.js';
import { NsLvsd } from './ns-lvsd.js';

const reason = !isRoot ? 'needs root' : !hasKeepalived ? 'needs /usr/sbin/keepalived (Debian package keepalived)' : '';
if (reason) console.log(`test/netns/bfd-daemon: skipped, ${reason}`);
const d = reason ? describe.skip : describe;

const KA_CONF = `global_defs {
  router_id ka-bfd
}
bfd_instance to_lvsd {
  neighbor_ip 192.0.2.1
  source_ip 192.0.2.2
  min_rx 100
  min_tx 100
  multiplier 3
}
`;

function lvsdConf(sock: string, minTx: number): string {
  return `lvsd_defs {
  control_socket ${sock}
}
bfd_instance rs2 {
  neighbor_ip 192.0.2.2
  source_ip 192.0.2.1
  min_rx 100
  min_tx ${minTx}
  multiplier 3
}
virtual_server 192.0.2.1 8080 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 192.0.2.2 80 {
    weight 3
    BFD_CHECK {
      name rs2
    }
  }
  real_server 192.0.2.2 81 {
    weight 5
    inhibit_on_failure
    BFD_CHECK {
      name rs2
    }
  }
}
`;
}

/** `lvsadm -L -n` real server rows: "addr:port" -> weight. */
function weights(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === '->' && /^\d/.test(f[1] ?? '')) m.set(f[1], Number(f[3]));
  }
  return m;
}

d('lvsd BFD_CHECK against keepalived 2.2.7', () => {
  let lab: Lab;
  let lvsd: NsLvsd | null = null;
  const kas: KeepalivedBfd[] = [];
  let conf = '';
  let sock = '';

  beforeAll(() => {
    lab = makeLab('bfdd');
    conf = join(lab.dir, 'lvsd.conf');
    sock = join(lab.dir, 'lvsd.sock');
  });
  afterEach(async () => {
    for (const k of kas.splice(0)) await killKeepalivedBfd(k);
    await lvsd?.kill();
    lvsd = null;
  });
  afterAll(() => lab?.cleanup());

  it('real servers follow the session: out (or weight 0) when the peer dies, back when it returns, unchanged across a reload', async () => {
    writeFileSync(conf, lvsdConf(sock, 100));
    const ka = startKeepalivedBfd(lab, lab.names.r2, KA_CONF);
    kas.push(ka);
    lvsd = new NsLvsd(lab.names.r1, conf, sock);
    await lvsd.started();
    expect(lvsd.proc.exitCode).toBeNull();
    const table = () => weights(lvsd!.lvsadm('-L', '-n'));
    await lvsd.until(() => table().get('192.0.2.2:80') === 3 && table().get('192.0.2.2:81') === 5, 'real servers in with their weights', 10_000);

    // keepalived dies without a word: down within the detection time (3 x 100 ms)
    await new Promise((r) => setTimeout(r, 500));
    const killedAt = Date.now();
    await killKeepalivedBfd(ka);
    kas.length = 0;
    await lvsd.until(() => {
      const t = table();
      return !t.has('192.0.2.2:80') && t.get('192.0.2.2:81') === 0;
    }, 'real server removed / inhibited', 5000);
    // lvsd's own log times (pino, wall clock) say when it saw the session go and the servers leave
    const after = (msg: string) => lvsd!.logs.find((l) => l.msg === msg && (l.time as number) >= killedAt);
    await lvsd.until(() => !!after('bfd session down') && !!after('rs down'), 'down logged', 5000);
    const down = after('bfd session down');
    const out = after('rs down');
    expect(down).toMatchObject({ bfd: 'rs2', from: 'Up', to: 'Down', diag: 1 });
    const tookDown = (down!.time as number) - killedAt;
    const tookOut = (out!.time as number) - killedAt;
    console.log(`bfd-daemon: session down ${tookDown} ms, real servers out ${tookOut} ms after the peer was killed (detection time 300 ms)`);
    expect(tookOut).toBeLessThan(300 + 300);

    // the peer returns
    kas.push(startKeepalivedBfd(lab, lab.names.r2, KA_CONF));
    await lvsd.until(() => table().get('192.0.2.2:80') === 3 && table().get('192.0.2.2:81') === 5, 'real servers back', 10_000);

    // reload with a new min_tx: the session carries on (no down, no restart)
    await new Promise((r) => setTimeout(r, 300));
    const started = lvsd.logs.filter((l) => l.msg === 'bfd session started').length;
    const downs = lvsd.logs.filter((l) => l.msg === 'bfd session down').length;
    writeFileSync(conf, lvsdConf(sock, 150));
    lvsd.proc.kill('SIGHUP');
    await lvsd.until(() => lvsd!.logs.filter((l) => l.msg === 'reload applied').length === 1, 'reload applied', 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(lvsd.logs.filter((l) => l.msg === 'bfd session started').length).toBe(started);
    expect(lvsd.logs.filter((l) => l.msg === 'bfd session down').length).toBe(downs);
    expect(table().get('192.0.2.2:80')).toBe(3);
  });
});
