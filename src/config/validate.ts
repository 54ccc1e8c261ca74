// Cross-block validation: duplicates, references, combinations. Local value checks (ranges,
// address syntax) happen while reading; this pass sees the whole model.

import { Loc, formatLoc } from './diagnostics.js';
import { ConfigModel } from './keywords/top.js';
import { RealServer, VirtualServer } from './keywords/lvs.js';
import { canonicalAddress, Ctx, keyLoc, locOf } from './schema.js';
import { splitCommand } from '../check/index.js';

export function validate(config: ConfigModel, ctx: Ctx): void {
  validateLvs(config, ctx);
  validateVrrp(config, ctx);
  validateScripts(config, ctx);
  validateBfd(config, ctx);
}

/**
 * bfd_instance (keepalived bfd_parser.c): a name once, a neighbour (unique), source of the same
 * family; BFD_CHECK and track_bfd name an instance whose events reach them (`vrrp` / `checker`).
 */
function validateBfd(config: ConfigModel, ctx: Ctx): void {
  const { diag } = ctx;
  const byName = new Map<string, { vrrp: boolean; checker: boolean; loc: Loc | null }>();
  const neighbors = new Map<string, string>();
  for (const b of config.bfd_instance) {
    const loc = locOf(b);
    const prev = byName.get(b.name);
    if (prev) diag.error('ECONFIG_DUPLICATE', `bfd_instance '${b.name}' is defined twice${firstAt(prev.loc)}`, loc);
    // neither keyword: events go to both (bfd_end_handler)
    byName.set(b.name, { vrrp: b.vrrp || !b.checker, checker: b.checker || !b.vrrp, loc });
    if (b.neighbor_ip === null) {
      diag.error('ECONFIG_BFD', `bfd_instance ${b.name} needs 'neighbor_ip'`, loc);
      continue;
    }
    const nkey = `${canonicalAddress(b.neighbor_ip)?.addr ?? b.neighbor_ip}|${b.multihop}`;
    const other = neighbors.get(nkey);
    if (other) diag.error('ECONFIG_DUPLICATE', `bfd_instance ${b.name}: neighbor_ip ${b.neighbor_ip} is already bfd_instance ${other}'s`, keyLoc(b, 'neighbor_ip'));
    else neighbors.set(nkey, b.name);
    if (b.source_ip !== null && b.source_ip.includes(':') !== b.neighbor_ip.includes(':'))
      diag.error('ECONFIG_FAMILY', `bfd_instance ${b.name}: source_ip ${b.source_ip} and neighbor_ip ${b.neighbor_ip} are of different families`, keyLoc(b, 'source_ip'));
    const ttl = b.neighbor_ip.includes(':') ? b.hoplimit : b.ttl;
    if (b.max_hops > ttl) diag.warn('WCONFIG_RANGE', `bfd_instance ${b.name}: max_hops ${b.max_hops} exceeds the ttl/hoplimit ${ttl}; ${ttl} is used`, keyLoc(b, 'max_hops'));
  }
  const ref = (name: string | null, who: 'vrrp' | 'checker', owner: string, loc: Loc | null) => {
    if (name === null) return diag.error('ECONFIG_CHECKER', "BFD_CHECK needs 'name NAME'", loc);
    const b = byName.get(name);
    if (!b) diag.error('ECONFIG_REFERENCE', `bfd_instance '${name}' is not defined (${owner})`, loc);
    else if (!b[who]) diag.error('ECONFIG_REFERENCE', `bfd_instance '${name}' sends its events to ${who === 'vrrp' ? 'checkers' : 'VRRP'} only (${owner})`, loc);
  };
  for (const vs of config.virtual_server)
    for (const rs of vs.real_server)
      for (let i = 0; i < rs.BFD_CHECK.length; i++) ref(rs.BFD_CHECK[i].name, 'checker', `BFD_CHECK of real_server ${rsName(rs)} in virtual_server ${vsName(vs)}`, locOf(rs.BFD_CHECK[i]));
  for (const vi of config.vrrp_instance) for (const t of vi.track_bfd) ref(t.name, 'vrrp', `track_bfd in vrrp_instance ${vi.name}`, locOf(t));
  for (const g of config.vrrp_sync_group) for (const t of g.track_bfd) ref(t.name, 'vrrp', `track_bfd in vrrp_sync_group ${g.name}`, locOf(t));
}

