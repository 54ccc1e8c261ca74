// Pure mapping from the configuration model to the VRRP runtime's spec, with global_defs
// supplying what instances leave unset (keepalived's inheritance).

import type { ConfigModel } from '../config/index.js';
import { splitCommand } from '../check/index.js';
import type { CommandSpec, NotifySpec, VipSpec, VirtualRouteSpec, VrrpInstanceSpec, VrrpRuntimeSpec, VrrpScriptSpec, VrrpSyncGroupSpec, VrrpTrackProcessSpec, TrackBfdRef } from '../vrrp/index.js';

type ScriptRef = { cmd: string; user: string | null; group: string | null } | null;
type Instance = ConfigModel['vrrp_instance'][number];
type Addr = Instance['virtual_ipaddress'][number];
type Route = Instance['virtual_routes'][number];

/** Something in the file the runtime cannot use (it is left out, the rest runs). */
export interface VrrpSpecProblem {
  /** e.g. `vrrp_instance VI_1 notify_master`, `vrrp_script chk`. */
  where: string;
  message: string;
}
type Report = (p: VrrpSpecProblem) => void;

/** A command line split as keepalived does; one it cannot split is reported and left out. */
function command(s: ScriptRef, defaultUser: { user: string; group: string | null } | null, where: string, report: Report): CommandSpec | undefined {
  if (!s) return undefined;
  const user = s.user ?? defaultUser?.user ?? undefined;
  const group = s.user ? (s.group ?? undefined) : (defaultUser?.group ?? undefined);
  let argv: string[];
  try {
    argv = splitCommand(s.cmd);
  } catch (e) {
    report({ where, message: (e as Error).message });
    return undefined;
  }
  return { argv, ...(user ? { user } : {}), ...(group ? { group } : {}) };
}

function notifyOf(x: { notify_master: ScriptRef; notify_backup: ScriptRef; notify_fault: ScriptRef; notify_stop?: ScriptRef; notify: ScriptRef }, user: { user: string; group: string | null } | null, owner: string, report: Report): NotifySpec | undefined {
  const n: NotifySpec = {
    master: command(x.notify_master, user, `${owner} notify_master`, report),
    backup: command(x.notify_backup, user, `${owner} notify_backup`, report),
    fault: command(x.notify_fault, user, `${owner} notify_fault`, report),
    stop: command(x.notify_stop ?? null, user, `${owner} notify_stop`, report),
    any: command(x.notify, user, `${owner} notify`, report),
  };
  for (const k of Object.keys(n) as Array<keyof NotifySpec>) if (n[k] === undefined) delete n[k];
  return Object.keys(n).length ? n : undefined;
}

function trackRefOf(t: { name: string; weight: number | null; reverse: boolean | null }): { name: string; weight?: number; reverse?: boolean } {
  return { name: t.name, ...(t.weight !== null ? { weight: t.weight } : {}), ...(t.reverse ? { reverse: true } : {}) };
}

function garpIntervalMs(firstVip: string | undefined, gNum: (k: string) => number | undefined): { intervalMs?: number } {
  const s = gNum(firstVip?.includes(':') ? 'vrrp_gna_interval' : 'vrrp_garp_interval');
  return s ? { intervalMs: Math.round(s * 1000) } : {};
}

function vipOf(a: Addr, defaultDev: string): VipSpec {
  const scope = typeof a.scope === 'string' ? (a.scope as VipSpec['scope']) : undefined;
  return {
    address: a.addr,
    prefix: a.prefix,
    dev: a.dev ?? defaultDev,
    ...(a.label ? { label: a.label } : {}),
    ...(scope ? { scope } : {}),
    ...(a.brd ? { broadcast: a.brd } : {}),
    ...(a.nodad ? { noDad: true } : {}),
  };
}

