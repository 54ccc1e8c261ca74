// Test helpers: build destinations and packet keys the way the ipvs table does.
import { foldAddress } from '../../src/sched/index.js';
import type { PacketKey, SchedDest, Scheduler } from '../../src/sched/index.js';

let nextId = 1;

export function dest(name: string, weight: number, more: Partial<SchedDest> = {}): SchedDest & { name: string } {
  const id = nextId++;
  return {
    id,
    name,
    addr: more.addr ?? `192.0.2.${(id % 250) + 1}`,
    port: more.port ?? 80,
    weight,
    activeConns: more.activeConns ?? 0,
    inactiveConns: more.inactiveConns ?? 0,
    overloaded: more.overloaded ?? false,
  };
}

export function key(saddr: string, daddr = '198.51.100.1', sport = 40000, dport = 80): PacketKey {
  return {
    family: saddr.includes(':') ? 6 : 4,
    saddr,
    daddr,
    saddrFold: foldAddress(saddr),
    daddrFold: foldAddress(daddr),
    sport,
    dport,
  };
}

export const ANY_KEY = key('203.0.113.9');

/** Names of `n` successive picks (null shown as '-'). */
export function picks(s: Scheduler, n: number, k: PacketKey = ANY_KEY, now = 0): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(nameOf(s.pick(k, now)));
  return out;
}

export function nameOf(d: SchedDest | null): string {
  return d === null ? '-' : (d as SchedDest & { name: string }).name;
}

/** `n` picks, each followed by `after(chosen)` (e.g. to count the new connection). */
export function picksWith(s: Scheduler, n: number, after: (d: SchedDest) => void, k: PacketKey = ANY_KEY): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = s.pick(k, 0);
    out.push(nameOf(d));
    if (d !== null) after(d);
  }
  return out;
}
