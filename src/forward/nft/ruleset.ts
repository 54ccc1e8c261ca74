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
//
// DR VIP services bypass conntrack: the real servers may reply straight to the client, so the
// director sees one direction only, which conntrack takes for invalid (the skb loses its ct and
// ct mark). Their packets are `notrack`ed (dr_raw, -300) and carried by a per-dest dynamic set
// of flows (client addr . port . VIP . port) instead, like IPVS's connection table:
//   pre      (-140) untracked DR packet: a flow found in a dest's `drf_<mark>` set gets that
//            dest's mark; else a lone TCP SYN (or any UDP) is queued to lvsd, else dropped (nosyn)
//   dr_track (-130) by mark, the dest's chain `drt_<mark>` refreshes the flow's element with the
//            timeout of IPVS's input-only TCP state (SYN 60 s, ESTABLISHED 900 s, FIN 120 s,
//            RST 10 s; UDP 300 s) and counts its packets; `dre_`/`drc_` sets remember
//            "established" and "closing" for lvsd's state view. An untracked DR packet without a
//            mark (lvsd dead, fail-open) is dropped: forwarding it unscheduled would loop it back
//            to the router that sent it.
// The flow sets are never flushed by a re-apply (flows survive reloads and restarts); a dest's
// sets and chain are deleted once it is gone and has no flows left.
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
  /** DR dest of a VIP service: carried by its own flow set without conntrack. */
  flowSet?: boolean;
}

export interface RulesetInput {
  /** VIP services: family, address, protocol, port. */
  vipServices: { family: Family; vip: string; proto: 'tcp' | 'udp'; vport: number; dr?: boolean }[];
  fwmarks: number[];
  dests: MarkedDest[];
  /** Flow-set dests programmed before and gone now without flows: their sets/chain go. */
  staleFlowSets?: { mark: number; family: Family }[];
}

/** The flow key of a DR packet, per family (4 fields: the limit of nft 1.0.6's dynset). */
const flowKey = (f: Family): string => (f === 4 ? 'ip saddr . th sport . ip daddr . th dport' : 'ip6 saddr . th sport . ip6 daddr . th dport');
const flowKeyType = (f: Family): string => (f === 4 ? 'ipv4_addr . inet_service . ipv4_addr . inet_service' : 'ipv6_addr . inet_service . ipv6_addr . inet_service');
/** Per-dest flow set names: flows, seen established, seen closing (FIN/RST). */
export const flowSetName = (kind: 'drf' | 'dre' | 'drc', mark: number): string => `${kind}_${(mark >>> 0).toString(16)}`;
const trackChain = (mark: number): string => `drt_${(mark >>> 0).toString(16)}`;
/** IPVS's TCP timeouts (s) of the input-only states, and UDP's. */
export const DR_TIMEOUTS = { synRecv: 60, established: 900, finWait: 120, close: 10, udp: 300 } as const;
/** Flows per DR dest; beyond it the kernel adds no element and the packet is dropped as `unscheduled`. */
export const DR_FLOWS_PER_DEST = 1048576;

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const mask = `${hex(MARK_MASK)} == ${hex(MARK_BASE)}`;
const quote = (s: string): string => `"${s.replace(/["\\]/g, '_').slice(0, 120)}"`;

const SETS: [string, string][] = [
  ['set svc4', 'type ipv4_addr . inet_proto . inet_service;'],
  ['set svc6', 'type ipv6_addr . inet_proto . inet_service;'],
  ['set vip4', 'type ipv4_addr;'],
  ['set vip6', 'type ipv6_addr;'],
  ['set drsvc4', 'type ipv4_addr . inet_proto . inet_service;'],
  ['set drsvc6', 'type ipv6_addr . inet_proto . inet_service;'],
  ['map drtrack', 'type mark : verdict;'],
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
  ['dr_raw', 'type filter hook prerouting priority -300; policy accept;'],
  ['pre', 'type filter hook prerouting priority -140; policy accept;'],
  ['dr_track', 'type filter hook prerouting priority -130; policy accept;'],
  ['nat_pre', 'type nat hook prerouting priority -100; policy accept;'],
  ['nat_post', 'type nat hook postrouting priority 100; policy accept;'],
];

