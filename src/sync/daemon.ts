// The sync daemon shell: a master that multicasts the table's changes and a backup that joins the
// group and installs what it hears, each started and stopped on its own as the kernel's sync
// threads are (ipvsadm --start-daemon/--stop-daemon, keepalived lvs_sync_daemon). Owns the UDP
// sockets and the flush timer; the decisions are in master.ts / backup.ts / codec.ts.
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Conn, IpvsTable } from '../ipvs/index.js';
import { SyncInstaller, type Installed, type InstallCounters } from './backup.js';
import { decodeMessage, DEFAULT_SYNC_GROUP4, DEFAULT_SYNC_PORT } from './codec.js';
import { SyncDaemonError } from './errors.js';
import { SyncOutbox } from './master.js';

export type SyncRole = 'master' | 'backup';

/** What ipvsadm/keepalived give: interface, syncid and the optional multicast details. */
export interface SyncDaemonConfig {
  role: SyncRole;
  /** mcast interface name */
  ifname: string;
  /** 0..255; a backup with 0 accepts every syncid */
  syncid: number;
  /** sync_maxlen; 0/absent = from the MTU (master 1500, backup the link's) less IP+UDP headers */
  maxlen?: number;
  /** IPv4 or IPv6 multicast group; default 224.0.0.81 */
  group?: string;
  /** default 8848 */
  port?: number;
  /** default 1 */
  ttl?: number;
}

/** A running daemon as -L --daemon shows it (the kernel fills in its defaults). */
export interface SyncDaemonView {
  role: SyncRole;
  ifname: string;
  syncid: number;
  maxlen: number;
  group: string;
  port: number;
  ttl: number;
}

export interface SyncCounters {
  sent: number;
  sendErrors: number;
  entriesSent: number;
  received: number;
  dropped: number;
  /** the last reason a received datagram was dropped */
  lastDrop: string | null;
  install: InstallCounters;
}

export interface SyncDaemonDeps {
  table: IpvsTable;
  /** the table's clock (ms) */
  now: () => number;
  /** entries the backup installed or updated (engines that mirror flows hook in here) */
  onInstalled?: (items: Installed[]) => void;
  /** one line per notable event; default silent */
  log?: (level: 'info' | 'warn', fields: Record<string, unknown>, msg: string) => void;
  /** how often the master looks for buffers to send (ms); default 100 */
  tickMs?: number;
}

interface Running {
  view: SyncDaemonView;
  socket: dgram.Socket;
  timer: NodeJS.Timeout | null;
  outbox: SyncOutbox | null;
}

const UDP_HEADERS = { 4: 20 + 8, 6: 40 + 8 } as const;

export class SyncDaemon {
  private readonly running = new Map<SyncRole, Running>();
  private readonly installer: SyncInstaller;
  private readonly stats = { sent: 0, sendErrors: 0, received: 0, dropped: 0, lastDrop: null as string | null };

  constructor(private readonly deps: SyncDaemonDeps) {
    this.installer = new SyncInstaller(deps.table);
  }

