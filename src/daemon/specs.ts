// Pure mapping from the configuration model to what each subsystem runs: the virtual server
// table (ipvs TableSpec), the health checkers (VirtualServerCheckSpec) and engine choices.

import type { ConfigModel, RealServer, VirtualServer } from '../config/index.js';
import { checkersOf } from '../config/index.js';
import { addrToBig } from '../config/keywords/lvs.js';
import type { DestSpec, Protocol, ServiceKey, ServiceSpec, TableSpec } from '../ipvs/index.js';
import type { CheckerSpec, RealServerCheckSpec, ScriptPolicy, ScriptSpec, VirtualServerCheckSpec } from '../check/index.js';
import type { BfdInstanceSpec } from '../bfd/index.js';

/** Most services a single virtual_server_group may expand to (a /16 is 65,536). */
export const MAX_GROUP_EXPANSION = 65536;

const ms = (s: number | null | undefined): number | undefined => (s === null || s === undefined ? undefined : Math.round(s * 1000));

/** The stable name of a virtual server in logs, events and plans: "TCP 192.0.2.1:80", "fwmark 1". */
export function vsId(vs: VirtualServer): string {
  const k = vs.key;
  if (k.kind === 'fwmark') return `fwmark ${k.fwmark}`;
  if (k.kind === 'group') return `${vs.protocol} group ${k.group}`;
  return `${vs.protocol} ${endpoint(k.ip, k.port)}`;
}

export function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function familyOf(vs: VirtualServer): 4 | 6 {
  if (vs.key.kind === 'ip') return vs.key.family;
  if (vs.ip_family) return vs.ip_family === 'inet6' ? 6 : 4;
  const fams = new Set(vs.real_server.map((r) => r.family));
  return fams.size === 1 && fams.has(6) ? 6 : 4;
}

function prefixLen(vs: VirtualServer): number {
  const fam = familyOf(vs);
  const g = vs.persistence_granularity;
  if (g === null) return fam === 4 ? 32 : 128;
  if (fam === 6) return Number(g);
  const n = g.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  let len = 0;
  for (let bit = 31; bit >= 0 && (n & (2 ** bit)) !== 0; bit--) len++;
  return len;
}

/** The real server's port: keepalived's "no port" means the virtual service's port. */
function rsPort(vs: VirtualServer, rs: { port: number }): number {
  if (rs.port !== 0) return rs.port;
  return vs.key.kind === 'ip' ? vs.key.port : 0;
}

export function destSpecOf(vs: VirtualServer, rs: RealServer): DestSpec {
  const m = rs.lvs_method ?? vs.lvs_method;
  const t = m?.tunnel;
  return {
    addr: rs.ip,
    port: rsPort(vs, rs),
    weight: rs.weight,
    method: m?.method ?? 'NAT',
    uThreshold: rs.uthreshold,
    lThreshold: rs.lthreshold,
    tunnel: t ? { type: t.type, port: t.port ?? 0, csum: t.csum === 'csum' || t.csum === 'remcsum' ? t.csum : 'none' } : null,
  };
}

export function sorryDestOf(vs: VirtualServer): DestSpec | null {
  const s = vs.sorry_server;
  if (!s) return null;
  const m = vs.sorry_server_lvs_method ?? vs.lvs_method;
  return { addr: s.ip, port: rsPort(vs, s), weight: 1, method: m?.method ?? 'NAT', uThreshold: 0, lThreshold: 0, tunnel: null };
}

/** The service keys a virtual_server stands for (a group expands to one per address/fwmark). */
export function serviceKeysOf(vs: VirtualServer, config: ConfigModel): ServiceKey[] {
  const protocol = vs.protocol.toLowerCase() as Protocol;
  const k = vs.key;
  if (k.kind === 'ip') return [{ kind: 'addr', protocol, addr: k.ip, port: k.port }];
  if (k.kind === 'fwmark') return [{ kind: 'fwmark', fwmark: k.fwmark, family: familyOf(vs) }];
  const group = config.virtual_server_group.find((g) => g.name === k.group);
  const out: ServiceKey[] = [];
  for (const e of group?.entries ?? []) {
    if (e.kind === 'fwmark') {
      out.push({ kind: 'fwmark', fwmark: e.fwmark, family: e.family ?? familyOf(vs) });
      continue;
    }
    const count = addrToBig(e.last, e.family) - addrToBig(e.first, e.family) + 1n;
    if (count + BigInt(out.length) > BigInt(MAX_GROUP_EXPANSION)) throw new RangeError(`virtual_server_group ${k.group} expands to more than ${MAX_GROUP_EXPANSION} services`);
    for (const addr of addressRange(e.first, e.last, e.family)) out.push({ kind: 'addr', protocol, addr, port: e.port });
  }
  return out;
}

