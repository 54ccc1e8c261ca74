// global_defs and the other GLOBAL CONFIGURATION blocks (keepalived.conf(5), "Global definitions",
// "Linkbeat interfaces"), with the static and tracking tables spread in. Defaults are keepalived's
// (core/global_data.c alloc_global_data/set_vrrp_defaults); null means "unset" in keepalived, with
// the meaning noted where it is not simply "off".

import { Diagnostics } from '../diagnostics.js';
import { Stmt } from '../parse.js';
import {
  address, block, Ctx, custom, ModelOf, readBlock, expectArgs, flag, int, intOrBare, itemWords, listBlock, optFlag, readAddress, readInt, readPort, script, str, timer, words,
} from '../schema.js';
import { staticKeywords } from './static.js';
import { trackKeywords } from './track.js';

const off = { acted: false } as const;
const UINT32 = 0xffffffff;

/** A keyword whose argument is optional: bare means `bare`. */
function optStr<D extends string | null>(def: D, bare: string, extra: { acted?: boolean; aliases?: string[] } = {}) {
  return custom<string | D>((s, ctx) => (expectArgs(s, ctx, 0, 1, 'at most one value') ? (s.args[0]?.text ?? bare) : undefined), () => def, extra);
}

/** `user [[:]group]` as keepalived's script_user/user keywords take it. */
export interface UserGroup {
  user: string;
  group: string | null;
}

export function readUserGroup(s: Stmt, ctx: Ctx): UserGroup | undefined {
  if (!expectArgs(s, ctx, 1, 2, 'a user name and optionally a group')) return undefined;
  let user = s.args[0].text;
  let group: string | null = s.args[1]?.text ?? null;
  if (group === null && user.includes(':')) [user, group] = user.split(':', 2) as [string, string];
  if (group?.startsWith(':')) group = group.slice(1);
  return { user, group: group || null };
}

/** notify_fifo and friends: `FIFO_NAME [username [groupname]]`. */
export interface FifoRef {
  name: string;
  user: string | null;
  group: string | null;
}

const fifo = () =>
  custom<FifoRef | null>(
    (s, ctx) => (expectArgs(s, ctx, 1, 3, 'a FIFO path, then optionally a user and a group') ? { name: s.args[0].text, user: s.args[1]?.text ?? null, group: s.args[2]?.text ?? null } : undefined),
    () => null,
  );

export interface SmtpServer {
  host: string;
  port: number;
}

export interface LvsSyncDaemon {
  interface: string;
  instance: string | null;
  /** null: the VRID of the instance, or 0. */
  syncid: number | null;
  maxlen: number | null;
  port: number | null;
  ttl: number | null;
  group: string | null;
}

function readLvsSyncDaemon(s: Stmt, ctx: Ctx): LvsSyncDaemon | undefined {
  if (!expectArgs(s, ctx, 1, 13, '<INTERFACE> [[inst] <VRRP_INSTANCE>] [id N] [maxlen N] [port N] [ttl N] [group ADDR]')) return undefined;
  const a = s.args;
  const out: LvsSyncDaemon = { interface: a[0].text, instance: null, syncid: null, maxlen: null, port: null, ttl: null, group: null };
  for (let i = 1; i < a.length; i++) {
    const k = a[i].text;
    const v = a[i + 1];
    const numeric: Record<string, [keyof LvsSyncDaemon, number, number]> = { id: ['syncid', 0, 255], maxlen: ['maxlen', 1, 65507], port: ['port', 1, 65535], ttl: ['ttl', 1, 255] };
    if (k in numeric || k === 'group' || k === 'inst') {
      if (!v) {
        ctx.diag.error('ECONFIG_ARGS', `'${k}' needs a value`, a[i].loc);
        return undefined;
      }
      i++;
      if (k === 'inst') out.instance = v.text;
      else if (k === 'group') {
        const g = readAddress(v, ctx, 'sync daemon group');
        if (!g) return undefined;
        out.group = g.addr;
      } else {
        const [field, min, max] = numeric[k];
        const n = readInt(v, ctx, min, max, `'${k}'`);
        if (n === undefined) return undefined;
        (out as unknown as Record<string, number>)[field] = n;
      }
    } else if (i === 1) out.instance = k; // `inst` may be omitted (backward compatibility)
    else {
      ctx.diag.error('ECONFIG_ARGS', `unexpected '${k}' in lvs_sync_daemon`, a[i].loc);
      return undefined;
    }
  }
  return out;
}

