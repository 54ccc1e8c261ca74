// What health checks and maintenance schedules say about real servers, kept beside the
// configuration: the table a service should have = its configured spec seen through this overlay.
// Pure: events in, specs out.

import type { CheckEvent } from '../check/index.js';
import type { DestSpec, ServiceSpec } from '../ipvs/index.js';
import { endpoint } from './specs.js';

interface RsHealth {
  inTable: boolean;
  weight: number;
}

export class HealthOverlay {
  private readonly rs = new Map<string, RsHealth>();
  private readonly sorryActive = new Set<string>();
  /** Real servers drained by a schedule (weight 0 until restored): `${vs}|${rs}`. */
  private readonly drained = new Set<string>();

  /** Records a checker event; returns whether anything the table sees changed. */
  apply(e: CheckEvent): boolean {
    if (e.kind === 'quorum') return false;
    if (e.kind === 'sorry') {
      const had = this.sorryActive.has(e.vs);
      if (e.inTable) this.sorryActive.add(e.vs);
      else this.sorryActive.delete(e.vs);
      return had !== e.inTable;
    }
    const key = `${e.vs}|${e.rs}`;
    const prev = this.rs.get(key);
    if (prev && prev.inTable === e.inTable && prev.weight === e.weight) return false;
    this.rs.set(key, { inTable: e.inTable, weight: e.weight });
    return true;
  }

  setDrained(vs: string, rs: string, drained: boolean): boolean {
    const key = `${vs}|${rs}`;
    const had = this.drained.has(key);
    if (drained) this.drained.add(key);
    else this.drained.delete(key);
    return had !== drained;
  }

  isDrained(vs: string, rs: string): boolean {
    return this.drained.has(`${vs}|${rs}`);
  }

  /** The spec the table should run for one service of virtual server `vs`. */
  effective(vs: string, spec: ServiceSpec): ServiceSpec {
    const dests: DestSpec[] = [];
    for (const d of spec.dests) {
      const key = `${vs}|${endpoint(d.addr, d.port)}`;
      const h = this.rs.get(key);
      if (h && !h.inTable) continue;
      let weight = h ? h.weight : d.weight;
      if (this.drained.has(key)) weight = 0;
      dests.push(weight === d.weight ? d : { ...d, weight });
    }
    // keepalived: with quorum lost and a sorry server, the real servers leave and it takes over.
    const sorry = this.sorryActive.has(vs) ? (spec.sorryServer ?? null) : null;
    return { ...spec, dests: sorry ? [] : dests, sorryServer: sorry };
  }

  /** Forgets what no longer exists after a reload (vs ids and `${vs}|${rs}` keys to keep). */
  retain(vsIds: ReadonlySet<string>, rsKeys: ReadonlySet<string>): void {
    for (const k of this.rs.keys()) if (!rsKeys.has(k)) this.rs.delete(k);
    for (const k of this.drained) if (!rsKeys.has(k)) this.drained.delete(k);
    for (const v of this.sorryActive) if (!vsIds.has(v)) this.sorryActive.delete(v);
  }
}
