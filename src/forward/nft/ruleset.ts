// Renders lvsd's whole `table inet lvsd` as one nft -f transaction. Pure.
//
// Packet path (priorities relative to conntrack at -200 and NAT at -100/100):
//   raw_pre  (-450, before defrag)  count fragments for VIPs
//   pre      (-140, after conntrack) DR checks (below); first packet of a flow to a service ->
//            new_flow: TCP without a lone SYN dropped (IPVS's rule), else jump nfqueue, whose
//            single NFQUEUE rule the native helper installs (nft(8) cannot write it)
//   nat_pre  (-100) verdict mark -> ct mark; DNAT by ct mark (NAT, FULLNAT)
//   nat_post (100)  FULLNAT: SNAT by ct mark (or masquerade)
// DR flows are not rewritten: their mark selects a policy-routing table (see dr-routes.ts), or,
// when the VIP is a local address, `table ip/ip6 lvsd` clones them to the real server (dr-local.ts).
//
// DR services bypass conntrack: the real servers may reply straight to the client, so the
// director sees one direction only, which conntrack takes for invalid (the skb loses its ct and
// ct mark). Their flows live in a per-dest dynamic set (client addr . port . VIP . port) instead,
// like IPVS's connection table, and a packet's mark comes from that set, never from conntrack:
//   dr_raw   (-300) notrack: VIP services by VIP/port; fwmark services by the operator's mark
//            when it is set before -300, and by the flow (set `fwf4`/`fwf6`) otherwise, so only
//            the first packet of a fwmark flow is tracked (with a 1 s ct timeout, `drct*`)
//   pre      (-140) a DR VIP packet, a packet carrying a fwmark DR service's mark (the operator
//            marks at mangle, -150, at the latest) or a known fwmark flow: a flow found in a
//            dest's `drf_<mark>` set gets that dest's mark; else a lone TCP SYN (or any UDP) is
//            queued to lvsd, else dropped (nosyn). IPVS too finds a connection by its tuple
//            first and looks at the mark only for a new one (ip_vs_in).
//            ICMP errors (IPv4 unreachable, source quench, time exceeded; ICMPv6 errors) whose
//            embedded packet is a reply of a DR flow (VIP:vport -> client:cport) go to the dest
//            owning the flow, as IPVS's ip_vs_in_icmp does; the lookup uses `dri_<mark>`, the
//            same flows keyed by raw header fields (nft 1.0.6 cannot compare raw payload with a
//            typed key). Others addressed to a VIP are dropped unless conntrack relates them to
//            a NAT/FULLNAT flow (it rewrites those), counted `icmpunknown`.
//   dr_track (-130) by mark, the dest's chain `drt_<mark>` refreshes the flow's elements with the
//            timeout of IPVS's input-only TCP state (SYN 60 s, ESTABLISHED 900 s, FIN 120 s,
//            RST 10 s; UDP 300 s) and counts its packets; `dre_`/`drc_` sets remember
//            "established" and "closing", `dru_` UDP flows of fwmark services, for lvsd's state
//            view. An untracked DR packet without a mark (lvsd dead, fail-open) is dropped:
//            forwarding it unscheduled would loop it back to the router that sent it.
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
  /** DR dest: carried by its own flow set without conntrack. */
  flowSet?: boolean;
  /** DR dest of a fwmark service: its flows are also notracked by tuple (set fwf4/fwf6). */
  fwmark?: boolean;
}

export interface RulesetInput {
  /** VIP services: family, address, protocol, port. */
  vipServices: { family: Family; vip: string; proto: 'tcp' | 'udp'; vport: number; dr?: boolean }[];
  /** Marks of fwmark services carried by conntrack (NAT, FULLNAT). */
  fwmarks: number[];
  /** Marks of fwmark DR services, per family (carried by flow sets). */
  drFwmarks?: { family: Family; fwmark: number }[];
  dests: MarkedDest[];
  /** Flow-set dests programmed before and gone now without flows: their sets/chain go. */
  staleFlowSets?: { mark: number; family: Family }[];
}

