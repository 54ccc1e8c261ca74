// LVS configuration: virtual_server_group, virtual_server, real_server, the health checker
// blocks and the SSL block (keepalived.conf(5), "LVS CONFIGURATION").

import { SCHEDULER_NAMES, SchedulerName } from '../../sched/types.js';
import { compileBodyRegex, REGEX_OPTIONS } from '../../check/index.js';
import { Stmt } from '../parse.js';
import {
  address, block, blocks, canonicalAddress, choice, expectBlock, setHidden, Ctx, custom, expectArgs, Family, flag, int, intOrBare, itemWords, listBlock, ModelOf, optFlag, port, readAddress,
  readInt, readPort, script, str, text, timer, words, Located, KeywordSpec, keyLoc,
} from '../schema.js';

// ---------------------------------------------------------------------------------------------
// Forwarding methods

export const LVS_METHODS = ['NAT', 'DR', 'TUN', 'FULLNAT'] as const;
export type LvsMethodName = (typeof LVS_METHODS)[number];

export interface LvsMethod {
  method: LvsMethodName;
  /** TUN only: encapsulation, its UDP port (gue) and checksum option. */
  tunnel: { type: 'ipip' | 'gue' | 'gre'; port: number | null; csum: 'nocsum' | 'csum' | 'remcsum' | null } | null;
}

function readMethod(s: Stmt, ctx: Ctx): LvsMethod | undefined {
  if (!expectArgs(s, ctx, 1, 6, 'NAT|DR|TUN|FULLNAT (TUN: [type ipip|gue port N|gre] [nocsum|csum|remcsum])')) return undefined;
  const m = s.args[0].text.toUpperCase();
  if (m === 'PAT') return { method: 'NAT', tunnel: null };
  if (!(LVS_METHODS as readonly string[]).includes(m)) {
    ctx.diag.error('ECONFIG_VALUE', `'${s.args[0].text}' is not a forwarding method (NAT, DR, TUN, or lvsd's FULLNAT)`, s.args[0].loc);
    return undefined;
  }
  if (m !== 'TUN') {
    if (s.args.length > 1) {
      ctx.diag.error('ECONFIG_ARGS', `'${m}' takes no further arguments`, s.args[1].loc);
      return undefined;
    }
    return { method: m as LvsMethodName, tunnel: null };
  }
  const tunnel: NonNullable<LvsMethod['tunnel']> = { type: 'ipip', port: null, csum: null };
  const rest = s.args.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i];
    if (w.text === 'type' && rest[i + 1]) {
      const t = rest[++i].text;
      if (t !== 'ipip' && t !== 'gue' && t !== 'gre') {
        ctx.diag.error('ECONFIG_VALUE', `tunnel type '${t}' is not ipip, gue or gre`, rest[i].loc);
        return undefined;
      }
      tunnel.type = t;
    } else if (w.text === 'port' && rest[i + 1]) {
      const p = readPort(rest[++i], ctx);
      if (p === undefined) return undefined;
      tunnel.port = p;
    } else if (w.text === 'nocsum' || w.text === 'csum' || w.text === 'remcsum') {
      tunnel.csum = w.text;
    } else {
      ctx.diag.error('ECONFIG_ARGS', `unexpected '${w.text}' in the TUN options`, w.loc);
      return undefined;
    }
  }
  if (tunnel.type === 'gue' && tunnel.port === null) {
    ctx.diag.error('ECONFIG_ARGS', "tunnel type 'gue' needs 'port N'", s.args[0].loc);
    return undefined;
  }
  return { method: 'TUN', tunnel };
}

const method = (extra = {}) => custom<LvsMethod | null>(readMethod, () => null, extra);

