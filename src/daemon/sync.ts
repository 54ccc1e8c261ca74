// The daemon's connection sync (shell): keepalived's lvs_sync_daemon and lvsadm's
// --start-daemon/--stop-daemon/-L --daemon onto one SyncDaemon (src/sync).
// keepalived (vrrp.c, ipvswrapper.c): the backup daemon runs from the start; the named VRRP
// instance becoming MASTER stops it and starts the master daemon (ipvs_syncd_master); leaving
// MASTER (to BACKUP or FAULT) does the reverse (ipvs_syncd_backup). A changed lvs_sync_daemon
// restarts the daemons on reload. The syncid defaults to the instance's virtual_router_id.
// A backup that becomes master hands the DR flows it learnt to the nft engine.
import type { Logger } from 'pino';
import type { ConfigModel } from '../config/index.js';
import type { ApplyResult, ControlErrorCode, SyncDaemonSpec, SyncDaemonView as ViewDaemon } from '../control/index.js';
import type { IpvsTable } from '../ipvs/index.js';
import { SyncDaemon, SyncDaemonError, type SyncDaemonCode, type SyncDaemonConfig, type SyncRole } from '../sync/index.js';
import type { VrrpState } from '../vrrp/index.js';
import type { NftForwarder } from './nft-forwarder.js';

const CODES: Record<SyncDaemonCode, ControlErrorCode> = {
  EEXIST: 'DAEMON_EXISTS', ESRCH: 'NO_DAEMON', ENODEV: 'NO_DEVICE', EINVAL: 'INVALID', EADDRNOTAVAIL: 'INTERNAL', ESOCKET: 'INTERNAL',
};

/** The configured lvs_sync_daemon, resolved: the instance it follows and the daemon's parameters. */
interface Configured {
  instance: string;
  base: Omit<SyncDaemonConfig, 'role'>;
  key: string;
}

export class DaemonSync {
  readonly daemon: SyncDaemon;
  private configured: Configured | null = null;
  /** serialises role switches (VRRP events may come in bursts) */
  private chain: Promise<void> = Promise.resolve();

  constructor(table: IpvsTable, clock: () => number, private readonly log: Logger, private readonly nft: () => NftForwarder | null) {
    this.daemon = new SyncDaemon({
      table, now: clock,
      onInstalled: (items) => void this.nft()?.adoptSynced(items.map((i) => i.conn)),
      log: (level, fields, msg) => this.log[level](fields, msg),
    });
  }

  /** Start and reload: follow global_defs lvs_sync_daemon (restarting the daemons when it changed). */
  configure(config: ConfigModel, states: ReadonlyMap<string, VrrpState>): Promise<void> {
    return this.serial(async () => {
      const next = this.resolve(config);
      if (next?.key === this.configured?.key) return;
      if (this.configured) await this.daemon.stopAll();
      this.configured = next;
      if (!next) return;
      await this.switchTo(states.get(next.instance) === 'MASTER' ? 'master' : 'backup');
    });
  }

  /** A VRRP transition: the named instance's MASTER runs the master daemon, anything else the backup. */
  onVrrpState(name: string, to: VrrpState): Promise<void> {
    return this.serial(async () => {
      if (!this.configured || this.configured.instance !== name) return;
      const role: SyncRole = to === 'MASTER' ? 'master' : 'backup';
      await this.switchTo(role);
      if (role === 'master') {
        // the VIPs are ours now: the DR flows learnt as backup keep their real servers
        const synced = this.daemon.syncedConnections();
        const nft = this.nft();
        if (nft && synced.length > 0) {
          await nft.reconcile();
          await nft.adoptSynced(synced);
        }
      }
    });
  }

  /** lvsadm --start-daemon / --stop-daemon. */
  async command(cmd: { op: 'start-daemon'; daemon: SyncDaemonSpec } | { op: 'stop-daemon'; state: SyncRole }): Promise<ApplyResult> {
    try {
      if (cmd.op === 'start-daemon') {
        const d = cmd.daemon;
        await this.daemon.start({
          role: d.state, ifname: d.mcastInterface, syncid: d.syncid, maxlen: d.maxlen || undefined,
          group: d.group ?? undefined, port: d.port || undefined, ttl: d.ttl || undefined,
        });
      } else {
        await this.daemon.stop(cmd.state);
      }
      this.log.info({ command: cmd.op, ok: true }, 'lvsadm sync daemon');
      return { ok: true };
    } catch (err) {
      const e = err instanceof SyncDaemonError ? err : new SyncDaemonError('ESOCKET', (err as Error).message);
      this.log.info({ command: cmd.op, ok: false, code: e.code, detail: e.detail }, 'lvsadm sync daemon');
      return { ok: false, code: CODES[e.code], message: e.code === 'EADDRNOTAVAIL' || e.code === 'ESOCKET' ? `${e.message}: ${e.detail}` : e.message };
    }
  }

  /** -L --daemon */
  views(): ViewDaemon[] {
    return this.daemon.views().map((v) => ({ state: v.role, mcastInterface: v.ifname, syncid: v.syncid, maxlen: v.maxlen, group: v.group, port: v.port, ttl: v.ttl }));
  }

  stop(): Promise<void> {
    return this.serial(() => this.daemon.stopAll());
  }

  private async switchTo(role: SyncRole): Promise<void> {
    const c = this.configured;
    if (!c) return;
    try {
      await this.daemon.switchTo({ ...c.base, role });
    } catch (err) {
      this.log.error({ role, ifname: c.base.ifname, err: (err as Error).message, detail: (err as SyncDaemonError).detail }, 'sync daemon could not start');
    }
  }

  private resolve(config: ConfigModel): Configured | null {
    const s = config.global_defs?.lvs_sync_daemon ?? null;
    if (!s) return null;
    const vi = config.vrrp_instance.find((v) => v.name === s.instance);
    if (!s.instance || !vi) {
      this.log.warn({ instance: s.instance }, 'lvs_sync_daemon names no vrrp_instance of this configuration; no sync daemon runs');
      return null;
    }
    const base = {
      ifname: s.interface, syncid: s.syncid ?? vi.virtual_router_id ?? 0, maxlen: s.maxlen ?? undefined,
      group: s.group ?? undefined, port: s.port ?? undefined, ttl: s.ttl ?? undefined,
    };
    return { instance: vi.name, base, key: JSON.stringify([vi.name, base]) };
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
