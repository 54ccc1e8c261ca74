// Interop with the real keepalived (Debian's 2.2.7): keepalived in r1, lvsd in r2, one VRID.
import { describe, expect, it } from '@jest/globals';
import { chmodSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { encodeAdvert, encodeIpv4Header } from '../../src/vrrp/codec.js';
import { join } from 'node:path';
import { addrs, hasArping, hasKeepalived, isRoot, killKeepalivedHard, nsExec, probeUntil, readLines, sleep, startHarness, startKeepalived, type Lab, type Proc } from '../vrrp/netns-helpers.js';
import { useTwoRouterLab } from './two-router-lab.js';

const reason = !isRoot ? 'needs root' : !hasKeepalived ? 'needs /usr/sbin/keepalived (Debian package keepalived)' : '';
if (reason) console.log(`test/netns/vrrp-keepalived: skipped, ${reason}`);
const d = reason ? describe.skip : describe;

const VIP4 = '192.0.2.100';
const VIP6 = '2001:db8::100';

interface KaOpts {
  version: 2 | 3;
  priority: number;
  advertInt: number;
  pass?: string;
  unicast?: boolean;
  nopreempt?: boolean;
  vip?: string;
  vrid?: number;
  notify?: string;
}

function kaConf(o: KaOpts): string {
  return `global_defs {
  router_id ka
  vrrp_version ${o.version}
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 1
  script_user root
  enable_script_security
}
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority}
  advert_int ${o.advertInt}
  ${o.nopreempt ? 'nopreempt' : ''}
  ${o.pass !== undefined ? `authentication {\n    auth_type PASS\n    auth_pass ${o.pass}\n  }` : ''}
  ${o.unicast ? 'unicast_src_ip 192.0.2.1\n  unicast_peer {\n    192.0.2.2\n  }' : ''}
  virtual_ipaddress {
    ${o.vip ?? `${VIP4}/24`}
  }
  ${o.notify ? `notify ${o.notify}` : ''}
}
`;
}

function lvSpec(o: KaOpts & { checksumMode?: string }): object {
  const v6 = (o.vip ?? '').includes(':');
  return {
    instances: [
      {
        name: 'VI_1',
        interface: 'eth0',
        vrid: o.vrid ?? 51,
        priority: o.priority,
        version: o.version,
        advertInt: o.advertInt,
        nopreempt: o.nopreempt,
        authPass: o.pass,
        unicastSrcIp: o.unicast ? '192.0.2.2' : undefined,
        unicastPeers: o.unicast ? [{ address: '192.0.2.1' }] : undefined,
        virtualIpaddress: [v6 ? { address: VIP6, prefix: 64 } : { address: VIP4, prefix: 24 }],
        garp: { masterDelay: 0, masterRepeat: 2 },
        checksumMode: o.checksumMode,
      },
    ],
  };
}

/** keepalived's state from its console log ("(VI_1) Entering MASTER STATE"). */
function kaState(p: Proc): string | undefined {
  let s: string | undefined;
  for (const l of p.lines) {
    const m = /\(VI_1\) Entering (MASTER|BACKUP|FAULT) STATE/.exec(l);
    if (m) s = m[1];
  }
  return s;
}
const kaWait = (p: Proc, s: string, ms: number) => p.waitFor(() => kaState(p) === s, ms, `keepalived ${s}`);

d('lvsd and keepalived 2.2.7 as the two routers of one VRID', () => {
  let lab: Lab;
  const procs: Proc[] = [];
  const ka = (o: KaOpts) => {
    const p = startKeepalived(lab, 'r1', kaConf(o));
    procs.push(p);
    return p;
  };
  const lv = (o: KaOpts & { checksumMode?: string }) => {
    const p = startHarness(lab, 'r2', lvSpec(o));
    procs.push(p);
    return p;
  };
  const stopAll = async () => {
    for (const p of procs.splice(0)) {
      killKeepalivedHard(p);
      await p.exited();
    }
    await sleep(100);
    for (const r of ['r1', 'r2']) for (const v of [`${VIP4}/24`, `${VIP6}/64`]) try { nsExec(lab.names[r], ['ip', 'addr', 'del', v, 'dev', 'eth0']); } catch { /* absent */ }
  };

  useTwoRouterLab('vrrpka', { ready: (l) => (lab = l), afterEachTest: stopAll });

  it('v2 multicast: lvsd (150) preempts keepalived (100); keepalived takes over when lvsd is SIGKILLed', async () => {
    const k = ka({ version: 2, priority: 100, advertInt: 1 });
    await kaWait(k, 'MASTER', 8000);
    const t0 = Date.now();
    const l = lv({ version: 2, priority: 150, advertInt: 1 });
    await l.waitState('MASTER', 6000);
    // lvsd's own Master_Down_Interval at p150 is 3.414 s: it discards keepalived's lower adverts.
    expect(Date.now() - t0).toBeGreaterThan(3000);
    await kaWait(k, 'BACKUP', 2000);
    expect(addrs(lab, 'r2')).toContain(VIP4);
    await sleep(500);
    expect(addrs(lab, 'r1')).not.toContain(VIP4);
    l.kill('SIGKILL');
    const t1 = Date.now();
    await kaWait(k, 'MASTER', 6000);
    const took = Date.now() - t1;
    expect(took).toBeGreaterThan(2500); // ≈ 3.61 s from lvsd's last advert
    expect(took).toBeLessThan(4300);
    expect(addrs(lab, 'r1')).toContain(VIP4);
    await stopAll();
  }, 30_000);

  it('v2 PASS (same first 8 characters): keepalived (150) master, lvsd backup; keepalived SIGTERM -> priority 0 -> lvsd within skew', async () => {
    const notifyFile = join(lab.dir, 'ka-notify.log');
    const script = join(lab.dir, 'notify.sh');
    writeFileSync(script, `#!/bin/sh\necho "$(date +%s.%N) $1 $2 $3 $4" >> ${notifyFile}\n`);
    chmodSync(script, 0o755);
    const k = ka({ version: 2, priority: 150, advertInt: 1, pass: 'secret12-ka', notify: script });
    const l = lv({ version: 2, priority: 100, advertInt: 1, pass: 'secret12-lv' });
    await kaWait(k, 'MASTER', 8000);
    await sleep(1500);
    expect(l.state()).toBe('BACKUP');
    const t0 = Date.now();
    k.kill('SIGTERM');
    await l.waitState('MASTER', 2000);
    expect(Date.now() - t0).toBeLessThan(1000); // skew 0.61 s, not 3.6 s
    await k.exited();
    // keepalived's `notify` gets INSTANCE, name, state, priority: the same four values lvsd passes.
    const notes = readLines(notifyFile).map((x) => x.split(' ').slice(1).join(' '));
    expect(notes.slice(-2)).toEqual(['INSTANCE VI_1 MASTER 150', 'INSTANCE VI_1 STOP 150']);
    if (hasArping) expect(await probeUntil(lab, VIP4, 'r2', 2000)).toBe('r2');
    else console.log('vrrp-keepalived: client-follows-GARP check skipped: install iputils-arping');
    await stopAll();
  }, 30_000);

  it('v2 mismatched password: each side drops the other, both MASTER, keepalived logs it', async () => {
    const k = ka({ version: 2, priority: 100, advertInt: 1, pass: 'aaaaaaaa' });
    const l = lv({ version: 2, priority: 150, advertInt: 1, pass: 'bbbbbbbb' });
    await Promise.all([kaWait(k, 'MASTER', 8000), l.waitState('MASTER', 8000)]);
    await k.waitFor(() => k.lines.some((x) => /invalid passwd/.test(x)), 3000, 'invalid passwd log');
    await sleep(1200);
    expect(kaState(k)).toBe('MASTER');
    expect(l.state()).toBe('MASTER');
    l.kill('SIGUSR1');
    const st = await l.waitFor(() => l.events.find((e) => e.event === 'status'), 2000, 'status');
    expect((st.status as Array<{ counters: { dropped: Record<string, number> } }>)[0].counters.dropped.auth).toBeGreaterThan(0);
    await stopAll();
  }, 30_000);

  it('v3 multicast at 100 ms: election both ways, SIGKILL failover, preempt on return', async () => {
    const k = ka({ version: 3, priority: 100, advertInt: 0.1 });
    await kaWait(k, 'MASTER', 5000);
    let l = lv({ version: 3, priority: 150, advertInt: 0.1 });
    await l.waitState('MASTER', 3000);
    await kaWait(k, 'BACKUP', 1000);
    await sleep(1000);
    expect(l.state()).toBe('MASTER'); // no flapping on keepalived's forced-election adverts
    expect(l.events.filter((e) => e.event === 'state').length).toBe(2);
    l.kill('SIGKILL');
    const t0 = Date.now();
    await kaWait(k, 'MASTER', 2000);
    expect(Date.now() - t0).toBeLessThan(361 + 200);
    await l.exited();
    nsExec(lab.names.r2, ['ip', 'addr', 'del', `${VIP4}/24`, 'dev', 'eth0']);
    l = lv({ version: 3, priority: 150, advertInt: 0.1 });
    procs.push(l);
    await l.waitState('MASTER', 3000);
    await kaWait(k, 'BACKUP', 1000);
    await stopAll();
  }, 30_000);

  it('v3 multicast: keepalived master (150), lvsd backup; lvsd follows keepalived\'s interval (interval mismatch elects normally)', async () => {
    const k = ka({ version: 3, priority: 150, advertInt: 0.2 });
    const l = lv({ version: 3, priority: 100, advertInt: 0.1 });
    await kaWait(k, 'MASTER', 5000);
    await sleep(1000);
    expect(l.state()).toBe('BACKUP');
    l.kill('SIGUSR1');
    const st = await l.waitFor(() => l.events.find((e) => e.event === 'status'), 2000, 'status');
    expect((st.status as Array<{ masterAdverIntCs: number }>)[0].masterAdverIntCs).toBe(20);
    // keepalived crashes (VRRP child and parent SIGKILLed): lvsd takes over after its down timer
    // computed from keepalived's interval: 3 x 200 ms + skew(100, 20 cs) = 722 ms.
    killKeepalivedHard(k);
    const t0 = Date.now();
    await l.waitState('MASTER', 2000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(400);
    expect(took).toBeLessThan(1000);
    await stopAll();
  }, 20_000);

  it('v3 unicast (checksum pseudo-header with the peer address): both directions', async () => {
    const k = ka({ version: 3, priority: 100, advertInt: 0.1, unicast: true });
    await kaWait(k, 'MASTER', 5000);
    const l = lv({ version: 3, priority: 150, advertInt: 0.1, unicast: true });
    await l.waitState('MASTER', 3000);
    await kaWait(k, 'BACKUP', 1000);
    l.kill('SIGTERM');
    await kaWait(k, 'MASTER', 1000);
    expect(k.lines.some((x) => /checksum/i.test(x) && /error|invalid/i.test(x))).toBe(false);
    await stopAll();
  }, 20_000);

  it('v2 interval mismatch: keepalived logs it and both become MASTER', async () => {
    const k = ka({ version: 2, priority: 100, advertInt: 1 });
    const l = lv({ version: 2, priority: 150, advertInt: 2 });
    await Promise.all([kaWait(k, 'MASTER', 8000), l.waitState('MASTER', 10_000)]);
    await k.waitFor(() => k.lines.some((x) => /advertisement interval mismatch/.test(x)), 4000, 'interval mismatch log');
    expect(kaState(k)).toBe('MASTER');
    await stopAll();
  }, 30_000);

  it('IPv6 v3 at 100 ms: lvsd (150) wins over keepalived (100); keepalived takes over on SIGKILL', async () => {
    const o = { version: 3 as const, advertInt: 0.1, vip: `${VIP6}/64`, vrid: 52 };
    const k = ka({ ...o, priority: 100 });
    await kaWait(k, 'MASTER', 5000);
    const l = lv({ ...o, priority: 150 });
    await l.waitState('MASTER', 3000);
    await kaWait(k, 'BACKUP', 1000);
    expect(addrs(lab, 'r2')).toContain(VIP6);
    l.kill('SIGKILL');
    await kaWait(k, 'MASTER', 2000);
    await stopAll();
  }, 20_000);

  it('v3 unicast, lvsd in pseudo-mcast-dst checksum mode: keepalived (OLD_CHKSUM_COMPAT) switches to the old checksum and keeps interoperating', async () => {
    const k = ka({ version: 3, priority: 100, advertInt: 0.1, unicast: true });
    await kaWait(k, 'MASTER', 5000);
    const l = lv({ version: 3, priority: 150, advertInt: 0.1, unicast: true, checksumMode: 'pseudo-mcast-dst' });
    await l.waitState('MASTER', 3000);
    await kaWait(k, 'BACKUP', 1000);
    await k.waitFor(() => k.lines.some((x) => /Setting unicast VRRPv3 checksum to old version/.test(x)), 2000, 'old checksum log');
    // keepalived now sends the old form too; lvsd accepts all three forms.
    l.kill('SIGTERM');
    await kaWait(k, 'MASTER', 1000);
    await stopAll();
  }, 20_000);

  it('a crafted advert with TTL 254 from lvsd\'s side: keepalived logs the TTL error and ignores it', async () => {
    const k = ka({ version: 3, priority: 100, advertInt: 0.1 });
    await kaWait(k, 'MASTER', 5000);
    const adv = encodeAdvert({ version: 3, vrid: 51, priority: 200, intervalCs: 10, authType: 0, authData: Buffer.alloc(0), addrs: [VIP4] }, { family: 4, src: '192.0.2.2', dst: '224.0.0.18' });
    const pkt = Buffer.concat([encodeIpv4Header({ src: '192.0.2.2', dst: '224.0.0.18', ttl: 254, id: 9, payloadLen: adv.length }), adv]).toString('hex');
    const inject = `const raw=require(${JSON.stringify(createRequire(import.meta.url).resolve('raw-socket'))});const s=raw.createSocket({protocol:112});s.setOption(0,3,1);const n=Buffer.from('eth0\\0');s.setOption(1,25,n,n.length);
      let i=0;const b=Buffer.from(${JSON.stringify(pkt)},'hex');const next=()=>{if(i++>=5){s.close();return}s.send(b,0,b.length,'224.0.0.18',()=>setTimeout(next,20))};next();`;
    nsExec(lab.names.r2, [process.execPath, '-e', inject]);
    await k.waitFor(() => k.lines.some((x) => /invalid TTL/i.test(x)), 2000, 'invalid TTL log');
    await sleep(300);
    expect(kaState(k)).toBe('MASTER'); // a priority-200 advert would have made it BACKUP
    await stopAll();
  }, 20_000);
});