export function renderRuleset(input: RulesetInput): string {
  const t = `inet ${TABLE}`;
  const out: string[] = [`add table ${t}`, `add chain ${t} nfqueue`];
  for (const [kind, spec] of SETS) out.push(`add ${setKind(kind)} ${t} ${setName(kind)} { ${spec} }`);
  for (const c of COUNTERS) out.push(`add counter ${t} ${c}`);
  for (const [name, spec] of BASE_CHAINS) out.push(`add chain ${t} ${name} { ${spec} }`);
  const flowDests = input.dests.filter((d) => d.method === 'dr' && d.flowSet);
  // Hooks cost every packet: the DR base chains exist only while a DR VIP service does.
  const hasDrVip = input.vipServices.some((s) => s.dr);
  const hasCtDr = input.dests.some((d) => d.method === 'dr' && !d.flowSet);
  const regular = ['new_flow', 'dr_in4', 'dr_in6', ...flowDests.map((d) => trackChain(d.mark))];
  for (const c of regular) out.push(`add chain ${t} ${c}`);
  for (const d of flowDests) {
    for (const kind of ['drf', 'dre', 'drc'] as const) {
      out.push(`add set ${t} ${flowSetName(kind, d.mark)} { type ${flowKeyType(d.family)}; flags dynamic,timeout; size ${DR_FLOWS_PER_DEST}; }`);
    }
  }
  for (const [kind] of SETS) out.push(`flush ${setKind(kind)} ${t} ${setName(kind)}`);
  for (const [name] of BASE_CHAINS) out.push(`flush chain ${t} ${name}`);
  for (const c of regular) out.push(`flush chain ${t} ${c}`);

  const elems = new Map<string, string[]>();
  const add = (set: string, e: string): void => {
    const list = elems.get(set) ?? [];
    list.push(e);
    elems.set(set, list);
  };
  const vips = new Set<string>();
  for (const s of input.vipServices) {
    add(`${s.dr ? 'drsvc' : 'svc'}${s.family}`, `${s.vip} . ${s.proto} . ${s.vport}`);
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
      if (d.flowSet) add('drtrack', `${m} : jump ${trackChain(d.mark)}`);
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
  if (hasDrVip) {
    r('dr_raw', 'ip daddr . meta l4proto . th dport @drsvc4 notrack');
    r('dr_raw', 'ip6 daddr . meta l4proto . th dport @drsvc6 notrack');
    r('pre', 'ct state untracked ip daddr . meta l4proto . th dport @drsvc4 goto dr_in4');
    r('pre', 'ct state untracked ip6 daddr . meta l4proto . th dport @drsvc6 goto dr_in6');
  }
  for (const f of [4, 6] as const) {
    const k = flowKey(f);
    for (const d of flowDests.filter((x) => x.family === f)) r(`dr_in${f}`, `${k} @${flowSetName('drf', d.mark)} meta mark set ${hex(d.mark)} accept`);
    r(`dr_in${f}`, 'tcp flags & (fin | syn | rst | ack) != syn counter name nosyn drop');
    r(`dr_in${f}`, 'counter name queued jump nfqueue');
    const ip = f === 4 ? 'ip' : 'ip6';
    if (!hasDrVip) continue;
    r('dr_track', `ct state untracked ${ip} daddr . meta l4proto . th dport @drsvc${f} meta mark vmap @drtrack`);
    r('dr_track', `ct state untracked ${ip} daddr . meta l4proto . th dport @drsvc${f} counter name unscheduled drop`);
  }
  for (const d of flowDests) {
    const k = flowKey(d.family);
    const c = trackChain(d.mark);
    const [f, e, cl] = (['drf', 'dre', 'drc'] as const).map((kind) => flowSetName(kind, d.mark));
    const T = DR_TIMEOUTS;
    const flow = (s: number): string => `update @${f} { ${k} timeout ${s}s counter }`;
    r(c, `meta l4proto udp ${flow(T.udp)} accept`);
    r(c, `tcp flags & rst == rst ${flow(T.close)} update @${cl} { ${k} timeout ${T.close}s } accept`);
    r(c, `tcp flags & fin == fin ${flow(T.finWait)} update @${cl} { ${k} timeout ${T.finWait}s } accept`);
    // A lone SYN on a known tuple (client port reuse) starts over in SYN_RECV, as IPVS's
    // input-only table does from FIN_WAIT/TIME_WAIT/CLOSE; same real server (conn_reuse_mode 1).
    // Separate rules: a delete of an absent element must not stop the chain.
    r(c, `tcp flags & (syn | ack) == syn delete @${cl} { ${k} }`);
    r(c, `tcp flags & (syn | ack) == syn delete @${e} { ${k} }`);
    r(c, `tcp flags & (syn | ack) == syn ${flow(T.synRecv)} accept`);
    r(c, `${k} @${cl} ${flow(T.finWait)} accept`);
    r(c, `${flow(T.established)} update @${e} { ${k} timeout ${T.established}s } accept`);
  }
  if (hasCtDr) r('pre', 'ct direction original ct mark @drmarks meta mark set ct mark');
  // Established flows need nothing more here (saves the rules below on every packet).
  r('pre', 'ct state established accept');
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
  if (!hasDrVip) for (const c of ['dr_raw', 'dr_track']) out.push(`delete chain ${t} ${c}`);
  // Gone dests: nothing refers to their chain or sets any more (flushed and refilled above).
  for (const g of input.staleFlowSets ?? []) {
    out.push(`delete chain ${t} ${trackChain(g.mark)}`);
    for (const kind of ['drf', 'dre', 'drc'] as const) out.push(`delete set ${t} ${flowSetName(kind, g.mark)}`);
  }
  return `${out.join('\n')}\n`;
}

export function renderDelete(): string {
  return `delete table inet ${TABLE}\n`;
}
