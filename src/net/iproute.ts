// Addresses, routes and link facts through iproute2's `ip`, run with execFile (never a shell).
// We chose `ip` over raw netlink: one well-known binary, readable argv in logs, JSON output (-j).
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { NetError } from './errors.js';

export interface AddressSpec {
  address: string;
  prefix?: number;
  dev: string;
  label?: string;
  scope?: string;
  broadcast?: string;
  noDad?: boolean;
}

export interface RouteSpec {
  to: string;
  via?: string;
  dev?: string;
  src?: string;
  metric?: number;
  table?: number | string;
  scope?: string;
}

const IP = process.env.LVSD_IP_BIN ?? 'ip';

export function runIp(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(IP, args, { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, stdout, stderr) => {
      if (err) reject(new NetError('ENETCMD', `ip ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

function isV6(a: string): boolean {
  return a.includes(':');
}

export function addressArgs(op: 'add' | 'del', a: AddressSpec): string[] {
  const prefix = a.prefix ?? (isV6(a.address) ? 128 : 32);
  const args = [isV6(a.address) ? '-6' : '-4', 'addr', op, `${a.address}/${prefix}`, 'dev', a.dev];
  if (op === 'add') {
    if (a.broadcast) args.push('broadcast', a.broadcast);
    if (a.scope) args.push('scope', a.scope);
    if (a.label) args.push('label', a.label);
    if (a.noDad && isV6(a.address)) args.push('nodad');
  }
  return args;
}

/** Add an address; an address already present counts as success (returns false). */
export async function addAddress(a: AddressSpec): Promise<boolean> {
  try {
    await runIp(addressArgs('add', a));
    return true;
  } catch (e) {
    if (/File exists/.test(String(e))) return false;
    throw e;
  }
}

/** Remove an address; an absent one counts as success (returns false). */
export async function delAddress(a: AddressSpec): Promise<boolean> {
  try {
    await runIp(addressArgs('del', a));
    return true;
  } catch (e) {
    if (/Cannot assign requested address|No such|not found/i.test(String(e))) return false;
    throw e;
  }
}

export function routeArgs(op: 'replace' | 'del', r: RouteSpec): string[] {
  const args = [isV6(r.to) ? '-6' : '-4', 'route', op, r.to];
  if (r.via) args.push('via', r.via);
  if (r.dev) args.push('dev', r.dev);
  if (r.src && op !== 'del') args.push('src', r.src);
  if (r.metric !== undefined) args.push('metric', String(r.metric));
  if (r.table !== undefined) args.push('table', String(r.table));
  if (r.scope && op !== 'del') args.push('scope', r.scope);
  return args;
}

export async function addRoute(r: RouteSpec): Promise<void> {
  await runIp(routeArgs('replace', r));
}

export async function delRoute(r: RouteSpec): Promise<boolean> {
  try {
    await runIp(routeArgs('del', r));
    return true;
  } catch (e) {
    if (/No such process|not found/i.test(String(e))) return false;
    throw e;
  }
}

interface IpAddrJson {
  ifname: string;
  ifindex: number;
  flags?: string[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number; scope: string; secondary?: boolean; label?: string }>;
}

export async function listAddresses(dev: string): Promise<IpAddrJson> {
  const out = await runIp(['-j', 'addr', 'show', 'dev', dev]);
  const parsed = JSON.parse(out) as IpAddrJson[];
  if (!parsed[0]) throw new NetError('ENETIF', `no interface ${dev}`);
  return parsed[0];
}

/** The interface's primary IPv4 address, or its first link-local IPv6 address. */
export async function sourceAddress(dev: string, family: 4 | 6): Promise<string> {
  const info = await listAddresses(dev);
  const a = (info.addr_info ?? []).find((x) =>
    family === 4 ? x.family === 'inet' && !x.secondary : x.family === 'inet6' && x.scope === 'link',
  );
  if (!a) throw new NetError('ENETIF', `${dev} has no ${family === 4 ? 'IPv4' : 'link-local IPv6'} address`);
  return a.local;
}

export async function ifIndex(dev: string): Promise<number> {
  try {
    return Number((await readFile(`/sys/class/net/${dev}/ifindex`, 'utf8')).trim());
  } catch {
    return (await listAddresses(dev)).ifindex;
  }
}

const IFF_UP = 0x1;

/**
 * keepalived's "interface up" (IFF_UP and IFF_RUNNING). sysfs `flags` holds the administrative
 * flags only, so RUNNING comes from `operstate` (up, or unknown for drivers without carrier state).
 * A missing interface is down.
 */
export async function linkIsUp(dev: string): Promise<boolean> {
  try {
    const flags = parseInt((await readFile(`/sys/class/net/${dev}/flags`, 'utf8')).trim(), 16);
    const oper = (await readFile(`/sys/class/net/${dev}/operstate`, 'utf8')).trim();
    return (flags & IFF_UP) !== 0 && (oper === 'up' || oper === 'unknown');
  } catch {
    return false;
  }
}
