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

/**
 * Kept per virtual server, then per real server endpoint: a reload looks up every one of 10,000
 * real servers, and one endpoint text per lookup is cheaper than a joined "vs|rs" key.
 */
export class HealthOverlay {
  private readonly rs = new Map<string, Map<string, RsHealth>>();
  private readonly sorryActive = new Set<string>();
  /** Real servers drained by a schedule (weight 0 until restored), per virtual server. */
  private readonly drained = new Map<string, Set<string>>();

  /** Records a checker event; returns whether anything the table sees changed. */
  apply(e: CheckEvent): boolean {
    if (e.kind === 'quorum') return false;
    if (e.kind === 'sorry') {
      const had = this.sorryActive.has(e.vs);
      if (e.inTable) this.sorryActive.add(e.vs);
      else this.sorryActive.delete(e.vs);
      return had !== e.inTable;
    }
    let ofVs = this.rs.get(e.vs);
    if (!ofVs) this.rs.set(e.vs, (ofVs = new Map()));
    const prev = ofVs.get(e.rs);
    if (prev && prev.inTable === e.inTable && prev.weight === e.weight) return false;
    ofVs.set(e.rs, { inTable: e.inTable, weight: e.weight });
    return true;
  }

  setDrained(vs: string, rs: string, drained: boolean): boolean {
    let ofVs = this.drained.get(vs);
    const had = ofVs?.has(rs) ?? false;
    if (drained) {
      if (!ofVs) this.drained.set(vs, (ofVs = new Set()));
      ofVs.add(rs);
    } else if (ofVs) {
      ofVs.delete(rs);
      if (ofVs.size === 0) this.drained.delete(vs);
    }
    return had !== drained;
  }

  isDrained(vs: string, rs: string): boolean {
    return this.drained.get(vs)?.has(rs) ?? false;
  }

  /** The spec the table should run for one service of virtual server `vs`. */
  effective(vs: string, spec: ServiceSpec): ServiceSpec {
    // keepalived: with quorum lost and a sorry server, the real servers leave and it takes over.
    const sorry = this.sorryActive.has(vs) ? (spec.sorryServer ?? null) : null;
    const health = this.rs.get(vs);
    const drained = this.drained.get(vs);
    if (sorry) return { ...spec, dests: [], sorryServer: sorry };
    if (!health && !drained) return { ...spec, dests: spec.dests, sorryServer: null };
    const dests: DestSpec[] = [];
    for (const d of spec.dests) {
      const ep = endpoint(d.addr, d.port);
      const h = health?.get(ep);
      if (h && !h.inTable) continue;
      let weight = h ? h.weight : d.weight;
      if (drained?.has(ep)) weight = 0;
      dests.push(weight === d.weight ? d : { ...d, weight });
    }
    return { ...spec, dests, sorryServer: null };
  }

  /** Forgets what no longer exists after a reload: `servers` is each virtual server's real servers. */
  retain(servers: ReadonlyMap<string, ReadonlySet<string>>): void {
    const keep = <T>(byVs: Map<string, Map<string, T> | Set<string>>) => {
      for (const [vs, ofVs] of byVs) {
        const now = servers.get(vs);
        if (!now) {
          byVs.delete(vs);
          continue;
        }
        for (const rs of ofVs.keys()) if (!now.has(rs)) ofVs.delete(rs);
      }
    };
    keep(this.rs);
    keep(this.drained);
    for (const v of this.sorryActive) if (!servers.has(v)) this.sorryActive.delete(v);
  }
}
