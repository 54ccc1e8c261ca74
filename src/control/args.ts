// lvsadm's argument parser: ipvsadm 1.31's option set, checks, messages and exit codes (ipvsadm.c
// parse_options/process_options), as a pure function from argv to an action or an error.
// Our additions: -k|--fullnat (FULLNAT forwarding; 'k' is unused by ipvsadm) and --json (list).
import {
  formatIPv4, formatIPv6Words, ipv4MaskToPrefix, parseInetAton, parseIPv6Words,
} from './address.js';
import { PoptWalker, type OptionDef } from './popt.js';
import type {
  ControlCommand, DestSpec, Family, ForwardMethod, Protocol, SchedFlag, ServiceKey, ServiceSpec, TunnelInfo,
} from './view.js';

/** Name lookups the parser may need (host names, /etc/services); sync, injected by the shell. */
export interface NameLookup {
  hostToIPv4(name: string): string | null;
  serviceToPort(name: string, protocol: Protocol): number | null;
}
export const NO_LOOKUP: NameLookup = { hostToIPv4: () => null, serviceToPort: () => null };

export interface ListFormat {
  numeric: boolean;
  exact: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  tunInfo: boolean;
  nosort: boolean;
  /** our addition: print the TableView as JSON */
  json: boolean;
}

export type LvsadmAction =
  | { kind: 'list'; what: 'table' | 'service' | 'connections' | 'timeout' | 'daemon'; service: ServiceKey | null; format: ListFormat }
  | { kind: 'save'; format: ListFormat }
  | { kind: 'restore' }
  | { kind: 'apply'; command: ControlCommand }
  | { kind: 'help' }
  | { kind: 'version' };

export type ParseResult =
  | { ok: true; action: LvsadmAction }
  | { ok: false; exitCode: number; stderr: string };

export const MAX_TIMEOUT = 86400 * 31;
export const PERSISTENT_TIMEOUT = 360;

const CMD_NAMES = [
  'add-service', 'edit-service', 'delete-service', 'flush', 'list', 'add-server', 'delete-server',
  'edit-server', 'set', 'start-daemon', 'stop-daemon', 'restore', 'save', 'zero',
] as const;
type Cmd = (typeof CMD_NAMES)[number];

// ipvsadm's optnames in bit order, plus our 'json' at the end.
const OPT_NAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server',
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon',
  'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe',
  'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type',
  'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum', 'json',
] as const;
type Opt = (typeof OPT_NAMES)[number];

// commands_v_options from ipvsadm.c ('+' compulsory, 'x' illegal, '1' exclusive, ' ' optional),
// one string per command, columns in OPT_NAMES order; the last column is our --json.
const RULES: Record<Cmd, string> = {
  'add-service':    'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx',
  'edit-service':   'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'flush':          'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'list':           ' 11xxxxxxxxx11       xxxxxxx xxxxx ',
  'add-server':     'xx+xxx+    xxxxxxxxxxxxxxxxxx     x',
  'delete-server':  'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'edit-server':    'xx+xxx+    xxxxxxxxxxxxxxxxxx     x',
  'set':            'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'start-daemon':   'xxxxxxxxxxx xxxxxxx xxxx    xxxxxxx',
  'stop-daemon':    'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxx',
  'restore':        'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'save':           ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ',
  'zero':           'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
};

