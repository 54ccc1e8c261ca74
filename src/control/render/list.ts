// `lvsadm -L/-l` listings: ipvsadm's list_all / list_service / print_title / print_service_entry.
import { formatIPv4, prefixToIPv4Mask } from '../address.js';
import { schedFlagBits, schedFlagNames, type ListFormat } from '../args.js';
import type { DestView, Protocol, ServiceKey, ServiceView, TableView, TunnelInfo } from '../view.js';
import { sameServiceKey } from '../view.js';
import { addrPort, largeNum, left, right, type NameResolver } from './format.js';
import { sortedDests, sortedServices } from './sort.js';

export type RenderResult = { ok: true; text: string } | { ok: false; exitCode: number; stderr: string };

const TITLE_LOCAL = 'Prot LocalAddress:Port';

export function renderTitle(format: ListFormat): string {
  const cols = (names: string[]): string => `${left(TITLE_LOCAL, 33)}${names.map((n) => ' ' + right(n, 8)).join('')}\n  -> RemoteAddress:Port\n`;
  if (format.stats) return cols(['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes']);
  if (format.rate) return cols(['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS']);
  if (format.thresholds) {
    return `${left(TITLE_LOCAL, 33)} ${left('Uthreshold', 10)} ${left('Lthreshold', 10)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  }
  if (format.persistentConn) {
    return `${left(TITLE_LOCAL, 33)} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  }
  if (format.tunInfo) {
    return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  }
  return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

/** The protocol ipvsadm uses for port names: the service's, TCP for fwmark services. */
export function serviceProtocol(key: ServiceKey): Protocol {
  return key.kind === 'addr' ? key.protocol : 'TCP';
}

/** Listing name of a service: `TCP  1.2.3.4:80` (IPv4 cut to 33), `FWM  7`, `FWM  7 IPv6`. */
export function serviceName(svc: ServiceView, names: NameResolver | null): string {
  if (svc.key.kind === 'fwmark') return svc.family === 6 ? `FWM  ${svc.key.fwmark} IPv6` : `FWM  ${svc.key.fwmark}`;
  const name = `${left(svc.key.protocol, 4)} ${addrPort(svc.key.address, svc.key.port, svc.key.protocol, names)}`;
  return svc.family === 6 ? name : name.slice(0, 33);
}

/** Scheduler flags as print_sched_flags prints them (comma-joined, by scheduler). */
export function schedFlagsText(svc: ServiceView): string {
  const names = schedFlagNames(svc.scheduler, schedFlagBits(svc.schedFlags));
  // print_sched_flags shows only sh-*/mh-* for sh/mh
  return names.filter((n) => (svc.scheduler === 'sh' || svc.scheduler === 'mh') ? n !== 'flag-3' : true).join(',');
}

export function maskText(svc: ServiceView): string | null {
  if (!svc.persistence) return null;
  const { netmask } = svc.persistence;
  if (svc.family === 6) return netmask !== 128 ? String(netmask) : null;
  return netmask !== 32 ? formatIPv4(prefixToIPv4Mask(netmask)) : null;
}

function serviceLine(svc: ServiceView, format: ListFormat, names: NameResolver | null): string {
  const name = serviceName(svc, names);
  if (format.stats) {
    const s = svc.stats;
    return left(name, 33) + [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map((v) => largeNum(v, format.exact)).join('') + '\n';
  }
  if (format.rate) {
    const r = svc.rates;
    return left(name, 33) + [r.cps, r.inpps, r.outpps, r.inbps, r.outbps].map((v) => largeNum(v, format.exact)).join('') + '\n';
  }
  let line = `${name} ${svc.scheduler}`;
  if (schedFlagBits(svc.schedFlags) !== 0) line += ` (${schedFlagsText(svc)})`;
  if (svc.persistence) {
    line += ` persistent ${svc.persistence.timeout}`;
    const mask = maskText(svc);
    if (mask !== null) line += ` mask ${mask}`;
    if (svc.pe) line += ` pe ${svc.pe}`;
  }
  if (svc.ops) line += ' ops';
  return line + '\n';
}

const TUN_CSUM_SHORT: Record<TunnelInfo['csum'], string> = { none: '-c', csum: '+c', remcsum: 'r+c' };

/** fwd_tun_info: `ipip`, `gue:<port>:<csum>`, `gre:<csum>`, or n/a. */
export function tunnelInfoText(dest: DestView): string {
  if (dest.forward !== 'Tunnel') return 'n/a';
  const t = dest.tunnel ?? { type: 'ipip', port: 0, csum: 'none' };
  if (t.type === 'ipip') return 'ipip';
  if (t.type === 'gue') return `gue:${t.port}:${TUN_CSUM_SHORT[t.csum]}`;
  return `gre:${TUN_CSUM_SHORT[t.csum]}`;
}

function destLine(svc: ServiceView, dest: DestView, format: ListFormat, names: NameResolver | null): string {
  let name = addrPort(dest.address, dest.port, serviceProtocol(svc.key), names);
  if (dest.family !== 6) name = name.slice(0, 28);
  const head = `  -> ${left(name, 28)}`;
  if (format.stats) {
    const s = dest.stats;
    return head + [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map((v) => largeNum(v, format.exact)).join('') + '\n';
  }
  if (format.rate) {
    const r = dest.rates;
    return `${head} ${right(r.cps, 8)} ${right(r.inpps, 8)} ${right(r.outpps, 8)}` +
      largeNum(r.inbps, format.exact) + largeNum(r.outbps, format.exact) + '\n';
  }
  if (format.thresholds) {
    return `${head} ${left(dest.upperThreshold, 10)} ${left(dest.lowerThreshold, 10)} ${left(dest.activeConns, 10)} ${left(dest.inactiveConns, 10)}\n`;
  }
  if (format.persistentConn) {
    return `${head} ${left(dest.weight, 9)} ${left(dest.persistConns, 11)} ${left(dest.activeConns, 10)} ${left(dest.inactiveConns, 10)}\n`;
  }
  if (format.tunInfo) {
    return `${head} ${left(dest.forward, 7)} ${left(tunnelInfoText(dest), 13)} ${left(dest.weight, 6)} ${left(dest.activeConns, 10)} ${left(dest.inactiveConns, 10)}\n`;
  }
  return `${head} ${left(dest.forward, 7)} ${left(dest.weight, 6)} ${left(dest.activeConns, 10)} ${left(dest.inactiveConns, 10)}\n`;
}

export function renderServiceEntry(svc: ServiceView, format: ListFormat, names: NameResolver | null): string {
  let out = serviceLine(svc, format, names);
  for (const d of sortedDests(svc.dests, format.nosort)) out += destLine(svc, d, format, names);
  return out;
}

/** `-L` of the whole table: version line, title, every service. */
export function renderTable(view: TableView, format: ListFormat, names: NameResolver | null): string {
  let out = `IP Virtual Server version ${view.version} (size=${view.connTableSize})\n`;
  out += renderTitle(format);
  for (const svc of sortedServices(view.services, format.nosort)) out += renderServiceEntry(svc, format, names);
  return out;
}

/** `-L <service>`: no version line; an absent service is "No such service", exit 1. */
export function renderOneService(view: TableView, key: ServiceKey, format: ListFormat, names: NameResolver | null): RenderResult {
  const svc = view.services.find((s) => sameServiceKey(s.key, key));
  if (!svc) return { ok: false, exitCode: 1, stderr: 'No such service\n' };
  return { ok: true, text: renderTitle(format) + renderServiceEntry(svc, format, names) };
}

/** `-L --timeout` */
export function renderTimeout(view: TableView): string {
  const t = view.timeouts;
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
}
