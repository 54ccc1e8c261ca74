// DR forwarding by policy routing: a DR dest's mark selects a routing table of its own whose
// default route points at the real server, so the packet leaves unchanged (dst = VIP) towards the
// real server's MAC. The table number is the mark itself; rules use one preference. Shell.
// A VIP that is a local address never reaches these rules (`lookup local` comes first): see
// dr-local.ts.

import type { CommandRunner } from './commands.js';
import { isLvsdMark } from './marks.js';
import type { Family } from './types.js';

export const DR_RULE_PREF = 31000;

export interface DrRoute {
  mark: number;
  family: Family;
  addr: string;
}

interface IpRule {
  priority?: number;
  table?: string;
  fwmark?: string;
}

async function currentMarks(runner: CommandRunner, family: Family): Promise<Set<number>> {
  const r = await runner.run('ip', [`-${family}`, '-j', 'rule', 'show']);
  const out = new Set<number>();
  if (r.code !== 0) return out;
  let rules: IpRule[] = [];
  try {
    rules = JSON.parse(r.stdout) as IpRule[];
  } catch {
    return out;
  }
  for (const rule of rules) {
    if (rule.priority !== DR_RULE_PREF || rule.fwmark === undefined) continue;
    const mark = Number(rule.fwmark);
    if (isLvsdMark(mark)) out.add(mark);
  }
  return out;
}

/** Makes the DR rules/routes exactly `routes` (adds missing, replaces routes, removes stale). */
export async function syncDrRoutes(runner: CommandRunner, routes: readonly DrRoute[]): Promise<void> {
  for (const family of [4, 6] as const) {
    const want = routes.filter((r) => r.family === family);
    const have = await currentMarks(runner, family);
    for (const r of want) {
      await runner.must('ip', [`-${family}`, 'route', 'replace', 'default', 'via', r.addr, 'table', String(r.mark)]);
      if (!have.has(r.mark)) {
        await runner.must('ip', [`-${family}`, 'rule', 'add', 'pref', String(DR_RULE_PREF), 'fwmark', String(r.mark), 'table', String(r.mark)]);
      }
    }
    const keep = new Set(want.map((r) => r.mark));
    for (const mark of have) {
      if (keep.has(mark)) continue;
      await runner.run('ip', [`-${family}`, 'rule', 'del', 'pref', String(DR_RULE_PREF), 'fwmark', String(mark), 'table', String(mark)]);
      await runner.run('ip', [`-${family}`, 'route', 'flush', 'table', String(mark)]);
    }
  }
}