const OPTIONS: OptionDef[] = [
  { long: 'add-service', short: 'A', arg: 'none', tag: 'A' },
  { long: 'edit-service', short: 'E', arg: 'none', tag: 'E' },
  { long: 'delete-service', short: 'D', arg: 'none', tag: 'D' },
  { long: 'clear', short: 'C', arg: 'none', tag: 'C' },
  { long: 'list', short: 'L', arg: 'none', tag: 'L' },
  { long: 'list', short: 'l', arg: 'none', tag: 'L' },
  { long: 'zero', short: 'Z', arg: 'none', tag: 'Z' },
  { long: 'add-server', short: 'a', arg: 'none', tag: 'a' },
  { long: 'edit-server', short: 'e', arg: 'none', tag: 'e' },
  { long: 'delete-server', short: 'd', arg: 'none', tag: 'd' },
  { long: 'set', short: null, arg: 'none', tag: 'set' },
  { long: 'help', short: 'h', arg: 'none', tag: 'h' },
  { long: 'version', short: 'v', arg: 'none', tag: 'v' },
  { long: 'restore', short: 'R', arg: 'none', tag: 'R' },
  { long: 'save', short: 'S', arg: 'none', tag: 'S' },
  { long: 'start-daemon', short: null, arg: 'required', tag: 'start-daemon' },
  { long: 'stop-daemon', short: null, arg: 'required', tag: 'stop-daemon' },
  { long: 'tcp-service', short: 't', arg: 'required', tag: 't' },
  { long: 'udp-service', short: 'u', arg: 'required', tag: 'u' },
  { long: 'sctp-service', short: null, arg: 'required', tag: 'sctp' },
  { long: 'fwmark-service', short: 'f', arg: 'required', tag: 'f' },
  { long: 'scheduler', short: 's', arg: 'required', tag: 's' },
  { long: 'persistent', short: 'p', arg: 'optional', tag: 'p' },
  { long: 'netmask', short: 'M', arg: 'required', tag: 'M' },
  { long: 'real-server', short: 'r', arg: 'required', tag: 'r' },
  { long: 'masquerading', short: 'm', arg: 'none', tag: 'm' },
  { long: 'ipip', short: 'i', arg: 'none', tag: 'i' },
  { long: 'gatewaying', short: 'g', arg: 'none', tag: 'g' },
  { long: 'fullnat', short: 'k', arg: 'none', tag: 'k' },
  { long: 'weight', short: 'w', arg: 'required', tag: 'w' },
  { long: 'u-threshold', short: 'x', arg: 'required', tag: 'x' },
  { long: 'l-threshold', short: 'y', arg: 'required', tag: 'y' },
  { long: 'numeric', short: 'n', arg: 'none', tag: 'n' },
  { long: 'connection', short: 'c', arg: 'none', tag: 'c' },
  { long: 'mcast-interface', short: null, arg: 'required', tag: 'mcast-interface' },
  { long: 'syncid', short: null, arg: 'required', tag: 'syncid' },
  { long: 'timeout', short: null, arg: 'none', tag: 'timeout' },
  { long: 'daemon', short: null, arg: 'none', tag: 'daemon' },
  { long: 'stats', short: null, arg: 'none', tag: 'stats' },
  { long: 'rate', short: null, arg: 'none', tag: 'rate' },
  { long: 'thresholds', short: null, arg: 'none', tag: 'thresholds' },
  { long: 'persistent-conn', short: null, arg: 'none', tag: 'persistent-conn' },
  { long: 'nosort', short: null, arg: 'none', tag: 'nosort' },
  { long: 'sort', short: null, arg: 'none', tag: 'sort' },
  { long: 'exact', short: 'X', arg: 'none', tag: 'X' },
  { long: 'ipv6', short: '6', arg: 'none', tag: '6' },
  { long: 'ops', short: 'o', arg: 'none', tag: 'o' },
  { long: 'pe', short: null, arg: 'required', tag: 'pe' },
  { long: 'sched-flags', short: 'b', arg: 'required', tag: 'b' },
  { long: 'mcast-group', short: null, arg: 'required', tag: 'mcast-group' },
  { long: 'mcast-port', short: null, arg: 'required', tag: 'mcast-port' },
  { long: 'mcast-ttl', short: null, arg: 'required', tag: 'mcast-ttl' },
  { long: 'sync-maxlen', short: null, arg: 'required', tag: 'sync-maxlen' },
  { long: 'tun-info', short: null, arg: 'none', tag: 'tun-info' },
  { long: 'tun-type', short: null, arg: 'required', tag: 'tun-type' },
  { long: 'tun-port', short: null, arg: 'required', tag: 'tun-port' },
  { long: 'tun-nocsum', short: null, arg: 'none', tag: 'tun-nocsum' },
  { long: 'tun-csum', short: null, arg: 'none', tag: 'tun-csum' },
  { long: 'tun-remcsum', short: null, arg: 'none', tag: 'tun-remcsum' },
  { long: 'json', short: null, arg: 'none', tag: 'json' },
];

