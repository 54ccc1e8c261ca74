// VRRP: vrrp_script, vrrp_sync_group, garp_group, vrrp_instance (keepalived.conf(5), "VRRPD
// CONFIGURATION"; keepalived/vrrp/vrrp_parser.c). Instance options left null take the matching
// global_defs value (garp_*, version, strict_mode, ...), as keepalived does.

import { Stmt } from '../parse.js';
import {
  address, block, blocks, choice, Ctx, custom, expectArgs, expectBlock, flag, int, intOrBare, itemWords, listBlock, Located, many, ModelOf,
  readAddress, readBlock, readBool, readInt, Schema, script, ScriptRef, str, text, timer, words,
} from '../schema.js';
import { readGarpExtraIf, readUserGroup, UserGroup } from './global.js';
import { readAddressEntry, readName, readRoute, readRule } from './static.js';
import { nameHeader, trackLists, weightSpec } from './track.js';

const off = { acted: false } as const;
const UINT32 = 0xffffffff;

/** `keyword [BOOL]` whose absence means "inherit the global setting" (null). */
function inheritFlag(extra: { acted?: boolean; aliases?: string[] } = {}) {
  return custom<boolean | null>(
    (s, ctx) => (expectArgs(s, ctx, 0, 1, 'at most one on|off argument') ? (s.args.length ? readBool(s.args[0], ctx) : true) : undefined),
    () => null,
    extra,
  );
}

// ---------------------------------------------------------------------------------------------
// vrrp_script NAME { ... }

export const vrrpScriptSchema = {
  /** The command line (a quoted string stays one word; unquoted words are joined by spaces). */
  script: text(null),
  interval: timer(1, 0.001, 4294967),
  /** null: the interval. */
  timeout: timer(null, 0.001, 4294967),
  weight: weightSpec(0, -253, 253),
  rise: int(1, 1, 0x7fffffff),
  fall: int(1, 1, 0x7fffffff),
  /** null: global_defs script_user. */
  user: custom<UserGroup | null>(readUserGroup, () => null),
  init_fail: flag(false),
};

// ---------------------------------------------------------------------------------------------
// vrrp_sync_group NAME { group { ... } ... }

export const syncGroupSchema = {
  group: listBlock(readName),
  ...trackLists,
  notify_master: script(),
  notify_backup: script(),
  notify_fault: script(),
  notify_stop: script(),
  notify: script(),
  notify_priority_changes: flag(false, off),
  /** null: global smtp_alert_vrrp, else smtp_alert (keepalived vrrp.c). */
  smtp_alert: inheritFlag(),
  /** Deprecated in keepalived (ignored there too). */
  global_tracking: flag(false, off),
  sync_group_tracking_weight: flag(false, off),
};

export type SyncGroup = { name: string } & ModelOf<typeof syncGroupSchema> & Located;

/** Old keepalived files list the members directly in the group block (`vrrp_sync_group G { VI_1 VI_2 }`). */
function readSyncGroup(s: Stmt, ctx: Ctx): SyncGroup | undefined {
  const h = nameHeader(s, ctx);
  if (!h || !expectBlock(s, ctx)) return undefined;
  const bare: Stmt[] = s.block.filter((b) => !b.args.length && !b.block && !(b.key.text in syncGroupSchema));
  const g = readBlock(syncGroupSchema, s.block, ctx, { name: 'vrrp_sync_group', skip: new Set(bare.map((b) => b.key.text)) }, s.loc, { name: h.name }) as SyncGroup;
  for (const b of bare) {
    ctx.diag.warn('WCONFIG_DEPRECATED', `instance '${b.key.text}' listed directly in vrrp_sync_group: the current spelling is 'group { ${b.key.text} }'`, b.key.loc);
    g.group.push(b.key.text);
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// garp_group { ... }

export const garpGroupSchema = {
  /** null: global vrrp_garp_interval. */
  garp_interval: timer(null, 0, 1000),
  /** null: global vrrp_gna_interval. */
  gna_interval: timer(null, 0, 1000),
  interface: str(null),
  interfaces: listBlock(readName),
};

// ---------------------------------------------------------------------------------------------
// vrrp_instance NAME { ... }

export interface UnicastPeer {
  addr: string;
  family: 4 | 6;
  minTtl: number | null;
  maxTtl: number | null;
}

function readUnicastPeer(s: Stmt, ctx: Ctx): UnicastPeer | undefined {
  const w = itemWords(s);
  if (s.block) {
    ctx.diag.error('ECONFIG_BLOCK', 'a unicast_peer entry does not take a block', s.blockLoc);
    return undefined;
  }
  const a = readAddress(w[0], ctx, 'unicast peer');
  if (!a) return undefined;
  const peer: UnicastPeer = { addr: a.addr, family: a.family, minTtl: null, maxTtl: null };
  for (let i = 1; i < w.length; i += 2) {
    const k = w[i].text;
    if (k !== 'min_ttl' && k !== 'max_ttl') {
      ctx.diag.error('ECONFIG_ARGS', `unknown unicast_peer option '${k}' (expected min_ttl or max_ttl)`, w[i].loc);
      return undefined;
    }
    if (!w[i + 1]) {
      ctx.diag.error('ECONFIG_ARGS', `'${k}' needs a value (0..255)`, w[i].loc);
      return undefined;
    }
    const n = readInt(w[i + 1], ctx, 0, 255, k);
    if (n === undefined) return undefined;
    if (k === 'min_ttl') peer.minTtl = n;
    else peer.maxTtl = n;
  }
  if (peer.minTtl !== null && peer.maxTtl !== null && peer.minTtl > peer.maxTtl) {
    ctx.diag.error('ECONFIG_RANGE', `min_ttl ${peer.minTtl} is above max_ttl ${peer.maxTtl}`, w[0].loc);
    return undefined;
  }
  return peer;
}

/** keepalived only uses the first 8 characters of a PASS password (vrrp_parser.c). */
export const AUTH_PASS_MAX = 8;

export const authenticationSchema = {
  auth_type: choice(['PASS', 'AH'] as const, null, { fold: true }),
  auth_pass: custom<string | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 1, 'one password')) return undefined;
      const p = s.args[0].text;
      if (p.length > AUTH_PASS_MAX) ctx.diag.warn('WCONFIG_TRUNCATED', `auth_pass is longer than ${AUTH_PASS_MAX} characters; only '${p.slice(0, AUTH_PASS_MAX)}' is used`, s.args[0].loc);
      return p.slice(0, AUTH_PASS_MAX);
    },
    () => null,
  ),
};

