// The table as lvsadm, the control socket and metrics see it: snapshot() into control/view.ts
// shapes and apply(ControlCommand) onto the table's imperative edits. Pure: the clock and the
// "is this address local" test are injected.
import type {
  ApplyResult,
  ConnectionView,
  ControlCommand,
  ControlErrorCode,
  DestSpec as ViewDestSpec,
  DestView,
  ForwardMethod as ViewForwardMethod,
  ForwardName,
  SchedFlag,
  ServiceKey as ViewServiceKey,
  ServiceSpec as ViewServiceSpec,
  ServiceView,
  SnapshotOptions,
  TableControl,
  TableView,
} from '../control/view.js';
import { SCHEDULER_NAMES, type SchedFlags, type SchedulerName } from '../sched/types.js';
import { familyOf } from './address.js';
import { IpvsError, type IpvsErrorCode } from './errors.js';
import type { RateEstimator } from './estimator.js';
import type { Counters } from './stats.js';
import type { Dest, IpvsTable, Service } from './table.js';
import type { DestSpec, ForwardMethod, Protocol, ServiceKey, ServiceSpec } from './types.js';

export interface TableControlOptions {
  /** monotonic ms, the same clock the engine passes to the table */
  now: () => number;
  /** The kernel shows a Masq/Route destination whose address is the director's own as Local. */
  isLocalAddress?: (addr: string) => boolean;
}

const ERROR_CODES: Record<IpvsErrorCode, ControlErrorCode> = {
  EEXIST_SERVICE: 'SERVICE_EXISTS',
  ENOENT_SERVICE: 'NO_SERVICE',
  ENOENT_SERVICE_FOR_DEST: 'NO_SERVICE',
  EEXIST_DEST: 'DEST_EXISTS',
  ENOENT_DEST: 'NO_DEST',
  ESCHED: 'SCHEDULER_NOT_FOUND',
  EINVAL: 'INVALID',
};

const FORWARD_IN: Record<ViewForwardMethod, ForwardMethod> = {
  masq: 'NAT', route: 'DR', tunnel: 'TUN', fullnat: 'FULLNAT',
};
const FORWARD_OUT: Record<ForwardMethod, ForwardName> = {
  NAT: 'Masq', DR: 'Route', TUN: 'Tunnel', FULLNAT: 'FullNat',
};

function isLoopback(addr: string): boolean {
  return addr === '::1' || addr.startsWith('127.');
}

export function toTableKey(k: ViewServiceKey): ServiceKey {
  return k.kind === 'addr'
    ? { kind: 'addr', protocol: k.protocol.toLowerCase() as Protocol, addr: k.address, port: k.port }
    : { kind: 'fwmark', fwmark: k.fwmark, family: k.family };
}

export function toViewKey(k: ServiceKey): ViewServiceKey {
  return k.kind === 'addr'
    ? { kind: 'addr', protocol: k.protocol.toUpperCase() as 'TCP' | 'UDP' | 'SCTP', address: k.addr, port: k.port }
    : { kind: 'fwmark', fwmark: k.fwmark, family: k.family };
}

function flagsIn(flags: readonly SchedFlag[]): Partial<SchedFlags> {
  return {
    fallback: flags.some((f) => f === 'flag-1' || f === 'sh-fallback' || f === 'mh-fallback'),
    port: flags.some((f) => f === 'flag-2' || f === 'sh-port' || f === 'mh-port'),
  };
}

function flagsOut(sched: string, f: Partial<SchedFlags>): SchedFlag[] {
  const out: SchedFlag[] = [];
  const named = sched === 'sh' || sched === 'mh';
  if (f.fallback) out.push(named ? (`${sched}-fallback` as SchedFlag) : 'flag-1');
  if (f.port) out.push(named ? (`${sched}-port` as SchedFlag) : 'flag-2');
  return out;
}

function statsView(c: Counters): ServiceView['stats'] {
  return { conns: c.conns, inpkts: c.inPkts, outpkts: c.outPkts, inbytes: c.inBytes, outbytes: c.outBytes };
}

function ratesView(e: RateEstimator): ServiceView['rates'] {
  return e.read();
}

export class IpvsTableControl implements TableControl {
  constructor(
    private readonly table: IpvsTable,
    private readonly opts: TableControlOptions,
  ) {}

