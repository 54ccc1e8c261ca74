// lvsd's own top-level blocks, not in keepalived. They live in blocks of their own so that a file
// stays loadable by keepalived (which warns about, and skips, blocks it does not know).
//
//   lvsd_defs {
//       engine proxy|nft             # default forwarding engine (proxy)
//       fullnat_snat ADDR [ADDR6]    # FULLNAT source address (engine nft; default: masquerade)
//       workers N                    # proxy relay workers (default: one per core)
//       proxy_relay auto|native|node # who relays proxy TCP: the C helper (splice) or Node (auto)
//       control_socket PATH          # lvsadm's socket (default /run/lvsd/control.sock)
//       metrics_listen ADDR:PORT     # Prometheus endpoint (off unless given)
//       drain_timeout SECONDS        # how long SIGTERM waits for connections (default 30)
//       expire_nodest_conn           # drop connections of removed real servers at once
//       state_file PATH              # SIGUSR1 dump (default /tmp/lvsd.data)
//       stats_file PATH              # SIGUSR2 dump (default /tmp/lvsd.stats)
//       timeout TCP TCPFIN UDP       # like ipvsadm --set (default 900 120 300)
//   }
//   lvsd_schedule NAME {
//       cron "0 2 * * 0"             # node-cron expression (seconds field optional)
//       action drain|restore|stats|reload
//       virtual_server 192.0.2.1 80  # for drain/restore: which service ...
//       real_server 198.51.100.1 80  # ... and which real server
//   }

import cron from 'node-cron';
import { Stmt } from '../parse.js';
import {
  block, blocks, choice, Ctx, custom, expectArgs, flag, int, readAddress, readInt, readPort, str, timer,
} from '../schema.js';
import { ENGINES, readFullnatSnat, type FullnatSnat } from './lvs.js';

/** Who relays the proxy engine's TCP: 'auto' is the native helper when it was built, else Node. */
export const PROXY_RELAYS = ['auto', 'native', 'node'] as const;

export interface ListenAddress {
  host: string;
  family: 4 | 6;
  port: number;
}

function readListen(s: Stmt, ctx: Ctx): ListenAddress | undefined {
  if (!expectArgs(s, ctx, 1, 1, 'ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)')) return undefined;
  const w = s.args[0];
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(w.text) ?? /^([^:]+):(\d+)$/.exec(w.text);
  if (!m) {
    ctx.diag.error('ECONFIG_VALUE', `'${w.text}' is not ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)`, w.loc);
    return undefined;
  }
  const a = readAddress(w.withText(m[1]), ctx);
  const p = readPort(w.withText(m[2]), ctx, false);
  if (!a || p === undefined) return undefined;
  return { host: a.addr, family: a.family, port: p };
}

function readTimeouts(s: Stmt, ctx: Ctx): { tcp: number; tcpfin: number; udp: number } | undefined {
  if (!expectArgs(s, ctx, 3, 3, 'three timeouts in seconds: TCP TCPFIN UDP (0 keeps the current value)')) return undefined;
  const [tcp, tcpfin, udp] = s.args.map((a) => readInt(a, ctx, 0, 2147483, 'timeout'));
  if (tcp === undefined || tcpfin === undefined || udp === undefined) return undefined;
  return { tcp, tcpfin, udp };
}

export const lvsdDefsSchema = {
  engine: choice(ENGINES, 'proxy'),
  fullnat_snat: custom<FullnatSnat | null>(readFullnatSnat, () => null),
  workers: int(null, 0, 256),
  proxy_relay: choice(PROXY_RELAYS, null), // null: $LVSD_PROXY_RELAY, else auto
  control_socket: str(null),
  metrics_listen: custom<ListenAddress | null>(readListen, () => null),
  drain_timeout: timer(30, 0, 86400),
  expire_nodest_conn: flag(false),
  state_file: str('/tmp/lvsd.data'),
  stats_file: str('/tmp/lvsd.stats'),
  timeout: custom<{ tcp: number; tcpfin: number; udp: number }>(readTimeouts, () => ({ tcp: 900, tcpfin: 120, udp: 300 })),
};

function readCron(s: Stmt, ctx: Ctx): string | undefined {
  if (!expectArgs(s, ctx, 1, 6, 'a cron expression (quote it: cron "0 2 * * 0")')) return undefined;
  const expr = s.args.map((a) => a.text).join(' ');
  if (!cron.validate(expr)) {
    ctx.diag.error('ECONFIG_CRON', `'${expr}' is not a valid cron expression`, s.args[0].loc);
    return undefined;
  }
  return expr;
}

function readServerRef(s: Stmt, ctx: Ctx): { ip: string; port: number } | undefined {
  if (!expectArgs(s, ctx, 2, 2, '<IPADDR> <PORT>')) return undefined;
  const a = readAddress(s.args[0], ctx);
  const p = readPort(s.args[1], ctx);
  return a && p !== undefined ? { ip: a.addr, port: p } : undefined;
}

export const scheduleSchema = {
  cron: custom<string | null>(readCron, () => null),
  action: choice(['drain', 'restore', 'stats', 'reload'] as const, null),
  virtual_server: custom<{ ip: string; port: number } | null>(readServerRef, () => null),
  real_server: custom<{ ip: string; port: number } | null>(readServerRef, () => null),
  protocol: choice(['TCP', 'UDP', 'SCTP'] as const, 'TCP', { fold: true }),
};

function readName(s: Stmt, ctx: Ctx): { name: string } | undefined {
  if (s.args.length !== 1) {
    ctx.diag.error('ECONFIG_ARGS', `'${s.key.text}' needs one name`, s.args[1]?.loc ?? s.key.loc);
    return undefined;
  }
  return { name: s.args[0].text };
}

export const lvsdKeywords = {
  lvsd_defs: block('lvsd_defs', lvsdDefsSchema),
  lvsd_schedule: blocks('lvsd_schedule', scheduleSchema, readName),
};
