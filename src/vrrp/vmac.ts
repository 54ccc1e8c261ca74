// use_vmac: one macvlan (mode private) per instance carrying the VRRP virtual MAC, as keepalived
// builds it (vrrp_vmac.c, vrrp_if_config.c): 00:00:5e:00:01:VRID (IPv4) / 00:00:5e:00:02:VRID
// (IPv6), named vrrp.VRID unless named; IPv4: arp_ignore=1, accept_local=1, rp_filter=0,
// promote_secondaries=1 and IPv6 off on the vmac, arp_ignore=1 and arp_filter=1 on the base
// (restored when its last vmac goes); IPv6: no generated link-local, the base's link-local copied.
// Links are made with `ip` (src/net runIp, execFile, never a shell); sysctls are /proc/sys files.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import * as net from '../net/index.js';
import type { IpFamily, VmacSpec } from './types.js';

export class VmacError extends Error {
  readonly code = 'EVRRPVMAC';
}

const IFNAMSIZ = 16; // including the NUL

/** The virtual MAC: the configured one (5 octets take the VRID as the 6th) or RFC 5798's. */
export function vmacAddress(family: IpFamily, vrid: number, configured?: string): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  if (configured) {
    const parts = configured.toLowerCase().split(':');
    if (parts.length === 5) parts.push(hex(vrid));
    if (parts.length !== 6 || !parts.every((p) => /^[0-9a-f]{2}$/.test(p))) throw new VmacError(`use_vmac: '${configured}' is not a MAC address`);
    // A multicast (group bit) MAC cannot be an interface's address.
    if (parseInt(parts[0], 16) & 1) throw new VmacError(`use_vmac: ${configured} is a multicast MAC`);
    return parts.join(':');
  }
  return `00:00:5e:00:${family === 4 ? '01' : '02'}:${hex(vrid)}`;
}

/**
 * keepalived's default names in the order it tries them (vrrp.c vrrp_complete_instance):
 * vrrp.VRID, then vrrpN.VRID with N = 1, 2, ...; IPv6 tries vrrp6.VRID second and skips 6 later.
 */
export function* vmacNameCandidates(family: IpFamily, vrid: number): Generator<string> {
  yield `vrrp.${vrid}`;
  if (family === 6) yield `vrrp6.${vrid}`;
  for (let n = 1; n < 1000; n++) if (family !== 6 || n !== 6) yield `vrrp${n}.${vrid}`;
}

export function validIfName(name: string): boolean {
  return name.length > 0 && name.length < IFNAMSIZ && !/[\s/:]/.test(name) && name !== '.' && name !== '..';
}

/** What `ip -j -d link show` says about an interface (the fields we use). */
export interface LinkInfo {
  ifname: string;
  ifindex: number;
  address?: string;
  /** The lower device's name (macvlan, veth in the same namespace). */
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: { mode?: string } };
}

export type VmacDecision =
  | { action: 'adopt'; name: string }
  | { action: 'create'; name: string; replace: boolean };

/**
 * Pure: which interface an instance uses. A macvlan already on `base` with our MAC is adopted
 * (a leftover of an earlier run, whatever its name); the configured name is used when free or
 * when it is an incompatible macvlan (deleted first); otherwise the first free default name.
 * A configured name held by a non-macvlan interface is never touched (keepalived ignores the name).
 */
export function decideVmac(links: readonly LinkInfo[], want: { base: string; mac: string; family: IpFamily; vrid: number; name?: string }, reserved: ReadonlySet<string>): VmacDecision {
  const isMacvlan = (l: LinkInfo) => l.linkinfo?.info_kind === 'macvlan';
  const mine = links.find((l) => isMacvlan(l) && l.link === want.base && l.address?.toLowerCase() === want.mac && !reserved.has(l.ifname));
  if (mine) return { action: 'adopt', name: mine.ifname };
  const byName = new Map(links.map((l) => [l.ifname, l]));
  if (want.name && !reserved.has(want.name)) {
    const there = byName.get(want.name);
    if (!there) return { action: 'create', name: want.name, replace: false };
    if (isMacvlan(there)) return { action: 'create', name: want.name, replace: true };
  }
  for (const n of vmacNameCandidates(want.family, want.vrid)) if (!byName.has(n) && !reserved.has(n)) return { action: 'create', name: n, replace: false };
  throw new VmacError(`no free vmac name for VRID ${want.vrid}`);
}

/** Read and write /proc/sys (injectable so the bookkeeping is testable without root). */
export interface Sysctl {
  get(path: string): Promise<number | null>;
  set(path: string, value: number): Promise<void>;
  /** Entries of a /proc/sys directory (interface names under net/ipv4/conf). */
  list(path: string): Promise<string[]>;
}

