// The events that send mail and keepalived's words for them (core/smtp.c smtp_alert subjects;
// vrrp/vrrp_notify.c, check/check_*.c and check/ipwrapper.c bodies). Pure.

/** A VRRP state that sends mail (INIT never does; DELETED: an instance a reload removed). */
export type AlertVrrpState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';
export type AlertGroupState = Exclude<AlertVrrpState, 'DELETED'>;

export type Alert =
  /** A real server went up or down; `vs`/`rs` are already in keepalived's form (formatVs/formatRs). */
  | { kind: 'realserver'; vs: string; rs: string; up: boolean; body: string }
  /** A virtual server gained or lost quorum. */
  | { kind: 'virtualserver'; vs: string; up: boolean; body: string }
  | { kind: 'vrrp-instance'; name: string; state: AlertVrrpState }
  | { kind: 'vrrp-group'; name: string; state: AlertGroupState };

const VRRP_SUBJECT: Record<AlertVrrpState, string> = {
  MASTER: 'Entering MASTER state',
  BACKUP: 'Entering BACKUP state',
  FAULT: 'Entering FAULT state',
  STOP: 'Stopping',
  DELETED: 'Deleted',
};

const INSTANCE_BODY: Record<AlertVrrpState, string> = {
  MASTER: '=> VRRP Instance is now owning VRRP VIPs <=',
  BACKUP: '=> VRRP Instance is no longer owning VRRP VIPs <=',
  FAULT: '=> VRRP Instance is no longer owning VRRP VIPs <=',
  STOP: '=> VRRP Instance stopping <=',
  DELETED: '=> VRRP Deleted at reload <=',
};

const GROUP_BODY: Record<AlertGroupState, string> = {
  MASTER: '=> All VRRP group instances are now in MASTER state <=',
  BACKUP: '=> All VRRP group instances are now in BACKUP state <=',
  FAULT: '=> All VRRP group instances are now in FAULT state <=',
  STOP: '=> All VRRP group instances are now stopping <=',
};

/** `[router_id] ...` as keepalived's smtp_alert builds it. */
export function alertSubject(a: Alert, routerId: string): string {
  const what =
    a.kind === 'realserver'
      ? `Realserver ${a.rs} of virtual server ${a.vs} - ${a.up ? 'UP' : 'DOWN'}`
      : a.kind === 'virtualserver'
        ? `Virtualserver ${a.vs} - ${a.up ? 'UP' : 'DOWN'}`
        : a.kind === 'vrrp-instance'
          ? `VRRP Instance ${a.name} - ${VRRP_SUBJECT[a.state]}`
          : `VRRP Group ${a.name} - ${VRRP_SUBJECT[a.state]}`;
  return `[${routerId}] ${what}`;
}

export function alertBody(a: Alert): string {
  switch (a.kind) {
    case 'realserver':
    case 'virtualserver':
      return a.body;
    case 'vrrp-instance':
      return INSTANCE_BODY[a.state];
    case 'vrrp-group':
      return GROUP_BODY[a.state];
  }
}

/**
 * The body of a real server's mail, by the checker that changed it. null: that checker sends no
 * mail in keepalived (FILE_CHECK). `reason` is the check's own reason ('timed out', ...).
 */
export function checkerBody(type: string, up: boolean, reason: string): string | null {
  switch (type) {
    case 'TCP':
    case 'UDP':
      return `=> ${type} CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'PING':
      return `=> ICMP CHECK ${up ? 'succeed' : 'failed'} on service <=`;
    case 'DNS':
      return `=> DNS_CHECK: ${up ? 'succeed' : 'failed'} on service <=`;
    case 'HTTP':
    case 'SSL':
      return up ? '=> CHECK succeed on service <=' : '=> CHECK failed on service : HTTP/SSL request failed <=';
    case 'SMTP':
      return up ? '=> CHECK succeed on service <=' : `=> CHECK failed on service : ${reason} <=`;
    case 'MISC':
      return `=> MISC CHECK ${up ? 'succeeded' : reason === 'timed out' ? 'timed out' : 'failed'} on service <=`;
    default:
      return null;
  }
}

/** keepalived's quorum mail body: `=> Gained quorum 2+1=3 <= 4 <=`. */
export function quorumBody(up: boolean, init: boolean, quorum: number, hysteresis: number, threshold: number, weightSum: number): string {
  const what = up ? (init ? 'Starting with quorum up' : 'Gained quorum') : init ? 'Starting with quorum down' : 'Lost quorum';
  return `=> ${what} ${quorum}+${hysteresis}=${threshold} <= ${weightSum} <=`;
}

/** `[192.0.2.1]:tcp:80` (inet_sockaddrtotrio), `FWM 7`, or `[group]:0` for a virtual_server_group. */
export function formatVs(key: { kind: 'ip'; ip: string; port: number } | { kind: 'fwmark'; fwmark: number } | { kind: 'group'; group: string }, protocol: string): string {
  if (key.kind === 'fwmark') return `FWM ${key.fwmark}`;
  if (key.kind === 'group') return `[${key.group}]:0`;
  return formatRs(key.ip, key.port, protocol);
}

export function formatRs(ip: string, port: number, protocol: string): string {
  return `[${ip}]:${protocol.toLowerCase()}:${port}`;
}