function* addressRange(first: string, last: string, family: 4 | 6): Generator<string> {
  let n = addrToBig(first, family);
  const end = addrToBig(last, family);
  for (; n <= end; n++) yield bigToText(n, family);
}

function bigToText(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  // RFC 5952: compress the longest run of zero groups.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function serviceSpecsOf(vs: VirtualServer, config: ConfigModel): ServiceSpec[] {
  const base = {
    scheduler: vs.lvs_sched,
    schedFlags: {
      fallback: vs['sh-fallback'] || vs['mh-fallback'] || vs['flag-1'],
      port: vs['sh-port'] || vs['mh-port'] || vs['flag-2'],
    },
    persistence: vs.persistence_timeout > 0 ? { timeoutS: vs.persistence_timeout, prefixLen: prefixLen(vs) } : null,
    ops: vs.ops,
    dests: vs.real_server.map((rs) => destSpecOf(vs, rs)),
    sorryServer: sorryDestOf(vs),
    proxyProtocol: vs.proxy_protocol,
    retryOnRefuse: vs.retry_refused,
  };
  return serviceKeysOf(vs, config).map((key) => ({ key, ...base }));
}

/** `services`: the service specs when the caller already has them (the daemon keeps them per vs). */
export function tableSpecOf(config: ConfigModel, services?: ServiceSpec[]): TableSpec {
  const d = config.lvsd_defs;
  return {
    services: services ?? config.virtual_server.flatMap((vs) => serviceSpecsOf(vs, config)),
    timeouts: d ? { tcp: d.timeout.tcp, tcpFin: d.timeout.tcpfin, udp: d.timeout.udp } : undefined,
    options: { expireNodestConn: d?.expire_nodest_conn ?? false },
  };
}

// ---------------------------------------------------------------------------------------------
// Health checkers

function scriptOf(s: { cmd: string; user: string | null; group: string | null } | null): ScriptSpec | undefined {
  if (!s) return undefined;
  return { command: s.cmd, ...(s.user ? { user: s.user } : {}), ...(s.group ? { group: s.group } : {}) };
}

type Timed = { connect_timeout: number | null; retry: number | null; delay_before_retry: number | null; warmup: number | null; delay_loop: number | null; alpha: boolean };

function timing(c: Timed) {
  return {
    connectTimeoutMs: ms(c.connect_timeout),
    retry: c.retry ?? undefined,
    delayBeforeRetryMs: ms(c.delay_before_retry),
    warmupMs: ms(c.warmup),
    delayLoopMs: ms(c.delay_loop),
    alpha: c.alpha,
  };
}

type Conn = { connect_ip: string | null; connect_port: number | null; bindto: string | null; bind_port: number | null; bind_if: string | null; fwmark?: number | null };

function connect(c: Conn) {
  return {
    ...(c.connect_ip ? { connectIp: c.connect_ip } : {}),
    ...(c.connect_port !== null ? { connectPort: c.connect_port } : {}),
    ...(c.bindto ? { bindTo: c.bindto } : {}),
    ...(c.bind_port !== null ? { bindPort: c.bind_port } : {}),
    ...(c.bind_if ? { bindIf: c.bind_if } : {}),
    ...(c.fwmark ? { fwmark: c.fwmark } : {}),
  };
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** require_reply's pattern: X/x nibbles are "any" (mask 0). */
function replyPattern(hex: string): { bytes: Uint8Array; mask: Uint8Array } {
  const bytes = new Uint8Array(hex.length / 2);
  const mask = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const hi = hex[2 * i];
    const lo = hex[2 * i + 1];
    const v = (h: string) => (h === 'x' ? 0 : parseInt(h, 16));
    bytes[i] = (v(hi) << 4) | v(lo);
    mask[i] = (hi === 'x' ? 0 : 0xf0) | (lo === 'x' ? 0 : 0x0f);
  }
  return { bytes, mask };
}

