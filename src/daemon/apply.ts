// Brings one service of the table to a spec without touching the others (health events and
// maintenance schedules change one service at a time; reloads use IpvsTable.applySpec).

import type { Change, IpvsTable, ServiceSpec } from '../ipvs/index.js';
import { endpointText, serviceKeyText } from '../ipvs/index.js';

export function applyService(table: IpvsTable, spec: ServiceSpec, nowMs: number): Change[] {
  const changes: Change[] = [];
  const svc = table.findService(spec.key);
  const keyText = serviceKeyText(spec.key);
  if (!svc) {
    // Removed by lvsadm since: health events do not bring services back (a reload does).
    return changes;
  }
  const fields = table.editService(spec);
  if (fields.length) changes.push({ op: 'edit-service', service: keyText, fields });
  const want = new Map(spec.dests.map((d) => [endpointText(d.addr, d.port), d]));
  const have = new Set<string>();
  for (const d of [...svc.dests]) {
    const ep = endpointText(d.addr, d.port);
    have.add(ep);
    if (!want.has(ep)) {
      table.deleteDest(spec.key, d.addr, d.port, nowMs);
      changes.push({ op: 'delete-dest', service: keyText, dest: ep });
    }
  }
  for (const [ep, d] of want) {
    if (have.has(ep)) {
      const f = table.editDest(spec.key, d, nowMs);
      if (f.length) changes.push({ op: 'edit-dest', service: keyText, dest: ep, fields: f });
    } else {
      table.addDest(spec.key, d);
      changes.push({ op: 'add-dest', service: keyText, dest: ep });
    }
  }
  return changes;
}