  snapshot(options: SnapshotOptions = {}): TableView {
    const now = this.opts.now();
    const local = this.opts.isLocalAddress ?? isLoopback;
    const destView = (d: Dest): DestView => ({
      family: familyOf(d.addr),
      address: d.addr,
      port: d.port,
      forward: (d.method === 'NAT' || d.method === 'DR') && local(d.addr) ? 'Local' : FORWARD_OUT[d.method],
      weight: d.weight,
      activeConns: d.activeConns,
      inactiveConns: d.inactiveConns,
      persistConns: d.persistConns,
      upperThreshold: d.uThreshold,
      lowerThreshold: d.lThreshold,
      tunnel: d.method === 'TUN' ? { ...(d.tunnel ?? { type: 'ipip', port: 0, csum: 'none' }) } : null,
      stats: statsView(d.stats),
      rates: ratesView(d.est),
    });
    const services = this.table.services.map((s: Service): ServiceView => {
      const dests = s.dests.map(destView);
      // The sorry server shows while it holds connections (keepalived adds it to IPVS then).
      if (s.sorry && s.sorry.refs > 0) dests.push(destView(s.sorry));
      return {
        key: toViewKey(s.key),
        family: s.family,
        scheduler: s.scheduler,
        schedFlags: flagsOut(s.scheduler, s.schedFlags),
        persistence: s.persistence ? { timeout: s.persistence.timeoutS, netmask: s.persistence.prefixLen } : null,
        pe: null,
        ops: s.ops,
        dests,
        stats: statsView(s.stats),
        rates: ratesView(s.est),
      };
    });
    const connections: ConnectionView[] = [];
    if (options.connections) {
      for (const c of this.table.connections()) {
        const fw = c.service.key.kind === 'fwmark';
        connections.push({
          protocol: c.template && fw ? 'IP' : (c.protocol.toUpperCase() as 'TCP' | 'UDP' | 'SCTP'),
          family: familyOf(c.clientAddr),
          expireSeconds: Math.max(0, Math.floor((c.expiresAt - now) / 1000)),
          state: c.state,
          client: { address: c.clientAddr, port: c.clientPort },
          virtual: { address: c.vaddr, port: c.vport },
          destination: { address: c.dest.addr, port: c.dest.port },
          template: c.template,
          peName: null,
          peData: null,
        });
      }
    }
    const t = this.table.timeoutSpec;
    return {
      version: '1.2.1',
      connTableSize: 4096,
      services,
      connections,
      timeouts: { tcp: t.tcp, tcpfin: t.tcpFin, udp: t.udp },
    };
  }

  apply(cmd: ControlCommand): ApplyResult {
    if (cmd.op === 'restore') {
      const results: ApplyResult[] = [];
      for (const c of cmd.commands) {
        results.push(c.op === 'restore' ? fail('INVALID', 'nested restore') : this.apply(c));
      }
      const last = results[results.length - 1] ?? { ok: true };
      return { ...last, results };
    }
    try {
      this.applyOne(cmd);
      return { ok: true };
    } catch (e) {
      if (e instanceof IpvsError) return fail(ERROR_CODES[e.code], e.message);
      return fail('INTERNAL', (e as Error).message);
    }
  }

  private applyOne(cmd: Exclude<ControlCommand, { op: 'restore' }>): void {
    const now = this.opts.now();
    switch (cmd.op) {
      case 'add-service':
        this.table.addService(serviceSpecIn(cmd.service));
        return;
      case 'edit-service': {
        const cur = this.table.findService(toTableKey(cmd.service.key));
        if (!cur) throw new IpvsError('ENOENT_SERVICE');
        // lvsadm edits only what ipvsadm can express; our extras (sorry server...) are kept.
        const spec = serviceSpecIn(cmd.service);
        this.table.editService({
          ...spec,
          sorryServer: cur.sorry && !cur.sorry.removed ? destSpecOf(cur.sorry) : null,
          proxyProtocol: cur.proxyProtocol,
          retryOnRefuse: cur.retryOnRefuse,
        });
        return;
      }
      case 'delete-service':
        this.table.deleteService(toTableKey(cmd.key), now);
        return;
      case 'add-dest':
        this.table.addDest(toTableKey(cmd.service), destSpecIn(cmd.dest));
        return;
      case 'edit-dest':
        this.table.editDest(toTableKey(cmd.service), destSpecIn(cmd.dest), now);
        return;
      case 'delete-dest':
        this.table.deleteDest(toTableKey(cmd.service), cmd.dest.address, cmd.dest.port, now);
        return;
      case 'clear':
        this.table.clear(now);
        return;
      case 'zero':
        this.table.zero(cmd.service ? toTableKey(cmd.service) : null);
        return;
      case 'set-timeouts':
        this.table.setTimeouts({ tcp: cmd.timeouts.tcp, tcpFin: cmd.timeouts.tcpfin, udp: cmd.timeouts.udp });
        return;
    }
  }
}

function fail(code: ControlErrorCode, message: string): ApplyResult {
  return { ok: false, code, message };
}

function serviceSpecIn(s: ViewServiceSpec): ServiceSpec {
  if (!(SCHEDULER_NAMES as readonly string[]).includes(s.scheduler)) throw new IpvsError('ESCHED', s.scheduler);
  if (s.pe !== null) throw new IpvsError('ESCHED', `persistence engine ${s.pe} not available`);
  const key = toTableKey(s.key);
  if (s.ops && !(key.kind === 'addr' && key.protocol === 'udp')) throw new IpvsError('EINVAL', 'ops is UDP only');
  return {
    key,
    scheduler: s.scheduler as SchedulerName,
    schedFlags: flagsIn(s.schedFlags),
    persistence: s.persistence ? { timeoutS: s.persistence.timeout, prefixLen: s.persistence.netmask } : null,
    ops: s.ops,
    dests: [],
  };
}

function destSpecIn(d: ViewDestSpec): DestSpec {
  return {
    addr: d.address,
    port: d.port,
    weight: d.weight,
    method: FORWARD_IN[d.forward],
    uThreshold: d.upperThreshold,
    lThreshold: d.lowerThreshold,
    tunnel: d.tunnel ? { ...d.tunnel } : null,
  };
}

export function destSpecOf(d: Dest): DestSpec {
  return {
    addr: d.addr, port: d.port, weight: d.weight, method: d.method, uThreshold: d.uThreshold,
    lThreshold: d.lThreshold, tunnel: d.tunnel,
  };
}