function checkerSpecsOf(rs: RealServer, config: ConfigModel): CheckerSpec[] {
  const out: CheckerSpec[] = [];
  const ca = config.SSL?.ca ?? undefined;
  for (const { type, check } of checkersOf(rs)) {
    const c = check as unknown as Record<string, unknown> & Timed & Conn;
    const t = timing(c);
    switch (type) {
      case 'TCP_CHECK':
        out.push({ type: 'TCP', ...t, ...connect(c) });
        break;
      case 'PING_CHECK':
        out.push({ type: 'PING', ...t, ...connect(c) });
        break;
      case 'HTTP_GET':
      case 'SSL_GET': {
        const h = check as unknown as RealServer['HTTP_GET'][number];
        out.push({
          type: type === 'HTTP_GET' ? 'HTTP' : 'SSL',
          ...t,
          ...connect(c),
          urls: h.url.map((u) => ({
            path: u.path,
            ...(u.digest ? { digest: u.digest } : {}),
            statusCodes: u.status_code,
            ...(u.virtualhost ? { virtualhost: u.virtualhost } : {}),
            ...(u.regex !== null
              ? { regex: { pattern: u.regex, options: u.regex_options, noMatch: u.regex_no_match, ...(u.regex_min_offset !== null ? { minOffset: u.regex_min_offset } : {}), ...(u.regex_max_offset !== null ? { maxOffset: u.regex_max_offset } : {}) } }
              : {}),
          })),
          ...(h.virtualhost ? { virtualhost: h.virtualhost } : {}),
          httpProtocol: h.http_protocol,
          enableSni: h.enable_sni,
          ...(h.sni_name ? { sniName: h.sni_name } : {}),
          tlsVerify: h.verify_tls,
          ...(ca ? { caFile: ca } : {}),
        });
        break;
      }
      case 'SMTP_CHECK': {
        const s = check as unknown as RealServer['SMTP_CHECK'][number];
        out.push({ type: 'SMTP', ...t, ...connect(c), ...(s.helo_name ? { heloName: s.helo_name } : {}), hosts: s.host.map((h) => connect(h as unknown as Conn)) });
        break;
      }
      case 'DNS_CHECK': {
        const d = check as unknown as RealServer['DNS_CHECK'][number];
        out.push({ type: 'DNS', ...t, ...connect(c), queryType: d.type, name: d.name });
        break;
      }
      case 'MISC_CHECK': {
        const m = check as unknown as RealServer['MISC_CHECK'][number];
        out.push({
          type: 'MISC',
          ...t,
          script: { command: m.misc_path ?? '', ...(m.user ? { user: m.user.user } : {}), ...(m.user?.group ? { group: m.user.group } : {}) },
          ...(m.misc_timeout !== null ? { timeoutMs: m.misc_timeout * 1000 } : {}),
          dynamic: m.misc_dynamic,
        });
        break;
      }
      case 'UDP_CHECK': {
        const u = check as unknown as RealServer['UDP_CHECK'][number];
        out.push({
          type: 'UDP',
          ...t,
          ...connect(c),
          ...(u.payload ? { payload: hexBytes(u.payload) } : {}),
          requireReply: u.require_reply !== false,
          ...(typeof u.require_reply === 'string' ? { replyPattern: replyPattern(u.require_reply) } : {}),
          minReplyLength: u.min_reply_length,
          maxReplyLength: u.max_reply_length,
        });
        break;
      }
    }
  }
  for (let i = 0; i < rs.BFD_CHECK.length; i++) {
    const b = rs.BFD_CHECK[i];
    if (b.name === null) continue;
    // check_bfd.c: no retry and no delay_loop (BFD_CHECK has none of the checker options): the
    // session's events drive it, pushed by the runner; the 1 s re-read is only a safety net
    out.push({ type: 'BFD', name: b.name, retry: 0, delayLoopMs: 1000, warmupMs: 0, ...(b.alpha ? { alpha: true } : {}) });
  }
  for (let i = 0; i < rs.FILE_CHECK.length; i++) {
    const f = rs.FILE_CHECK[i];
    const tf = config.track_file.find((x) => x.name === f.track_file);
    if (!tf) continue;
    const tfw = tf as unknown as { file: string | null; weight: { weight: number; reverse: boolean } | number | null };
    const baseWeight = typeof tfw.weight === 'number' ? tfw.weight : tfw.weight?.weight;
    out.push({
      type: 'FILE',
      path: tfw.file ?? '',
      weight: f.weight?.weight ?? baseWeight ?? 1,
      reverse: f.weight?.reverse ?? false,
      dynamic: f.dynamic,
    });
  }
  return out;
}