const QUORUM_SCRIPTS = ['quorum_up', 'quorum_down'] as const;

/** Every script command must split into words (keepalived's quoting) now, not when it runs. */
function validateScripts(config: ConfigModel, ctx: Ctx): void {
  const check = (owner: object, key: string, cmd: string | null | undefined) => {
    if (cmd === null || cmd === undefined) return;
    try {
      splitCommand(cmd);
    } catch (e) {
      ctx.diag.error('ECONFIG_SCRIPT', `'${key}': ${(e as Error).message}`, keyLoc(owner, key));
    }
  };
  const refs = (owner: object, keys: readonly string[]) => {
    for (const k of keys) check(owner, k, ((owner as Record<string, unknown>)[k] as { cmd: string } | null)?.cmd);
  };
  const notifies = ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'] as const;
  for (const vs of config.virtual_server) {
    refs(vs, QUORUM_SCRIPTS);
    for (const rs of vs.real_server) {
      if (rs.notify_up !== null) check(rs, 'notify_up', rs.notify_up.cmd);
      if (rs.notify_down !== null) check(rs, 'notify_down', rs.notify_down.cmd);
      for (let i = 0; i < rs.MISC_CHECK.length; i++) check(rs.MISC_CHECK[i], 'misc_path', rs.MISC_CHECK[i].misc_path);
    }
  }
  for (const vi of config.vrrp_instance) refs(vi, notifies);
  for (const g of config.vrrp_sync_group) refs(g, notifies);
  for (const sc of config.vrrp_script) check(sc, 'script', sc.script);
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
  const seen = new Map<string, VirtualServer>();
  for (const vs of config.virtual_server) {
    const id = vsIdentity(vs);
    const first = seen.get(id);
    if (first) diag.error('ECONFIG_DUPLICATE', `virtual_server ${vs.protocol} ${vsName(vs)} is defined twice${firstAt(locOf(first))}`, locOf(vs));
    else seen.set(id, vs);
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
    if (vs.fullnat_snat) validateFullnatSnat(vs, config, ctx);
  }
}

/** The address families a virtual_server's services have (a group may mix them). */
function serviceFamilies(vs: VirtualServer, config: ConfigModel): Set<4 | 6> {
  const own = vsFamily(vs) ?? (vs.real_server.length > 0 && vs.real_server.every((r) => r.family === 6) ? 6 : 4);
  if (vs.key.kind !== 'group') return new Set([own]);
  const name = vs.key.group;
  const group = config.virtual_server_group.find((g) => g.name === name);
  return new Set((group?.entries ?? []).map((e) => e.family ?? own));
}

/**
 * A virtual_server's own `fullnat_snat` must name an address of each family its FULLNAT services
 * have (lvsd_defs' address does not fill a gap: the operator chose this service's source). Checked
 * here so `lvsd -t` says it, not only the nft engine when it programs the service.
 */
