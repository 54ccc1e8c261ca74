// What the metrics endpoint reads at each scrape: the table view plus counters from VRRP, the
// checkers, reloads and packet drops, passed in by the daemon (plain data, read on demand).
import type { TableView } from '../control/view.js';

export interface VrrpInstanceMetrics {
  name: string;
  /** INIT | BACKUP | MASTER | FAULT */
  state: string;
  advertsSent: number;
  advertsReceived: number;
  becameMaster: number;
  releasedMaster: number;
}

export interface CheckerMetrics {
  /** virtual service text and real server text, e.g. "TCP 192.0.2.10:80" and "10.0.0.11:80" */
  service: string;
  server: string;
  type: string;
  up: boolean;
  checksOk: number;
  checksFailed: number;
}

export interface ReloadMetrics {
  ok: number;
  failed: number;
  /** hash of the running configuration (hex), null before the first load */
  configHash: string | null;
}

export interface MetricsSource {
  table(): TableView;
  vrrp?(): VrrpInstanceMetrics[];
  checkers?(): CheckerMetrics[];
  reloads?(): ReloadMetrics;
  /** dropped packets or requests by reason */
  drops?(): Record<string, number>;
}
