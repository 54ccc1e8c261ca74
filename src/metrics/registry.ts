// A prom-client registry whose values are read from a MetricsSource at scrape time: the same
// counters lvsadm shows, per service and per real server, plus VRRP, checkers, reloads, drops.
import { Counter, Gauge, Registry } from 'prom-client';
import { addrPort } from '../control/render/format.js';
import type { ServiceView } from '../control/view.js';
import type { MetricsSource } from './source.js';

function serviceLabel(s: ServiceView): string {
  if (s.key.kind === 'fwmark') return s.family === 6 ? `FWM ${s.key.fwmark} IPv6` : `FWM ${s.key.fwmark}`;
  return `${s.key.protocol} ${addrPort(s.key.address, s.key.port, null, null)}`;
}

type Labels = Record<string, string>;

/** A counter whose value is copied from the source (the source owns monotonicity). */
function copiedCounter(reg: Registry, name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void {
  new Counter({
    name, help, labelNames, registers: [reg],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.inc(labels, v);
    },
  });
}

function gauge(reg: Registry, name: string, help: string, labelNames: string[], read: () => [Labels, number][]): void {
  new Gauge({
    name, help, labelNames, registers: [reg],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.set(labels, v);
    },
  });
}

export function createMetricsRegistry(source: MetricsSource): Registry {
  const reg = new Registry();
  const svc = () => source.table().services;
  const perService = (pick: (s: ServiceView) => number) => () => svc().map((s): [Labels, number] => [{ service: serviceLabel(s) }, pick(s)]);
  const perDest = (pick: (d: ServiceView['dests'][number]) => number) => () =>
    svc().flatMap((s) => s.dests.map((d): [Labels, number] => [{ service: serviceLabel(s), server: addrPort(d.address, d.port, null, null) }, pick(d)]));

  for (const [field, what] of [['conns', 'connections'], ['inpkts', 'incoming packets'], ['outpkts', 'outgoing packets'], ['inbytes', 'incoming bytes'], ['outbytes', 'outgoing bytes']] as const) {
    copiedCounter(reg, `lvsd_service_${field}_total`, `Virtual service ${what}`, ['service'], perService((s) => s.stats[field]));
    copiedCounter(reg, `lvsd_server_${field}_total`, `Real server ${what}`, ['service', 'server'], perDest((d) => d.stats[field]));
  }
  for (const field of ['cps', 'inpps', 'outpps', 'inbps', 'outbps'] as const) {
    gauge(reg, `lvsd_service_rate_${field}`, `Virtual service estimated ${field}`, ['service'], perService((s) => s.rates[field]));
    gauge(reg, `lvsd_server_rate_${field}`, `Real server estimated ${field}`, ['service', 'server'], perDest((d) => d.rates[field]));
  }
  gauge(reg, 'lvsd_server_active_connections', 'Active connections (ipvsadm ActiveConn)', ['service', 'server'], perDest((d) => d.activeConns));
  gauge(reg, 'lvsd_server_inactive_connections', 'Inactive connections (ipvsadm InActConn)', ['service', 'server'], perDest((d) => d.inactiveConns));
  gauge(reg, 'lvsd_server_weight', 'Real server weight', ['service', 'server'], perDest((d) => d.weight));
  gauge(reg, 'lvsd_server_up', 'Real server in service (weight > 0)', ['service', 'server'], perDest((d) => (d.weight > 0 ? 1 : 0)));

  gauge(reg, 'lvsd_vrrp_state', 'VRRP instance state (1 for the current state)', ['instance', 'state'], () =>
    (source.vrrp?.() ?? []).flatMap((v) => ['INIT', 'BACKUP', 'MASTER', 'FAULT'].map((st): [Labels, number] => [{ instance: v.name, state: st }, v.state === st ? 1 : 0])));
  for (const [field, help] of [['advertsSent', 'adverts_sent'], ['advertsReceived', 'adverts_received'], ['becameMaster', 'became_master'], ['releasedMaster', 'released_master']] as const) {
    copiedCounter(reg, `lvsd_vrrp_${help}_total`, `VRRP ${help.replace('_', ' ')}`, ['instance'], () =>
      (source.vrrp?.() ?? []).map((v): [Labels, number] => [{ instance: v.name }, v[field]]));
  }
  const checkerLabels = ['service', 'server', 'type'];
  gauge(reg, 'lvsd_checker_up', 'Health checker result (1 up, 0 down)', checkerLabels, () =>
    (source.checkers?.() ?? []).map((c): [Labels, number] => [{ service: c.service, server: c.server, type: c.type }, c.up ? 1 : 0]));
  copiedCounter(reg, 'lvsd_checker_checks_total', 'Health checks run by result', [...checkerLabels, 'result'], () =>
    (source.checkers?.() ?? []).flatMap((c): [Labels, number][] => [
      [{ service: c.service, server: c.server, type: c.type, result: 'ok' }, c.checksOk],
      [{ service: c.service, server: c.server, type: c.type, result: 'failed' }, c.checksFailed]]));
  copiedCounter(reg, 'lvsd_reloads_total', 'Configuration reloads by result', ['result'], () => {
    const r = source.reloads?.();
    return r ? [[{ result: 'ok' }, r.ok], [{ result: 'failed' }, r.failed]] : [];
  });
  gauge(reg, 'lvsd_config_info', 'Running configuration (hash label)', ['hash'], () => {
    const h = source.reloads?.()?.configHash;
    return h ? [[{ hash: h }, 1]] : [];
  });
  copiedCounter(reg, 'lvsd_dropped_total', 'Dropped packets or requests by reason', ['reason'], () =>
    Object.entries(source.drops?.() ?? {}).map(([reason, v]): [Labels, number] => [{ reason }, v]));
  return reg;
}
