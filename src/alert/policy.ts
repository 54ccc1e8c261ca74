// Who gets mail, from the configuration, with keepalived's rules for the smtp_alert flags:
//   vrrp_instance / vrrp_sync_group: own flag, else smtp_alert_vrrp, else smtp_alert, else off
//     (vrrp/vrrp.c);
//   virtual_server: own flag, else smtp_alert_checker, else smtp_alert, else off;
//   real_server: own flag, else smtp_alert_checker, else smtp_alert, else ON - keepalived keeps
//     that default for backward compatibility (check/check_data.c);
// and no mail at all without both notification_email and smtp_server (core/smtp.c smtp_alert).
// Pure: the host name and user come in.

import type { ConfigModel, VirtualServer } from '../config/index.js';
import { formatRs, formatVs } from './alert.js';

export interface HostIdentity {
  hostname: string;
  /** The user lvsd runs as (the default sender is user@hostname). */
  user: string;
}

export interface MailSettings {
  host: string;
  port: number;
  helo: string;
  from: string;
  to: readonly string[];
  timeoutMs: number;
  routerId: string;
}

export interface RsPolicy {
  /** keepalived's `[ip]:proto:port`. */
  display: string;
  alert: boolean;
}

export interface VsPolicy {
  display: string;
  alert: boolean;
  quorum: number;
  hysteresis: number;
  /** omega: real server mails at shutdown too. */
  omega: boolean;
  /** By the daemon's real server endpoint (`addr:port`, `[v6]:port`). */
  rs: ReadonlyMap<string, RsPolicy>;
}

export interface AlertPolicy {
  /** null: no notification_email or no smtp_server; alerts are tracked but not sent. */
  mail: MailSettings | null;
  noEmailFaults: boolean;
  vrrpInstances: ReadonlyMap<string, boolean>;
  /** Instances with notify_deleted: removed by a reload they mail "Deleted", else "Entering FAULT state". */
  vrrpNotifyDeleted?: ReadonlySet<string>;
  vrrpGroups: ReadonlyMap<string, { alert: boolean; members: readonly string[] }>;
  /** By the daemon's virtual server id. */
  virtualServers: ReadonlyMap<string, VsPolicy>;
}

/** How the daemon names virtual servers and real server endpoints in its events. */
export interface AlertIds {
  vsId(vs: VirtualServer): string;
  endpoint(addr: string, port: number): string;
}

export const EMPTY_POLICY: AlertPolicy = { mail: null, noEmailFaults: false, vrrpInstances: new Map(), vrrpGroups: new Map(), virtualServers: new Map() };

/** keepalived's resolution of one object's smtp_alert. */
export function resolveFlag(own: boolean | null, specific: boolean | null, global: boolean | null, fallback: boolean): boolean {
  return own ?? specific ?? global ?? fallback;
}

export function alertPolicyOf(config: ConfigModel, host: HostIdentity, ids: AlertIds): AlertPolicy {
  const g = config.global_defs;
  const routerId = g?.router_id ?? host.hostname;
  const to = g?.notification_email ?? [];
  const server = g?.smtp_server ?? null;
  const mail: MailSettings | null =
    server && to.length
      ? {
          host: server.host,
          port: server.port,
          helo: g?.smtp_helo_name ?? (host.hostname || 'localhost'),
          from: g?.notification_email_from ?? `${host.user}@${host.hostname}`,
          to,
          timeoutMs: (g?.smtp_connect_timeout ?? 30) * 1000,
          routerId,
        }
      : null;
  // Without a mail server nothing is sent: skip the per-server tables (a reload of 10,000 real
  // servers then costs nothing here). Turning mail on by a reload starts from the next changes.
  if (!mail) return { ...EMPTY_POLICY, noEmailFaults: g?.no_email_faults ?? false };
  const all = g?.smtp_alert ?? null;
  const vrrp = g?.smtp_alert_vrrp ?? null;
  const checker = g?.smtp_alert_checker ?? null;
  const virtualServers = new Map<string, VsPolicy>();
  for (const vs of config.virtual_server) {
    const vsPort = vs.key.kind === 'ip' ? vs.key.port : 0;
    const rs = new Map<string, RsPolicy>();
    for (const r of vs.real_server) {
      const port = r.port || vsPort;
      rs.set(ids.endpoint(r.ip, port), { display: formatRs(r.ip, port, vs.protocol), alert: resolveFlag(r.smtp_alert, checker, all, true) });
    }
    virtualServers.set(ids.vsId(vs), { display: formatVs(vs.key, vs.protocol), alert: resolveFlag(vs.smtp_alert, checker, all, false), quorum: vs.quorum, hysteresis: vs.hysteresis, omega: vs.omega, rs });
  }
  return {
    mail,
    noEmailFaults: g?.no_email_faults ?? false,
    vrrpInstances: new Map(config.vrrp_instance.map((vi) => [vi.name, resolveFlag(vi.smtp_alert, vrrp, all, false)])),
    vrrpNotifyDeleted: new Set(config.vrrp_instance.filter((vi) => vi.notify_deleted !== null).map((vi) => vi.name)),
    vrrpGroups: new Map(config.vrrp_sync_group.map((sg) => [sg.name, { alert: resolveFlag(sg.smtp_alert, vrrp, all, false), members: sg.group }])),
    virtualServers,
  };
}
