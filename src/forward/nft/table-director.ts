// Adapts lvsd's virtual server table (src/ipvs) to the engine's NftDirector seam: picks go
// through the table's scheduler and persistence templates, conntrack states update the table's
// connections (and so its active/inactive counters), and conntrack's byte counters become the
// table's traffic counters. Pure apart from the injected clock.

import type { Conn, IpvsTable, Service } from '../../ipvs/index.js';
import type { ConnState } from '../../ipvs/index.js';
import type { ConnStateEvent, ConnStats, FlowCounters, FlowKey, FlowSample, NftDirector, NftService, PickResult } from './types.js';

const flowKey = (proto: string, caddr: string, cport: number, vaddr: string, vport: number): string =>
  `${proto}|${caddr}|${cport}|${vaddr}|${vport}`;

/** Conntrack's TCP state names onto the table's (IPVS) names. */
export function tableState(proto: string, ctState: string): ConnState {
  if (proto !== 'tcp') return 'UDP';
  switch (ctState) {
    case 'SYN_SENT':
    case 'SYN_SENT2':
      return 'SYN_RECV';
    case 'SYN_RECV':
    case 'ESTABLISHED':
    case 'FIN_WAIT':
    case 'CLOSE_WAIT':
    case 'LAST_ACK':
    case 'TIME_WAIT':
    case 'CLOSE':
      return ctState;
    default:
      return 'NONE';
  }
}

/** A connection a new SYN may replace (IPVS conn_reuse_mode 1: TIME_WAIT and CLOSE). */
const isClosed = (c: Conn): boolean => c.state === 'TIME_WAIT' || c.state === 'CLOSE';

interface Tracked {
  conn: Conn;
  /** When lvsd picked it (a dump may not show a flow conntrack has not confirmed yet). */
  pickedAt: number;
  /** Counters already folded into the table. */
  seen: { inPkts: number; inBytes: number; outPkts: number; outBytes: number };
}

/** A flow missing from a conntrack dump this long after its pick is gone (its DESTROY was lost). */
const MISSING_GRACE_MS = 5000;

export class TableDirector implements NftDirector {
  private readonly conns = new Map<string, Tracked>();
  private lastStats: readonly ConnStats[] = [];

  constructor(private readonly table: IpvsTable, private readonly nowMs: () => number) {}

  pickFor(flow: FlowKey, nowMs: number): PickResult {
    const svc = this.serviceFor(flow);
    if (!svc) return { kind: 'no-dest', reason: 'unknown service' };
    const key = flowKey(flow.proto, flow.saddr, flow.sport, flow.daddr, flow.dport);
    const old = this.conns.get(key);
    // The same connection queued again (a SYN retransmitted while its first copy waited in the
    // queue, or after a lost verdict) keeps its real server, as IPVS's ip_vs_in does when
    // is_new_conn_expected() says no: only a closed one (TIME_WAIT, CLOSE) is scheduled anew.
    if (old && old.conn.service === svc && !old.conn.dest.removed && !isClosed(old.conn)) {
      return { kind: 'dest', serviceId: svc.keyText, destId: old.conn.dest.id, addr: old.conn.dest.addr, port: old.conn.dest.port };
    }
    const r = this.table.schedule(svc, { clientAddr: flow.saddr, clientPort: flow.sport, vaddr: flow.daddr, vport: flow.dport }, nowMs);
    if (!r.ok) return { kind: 'no-dest', reason: r.message };
    // A reused tuple (a closed flow lvsd still tracks, queued again as new): the old entry ends here.
    if (old) this.table.drop(old.conn);
    this.conns.set(key, { conn: r.conn, pickedAt: nowMs, seen: { inPkts: 0, inBytes: 0, outPkts: 0, outBytes: 0 } });
    return { kind: 'dest', serviceId: svc.keyText, destId: r.dest.id, addr: r.dest.addr, port: r.dest.port };
  }