const FIRST_COMMANDS: Record<string, Cmd | 'help' | 'version'> = {
  A: 'add-service', E: 'edit-service', D: 'delete-service', a: 'add-server', e: 'edit-server',
  d: 'delete-server', C: 'flush', L: 'list', Z: 'zero', set: 'set', R: 'restore', S: 'save',
  'start-daemon': 'start-daemon', 'stop-daemon': 'stop-daemon', h: 'help', v: 'version',
};

/** A usage error: ipvsadm's fail(). */
class Fail extends Error {
  constructor(readonly exitCode: number, readonly text: string) {
    super(text);
  }
}

// ipvsadm's string_to_number: strtol base 10, whole string, within [min, max].
export function stringToNumber(s: string, min: number, max: number): number | null {
  if (!/^[ \t\n\v\f\r]*[+-]?\d+$/.test(s)) return null;
  const n = Number(s.trim());
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : null;
}

function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
}

interface SvcState {
  family: Family;
  protocol: Protocol | null;
  address: string | null;
  port: number;
  fwmark: number;
  /** IPv4: 32-bit mask value; IPv6: prefix length (as the kernel's ip_vs_service_user) */
  netmask: number;
  persistent: boolean;
  timeout: number;
  scheduler: string;
  pe: string | null;
  ops: boolean;
}

interface DestState {
  family: Family;
  address: string | null;
  port: number;
  forward: ForwardMethod;
  weight: number;
  upper: number;
  lower: number;
  tunType: TunnelInfo['type'];
  tunPort: number;
  csum: TunnelInfo['csum'];
}

const SERVICE_ADDR = 1;
const SERVICE_PORT = 2;

/** ipvsadm's parse_service(): returns SERVICE_* bits; fills `into` like the C code does. */
function parseService(
  text: string,
  protocol: Protocol | null,
  into: { family: Family; address: string | null; port: number; netmask: number },
  lookup: NameLookup,
): number {
  if (/^\d*$/.test(text)) return 0;
  let buf = text;
  let portText: string | null = null;
  if (buf[0] === '[') {
    const close = buf.indexOf(']');
    if (close === -1 || buf[close + 1] !== ':') return 0;
    portText = buf.slice(close + 2);
    buf = buf.slice(1, close);
  }
  const v6 = parseIPv6Words(buf);
  if (v6) {
    into.address = formatIPv6Words(v6);
    into.family = 6;
    into.netmask = 128;
  } else {
    // C: portp = strrchr(buf, ':') -- inside brackets this replaces the port found above
    const colon = buf.lastIndexOf(':');
    if (colon !== -1) {
      portText = buf.slice(colon + 1);
      buf = buf.slice(0, colon);
    } else if (text[0] === '[') {
      portText = null;
    }
    const v4 = parseInetAton(buf);
    const resolved = v4 !== null ? formatIPv4(v4) : lookup.hostToIPv4(buf);
    if (resolved === null) return 0;
    into.address = resolved;
    into.family = 4;
  }
  let result = SERVICE_ADDR;
  if (portText !== null) {
    result |= SERVICE_PORT;
    const n = stringToNumber(portText, 0, 65535);
    const port = n ?? (protocol ? lookup.serviceToPort(portText, protocol) : null);
    if (port === null) return 0;
    into.port = port;
  }
  return result;
}

const SCHED_FLAG_BITS: Record<string, number> = {
  'flag-1': 1, 'flag-2': 2, 'flag-3': 4, 'sh-fallback': 1, 'sh-port': 2, 'mh-fallback': 1, 'mh-port': 2,
};

/** Flag bits named as ipvsadm prints them for this scheduler (print_sched_flags). */
export function schedFlagNames(scheduler: string, bits: number): SchedFlag[] {
  const out: SchedFlag[] = [];
  if (scheduler === 'sh' || scheduler === 'mh') {
    if (bits & 1) out.push(`${scheduler}-fallback` as SchedFlag);
    if (bits & 2) out.push(`${scheduler}-port` as SchedFlag);
    if (bits & 4) out.push('flag-3');
  } else {
    if (bits & 1) out.push('flag-1');
    if (bits & 2) out.push('flag-2');
    if (bits & 4) out.push('flag-3');
  }
  return out;
}