export interface HmacKey {
  id: number;
  /** hex:..., file:..., or the ASCII key as written. */
  value: string;
}

export const authHmacSchema = {
  key: many(
    custom<HmacKey>(
      (s, ctx) => {
        if (!expectArgs(s, ctx, 2, 2, 'an id (1..255) and a key')) return undefined;
        const id = readInt(s.args[0], ctx, 1, 255, 'key id');
        return id === undefined ? undefined : { id, value: s.args[1].text };
      },
      () => ({ id: 0, value: '' }),
    ),
  ),
  active_key: int(null, 1, 255),
  anti_replay: choice(['time', 'monotonic'] as const, 'time'),
  /** null: max(3 x advert_int, 5). */
  time_window: int(null, 1, 300),
  mode: choice(['enforce', 'permissive', 'receive-only'] as const, 'enforce'),
};

export interface UseVmac {
  name: string | null;
  mac: string | null;
  netlinkNotifyMsg: boolean;
  group: string | null;
}

function readUseVmac(s: Stmt, ctx: Ctx): UseVmac | undefined {
  if (!expectArgs(s, ctx, 0, 7, '[[name] IFNAME] [MAC] [netlink_notify_msg] [group GROUP]')) return undefined;
  const v: UseVmac = { name: null, mac: null, netlinkNotifyMsg: false, group: null };
  const a = s.args;
  for (let i = 0; i < a.length; i++) {
    const t = a[i].text;
    if (t === 'netlink_notify_msg') v.netlinkNotifyMsg = true;
    else if ((t === 'group' || t === 'name') && a[i + 1]) {
      if (t === 'group') v.group = a[++i].text;
      else v.name = a[++i].text;
    } else if (/^([0-9a-f]{2}:){4,5}[0-9a-f]{2}$/i.test(t)) v.mac = t.toLowerCase();
    else if (v.name === null) v.name = t;
    else {
      ctx.diag.error('ECONFIG_ARGS', `unexpected '${t}' in use_vmac`, a[i].loc);
      return undefined;
    }
  }
  return v;
}

const garpExtraIf = custom<{ all: boolean; interval: number } | null>(readGarpExtraIf, () => null, { acted: false, aliases: ['vmac_garp_intvl'] });

