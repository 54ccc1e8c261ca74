// Addresses, routes and rules: the entry readers shared by static_ipaddress/static_routes/
// static_rules (keepalived.conf(5), "Static routes/addresses/rules") and the vrrp_instance
// virtual_ipaddress/virtual_ipaddress_excluded/virtual_routes/virtual_rules blocks, plus the
// static_* top-level keywords and track_group blocks.

import { Stmt, Word } from '../parse.js';
import { Ctx, custom, Family, itemWords, listBlock, readAddress, readInt, readPrefix, setHidden, Located } from '../schema.js';

/** Linux address flags: IFNAMSIZ - 1 is the longest label the kernel takes. */
const MAX_LABEL = 15;

export const SCOPES = ['global', 'site', 'link', 'host', 'nowhere'] as const;
export type ScopeName = (typeof SCOPES)[number];

/** An `ip address add` line as keepalived reads it (vrrp_ipaddress.c alloc_ipaddress). */
export interface AddressEntry {
  addr: string;
  family: Family;
  prefix: number;
  /** Broadcast address ('+'/'-' resolved to the set/cleared host bits), IPv4 only. */
  brd: string | null;
  dev: string | null;
  scope: ScopeName | number | null;
  label: string | null;
  peer: { addr: string; prefix: number } | null;
  home: boolean;
  nodad: boolean;
  mngtmpaddr: boolean;
  noprefixroute: boolean;
  autojoin: boolean;
  /** keepalived's no_track: a deleted VIP does not take the instance out of master. */
  noTrack: boolean;
  /** static addresses only: the track_group whose instances watch this address. */
  trackGroup: string | null;
  /** Seconds, 'forever', or null (IPv4: kernel default). IPv6 defaults: /128 -> 0, else forever. */
  preferredLft: number | 'forever' | null;
  /** VIPs only: put this address on a VMAC interface. */
  useVmac: boolean;
}

function readScope(w: Word, ctx: Ctx): ScopeName | number | undefined {
  if ((SCOPES as readonly string[]).includes(w.text)) return w.text as ScopeName;
  if (/^\d+$/.test(w.text)) return readInt(w, ctx, 0, 255, 'scope');
  ctx.diag.error('ECONFIG_VALUE', `scope '${w.text}' is not one of ${SCOPES.join('|')} or a number 0..255`, w.loc);
  return undefined;
}

