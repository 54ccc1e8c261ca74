// Name lookups for lvsadm (shell): /etc/hosts and /etc/services read synchronously for parsing;
// reverse names for listings resolved ahead of rendering (hosts file, then DNS with a deadline).
import { readFileSync } from 'node:fs';
import { promises as dns } from 'node:dns';
import { canonicalAddress } from './address.js';
import type { NameLookup } from './args.js';
import type { NameResolver } from './render/format.js';
import type { Protocol, TableView } from './view.js';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

interface ServiceEntry { name: string; port: number; proto: string; aliases: string[] }

export function parseServicesFile(text: string): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(\S+)\s+(\d+)\/(\w+)\s*(.*)$/.exec(line);
    if (m) out.push({ name: m[1]!, port: Number(m[2]), proto: m[3]!.toLowerCase(), aliases: m[4]!.split(/\s+/).filter(Boolean) });
  }
  return out;
}

export function parseHostsFile(text: string): { address: string; names: string[] }[] {
  const out: { address: string; names: string[] }[] = [];
  for (const raw of text.split('\n')) {
    const words = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    const c = words.length >= 2 ? canonicalAddress(words[0]!) : null;
    if (c) out.push({ address: c.address, names: words.slice(1) });
  }
  return out;
}

export function systemLookup(hostsFile = '/etc/hosts', servicesFile = '/etc/services'): NameLookup {
  const hosts = parseHostsFile(readText(hostsFile));
  const services = parseServicesFile(readText(servicesFile));
  return {
    hostToIPv4: (name) => hosts.find((h) => !h.address.includes(':') && h.names.includes(name))?.address ?? null,
    serviceToPort: (name, proto) =>
      services.find((s) => s.proto === proto.toLowerCase() && (s.name === name || s.aliases.includes(name)))?.port ?? null,
  };
}

/** Reverse names for every address in a view: /etc/hosts first, then DNS (bounded by deadlineMs). */
export async function systemResolverFor(view: TableView, deadlineMs = 2000): Promise<NameResolver> {
  const hosts = parseHostsFile(readText('/etc/hosts'));
  const services = parseServicesFile(readText('/etc/services'));
  const addresses = new Set<string>();
  for (const s of view.services) {
    if (s.key.kind === 'addr') addresses.add(s.key.address);
    for (const d of s.dests) addresses.add(d.address);
  }
  for (const c of view.connections) for (const e of [c.client, c.virtual, c.destination]) addresses.add(e.address);
  const names = new Map<string, string>();
  const pending: Promise<void>[] = [];
  for (const a of addresses) {
    const h = hosts.find((x) => x.address === a);
    if (h) names.set(a, h.names[0]!);
    else pending.push(dns.reverse(a).then((r) => { if (r[0]) names.set(a, r[0]); }, () => undefined));
  }
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, deadlineMs).unref())]);
  return {
    hostName: (_family, address) => names.get(address) ?? null,
    serviceName: (port: number, proto: Protocol) =>
      services.find((s) => s.port === port && s.proto === proto.toLowerCase())?.name ?? null,
  };
}