  onConnState(ev: ConnStateEvent): void {
    const key = flowKey(ev.proto, ev.client.addr, ev.client.port, ev.vip.addr, ev.vip.port);
    const t = this.conns.get(key);
    if (!t) return;
    if (ev.counters) this.fold(t, ev.counters);
    if (ev.event === 'destroy') {
      this.table.drop(t.conn);
      this.conns.delete(key);
      return;
    }
    // A TCP event without a state (a status change only) changes nothing the table shows.
    if (ev.proto === 'tcp' && ev.state === '') this.table.touch(t.conn, this.nowMs());
    else this.table.setState(t.conn, tableState(ev.proto, ev.state), this.nowMs());
  }

  onConnStats(stats: readonly ConnStats[]): void {
    this.lastStats = stats;
  }

  /**
   * A full conntrack dump of lvsd's flows: folds their byte/packet growth into the table's
   * counters, re-arms their table timers (conntrack, not the table, decides when a flow ends),
   * corrects states whose events were lost, and drops flows conntrack no longer has.
   */
  syncFlows(flows: readonly FlowSample[], nowMs: number): void {
    const present = new Set<string>();
    for (const f of flows) {
      const key = flowKey(f.proto, f.client.addr, f.client.port, f.vip.addr, f.vip.port);
      const t = this.conns.get(key);
      if (!t) continue;
      present.add(key);
      this.fold(t, f.counters);
      const state = tableState(f.proto, f.state);
      if (state !== t.conn.state) this.table.setState(t.conn, state, nowMs);
      else this.table.touch(t.conn, nowMs);
    }
    for (const [key, t] of this.conns) {
      if (present.has(key) || nowMs - t.pickedAt < MISSING_GRACE_MS) continue;
      this.table.drop(t.conn);
      this.conns.delete(key);
    }
  }

  /** Flows lvsd scheduled and still tracks. */
  get trackedFlows(): number {
    return this.conns.size;
  }

  /** Latest per-dest conntrack totals (bytes/packets of live flows). */
  stats(): readonly ConnStats[] {
    return this.lastStats;
  }

  /** Adds what the flow's cumulative counters grew by since last seen (never negative). */
  private fold(t: Tracked, c: FlowCounters): void {
    const s = t.seen;
    const d = [c.inPkts - s.inPkts, c.inBytes - s.inBytes, c.outPkts - s.outPkts, c.outBytes - s.outBytes].map((x) => Math.max(0, x));
    if (d.every((x) => x === 0)) return;
    this.table.traffic(t.conn, d[0], d[1], d[2], d[3]);
    t.seen = { inPkts: Math.max(s.inPkts, c.inPkts), inBytes: Math.max(s.inBytes, c.inBytes), outPkts: Math.max(s.outPkts, c.outPkts), outBytes: Math.max(s.outBytes, c.outBytes) };
  }

  private serviceFor(flow: FlowKey): Service | undefined {
    if (flow.mark !== 0) {
      const byMark = this.table.findService({ kind: 'fwmark', fwmark: flow.mark, family: flow.family });
      if (byMark) return byMark;
    }
    return this.table.lookupService(flow.proto, flow.daddr, flow.dport);
  }
}

/**
 * The engine's service list from the table: every service with its live and draining dests
 * (trash), each dest's method from the table (one method per service: the first dest's).
 */
export function servicesFromTable(
  table: IpvsTable,
  opts: { snatAddr?: (svc: Service) => string | undefined; include?: (svc: Service) => boolean } = {},
): NftService[] {
  const out: NftService[] = [];
  for (const svc of table.services) {
    if (opts.include && !opts.include(svc)) continue;
    const dests = [...svc.dests, ...svc.trash.values(), ...(svc.sorry ? [svc.sorry] : [])];
    const method = (dests[0]?.method ?? 'NAT').toLowerCase() as NftService['method'];
    const base = { id: svc.keyText, family: svc.family, method, snatAddr: opts.snatAddr?.(svc), dests: dests.map((d) => ({ id: d.id, addr: d.addr, port: d.port })) };
    if (svc.key.kind === 'fwmark') {
      out.push({ ...base, proto: 'tcp', fwmark: svc.key.fwmark });
    } else {
      const proto = svc.key.protocol === 'udp' ? 'udp' : 'tcp';
      out.push({ ...base, proto, vip: svc.key.addr, vport: svc.key.port });
    }
  }
  return out;
}