function rsCheckSpec(vs: VirtualServer, rs: RealServer, config: ConfigModel): RealServerCheckSpec {
  // One object literal plus the optional keys (no spread temporaries: 10,000 of these a reload).
  const out: RealServerCheckSpec = {
    addr: rs.ip,
    port: rsPort(vs, rs),
    weight: rs.weight,
    inhibitOnFailure: rs.inhibit_on_failure,
    connectTimeoutMs: ms(rs.connect_timeout),
    retry: rs.retry ?? undefined,
    delayBeforeRetryMs: ms(rs.delay_before_retry),
    warmupMs: ms(rs.warmup),
    delayLoopMs: ms(rs.delay_loop),
    alpha: rs.alpha,
    checkers: checkerSpecsOf(rs, config),
  };
  if (rs.notify_up) out.notifyUp = scriptOf(rs.notify_up);
  if (rs.notify_down) out.notifyDown = scriptOf(rs.notify_down);
  if (rs.virtualhost) out.virtualhost = rs.virtualhost;
  return out;
}

export function checkSpecsOf(config: ConfigModel): VirtualServerCheckSpec[] {
  return config.virtual_server.map((vs) => vsCheckSpecOf(vs, config));
}

/** One virtual server's checker spec (the config supplies SSL's ca and the track_file blocks). */
export function vsCheckSpecOf(vs: VirtualServer, config: ConfigModel): VirtualServerCheckSpec {
  return {
    id: vsId(vs),
    ...timing(vs as unknown as Timed),
    inhibitOnFailure: vs.inhibit_on_failure,
    quorum: vs.quorum,
    hysteresis: vs.hysteresis,
    ...(vs.quorum_up ? { quorumUp: scriptOf(vs.quorum_up) } : {}),
    ...(vs.quorum_down ? { quorumDown: scriptOf(vs.quorum_down) } : {}),
    omega: vs.omega,
    haSuspend: vs.ha_suspend,
    ...(vs.sorry_server ? { sorryServer: { addr: vs.sorry_server.ip, port: rsPort(vs, vs.sorry_server) } } : {}),
    sorryServerInhibit: vs.sorry_server_inhibit,
    ...(vs.virtualhost ? { virtualhost: vs.virtualhost } : {}),
    realServers: vs.real_server.map((rs) => rsCheckSpec(vs, rs, config)),
  };
}

/** bfd_instance blocks as the BFD runner takes them (intervals stay milliseconds). */
export function bfdSpecsOf(config: ConfigModel): BfdInstanceSpec[] {
  const out: BfdInstanceSpec[] = [];
  for (const b of config.bfd_instance) {
    if (b.neighbor_ip === null) continue;
    const v6 = b.neighbor_ip.includes(':');
    out.push({
      name: b.name,
      neighbor: b.neighbor_ip,
      ...(b.source_ip !== null ? { source: b.source_ip } : {}),
      minRxMs: b.min_rx,
      minTxMs: b.min_tx,
      idleTxMs: b.idle_tx,
      multiplier: b.multiplier,
      passive: b.passive,
      ttl: v6 ? b.hoplimit : b.ttl,
      multihop: b.multihop,
    });
  }
  return out;
}

/** global_defs script_user / enable_script_security, for every script the checkers run. */
export function scriptPolicyOf(config: ConfigModel): ScriptPolicy {
  const g = config.global_defs as unknown as { script_user: { user: string; group: string | null } | null; enable_script_security: boolean } | null;
  return {
    ...(g?.script_user ? { defaultUser: g.script_user.user } : {}),
    ...(g?.script_user?.group ? { defaultGroup: g.script_user.group } : {}),
    enableScriptSecurity: g?.enable_script_security ?? false,
  };
}
