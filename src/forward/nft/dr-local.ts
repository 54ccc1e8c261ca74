// DR when the VIP is a local address of the director (VRRP put it on an interface): the
// routing decision then sends the packet to the local table (rule pref 0, before lvsd's DR rules
// at 31000) and it would be delivered locally. IPVS intercepts at LOCAL_IN; lvsd intercepts
// earlier, at prerouting priority -120 (after `pre` -140 and `dr_track` -130 of `table inet lvsd`
// have set the dest's mark): a marked packet whose destination is local is cloned by `dup to RS
// device DEV` and the original is dropped. nf_dup_ipv4/6 (net/ipv4/netfilter/nf_dup_ipv4.c)
// decrements the TTL/hop limit at PREROUTING, routes the clone with the real server as known next
// hop (FLOWI_FLAG_KNOWN_NH), so it leaves unchanged with dst = VIP towards the real server's MAC:
// exactly DR. The clone is untracked and gets DF set (a reassembled datagram is still
// refragmented: the netns test sends 3000-byte UDP). Routed VIPs (not local) keep the policy routes of dr-routes.ts.
//
// Why `dup` in `ip`/`ip6` tables and not netdev `fwd`: the mark is set in the inet table at
// prerouting, after the netdev ingress hook, so only a prerouting chain can see it; `dup` exists
// only in the ip/ip6 families (nft says "unsupported family" for inet), hence one table each.
// The host's own rules (`lookup local`) are never touched.
//
// renderDrLocal() is pure; resolveDrLocal() asks the kernel for each real server's egress device.

import type { CommandRunner } from './commands.js';
import { MARK_BASE, MARK_MASK } from './marks.js';
import type { Family } from './types.js';
import type { DrRoute } from './dr-routes.js';

export const DR_LOCAL_TABLE = 'lvsd';
export const DR_LOCAL_PRIORITY = -120;

/** Where a DR dest's packets leave: its next hop and device (`device` null: no route, dropped). */
export interface DrLocalTarget {
  mark: number;
  family: Family;
  nexthop: string;
  device: string | null;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const fam = (f: Family): string => (f === 4 ? 'ip' : 'ip6');
const destChain = (mark: number): string => `dup_${(mark >>> 0).toString(16)}`;
/** Interface names are at most 15 bytes of [A-Za-z0-9_.@:-] in practice; anything else is refused. */
const DEVICE_RE = /^[A-Za-z0-9_.@:-]{1,15}$/;

/**
 * Commands that make tables `ip lvsd` and `ip6 lvsd` exactly `targets`, for the same nft
 * transaction as the inet table. Each table is deleted and rebuilt (dest chains come and go with
 * the dests); a family without targets has no table, so no hook costs its packets.
 */
export function renderDrLocal(targets: readonly DrLocalTarget[]): string {
  const out: string[] = [];
  for (const f of [4, 6] as const) {
    const t = `${fam(f)} ${DR_LOCAL_TABLE}`;
    // add + delete: deletes whether or not it exists, without failing the transaction.
    out.push(`add table ${t}`, `delete table ${t}`);
    const mine = targets.filter((x) => x.family === f);
    if (mine.length === 0) continue;
    out.push(`add table ${t}`);
    out.push(`add counter ${t} drlocal`);
    out.push(`add counter ${t} drlocalnoroute`);
    for (const x of mine) out.push(`add chain ${t} ${destChain(x.mark)}`);
    out.push(`add map ${t} dests { type mark : verdict; }`);
    out.push(`add chain ${t} dr_local { type filter hook prerouting priority ${DR_LOCAL_PRIORITY}; policy accept; }`);
    // Cheapest test first: most packets carry no lvsd mark.
    out.push(`add rule ${t} dr_local meta mark & ${hex(MARK_MASK)} != ${hex(MARK_BASE)} accept`);
    out.push(`add rule ${t} dr_local fib daddr type != local accept`);
    out.push(`add rule ${t} dr_local meta mark vmap @dests`);
    out.push(`add element ${t} dests { ${mine.map((x) => `${hex(x.mark)} : goto ${destChain(x.mark)}`).join(', ')} }`);
    for (const x of mine) {
      const c = destChain(x.mark);
      if (x.device === null || !DEVICE_RE.test(x.device)) {
        // No route to the real server now: delivering the packet locally would answer the
        // client with a reset for a service this host does not run.
        out.push(`add rule ${t} ${c} counter name drlocalnoroute drop`);
      } else {
        out.push(`add rule ${t} ${c} counter name drlocal dup to ${x.nexthop} device "${x.device}" drop`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** Deletes both tables (stop); never fails when they are absent. */
export function renderDrLocalDelete(): string {
  return renderDrLocal([]);
}

interface RouteGet {
  type?: string;
  dev?: string;
  gateway?: string;
}

/**
 * The egress of each DR dest from `ip -j route get ADDR` (recomputed at every apply, so a moved
 * interface is followed on the next reload). A real server behind a gateway gets the gateway as
 * next hop, as the policy route would; DR normally wants it on-link.
 */
export async function resolveDrLocal(runner: CommandRunner, routes: readonly DrRoute[]): Promise<DrLocalTarget[]> {
  // One lookup per address (a real server in several services), a few at a time.
  const keys = [...new Set(routes.map((r) => `${r.family}|${r.addr}`))];
  const found = new Map<string, { nexthop: string; device: string | null }>();
  for (let i = 0; i < keys.length; i += 8) {
    await Promise.all(keys.slice(i, i + 8).map(async (k) => {
      const [family, addr] = [k.slice(0, 1), k.slice(2)];
      found.set(k, egressOf(addr, await runner.run('ip', [`-${family}`, '-j', 'route', 'get', addr])));
    }));
  }
  return routes.map((r) => ({ mark: r.mark, family: r.family, ...found.get(`${r.family}|${r.addr}`)! }));
}

/** Next hop and device from `ip -j route get ADDR`; a failed lookup or a local address has no device. */
export function egressOf(addr: string, res: { code: number; stdout: string }): { nexthop: string; device: string | null } {
  let got: RouteGet | undefined;
  try {
    got = res.code === 0 ? (JSON.parse(res.stdout) as RouteGet[])[0] : undefined;
  } catch {
    got = undefined;
  }
  const device = typeof got?.dev === 'string' && got.dev !== 'lo' && got.type !== 'local' ? got.dev : null;
  return { nexthop: typeof got?.gateway === 'string' ? got.gateway : addr, device };
}

/** Packets sent to real servers (and dropped for want of a route) by the local-VIP path. */
export async function drLocalCounters(runner: CommandRunner): Promise<{ drlocal: number; drlocalnoroute: number }> {
  const out = { drlocal: 0, drlocalnoroute: 0 };
  for (const f of [4, 6] as const) {
    const r = await runner.run('nft', ['list', 'counters', 'table', fam(f), DR_LOCAL_TABLE]);
    if (r.code !== 0) continue;
    const re = /counter (drlocal|drlocalnoroute) \{\s*packets (\d+)/g;
    for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) out[m[1] as 'drlocal' | 'drlocalnoroute'] += Number(m[2]);
  }
  return out;
}
