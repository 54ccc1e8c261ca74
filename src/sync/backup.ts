// The backup's side of connection sync, pure: installs announced entries into the table as
// ip_vs_proc_conn does. A connection is found by its tuple (protocol, client, virtual address);
// a template by its service and (masked) client address.
// - new entry: bound to the dest the master named (found by address and port in the service the
//   entry names: by fwmark, else protocol + virtual address + port, else the port-0 service);
//   the kernel also keeps entries whose dest it cannot find (unbound); the table cannot, so
//   those are counted (`noService`, `noDest`) and dropped;
// - known connection, same dest: new state and timer; known connection, other dest: an active
//   announcement replaces it, an INACTIVE one is the late expiry of the replaced entry and is
//   ignored (kernel); a known template to another dest is replaced (the kernel keeps the old
//   binding until it expires; the master has moved on, so we follow it);
// - timeout: as announced (seconds); 0 means the protocol's timeout for the state, 3 minutes for
//   a template (version 0 senders).
import { stateTimeoutMs, type Conn, type IpvsTable, type Service } from '../ipvs/index.js';
import { CONN_F, type SyncConn } from './codec.js';
import { findDest, protocolOf, stateOf } from './entry.js';

export interface Installed {
  conn: Conn;
  entry: SyncConn;
  /** true when the entry was new to the table */
  created: boolean;
}

export interface InstallCounters {
  installed: number;
  updated: number;
  noService: number;
  noDest: number;
  ignored: number;
}

const TEMPLATE_DEFAULT_MS = 3 * 60 * 1000;

export class SyncInstaller {
  private readonly byKey = new Map<string, Conn>();
  readonly counters: InstallCounters = { installed: 0, updated: 0, noService: 0, noDest: 0, ignored: 0 };

  constructor(private readonly table: IpvsTable) {}

  /** Installs one datagram's entries; returns what changed (for engines that mirror flows). */
  install(entries: readonly SyncConn[], nowMs: number): Installed[] {
    const out: Installed[] = [];
    for (const e of entries) {
      const r = this.one(e, nowMs);
      if (r) out.push(r);
    }
    if (this.byKey.size > 2 * this.table.connectionCount + 1024) this.prune();
    return out;
  }

  private one(e: SyncConn, nowMs: number): Installed | null {
    const protocol = protocolOf(e);
    if (!protocol) return this.count('ignored');
    const template = (e.flags & CONN_F.TEMPLATE) !== 0;
    const svc = this.serviceOf(e, protocol);
    if (!svc) return this.count('noService');
    const dest = findDest([...svc.dests, ...svc.trash.values(), ...(svc.sorry ? [svc.sorry] : [])], e.daddr, e.dport);
    if (!dest) return this.count('noDest');
    const state = stateOf(e, protocol);
    const timeoutMs = e.timeoutS > 0 ? e.timeoutS * 1000
      : template ? TEMPLATE_DEFAULT_MS : stateTimeoutMs(protocol, state, this.table.timeoutSpec);
    const key = template ? `T|${svc.id}|${e.caddr}` : `${protocol}|${e.caddr}|${e.cport}|${e.vaddr}|${e.vport}`;
    let known = this.byKey.get(key);
    if (known && this.table.connection(known.id) !== known) known = undefined;
    if (known && known.dest !== dest) {
      if (!template && e.flags & CONN_F.INACTIVE) return this.count('ignored');
      this.table.drop(known);
      known = undefined;
    }
    if (known) {
      this.table.resynced(known, state, nowMs + timeoutMs);
      this.counters.updated++;
      return { conn: known, entry: e, created: false };
    }
    const conn = this.table.adoptSynced(svc, dest, {
      protocol, clientAddr: e.caddr, clientPort: e.cport, vaddr: e.vaddr, vport: e.vport, state, template,
    }, nowMs + timeoutMs);
    this.byKey.set(key, conn);
    this.counters.installed++;
    return { conn, entry: e, created: true };
  }

  /** Entries installed from sync that the table still has (a new master adopts their flows). */
  live(): Conn[] {
    this.prune();
    return [...this.byKey.values()];
  }

  private serviceOf(e: SyncConn, protocol: 'tcp' | 'udp' | 'sctp'): Service | undefined {
    if (e.fwmark !== 0) {
      const byMark = this.table.findService({ kind: 'fwmark', fwmark: e.fwmark, family: e.family });
      if (byMark) return byMark;
    }
    return this.table.lookupService(protocol, e.vaddr, e.vport);
  }

  private count(what: 'noService' | 'noDest' | 'ignored'): null {
    this.counters[what]++;
    return null;
  }

  /** Forgets keys of entries the table no longer has (expired or dropped). */
  private prune(): void {
    for (const [k, c] of this.byKey) if (this.table.connection(c.id) !== c) this.byKey.delete(k);
  }
}