function readSched(s: Stmt, ctx: Ctx): SchedulerName | undefined {
  if (!expectArgs(s, ctx, 1, 1, `one scheduler (${SCHEDULER_NAMES.join(' ')})`)) return undefined;
  const t = s.args[0].text;
  if ((SCHEDULER_NAMES as readonly string[]).includes(t)) return t as SchedulerName;
  const hint = t === 'twos' ? ': the kernel\'s "twos" scheduler is not implemented by lvsd' : '';
  ctx.diag.error('ECONFIG_SCHED', `unknown scheduler '${t}' (one of ${SCHEDULER_NAMES.join(' ')})${hint}`, s.args[0].loc);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Health checkers. Options left null inherit: checker <- real_server <- virtual_server (man page).

const connection = {
  connect_ip: address(null),
  connect_port: port(null),
  bindto: address(null, { aliases: ['bind_to'] }),
  bind_if: str(null, { acted: false }),
  bind_port: port(null),
  fwmark: int(null, 0, 0xffffffff),
};
/** UDP_CHECK/DNS_CHECK: Node's UDP sockets cannot adopt a marked socket, so their fwmark is read only. */
const udpFwmark = { fwmark: int(null, 0, 0xffffffff, { acted: false }) };

const checkerTiming = {
  alpha: flag(false),
  connect_timeout: timer(null, 0, 86400),
  retry: int(null, 0, 1_000_000, { aliases: ['nb_get_retry', 'nb_sock_retry'] }),
  delay_before_retry: timer(null, 0, 86400),
  warmup: timer(null, 0, 86400),
  delay_loop: timer(null, 0.000001, 86400),
  log_all_failures: flag(false, { acted: false }),
};

export type StatusRange = [number, number];

function readStatusCodes(s: Stmt, ctx: Ctx): StatusRange[] | undefined {
  if (!expectArgs(s, ctx, 1, 1000, 'one or more status codes or ranges (200 or 200-299)')) return undefined;
  const out: StatusRange[] = [];
  for (const w of s.args) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(w.text);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo < 100 || hi > 599 || hi < lo) {
      ctx.diag.error('ECONFIG_VALUE', `'${w.text}' is not a status code or range (100..599, e.g. 200-299)`, w.loc);
      return undefined;
    }
    out.push([lo, hi]);
  }
  return out;
}

/** A url's regex must compile as a JavaScript RegExp (src/check/body-regex.ts). */
function readRegex(s: Stmt, ctx: Ctx): string | undefined {
  if (!expectArgs(s, ctx, 1, 1, 'one regular expression (quote it if it has spaces)')) return undefined;
  try {
    compileBodyRegex({ pattern: s.args[0].text });
  } catch (e) {
    ctx.diag.error('ECONFIG_VALUE', (e as Error).message, s.args[0].loc);
    return undefined;
  }
  return s.args[0].text;
}

/** keepalived's PCRE2 option names; unknown ones are ignored as keepalived does, with a warning. */
function readRegexOptions(s: Stmt, ctx: Ctx): string[] | undefined {
  const out: string[] = [];
  for (const w of s.args) {
    const m = REGEX_OPTIONS[w.text];
    if (!m) ctx.diag.warn('WCONFIG_VALUE', `unknown regex option '${w.text}' (ignored)`, w.loc);
    else if (m.unsupported) {
      ctx.diag.error('ECONFIG_VALUE', `regex option '${w.text}' is not supported: ${m.unsupported}`, w.loc);
      return undefined;
    } else out.push(w.text);
  }
  return out;
}

/**
 * keepalived's url_check rules for the regex keywords: options or offsets without a regex, and a
 * min offset beyond the max one, are reported and dropped.
 */