function v4ToInt(a: string): number {
  return a.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

function intToV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** brd '+' sets the host bits, '-' clears them (only meaningful up to /30, as in keepalived). */
function derivedBroadcast(addr: string, prefix: number, sign: '+' | '-'): string {
  const host = prefix >= 32 ? 0 : 2 ** (32 - prefix) - 1;
  const base = v4ToInt(addr) - (v4ToInt(addr) % (host + 1));
  return intToV4(sign === '+' ? base + host : base);
}

const ADDRESS_FLAGS: Record<string, keyof AddressEntry> = {
  home: 'home',
  '-nodad': 'nodad',
  mngtmpaddr: 'mngtmpaddr',
  noprefixroute: 'noprefixroute',
  autojoin: 'autojoin',
  no_track: 'noTrack',
};

/** Reads `<IPADDR>[/<MASK>] [brd X] [dev IF] [scope S] [label L] [peer P] [flags...]`. */
export function readAddressEntry(s: Stmt, ctx: Ctx, kind: 'static' | 'virtual'): AddressEntry | undefined {
  const w = itemWords(s);
  if (s.block) {
    ctx.diag.error('ECONFIG_BLOCK', `an address entry does not take a block`, s.blockLoc);
    return undefined;
  }
  const p = readPrefix(w[0], ctx, 'address');
  if (!p) return undefined;
  const e: AddressEntry = {
    addr: p.addr, family: p.family, prefix: p.prefix, brd: null, dev: null, scope: null, label: null, peer: null,
    home: false, nodad: false, mngtmpaddr: false, noprefixroute: false, autojoin: false, noTrack: false,
    trackGroup: null, preferredLft: null, useVmac: false,
  };
  let brdSign: '+' | '-' | null = null;
  let brdLoc = w[0].loc;
  for (let i = 1; i < w.length; i++) {
    const opt = w[i];
    const flag = ADDRESS_FLAGS[opt.text];
    if (flag) {
      (e as unknown as Record<string, boolean>)[flag] = true;
      continue;
    }
    if (opt.text === 'use_vmac' && kind === 'virtual') {
      e.useVmac = true;
      continue;
    }
    const takesArg = ['dev', 'scope', 'brd', 'broadcast', 'label', 'peer', 'preferred_lft'].includes(opt.text) || (opt.text === 'track_group' && kind === 'static');
    if (!takesArg) {
      const hint = opt.text === 'track_group' ? ' (track_group applies to static addresses only)' : opt.text === 'use_vmac' ? ' (use_vmac applies to virtual addresses only)' : '';
      ctx.diag.error('ECONFIG_ARGS', `unknown address option '${opt.text}' for ${w[0].text}${hint}`, opt.loc);
      return undefined;
    }
    const arg = w[i + 1];
    if (!arg) {
      ctx.diag.error('ECONFIG_ARGS', `'${opt.text}' needs a value for ${w[0].text}`, opt.loc);
      return undefined;
    }
    i++;
    switch (opt.text) {
      case 'dev':
        if (e.dev !== null) {
          ctx.diag.error('ECONFIG_ARGS', `'dev' is given more than once for ${w[0].text}`, opt.loc);
          return undefined;
        }
        e.dev = arg.text;
        break;
      case 'scope': {
        const sc = readScope(arg, ctx);
        if (sc === undefined) return undefined;
        e.scope = sc;
        break;
      }
      case 'brd':
      case 'broadcast':
        if (e.family === 6) {
          ctx.diag.error('ECONFIG_ADDRESS', `a broadcast address cannot be given for the IPv6 address ${w[0].text}`, opt.loc);
          return undefined;
        }
        brdLoc = arg.loc;
        if (arg.text === '+' || arg.text === '-') brdSign = arg.text;
        else {
          const b = readAddress(arg, ctx, 'broadcast address');
          if (!b) return undefined;
          if (b.family !== 4) {
            ctx.diag.error('ECONFIG_ADDRESS', `broadcast address '${arg.text}' is not IPv4`, arg.loc);
            return undefined;
          }
          e.brd = b.addr;
          brdSign = null;
        }
        break;
      case 'label':
        if (arg.text.length > MAX_LABEL) {
          ctx.diag.error('ECONFIG_VALUE', `address label '${arg.text}' is longer than ${MAX_LABEL} characters`, arg.loc);
          return undefined;
        }
        e.label = arg.text;
        break;
      case 'peer': {
        if (e.peer) {
          ctx.diag.error('ECONFIG_ARGS', `'peer' is given more than once for ${w[0].text}`, opt.loc);
          return undefined;
        }
        const pp = readPrefix(arg, ctx, 'peer address');
        if (!pp) return undefined;
        if (pp.family !== e.family) {
          ctx.diag.error('ECONFIG_ADDRESS', `peer address '${arg.text}' is not in the family of ${w[0].text}`, arg.loc);
          return undefined;
        }
        if (e.prefix !== (e.family === 4 ? 32 : 128)) ctx.diag.warn('WCONFIG_IGNORED', `a prefix length cannot be given with a peer address; the peer's length is used`, w[0].loc);
        e.peer = { addr: pp.addr, prefix: pp.prefix };
        e.prefix = pp.prefix;
        break;
      }
      case 'preferred_lft':
        if (arg.text === 'forever') e.preferredLft = 'forever';
        else {
          const n = readInt(arg, ctx, 0, 0xffffffff, 'preferred_lft');
          if (n === undefined) return undefined;
          e.preferredLft = n;
        }
        break;
      case 'track_group':
        if (e.trackGroup !== null) {
          ctx.diag.error('ECONFIG_ARGS', `'track_group' is given more than once for ${w[0].text}`, opt.loc);
          return undefined;
        }
        e.trackGroup = arg.text;
        break;
    }
  }
  if (brdSign || e.brd) {
    if (e.peer) {
      ctx.diag.warn('WCONFIG_IGNORED', `a broadcast and a peer address cannot both be given; the broadcast is ignored`, brdLoc);
      e.brd = null;
    } else if (brdSign) {
      if (e.prefix > 30) {
        ctx.diag.error('ECONFIG_ADDRESS', `prefix length /${e.prefix} is too long for a '${brdSign}' broadcast`, brdLoc);
        return undefined;
      }
      e.brd = derivedBroadcast(e.addr, e.prefix, brdSign);
    }
  }
  if (e.family === 6) {
    // keepalived ignores these for IPv6 (the kernel has no IPv6 scope/label on addresses).
    if (e.scope !== null) {
      ctx.diag.warn('WCONFIG_IGNORED', `scope cannot be given for the IPv6 address ${w[0].text}; ignored`, w[0].loc);
      e.scope = null;
    }
    if (e.label !== null) {
      ctx.diag.warn('WCONFIG_IGNORED', `label cannot be given for the IPv6 address ${w[0].text}; ignored`, w[0].loc);
      e.label = null;
    }
    if (e.preferredLft === null) e.preferredLft = e.prefix === 128 ? 0 : 'forever';
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Routes (vrrp_iproute.c alloc_route): the fields lvsd uses are structured; the rest of the many
// `ip route` options are kept as raw words.

export const ROUTE_TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast', 'nat'] as const;
export type RouteType = (typeof ROUTE_TYPES)[number];

export interface RouteEntry {
  type: RouteType;
  family: Family;
  /** Destination; 'default' is 0.0.0.0/0 or ::/0. */
  dst: { addr: string; prefix: number };
  src: string | null;
  via: string | null;
  /** keepalived's `or`: an alternative gateway (a second nexthop). */
  or: string | null;
  dev: string | null;
  scope: ScopeName | number | null;
  table: string | null;
  metric: number | null;
  protocol: string | null;
  onlink: boolean;
  noTrack: boolean;
  trackGroup: string | null;
  /** prepend (the kernel default), add or append. */
  mode: 'prepend' | 'add' | 'append';
  /** Options lvsd keeps but does not interpret, in order (e.g. mtu 1000, nexthop ...). */
  options: string[];
}

/** `ip route` options taking one value (metrics may be preceded by `lock`). */
const ROUTE_OPTIONS_1 = new Set([
  'tos', 'dsfield', 'mtu', 'advmss', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'ssthresh', 'realms', 'rto_min',
  'initcwnd', 'initrwnd', 'features', 'quickack', 'congctl', 'pref', 'expires', 'hoplimit', 'fastopen_no_cookie',
  'vrf', 'ttl-propagate', 'as', 'weight', 'nhid',
]);
const ROUTE_OPTIONS_0 = new Set(['pervasive', 'nexthop']);

/** `w` is undefined when the value was missing (already reported). */
function readGateway(w: Word | undefined, opt: Word, ctx: Ctx): { addr: string; family: Family } | undefined {
  if (!w) return undefined;
  return readAddress(w, ctx, `'${opt.text}' address`);
}

export function readRoute(s: Stmt, ctx: Ctx, kind: 'static' | 'virtual'): RouteEntry | undefined {
  if (s.block) {
    ctx.diag.error('ECONFIG_BLOCK', `a route does not take a block`, s.blockLoc);
    return undefined;
  }
  const w = itemWords(s);
  const r: RouteEntry = {
    type: 'unicast', family: 4, dst: { addr: '', prefix: 0 }, src: null, via: null, or: null, dev: null, scope: null, table: null,
    metric: null, protocol: null, onlink: false, noTrack: false, trackGroup: null, mode: 'prepend', options: [],
  };
  let dst: { addr: string; prefix: number; family: Family } | 'default' | null = null;
  let forced: Family | null = null;
  const fams: Array<[Family, Word]> = [];
  let i = 0;
  if ((ROUTE_TYPES as readonly string[]).includes(w[0].text)) r.type = w[i++].text as RouteType;
  for (; i < w.length; i++) {
    const opt = w[i];
    const t = opt.text;
    const next = w[i + 1];
    const needArg = (): Word | undefined => {
      if (!next) ctx.diag.error('ECONFIG_ARGS', `'${t}' needs a value`, opt.loc);
      else i++;
      return next;
    };
    switch (t) {
      case 'inet':
      case 'inet6':
        forced = t === 'inet' ? 4 : 6;
        continue;
      case 'src': {
        const a = readGateway(needArg(), opt, ctx);
        if (!a) return undefined;
        r.src = a.addr;
        fams.push([a.family, w[i]]);
        continue;
      }
      case 'via':
      case 'gw':
      case 'or': {
        const a = readGateway(needArg(), opt, ctx);
        if (!a) return undefined;
        if (t === 'or') r.or = a.addr;
        else r.via = a.addr;
        fams.push([a.family, w[i]]);
        continue;
      }
      case 'dev':
      case 'oif': {
        const v = needArg();
        if (!v) return undefined;
        r.dev = v.text;
        continue;
      }
      case 'scope': {
        const v = needArg();
        const sc = v && readScope(v, ctx);
        if (sc === undefined) return undefined;
        r.scope = sc;
        continue;
      }
      case 'table': {
        const v = needArg();
        if (!v) return undefined;
        r.table = v.text;
        continue;
      }
      case 'metric':
      case 'priority':
      case 'preference': {
        const v = needArg();
        const n = v && readInt(v, ctx, 0, 0xffffffff, `'${t}'`);
        if (n === undefined) return undefined;
        r.metric = n;
        continue;
      }
      case 'protocol':
      case 'proto': {
        const v = needArg();
        if (!v) return undefined;
        r.protocol = v.text;
        continue;
      }
      case 'onlink':
        r.onlink = true;
        continue;
      case 'no_track':
        r.noTrack = true;
        continue;
      case 'add':
      case 'append':
      case 'prepend':
        r.mode = t;
        continue;
      case 'track_group': {
        if (kind !== 'static') {
          ctx.diag.error('ECONFIG_ARGS', `'track_group' applies to static routes only`, opt.loc);
          return undefined;
        }
        const v = needArg();
        if (!v) return undefined;
        r.trackGroup = v.text;
        continue;
      }
      case 'to':
        if (dst) {
          ctx.diag.error('ECONFIG_ARGS', `the destination is given more than once`, opt.loc);
          return undefined;
        }
        if (!next) {
          ctx.diag.error('ECONFIG_ARGS', `'to' needs a destination`, opt.loc);
          return undefined;
        }
        continue;
    }
    if (ROUTE_OPTIONS_1.has(t)) {
      r.options.push(t);
      if (next?.text === 'lock') r.options.push(w[++i].text);
      const v = w[i + 1];
      if (!v) {
        ctx.diag.error('ECONFIG_ARGS', `'${t}' needs a value`, opt.loc);
        return undefined;
      }
      r.options.push(v.text);
      i++;
      continue;
    }
    if (ROUTE_OPTIONS_0.has(t)) {
      r.options.push(t);
      continue;
    }
    if (!dst) {
      if (t === 'default') {
        dst = 'default';
        continue;
      }
      const p = readPrefix(opt, ctx, 'route destination');
      if (!p) return undefined;
      dst = p;
      continue;
    }
    // Routes have many options; keep what we do not know rather than refusing the route.
    ctx.diag.warn('WCONFIG_ROUTE_OPTION', `route option '${t}' is not interpreted by lvsd; kept as given`, opt.loc);
    r.options.push(t);
  }
  if (!dst) {
    ctx.diag.error('ECONFIG_ARGS', `the route has no destination`, s.key.loc);
    return undefined;
  }
  const family: Family = dst === 'default' ? forced ?? fams[0]?.[0] ?? 4 : dst.family;
  if (dst !== 'default' && forced && forced !== dst.family) {
    ctx.diag.error('ECONFIG_ADDRESS', `the destination is not an IPv${forced} address`, s.key.loc);
    return undefined;
  }
  for (const [f, where] of fams) {
    if (f !== family) {
      ctx.diag.error('ECONFIG_ADDRESS', `'${where.text}' is not in the route's address family (IPv${family})`, where.loc);
      return undefined;
    }
  }
  r.family = family;
  r.dst = dst === 'default' ? { addr: family === 4 ? '0.0.0.0' : '::', prefix: 0 } : { addr: dst.addr, prefix: dst.prefix };
  return r;
}

/** Rules are kept as the raw `ip rule` words: lvsd does not act on them. */
export interface RuleEntry {
  words: string[];
}

export function readRule(s: Stmt, ctx: Ctx): RuleEntry | undefined {
  if (s.block) {
    ctx.diag.error('ECONFIG_BLOCK', `a rule does not take a block`, s.blockLoc);
    return undefined;
  }
  return { words: itemWords(s).map((x) => x.text) };
}

// ---------------------------------------------------------------------------------------------
// Top-level static blocks and track groups

export interface TrackGroup extends Located {
  name: string;
  /** The vrrp_instances that track the static addresses/routes/rules naming this group. */
  group: string[];
}

function readTrackGroup(s: Stmt, ctx: Ctx): TrackGroup | undefined {
  if (s.args.length !== 1) {
    ctx.diag.error('ECONFIG_ARGS', `'${s.key.text}' needs one name`, s.args[1]?.loc ?? s.key.loc);
    return undefined;
  }
  if (!s.block) {
    ctx.diag.error('ECONFIG_BLOCK', `'${s.key.text}' needs a { ... } block`, s.key.loc);
    return undefined;
  }
  const g: TrackGroup = { name: s.args[0].text, group: [] };
  for (const item of s.block) {
    if (item.key.text !== 'group') {
      ctx.diag.warn('WCONFIG_UNKNOWN', `unknown keyword '${item.key.text}' in track_group (ignored)`, item.key.loc);
      continue;
    }
    const names = listBlock(readName).parse(item, ctx);
    if (names) g.group.push(...names);
  }
  setHidden(g, 'loc', s.loc);
  return g;
}

/** A list item that is exactly one name. */
export function readName(s: Stmt, ctx: Ctx): string | undefined {
  if (s.args.length || s.block) {
    ctx.diag.error('ECONFIG_ARGS', `expected one name per line, not '${itemWords(s).map((x) => x.text).join(' ')}'`, (s.args[0] ?? s.key).loc);
    return undefined;
  }
  return s.key.text;
}

export const staticKeywords = {
  static_ipaddress: listBlock((s, ctx) => readAddressEntry(s, ctx, 'static')),
  static_routes: listBlock((s, ctx) => readRoute(s, ctx, 'static')),
  static_rules: listBlock(readRule, { acted: false }),
  track_group: custom<TrackGroup[]>((s, ctx) => {
    const g = readTrackGroup(s, ctx);
    return g ? [g] : undefined;
  }, () => [], { merge: (a, b) => a.concat(b), acted: false }),
};