export const vrrpInstanceSchema = {
  state: choice(['MASTER', 'BACKUP'] as const, 'BACKUP', { fold: true }),
  interface: str(null),
  virtual_router_id: int(null, 1, 255),
  priority: int(100, 1, 255),
  /** Seconds; v2 uses whole seconds, v3 centiseconds (rounding happens in vrrp/). */
  advert_int: timer(1, 0.01, 255),
  /** null: global vrrp_version (IPv6 instances always run 3). */
  version: int(null, 2, 3),
  nopreempt: flag(false),
  /** Backwards compatibility: the default. */
  preempt: flag(false),
  preempt_delay: timer(0, 0, 1000),
  dont_track_primary: flag(false),
  ...trackLists,
  mcast_src_ip: address(null),
  unicast_src_ip: address(null),
  mcast_dst_ip: address(null, off),
  track_src_ip: flag(false),
  unicast_peer: listBlock(readUnicastPeer),
  unicast_fault_no_peer: flag(false),
  unicast_ttl: int(255, 0, 255),
  /** null: global vrrp_check_unicast_src. */
  check_unicast_src: inheritFlag(),
  /** 'on' (bare) forces the pre-1.3.6 checksum; 'never' turns off its auto-detection. */
  old_unicast_checksum: custom<'on' | 'never' | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 0, 1, 'at most "never"')) return undefined;
      if (!s.args.length) return 'on';
      if (s.args[0].text === 'never') return 'never';
      ctx.diag.error('ECONFIG_VALUE', `'${s.args[0].text}' is not 'never'`, s.args[0].loc);
      return undefined;
    },
    () => null,
  ),
  v3_checksum_as_v2: inheritFlag(),
  garp_master_delay: int(null, 0, UINT32),
  garp_master_repeat: int(null, 0, UINT32),
  garp_lower_prio_delay: int(null, 0, UINT32),
  garp_lower_prio_repeat: int(null, 0, 0x7fffffff),
  garp_master_refresh: int(null, 0, UINT32),
  garp_master_refresh_repeat: int(null, 0, UINT32),
  garp_extra_if: garpExtraIf,
  down_timer_adverts: int(null, 1, 100),
  lower_prio_no_advert: inheritFlag(),
  higher_prio_send_advert: inheritFlag(),
  skip_check_adv_addr: inheritFlag(),
  strict_mode: inheritFlag(),
  accept: flag(false),
  no_accept: flag(false),
  authentication: block('authentication', authenticationSchema),
  virtual_ipaddress: listBlock((s, ctx) => readAddressEntry(s, ctx, 'virtual')),
  virtual_ipaddress_excluded: listBlock((s, ctx) => readAddressEntry(s, ctx, 'virtual')),
  no_virtual_ipaddress: flag(false),
  virtual_routes: listBlock((s, ctx) => readRoute(s, ctx, 'virtual')),
  virtual_rules: listBlock(readRule, off),
  notify_master: script(),
  notify_backup: script(),
  notify_fault: script(),
  notify_stop: script(),
  notify: script(),
  notify_master_rx_lower_pri: script(),
  /** Send DELETED instead of FAULT when a reload removes the instance; optionally run a script. */
  notify_deleted: custom<{ script: ScriptRef | null } | null>(
    (s, ctx) => {
      if (!s.args.length) return expectArgs(s, ctx, 0, 0, '') ? { script: null } : undefined;
      const sc = script().parse(s, ctx);
      return sc ? { script: sc } : undefined;
    },
    () => null,
  ),
  use_vmac: custom<UseVmac | null>(readUseVmac, () => null),
  vmac_xmit_base: flag(false),
  // Read but not acted on
  use_vmac_addr: flag(false, off),
  use_ipvlan: words(off),
  vrf: str(null, off),
  native_ipv6: flag(false, off),
  auth_hmac: block('auth_hmac', authHmacSchema, undefined, off),
  promote_secondaries: flag(false, off),
  timer_expired_backup: intOrBare(null, 254, 1, 254, { acted: false, aliases: ['thread_timer_expired'] }),
  owner_ignore_adverts: inheritFlag(off),
  notify_priority_changes: flag(false, off),
  /** null: global smtp_alert_vrrp, else smtp_alert (keepalived vrrp.c). */
  smtp_alert: inheritFlag(),
  kernel_rx_buf_size: int(null, 0, UINT32, off),
  debug: int(0, 0, 4, off),
  /** Deprecated: use linkbeat_interfaces. */
  linkbeat_use_polling: flag(false, off),
  /** Deprecated since keepalived 1.2.19: use global_defs lvs_sync_daemon. */
  lvs_sync_daemon_interface: custom<string | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 1, 'one interface')) return undefined;
      ctx.diag.warn('WCONFIG_DEPRECATED', `'lvs_sync_daemon_interface' in a vrrp_instance is an old spelling of global_defs 'lvs_sync_daemon ${s.args[0].text} <instance>'`, s.key.loc);
      return s.args[0].text;
    },
    () => null,
    off,
  ),
} satisfies Schema;

export const vrrpKeywords = {
  vrrp_script: blocks('vrrp_script', vrrpScriptSchema, nameHeader),
  vrrp_sync_group: custom<SyncGroup[]>((s, ctx) => {
    const g = readSyncGroup(s, ctx);
    return g ? [g] : undefined;
  }, () => [], { merge: (a, b) => a.concat(b) }),
  garp_group: blocks('garp_group', garpGroupSchema, undefined, off),
  vrrp_instance: blocks('vrrp_instance', vrrpInstanceSchema, nameHeader),
};

export type VrrpInstance = { name: string } & ModelOf<typeof vrrpInstanceSchema> & Located;
export type VrrpScript = { name: string } & ModelOf<typeof vrrpScriptSchema> & Located;
