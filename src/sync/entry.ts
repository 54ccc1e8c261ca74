// Table entries to sync entries and back: protocol numbers, state numbers, forwarding flags, and
// the kernel's way of naming a fwmark service's template (the mark as its virtual address).
// Pure.
import ipaddr from 'ipaddr.js';
import { TCP_STATES, type Conn, type ConnState, type Dest, type ForwardMethod, type Protocol } from '../ipvs/index.js';
import { CONN_F, IPPROTO, type SyncConn } from './codec.js';

const PROTO_NUM: Record<Protocol, number> = { tcp: IPPROTO.TCP, udp: IPPROTO.UDP, sctp: IPPROTO.SCTP };

/** IP_VS_CONN_F_MASQ/TUNNEL/DROUTE; FULLNAT (ours) travels as MASQ, LOCALNODE is the backup's business. */
const FWD: Record<ForwardMethod, number> = { NAT: CONN_F.MASQ, DR: CONN_F.DROUTE, TUN: CONN_F.TUNNEL, FULLNAT: CONN_F.MASQ };

/** A fwmark as the kernel stores it in a template's vaddr (ip_vs_sched_persist: `.ip = htonl(fwmark)`). */
export function fwmarkAddress(fwmark: number, family: 4 | 6): string {
  const b = [(fwmark >>> 24) & 255, (fwmark >>> 16) & 255, (fwmark >>> 8) & 255, fwmark & 255];
  return ipaddr.fromByteArray(family === 4 ? b : [...b, ...new Array<number>(12).fill(0)]).toString();
}

/**
 * The sync entry of a table connection or template with `timeoutMs` as its timeout. Null for
 * what is not synced: SCTP connections (the table has no SCTP state machine to announce).
 */
export function syncEntryOf(conn: Conn, timeoutMs: number): SyncConn | null {
  const svc = conn.service;
  const fw = svc.key.kind === 'fwmark' ? svc.key.fwmark : 0;
  if (!conn.template && conn.protocol === 'sctp') return null;
  let flags = FWD[conn.dest.method];
  if (conn.template) flags |= CONN_F.TEMPLATE;
  else if (conn.inactive) flags |= CONN_F.INACTIVE;
  const tplOfMark = conn.template && fw !== 0;
  const state = conn.template ? 0 : conn.protocol === 'tcp' ? Math.max(0, TCP_STATES.indexOf(conn.state as (typeof TCP_STATES)[number])) : 0;
  return {
    family: svc.family,
    protocol: tplOfMark ? IPPROTO.IP : PROTO_NUM[conn.protocol],
    flags,
    state,
    cport: conn.clientPort,
    vport: conn.vport,
    // a port-0 dest (fwmark service) forwards to the client's destination port
    dport: conn.dest.port === 0 && !conn.template ? conn.vport : conn.dest.port,
    fwmark: fw,
    timeoutS: Math.max(0, Math.round(timeoutMs / 1000)),
    caddr: conn.clientAddr,
    vaddr: tplOfMark ? fwmarkAddress(fw, svc.family) : conn.vaddr,
    daddr: conn.dest.addr,
  };
}

/** The table protocol of a sync entry, or null when the table has none for it. */
export function protocolOf(e: SyncConn): Protocol | null {
  if (e.protocol === IPPROTO.TCP) return 'tcp';
  if (e.protocol === IPPROTO.UDP) return 'udp';
  if (e.protocol === IPPROTO.SCTP) return 'sctp';
  // a fwmark service's template carries IPPROTO_IP; the table keeps those as TCP
  if (e.protocol === IPPROTO.IP && e.flags & CONN_F.TEMPLATE) return 'tcp';
  return null;
}

/** The table state of a sync entry (templates are NONE, UDP and SCTP use the one UDP state). */
export function stateOf(e: SyncConn, protocol: Protocol): ConnState {
  if (e.flags & CONN_F.TEMPLATE) return 'NONE';
  if (protocol === 'tcp') return TCP_STATES[e.state] ?? 'NONE';
  return 'UDP';
}

/** The dest of `candidates` the entry names (exact port first, then a port-0 dest). */
export function findDest(candidates: Iterable<Dest>, addr: string, port: number): Dest | null {
  let any: Dest | null = null;
  for (const d of candidates) {
    if (d.addr !== addr) continue;
    if (d.port === port) return d;
    if (d.port === 0 && any === null) any = d;
  }
  return any;
}
