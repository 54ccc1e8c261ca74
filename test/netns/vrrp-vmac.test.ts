// use_vmac between two lvsd VRRP harnesses in network namespaces on a bridge, with a client
// namespace: the VIP lives on a macvlan carrying 00:00:5e:00:01:VRID, so the client's neighbour
// entry for the VIP never changes across a failover (the point of vmac).
import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harnessPath, hasKeepalived, isRoot, killKeepalivedHard, nsExec, probeUntil, Proc, startHarness, startKeepalived, type Lab } from '../vrrp/netns-helpers.js';
import { useTwoRouterLab } from './two-router-lab.js';

if (!isRoot) console.log('test/netns/vrrp-vmac: skipped, needs root for network namespaces, macvlan and raw sockets');
const d = isRoot ? describe : describe.skip;

const VIP4 = '192.0.2.100';
const VRID = 51;
const VMAC4 = '00:00:5e:00:01:33';
const VMAC6 = '00:00:5e:00:02:33';
type Extra = Record<string, unknown>;
const spec = (priority: number, extra: Extra = {}) => ({
  instances: [{ name: 'VI_1', interface: 'eth0', vrid: VRID, priority, version: 3, advertInt: 0.1, useVmac: {}, virtualIpaddress: [{ address: VIP4, prefix: 24 }], garp: { masterDelay: 0, masterRepeat: 2 }, ...extra }],
});

interface Link {
  ifname: string;
  ifindex: number;
  address: string;
  link?: string;
  operstate: string;
  linkinfo?: { info_kind: string; info_data?: { mode?: string } };
}

