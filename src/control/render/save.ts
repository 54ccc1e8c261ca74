// `lvsadm -S`: ipvsadm's FMT_RULE output (print_service_entry with rules), readable by -R.
import type { ListFormat } from '../args.js';
import { schedFlagBits } from '../args.js';
import type { DestView, ServiceView, TableView, TunnelInfo } from '../view.js';
import { addrPort, type NameResolver } from './format.js';
import { maskText, schedFlagsText, serviceProtocol } from './list.js';
import { sortedDests, sortedServices } from './sort.js';

const SELECTOR = { TCP: '-t', UDP: '-u', SCTP: '--sctp-service' } as const;
const FWD_SWITCH = { Masq: '-m', Tunnel: '-i', Route: '-g', Local: '-g', FullNat: '-k' } as const;
const CSUM_OPT: Record<TunnelInfo['csum'], string> = { none: '--tun-nocsum', csum: '--tun-csum', remcsum: '--tun-remcsum' };

export function ruleSelector(svc: ServiceView, names: NameResolver | null): string {
  if (svc.key.kind === 'fwmark') return svc.family === 6 ? `-f ${svc.key.fwmark} -6` : `-f ${svc.key.fwmark}`;
  return `${SELECTOR[svc.key.protocol]} ${addrPort(svc.key.address, svc.key.port, svc.key.protocol, names)}`;
}

function serviceRule(svc: ServiceView, sel: string): string {
  let line = `-A ${sel} -s ${svc.scheduler}`;
  if (svc.persistence) {
    line += ` -p ${svc.persistence.timeout}`;
    const mask = maskText(svc);
    if (mask !== null) line += ` -M ${mask}`;
  }
  if (svc.pe) line += ` --pe ${svc.pe}`;
  if (svc.ops) line += ' -o';
  if (schedFlagBits(svc.schedFlags) !== 0) line += ` -b ${schedFlagsText(svc)}`;
  return line + '\n';
}

function destRule(svc: ServiceView, sel: string, dest: DestView, names: NameResolver | null): string {
  const name = addrPort(dest.address, dest.port, serviceProtocol(svc.key), names);
  const base = `-a ${sel} -r ${name} ${FWD_SWITCH[dest.forward]} -w ${dest.weight}`;
  if (dest.forward !== 'Tunnel') return base + '\n';
  const t = dest.tunnel ?? { type: 'ipip', port: 0, csum: 'none' };
  if (t.type === 'gre') return `${base} --tun-type gre ${CSUM_OPT[t.csum]}\n`;
  if (t.type === 'gue') return `${base} --tun-type gue --tun-port ${t.port} ${CSUM_OPT[t.csum]}\n`;
  return `${base} --tun-type ipip\n`;
}

export function renderSave(view: TableView, format: ListFormat, names: NameResolver | null): string {
  let out = '';
  for (const svc of sortedServices(view.services, format.nosort)) {
    const sel = ruleSelector(svc, names);
    out += serviceRule(svc, sel);
    for (const d of sortedDests(svc.dests, format.nosort)) out += destRule(svc, sel, d, names);
  }
  return out;
}