function withRegexRules<U extends { regex: string | null; regex_options: string[]; regex_no_match: boolean; regex_min_offset: number | null; regex_max_offset: number | null }>(
  inner: KeywordSpec<U[]>,
): KeywordSpec<U[]> {
  return {
    ...inner,
    parse: (s, ctx) => {
      const urls = inner.parse(s, ctx);
      for (const u of urls ?? []) {
        const given = [u.regex_options.length > 0 && 'regex_options', u.regex_no_match && 'regex_no_match', u.regex_min_offset !== null && 'regex_min_offset', u.regex_max_offset !== null && 'regex_max_offset'].filter((k) => k !== false);
        if (u.regex === null && given.length > 0) {
          ctx.diag.warn('WCONFIG_VALUE', `'${given[0]}' without 'regex' in this url (ignored)`, keyLoc(u, given[0]!));
          u.regex_options = [];
          u.regex_no_match = false;
          u.regex_min_offset = u.regex_max_offset = null;
        }
        if (u.regex_min_offset !== null && u.regex_max_offset !== null && u.regex_min_offset > u.regex_max_offset) {
          ctx.diag.warn('WCONFIG_VALUE', `regex_min_offset ${u.regex_min_offset} is beyond regex_max_offset ${u.regex_max_offset}: both ignored, as keepalived does`, keyLoc(u, 'regex_min_offset'));
          u.regex_min_offset = u.regex_max_offset = null;
        }
      }
      return urls;
    },
  };
}

const urlSchema = {
  path: str('/'),
  digest: custom<string | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 1, 'one MD5 digest (32 hex digits)')) return undefined;
      const d = s.args[0].text.toLowerCase();
      if (!/^[0-9a-f]{32}$/.test(d)) {
        ctx.diag.error('ECONFIG_VALUE', `digest '${s.args[0].text}' is not an MD5 digest (32 hex digits)`, s.args[0].loc);
        return undefined;
      }
      return d;
    },
    () => null,
  ),
  status_code: custom<StatusRange[]>(readStatusCodes, () => [[200, 299]], { merge: (a, b) => a.concat(b) }),
  virtualhost: str(null),
  regex: custom<string | null>(readRegex, () => null),
  regex_no_match: flag(false),
  regex_options: custom<string[]>(readRegexOptions, () => []),
  /** PCRE2's JIT stack size: JavaScript's RegExp engine has no such setting. */
  regex_stack: words({ acted: false }),
  regex_min_offset: int(null, 0, 0x7fffffff),
  regex_max_offset: int(null, 0, 0x7fffffff),
  tls_compliant: flag(false, { acted: false }),
};

const httpSchema = {
  ...connection,
  ...checkerTiming,
  http_protocol: choice(['1.0', '1.0C', '1.1'] as const, '1.0', { fold: true }),
  /** lvsd checks all urls in one pass, so it always recovers as fast_recovery asks. */
  fast_recovery: flag(false),
  virtualhost: str(null),
  url: withRegexRules(blocks('url', urlSchema)),
  enable_sni: flag(false),
  sni_name: str(null),
  tls_compliant: flag(false, { acted: false }),
  /** lvsd: verify the server certificate (keepalived never does). */
  verify_tls: flag(false),
};

const hostSchema = { ...connection };

const smtpSchema = {
  ...connection,
  ...checkerTiming,
  helo_name: str(null),
  host: blocks('host', hostSchema),
};

export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const;
const dnsSchema = {
  ...connection,
  ...udpFwmark,
  ...checkerTiming,
  type: choice(DNS_TYPES, 'SOA', { fold: true }),
  name: str('.'),
};

const miscSchema = {
  ...checkerTiming,
  misc_path: str(null),
  misc_timeout: int(null, 1, 86400),
  misc_dynamic: flag(false),
  user: custom<{ user: string; group: string | null } | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 2, 'a user name and optionally a group')) return undefined;
      return { user: s.args[0].text, group: s.args[1]?.text ?? null };
    },
    () => null,
  ),
};

function readHex(s: Stmt, ctx: Ctx, allowWild: boolean): string | undefined {
  // keepalived's free-form hex: groups of digits, each odd-length group padded on the left.
  let out = '';
  for (const w of s.args) {
    const re = allowWild ? /^[0-9a-fA-FxX]+$/ : /^[0-9a-fA-F]+$/;
    if (!re.test(w.text)) {
      ctx.diag.error('ECONFIG_VALUE', `'${w.text}' is not hex data`, w.loc);
      return undefined;
    }
    out += (w.text.length % 2 ? '0' : '') + w.text.toLowerCase();
  }
  return out;
}