export function schedFlagBits(flags: readonly SchedFlag[]): number {
  let bits = 0;
  for (const f of flags) bits |= SCHED_FLAG_BITS[f] ?? 0;
  return bits;
}

function parseSchedFlags(scheduler: string, arg: string): number {
  const sched = scheduler || 'wlc';
  const tokens = arg.split(',').filter((t) => t !== '');
  if (tokens.length === 0) throw new Fail(2, `invalid scheduler flag \`${arg}'`);
  let bits = 0;
  for (const flag of tokens) {
    const bit = SCHED_FLAG_BITS[flag];
    if (bit === undefined) throw new Fail(2, `invalid scheduler flag \`${flag}'`);
    const owner = flag.startsWith('sh-') ? 'sh' : flag.startsWith('mh-') ? 'mh' : null;
    if (owner && sched !== owner) throw new Fail(2, `incompatible scheduler flag \`${flag}'`);
    bits |= bit;
  }
  return bits;
}

function parseTimeout(value: string | null, min: number, max: number): number {
  if (value === null) return PERSISTENT_TIMEOUT;
  const n = stringToNumber(value, min, max);
  if (n === null) throw new Fail(2, `invalid timeout value \`${value}' specified`);
  return n;
}

function parseFwmark(value: string): number {
  const n = /^[ \t\n\v\f\r]*[+-]?\d+$/.test(value) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || n > 4294967295) {
    throw new Fail(2, `invalid fwmark value \`${value}' specified`);
  }
  return n;
}

/**
 * Parse one lvsadm command line (argv without the program name). `prog` is used in the
 * "Try `prog -h'" text; `readingStdin` is true for lines of a -R restore stream.
 */
export function parseArgs(
  argv: readonly string[],
  options: { prog?: string; readingStdin?: boolean; lookup?: NameLookup } = {},
): ParseResult {
  const prog = options.prog ?? 'lvsadm';
  const tryHelp: ParseResult = {
    ok: false, exitCode: 255, stderr: `Try \`${prog} -h' or '${prog} --help' for more information.\n`,
  };
  if (argv.length === 0) {
    return { ok: true, action: { kind: 'list', what: 'table', service: null, format: emptyFormat(false) } };
  }
  try {
    return parseCommandLine(argv, prog, options.readingStdin ?? false, options.lookup ?? NO_LOOKUP, tryHelp);
  } catch (err) {
    if (err instanceof Fail) return { ok: false, exitCode: err.exitCode, stderr: `${err.text}\n` };
    throw err;
  }
}

function emptyFormat(numeric: boolean): ListFormat {
  return {
    numeric, exact: false, stats: false, rate: false, thresholds: false, persistentConn: false,
    tunInfo: false, nosort: false, json: false,
  };
}