export const procSysctl: Sysctl = {
  async get(path) {
    try {
      const n = Number((await readFile(`/proc/sys/${path}`, 'utf8')).trim());
      return Number.isFinite(n) ? n : null;
    } catch {
      return null;
    }
  },
  async set(path, value) {
    await writeFile(`/proc/sys/${path}`, String(value));
  },
  async list(path) {
    return readdir(`/proc/sys/${path}`).catch(() => []);
  },
};

export interface VmacHandle {
  name: string;
  mac: string;
  ifindex: number;
}

interface Held {
  owners: Set<string>;
  base: string;
  mac: string;
  family: IpFamily;
}

interface BaseSaved {
  refs: number;
  arpIgnore: number | null;
  arpFilter: number | null;
}

export interface VmacLinksOptions {
  logger: Logger;
  ip?: (args: string[]) => Promise<string>;
  sysctl?: Sysctl;
}

/**
 * The runtime's vmac interfaces. acquire() makes or adopts one for an instance; release() drops
 * the instance's claim and flush() deletes what nobody claims, so a reload that restarts an
 * instance keeps its vmac (and the VIP's neighbours keep the same MAC throughout).
 */
export class VmacLinks {
  private readonly held = new Map<string, Held>();
  private readonly bases = new Map<string, BaseSaved>();
  /** all.rp_filter and the per-interface values it replaced, while IPv4 vmacs exist. */
  private rpSaved: { refs: number; all: number; dev: Map<string, number> } | null = null;
  private readonly ip: (args: string[]) => Promise<string>;
  private readonly sysctl: Sysctl;

  constructor(private readonly opts: VmacLinksOptions) {
    this.ip = opts.ip ?? net.runIp;
    this.sysctl = opts.sysctl ?? procSysctl;
  }

  names(): string[] {
    return [...this.held.keys()];
  }

  async acquire(owner: string, base: string, family: IpFamily, vrid: number, spec: VmacSpec): Promise<VmacHandle> {
    const mac = vmacAddress(family, vrid, spec.mac);
    if (spec.name && !validIfName(spec.name)) throw new VmacError(`${owner}: use_vmac name '${spec.name}' is not a valid interface name`);
    for (const [name, h] of this.held) {
      if (h.base === base && h.mac === mac && h.family === family && (!spec.name || spec.name === name)) {
        h.owners.add(owner);
        await this.ip(['link', 'set', 'dev', name, 'up']);
        return { name, mac, ifindex: await net.ifIndex(name) };
      }
    }
    const links = JSON.parse(await this.ip(['-j', '-d', 'link', 'show'])) as LinkInfo[];
    if (!links.some((l) => l.ifname === base)) throw new VmacError(`${owner}: no interface ${base} for use_vmac`);
    const d = decideVmac(links, { base, mac, family, vrid, name: spec.name }, new Set(this.held.keys()));
    const log = this.opts.logger.child({ vrrp: owner, vmac: d.name });
    if (d.action === 'adopt') {
      log.info('vmac interface left from an earlier run adopted');
      // Whatever VIPs it still carries are stale: this instance adds its own when it is MASTER.
      await this.ip([family === 4 ? '-4' : '-6', 'addr', 'flush', 'dev', d.name, ...(family === 6 ? ['scope', 'global'] : [])]).catch(() => undefined);
    } else {
      if (d.replace) {
        log.warn('incompatible vmac interface replaced');
        await this.ip(['link', 'del', 'dev', d.name]);
      }
      await this.ip(['link', 'add', 'link', base, 'name', d.name, 'address', mac, 'type', 'macvlan', 'mode', 'private']);
      log.info({ base, mac }, 'vmac interface created');
    }
    this.held.set(d.name, { owners: new Set([owner]), base, mac, family });
    try {
      await this.configure(d.name, base, family);
    } catch (e) {
      this.held.delete(d.name);
      if (d.action === 'create') await this.ip(['link', 'del', 'dev', d.name]).catch(() => undefined);
      throw e;
    }
    return { name: d.name, mac, ifindex: await net.ifIndex(d.name) };
  }

  /** Drop an instance's claim; the interface stays until flush(). */
  release(owner: string): void {
    for (const h of this.held.values()) h.owners.delete(owner);
  }

  /** Delete every vmac nobody claims, restoring the base interfaces' ARP settings. */
  async flush(): Promise<void> {
    for (const [name, h] of [...this.held]) {
      if (h.owners.size) continue;
      this.held.delete(name);
      try {
        await this.ip(['link', 'del', 'dev', name]);
        this.opts.logger.info({ vmac: name }, 'vmac interface removed');
      } catch (e) {
        this.opts.logger.warn({ vmac: name, error: (e as Error).message }, 'vmac interface removal failed');
      }
      if (h.family === 4) {
        await this.releaseBase(h.base);
        await this.releaseRpFilter();
      }
    }
  }