  /** Starts one role; SyncDaemonError EEXIST/ENODEV/EINVAL/EADDRNOTAVAIL/ESOCKET as the kernel refuses. */
  async start(cfg: SyncDaemonConfig): Promise<void> {
    if (this.running.has(cfg.role)) throw new SyncDaemonError('EEXIST', `${cfg.role} sync daemon runs already`);
    const view = resolveConfig(cfg);
    const family = view.group.includes(':') ? 6 : 4;
    const local = interfaceAddress(view.ifname, family);
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: true });
    socket.on('error', (err) => this.deps.log?.('warn', { role: cfg.role, err: err.message }, 'sync socket error'));
    try {
      if (cfg.role === 'master') await this.openMaster(socket, view, local, family);
      else await this.openBackup(socket, view, local, family);
    } catch (err) {
      socket.close();
      if (err instanceof SyncDaemonError) throw err;
      throw new SyncDaemonError('ESOCKET', (err as Error).message);
    }
    const run: Running = { view, socket, timer: null, outbox: null };
    if (cfg.role === 'master') {
      const outbox = new SyncOutbox({ syncid: view.syncid, maxlen: view.maxlen, timeoutOf: (c) => this.deps.table.timeoutFor(c) });
      run.outbox = outbox;
      this.deps.table.syncObserver = (conn, nowMs) => outbox.offer(conn, nowMs);
      run.timer = setInterval(() => this.flush(run, false), this.deps.tickMs ?? 100);
      run.timer.unref();
    }
    this.running.set(cfg.role, run);
    this.deps.log?.('info', { ...view }, `sync daemon started: state = ${cfg.role.toUpperCase()}`);
  }

  /** Stops one role; SyncDaemonError ESRCH when it does not run. Queued datagrams are dropped (kernel). */
  async stop(role: SyncRole): Promise<void> {
    const run = this.running.get(role);
    if (!run) throw new SyncDaemonError('ESRCH', `no ${role} sync daemon`);
    this.running.delete(role);
    if (run.timer) clearInterval(run.timer);
    if (role === 'master') this.deps.table.syncObserver = null;
    await new Promise<void>((resolve) => run.socket.close(() => resolve()));
    this.deps.log?.('info', { role }, `sync daemon stopped: state = ${role.toUpperCase()}`);
  }

  /** Stops whatever runs (daemon shutdown). */
  async stopAll(): Promise<void> {
    for (const role of [...this.running.keys()]) await this.stop(role);
  }

  /** keepalived's ipvs_syncd_master/backup: stop the other role (if running), start this one. */
  async switchTo(cfg: SyncDaemonConfig): Promise<void> {
    const other: SyncRole = cfg.role === 'master' ? 'backup' : 'master';
    if (this.running.has(other)) await this.stop(other);
    if (!this.running.has(cfg.role)) await this.start(cfg);
  }

  /** Running daemons, master first (ipvsadm's order). */
  views(): SyncDaemonView[] {
    return (['master', 'backup'] as const).flatMap((r) => (this.running.has(r) ? [{ ...this.running.get(r)!.view }] : []));
  }

  /** Connections and templates installed from sync and still in the table. */
  syncedConnections(): Conn[] {
    return this.installer.live();
  }

  isRunning(role: SyncRole): boolean {
    return this.running.has(role);
  }

  counters(): SyncCounters {
    const ob = this.running.get('master')?.outbox;
    return { ...this.stats, entriesSent: ob?.entries ?? 0, install: { ...this.installer.counters } };
  }

  /** Sends whatever the master has queued now, the partial buffer included (tests, shutdown). */
  flushNow(): void {
    const run = this.running.get('master');
    if (run) this.flush(run, true);
  }

  private flush(run: Running, all: boolean): void {
    if (!run.outbox) return;
    const msgs = all ? run.outbox.drain() : run.outbox.take(this.deps.now());
    for (const m of msgs) {
      run.socket.send(m, (err) => {
        if (err) this.stats.sendErrors++;
        else this.stats.sent++;
      });
    }
  }

  private async openMaster(socket: dgram.Socket, v: SyncDaemonView, local: string, family: 4 | 6): Promise<void> {
    // make_send_sock: bound to the interface's address, multicast out of it, no loopback, TTL
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: family === 4 ? local : '::', port: 0 }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.setMulticastInterface(family === 4 ? local : `::%${v.ifname}`);
    socket.setMulticastLoopback(false);
    socket.setMulticastTTL(v.ttl);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(v.port, family === 4 ? v.group : `${v.group}%${v.ifname}`, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  }

  private async openBackup(socket: dgram.Socket, v: SyncDaemonView, local: string, family: 4 | 6): Promise<void> {
    // make_receive_sock: bound to the group and port, joined on the interface
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // an IPv6 group is bound with the interface as its scope (link-local groups need it)
      socket.bind({ address: family === 4 ? v.group : `${v.group}%${v.ifname}`, port: v.port, exclusive: false }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.addMembership(v.group, family === 4 ? local : `::%${v.ifname}`);
    socket.on('message', (msg) => this.receive(msg, v));
  }

  private receive(msg: Buffer, v: SyncDaemonView): void {
    this.stats.received++;
    // the kernel reads at most sync_maxlen bytes: a longer datagram arrives cut and fails its size check
    if (msg.length > v.maxlen) return this.drop(`datagram of ${msg.length} bytes > maxlen ${v.maxlen}`);
    const r = decodeMessage(msg, v.syncid);
    if (!r.ok) return this.drop(`${r.error.code}: ${r.error.message}`);
    const done = this.installer.install(r.message.conns, this.deps.now());
    if (done.length > 0) {
      try {
        this.deps.onInstalled?.(done);
      } catch (err) {
        this.deps.log?.('warn', { err: (err as Error).message }, 'sync install hook failed');
      }
    }
  }

  private drop(reason: string): void {
    this.stats.dropped++;
    if (this.stats.lastDrop !== reason) this.deps.log?.('warn', { reason }, 'sync datagram dropped');
    this.stats.lastDrop = reason;
  }
}