function routeOf(r: Route): VirtualRouteSpec | null {
  const x = r as unknown as { dst: { addr: string; prefix: number } | string | null; via: { addr: string } | string | null; dev: string | null; src: { addr: string } | string | null; metric: number | null; table: number | string | null; scope: string | number | null };
  const table = tableOf(x.table);
  const text = (v: { addr: string; prefix?: number } | string | null): string | undefined =>
    v === null ? undefined : typeof v === 'string' ? v : v.prefix !== undefined ? `${v.addr}/${v.prefix}` : v.addr;
  const to = text(x.dst);
  if (!to) return null;
  return {
    to,
    ...(text(x.via) ? { via: text(x.via) } : {}),
    ...(x.dev ? { dev: x.dev } : {}),
    ...(text(x.src) ? { src: text(x.src) } : {}),
    ...(typeof x.metric === 'number' ? { metric: x.metric } : {}),
    ...(table !== undefined ? { table } : {}),
    ...(typeof x.scope === 'string' ? { scope: x.scope as VirtualRouteSpec['scope'] } : {}),
  };
}

/** The config keeps `table` as written: numbers become numbers, names (main, or rt_tables') stay names for `ip route`. */
function tableOf(t: number | string | null): number | string | undefined {
  if (t === null || t === '') return undefined;
  if (typeof t === 'number') return t;
  return /^\d+$/.test(t) ? Number(t) : t;
}

/**
 * Never throws: a command that cannot be split (empty, unterminated quote) is reported through
 * `report` and left out; a vrrp_script without a usable command is dropped with the
 * track_script lines that name it (keepalived ignores such scripts too).
 */
