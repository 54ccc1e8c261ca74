// The control socket protocol: newline-delimited JSON, one request and one response per line,
// each carrying `v` (the protocol version) and the request's `id`. A line is at most
// MAX_MESSAGE_BYTES; a request that breaks a rule gets an error response and the connection closes.
import { canonicalAddress } from './address.js';
import type {
  ApplyResult, ControlCommand, DestSpec, Endpoint, ServiceKey, ServiceSpec, SnapshotOptions, SyncDaemonSpec, TableView,
  TimeoutsView, TunnelInfo,
} from './view.js';
import { PROTOCOLS, type Protocol } from './view.js';

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export type ControlRequest =
  | { v: number; id: number; type: 'snapshot'; options?: SnapshotOptions }
  | { v: number; id: number; type: 'apply'; command: ControlCommand };

export type ProtocolErrorCode = 'EPARSE' | 'EVERSION' | 'EREQUEST' | 'ETOOBIG' | 'EHANDLER';

export type ControlResponse =
  | { v: number; id: number; ok: true; view: TableView }
  | { v: number; id: number; ok: true; result: ApplyResult }
  | { v: number; id: number | null; ok: false; error: { code: ProtocolErrorCode; message: string } };

export class ProtocolError extends Error {
  constructor(readonly code: ProtocolErrorCode, message: string, readonly id: number | null = null) {
    super(message);
  }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown, min: number, max: number): x is number =>
  typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;

function need(cond: boolean, what: string): asserts cond {
  if (!cond) throw new ProtocolError('EREQUEST', `invalid ${what}`);
}

function address(x: unknown, what: string): string {
  need(typeof x === 'string', what);
  const c = canonicalAddress(x as string);
  need(c !== null && c.address === x, `${what} (canonical IPv4/IPv6 text expected)`);
  return x as string;
}

function serviceKey(x: unknown): ServiceKey {
  need(isObj(x), 'service key');
  if (x.kind === 'fwmark') {
    need(isInt(x.fwmark, 1, 4294967295), 'fwmark');
    need(x.family === 4 || x.family === 6, 'family');
    return { kind: 'fwmark', fwmark: x.fwmark as number, family: x.family as 4 | 6 };
  }
  need(x.kind === 'addr', 'service key kind');
  need(PROTOCOLS.includes(x.protocol as never), 'protocol');
  need(isInt(x.port, 0, 65535), 'port');
  return { kind: 'addr', protocol: x.protocol as Protocol, address: address(x.address, 'address'), port: x.port as number };
}

const SCHED_FLAGS = ['flag-1', 'flag-2', 'flag-3', 'sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'];

function serviceSpec(x: unknown): ServiceSpec {
  need(isObj(x), 'service');
  need(typeof x.scheduler === 'string' && /^[a-z0-9_-]{1,15}$/.test(x.scheduler), 'scheduler');
  need(Array.isArray(x.schedFlags) && x.schedFlags.every((f) => SCHED_FLAGS.includes(f as string)), 'schedFlags');
  let persistence: ServiceSpec['persistence'] = null;
  if (x.persistence !== null) {
    const p = x.persistence;
    need(isObj(p) && isInt(p.timeout, 1, 2678400) && isInt(p.netmask, 0, 128), 'persistence');
    persistence = { timeout: p.timeout as number, netmask: p.netmask as number };
  }
  need(x.pe === null || (typeof x.pe === 'string' && x.pe.length <= 16), 'pe');
  need(typeof x.ops === 'boolean', 'ops');
  return {
    key: serviceKey(x.key), scheduler: x.scheduler as string, schedFlags: x.schedFlags as ServiceSpec['schedFlags'],
    persistence, pe: x.pe as string | null, ops: x.ops as boolean,
  };
}

function tunnel(x: unknown): TunnelInfo | null {
  if (x === null) return null;
  need(isObj(x), 'tunnel');
  need(x.type === 'ipip' || x.type === 'gue' || x.type === 'gre', 'tunnel type');
  need(isInt(x.port, 0, 65535), 'tunnel port');
  need(x.csum === 'none' || x.csum === 'csum' || x.csum === 'remcsum', 'tunnel csum');
  return { type: x.type as TunnelInfo['type'], port: x.port as number, csum: x.csum as TunnelInfo['csum'] };
}

function destSpec(x: unknown): DestSpec {
  need(isObj(x), 'dest');
  need(['masq', 'route', 'tunnel', 'fullnat'].includes(x.forward as string), 'forward');
  need(isInt(x.port, 0, 65535), 'dest port');
  need(isInt(x.weight, 0, 65535), 'weight');
  need(isInt(x.upperThreshold, 0, 2147483647) && isInt(x.lowerThreshold, 0, 2147483647), 'thresholds');
  return {
    address: address(x.address, 'dest address'), port: x.port as number, forward: x.forward as DestSpec['forward'],
    weight: x.weight as number, upperThreshold: x.upperThreshold as number, lowerThreshold: x.lowerThreshold as number,
    tunnel: tunnel(x.tunnel),
  };
}