/** The flow key of a DR packet, per family (4 fields: the limit of nft 1.0.6's dynset). */
const flowKey = (f: Family): string => (f === 4 ? 'ip saddr . th sport . ip daddr . th dport' : 'ip6 saddr . th sport . ip6 daddr . th dport');
const flowKeyType = (f: Family): string => (f === 4 ? 'ipv4_addr . inet_service . ipv4_addr . inet_service' : 'ipv6_addr . inet_service . ipv6_addr . inet_service');
/**
 * The same key as raw header fields, for `dri_` sets: from a packet of the flow (client addr .
 * port . VIP . port; IPv4 without options, IPv6 without extension headers) and from an ICMP
 * error quoting a reply of the flow (inner daddr . dport . saddr . sport, at fixed offsets after
 * the 8-byte ICMP header). Raw on both sides: nft 1.0.6 refuses a raw/typed mix.
 */
const rawFlowKey = (f: Family): string => (f === 4 ? '@nh,96,32 . @nh,160,16 . @nh,128,32 . @nh,176,16' : '@nh,64,128 . @nh,320,16 . @nh,192,128 . @nh,336,16');
const icmpInnerKey = (f: Family): string => (f === 4 ? '@th,192,32 . @th,240,16 . @th,160,32 . @th,224,16' : '@th,256,128 . @th,400,16 . @th,128,128 . @th,384,16');
/** The embedded header is one the raw offsets above can read: v4 without options, not a later fragment; v6 with TCP/UDP next. */
const icmpInnerOk = (f: Family): string => (f === 4 ? '@th,64,8 0x45 @th,115,13 0 @th,136,8 { 6, 17 }' : '@th,64,4 6 @th,112,8 { 6, 17 }');
/** IPVS's ip_vs_in_icmp types (v4); ip_vs_in_icmp_v6 takes every ICMPv6 error (type < 128). */
const ICMP_ERRORS: Record<Family, string> = {
  4: 'icmp type { destination-unreachable, source-quench, time-exceeded }',
  6: 'icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem }',
};
/** Per-dest flow set names: flows, seen established, seen closing (FIN/RST), UDP (fwmark dests). */
export const flowSetName = (kind: 'drf' | 'dre' | 'drc' | 'dru' | 'dri', mark: number): string => `${kind}_${(mark >>> 0).toString(16)}`;
const TYPED_KINDS = ['drf', 'dre', 'drc', 'dru'] as const;
const trackChain = (mark: number): string => `drt_${(mark >>> 0).toString(16)}`;
/** IPVS's TCP timeouts (s) of the input-only states, and UDP's. */
export const DR_TIMEOUTS = { synRecv: 60, established: 900, finWait: 120, close: 10, udp: 300 } as const;
/** Flows per DR dest; beyond it the kernel adds no element and the packet is dropped as `unscheduled`. */
export const DR_FLOWS_PER_DEST = 1048576;
/** Flows of all fwmark DR dests together (the notrack-by-tuple sets). */
export const DR_FWMARK_FLOWS = 4 * DR_FLOWS_PER_DEST;
/** Conntrack timeout (s) of the one tracked packet of a fwmark DR flow (its entry is never used). */
export const DR_FWMARK_CT_TIMEOUT = 1;

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
  ['set fwmdr4', 'type mark;'],
  ['set fwmdr6', 'type mark;'],
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
export const COUNTERS = ['fragments', 'nosyn', 'queued', 'unknown', 'unscheduled', 'icmpdr', 'icmpunknown'] as const;
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

/** ct timeout objects for the first packet of a fwmark DR flow, per family and protocol. */
const CT_TIMEOUTS: [string, string][] = [
  ['drct4tcp', `protocol tcp; l3proto ip; policy = { syn_sent: ${DR_FWMARK_CT_TIMEOUT} };`],
  ['drct4udp', `protocol udp; l3proto ip; policy = { unreplied: ${DR_FWMARK_CT_TIMEOUT} };`],
  ['drct6tcp', `protocol tcp; l3proto ip6; policy = { syn_sent: ${DR_FWMARK_CT_TIMEOUT} };`],
  ['drct6udp', `protocol udp; l3proto ip6; policy = { unreplied: ${DR_FWMARK_CT_TIMEOUT} };`],
];