function validateFullnatSnat(vs: VirtualServer, config: ConfigModel, ctx: Ctx): void {
  const snat = vs.fullnat_snat!;
  const loc = keyLoc(vs, 'fullnat_snat');
  const fullnat = vs.lvs_method?.method === 'FULLNAT' || vs.real_server.some((r) => r.lvs_method?.method === 'FULLNAT');
  if (!fullnat) {
    ctx.diag.warn('WCONFIG_IGNORED', `fullnat_snat has no effect: virtual_server ${vsName(vs)} has no FULLNAT real server`, loc);
    return;
  }
  for (const fam of serviceFamilies(vs, config)) {
    if ((fam === 6 ? snat.v6 : snat.v4) === null) {
      ctx.diag.error('ECONFIG_FAMILY', `fullnat_snat has no IPv${fam} address for the IPv${fam} service virtual_server ${vsName(vs)}`, loc);
    }
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
  // The first of each address: its place is worked out only for a duplicate's message.
  const seen = new Map<string, RealServer>();
  const fam = vsFamily(vs);
  const servers = vs.sorry_server ? [...vs.real_server] : vs.real_server;
  for (const rs of servers) {
    const id = `${rs.ip}:${rs.port}`;
    const first = seen.get(id);
    if (first) diag.error('ECONFIG_DUPLICATE', `real_server ${rsName(rs)} is defined twice in virtual_server ${vsName(vs)}${firstAt(locOf(first))}`, locOf(rs));
    else seen.set(id, rs);
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
    // Indexed loops: most checker lists are the shared frozen empty one (for-of allocates).
    for (let i = 0; i < rs.HTTP_GET.length + rs.SSL_GET.length; i++) {
      const c = i < rs.HTTP_GET.length ? rs.HTTP_GET[i] : rs.SSL_GET[i - rs.HTTP_GET.length];
      if (c.url.length === 0) diag.error('ECONFIG_CHECKER', 'HTTP_GET/SSL_GET needs at least one url { path ... } block', locOf(c));
    }
    for (let i = 0; i < rs.MISC_CHECK.length; i++) {
      if (rs.MISC_CHECK[i].misc_path === null) diag.error('ECONFIG_CHECKER', "MISC_CHECK needs 'misc_path'", locOf(rs.MISC_CHECK[i]));
    }
    for (let i = 0; i < rs.FILE_CHECK.length; i++) {
      if (rs.FILE_CHECK[i].track_file === null) diag.error('ECONFIG_CHECKER', "FILE_CHECK needs 'track_file NAME'", locOf(rs.FILE_CHECK[i]));
    }
  }
  if (vs.sorry_server && fam !== null && vs.sorry_server.family !== fam && vs.sorry_server_lvs_method?.method !== 'TUN') {
    diag.error('ECONFIG_FAMILY', `sorry_server is IPv${vs.sorry_server.family} but virtual_server ${vsName(vs)} is IPv${fam}`, keyLoc(vs, 'sorry_server'));
  }
}

function validateVrrp(config: ConfigModel, ctx: Ctx): void {
  const { diag } = ctx;
  const names = (list: Array<{ name: string }>, what: string): Map<string, Loc | null> => {
    const m = new Map<string, Loc | null>();
    for (const x of list) {
      if (m.has(x.name)) diag.error('ECONFIG_DUPLICATE', `${what} '${x.name}' is defined twice${firstAt(m.get(x.name) ?? null)}`, locOf(x));
      else m.set(x.name, locOf(x));
    }
    return m;
  };
  const instances = names(config.vrrp_instance, 'vrrp_instance');
  const scripts = names(config.vrrp_script, 'vrrp_script');
  const files = names(config.track_file, 'track_file');
  const processes = names(config.vrrp_track_process, 'vrrp_track_process');
  names(config.vrrp_sync_group, 'vrrp_sync_group');

  const refs = (list: Array<{ name: string }>, known: Map<string, Loc | null>, what: string, owner: string) => {
    for (const r of list) if (!known.has(r.name)) diag.error('ECONFIG_REFERENCE', `${what} '${r.name}' is not defined (${owner})`, locOf(r));
  };
  const vrids = new Map<string, { name: string; loc: Loc | null }>();
  const defaultIf = config.global_defs?.default_interface ?? null;
  for (const vi of config.vrrp_instance) {
    const owner = `in vrrp_instance ${vi.name}`;
    refs(vi.track_script, scripts, 'vrrp_script', owner);
    refs(vi.track_file, files, 'track_file', owner);
    refs(vi.track_process, processes, 'vrrp_track_process', owner);
    if (vi.virtual_router_id === null) diag.error('ECONFIG_VRRP', `vrrp_instance ${vi.name} needs 'virtual_router_id' (1..255)`, locOf(vi));
    const ifname = vi.interface ?? defaultIf;
    if (ifname === null) diag.error('ECONFIG_VRRP', `vrrp_instance ${vi.name} needs 'interface' (or global_defs default_interface)`, locOf(vi));
    const v6 = vi.virtual_ipaddress.length > 0 && vi.virtual_ipaddress.every((a) => a.family === 6);
    if (vi.virtual_router_id !== null && ifname !== null) {
      const key = `${ifname}/${v6 ? 6 : 4}/${vi.virtual_router_id}`;
      const prev = vrids.get(key);
      if (prev) diag.error('ECONFIG_DUPLICATE', `virtual_router_id ${vi.virtual_router_id} on ${ifname} is already used by vrrp_instance ${prev.name}${firstAt(prev.loc)}`, keyLoc(vi, 'virtual_router_id'));
      else vrids.set(key, { name: vi.name, loc: keyLoc(vi, 'virtual_router_id') });
    }
    if (vi.version === 3 && vi.authentication) diag.warn('WCONFIG_VRRP', 'VRRPv3 has no authentication: the authentication block is ignored', keyLoc(vi, 'authentication'));
    const families = new Set(vi.virtual_ipaddress.map((a) => a.family));
    if (families.size > 1) diag.error('ECONFIG_FAMILY', `vrrp_instance ${vi.name} mixes IPv4 and IPv6 virtual addresses (use virtual_ipaddress_excluded for the other family)`, keyLoc(vi, 'virtual_ipaddress'));
    if (v6 && vi.version === 2) diag.warn('WCONFIG_VRRP', 'VRRPv2 carries IPv4 only: this IPv6 instance runs VRRPv3', keyLoc(vi, 'version'));
  }
  const member = new Map<string, string>();
  for (const g of config.vrrp_sync_group) {
    for (const m of g.group) {
      const at = keyLoc(g, 'group');
      if (!instances.has(m)) diag.error('ECONFIG_REFERENCE', `vrrp_instance '${m}' is not defined (in vrrp_sync_group ${g.name})`, at);
      else if (member.has(m)) diag.error('ECONFIG_VRRP', `vrrp_instance '${m}' is already in vrrp_sync_group ${member.get(m)}`, at);
      else member.set(m, g.name);
    }
    refs(g.track_script, scripts, 'vrrp_script', `in vrrp_sync_group ${g.name}`);
    refs(g.track_file, files, 'track_file', `in vrrp_sync_group ${g.name}`);
  }
  for (const vs of config.virtual_server) {
    for (const rs of vs.real_server) {
      for (let i = 0; i < rs.FILE_CHECK.length; i++) {
        const fc = rs.FILE_CHECK[i];
        if (fc.track_file !== null && !files.has(fc.track_file)) diag.error('ECONFIG_REFERENCE', `track_file '${fc.track_file}' is not defined (in FILE_CHECK of real_server ${rsName(rs)})`, keyLoc(fc, 'track_file'));
      }
    }
  }
  for (const sch of config.lvsd_schedule) validateSchedule(config, sch, ctx);
}

function validateSchedule(config: ConfigModel, sch: ConfigModel['lvsd_schedule'][number], ctx: Ctx): void {
  const where = `lvsd_schedule ${sch.name}`;
  if (sch.cron === null) ctx.diag.error('ECONFIG_SCHEDULE', `${where} needs 'cron "EXPRESSION"'`, locOf(sch));
  if (sch.action === null) ctx.diag.error('ECONFIG_SCHEDULE', `${where} needs 'action drain|restore|stats|reload'`, locOf(sch));
  if (sch.action === 'drain' || sch.action === 'restore') {
    if (!sch.virtual_server || !sch.real_server) {
      ctx.diag.error('ECONFIG_SCHEDULE', `${where}: '${sch.action}' needs 'virtual_server IP PORT' and 'real_server IP PORT'`, locOf(sch));
      return;
    }
    const vsRef = sch.virtual_server;
    const rsRef = sch.real_server;
    const vs = config.virtual_server.find((v) => v.key.kind === 'ip' && v.key.ip === vsRef.ip && v.key.port === vsRef.port && v.protocol === sch.protocol);
    if (!vs) ctx.diag.error('ECONFIG_REFERENCE', `${where}: no virtual_server ${sch.protocol} ${vsRef.ip} ${vsRef.port}`, keyLoc(sch, 'virtual_server'));
    else if (!vs.real_server.some((r) => r.ip === rsRef.ip && r.port === rsRef.port)) {
      ctx.diag.error('ECONFIG_REFERENCE', `${where}: virtual_server ${vsRef.ip} ${vsRef.port} has no real_server ${rsRef.ip} ${rsRef.port}`, keyLoc(sch, 'real_server'));
    }
  }
}
