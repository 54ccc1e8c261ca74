// Parses one line of `conntrack -E -o extended,id` or `conntrack -L -o extended,id`. Pure.
// Line shapes: "[NEW] ipv4 2 tcp 6 120 SYN_SENT src=.. dst=.. sport=.. dport=.. [UNREPLIED]
// src=.. dst=.. sport=.. dport=.. mark=N id=N"; DESTROY lines have no timeout and no state; UDP
// has no state word; with nf_conntrack_acct each tuple is followed by packets= bytes=.

export interface CtTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  packets: number;
  bytes: number;
}

export interface CtEntry {
  event: 'new' | 'update' | 'destroy' | null;
  family: 4 | 6;
  proto: string;
  timeoutS: number;
  /** TCP state, or for UDP/others ASSURED / UNREPLIED / REPLIED from the flags. */
  state: string;
  orig: CtTuple;
  reply: CtTuple;
  mark: number;
  id: number;
}

const EVENTS: Record<string, CtEntry['event']> = { '[NEW]': 'new', '[UPDATE]': 'update', '[DESTROY]': 'destroy' };

function emptyTuple(): CtTuple {
  return { src: '', dst: '', sport: 0, dport: 0, packets: 0, bytes: 0 };
}

function num(v: string): number {
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : NaN;
}

/** Returns null for anything that is not a well-formed TCP/UDP entry. */
export function parseConntrackLine(line: string): CtEntry | null {
  const tok = line.trim().split(/\s+/);
  let i = 0;
  let event: CtEntry['event'] = null;
  if (tok[i]?.startsWith('[')) {
    event = EVENTS[tok[i]] ?? null;
    if (event === null) return null;
    i++;
  }
  let family: 4 | 6;
  if (tok[i] === 'ipv4') family = 4;
  else if (tok[i] === 'ipv6') family = 6;
  else return null;
  i += 2;
  const proto = tok[i];
  if (proto !== 'tcp' && proto !== 'udp') return null;
  i += 2;
  let timeoutS = 0;
  if (tok[i] !== undefined && /^\d+$/.test(tok[i])) timeoutS = Number(tok[i++]);
  let state = '';
  if (tok[i] !== undefined && /^[A-Z_0-9]+$/.test(tok[i])) state = tok[i++];
  const orig = emptyTuple();
  const reply = emptyTuple();
  let tupleNo = 0;
  let countNo = 0;
  let mark = 0;
  let id = 0;
  let assured = false;
  let unreplied = false;
  for (; i < tok.length; i++) {
    const t = tok[i];
    if (t === '[ASSURED]') { assured = true; continue; }
    if (t === '[UNREPLIED]') { unreplied = true; continue; }
    const eq = t.indexOf('=');
    if (eq <= 0) continue;
    const k = t.slice(0, eq);
    const v = t.slice(eq + 1);
    if (k === 'src') tupleNo++;
    const tuple = tupleNo <= 1 ? orig : reply;
    switch (k) {
      case 'src': tuple.src = v; break;
      case 'dst': tuple.dst = v; break;
      case 'sport': tuple.sport = num(v); break;
      case 'dport': tuple.dport = num(v); break;
      case 'packets': (countNo === 0 ? orig : reply).packets = num(v); break;
      case 'bytes': (countNo++ === 0 ? orig : reply).bytes = num(v); break;
      case 'mark': mark = num(v); break;
      case 'id': id = num(v); break;
      default: break;
    }
  }
  if (tupleNo < 2 || !orig.src || !orig.dst || !reply.src || !reply.dst) return null;
  const nums = [orig.sport, orig.dport, reply.sport, reply.dport, orig.packets, orig.bytes, reply.packets, reply.bytes, mark, id];
  if (nums.some((n) => Number.isNaN(n)) || mark > 0xffffffff) return null;
  if (!state) state = assured ? 'ASSURED' : unreplied ? 'UNREPLIED' : 'REPLIED';
  return { event, family, proto, timeoutS, state, orig, reply, mark, id };
}

/** IPVS counts a connection as active only in TCP ESTABLISHED; all else is inactive. */
export function isActiveState(proto: string, state: string): boolean {
  return proto === 'tcp' && state === 'ESTABLISHED';
}

/** Parses /proc/net/netfilter/nfnetlink_queue: per-queue drop counters. */
export function parseQueueProc(text: string): Map<number, { queueTotal: number; queueDropped: number; userDropped: number }> {
  const out = new Map<number, { queueTotal: number; queueDropped: number; userDropped: number }>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 7 || f.slice(0, 7).some((n) => !Number.isFinite(n))) continue;
    out.set(f[0], { queueTotal: f[2], queueDropped: f[5], userDropped: f[6] });
  }
  return out;
}
