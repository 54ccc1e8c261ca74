// The plan between two configurations (running -> desired): what a reload changes, listed the
// way the log and `lvsd -t --diff` print it:  +vs, -vs, +rs, -rs, ~weight 1->3, +vrrp, ...
// Pure: models in, plan items out.

import type { ConfigModel } from './keywords/top.js';
import { fieldsOf } from './schema.js';
import type { RealServer, VirtualServer } from './keywords/lvs.js';

export interface PlanItem {
  op: '+' | '-' | '~';
  /** What kind of thing: vs, rs, vrrp, vrrp_script, sync_group, schedule, or a top-level block. */
  kind: string;
  /** Which one, e.g. "TCP 192.0.2.1:80" or "TCP 192.0.2.1:80 198.51.100.1:80". */
  target: string;
  /** For '~': the keyword that changed. */
  field?: string;
  from?: unknown;
  to?: unknown;
}

const CHECKERS = ['HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'MISC_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const;

function ep(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function vsTarget(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === 'fwmark') return `fwmark ${k.fwmark}`;
  if (k.kind === 'group') return `${vs.protocol} group ${k.group}`;
  return `${vs.protocol} ${ep(k.ip, k.port)}`;
}

/** Structural equality of model values (plain data: primitives, arrays, objects). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // for-in without key arrays: this runs over every field of 10,000 real servers on a reload.
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let n = 0;
  for (const k in ra) {
    n++;
    if (!same(ra[k], rb[k])) return false;
  }
  for (const _k in rb) n--;
  return n === 0;
}

/** Field-by-field changes of two objects of one block type (skipping `skip`), appended to `out`. */
function fieldChanges(out: PlanItem[], kind: string, target: string | (() => string), a: object, b: object, skip: ReadonlySet<string>): void {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k in rb) {
    const x = ra[k];
    const y = rb[k];
    // Identical primitives (most fields) first: no set lookup, no call.
    if (x === y || skip.has(k) || same(x, y)) continue;
    out.push({ op: '~', kind, target: typeof target === 'string' ? target : target(), field: k, from: x, to: y });
  }
}

function byName<T>(list: readonly T[], name: (x: T) => string): Map<string, T> {
  return new Map(list.map((x) => [name(x), x]));
}

const RS_SKIP = new Set<string>(CHECKERS);
const VS_SKIP = new Set(['real_server', 'key']);
const NAME_SKIP = new Set(['name']);
const NO_SKIP = new Set<string>();

type Equal = (a: object, b: object, deep: typeof same) => boolean;
const equals = new WeakMap<ReadonlySet<string>, WeakMap<readonly string[], Equal>>();

/**
 * Whether two block objects of one shape have equal fields (`skip` aside), by a function made for
 * that shape: named loads instead of a keyed loop (10,000 real servers a reload, nearly all
 * unchanged). The keys are our own keyword tables' names, JSON-quoted.
 */
function fieldsEqual(fields: readonly string[], skip: ReadonlySet<string>): Equal {
  let bySkip = equals.get(skip);
  if (!bySkip) equals.set(skip, (bySkip = new WeakMap()));
  let eq = bySkip.get(fields);
  if (!eq) {
    const body = fields
      .filter((k) => !skip.has(k))
      .map((k) => `x = a[${JSON.stringify(k)}]; y = b[${JSON.stringify(k)}]; if (x !== y && !deep(x, y)) return false;`);
    eq = new Function('a', 'b', 'deep', `let x, y; ${body.join(' ')} return true;`) as Equal;
    bySkip.set(fields, eq);
  }
  return eq;
}

/** True when `a` and `b` (blocks of one type) certainly have no field changes outside `skip`. */
function unchangedBlock(a: object, b: object, skip: ReadonlySet<string>): boolean {
  const fields = fieldsOf(b);
  return fields !== null && fields === fieldsOf(a) && fieldsEqual(fields, skip)(a, b, same);
}

/** Changes of one real server kept across the reload (its fields, then its checkers as one item). */
function diffRealServer(out: PlanItem[], vsT: string, ra: RealServer, rb: RealServer): void {
  let target: string | null = null;
  const name = () => (target ??= `${vsT} ${ep(rb.ip, rb.port)}`);
  if (!unchangedBlock(ra, rb, RS_SKIP)) fieldChanges(out, 'rs', name, ra, rb, RS_SKIP);
  for (const c of CHECKERS) {
    if (same(ra[c], rb[c])) continue;
    out.push({ op: '~', kind: 'rs', target: name(), field: 'checkers' });
    return;
  }
}