const udpSchema = {
  ...connection,
  ...udpFwmark,
  ...checkerTiming,
  payload: custom<string | null>((s, ctx) => (expectArgs(s, ctx, 1, 1000, 'hex data') ? readHex(s, ctx, false) : undefined), () => null),
  require_reply: custom<string | boolean>((s, ctx) => (s.args.length ? readHex(s, ctx, true) : true), () => false),
  min_reply_length: int(0, 0, 65535),
  max_reply_length: int(255, 0, 65535),
};

/** fwmark: SO_MARK on PING's raw socket and on TCP-based checks' sockets (native/lvsd-sockopt.c). */
const pingSchema = { ...connection, ...checkerTiming };
const tcpSchema = { ...connection, ...checkerTiming };

const fileCheckSchema = {
  track_file: str(null),
  dynamic: flag(false),
  weight: custom<{ weight: number; reverse: boolean } | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 2, 'a weight multiplier and optionally "reverse"')) return undefined;
      const w = readInt(s.args[0], ctx, -2147483647, 2147483647, 'weight');
      if (w === undefined) return undefined;
      if (s.args[1] && s.args[1].text !== 'reverse') {
        ctx.diag.error('ECONFIG_ARGS', `expected 'reverse', not '${s.args[1].text}'`, s.args[1].loc);
        return undefined;
      }
      return { weight: w, reverse: s.args.length === 2 };
    },
    () => null,
  ),
};

/** check_bfd.c: `name` and `alpha` (keepalived reads no other checker option here). */
const bfdCheckSchema = { name: str(null), alpha: flag(false) };