function endpoint(x: unknown): Endpoint {
  need(isObj(x) && isInt(x.port, 0, 65535), 'endpoint');
  return { address: address(x.address, 'endpoint address'), port: x.port as number };
}

function timeouts(x: unknown): TimeoutsView {
  need(isObj(x) && isInt(x.tcp, 0, 2678400) && isInt(x.tcpfin, 0, 2678400) && isInt(x.udp, 0, 2678400), 'timeouts');
  return { tcp: x.tcp as number, tcpfin: x.tcpfin as number, udp: x.udp as number };
}

function daemonSpec(x: unknown): SyncDaemonSpec {
  need(isObj(x), 'daemon');
  need(x.state === 'master' || x.state === 'backup', 'daemon state');
  need(typeof x.mcastInterface === 'string' && /^[^\s/]{1,15}$/.test(x.mcastInterface), 'mcast interface');
  need(isInt(x.syncid, 0, 255) && isInt(x.maxlen, 0, 65535) && isInt(x.port, 0, 65535) && isInt(x.ttl, 0, 255), 'daemon parameters');
  need(x.group === null || (typeof x.group === 'string' && canonicalAddress(x.group) !== null), 'mcast group');
  return {
    state: x.state as 'master' | 'backup', mcastInterface: x.mcastInterface as string, syncid: x.syncid as number,
    maxlen: x.maxlen as number, group: x.group as string | null, port: x.port as number, ttl: x.ttl as number,
  };
}

/** Validate untrusted JSON as a ControlCommand (restore batches are not nested). */
export function validateCommand(x: unknown, nested = false): ControlCommand {
  need(isObj(x), 'command');
  switch (x.op) {
    case 'add-service': case 'edit-service': return { op: x.op, service: serviceSpec(x.service) };
    case 'delete-service': return { op: 'delete-service', key: serviceKey(x.key) };
    case 'add-dest': case 'edit-dest': return { op: x.op, service: serviceKey(x.service), dest: destSpec(x.dest) };
    case 'delete-dest': return { op: 'delete-dest', service: serviceKey(x.service), dest: endpoint(x.dest) };
    case 'clear': return { op: 'clear' };
    case 'zero': return { op: 'zero', service: x.service === null ? null : serviceKey(x.service) };
    case 'set-timeouts': return { op: 'set-timeouts', timeouts: timeouts(x.timeouts) };
    case 'start-daemon': return { op: 'start-daemon', daemon: daemonSpec(x.daemon) };
    case 'stop-daemon':
      need(x.state === 'master' || x.state === 'backup', 'daemon state');
      return { op: 'stop-daemon', state: x.state as 'master' | 'backup' };
    case 'restore':
      need(!nested, 'command (nested restore)');
      need(Array.isArray(x.commands) && x.commands.length <= 100000, 'restore commands');
      return { op: 'restore', commands: (x.commands as unknown[]).map((c) => validateCommand(c, true)) };
    default:
      throw new ProtocolError('EREQUEST', 'invalid command op');
  }
}

/** Parse one request line; throws ProtocolError (never anything else). */
export function decodeRequest(line: string): ControlRequest {
  let x: unknown;
  try {
    x = JSON.parse(line);
  } catch {
    throw new ProtocolError('EPARSE', 'request is not JSON');
  }
  if (!isObj(x)) throw new ProtocolError('EREQUEST', 'request must be an object');
  const id = isInt(x.id, 0, Number.MAX_SAFE_INTEGER) ? x.id : null;
  if (id === null) throw new ProtocolError('EREQUEST', 'request id must be a non-negative integer');
  if (x.v !== PROTOCOL_VERSION) throw new ProtocolError('EVERSION', `protocol version ${PROTOCOL_VERSION} expected`, id);
  try {
    if (x.type === 'snapshot') {
      const o = x.options;
      need(o === undefined || (isObj(o) && (o.connections === undefined || typeof o.connections === 'boolean')), 'options');
      return { v: PROTOCOL_VERSION, id, type: 'snapshot', options: o === undefined ? {} : { connections: o.connections === true } };
    }
    if (x.type === 'apply') return { v: PROTOCOL_VERSION, id, type: 'apply', command: validateCommand(x.command) };
    throw new ProtocolError('EREQUEST', 'unknown request type');
  } catch (err) {
    if (err instanceof ProtocolError) throw new ProtocolError(err.code, err.message, id);
    throw new ProtocolError('EREQUEST', 'invalid request', id);
  }
}

export function encode(msg: ControlRequest | ControlResponse): string {
  return JSON.stringify(msg) + '\n';
}