export interface LvsTimeouts {
  tcp: number | null;
  tcpfin: number | null;
  udp: number | null;
}

function readLvsTimeouts(s: Stmt, ctx: Ctx): LvsTimeouts | undefined {
  if (!expectArgs(s, ctx, 2, 6, '[tcp SECS] [tcpfin SECS] [udp SECS] (at least one)')) return undefined;
  const out: LvsTimeouts = { tcp: null, tcpfin: null, udp: null };
  for (let i = 0; i < s.args.length; i += 2) {
    const k = s.args[i].text;
    if (k !== 'tcp' && k !== 'tcpfin' && k !== 'udp') {
      ctx.diag.error('ECONFIG_ARGS', `'${k}' is not tcp, tcpfin or udp`, s.args[i].loc);
      return undefined;
    }
    const v = s.args[i + 1];
    if (!v) {
      ctx.diag.error('ECONFIG_ARGS', `'${k}' needs a number of seconds`, s.args[i].loc);
      return undefined;
    }
    const n = readInt(v, ctx, 0, 86400 * 31, `'${k}' timeout`);
    if (n === undefined) return undefined;
    out[k] = n;
  }
  return out;
}

/** The umask bits keepalived names (I{R|W|X}{USR|GRP|OTH}, IRWX{U|G|O}). */
const UMASK_BITS: Record<string, number> = {
  IRUSR: 0o400, IWUSR: 0o200, IXUSR: 0o100, IRGRP: 0o40, IWGRP: 0o20, IXGRP: 0o10, IROTH: 0o4, IWOTH: 0o2, IXOTH: 0o1,
  IRWXU: 0o700, IRWXG: 0o70, IRWXO: 0o7,
};

function readUmask(s: Stmt, ctx: Ctx): number | undefined {
  if (!expectArgs(s, ctx, 1, 100, 'a number or BITS joined by |')) return undefined;
  const text = s.args.map((a) => a.text).join('');
  if (/^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(text)) {
    const n = text.toLowerCase().startsWith('0x') ? parseInt(text, 16) : text.startsWith('0') ? parseInt(text, 8) : Number(text);
    if (n > 0o777) {
      ctx.diag.error('ECONFIG_RANGE', `umask ${text} is out of range 0..0777`, s.args[0].loc);
      return undefined;
    }
    return n;
  }
  let n = 0;
  for (const b of text.split('|')) {
    if (!(b in UMASK_BITS)) {
      ctx.diag.error('ECONFIG_VALUE', `'${b}' is not a umask bit (e.g. IRWXG, IXUSR)`, s.args[0].loc);
      return undefined;
    }
    n |= UMASK_BITS[b];
  }
  return n;
}

export interface LinkbeatInterface {
  ifname: string;
  type: 'MII' | 'ETHTOOL' | 'IOCTL' | null;
}

function readLinkbeat(s: Stmt, ctx: Ctx): LinkbeatInterface | undefined {
  const w = itemWords(s);
  const t = w[1]?.text.toUpperCase();
  if (w.length > 2 || (t !== undefined && t !== 'MII' && t !== 'ETHTOOL' && t !== 'IOCTL')) {
    ctx.diag.error('ECONFIG_ARGS', `a linkbeat_interfaces entry is 'IFNAME [MII|ETHTOOL|IOCTL]'`, (w[2] ?? w[1]).loc);
    return undefined;
  }
  return { ifname: w[0].text, type: (t as LinkbeatInterface['type']) ?? null };
}

const rttime = (extra: { aliases: string[] }) => int(10000, 1, UINT32, { ...off, ...extra });
const procPriority = () => int(0, -20, 19, off);
const rtPriority = () => int(null, 1, 99, off);
const cpuAffinity = () =>
  custom<number[]>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 4096, 'one or more CPU numbers')) return undefined;
      const out: number[] = [];
      for (const a of s.args) {
        const n = readInt(a, ctx, 0, 4095, 'cpu');
        if (n === undefined) return undefined;
        out.push(n);
      }
      return out;
    },
    () => [],
    off,
  );

