// Cross-block validation: duplicates, references, combinations. Local value checks (ranges,
// address syntax) happen while reading; this pass sees the whole model.

import { Loc, formatLoc } from './diagnostics.js';
import { ConfigModel } from './keywords/top.js';
import { RealServer, VirtualServer } from './keywords/lvs.js';
import { canonicalAddress, Ctx, keyLoc, locOf } from './schema.js';

export function validate(config: ConfigModel, ctx: Ctx): void {
  validateLvs(config, ctx);
  validateVrrp(config, ctx);
}

/** "first defined at FILE:LINE:COL" suffix for duplicate messages. */
function firstAt(loc: Loc | null): string {
  return loc ? ` (first defined at ${formatLoc(loc)})` : '';
}

export function vsName(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === 'fwmark') return `fwmark ${k.fwmark}`;
  if (k.kind === 'group') return `group ${k.group}`;
  return k.family === 6 ? `[${k.ip}]:${k.port}` : `${k.ip}:${k.port}`;
}

function vsIdentity(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === 'fwmark') return `fwmark:${k.fwmark}:${vs.ip_family ?? ''}`;
  if (k.kind === 'group') return `group:${k.group}:${vs.protocol}`;
  return `${vs.protocol}:${k.ip}:${k.port}`;
}

function vsFamily(vs: VirtualServer): 4 | 6 | null {
  if (vs.key.kind === 'ip') return vs.key.family;
  if (vs.ip_family) return vs.ip_family === 'inet6' ? 6 : 4;
  return null;
}

function validateLvs(config: ConfigModel, ctx: Ctx): void {
  const { diag } = ctx;
  const groups = new Map<string, Loc | null>();
  for (const g of config.virtual_server_group) {
    if (groups.has(g.name)) diag.error('ECONFIG_DUPLICATE', `virtual_server_group '${g.name}' is defined twice${firstAt(groups.get(g.name) ?? null)}`, locOf(g));
    else groups.set(g.name, locOf(g));
  }
  const seen = new Map<string, Loc | null>();
  for (const vs of config.virtual_server) {
    const id = vsIdentity(vs);
    if (seen.has(id)) diag.error('ECONFIG_DUPLICATE', `virtual_server ${vs.protocol} ${vsName(vs)} is defined twice${firstAt(seen.get(id) ?? null)}`, locOf(vs));
    else seen.set(id, locOf(vs));
    if (vs.key.kind === 'group' && !groups.has(vs.key.group)) {
      diag.error('ECONFIG_REFERENCE', `virtual_server group '${vs.key.group}' is not defined (no virtual_server_group of that name)`, locOf(vs));
    }
    if (vs.key.kind === 'ip' && vs.key.port === 0 && vs.persistence_timeout === 0 && vs.protocol !== 'SCTP') {
      diag.error('ECONFIG_VALUE', `virtual_server ${vsName(vs)}: the port may be omitted (or 0) only for a persistent service`, locOf(vs));
    }
    validateSchedFlags(vs, ctx);
    if (vs.ops && vs.protocol !== 'UDP') diag.error('ECONFIG_COMBINATION', "'ops' (one-packet scheduling) applies to UDP services only", keyLoc(vs, 'ops'));
    if (vs.persistence_granularity !== null) validateGranularity(vs, ctx);
    validateRealServers(vs, ctx);
  }
}

function validateSchedFlags(vs: VirtualServer, ctx: Ctx): void {
  const owners: Array<[keyof VirtualServer & string, string]> = [
    ['sh-port', 'sh'],
    ['sh-fallback', 'sh'],
    ['mh-port', 'mh'],
    ['mh-fallback', 'mh'],
  ];
  for (const [flag, sched] of owners) {
    if (vs[flag] && vs.lvs_sched !== sched) {
      ctx.diag.error('ECONFIG_COMBINATION', `'${flag}' applies to the ${sched} scheduler only (this service uses ${vs.lvs_sched})`, keyLoc(vs, flag));
    }
  }
}