function diffRealServers(out: PlanItem[], vsT: string, a: VirtualServer, b: VirtualServer): void {
  const la = a.real_server;
  const lb = b.real_server;
  // The usual reload keeps the same servers in the same order: pair them up without maps.
  let aligned = la.length === lb.length;
  for (let i = 0; aligned && i < la.length; i++) aligned = la[i].ip === lb[i].ip && la[i].port === lb[i].port;
  if (aligned) {
    for (let i = 0; i < lb.length; i++) diffRealServer(out, vsT, la[i], lb[i]);
    return;
  }
  const key = (r: RealServer) => ep(r.ip, r.port);
  const ma = byName(la, key);
  const mb = byName(lb, key);
  for (const [k] of ma) if (!mb.has(k)) out.push({ op: '-', kind: 'rs', target: `${vsT} ${k}` });
  for (const [k, rb] of mb) {
    const ra = ma.get(k);
    if (!ra) out.push({ op: '+', kind: 'rs', target: `${vsT} ${k}` });
    else diffRealServer(out, vsT, ra, rb);
  }
}

export function diffConfigs(a: ConfigModel, b: ConfigModel): PlanItem[] {
  const out: PlanItem[] = [];
  for (const block of ['global_defs', 'lvsd_defs', 'SSL'] as const) {
    const x = a[block];
    const y = b[block];
    if (x && y) fieldChanges(out, block, block, x, y, NO_SKIP);
    else if (!same(x, y)) out.push({ op: '~', kind: block, target: block });
  }
  const vsa = byName(a.virtual_server, vsTarget);
  const vsb = byName(b.virtual_server, vsTarget);
  for (const [k] of vsa) if (!vsb.has(k)) out.push({ op: '-', kind: 'vs', target: k });
  for (const [k, vb] of vsb) {
    const va = vsa.get(k);
    if (!va) {
      out.push({ op: '+', kind: 'vs', target: k });
      for (const r of vb.real_server) out.push({ op: '+', kind: 'rs', target: `${k} ${ep(r.ip, r.port)}` });
      continue;
    }
    if (!unchangedBlock(va, vb, VS_SKIP)) fieldChanges(out, 'vs', k, va, vb, VS_SKIP);
    diffRealServers(out, k, va, vb);
  }
  const named = <T extends { name: string }>(kind: string, xa: readonly T[], xb: readonly T[]) => {
    const ma = byName(xa, (x) => x.name);
    const mb = byName(xb, (x) => x.name);
    for (const [k] of ma) if (!mb.has(k)) out.push({ op: '-', kind, target: k });
    for (const [k, y] of mb) {
      const x = ma.get(k);
      if (!x) out.push({ op: '+', kind, target: k });
      else fieldChanges(out, kind, k, x, y, NAME_SKIP);
    }
  };
  named('vrrp', a.vrrp_instance, b.vrrp_instance);
  named('vrrp_script', a.vrrp_script, b.vrrp_script);
  named('sync_group', a.vrrp_sync_group, b.vrrp_sync_group);
  named('track_file', a.track_file, b.track_file);
  named('schedule', a.lvsd_schedule, b.lvsd_schedule);
  named('virtual_server_group', a.virtual_server_group, b.virtual_server_group);
  if (!same(a.static_ipaddress, b.static_ipaddress)) out.push({ op: '~', kind: 'static_ipaddress', target: 'static_ipaddress' });
  if (!same(a.static_routes, b.static_routes)) out.push({ op: '~', kind: 'static_routes', target: 'static_routes' });
  return out;
}

function short(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') {
    const m = v as { method?: string };
    if (typeof m.method === 'string' && Object.keys(v).length <= 2) return m.method;
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }
  return String(v);
}

/** One line per item: `+vs TCP 192.0.2.1:80`, `~weight TCP 192.0.2.1:80 198.51.100.1:80 1->3`. */
export function renderPlan(items: readonly PlanItem[]): string[] {
  return items.map((i) => {
    if (i.op !== '~') return `${i.op}${i.kind} ${i.target}`;
    if (i.field === undefined) return `~${i.kind} ${i.target}`;
    const prefix = i.kind === 'vs' || i.kind === 'rs' ? '' : `${i.kind} `;
    if (i.field === 'checkers') return `~checkers ${i.target}`;
    return `~${i.field} ${prefix}${i.target} ${short(i.from)}->${short(i.to)}`;
  });
}
