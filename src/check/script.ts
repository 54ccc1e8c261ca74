// Running scripts (misc_path, notify_up/down, quorum_up/down) the way keepalived does: the
// command string split into argv (whitespace; '…' and "…" quoting; \ escapes), executed directly
// (through /bin/sh only when the file is not a binary or #! script), with a clean environment, in
// its own process group, as a non-root user unless the rules allow root. Output is capped and the
// rest drained, so a flooding script cannot hurt us; a hanging one gets SIGTERM, then SIGKILL.
import { spawn } from 'node:child_process';
import { openSync, readSync, closeSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ScriptPolicy, ScriptSpec } from './types.js';

export const CLEAN_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } as const;
export const DEFAULT_MAX_OUTPUT = 64 * 1024;
const SEARCH_PATH = CLEAN_ENV.PATH.split(':');

export class ScriptError extends Error {
  constructor(readonly code: 'ESCRIPTPARSE' | 'ESCRIPTUSER' | 'ESCRIPTINSECURE' | 'ESCRIPTEXEC', message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** Pure: split a command line into argv as keepalived does. */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < cmd.length) cur += cmd[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new ScriptError('ESCRIPTPARSE', `unterminated ${quote} in '${cmd}'`);
  if (inWord) out.push(cur);
  if (out.length === 0) throw new ScriptError('ESCRIPTPARSE', 'empty command');
  return out;
}

interface Ids {
  uid: number;
  gid: number;
}

function lookupUser(name: string): Ids | null {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
  if (!line) return /^\d+$/.test(name) ? { uid: Number(name), gid: Number(name) } : null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function lookupGroup(name: string): number | null {
  const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
  if (!line) return /^\d+$/.test(name) ? Number(name) : null;
  return Number(line.split(':')[2]);
}

function resolveProgram(arg0: string): string | null {
  if (isAbsolute(arg0) || arg0.includes('/')) return arg0;
  for (const dir of SEARCH_PATH) {
    const p = join(dir, arg0);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** keepalived's check_script_secure: the file and each directory above it root-owned, not writable by others. */
export function pathIsSecure(path: string): boolean {
  let p = path;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return false;
    }
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      // sticky world-writable dirs (/tmp) are not safe either
      return false;
    }
    const up = dirname(p);
    if (up === p) return true;
    p = up;
  }
}

/** Who runs the script. Root only when named explicitly, or enable_script_security vouches for the path. */
export function resolveRunAs(script: ScriptSpec, program: string, policy: ScriptPolicy, amRoot: boolean): Ids | null {
  if (!amRoot) return null; // cannot switch: run as ourselves
  const userName = script.user ?? policy.defaultUser ?? (lookupUser('keepalived_script') ? 'keepalived_script' : undefined);
  const groupName = script.user ? script.group : (script.group ?? policy.defaultGroup);
  if (userName === undefined) {
    if (policy.enableScriptSecurity && pathIsSecure(program)) return { uid: 0, gid: 0 };
    const nobody = lookupUser('nobody');
    if (!nobody) throw new ScriptError('ESCRIPTUSER', 'no script user and no nobody user');
    return nobody;
  }
  const ids = lookupUser(userName);
  if (!ids) throw new ScriptError('ESCRIPTUSER', `unknown user '${userName}'`);
  if (groupName !== undefined) {
    const gid = lookupGroup(groupName);
    if (gid === null) throw new ScriptError('ESCRIPTUSER', `unknown group '${groupName}'`);
    ids.gid = gid;
  }
  if (ids.uid === 0 && policy.enableScriptSecurity && !pathIsSecure(program))
    throw new ScriptError('ESCRIPTINSECURE', `${program} is writable by non-root and would run as root`);
  return ids;
}

/** true when the file can be exec'd directly (ELF or #!); else keepalived falls back to /bin/sh. */
function directlyExecutable(program: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(program, 'r');
    const b = Buffer.alloc(4);
    const n = readSync(fd, b, 0, 4, 0);
    return (n >= 2 && b[0] === 0x23 && b[1] === 0x21) || (n === 4 && b.toString('latin1') === '\x7fELF');
  } catch {
    return true; // let exec report the problem
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface ScriptRun {
  /** exit status, or null when killed by a signal / not started */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** first maxOutput bytes of stdout+stderr */
  output: string;
  /** set when the script could not be started */
  error?: ScriptError;
  tookMs: number;
}

export interface RunOptions {
  timeoutMs: number;
  /** After SIGTERM, wait this long before SIGKILL (keepalived: 2 s). */
  killGraceMs?: number;
  maxOutputBytes?: number;
  policy?: ScriptPolicy;
  /** Arguments appended to the command's own. */
  extraArgs?: readonly string[];
}

/** Run a script; never throws, never rejects. */
export function runScript(script: ScriptSpec, o: RunOptions): Promise<ScriptRun> {
  const start = performance.now();
  const took = (): number => Math.round(performance.now() - start);
  let argv: string[];
  let ids: Ids | null;
  let program: string;
  try {
    argv = [...splitCommand(script.command), ...(o.extraArgs ?? [])];
    const p = resolveProgram(argv[0]!);
    if (!p) throw new ScriptError('ESCRIPTEXEC', `${argv[0]} not found`);
    program = p;
    ids = resolveRunAs(script, program, o.policy ?? {}, process.getuid?.() === 0);
  } catch (e) {
    const error = e instanceof ScriptError ? e : new ScriptError('ESCRIPTEXEC', String(e));
    return Promise.resolve({ code: null, signal: null, timedOut: false, output: '', error, tookMs: took() });
  }
  const [file, args] = directlyExecutable(program) ? [program, argv.slice(1)] : ['/bin/sh', [program, ...argv.slice(1)]];
  const max = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let timedOut = false;
    let settled = false;
    const child = spawn(file, args, {
      env: { ...CLEAN_ENV },
      cwd: '/',
      detached: true, // own process group, so the whole tree can be signalled
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: ids?.uid,
      gid: ids?.gid,
    });
    const keep = (b: Buffer): void => {
      if (kept >= max) return; // drained and dropped
      const part = b.subarray(0, max - kept);
      chunks.push(part);
      kept += part.length;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const signalGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), o.killGraceMs ?? 2000);
    }, o.timeoutMs);
    const settle = (r: Omit<ScriptRun, 'output' | 'tookMs' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      // children of the script that kept our pipes open must not outlive it
      signalGroup('SIGKILL');
      resolve({ ...r, timedOut, output: Buffer.concat(chunks).toString('utf8'), tookMs: took() });
    };
    child.once('error', (e) => settle({ code: null, signal: null, error: new ScriptError('ESCRIPTEXEC', e.message) }));
    child.once('exit', (code, signal) => settle({ code, signal }));
  });
}