/** The kernel's defaults and limits (start_sync_thread), or EINVAL. */
export function resolveConfig(cfg: SyncDaemonConfig, mtuOf: (ifname: string) => number = linkMtu): SyncDaemonView {
  const int = (v: number | undefined, lo: number, hi: number): boolean => v === undefined || (Number.isInteger(v) && v >= lo && v <= hi);
  if (!int(cfg.syncid, 0, 255) || !int(cfg.port, 0, 65535) || !int(cfg.ttl, 0, 255) || !int(cfg.maxlen, 0, 65535)) {
    throw new SyncDaemonError('EINVAL', 'sync daemon parameter out of range');
  }
  if (!/^[^\s/]{1,15}$/.test(cfg.ifname)) throw new SyncDaemonError('ENODEV', `bad interface name ${cfg.ifname}`);
  const group = cfg.group ?? DEFAULT_SYNC_GROUP4;
  const family = group.includes(':') ? 6 : 4;
  if (!isMulticast(group)) throw new SyncDaemonError('EINVAL', `${group} is not a multicast group`);
  const hlen = UDP_HEADERS[family];
  let maxlen: number;
  if (cfg.maxlen) {
    maxlen = Math.min(Math.max(cfg.maxlen, cfg.role === 'backup' ? 1024 : 1), 65535 - hlen);
  } else {
    const mtu = cfg.role === 'backup' ? Math.min(Math.max(mtuOf(cfg.ifname), 1500), 65535) : 1500;
    maxlen = mtu - hlen;
  }
  return {
    role: cfg.role, ifname: cfg.ifname, syncid: cfg.syncid, maxlen, group,
    port: cfg.port || DEFAULT_SYNC_PORT, ttl: cfg.ttl || 1,
  };
}

function isMulticast(addr: string): boolean {
  if (addr.includes(':')) return /^ff[0-9a-f]{2}:/i.test(addr);
  const first = Number(addr.split('.')[0]);
  return /^\d+\.\d+\.\d+\.\d+$/.test(addr) && first >= 224 && first <= 239;
}

function linkMtu(ifname: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8').trim()) || 1500;
  } catch {
    return 1500;
  }
}

/**
 * The interface's first address of `family` (ENODEV: no such interface; EADDRNOTAVAIL: none).
 * Asked of `ip`: os.networkInterfaces() leaves out links without carrier, and a sync link may
 * come up after the daemon starts.
 */
function interfaceAddress(ifname: string, family: 4 | 6): string {
  if (!existsSync(`/sys/class/net/${ifname}`)) throw new SyncDaemonError('ENODEV', `unknown mcast interface ${ifname}`);
  let list: { addr_info?: { local?: string; scope?: string }[] }[] = [];
  try {
    list = JSON.parse(execFileSync('ip', ['-j', `-${family}`, 'addr', 'show', 'dev', ifname], { encoding: 'utf8', timeout: 5000 })) as typeof list;
  } catch {
    list = [];
  }
  const infos = list.flatMap((l) => l.addr_info ?? []).filter((a) => typeof a.local === 'string');
  // prefer a global address, as inet_select_addr(RT_SCOPE_UNIVERSE) does
  const a = infos.find((x) => x.scope === 'global') ?? infos[0];
  if (!a?.local) throw new SyncDaemonError('EADDRNOTAVAIL', `${ifname} has no IPv${family} address`);
  return a.local;
}