export function renderRuleset(input: RulesetInput): string {
  const t = `inet ${TABLE}`;
  const out: string[] = [`add table ${t}`, `add chain ${t} nfqueue`];
  for (const [kind, spec] of SETS) out.push(`add ${setKind(kind)} ${t} ${setName(kind)} { ${spec} }`);
  for (const c of COUNTERS) out.push(`add counter ${t} ${c}`);
  for (const [name, spec] of BASE_CHAINS) out.push(`add chain ${t} ${name} { ${spec} }`);
  const flowDests = input.dests.filter((d) => d.method === 'dr' && d.flowSet);
  const drFwmarks = input.drFwmarks ?? [];
  // Hooks cost every packet: the DR base chains exist only while a DR service does.
  const hasDrVip = input.vipServices.some((s) => s.dr);
  const hasFwDr = drFwmarks.length > 0 || flowDests.some((d) => d.fwmark);
  const hasDr = hasDrVip || hasFwDr || flowDests.length > 0;
  const regular = ['new_flow', 'dr_in4', 'dr_in6', 'dr_icmp4', 'dr_icmp6', ...flowDests.map((d) => trackChain(d.mark))];
  for (const c of regular) out.push(`add chain ${t} ${c}`);
  for (const d of flowDests) {
    for (const kind of TYPED_KINDS) {
      out.push(`add set ${t} ${flowSetName(kind, d.mark)} { type ${flowKeyType(d.family)}; flags dynamic,timeout; size ${DR_FLOWS_PER_DEST}; }`);
    }
    out.push(`add set ${t} ${flowSetName('dri', d.mark)} { typeof ${icmpInnerKey(d.family)}; flags dynamic,timeout; size ${DR_FLOWS_PER_DEST}; }`);
  }
  if (hasFwDr) {
    for (const f of [4, 6] as const) out.push(`add set ${t} fwf${f} { type ${flowKeyType(f)}; flags dynamic,timeout; size ${DR_FWMARK_FLOWS}; }`);
    for (const [name, spec] of CT_TIMEOUTS) out.push(`add ct timeout ${t} ${name} { ${spec} }`);
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
  for (const f of [4, 6] as const) for (const m of new Set(drFwmarks.filter((x) => x.family === f).map((x) => x.fwmark))) add(`fwmdr${f}`, hex(m));
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
  const ipOf = (f: Family): string => (f === 4 ? 'ip' : 'ip6');
  const nfproto = (f: Family): string => `meta nfproto ipv${f}`;
  r('raw_pre', 'ip frag-off & 0x3fff != 0 ip daddr @vip4 counter name fragments');
  r('raw_pre', 'exthdr frag exists ip6 daddr @vip6 counter name fragments');
  if (hasDrVip) {
    r('dr_raw', 'ip daddr . meta l4proto . th dport @drsvc4 notrack');
    r('dr_raw', 'ip6 daddr . meta l4proto . th dport @drsvc6 notrack');
  }
  if (hasFwDr) {
    for (const f of [4, 6] as const) {
      // The operator marked before -300 (recommended): no packet of the flow is ever tracked.
      r('dr_raw', `${nfproto(f)} meta mark @fwmdr${f} notrack`);
      // Marked later (mangle): only the first packet is tracked; the flow's others are not.
      r('dr_raw', `${nfproto(f)} meta l4proto { tcp, udp } ${flowKey(f)} @fwf${f} notrack`);
    }
  }
  if (flowDests.length > 0) {
    // ICMP errors are rare: looking them up costs nothing on the data path.
    r('pre', `meta l4proto icmp ${ICMP_ERRORS[4]} jump dr_icmp4`);
    r('pre', `meta l4proto ipv6-icmp ${ICMP_ERRORS[6]} jump dr_icmp6`);
  }
  if (hasDrVip) {
    r('pre', 'ct state untracked ip daddr . meta l4proto . th dport @drsvc4 goto dr_in4');
    r('pre', 'ct state untracked ip6 daddr . meta l4proto . th dport @drsvc6 goto dr_in6');
  }
  if (hasFwDr) {
    for (const f of [4, 6] as const) {
      for (const p of ['tcp', 'udp']) r('pre', `${nfproto(f)} meta l4proto ${p} meta mark @fwmdr${f} ct state new ct timeout set "drct${f}${p}"`);
      r('pre', `${nfproto(f)} meta l4proto { tcp, udp } meta mark @fwmdr${f} goto dr_in${f}`);
      // A known flow whose packet the operator's rule did not mark (IPVS finds it by tuple too).
      r('pre', `ct state untracked ${nfproto(f)} meta l4proto { tcp, udp } ${flowKey(f)} @fwf${f} goto dr_in${f}`);
    }
  }
  for (const f of [4, 6] as const) {
    const k = flowKey(f);
    const fam = flowDests.filter((x) => x.family === f);
    for (const d of fam) r(`dr_in${f}`, `${k} @${flowSetName('drf', d.mark)} meta mark set ${hex(d.mark)} accept`);
    r(`dr_in${f}`, 'tcp flags & (fin | syn | rst | ack) != syn counter name nosyn drop');
    r(`dr_in${f}`, 'counter name queued jump nfqueue');
    for (const d of fam) {
      r(`dr_icmp${f}`, `${ICMP_ERRORS[f]} ${icmpInnerOk(f)} ${icmpInnerKey(f)} @${flowSetName('dri', d.mark)} meta mark set ${hex(d.mark)} counter name icmpdr accept`);
    }
    // Conntrack rewrites errors about NAT/FULLNAT flows (RELATED); any other one to a VIP would
    // be routed back where it came from.
    r(`dr_icmp${f}`, `${ipOf(f)} daddr @vip${f} ct state != related counter name icmpunknown drop`);
    if (!hasDr) continue;
    r('dr_track', `${nfproto(f)} meta l4proto { tcp, udp } meta mark vmap @drtrack`);
    r('dr_track', `ct state untracked ${ipOf(f)} daddr . meta l4proto . th dport @drsvc${f} counter name unscheduled drop`);
    r('dr_track', `${nfproto(f)} meta l4proto { tcp, udp } meta mark @fwmdr${f} counter name unscheduled drop`);
  }
  for (const d of flowDests) {
    const k = flowKey(d.family);
    const c = trackChain(d.mark);
    const [f, e, cl, u, i] = (['drf', 'dre', 'drc', 'dru', 'dri'] as const).map((kind) => flowSetName(kind, d.mark));
    const T = DR_TIMEOUTS;
    // Every refresh of the flow refreshes its ICMP key (and its notrack key for fwmark dests)
    // with the same timeout, so the three expire together.
    const flow = (s: number): string =>
      `update @${f} { ${k} timeout ${s}s counter } update @${i} { ${rawFlowKey(d.family)} timeout ${s}s }` +
      (d.fwmark ? ` update @fwf${d.family} { ${k} timeout ${s}s }` : '');
    r(c, `meta l4proto udp ${flow(T.udp)}${d.fwmark ? ` update @${u} { ${k} timeout ${T.udp}s }` : ''} accept`);
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
  // Established flows need nothing more here (saves the rules below on every packet).
  r('pre', 'ct state established accept');
  r('pre', 'ct state new ip daddr . meta l4proto . th dport @svc4 goto new_flow');
  r('pre', 'ct state new ip6 daddr . meta l4proto . th dport @svc6 goto new_flow');
  r('pre', 'ct state new meta l4proto { tcp, udp } meta mark @fwm goto new_flow');
  r('pre', 'ct state new ip daddr @vip4 counter name unknown');
  r('pre', 'ct state new ip6 daddr @vip6 counter name unknown');
  r('new_flow', 'tcp flags & (fin | syn | rst | ack) != syn counter name nosyn drop');
  r('new_flow', 'counter name queued jump nfqueue');
  // The tracked first packet of a fwmark DR flow: its ct entry must not look like lvsd's flow.
  r('nat_pre', 'meta mark @drmarks accept');
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
  if (!hasDr) for (const c of ['dr_raw', 'dr_track']) out.push(`delete chain ${t} ${c}`);
  // Gone dests: nothing refers to their chain or sets any more (flushed and refilled above).
  for (const g of input.staleFlowSets ?? []) {
    out.push(`delete chain ${t} ${trackChain(g.mark)}`);
    for (const kind of [...TYPED_KINDS, 'dri'] as const) out.push(`delete set ${t} ${flowSetName(kind, g.mark)}`);
  }
  return `${out.join('\n')}\n`;
}

export function renderDelete(): string {
  return `delete table inet ${TABLE}\n`;
}
