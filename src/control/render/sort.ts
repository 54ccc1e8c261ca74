// ipvsadm's ordering (ipvs_cmp_services / ipvs_cmp_dests), done with plain comparisons: libipvs
// subtracts unsigned values into an int, which misorders addresses differing in the top bit.
import { compareAddresses } from '../address.js';
import type { DestView, ServiceView } from '../view.js';

const PROTO_NUMBER = { TCP: 6, UDP: 17, SCTP: 132 } as const;

export function compareServices(a: ServiceView, b: ServiceView): number {
  const fa = a.key.kind === 'fwmark' ? a.key.fwmark : 0;
  const fb = b.key.kind === 'fwmark' ? b.key.fwmark : 0;
  if (fa !== fb) return fa - fb;
  if (a.family !== b.family) return a.family - b.family;
  if (a.key.kind === 'addr' && b.key.kind === 'addr') {
    const p = PROTO_NUMBER[a.key.protocol] - PROTO_NUMBER[b.key.protocol];
    if (p !== 0) return p;
    const c = compareAddresses(a.key.address, b.key.address);
    if (c !== 0) return c;
    return a.key.port - b.key.port;
  }
  return 0;
}

export function compareDests(a: DestView, b: DestView): number {
  if (a.family !== b.family) return a.family - b.family;
  const c = compareAddresses(a.address, b.address);
  return c !== 0 ? c : a.port - b.port;
}

export function sortedServices(services: readonly ServiceView[], nosort: boolean): ServiceView[] {
  return nosort ? [...services] : [...services].sort(compareServices);
}

export function sortedDests(dests: readonly DestView[], nosort: boolean): DestView[] {
  return nosort ? [...dests] : [...dests].sort(compareDests);
}