d('use_vmac between network namespaces', () => {
  let lab: Lab;
  const procs: Proc[] = [];
  const run = (router: string, s: object) => {
    const p = startHarness(lab, router, s);
    procs.push(p);
    return p;
  };
  const link = (router: string, name: string): Link | undefined => {
    try {
      return (JSON.parse(nsExec(lab.names[router], ['ip', '-j', '-d', 'link', 'show', 'dev', name])) as Link[])[0];
    } catch {
      return undefined;
    }
  };
  const addrsOn = (router: string, dev: string) => nsExec(lab.names[router], ['ip', 'addr', 'show', 'dev', dev]);
  const sysctl = (router: string, key: string) => nsExec(lab.names[router], ['cat', `/proc/sys/${key}`]).trim();
  /** The client's neighbour entry for the VIP: its MAC, or '' when there is none. */
  const neighMac = () => /lladdr (\S+)/.exec(nsExec(lab.names.cl, ['ip', 'neigh', 'show', VIP4, 'dev', 'br0']))?.[1] ?? '';
  /** Source MACs of VRRP packets arriving from a router's bridge port. */
  const advertMacs = (router: string, filter = 'ip proto 112'): string[] => {
    let out = '';
    try {
      out = execFileSync('ip', ['netns', 'exec', lab.names.cl, 'timeout', '3', 'tcpdump', '-l', '-e', '-n', '-c', '3', '-i', `p-${router}`, filter], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? '');
    }
    return [...out.matchAll(/ ([0-9a-f:]{17}) > /g)].map((m) => m[1]);
  };
  const stopAll = async () => {
    for (const p of procs.splice(0)) {
      if (p.vrrpPidFile) killKeepalivedHard(p);
      p.kill('SIGKILL');
      await p.exited();
    }
    for (const r of ['r1', 'r2']) for (const n of ['vrrp.51', 'vrrp.52', 'vrrp6.51', 'vip51']) try { nsExec(lab.names[r], ['ip', 'link', 'del', 'dev', n]); } catch { /* absent */ }
    // A killed router cannot put the base's ARP settings back: start each test from the defaults.
    for (const r of ['r1', 'r2']) nsExec(lab.names[r], ['sysctl', '-q', '-w', 'net.ipv4.conf.eth0.arp_ignore=0', 'net.ipv4.conf.eth0.arp_filter=0']);
  };

  useTwoRouterLab('vmac', {
    ready: (l) => (lab = l),
    // As with keepalived (checked by hand: same result), a router that ARPs for the client out of
    // its base interface while answering from the VIP names the VIP as sender with the base MAC
    // (arp_announce 0), which moves the client's entry off the virtual MAC. arp_announce 2 on the
    // base (README: use_vmac) makes it name its own address instead.
    setup: (l) => { for (const r of ['r1', 'r2']) nsExec(l.names[r], ['sysctl', '-q', '-w', 'net.ipv4.conf.eth0.arp_announce=2']); },
    afterEachTest: stopAll,
  });

  it('the VIP sits on vrrp.VRID with the virtual MAC; the client keeps that MAC across a failover; stop removes the vmac', async () => {
    expect(sysctl('r1', 'net/ipv4/conf/eth0/arp_ignore')).toBe('0');
    // Debian's all.rp_filter=2 would drop adverts on the address-less vmac: lvsd moves it onto
    // each interface (max of the two) and sets all to 0, as keepalived does, until the vmac goes.
    nsExec(lab.names.r1, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=2']);
    const a = run('r1', spec(150));
    await a.waitState('MASTER', 10000);
    const b = run('r2', spec(100));
    await b.waitState('BACKUP', 10000);
    for (const r of ['r1', 'r2']) {
      const l = link(r, 'vrrp.51');
      expect(l?.address).toBe(VMAC4);
      expect(l?.link).toBe('eth0');
      expect(l?.linkinfo?.info_kind).toBe('macvlan');
      expect(l?.linkinfo?.info_data?.mode).toBe('private');
      // keepalived's settings: the vmac answers ARP only for its own addresses, the base never for the VIP.
      expect(sysctl(r, 'net/ipv4/conf/vrrp.51/arp_ignore')).toBe('1');
      expect(sysctl(r, 'net/ipv4/conf/vrrp.51/rp_filter')).toBe('0');
      expect(sysctl(r, 'net/ipv4/conf/vrrp.51/accept_local')).toBe('1');
      expect(sysctl(r, 'net/ipv6/conf/vrrp.51/disable_ipv6')).toBe('1');
      expect(sysctl(r, 'net/ipv4/conf/eth0/arp_ignore')).toBe('1');
      expect(sysctl(r, 'net/ipv4/conf/eth0/arp_filter')).toBe('1');
    }
    expect(sysctl('r1', 'net/ipv4/conf/all/rp_filter')).toBe('0');
    expect(sysctl('r1', 'net/ipv4/conf/eth0/rp_filter')).toBe('2');
    expect(sysctl('r1', 'net/ipv4/conf/vrrp.51/rp_filter')).toBe('0');
    expect(addrsOn('r1', 'vrrp.51')).toContain(VIP4);
    expect(addrsOn('r1', 'eth0')).not.toContain(VIP4);
    expect(addrsOn('r2', 'vrrp.51')).not.toContain(VIP4);
    // The master's adverts leave from the vmac, so the bridge learns the virtual MAC on its port.
    expect(advertMacs('r1')).toContain(VMAC4);

    expect(await probeUntil(lab, VIP4, 'r1', 6000)).toBe('r1');
    expect(neighMac()).toBe(VMAC4);

    a.kill('SIGTERM');
    await b.waitState('MASTER', 10000);
    await a.exited();
    // Stopped: its vmac is gone and the base's ARP settings are back.
    expect(link('r1', 'vrrp.51')).toBeUndefined();
    expect(sysctl('r1', 'net/ipv4/conf/eth0/arp_ignore')).toBe('0');
    expect(sysctl('r1', 'net/ipv4/conf/eth0/arp_filter')).toBe('0');
    expect(sysctl('r1', 'net/ipv4/conf/all/rp_filter')).toBe('2');
    expect(sysctl('r1', 'net/ipv4/conf/eth0/rp_filter')).toBe('0');
    nsExec(lab.names.r1, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=0']);
    expect(addrsOn('r2', 'vrrp.51')).toContain(VIP4);
    // The client reaches the new master with the neighbour entry it already had.
    expect(await probeUntil(lab, VIP4, 'r2', 6000)).toBe('r2');
    expect(neighMac()).toBe(VMAC4);
    b.kill('SIGTERM');
    await b.exited();
    expect(link('r2', 'vrrp.51')).toBeUndefined();
  }, 60_000);

  it('a killed master leaves its vmac; the backup takes the VIP without any ARP change; a restart adopts the leftover and preempts', async () => {
    const a = run('r1', spec(150));
    await a.waitState('MASTER', 10000);
    const b = run('r2', spec(100));
    await b.waitState('BACKUP', 10000);
    expect(await probeUntil(lab, VIP4, 'r1', 6000)).toBe('r1');
    const before = link('r1', 'vrrp.51');
    a.kill('SIGKILL');
    await a.exited();
    await b.waitState('MASTER', 10000);
    // r1's namespace still holds the VIP on its vmac, but r2's adverts from the same MAC moved
    // the bridge's entry: the client needs no ARP at all.
    expect(addrsOn('r1', 'vrrp.51')).toContain(VIP4);
    expect(await probeUntil(lab, VIP4, 'r2', 6000)).toBe('r2');
    expect(neighMac()).toBe(VMAC4);

    const a2 = run('r1', spec(150));
    await a2.waitState('MASTER', 10000);
    await b.waitState('BACKUP', 10000);
    const after = link('r1', 'vrrp.51');
    expect(after?.ifindex).toBe(before?.ifindex); // adopted, not recreated
    expect(await probeUntil(lab, VIP4, 'r1', 6000)).toBe('r1');
    expect(neighMac()).toBe(VMAC4);
  }, 60_000);

  it('vmac_xmit_base: adverts leave from the base MAC, the VIP still on the vmac; a reload that restarts the instance keeps the vmac', async () => {
    // Adverts from the base MAC teach the bridge nothing about the virtual MAC: only the vmac's
    // GARPs do, so a second burst 1 s later covers one sent while the new vmac was still settling.
    const s = (p: number) => spec(p, { useVmac: { xmitBase: true }, garp: { masterDelay: 1, masterRepeat: 2 } });
    const file = join(lab.dir, 'r1-reload.json');
    writeFileSync(file, JSON.stringify(s(150)));
    const child = spawn('ip', ['netns', 'exec', lab.names.r1, process.execPath, harnessPath, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    lab.procs.push(child);
    const a = new Proc(child);
    procs.push(a);
    await a.waitState('MASTER', 10000);
    const b = run('r2', s(100));
    await b.waitState('BACKUP', 10000);
    const baseMac = link('r1', 'eth0')!.address;
    const macs = advertMacs('r1');
    expect(macs.length).toBeGreaterThan(0);
    expect(new Set(macs)).toEqual(new Set([baseMac]));
    expect(addrsOn('r1', 'vrrp.51')).toContain(VIP4);
    expect(await probeUntil(lab, VIP4, 'r1', 6000)).toBe('r1');
    expect(neighMac()).toBe(VMAC4);

    // A changed priority restarts the instance; its vmac is handed over, not deleted and re-made.
    const idx = link('r1', 'vrrp.51')!.ifindex;
    writeFileSync(file, JSON.stringify(s(140)));
    a.kill('SIGHUP');
    await a.waitFor(() => a.events.find((e) => e.event === 'reconciled'), 5000, 'reconciled');
    await a.waitFor(() => a.state() === 'MASTER' && a.events.filter((e) => e.event === 'state' && e.to === 'MASTER').length >= 2, 5000, 'MASTER again');
    expect(link('r1', 'vrrp.51')!.ifindex).toBe(idx);
    expect(addrsOn('r1', 'vrrp.51')).toContain(VIP4);
  }, 60_000);

  it('two instances on one base: a reload that drops one deletes only its vmac; the base keeps its ARP settings until the last goes', async () => {
    const two = {
      instances: [
        spec(150).instances[0],
        { ...spec(150).instances[0], name: 'VI_2', vrid: 52, virtualIpaddress: [{ address: '192.0.2.101', prefix: 24 }] },
      ],
    };
    const file = join(lab.dir, 'r1-two.json');
    writeFileSync(file, JSON.stringify(two));
    const child = spawn('ip', ['netns', 'exec', lab.names.r1, process.execPath, harnessPath, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    lab.procs.push(child);
    const a = new Proc(child);
    procs.push(a);
    await a.waitState('MASTER', 10000, 'VI_1');
    await a.waitState('MASTER', 10000, 'VI_2');
    expect(link('r1', 'vrrp.52')?.address).toBe('00:00:5e:00:01:34');
    writeFileSync(file, JSON.stringify({ instances: [two.instances[0]] }));
    a.kill('SIGHUP');
    await a.waitFor(() => a.events.find((e) => e.event === 'reconciled'), 10000, 'reconciled');
    expect(link('r1', 'vrrp.52')).toBeUndefined();
    expect(link('r1', 'vrrp.51')?.address).toBe(VMAC4);
    expect(a.state('VI_1')).toBe('MASTER');
    expect(sysctl('r1', 'net/ipv4/conf/eth0/arp_ignore')).toBe('1');
    a.kill('SIGTERM');
    await a.exited();
    expect(link('r1', 'vrrp.51')).toBeUndefined();
    expect(sysctl('r1', 'net/ipv4/conf/eth0/arp_ignore')).toBe('0');
  }, 60_000);

  it('IPv6: vrrp.VRID with 00:00:5e:00:02:VRID, no generated link-local, the base link-local copied', async () => {
    const VIP6 = '2001:db8::100';
    const s6 = (p: number) => ({ instances: [{ name: 'VI_6', interface: 'eth0', vrid: VRID, priority: p, advertInt: 0.1, useVmac: {}, virtualIpaddress: [{ address: VIP6, prefix: 64 }], garp: { masterDelay: 0, masterRepeat: 1 } }] });
    const a = run('r1', s6(150));
    await a.waitState('MASTER', 10000);
    const b = run('r2', s6(100));
    await b.waitState('BACKUP', 10000);
    const l = link('r1', 'vrrp.51');
    expect(l?.address).toBe(VMAC6);
    const baseLl = /inet6 (fe80::\S+)\/64/.exec(addrsOn('r1', 'eth0'))?.[1];
    const vm = addrsOn('r1', 'vrrp.51');
    expect(baseLl).toBeDefined();
    expect(vm).toContain(`${baseLl}/64`);
    expect(vm).toContain(VIP6);
    // Only the copied link-local: none made from the virtual MAC (fe80::200:5eff:fe00:233).
    expect(vm).not.toContain('fe80::200:5eff:fe00:233');
    expect(advertMacs('r1', 'ip6 proto 112')).toContain(VMAC6);
  }, 60_000);

  const ka = hasKeepalived ? it : it.skip;
  if (!hasKeepalived) console.log('test/netns/vrrp-vmac: keepalived interop skipped, needs /usr/sbin/keepalived (Debian package keepalived)');
  ka('with keepalived 2.2.7 (use_vmac) as the other router: the same vmac both sides, the client keeps the virtual MAC both ways', async () => {
    const conf = `global_defs {
  router_id ka
  vrrp_version 3
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 2
}
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  virtual_router_id ${VRID}
  priority 150
  advert_int 0.1
  use_vmac
  virtual_ipaddress {
    ${VIP4}/24
  }
}
`;
    const k = startKeepalived(lab, 'r1', conf);
    procs.push(k);
    const l = run('r2', spec(100));
    await l.waitState('BACKUP', 10000);
    await k.waitFor(() => k.lines.find((x) => /Entering MASTER STATE/.test(x)), 8000, 'keepalived MASTER');
    // keepalived's vmac and ours: same name, MAC and kind.
    for (const r of ['r1', 'r2']) {
      expect(link(r, 'vrrp.51')?.address).toBe(VMAC4);
      expect(link(r, 'vrrp.51')?.linkinfo?.info_data?.mode).toBe('private');
    }
    expect(advertMacs('r1')).toContain(VMAC4);
    expect(await probeUntil(lab, VIP4, 'r1', 6000)).toBe('r1');
    expect(neighMac()).toBe(VMAC4);
    // keepalived crashes (both processes): lvsd takes over with the same MAC.
    killKeepalivedHard(k);
    k.kill('SIGKILL');
    await l.waitState('MASTER', 10000);
    expect(await probeUntil(lab, VIP4, 'r2', 6000)).toBe('r2');
    expect(neighMac()).toBe(VMAC4);
    // keepalived back (150): it adopts its leftover vmac and preempts; the client follows, same MAC.
    const k2 = startKeepalived(lab, 'r1', conf);
    procs.push(k2);
    await l.waitState('BACKUP', 10000);
    expect(await probeUntil(lab, VIP4, 'r1', 6000)).toBe('r1');
    expect(neighMac()).toBe(VMAC4);
  }, 60_000);
});