export function vrrpRuntimeSpecOf(config: ConfigModel, report: Report = () => undefined): VrrpRuntimeSpec {
  const g = config.global_defs as unknown as Record<string, unknown> & {
    script_user: { user: string; group: string | null } | null;
    default_interface: string | null;
  };
  const gNum = (k: string): number | undefined => (typeof g?.[k] === 'number' ? (g[k] as number) : undefined);
  const gBool = (k: string): boolean | undefined => (typeof g?.[k] === 'boolean' ? (g[k] as boolean) : undefined);
  const user = g?.script_user ?? null;
  const trackFiles = new Map(config.track_file.map((t) => [t.name, t as unknown as { file: string | null; weight: { weight: number; reverse: boolean } }]));

  const scripts: VrrpScriptSpec[] = config.vrrp_script.flatMap((s) => {
    const cmd = command({ cmd: s.script ?? '', user: s.user?.user ?? null, group: s.user?.group ?? null }, user, `vrrp_script ${s.name}`, report);
    return cmd ? [{ name: s.name, command: cmd, interval: s.interval, ...(s.timeout !== null ? { timeout: s.timeout } : {}), weight: s.weight.weight, reverse: s.weight.reverse, rise: s.rise, fall: s.fall, initFail: s.init_fail }] : [];
  });
  const usable = new Set(scripts.map((s) => s.name));
  const processes: VrrpTrackProcessSpec[] = config.vrrp_track_process.flatMap((p) => {
    const [proc, ...params] = p.process ?? [];
    if (!proc) {
      report({ where: `vrrp_track_process ${p.name}`, message: "no 'process' given" });
      return [];
    }
    const fork = p.fork_delay ?? p.delay;
    const term = p.terminate_delay ?? p.delay;
    // keepalived (vrrp_parser.c): quorum_max 0 means "none may run" (quorum becomes 0); a
    // quorum_max below quorum is ignored.
    let quorumMax = p.quorum_max;
    if (quorumMax !== null && quorumMax !== 0 && quorumMax < p.quorum) {
      report({ where: `vrrp_track_process ${p.name}`, message: `quorum_max ${quorumMax} is less than quorum ${p.quorum} - ignored` });
      quorumMax = null;
    }
    return [{
      name: p.name,
      process: proc,
      ...(params.length ? { params } : {}),
      ...(p.param_match ? { paramMatch: p.param_match } : {}),
      ...(p.full_command ? { fullCommand: true } : {}),
      weight: p.weight.weight,
      ...(p.weight.reverse ? { reverse: true } : {}),
      quorum: quorumMax === 0 ? 0 : p.quorum,
      ...(quorumMax !== null ? { quorumMax } : {}),
      ...(fork ? { forkDelay: fork } : {}),
      ...(term ? { terminateDelay: term } : {}),
    }];
  });
  const procNames = new Set(processes.map((p) => p.name));
  const processRefs = (refs: Instance['track_process']) => refs.filter((t) => procNames.has(t.name)).map(trackRefOf);
  const scriptRefs = (refs: Instance['track_script']) => refs.filter((t) => usable.has(t.name)).map(trackRefOf);
  // track_bfd: the line's weight, else the bfd_instance's (bfd_parser.c); only instances whose
  // events go to VRRP (neither `vrrp` nor `checker` given: both)
  const bfds = new Map(config.bfd_instance.filter((b) => b.neighbor_ip !== null && (b.vrrp || !b.checker)).map((b) => [b.name, b.weight]));
  const bfdRefs = (refs: Instance['track_bfd']): TrackBfdRef[] =>
    refs.flatMap((t) => {
      const own = bfds.get(t.name);
      if (!own) return [];
      const reverse = t.reverse ?? own.reverse;
      return [{ name: t.name, weight: t.weight ?? own.weight, ...(reverse ? { reverse: true } : {}) }];
    });

  const instances: VrrpInstanceSpec[] = config.vrrp_instance.map((vi) => {
    const ifname = vi.interface ?? g?.default_interface ?? 'eth0';
    const auth = vi.authentication as unknown as { auth_type: string | null; auth_pass: string | null } | null;
    const pick = <T>(v: T | null, k: string, get: (k: string) => T | undefined): T | undefined => (v !== null ? v : get(k));
    return {
      name: vi.name,
      interface: ifname,
      vrid: vi.virtual_router_id ?? 0,
      priority: vi.priority,
      advertInt: vi.advert_int,
      ...(vi.version !== null || gNum('vrrp_version') !== undefined ? { version: (vi.version ?? gNum('vrrp_version')) as 2 | 3 } : {}),
      state: vi.state,
      nopreempt: vi.nopreempt,
      preemptDelay: vi.preempt_delay,
      ...(auth && auth.auth_type === 'PASS' && auth.auth_pass ? { authPass: auth.auth_pass } : {}),
      ...(vi.unicast_src_ip ? { unicastSrcIp: vi.unicast_src_ip } : {}),
      ...(vi.unicast_peer.length ? { unicastPeers: vi.unicast_peer.map((p) => ({ address: p.addr, ...(p.minTtl !== null ? { minTtl: p.minTtl } : {}), ...(p.maxTtl !== null ? { maxTtl: p.maxTtl } : {}) })) } : {}),
      unicastTtl: vi.unicast_ttl,
      ...(pick(vi.check_unicast_src, 'vrrp_check_unicast_src', gBool) !== undefined ? { checkUnicastSrc: pick(vi.check_unicast_src, 'vrrp_check_unicast_src', gBool) } : {}),
      virtualIpaddress: vi.virtual_ipaddress.map((a) => vipOf(a, ifname)),
      virtualIpaddressExcluded: vi.virtual_ipaddress_excluded.map((a) => vipOf(a, ifname)),
      virtualRoutes: vi.virtual_routes.map(routeOf).filter((r): r is VirtualRouteSpec => r !== null),
      trackInterface: vi.track_interface.map(trackRefOf),
      trackScript: scriptRefs(vi.track_script),
      trackFile: vi.track_file.flatMap((t) => {
        const tf = trackFiles.get(t.name);
        if (!tf?.file) return [];
        const weight = t.weight ?? tf.weight?.weight;
        const reverse = t.reverse ?? tf.weight?.reverse ?? false;
        return [{ path: tf.file, ...(weight !== undefined && weight !== null ? { weight } : {}), ...(reverse ? { reverse: true } : {}) }];
      }),
      ...(vi.track_process.length ? { trackProcess: processRefs(vi.track_process) } : {}),
      ...(vi.track_bfd.length ? { trackBfd: bfdRefs(vi.track_bfd) } : {}),
      ...(vi.use_vmac ? { useVmac: { ...(vi.use_vmac.name ? { name: vi.use_vmac.name } : {}), ...(vi.use_vmac.mac ? { mac: vi.use_vmac.mac } : {}), ...(vi.vmac_xmit_base ? { xmitBase: true } : {}) } } : {}),
      dontTrackPrimary: vi.dont_track_primary,
      garp: {
        masterDelay: pick(vi.garp_master_delay, 'vrrp_garp_master_delay', gNum),
        masterRepeat: pick(vi.garp_master_repeat, 'vrrp_garp_master_repeat', gNum),
        masterRefresh: pick(vi.garp_master_refresh, 'vrrp_garp_master_refresh', gNum),
        masterRefreshRepeat: pick(vi.garp_master_refresh_repeat, 'vrrp_garp_master_refresh_repeat', gNum),
        // Seconds in the file; gratuitous ARPs (IPv4 VIPs) or unsolicited NAs (IPv6) apart.
        ...garpIntervalMs(vi.virtual_ipaddress[0]?.addr, gNum),
      },
      notify: notifyOf(vi, user, `vrrp_instance ${vi.name}`, report),
      ...(pick(vi.down_timer_adverts, 'vrrp_down_timer_adverts', gNum) !== undefined ? { downTimerAdverts: pick(vi.down_timer_adverts, 'vrrp_down_timer_adverts', gNum) } : {}),
      // keepalived's v3_checksum_as_v2: the v3/IPv4 checksum leaves the pseudo-header out.
      ...(pick(vi.v3_checksum_as_v2, 'v3_checksum_as_v2', gBool) ? { checksumMode: 'none' as const } : {}),
      ...(pick(vi.lower_prio_no_advert, 'vrrp_lower_prio_no_advert', gBool) !== undefined ? { lowerPrioNoAdvert: pick(vi.lower_prio_no_advert, 'vrrp_lower_prio_no_advert', gBool) } : {}),
      ...(pick(vi.higher_prio_send_advert, 'vrrp_higher_prio_send_advert', gBool) !== undefined ? { higherPrioSendAdvert: pick(vi.higher_prio_send_advert, 'vrrp_higher_prio_send_advert', gBool) } : {}),
      ...(pick(vi.skip_check_adv_addr, 'vrrp_skip_check_adv_addr', gBool) !== undefined ? { skipCheckAdvAddr: pick(vi.skip_check_adv_addr, 'vrrp_skip_check_adv_addr', gBool) } : {}),
    };
  });


  const syncGroups: VrrpSyncGroupSpec[] = config.vrrp_sync_group.map((sg) => ({
    name: sg.name,
    members: [...sg.group],
    notify: notifyOf({ ...sg, notify_stop: (sg as unknown as { notify_stop?: ScriptRef }).notify_stop ?? null }, user, `vrrp_sync_group ${sg.name}`, report),
    trackInterface: sg.track_interface.map(trackRefOf),
    trackScript: scriptRefs(sg.track_script),
    ...(sg.track_process.length ? { trackProcess: processRefs(sg.track_process) } : {}),
    ...(sg.track_bfd.length ? { trackBfd: bfdRefs(sg.track_bfd) } : {}),
  }));

  const fifo = (g?.vrrp_notify_fifo ?? g?.notify_fifo) as { name?: string; path?: string } | null | undefined;
  const fifoPath = fifo ? (fifo.path ?? fifo.name) : undefined;
  return { instances, scripts, ...(processes.length ? { processes } : {}), syncGroups, ...(fifoPath ? { notifyFifo: fifoPath } : {}) };
}

/** Every VIP address a VRRP instance manages: the proxy serves these only while it is MASTER. */
export function vrrpVips(spec: VrrpRuntimeSpec): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const i of spec.instances) out.set(i.name, [...i.virtualIpaddress, ...(i.virtualIpaddressExcluded ?? [])].map((v) => v.address));
  return out;
}