function validateGranularity(vs: VirtualServer, ctx: Ctx): void {
  const g = vs.persistence_granularity as string;
  const fam = vsFamily(vs) ?? 4;
  const loc = keyLoc(vs, 'persistence_granularity');
  if (fam === 6) {
    if (!/^\d{1,3}$/.test(g) || Number(g) < 1 || Number(g) > 128) ctx.diag.error('ECONFIG_VALUE', `persistence_granularity '${g}' must be an IPv6 prefix length (1..128) for an IPv6 service`, loc);
    return;
  }
  const a = canonicalAddress(g);
  const n = a && a.family === 4 ? a.addr.split('.').reduce((acc, p) => acc * 256 + Number(p), 0) : -1;
  const inverted = n >= 0 ? (~n >>> 0) : 0;
  if (n < 0 || (inverted & (inverted + 1)) !== 0) ctx.diag.error('ECONFIG_VALUE', `persistence_granularity '${g}' is not an IPv4 netmask (e.g. 255.255.255.0)`, loc);
}

function rsName(rs: RealServer): string {
  return rs.family === 6 ? `[${rs.ip}]:${rs.port}` : `${rs.ip}:${rs.port}`;
}

function validateRealServers(vs: VirtualServer, ctx: Ctx): void {
  const { diag } = ctx;
  const seen = new Map<string, Loc | null>();
  const fam = vsFamily(vs);
  const servers = vs.sorry_server ? [...vs.real_server] : vs.real_server;
  for (const rs of servers) {
    const id = `${rs.ip}:${rs.port}`;
    if (seen.has(id)) diag.error('ECONFIG_DUPLICATE', `real_server ${rsName(rs)} is defined twice in virtual_server ${vsName(vs)}${firstAt(seen.get(id) ?? null)}`, locOf(rs));
    else seen.set(id, locOf(rs));
    const method = rs.lvs_method?.method ?? 'NAT';
    if (fam !== null && rs.family !== fam && method !== 'TUN') {
      diag.error('ECONFIG_FAMILY', `real_server ${rsName(rs)} is IPv${rs.family} but virtual_server ${vsName(vs)} is IPv${fam} (only TUN may mix families)`, locOf(rs));
    }
    if ((method === 'DR' || method === 'TUN') && vs.key.kind === 'ip' && rs.port !== 0 && vs.key.port !== 0 && rs.port !== vs.key.port) {
      diag.warn('WCONFIG_PORT_MAP', `${method} cannot map ports: real_server ${rsName(rs)} will receive traffic on port ${vs.key.port}`, locOf(rs));
    }
    if (rs.lthreshold && rs.uthreshold && rs.lthreshold > rs.uthreshold) {
      diag.error('ECONFIG_VALUE', `lthreshold ${rs.lthreshold} is above uthreshold ${rs.uthreshold}`, keyLoc(rs, 'lthreshold'));
    }
    for (const c of [...rs.HTTP_GET, ...rs.SSL_GET]) {
      if (c.url.length === 0) diag.error('ECONFIG_CHECKER', 'HTTP_GET/SSL_GET needs at least one url { path ... } block', locOf(c));
    }
    for (const c of rs.MISC_CHECK) {
      if (c.misc_path === null) diag.error('ECONFIG_CHECKER', "MISC_CHECK needs 'misc_path'", locOf(c));
    }
    for (const c of rs.FILE_CHECK) {
      if (c.track_file === null) diag.error('ECONFIG_CHECKER', "FILE_CHECK needs 'track_file NAME'", locOf(c));
    }
  }
  if (vs.sorry_server && fam !== null && vs.sorry_server.family !== fam && vs.sorry_server_lvs_method?.method !== 'TUN') {
    diag.error('ECONFIG_FAMILY', `sorry_server is IPv${vs.sorry_server.family} but virtual_server ${vsName(vs)} is IPv${fam}`, keyLoc(vs, 'sorry_server'));
  }
}

function validateVrrp(config: ConfigModel, ctx: Ctx): void {
  void config;
  void ctx;
}
