// Renders lvsd's whole `table inet lvsd` as one nft -f transaction. Pure.
//
// Packet path (priorities relative to conntrack at -200 and NAT at -100/100):
//   raw_pre  (-450, before defrag)  count fragments for VIPs
//   pre      (-140, after conntrack) restore DR marks; first packet of a flow to a service ->
//            new_flow: TCP without a lone SYN dropped (IPVS's rule), else jump nfqueue, whose
//            single NFQUEUE rule the native helper installs (nft(8) cannot write it)
//   nat_pre  (-100) verdict mark -> ct mark; DNAT by ct mark (NAT, FULLNAT)
//   nat_post (100)  FULLNAT: SNAT by ct mark (or masquerade)
// DR flows are not rewritten: their mark selects a policy-routing table (see dr-routes.ts).
// Re-applying flushes and refills every chain/set except `nfqueue`, in one transaction.

import { MARK_BASE, MARK_MASK } from './marks.js';
import type { Family, NftMethod } from './types.js';

export const TABLE = 'lvsd';

/** A dest with its mark, as the ruleset needs it. */
export interface MarkedDest {
  mark: number;
  /** Identity kept as an element comment so a restarted lvsd can adopt the marks. */
  identity: string;
  family: Family;
  method: Exclude<NftMethod, 'tun'>;
  addr: string;
  port: number;
  snatAddr?: string;
}

