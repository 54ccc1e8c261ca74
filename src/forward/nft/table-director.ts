// Adapts lvsd's virtual server table (src/ipvs) to the engine's NftDirector seam: picks go
// through the table's scheduler and persistence templates, conntrack states update the table's
// connections (and so its active/inactive counters), and conntrack's byte counters become the
// table's traffic counters. Pure apart from the injected clock.

import type { Conn, IpvsTable, Service } from '../../ipvs/index.js';
import type { ConnState } from '../../ipvs/index.js';
import type { ConnStateEvent, ConnStats, FlowKey, NftDirector, NftService, PickResult } from './types.js';

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

export class TableDirector implements NftDirector {
  private readonly conns = new Map<string, Conn>();
  private lastStats: readonly ConnStats[] = [];

  constructor(private readonly table: IpvsTable, private readonly nowMs: () => number) {}

  pickFor(flow: FlowKey, nowMs: number): PickResult {
    const svc = this.serviceFor(flow);
    if (!svc) return { kind: 'no-dest', reason: 'unknown service' };
    const r = this.table.schedule(svc, { clientAddr: flow.saddr, clientPort: flow.sport, vaddr: flow.daddr, vport: flow.dport }, nowMs);
    if (!r.ok) return { kind: 'no-dest', reason: r.message };
    this.conns.set(flowKey(flow.proto, flow.saddr, flow.sport, flow.daddr, flow.dport), r.conn);
    return { kind: 'dest', serviceId: svc.keyText, destId: r.dest.id };
  }

  onConnState(ev: ConnStateEvent): void {
    const key = flowKey(ev.proto, ev.client.addr, ev.client.port, ev.vip.addr, ev.vip.port);
    const conn = this.conns.get(key);
    if (!conn) return;
    if (ev.event === 'destroy') {
      this.table.drop(conn);
      this.conns.delete(key);
      return;
    }
    this.table.setState(conn, tableState(ev.proto, ev.state), this.nowMs());
  }

  onConnStats(stats: readonly ConnStats[]): void {
    this.lastStats = stats;
  }

  /** Latest per-dest conntrack totals (bytes/packets of live flows). */
  stats(): readonly ConnStats[] {
    return this.lastStats;
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
export function servicesFromTable(table: IpvsTable, opts: { snatAddr?: (svc: Service) => string | undefined } = {}): NftService[] {
  const out: NftService[] = [];
  for (const svc of table.services) {
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