export const CHECKER_TYPES = ['HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'MISC_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const;
export type CheckerType = (typeof CHECKER_TYPES)[number];

// ---------------------------------------------------------------------------------------------
// real_server

function readServerHeader(s: Stmt, ctx: Ctx): { ip: string; family: Family; port: number } | undefined {
  if (s.args.length < 1 || s.args.length > 2) {
    ctx.diag.error('ECONFIG_ARGS', `'${s.key.text}' needs <IPADDR> [<PORT>]`, s.args[2]?.loc ?? s.key.loc);
    return undefined;
  }
  const a = readAddress(s.args[0], ctx, 'real server address');
  const p = s.args[1] ? readPort(s.args[1], ctx) : 0;
  if (!a || p === undefined) return undefined;
  return { ip: a.addr, family: a.family, port: p };
}

const serverTiming = {
  alpha: flag(false),
  connect_timeout: timer(null, 0, 86400),
  retry: int(null, 0, 1_000_000),
  delay_before_retry: timer(null, 0, 86400),
  warmup: timer(null, 0, 86400),
  delay_loop: timer(null, 0.000001, 86400),
  inhibit_on_failure: flag(false),
};

export const realServerSchema = {
  weight: int(1, 0, 65535),
  lvs_method: method({ aliases: ['lb_kind'] }),
  notify_up: script(),
  notify_down: script(),
  uthreshold: int(0, 0, 0x7fffffff),
  lthreshold: int(0, 0, 0x7fffffff),
  /** null: global smtp_alert_checker, else smtp_alert (keepalived check_data.c). */
  smtp_alert: optFlag(),
  virtualhost: str(null),
  snmp_name: text(null, { acted: false }),
  ...serverTiming,
  HTTP_GET: blocks('HTTP_GET', httpSchema),
  SSL_GET: blocks('SSL_GET', httpSchema),
  TCP_CHECK: blocks('TCP_CHECK', tcpSchema),
  SMTP_CHECK: blocks('SMTP_CHECK', smtpSchema),
  DNS_CHECK: blocks('DNS_CHECK', dnsSchema),
  MISC_CHECK: blocks('MISC_CHECK', miscSchema),
  UDP_CHECK: blocks('UDP_CHECK', udpSchema),
  PING_CHECK: blocks('PING_CHECK', pingSchema),
  FILE_CHECK: blocks('FILE_CHECK', fileCheckSchema),
  BFD_CHECK: blocks('BFD_CHECK', bfdCheckSchema),
};

// ---------------------------------------------------------------------------------------------
// virtual_server

export type VsKey =
  | { kind: 'ip'; ip: string; family: Family; port: number }
  | { kind: 'fwmark'; fwmark: number }
  | { kind: 'group'; group: string };

function readVsHeader(s: Stmt, ctx: Ctx): { key: VsKey } | undefined {
  const a = s.args;
  if (a[0]?.text === 'fwmark' || a[0]?.text === 'group') {
    if (!expectArgs(s.with({ block: null }), ctx, 2, 2, `${a[0].text} <${a[0].text === 'fwmark' ? 'INTEGER' : 'NAME'}>`)) return undefined;
    if (a[0].text === 'group') return { key: { kind: 'group', group: a[1].text } };
    const m = readInt(a[1], ctx, 1, 0xffffffff, 'fwmark');
    return m === undefined ? undefined : { key: { kind: 'fwmark', fwmark: m } };
  }
  if (a.length < 1 || a.length > 2) {
    ctx.diag.error('ECONFIG_ARGS', "'virtual_server' needs <IPADDR> [<PORT>], 'fwmark <INTEGER>' or 'group <NAME>'", a[2]?.loc ?? s.key.loc);
    return undefined;
  }
  const addr = readAddress(a[0], ctx, 'virtual server address');
  const p = a[1] ? readPort(a[1], ctx) : 0;
  if (!addr || p === undefined) return undefined;
  return { key: { kind: 'ip', ip: addr.addr, family: addr.family, port: p } };
}

export const ENGINES = ['proxy', 'nft'] as const;

/** FULLNAT source addresses (engine nft): at most one IPv4 and one IPv6. */
export interface FullnatSnat {
  v4: string | null;
  v6: string | null;
}

/** `fullnat_snat ADDR [ADDR]`: the director address real servers see for FULLNAT flows. */
export function readFullnatSnat(s: Stmt, ctx: Ctx): FullnatSnat | undefined {
  if (!expectArgs(s, ctx, 1, 2, 'an IPv4 and/or an IPv6 address (fullnat_snat 198.51.100.1 2001:db8::1)')) return undefined;
  const out: FullnatSnat = { v4: null, v6: null };
  for (const w of s.args) {
    const a = readAddress(w, ctx, 'fullnat_snat address');
    if (!a) return undefined;
    const slot = a.family === 4 ? 'v4' : 'v6';
    if (out[slot] !== null) {
      ctx.diag.error('ECONFIG_FAMILY', `fullnat_snat takes one IPv${a.family} address, not two ('${out[slot]}' and '${w.text}')`, w.loc);
      return undefined;
    }
    out[slot] = a.addr;
  }
  return out;
}

export const virtualServerSchema = {
  lvs_sched: custom<SchedulerName>(readSched, () => 'wlc', { aliases: ['lb_algo'] }),
  'flag-1': flag(false),
  'flag-2': flag(false),
  'flag-3': flag(false),
  'sh-port': flag(false),
  'sh-fallback': flag(false),
  'mh-port': flag(false),
  'mh-fallback': flag(false),
  ops: flag(false),
  lvs_method: method({ aliases: ['lb_kind'] }),
  persistence_engine: str(null, { acted: false }),
  persistence_timeout: intOrBare(0, 360, 1, 0x7fffffff),
  persistence_granularity: str(null),
  protocol: choice(['TCP', 'UDP', 'SCTP'] as const, 'TCP', { fold: true }),
  ha_suspend: flag(false),
  /** null: global smtp_alert_checker, else smtp_alert (keepalived check_data.c). */
  smtp_alert: optFlag(),
  virtualhost: str(null),
  snmp_name: text(null, { acted: false }),
  alpha: flag(false),
  omega: flag(false),
  quorum: int(1, 0, 0x7fffffff),
  hysteresis: int(0, 0, 0x7fffffff),
  quorum_up: script(),
  quorum_down: script(),
  ip_family: choice(['inet', 'inet6'] as const, null),
  sorry_server: custom<{ ip: string; family: Family; port: number } | null>(readServerHeader, () => null),
  sorry_server_inhibit: flag(false),
  sorry_server_lvs_method: method(),
  connect_timeout: timer(null, 0, 86400),
  retry: int(null, 0, 1_000_000),
  delay_before_retry: timer(null, 0, 86400),
  warmup: timer(null, 0, 86400),
  delay_loop: timer(60, 0.000001, 86400),
  inhibit_on_failure: flag(false),
  real_server: blocks('real_server', realServerSchema, readServerHeader),
  // lvsd additions
  /** Forwarding engine for this service: userspace proxy (default) or the nftables data path. */
  engine: choice(ENGINES, null),
  /** FULLNAT (engine nft): source address(es) the real servers see; overrides lvsd_defs'. */
  fullnat_snat: custom<FullnatSnat | null>(readFullnatSnat, () => null),
  /** Send a PROXY protocol header to real servers (proxy engine). */
  proxy_protocol: choice(['v1', 'v2'] as const, null),
  /** If a real server refuses a connection, try once more on another one (proxy engine). */
  retry_refused: flag(false),
};

// ---------------------------------------------------------------------------------------------
// virtual_server_group

export type VsgEntry =
  | { kind: 'range'; family: Family; first: string; last: string; port: number }
  | { kind: 'fwmark'; fwmark: number; family: Family | null };

function readVsgEntry(s: Stmt, ctx: Ctx): VsgEntry | undefined {
  const w = itemWords(s);
  if (w[0].text === 'fwmark') {
    if (w.length < 2 || w.length > 3) {
      ctx.diag.error('ECONFIG_ARGS', "'fwmark' needs <INTEGER> [inet|inet6]", w[0].loc);
      return undefined;
    }
    const m = readInt(w[1], ctx, 1, 0xffffffff, 'fwmark');
    if (m === undefined) return undefined;
    const fam = w[2] ? (w[2].text === 'inet6' ? 6 : w[2].text === 'inet' ? 4 : null) : null;
    if (w[2] && fam === null) {
      ctx.diag.error('ECONFIG_VALUE', `'${w[2].text}' is not inet or inet6`, w[2].loc);
      return undefined;
    }
    return { kind: 'fwmark', fwmark: m, family: fam };
  }
  if (w.length > 2) {
    ctx.diag.error('ECONFIG_ARGS', 'a group entry is <IPADDR|RANGE> [<PORT>] or fwmark <INTEGER>', w[2].loc);
    return undefined;
  }
  const range = readRange(w[0], ctx);
  const p = w[1] ? readPort(w[1], ctx) : 0;
  if (!range || p === undefined) return undefined;
  return { kind: 'range', ...range, port: p };
}

/** A.B.C.D, A.B.C.D-E, A.B.C.D-E.F.G.H, A.B.C.D/nn (and IPv6 equivalents). */
function readRange(w: Stmt['key'], ctx: Ctx): { family: Family; first: string; last: string } | undefined {
  const t = w.text;
  const slash = t.indexOf('/');
  if (slash >= 0) {
    const a = readAddress(w.withText(t.slice(0, slash)), ctx);
    if (!a) return undefined;
    const len = Number(t.slice(slash + 1));
    const width = a.family === 4 ? 32 : 128;
    if (!/^\d+$/.test(t.slice(slash + 1)) || len > width) {
      ctx.diag.error('ECONFIG_ADDRESS', `prefix length in '${t}' is not valid (0..${width})`, w.loc);
      return undefined;
    }
    const [lo, hi] = cidrBounds(a.addr, a.family, len);
    return { family: a.family, first: lo, last: hi };
  }
  const dash = t.lastIndexOf('-');
  if (dash < 0) {
    const a = readAddress(w, ctx);
    return a && { family: a.family, first: a.addr, last: a.addr };
  }
  const a = readAddress(w.withText(t.slice(0, dash)), ctx);
  if (!a) return undefined;
  const tail = t.slice(dash + 1);
  let last: string;
  if (a.family === 4) {
    const parts = a.addr.split('.');
    const tailParts = tail.split('.');
    last = [...parts.slice(0, 4 - tailParts.length), ...tailParts].join('.');
  } else {
    const full = expandV6(a.addr);
    const tailParts = tail.split(':');
    last = [...full.slice(0, 8 - tailParts.length), ...tailParts].join(':');
  }
  const b = readAddress(w.withText(last), ctx);
  if (!b) return undefined;
  if (compareAddr(a.addr, b.addr, a.family) > 0) {
    ctx.diag.error('ECONFIG_ADDRESS', `range '${t}' ends before it starts`, w.loc);
    return undefined;
  }
  return { family: a.family, first: a.addr, last: b.addr };
}

function expandV6(addr: string): string[] {
  const [head, tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t];
}

function addrToBig(addr: string, family: Family): bigint {
  if (family === 4) return addr.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
  return expandV6(addr).reduce((acc, p) => (acc << 16n) | BigInt(parseInt(p, 16)), 0n);
}

function bigToAddr(n: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const parts: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(((n >> s) & 0xffffn).toString(16));
  return canonicalAddress(parts.join(':'))?.addr ?? parts.join(':');
}

function cidrBounds(addr: string, family: Family, len: number): [string, string] {
  const width = family === 4 ? 32n : 128n;
  const n = addrToBig(addr, family);
  const hostBits = width - BigInt(len);
  const mask = (1n << hostBits) - 1n;
  return [bigToAddr(n & ~mask, family), bigToAddr(n | mask, family)];
}

export function compareAddr(a: string, b: string, family: Family): number {
  const x = addrToBig(a, family);
  const y = addrToBig(b, family);
  return x < y ? -1 : x > y ? 1 : 0;
}

export { addrToBig };

export interface VirtualServerGroup extends Located {
  name: string;
  entries: VsgEntry[];
}

function readVirtualServerGroup(s: Stmt, ctx: Ctx): VirtualServerGroup | undefined {
  if (s.args.length !== 1) {
    ctx.diag.error('ECONFIG_ARGS', "'virtual_server_group' needs one name", s.args[1]?.loc ?? s.key.loc);
    return undefined;
  }
  if (!expectBlock(s, ctx)) return undefined;
  const entries = listBlock(readVsgEntry).parse(s.with({ args: [] }), ctx);
  if (!entries) return undefined;
  const g: VirtualServerGroup = { name: s.args[0].text, entries };
  setHidden(g, 'loc', s.loc);
  return g;
}

export const virtualServerGroups = custom<VirtualServerGroup[]>((s, ctx) => {
  const g = readVirtualServerGroup(s, ctx);
  return g ? [g] : undefined;
}, () => [], { merge: (a, b) => a.concat(b) });

export const sslSchema = {
  password: str(null),
  ca: str(null),
  certificate: str(null),
  key: str(null),
};

export type VirtualServer = NonNullable<ModelOf<{ x: ReturnType<typeof blocks<typeof virtualServerSchema, { key: VsKey }>> }>['x']>[number];
export type RealServer = VirtualServer['real_server'][number];
export type HttpCheck = RealServer['HTTP_GET'][number];
export type TcpCheck = RealServer['TCP_CHECK'][number];
export type SmtpCheck = RealServer['SMTP_CHECK'][number];
export type DnsCheck = RealServer['DNS_CHECK'][number];
export type MiscCheck = RealServer['MISC_CHECK'][number];
export type UdpCheck = RealServer['UDP_CHECK'][number];
export type PingCheck = RealServer['PING_CHECK'][number];
export type FileCheck = RealServer['FILE_CHECK'][number];

export const virtualServers = blocks('virtual_server', virtualServerSchema, readVsHeader);
export const sslBlock = block('SSL', sslSchema);
export { readVsHeader, readServerHeader, readMethod };