export interface RulesetInput {
  /** VIP services: family, address, protocol, port. */
  vipServices: { family: Family; vip: string; proto: 'tcp' | 'udp'; vport: number }[];
  fwmarks: number[];
  dests: MarkedDest[];
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const mask = `${hex(MARK_MASK)} == ${hex(MARK_BASE)}`;
const quote = (s: string): string => `"${s.replace(/["\\]/g, '_').slice(0, 120)}"`;

const SETS: [string, string][] = [
  ['set svc4', 'type ipv4_addr . inet_proto . inet_service;'],
  ['set svc6', 'type ipv6_addr . inet_proto . inet_service;'],
  ['set vip4', 'type ipv4_addr;'],
  ['set vip6', 'type ipv6_addr;'],
  ['set fwm', 'type mark;'],
  ['set marks', 'type mark;'],
  ['set drmarks', 'type mark;'],
  ['set masq', 'type mark;'],
  ['map nat4p', 'type mark : ipv4_addr . inet_service;'],
  ['map nat4a', 'type mark : ipv4_addr;'],
  ['map nat6p', 'type mark : ipv6_addr . inet_service;'],
  ['map nat6a', 'type mark : ipv6_addr;'],
  ['map snat4', 'type mark : ipv4_addr;'],
  ['map snat6', 'type mark : ipv6_addr;'],
];
export const COUNTERS = ['fragments', 'nosyn', 'queued', 'unknown', 'unscheduled'] as const;
export type KernelCounterName = (typeof COUNTERS)[number];

const setKind = (k: string): string => k.split(' ')[0];
const setName = (k: string): string => k.split(' ')[1];

const BASE_CHAINS: [string, string][] = [
  ['raw_pre', 'type filter hook prerouting priority -450; policy accept;'],
  ['pre', 'type filter hook prerouting priority -140; policy accept;'],
  ['nat_pre', 'type nat hook prerouting priority -100; policy accept;'],
  ['nat_post', 'type nat hook postrouting priority 100; policy accept;'],
];

export function renderRuleset(input: RulesetInput): string {
  const t = `inet ${TABLE}`;
  const out: string[] = [`add table ${t}`, `add chain ${t} nfqueue`];
  for (const [kind, spec] of SETS) out.push(`add ${setKind(kind)} ${t} ${setName(kind)} { ${spec} }`);
  for (const c of COUNTERS) out.push(`add counter ${t} ${c}`);
  for (const [name, spec] of BASE_CHAINS) out.push(`add chain ${t} ${name} { ${spec} }`);
  out.push(`add chain ${t} new_flow`);
  for (const [kind] of SETS) out.push(`flush ${setKind(kind)} ${t} ${setName(kind)}`);
  for (const [name] of BASE_CHAINS) out.push(`flush chain ${t} ${name}`);
  out.push(`flush chain ${t} new_flow`);

  const elems = new Map<string, string[]>();
  const add = (set: string, e: string): void => {
    const list = elems.get(set) ?? [];
    list.push(e);
    elems.set(set, list);
  };
  const vips = new Set<string>();
  for (const s of input.vipServices) {
    add(`svc${s.family}`, `${s.vip} . ${s.proto} . ${s.vport}`);
    const v = `${s.family}|${s.vip}`;
    if (!vips.has(v)) add(`vip${s.family}`, s.vip);
    vips.add(v);
  }
  for (const m of new Set(input.fwmarks)) add('fwm', hex(m));
  for (const d of input.dests) {
    const m = hex(d.mark);
    add('marks', `${m} comment ${quote(d.identity)}`);
    if (d.method === 'dr') {
      add('drmarks', m);
      continue;
    }
    if (d.port === 0) add(`nat${d.family}a`, `${m} : ${d.addr}`);
    else add(`nat${d.family}p`, `${m} : ${d.addr} . ${d.port}`);
    if (d.method === 'fullnat') {
      if (d.snatAddr) add(`snat${d.family}`, `${m} : ${d.snatAddr}`);
      else add('masq', m);
    }
  }
  for (const [set, list] of elems) {
    // Chunks keep each command line reasonable for large tables.
    for (let i = 0; i < list.length; i += 256) out.push(`add element ${t} ${set} { ${list.slice(i, i + 256).join(', ')} }`);
  }

  const r = (chain: string, rule: string): void => {
    out.push(`add rule ${t} ${chain} ${rule}`);
  };
  r('raw_pre', 'ip frag-off & 0x3fff != 0 ip daddr @vip4 counter name fragments');
  r('raw_pre', 'exthdr frag exists ip6 daddr @vip6 counter name fragments');
  r('pre', 'ct direction original ct mark @drmarks meta mark set ct mark');
  r('pre', 'ct state new ip daddr . meta l4proto . th dport @svc4 goto new_flow');
  r('pre', 'ct state new ip6 daddr . meta l4proto . th dport @svc6 goto new_flow');
  r('pre', 'ct state new meta l4proto { tcp, udp } meta mark @fwm goto new_flow');
  r('pre', 'ct state new ip daddr @vip4 counter name unknown');
  r('pre', 'ct state new ip6 daddr @vip6 counter name unknown');
  r('new_flow', 'tcp flags & (fin | syn | rst | ack) != syn counter name nosyn drop');
  r('new_flow', 'counter name queued jump nfqueue');
  r('nat_pre', `meta mark & ${mask} ct mark set meta mark`);
  r('nat_pre', `ct mark & ${hex(MARK_MASK)} != ${hex(MARK_BASE)} ip daddr . meta l4proto . th dport @svc4 counter name unscheduled`);
  r('nat_pre', `ct mark & ${hex(MARK_MASK)} != ${hex(MARK_BASE)} ip6 daddr . meta l4proto . th dport @svc6 counter name unscheduled`);
  r('nat_pre', 'meta nfproto ipv4 meta l4proto { tcp, udp } dnat ip to ct mark map @nat4p');
  r('nat_pre', 'meta nfproto ipv4 dnat ip to ct mark map @nat4a');
  r('nat_pre', 'meta nfproto ipv6 meta l4proto { tcp, udp } dnat ip6 to ct mark map @nat6p');
  r('nat_pre', 'meta nfproto ipv6 dnat ip6 to ct mark map @nat6a');
  r('nat_post', 'ct mark @masq masquerade');
  r('nat_post', 'meta nfproto ipv4 snat ip to ct mark map @snat4');
  r('nat_post', 'meta nfproto ipv6 snat ip6 to ct mark map @snat6');
  return `${out.join('\n')}\n`;
}

export function renderDelete(): string {
  return `delete table inet ${TABLE}\n`;
}
