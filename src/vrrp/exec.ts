// Running configured commands (notify, vrrp_script): execFile with a clean environment, never a
// shell, optionally as another user. A command that fails never throws into VRRP.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { CommandSpec } from './types.js';

export interface CommandResult {
  ok: boolean;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  error?: string;
}

const CLEAN_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

function lookupId(file: string, name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[0] === name);
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}

export function runCommand(cmd: CommandSpec, extraArgs: string[] = [], timeoutMs = 0): Promise<CommandResult> {
  return new Promise((resolve) => {
    const [file, ...args] = cmd.argv;
    if (!file) return resolve({ ok: false, code: null, signal: null, timedOut: false, error: 'empty command' });
    const opts: Parameters<typeof execFile>[2] = { env: CLEAN_ENV, timeout: timeoutMs, killSignal: 'SIGKILL', cwd: '/' };
    if (cmd.user && process.getuid?.() === 0) {
      const uid = lookupId('/etc/passwd', cmd.user);
      const gid = lookupId('/etc/group', cmd.group ?? cmd.user);
      if (uid === undefined) return resolve({ ok: false, code: null, signal: null, timedOut: false, error: `unknown user ${cmd.user}` });
      opts.uid = uid;
      if (gid !== undefined) opts.gid = gid;
    }
    try {
      execFile(file, [...args, ...extraArgs], opts, (err) => {
        if (!err) return resolve({ ok: true, code: 0, signal: null, timedOut: false });
        const e = err as { code?: unknown; signal?: string | null; killed?: boolean; message: string };
        resolve({
          ok: false,
          code: typeof e.code === 'number' ? e.code : null,
          signal: e.signal ?? null,
          timedOut: Boolean(e.killed && timeoutMs > 0),
          error: e.message,
        });
      });
    } catch (e) {
      resolve({ ok: false, code: null, signal: null, timedOut: false, error: (e as Error).message });
    }
  });
}