/** `garp_extra_if [all] SECONDS`, in global_defs (vrrp_garp_extra_if) and in instances. */
export function readGarpExtraIf(s: Stmt, ctx: Ctx): { all: boolean; interval: number } | undefined {
  if (!expectArgs(s, ctx, 1, 2, '[all] SECONDS (0..86400)')) return undefined;
  const all = s.args.length === 2;
  if (all && s.args[0].text !== 'all') {
    ctx.diag.error('ECONFIG_ARGS', `expected 'all', not '${s.args[0].text}'`, s.args[0].loc);
    return undefined;
  }
  const n = readInt(s.args[all ? 1 : 0], ctx, 0, 86400, 'garp_extra_if interval');
  return n === undefined ? undefined : { all, interval: n };
}


export const globalDefsSchema = {
  // Identity, scripts and notification (lvsd acts on these)
  /** null: the local host name (filled in by the daemon, not here: this layer reads no system state). */
  router_id: str(null),
  script_user: custom<UserGroup | null>(readUserGroup, () => null),
  enable_script_security: flag(false),
  notify_fifo: fifo(),
  notify_fifo_script: script(),
  vrrp_notify_fifo: fifo(),
  vrrp_notify_fifo_script: script(),
  lvs_notify_fifo: fifo(),
  lvs_notify_fifo_script: script(),
  fifo_write_vrrp_states_on_reload: flag(false, off),
  vrrp_notify_priority_changes: flag(false, off),
  default_interface: str('eth0'),
  startup_script: script(off),
  startup_script_timeout: int(10, 1, 1000, off),
  shutdown_script: script(off),
  shutdown_script_timeout: int(10, 1, 1000, off),
  use_symlink_paths: flag(false, off),
  set_supplementary_groups: flag(false, off),

  // VRRP defaults (lvsd acts on these; see ../../shared/spec/vrrp.md)
  vrrp_mcast_group4: address('224.0.0.18'),
  vrrp_mcast_group6: address('ff02::12'),
  vrrp_garp_master_delay: int(5, 0, UINT32),
  vrrp_garp_master_repeat: int(5, 0, UINT32),
  /** null: vrrp_garp_master_delay. */
  vrrp_garp_lower_prio_delay: int(null, 0, UINT32),
  /** null: vrrp_garp_master_repeat. */
  vrrp_garp_lower_prio_repeat: int(null, 0, 0x7fffffff),
  vrrp_garp_master_refresh: int(0, 0, UINT32),
  vrrp_garp_master_refresh_repeat: int(1, 0, UINT32),
  vrrp_garp_interval: timer(0, 0, 1000),
  vrrp_gna_interval: timer(0, 0, 1000),
  vrrp_min_garp: flag(false),
  vrrp_garp_extra_if: custom<{ all: boolean; interval: number } | null>(readGarpExtraIf, () => null, { acted: false, aliases: ['vrrp_vmac_garp_intvl'] }),
  vrrp_down_timer_adverts: int(3, 1, 100),
  vrrp_lower_prio_no_advert: flag(false),
  vrrp_higher_prio_send_advert: flag(false),
  vrrp_version: int(2, 2, 3),
  v3_checksum_as_v2: flag(false),
  vrrp_check_unicast_src: flag(false),
  vrrp_skip_check_adv_addr: flag(false),
  vrrp_strict: flag(false),
  vrrp_startup_delay: timer(0, 0, 86400),
  vrrp_delay_after_boot: timer(0, 0, 86400, off),
  vrrp_owner_ignore_adverts: flag(false, off),
  log_unknown_vrids: flag(false, off),

  // SMTP alerts (src/alert). The three smtp_alert* are null when unset: keepalived's fallbacks
  // differ by object (core/global_data.c, vrrp.c, check_data.c).
  notification_email: custom<string[]>(
    (s, ctx) => {
      const items = listBlock((it: Stmt) => itemWords(it).map((w) => w.text)).parse(s, ctx);
      return items?.flat();
    },
    () => [],
    { merge: (a, b) => a.concat(b) },
  ),
  /** null: <user running lvsd>@<local host name> (keepalived set_default_email_from). */
  notification_email_from: str(null),
  smtp_server: custom<SmtpServer | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 2, 'a host and optionally a port')) return undefined;
      const p = s.args[1] ? readPort(s.args[1], ctx) : 25;
      return p === undefined ? undefined : { host: s.args[0].text, port: p };
    },
    () => null,
  ),
  /** null: the local host name. */
  smtp_helo_name: str(null),
  /** Seconds; keepalived takes 0 (before 2.0.7 it meant the default) as 1, with a warning. */
  smtp_connect_timeout: custom<number>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 1, 'one integer (1..2147483647)')) return undefined;
      const n = readInt(s.args[0], ctx, 0, 0x7fffffff, "'smtp_connect_timeout'");
      if (n !== 0) return n;
      ctx.diag.warn('WCONFIG_VALUE', 'smtp_connect_timeout must be greater than 0: using 1', s.args[0].loc);
      return 1;
    },
    () => 30,
  ),
  smtp_alert: optFlag(),
  smtp_alert_vrrp: optFlag(),
  smtp_alert_checker: optFlag(),
  checker_log_all_failures: flag(false, off),
  no_email_faults: flag(false),
  no_checker_emails: flag(false),
  rs_init_notifies: flag(false, off),

  // LVS kernel options (not acted on: lvsd has its own forwarding engines)
  lvs_sync_daemon: custom<LvsSyncDaemon | null>(readLvsSyncDaemon, () => null, off),
  lvs_timeouts: custom<LvsTimeouts | null>(readLvsTimeouts, () => null, off),
  lvs_flush: flag(false, off),
  /** 'all': flush everything at stop; 'vs': remove each virtual server (kernel drops the RSs). */
  lvs_flush_on_stop: custom<'none' | 'all' | 'vs'>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 0, 1, 'at most VS')) return undefined;
      if (!s.args.length) return 'all';
      if (s.args[0].text.toUpperCase() === 'VS') return 'vs';
      ctx.diag.error('ECONFIG_VALUE', `'${s.args[0].text}' is not VS`, s.args[0].loc);
      return undefined;
    },
    () => 'none',
    { acted: false, aliases: ['lvs_flush_onstop'] },
  ),

  // Firewall (not acted on)
  nftables: optStr(null, 'keepalived', off),
  nftables_priority: int(-1, -0x80000000, 0x7fffffff, off),
  nftables_counters: flag(false, off),
  nftables_ifindex: flag(false, off),
  nftables_ipvs: optStr(null, 'keepalived_ipvs', off),
  nftables_ipvs_priority: int(-1, -0x80000000, 0x7fffffff, off),
  nftables_ipvs_start_fwmark: int(1000, 1, UINT32, off),
  vrrp_iptables: custom<string[] | null>((s, ctx) => (expectArgs(s, ctx, 0, 2, 'at most an input and an output chain') ? (s.args.length ? s.args.map((a) => a.text) : ['INPUT']) : undefined), () => null, off),
  vrrp_ipsets: words(off),
  disable_local_igmp: flag(false, off),
  dynamic_interfaces: optStr(null, 'on', off),

  // Processes: names, priorities, memory locking, CPUs, realtime limits (not acted on)
  process_names: flag(false, off),
  process_name: str(null, off),
  vrrp_process_name: str(null, off),
  checker_process_name: str(null, { acted: false, aliases: ['lvs_process_name'] }),
  bfd_process_name: str(null, off),
  max_auto_priority: intOrBare(0, 99, -1, 99, off),
  min_auto_priority_delay: int(1000000, 1, 10000000, off),
  vrrp_priority: procPriority(),
  checker_priority: procPriority(),
  bfd_priority: procPriority(),
  vrrp_no_swap: flag(false, off),
  checker_no_swap: flag(false, off),
  bfd_no_swap: flag(false, off),
  vrrp_cpu_affinity: cpuAffinity(),
  checker_cpu_affinity: cpuAffinity(),
  bfd_cpu_affinity: cpuAffinity(),
  vrrp_rt_priority: rtPriority(),
  checker_rt_priority: rtPriority(),
  bfd_rt_priority: rtPriority(),
  vrrp_rlimit_rttime: rttime({ aliases: ['vrrp_rlimit_rtime'] }),
  checker_rlimit_rttime: rttime({ aliases: ['checker_rlimit_rtime'] }),
  bfd_rlimit_rttime: rttime({ aliases: ['bfd_rlimit_rtime'] }),

  // Netlink and socket buffers (not acted on)
  vrrp_netlink_cmd_rcv_bufs: int(null, 0, UINT32, off),
  vrrp_netlink_cmd_rcv_bufs_force: flag(false, off),
  vrrp_netlink_monitor_rcv_bufs: int(null, 0, UINT32, off),
  vrrp_netlink_monitor_rcv_bufs_force: flag(false, off),
  lvs_netlink_cmd_rcv_bufs: int(null, 0, UINT32, off),
  lvs_netlink_cmd_rcv_bufs_force: flag(false, off),
  lvs_netlink_monitor_rcv_bufs: int(null, 0, UINT32, off),
  lvs_netlink_monitor_rcv_bufs_force: flag(false, off),
  process_monitor_rcv_bufs: int(null, 0, UINT32, off),
  process_monitor_rcv_bufs_force: flag(false, off),
  /** null: the system default; otherwise MTU, ADVERT or a byte count. */
  vrrp_rx_bufs_policy: custom<'MTU' | 'ADVERT' | number | null>(
    (s, ctx) => {
      if (!expectArgs(s, ctx, 1, 1, 'MTU, ADVERT or a number of bytes')) return undefined;
      const t = s.args[0].text.toUpperCase();
      if (t === 'MTU' || t === 'ADVERT') return t;
      return readInt(s.args[0], ctx, 1, UINT32, 'vrrp_rx_bufs_policy');
    },
    () => null,
    off,
  ),
  vrrp_rx_bufs_multiplier: int(3, 1, UINT32, off),

  // SNMP and DBus (not acted on)
  snmp_socket: str('unix:/var/agentx/master', off),
  enable_snmp_vrrp: flag(false, { acted: false, aliases: ['enable_snmp_keepalived'] }),
  enable_snmp_checker: flag(false, off),
  enable_snmp_rfc: flag(false, off),
  enable_snmp_rfcv2: flag(false, off),
  enable_snmp_rfcv3: flag(false, off),
  enable_traps: flag(false, off),
  snmp_vs_stats_update_interval: timer(5, 0.001, 30, off),
  snmp_rs_stats_update_interval: timer(0, 0.001, 30, off),
  enable_dbus: flag(false, off),
  dbus_service_name: str('org.keepalived.Vrrp1', off),
  dbus_no_interface_name: str('none', off),

  // Files, reloads, instance naming (not acted on)
  /** keepalived's default: IXUSR | IRWXG | IRWXO. */
  umask: custom<number>(readUmask, () => 0o177, off),
  vmac_prefix: str('vrrp', off),
  /** null: vmac_prefix. */
  vmac_addr_prefix: str(null, off),
  random_seed: int(null, 0, UINT32, off),
  reload_check_config: optStr(null, '', off),
  reload_time_file: str(null, off),
  reload_repeat: flag(false, off),
  reload_file: optStr(null, '', off),
  include_check: words(off),
  config_save_dir: str(null, off),
  tmp_config_directory: str(null, off),
  data_use_instance: flag(false, off),
  json_version: int(1, 1, 2, off),
  iproute_usr_dir: str(null, off),
  iproute_etc_dir: str(null, off),
  // The man page calls these state/stats/json_file_location; global_parser.c installs *_dump_file.
  state_dump_file: str(null, off),
  stats_dump_file: str(null, off),
  json_dump_file: str(null, off),
};

/** global_defs is always present in the model: absent means all of keepalived's defaults. */
const globalDefs = (() => {
  const b = block('global_defs', globalDefsSchema);
  return custom<ModelOf<typeof globalDefsSchema>>(
    (s, ctx) => b.parse(s, ctx) ?? undefined,
    () => readBlock(globalDefsSchema, [], { diag: new Diagnostics() }, { name: 'global_defs' }, null),
  );
})();

export type GlobalDefs = ModelOf<typeof globalDefsSchema>;

export const globalKeywords = {
  global_defs: globalDefs,
  // Top-level daemon facilities keepalived reads outside global_defs
  net_namespace: str(null, off),
  net_namespace_ipvs: optStr(null, '', off),
  namespace_with_ipsets: flag(false, off),
  instance: str(null, off),
  use_pid_dir: flag(false, off),
  linkbeat_use_polling: flag(false, off),
  child_wait_time: int(5, 0, 86400, off),
  linkbeat_interfaces: listBlock(readLinkbeat, off),
  ...staticKeywords,
  ...trackKeywords,
};
