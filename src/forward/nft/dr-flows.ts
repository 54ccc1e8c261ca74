// Reads the DR flow sets (see ruleset.ts) out of `nft -j list table inet lvsd`. Pure.
// Each flow becomes a conntrack-like entry so the engine's consumers (lvsadm -c, --stats, the
// table's states) treat DR flows and conntrack flows alike. What is and is not exact:
// - a flow exists while its drf_ element lives (refreshed by every client packet with the timeout
//   of its IPVS input-only state), so -c lists exactly the flows the kernel forwards;
// - its state is ESTABLISHED once an ACK followed the SYN (dre_), FIN_WAIT after a FIN (TIME_WAIT
//   if the FIN came before any ACK), CLOSE after a RST (drc_), else SYN_RECV; UDP flows are UDP.
//   A lone SYN on a known tuple (a reused client port) starts it over in SYN_RECV.
//   Like IPVS's input-only table (ip_vs_proto_tcp.c), it is what the client's packets say. Not
//   exact: a CLOSE flow's ACKs re-arm 120 s (IPVS keeps 10 s); a RST in SYN_RECV closes it (IPVS
//   keeps SYN_RECV); a SYN in ESTABLISHED goes to SYN_RECV (IPVS stays ESTABLISHED); a flow idle
//   within 10 s of its expiry after a FIN shows CLOSE;
// - packets/bytes count the client's direction only (the replies never cross the director);
// - a fwmark service carries TCP and UDP: its UDP flows are also in `dru_` and shown as UDP.

import type { CtEntry } from './conntrack-line.js';
import { DR_TIMEOUTS } from './ruleset.js';

interface NftElem {
  val?: unknown;
  elem?: { val?: unknown; timeout?: unknown; expires?: unknown; counter?: { packets?: unknown; bytes?: unknown } };
}

const SET_NAME = /^(drf|dre|drc|dru)_([0-9a-f]{1,8})$/;

interface Flow {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  expires: number;
  packets: number;
  bytes: number;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

function flowOf(e: unknown): Flow | null {
  if (typeof e !== 'object' || e === null) return null;
  const el = (e as NftElem).elem ?? { val: (e as NftElem).val };
  const concat = (el.val as { concat?: unknown } | undefined)?.concat;
  if (!Array.isArray(concat) || concat.length !== 4) return null;
  const [src, sport, dst, dport] = concat;
  if (typeof src !== 'string' || typeof dst !== 'string' || typeof sport !== 'number' || typeof dport !== 'number') return null;
  if (!Number.isInteger(sport) || !Number.isInteger(dport) || sport < 0 || sport > 65535 || dport < 0 || dport > 65535) return null;
  return { src, sport, dst, dport, expires: count(el.expires), packets: count(el.counter?.packets), bytes: count(el.counter?.bytes) };
}

const keyOf = (f: Flow): string => `${f.src}|${f.sport}|${f.dst}|${f.dport}`;

/**
 * The DR flows in an `nft -j list table` document. `protoOf(mark)` names the dest's protocol
 * (the flow key has none: each dest belongs to one service); unknown marks are skipped.
 */
export function parseDrFlows(json: string, protoOf: (mark: number) => 'tcp' | 'udp' | undefined): CtEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return [];
  }
  const items = (doc as { nftables?: unknown })?.nftables;
  if (!Array.isArray(items)) return [];
  const sets = new Map<string, Flow[]>();
  for (const it of items) {
    const set = (it as { set?: { name?: unknown; elem?: unknown } } | null)?.set;
    if (!set || typeof set.name !== 'string' || !SET_NAME.test(set.name)) continue;
    const flows: Flow[] = [];
    if (Array.isArray(set.elem)) for (const e of set.elem) { const f = flowOf(e); if (f) flows.push(f); }
    sets.set(set.name, flows);
  }
  const out: CtEntry[] = [];
  for (const [name, flows] of sets) {
    const m = SET_NAME.exec(name)!;
    if (m[1] !== 'drf') continue;
    const mark = parseInt(m[2], 16) >>> 0;
    const serviceProto = protoOf(mark);
    if (!serviceProto) continue;
    const udp = new Set((sets.get(`dru_${m[2]}`) ?? []).map(keyOf));
    const est = new Set((sets.get(`dre_${m[2]}`) ?? []).map(keyOf));
    const closing = new Set((sets.get(`drc_${m[2]}`) ?? []).map(keyOf));
    for (const f of flows) {
      const k = keyOf(f);
      const proto = udp.has(k) ? 'udp' : serviceProto;
      let state = 'UDP';
      if (proto === 'tcp') {
        // IPVS input-only: FIN in ESTABLISHED -> FIN_WAIT, in SYN_RECV -> TIME_WAIT; RST -> CLOSE.
        if (closing.has(k)) state = f.expires <= DR_TIMEOUTS.close ? 'CLOSE' : est.has(k) ? 'FIN_WAIT' : 'TIME_WAIT';
        else if (est.has(k)) state = 'ESTABLISHED';
        else state = 'SYN_RECV';
      }
      out.push({
        event: null,
        family: f.src.includes(':') ? 6 : 4,
        proto,
        timeoutS: f.expires,
        state,
        orig: { src: f.src, dst: f.dst, sport: f.sport, dport: f.dport, packets: f.packets, bytes: f.bytes },
        reply: { src: f.dst, dst: f.src, sport: f.dport, dport: f.sport, packets: 0, bytes: 0 },
        mark,
        id: 0,
      });
    }
  }
  return out;
}
