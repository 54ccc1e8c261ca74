// A small but real in-memory TableControl for control-socket tests: it keeps services and
// destinations and answers edits with the kernel's error codes (not a mock returning constants).
import type {
  ApplyResult, ControlCommand, DestView, ServiceView, SnapshotOptions, TableControl, TableView, TimeoutsView,
} from '../../src/control/view.js';
import { IPVS_DEFAULTS, sameServiceKey, ZERO_RATES, ZERO_STATS } from '../../src/control/view.js';

const KNOWN_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr', 'sh', 'dh', 'fo', 'ovf', 'mh'];
const FWD = { masq: 'Masq', route: 'Route', tunnel: 'Tunnel', fullnat: 'FullNat' } as const;

export class MemoryTable implements TableControl {
  services: ServiceView[] = [];
  timeouts: TimeoutsView = { ...IPVS_DEFAULTS.timeouts };

  snapshot(_options?: SnapshotOptions): TableView {
    return structuredClone({
      version: IPVS_DEFAULTS.version, connTableSize: IPVS_DEFAULTS.connTableSize,
      services: this.services, connections: [], timeouts: this.timeouts,
    });
  }

  apply(cmd: ControlCommand): ApplyResult {
    const fail = (code: Exclude<ApplyResult, { ok: true }>['code'], message = ''): ApplyResult => ({ ok: false, code, message });
    switch (cmd.op) {
      case 'add-service': case 'edit-service': {
        const existing = this.services.find((s) => sameServiceKey(s.key, cmd.service.key));
        if (cmd.op === 'add-service' && existing) return fail('SERVICE_EXISTS');
        if (cmd.op === 'edit-service' && !existing) return fail('NO_SERVICE');
        if (!KNOWN_SCHEDULERS.includes(cmd.service.scheduler)) return fail('SCHEDULER_NOT_FOUND');
        const family = cmd.service.key.kind === 'fwmark' ? cmd.service.key.family : cmd.service.key.address.includes(':') ? 6 : 4;
        const next: ServiceView = {
          ...cmd.service, family, dests: existing?.dests ?? [], stats: existing?.stats ?? { ...ZERO_STATS }, rates: { ...ZERO_RATES },
        };
        if (existing) this.services[this.services.indexOf(existing)] = next;
        else this.services.unshift(next);
        return { ok: true };
      }
      case 'delete-service': {
        const i = this.services.findIndex((s) => sameServiceKey(s.key, cmd.key));
        if (i === -1) return fail('NO_SERVICE');
        this.services.splice(i, 1);
        return { ok: true };
      }
      case 'add-dest': case 'edit-dest': case 'delete-dest': {
        const svc = this.services.find((s) => sameServiceKey(s.key, cmd.service));
        if (!svc) return fail('NO_SERVICE');
        const i = svc.dests.findIndex((d) => d.address === cmd.dest.address && d.port === cmd.dest.port);
        if (cmd.op === 'delete-dest') {
          if (i === -1) return fail('NO_DEST');
          svc.dests.splice(i, 1);
          return { ok: true };
        }
        if (cmd.op === 'add-dest' && i !== -1) return fail('DEST_EXISTS');
        if (cmd.op === 'edit-dest' && i === -1) return fail('NO_DEST');
        const d = cmd.dest;
        const view: DestView = {
          family: d.address.includes(':') ? 6 : 4, address: d.address, port: d.port, forward: FWD[d.forward],
          weight: d.weight, activeConns: 0, inactiveConns: 0, persistConns: 0, upperThreshold: d.upperThreshold,
          lowerThreshold: d.lowerThreshold, tunnel: d.tunnel, stats: { ...ZERO_STATS }, rates: { ...ZERO_RATES },
        };
        if (i === -1) svc.dests.unshift(view);
        else svc.dests[i] = view;
        return { ok: true };
      }
      case 'clear': this.services = []; return { ok: true };
      case 'zero': {
        const targets = cmd.service ? this.services.filter((s) => sameServiceKey(s.key, cmd.service!)) : this.services;
        if (cmd.service && targets.length === 0) return fail('NO_SERVICE');
        for (const s of targets) {
          s.stats = { ...ZERO_STATS };
          for (const d of s.dests) d.stats = { ...ZERO_STATS };
        }
        return { ok: true };
      }
      case 'start-daemon': case 'stop-daemon': return fail('PROTOCOL_NOT_AVAILABLE', 'no sync daemon in a memory table');
      case 'set-timeouts': {
        const t = cmd.timeouts;
        this.timeouts = { tcp: t.tcp || this.timeouts.tcp, tcpfin: t.tcpfin || this.timeouts.tcpfin, udp: t.udp || this.timeouts.udp };
        return { ok: true };
      }
      case 'restore': {
        const results = cmd.commands.map((c) => (c.op === 'restore' ? fail('INVALID') : this.apply(c)));
        const last = results[results.length - 1] ?? { ok: true };
        return { ...last, results };
      }
    }
  }
}
