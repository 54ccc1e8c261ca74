// DR flows a sync master announced, as elements of the per-dest flow sets (ruleset.ts): a flow in
// `drf_<mark>` keeps its real server, so a connection open at failover continues where it was.
// Pure: renders one nft -f transaction. The element's timeout is what the master announced (the
// kernel's template for the entry), and an ESTABLISHED flow is also put in `dre_<mark>` so the
// state lvsadm shows stays ESTABLISHED; later packets refresh both as for any DR flow.
import { flowSetName, TABLE } from './ruleset.js';
import type { Family } from './types.js';

export interface DrFlowAdd {
  mark: number;
  family: Family;
  caddr: string;
  cport: number;
  vaddr: string;
  vport: number;
  timeoutS: number;
  established: boolean;
}

/** nft refuses element timeouts of 0; DR flows live at most as long as ESTABLISHED (900 s). */
const clampTimeout = (s: number): number => Math.max(1, Math.min(Math.round(s), 86400 * 31));

export function renderDrFlowAdds(flows: readonly DrFlowAdd[]): string {
  const bySet = new Map<string, string[]>();
  const add = (set: string, elem: string): void => {
    const list = bySet.get(set) ?? [];
    list.push(elem);
    bySet.set(set, list);
  };
  for (const f of flows) {
    const key = `${f.caddr} . ${f.cport} . ${f.vaddr} . ${f.vport} timeout ${clampTimeout(f.timeoutS)}s`;
    add(flowSetName('drf', f.mark), key);
    if (f.established) add(flowSetName('dre', f.mark), key);
  }
  const out: string[] = [];
  for (const [set, elems] of bySet) {
    for (let i = 0; i < elems.length; i += 256) out.push(`add element inet ${TABLE} ${set} { ${elems.slice(i, i + 256).join(', ')} }`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
