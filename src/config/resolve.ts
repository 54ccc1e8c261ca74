// Fills the options keepalived inherits down the tree: virtual_server -> real_server -> checker
// ("the virtual server setting is the default for real servers, and the real server setting is
// the default for checkers"), with each checker type's own defaults at the end.

import { ConfigModel } from './keywords/top.js';
import { RealServer, VirtualServer } from './keywords/lvs.js';

const INHERITED = ['connect_timeout', 'retry', 'delay_before_retry', 'warmup', 'delay_loop'] as const;

type Timing = { [K in (typeof INHERITED)[number]]: number | null } & { alpha: boolean };

const CHECKER_TYPES = ['HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'MISC_CHECK', 'UDP_CHECK', 'PING_CHECK'] as const;

export function checkersOf(rs: RealServer): Array<{ type: string; check: Timing & Record<string, unknown> }> {
  const out: Array<{ type: string; check: Timing & Record<string, unknown> }> = [];
  // Indexed loops: most lists are the shared frozen empty one, and for-of over it allocates.
  for (let t = 0; t < CHECKER_TYPES.length; t++) {
    const type = CHECKER_TYPES[t];
    const list = rs[type];
    for (let i = 0; i < list.length; i++) out.push({ type, check: list[i] as unknown as Timing & Record<string, unknown> });
  }
  return out;
}

function defaultsFor(type: string, delayLoop: number): Omit<Timing, 'alpha'> {
  return {
    connect_timeout: 5,
    retry: type === 'DNS_CHECK' ? 3 : type === 'MISC_CHECK' ? 0 : 1,
    delay_before_retry: type === 'DNS_CHECK' ? delayLoop : type === 'HTTP_GET' || type === 'SSL_GET' ? 3 : 1,
    warmup: delayLoop,
    delay_loop: delayLoop,
  };
}

export function resolveInheritance(config: ConfigModel): void {
  for (const vs of config.virtual_server) resolveVs(vs);
}

function resolveVs(vs: VirtualServer): void {
  for (const rs of vs.real_server) {
    const rsAny = rs as unknown as Record<string, unknown>;
    // Named fields, not a keyed loop: this runs for every real server of every reload.
    if (rs.connect_timeout === null) rs.connect_timeout = vs.connect_timeout;
    if (rs.retry === null) rs.retry = vs.retry;
    if (rs.delay_before_retry === null) rs.delay_before_retry = vs.delay_before_retry;
    if (rs.warmup === null) rs.warmup = vs.warmup;
    if (rs.delay_loop === null) rs.delay_loop = vs.delay_loop;
    if (!rs.alpha) rs.alpha = vs.alpha;
    if (!rs.inhibit_on_failure) rs.inhibit_on_failure = vs.inhibit_on_failure;
    if (rs.virtualhost === null) rs.virtualhost = vs.virtualhost;
    if (rs.lvs_method === null) rs.lvs_method = vs.lvs_method;
    const checkers = checkersOf(rs);
    for (let i = 0; i < checkers.length; i++) {
      const { type, check } = checkers[i];
      const c = check as Record<string, unknown>;
      for (const k of INHERITED) if (c[k] === null) c[k] = rsAny[k];
      if (!check.alpha) check.alpha = rs.alpha;
      const d = defaultsFor(type, (c.delay_loop as number | null) ?? 60);
      for (const k of INHERITED) if (c[k] === null) c[k] = d[k];
      if ('virtualhost' in c && c.virtualhost === null) c.virtualhost = rs.virtualhost;
    }
  }
  if (vs.lvs_method === null) vs.lvs_method = { method: 'NAT', tunnel: null };
  for (const rs of vs.real_server) if (rs.lvs_method === null) rs.lvs_method = vs.lvs_method;
}
