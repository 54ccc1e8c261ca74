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

/** A NAT or FULLNAT flow a sync master announced, as this director will carry it. */
export interface NatFlowAdd {
  mark: number;
  family: Family;
  proto: 'tcp' | 'udp';
  caddr: string;
  cport: number;
  vaddr: string;
  vport: number;
  daddr: string;
  dport: number;
  /** FULLNAT: the source address the real server sees (it must be the one the old master used) */
  snatAddr?: string;
  /** IPVS/conntrack TCP state name (ESTABLISHED, FIN_WAIT, ...); ignored for UDP */
  state: string;
  timeoutS: number;
}

/** IPVS TCP states onto conntrack's names (conntrack -I --state). */
const CT_STATE: Record<string, string> = {
  ESTABLISHED: 'ESTABLISHED', FIN_WAIT: 'FIN_WAIT', TIME_WAIT: 'TIME_WAIT', CLOSE: 'CLOSE', CLOSE_WAIT: 'CLOSE_WAIT', LAST_ACK: 'LAST_ACK',
  SYN_RECV: 'SYN_RECV', SYN_SENT: 'SYN_SENT',
};

const endpoint = (family: Family, addr: string, port: number): string => (family === 6 ? `[${addr}]:${port}` : `${addr}:${port}`);

/**
 * `conntrack -I` arguments that create the flow's NAT binding with the dest's mark, so its next
 * packets are translated (DNAT, and SNAT for FULLNAT) exactly as on the old master without being
 * scheduled again. Null for a state conntrack cannot be created in.
 */
export function conntrackInsertArgs(f: NatFlowAdd): string[] | null {
  // the family follows from the addresses (conntrack refuses -f with -I)
  const args = ['-I', '-p', f.proto, '-s', f.caddr, '-d', f.vaddr, '--sport', String(f.cport), '--dport', String(f.vport)];
  if (f.proto === 'tcp') {
    const st = CT_STATE[f.state];
    if (!st) return null;
    args.push('--state', st);
  }
  args.push('-u', 'SEEN_REPLY,ASSURED', '-t', String(clampTimeout(f.timeoutS)), '--mark', String(f.mark >>> 0));
  args.push('--dst-nat', endpoint(f.family, f.daddr, f.dport));
  if (f.snatAddr) args.push('--src-nat', f.snatAddr);
  return args;
}