function parseCommandLine(
  argv: readonly string[], prog: string, readingStdin: boolean, lookup: NameLookup, tryHelp: ParseResult,
): ParseResult {
  const walker = new PoptWalker(argv, OPTIONS);
  const first = walker.nextOption();
  if (first.type !== 'option') return tryHelp;
  const cmdOrInfo = FIRST_COMMANDS[first.tag];
  if (cmdOrInfo === undefined) return tryHelp;
  if (cmdOrInfo === 'help') return { ok: true, action: { kind: 'help' } };
  if (cmdOrInfo === 'version') return { ok: true, action: { kind: 'version' } };
  const cmd: Cmd = cmdOrInfo;
  let daemonState: 'master' | 'backup' = 'master';
  if (cmd === 'start-daemon' || cmd === 'stop-daemon') {
    if (first.value === 'master' || first.value === 'backup') daemonState = first.value;
    else throw new Fail(2, cmd === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
  }

  // --start-daemon options (ipvsadm: mcast-interface defaults to DEF_MCAST_IFN "eth0", the
  // interface name cut to IP_VS_IFNAME_MAXLEN - 1 characters; 0 = the kernel's default)
  const daemon = { ifname: 'eth0', syncid: 0, maxlen: 0, group: null as string | null, port: 0, ttl: 0 };
  const given = new Set<Opt>();
  const setOption = (opt: Opt): void => {
    if (given.has(opt)) throw new Fail(2, `multiple '${opt}' options specified`);
    given.add(opt);
  };
  const svc: SvcState = {
    family: 4, protocol: null, address: null, port: 0, fwmark: 0, netmask: 0xffffffff,
    persistent: false, timeout: 0, scheduler: '', pe: null, ops: false,
  };
  const dest: DestState = {
    family: 4, address: null, port: 0, forward: 'route', weight: 1, upper: 0, lower: 0,
    tunType: 'ipip', tunPort: 0, csum: 'none',
  };
  const format = emptyFormat(false);
  let schedFlagsArg = '';

  for (;;) {
    const ev = walker.nextOption();
    if (ev.type === 'end') break;
    if (ev.type === 'error') {
      return { ok: false, exitCode: 255, stderr: `${ev.badOption}: ${ev.text}\n` };
    }
    const v = ev.value ?? '';
    switch (ev.tag) {
      case 't': case 'u': case 'sctp': {
        setOption('service-address');
        svc.protocol = ev.tag === 't' ? 'TCP' : ev.tag === 'u' ? 'UDP' : 'SCTP';
        if (!(parseService(v, svc.protocol, svc, lookup) & SERVICE_ADDR)) {
          throw new Fail(2, 'illegal virtual server address[:port] specified');
        }
        break;
      }
      case 'f':
        setOption('service-address');
        svc.family = 4;
        svc.protocol = 'TCP';
        svc.fwmark = parseFwmark(v);
        break;
      case 's':
        setOption('scheduler');
        svc.scheduler = v.slice(0, 15);
        break;
      case 'p':
        setOption('persistent');
        svc.persistent = true;
        svc.timeout = parseTimeout(ev.value, 1, MAX_TIMEOUT);
        break;
      case 'M':
        setOption('netmask');
        if (svc.family !== 6) {
          const n = parseInetAton(v);
          const viaHost = n === null ? lookup.hostToIPv4(v) : null;
          const mask = n ?? (viaHost !== null ? parseInetAton(viaHost) : null);
          if (mask === null) throw new Fail(2, 'illegal virtual server persistent mask specified');
          svc.netmask = mask;
        } else {
          svc.netmask = atoi(v);
          if (svc.netmask < 1 || svc.netmask > 128) throw new Fail(2, 'illegal ipv6 netmask specified');
        }
        break;
      case 'r': {
        setOption('real-server');
        const t = { family: svc.family, address: svc.address, port: svc.port, netmask: svc.netmask };
        const parsed = parseService(v, svc.protocol, t, lookup);
        dest.family = t.family;
        dest.address = t.address;
        dest.port = t.port;
        if (!(parsed & SERVICE_ADDR)) throw new Fail(2, 'illegal real server address[:port] specified');
        if (parsed === SERVICE_ADDR) dest.port = svc.port;
        break;
      }
      case 'i': setOption('forwarding-method'); dest.forward = 'tunnel'; break;
      case 'g': setOption('forwarding-method'); dest.forward = 'route'; break;
      case 'm': setOption('forwarding-method'); dest.forward = 'masq'; break;
      case 'k': setOption('forwarding-method'); dest.forward = 'fullnat'; break;
      case 'w': {
        setOption('weight');
        const n = stringToNumber(v, 0, 65535);
        if (n === null) throw new Fail(2, 'illegal weight specified');
        dest.weight = n;
        break;
      }
      case 'x': {
        setOption('u-threshold');
        const n = stringToNumber(v, 0, 2147483647);
        if (n === null) throw new Fail(2, 'illegal u_threshold specified');
        dest.upper = n;
        break;
      }
      case 'y': {
        setOption('l-threshold');
        const n = stringToNumber(v, 0, 2147483647);
        if (n === null) throw new Fail(2, 'illegal l_threshold specified');
        dest.lower = n;
        break;
      }
      case 'c': setOption('connection'); break;
      case 'n': setOption('numeric'); format.numeric = true; break;
      case 'mcast-interface': setOption('mcast-interface'); daemon.ifname = v.slice(0, 15); break;
      case 'syncid':
        setOption('syncid');
        if (stringToNumber(v, 0, 255) === null) throw new Fail(2, 'illegal syncid specified');
        daemon.syncid = stringToNumber(v, 0, 255)!;
        break;
      case 'timeout': setOption('timeout'); break;
      case 'daemon': setOption('daemon'); break;
      case 'stats': setOption('stats'); format.stats = true; break;
      case 'rate': setOption('rate'); format.rate = true; break;
      case 'thresholds': setOption('thresholds'); format.thresholds = true; break;
      case 'persistent-conn': setOption('persistent-conn'); format.persistentConn = true; break;
      case 'nosort': setOption('nosort'); format.nosort = true; break;
      case 'sort': break; // ipvsadm: a no-op kept for compatibility
      case 'X': setOption('exact'); format.exact = true; break;
      case '6':
        if (svc.fwmark) {
          svc.family = 6;
          svc.netmask = 128;
        } else {
          throw new Fail(2, '-6 used before -f\n');
        }
        break;
      case 'o': setOption('ops'); svc.ops = true; break;
      case 'pe': setOption('pe'); svc.pe = v.slice(0, 16); break;
      case 'b': setOption('sched-flags'); schedFlagsArg = v.slice(0, 127); break;
      case 'mcast-group': {
        setOption('mcast-group');
        if (v.includes(':')) {
          const w = parseIPv6Words(v);
          if (!w || (w[0]! >> 8) !== 0xff) throw new Fail(2, `invalid IPv6 mcast-group \`${v}'`);
        } else {
          const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
          const top = parts ? Number(parts[1]) : -1;
          if (!parts || top < 224 || top > 239 || parts.slice(2).some((p) => Number(p) > 255)) {
            throw new Fail(2, `invalid IPv4 mcast-group \`${v}'`);
          }
        }
        daemon.group = v;
        break;
      }
      case 'mcast-port':
        setOption('mcast-port');
        if (stringToNumber(v, 1, 65535) === null) throw new Fail(2, 'illegal mcast-port specified');
        daemon.port = stringToNumber(v, 1, 65535)!;
        break;
      case 'mcast-ttl':
        setOption('mcast-ttl');
        if (stringToNumber(v, 1, 255) === null) throw new Fail(2, 'illegal mcast-ttl specified');
        daemon.ttl = stringToNumber(v, 1, 255)!;
        break;
      case 'sync-maxlen':
        setOption('sync-maxlen');
        if (stringToNumber(v, 1, 65535 - 20 - 8) === null) throw new Fail(2, 'illegal sync-maxlen specified');
        daemon.maxlen = stringToNumber(v, 1, 65535 - 20 - 8)!;
        break;
      case 'tun-info': setOption('tun-info'); format.tunInfo = true; break;
      case 'tun-type': {
        setOption('tun-type');
        if (v !== 'ipip' && v !== 'gue' && v !== 'gre') throw new Fail(2, 'illegal tunnel type specified');
        dest.tunType = v;
        break;
      }
      case 'tun-port': {
        setOption('tun-port');
        const n = stringToNumber(v, 1, 65535);
        if (n === null) throw new Fail(2, 'illegal tunnel port specified');
        dest.tunPort = n;
        break;
      }
      case 'tun-nocsum': setOption('tun-nocsum'); dest.csum = 'none'; break;
      case 'tun-csum': setOption('tun-csum'); dest.csum = 'csum'; break;
      case 'tun-remcsum': setOption('tun-remcsum'); dest.csum = 'remcsum'; break;
      case 'json': setOption('json'); format.json = true; break;
      default:
        // a second command, -h, -v...: popt knows it, ipvsadm's loop does not
        throw new Fail(2, `invalid option \`${ev.lastConsumed}'`);
    }
  }

  let timeouts: { tcp: number; tcpfin: number; udp: number } | null = null;
  const leftovers = walker.leftovers;
  if (cmd === 'set') {
    if (leftovers.length < 3) throw new Fail(2, '--set option requires 3 timeout values');
    timeouts = {
      tcp: parseTimeout(leftovers[0]!, 0, MAX_TIMEOUT),
      tcpfin: parseTimeout(leftovers[1]!, 0, MAX_TIMEOUT),
      udp: parseTimeout(leftovers[2]!, 0, MAX_TIMEOUT),
    };
    leftovers.splice(0, 3);
  }
  if (leftovers.length > 0) throw new Fail(2, `unexpected argument ${leftovers[0]}`);
  let schedBits = 0;
  if (schedFlagsArg) schedBits = parseSchedFlags(svc.scheduler, schedFlagsArg);

  genericOptCheck(cmd, given);

  if (cmd === 'add-service' || cmd === 'edit-service') {
    if (!svc.fwmark && !svc.port && !svc.persistent) throw new Fail(2, 'Zero port specified for non-persistent service');
    if (svc.ops && !svc.fwmark && svc.protocol !== 'UDP') {
      throw new Fail(2, 'One-Packet Scheduling is only for UDP virtual services');
    }
    if (!svc.scheduler) svc.scheduler = 'wlc';
  }
  if (cmd === 'add-server' || cmd === 'edit-server') {
    if (!svc.fwmark && (dest.forward === 'tunnel' || dest.forward === 'route')) dest.port = svc.port;
    if (dest.family !== svc.family && dest.forward !== 'tunnel') {
      throw new Fail(2, 'Different address family is allowed only for tunneling servers');
    }
    const tunOpts = (['tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'] as const).some((o) => given.has(o));
    if (tunOpts && dest.forward !== 'tunnel') throw new Fail(2, 'Tunnel options conflict with forward method');
    tunnelOptCheck(dest.tunType, given);
  }

  const key = (): ServiceKey => serviceKey(svc);
  switch (cmd) {
    case 'list': {
      const conflictA = (given.has('connection') || given.has('timeout') || given.has('daemon')) &&
        (given.has('stats') || given.has('rate') || given.has('thresholds'));
      const conflictB = (given.has('timeout') || given.has('daemon')) && given.has('persistent-conn');
      if (conflictA || conflictB) throw new Fail(2, 'options conflicts in the list command');
      const what = given.has('connection') ? 'connections' : given.has('service-address') ? 'service'
        : given.has('timeout') ? 'timeout' : given.has('daemon') ? 'daemon' : 'table';
      return { ok: true, action: { kind: 'list', what, service: what === 'service' ? key() : null, format } };
    }
    case 'save':
      return { ok: true, action: { kind: 'save', format } };
    case 'restore':
      // ipvsadm refuses -R inside a restore stream with its try-help text
      if (readingStdin) return { ok: false, exitCode: 255, stderr: `Try \`${prog} -h' or '${prog} --help' for more information.\n` };
      return { ok: true, action: { kind: 'restore' } };
    case 'flush': return apply({ op: 'clear' });
    case 'add-service': return apply({ op: 'add-service', service: serviceSpec(svc, schedBits) });
    case 'edit-service': return apply({ op: 'edit-service', service: serviceSpec(svc, schedBits) });
    case 'delete-service': return apply({ op: 'delete-service', key: key() });
    case 'zero': return apply({ op: 'zero', service: given.has('service-address') ? key() : null });
    case 'add-server': return apply({ op: 'add-dest', service: key(), dest: destSpec(dest) });
    case 'edit-server': return apply({ op: 'edit-dest', service: key(), dest: destSpec(dest) });
    case 'delete-server':
      return apply({ op: 'delete-dest', service: key(), dest: { address: dest.address ?? '', port: dest.port } });
    case 'set': return apply({ op: 'set-timeouts', timeouts: timeouts! });
    case 'start-daemon':
      return apply({ op: 'start-daemon', daemon: { state: daemonState, mcastInterface: daemon.ifname, syncid: daemon.syncid, maxlen: daemon.maxlen, group: daemon.group, port: daemon.port, ttl: daemon.ttl } });
    case 'stop-daemon':
      return apply({ op: 'stop-daemon', state: daemonState });
  }
}

function apply(command: ControlCommand): ParseResult {
  return { ok: true, action: { kind: 'apply', command } };
}

function serviceKey(svc: SvcState): ServiceKey {
  if (svc.fwmark) return { kind: 'fwmark', fwmark: svc.fwmark, family: svc.family };
  return { kind: 'addr', protocol: svc.protocol ?? 'TCP', address: svc.address ?? '', port: svc.port };
}

function serviceSpec(svc: SvcState, schedBits: number): ServiceSpec {
  let persistence: ServiceSpec['persistence'] = null;
  if (svc.persistent) {
    let netmask: number;
    if (svc.family === 6) netmask = svc.netmask;
    else {
      const prefix = ipv4MaskToPrefix(svc.netmask);
      // deviation: the kernel accepts any 32-bit mask; we keep masks as prefix lengths
      if (prefix === null) throw new Fail(2, 'illegal virtual server persistent mask specified');
      netmask = prefix;
    }
    persistence = { timeout: svc.timeout, netmask };
  }
  return {
    key: serviceKey(svc),
    scheduler: svc.scheduler,
    schedFlags: schedFlagNames(svc.scheduler, schedBits),
    persistence,
    pe: svc.pe,
    ops: svc.ops,
  };
}

function destSpec(dest: DestState): DestSpec {
  return {
    address: dest.address ?? '',
    port: dest.port,
    forward: dest.forward,
    weight: dest.weight,
    upperThreshold: dest.upper,
    lowerThreshold: dest.lower,
    tunnel: dest.forward === 'tunnel' ? { type: dest.tunType, port: dest.tunPort, csum: dest.csum } : null,
  };
}

function genericOptCheck(cmd: Cmd, given: ReadonlySet<Opt>): void {
  const rule = RULES[cmd];
  let last: Opt | null = null;
  OPT_NAMES.forEach((opt, j) => {
    const r = rule[j];
    if (!given.has(opt)) {
      if (r === '+') throw new Fail(2, `You need to supply the '${opt}' option for the '${cmd}' command`);
      return;
    }
    if (r === 'x') throw new Fail(2, `Illegal '${opt}' option with the '${cmd}' command`);
    if (r === '1') {
      if (last === null) last = opt;
      else throw new Fail(2, `The option '${opt}' conflicts with the '${last}' option in the '${cmd}' command`);
    }
  });
}

// tunnel_types_v_options: columns tun-port, tun-nocsum, tun-csum, tun-remcsum
const TUN_RULES: Record<TunnelInfo['type'], string> = { ipip: 'xxxx', gue: '+111', gre: 'x11x' };
const TUN_OPTS = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'] as const;

function tunnelOptCheck(type: TunnelInfo['type'], given: ReadonlySet<Opt>): void {
  let last: Opt | null = null;
  TUN_OPTS.forEach((opt, j) => {
    const r = TUN_RULES[type][j];
    if (!given.has(opt)) {
      if (r === '+') throw new Fail(2, `You need to supply the '${opt}' option for the '${type}' tunnel type`);
      return;
    }
    if (r === 'x') throw new Fail(2, `Illegal '${opt}' option with the '${type}' tunnel type`);
    if (r === '1') {
      if (last === null) last = opt;
      else throw new Fail(2, `The option '${opt}' conflicts with the '${last}' option in the '${type}' tunnel type`);
    }
  });
}

/**
 * Split a -R stream into command lines as ipvsadm's config_stream_read does: words separated by
 * spaces/tabs/CR, a word exactly "ipvsadm" (or "lvsadm") dropped, lines without words skipped.
 * Our addition: a word starting with '#' starts a comment to the end of the line.
 */
export function splitRestoreStream(text: string): { line: number; argv: string[] }[] {
  const out: { line: number; argv: string[] }[] = [];
  text.split('\n').forEach((raw, i) => {
    const argv: string[] = [];
    for (const word of raw.split(/[ \t\r]+/)) {
      if (word === '') continue;
      if (word.startsWith('#')) break;
      if (word === 'ipvsadm' || word === 'lvsadm') continue;
      argv.push(word);
    }
    if (argv.length > 0) out.push({ line: i + 1, argv });
  });
  return out;
}
