// The master's side of connection sync, pure: which table changes are announced (the kernel's
// ip_vs_sync_conn_needed), how they are batched into datagrams (sync buffers of sync_maxlen
// bytes, a full buffer goes at once, a partial one after IPVS_SYNC_FLUSH_TIME = 2 s).
//
// What the kernel does and what we do instead:
// - TCP connections are announced when they enter ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT or
//   TIME_WAIT (never SYN_RECV etc.), and templates whenever a connection they control is. Same.
// - The kernel counts packets: an ESTABLISHED connection (and any UDP flow) is announced at its
//   sync_threshold'th packet (3) and again every sync_period (50) packets. Our engines see
//   state changes and periodic flow dumps, not packets, so an unchanged entry is announced once
//   and again when half of the timeout last announced (at least 10 s) has passed while it was
//   still seen alive: the kernel's sync_refresh_period rule, with the period set to half the
//   timeout. The backup's copy so never expires while the master's lives.
// - One-packet (ops) UDP entries are never announced (IP_VS_CONN_F_ONE_PACKET), as in the kernel.
import type { Conn } from '../ipvs/index.js';
import { entrySize, packMessages, SYNC_HEADER_SIZE, type SyncConn } from './codec.js';
import { syncEntryOf } from './entry.js';

/** IPVS_SYNC_FLUSH_TIME: a partial buffer waits at most this long. */
export const SYNC_FLUSH_MS = 2000;
/** TCP states whose entry the master announces (ip_vs_sync_conn_needed). */
const SYNC_TCP_STATES = new Set(['ESTABLISHED', 'FIN_WAIT', 'CLOSE', 'CLOSE_WAIT', 'TIME_WAIT']);
const MIN_REFRESH_MS = 10_000;

interface Sent {
  state: string;
  atMs: number;
  timeoutMs: number;
}

export interface OutboxOptions {
  syncid: number;
  /** datagram payload limit (sync_maxlen) */
  maxlen: number;
  /** the timeout (ms) the table gives a connection now (IpvsTable.timeoutFor) */
  timeoutOf: (conn: Conn) => number;
  flushMs?: number;
}

export class SyncOutbox {
  private readonly sent = new WeakMap<Conn, Sent>();
  private pending: SyncConn[] = [];
  private pendingBytes = SYNC_HEADER_SIZE;
  private firstUseMs = 0;
  private ready: Buffer[] = [];
  /** entries announced and datagrams built, for counters */
  entries = 0;
  datagrams = 0;

  constructor(private readonly opts: OutboxOptions) {}

  /** A table change (new connection, state change, timer re-armed): announce it if due. */
  offer(conn: Conn, nowMs: number): void {
    if (conn.service.ops && conn.protocol === 'udp') return;
    if (this.due(conn, nowMs)) this.add(conn, nowMs);
    // ip_vs_sync_conn: the controlling template goes along with its connection
    const t = conn.controller;
    if (t && t.template && this.dueTemplate(t, nowMs)) this.add(t, nowMs);
  }

  /** Datagrams to send now: full buffers, and the partial one once it is flushMs old. */
  take(nowMs: number): Buffer[] {
    if (this.pending.length > 0 && nowMs - this.firstUseMs >= (this.opts.flushMs ?? SYNC_FLUSH_MS)) this.seal();
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /** Everything, the partial buffer included. */
  drain(): Buffer[] {
    if (this.pending.length > 0) this.seal();
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private due(conn: Conn, nowMs: number): boolean {
    if (conn.template) return false; // templates travel with their connections
    if (conn.protocol === 'tcp' && !SYNC_TCP_STATES.has(conn.state)) return false;
    const last = this.sent.get(conn);
    if (!last) return true;
    if (last.state !== conn.state) return true;
    return nowMs - last.atMs >= Math.max(last.timeoutMs / 2, MIN_REFRESH_MS);
  }

  private dueTemplate(t: Conn, nowMs: number): boolean {
    const last = this.sent.get(t);
    return !last || nowMs - last.atMs >= Math.max(last.timeoutMs / 2, MIN_REFRESH_MS);
  }

  private add(conn: Conn, nowMs: number): void {
    const timeoutMs = conn.template ? (conn.service.persistence?.timeoutS ?? 0) * 1000 : this.opts.timeoutOf(conn);
    const e = syncEntryOf(conn, timeoutMs);
    if (!e) return;
    this.sent.set(conn, { state: conn.state, atMs: nowMs, timeoutMs });
    const size = entrySize(e);
    const next = ((this.pendingBytes + 3) & ~3) + size;
    if (this.pending.length > 0 && (next > this.opts.maxlen || this.pending.length === 255)) this.seal();
    if (this.pending.length === 0) this.firstUseMs = nowMs;
    this.pendingBytes = ((this.pendingBytes + 3) & ~3) + size;
    this.pending.push(e);
    this.entries++;
  }

  private seal(): void {
    const msgs = packMessages(this.opts.syncid, this.pending, this.opts.maxlen);
    this.ready.push(...msgs);
    this.datagrams += msgs.length;
    this.pending = [];
    this.pendingBytes = SYNC_HEADER_SIZE;
  }
}
