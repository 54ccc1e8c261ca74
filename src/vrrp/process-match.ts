// Pure: does a process match a vrrp_track_process? keepalived's rules (track_process.c read_procs,
// check_process, check_params): an exact comparison, never a pattern. Without parameters or
// full_command the process name (comm, /proc/PID/stat) must equal `process`; otherwise argv[0]
// (/proc/PID/cmdline) must, and the parameters are compared as NUL-separated bytes.
import type { VrrpTrackProcessSpec } from './types.js';

/** What the scan reads of one process. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  /** The name in /proc/PID/stat (comm, at most 15 bytes). */
  comm: string;
  /** Zombies are processes that have exited (keepalived counts them gone). */
  zombie: boolean;
  /** /proc/PID/cmdline, or null when not read (no spec needs it) or unreadable. */
  cmdline: Buffer | null;
}

/**
 * /proc/PID/stat: "PID (COMM) STATE PPID ...". COMM may hold spaces and parentheses, so it runs
 * to the last ')'. Returns null for anything else.
 */
export function parseStat(text: string): { comm: string; state: string; ppid: number } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const ppid = Number(rest[1]);
  if (!rest[0] || !Number.isInteger(ppid)) return null;
  return { comm: text.slice(open + 1, close), state: rest[0], ppid };
}

/** A spec in the form the matcher compares: keepalived's parser forces full_command with params. */
export interface CompiledProcessMatch {
  process: Buffer;
  fullCommand: boolean;
  paramMatch: 'none' | 'exact' | 'partial' | 'initial';
  /** Parameters joined, each followed by NUL (keepalived's process_params), or null for none. */
  params: Buffer | null;
}

export function compileProcessMatch(s: VrrpTrackProcessSpec): CompiledProcessMatch {
  const hasParams = (s.params?.length ?? 0) > 0;
  return {
    process: Buffer.from(s.process),
    fullCommand: s.fullCommand === true || hasParams || s.paramMatch !== undefined,
    paramMatch: s.paramMatch ?? (hasParams ? 'exact' : 'none'),
    params: hasParams ? Buffer.concat(s.params!.map((p) => Buffer.from(`${p}\0`))) : null,
  };
}

/** keepalived's check_params over the bytes after argv[0]'s NUL. */
export function paramsMatch(m: CompiledProcessMatch, rest: Buffer): boolean {
  const want = m.params;
  const wantLen = want?.length ?? 0;
  if (m.paramMatch === 'exact' && !want && rest.length === 0) return true;
  if (rest.length < wantLen) return false;
  if (m.paramMatch === 'exact') return rest.length === wantLen && (!want || rest.equals(want));
  if (!want) return true;
  if (m.paramMatch === 'partial') return rest.subarray(0, wantLen).equals(want);
  // initial: the last parameter may be longer than configured (its NUL is not compared).
  return wantLen === 1 || rest.subarray(0, wantLen - 1).equals(want.subarray(0, wantLen - 1));
}

export function processMatches(m: CompiledProcessMatch, p: ProcInfo): boolean {
  if (p.zombie) return false;
  if (!m.fullCommand) return p.comm === m.process.toString();
  const c = p.cmdline;
  if (!c || c.length === 0) return false;
  const nul = c.indexOf(0);
  const argv0 = nul < 0 ? c : c.subarray(0, nul);
  if (!argv0.equals(m.process)) return false;
  if (m.paramMatch === 'none') return true;
  return paramsMatch(m, nul < 0 ? Buffer.alloc(0) : c.subarray(nul + 1));
}