  private async configure(name: string, base: string, family: IpFamily): Promise<void> {
    if (family === 4) {
      const conf = `net/ipv4/conf/${name}`;
      // Answer ARP only for addresses on the vmac, hear a peer's adverts, receive with no address.
      await this.sysctl.set(`${conf}/arp_ignore`, 1);
      await this.sysctl.set(`${conf}/accept_local`, 1);
      await this.sysctl.set(`${conf}/rp_filter`, 0);
      await this.sysctl.set(`${conf}/promote_secondaries`, 1);
      // No IPv6 (no RS/NS/MLD from the shared virtual MAC on a backup), as keepalived leaves it.
      await this.ip(['link', 'set', 'dev', name, 'addrgenmode', 'none']).catch(() => undefined);
      await this.sysctl.set(`net/ipv6/conf/${name}/disable_ipv6`, 1).catch(() => undefined);
      await this.holdBase(base);
      await this.holdRpFilter();
    } else {
      // RFC 5798 7.4: no link-local from the virtual MAC; the adverts use the base's link-local.
      await this.ip(['link', 'set', 'dev', name, 'addrgenmode', 'none']);
      const ll = await net.sourceAddress(base, 6).catch(() => null);
      if (ll) await net.addAddress({ address: ll, prefix: 64, dev: name, noDad: true });
    }
    await this.ip(['link', 'set', 'dev', name, 'up']);
  }

  /** The base must not answer ARP for the VIPs (they live on the vmac): arp_ignore=1, arp_filter=1. */
  private async holdBase(base: string): Promise<void> {
    const b = this.bases.get(base);
    if (b) {
      b.refs++;
      return;
    }
    const conf = `net/ipv4/conf/${base}`;
    const saved: BaseSaved = { refs: 1, arpIgnore: await this.sysctl.get(`${conf}/arp_ignore`), arpFilter: await this.sysctl.get(`${conf}/arp_filter`) };
    this.bases.set(base, saved);
    if (saved.arpIgnore !== 1) await this.sysctl.set(`${conf}/arp_ignore`, 1);
    if (saved.arpFilter !== 1) await this.sysctl.set(`${conf}/arp_filter`, 1);
  }

  /**
   * The kernel filters with max(all.rp_filter, dev.rp_filter), and a vmac has no IPv4 address, so
   * a non-zero all.rp_filter (Debian ships 2) drops the peer's adverts. As keepalived does: every
   * interface gets max(its own, all), then all = 0; undone when the last IPv4 vmac goes.
   */
  private async holdRpFilter(): Promise<void> {
    if (this.rpSaved) {
      this.rpSaved.refs++;
      return;
    }
    const all = (await this.sysctl.get('net/ipv4/conf/all/rp_filter')) ?? 0;
    this.rpSaved = { refs: 1, all, dev: new Map() };
    if (all === 0) return;
    for (const dev of await this.sysctl.list('net/ipv4/conf')) {
      if (dev === 'all' || this.held.has(dev)) continue;
      const cur = await this.sysctl.get(`net/ipv4/conf/${dev}/rp_filter`);
      if (cur === null || cur >= all) continue;
      this.rpSaved.dev.set(dev, cur);
      await this.sysctl.set(`net/ipv4/conf/${dev}/rp_filter`, all);
    }
    await this.sysctl.set('net/ipv4/conf/all/rp_filter', 0);
    this.opts.logger.info({ was: all }, 'net.ipv4.conf.all.rp_filter set to 0 for vmac (interfaces keep their effective value)');
  }

  private async releaseRpFilter(): Promise<void> {
    const r = this.rpSaved;
    if (!r || --r.refs > 0) return;
    this.rpSaved = null;
    if (r.all === 0) return;
    try {
      await this.sysctl.set('net/ipv4/conf/all/rp_filter', r.all);
      for (const [dev, v] of r.dev) await this.sysctl.set(`net/ipv4/conf/${dev}/rp_filter`, v).catch(() => undefined);
    } catch (e) {
      this.opts.logger.warn({ error: (e as Error).message }, 'restoring rp_filter failed');
    }
  }

  private async releaseBase(base: string): Promise<void> {
    const b = this.bases.get(base);
    if (!b || --b.refs > 0) return;
    this.bases.delete(base);
    const conf = `net/ipv4/conf/${base}`;
    try {
      if (b.arpIgnore !== null && b.arpIgnore !== 1) await this.sysctl.set(`${conf}/arp_ignore`, b.arpIgnore);
      if (b.arpFilter !== null && b.arpFilter !== 1) await this.sysctl.set(`${conf}/arp_filter`, b.arpFilter);
    } catch (e) {
      this.opts.logger.warn({ base, error: (e as Error).message }, 'restoring ARP settings failed');
    }
  }
}
