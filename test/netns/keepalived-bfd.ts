// The real keepalived (Debian's 2.2.7, built with BFD) as the BFD peer of a root test: started in
// a namespace with its pid files in the lab's directory, and killed the way a crashed machine
// goes (its BFD child first, so no AdminDown leaves it).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Proc, type Lab } from '../vrrp/netns-helpers.js';

export interface KeepalivedBfd {
  proc: Proc;
  pidFile: string;
  bfdPidFile: string;
}

/**
 * `keepalived -n -l [extraArgs] -R -f CONF` in namespace `ns` (registered in lab for cleanup).
 * -R: a killed BFD child stays dead (no respawn), as a crashed peer would.
 */
export function startKeepalivedBfd(lab: Lab, ns: string, conf: string, extraArgs: string[] = []): KeepalivedBfd {
  const tag = Math.random().toString(36).slice(2, 6);
  const file = join(lab.dir, `ka-${tag}.conf`);
  writeFileSync(file, conf);
  const pidFile = join(lab.dir, `ka-${tag}.pid`);
  const bfdPidFile = join(lab.dir, `ka-${tag}.bfd.pid`);
  const child = spawn('ip', ['netns', 'exec', ns, '/usr/sbin/keepalived', '-n', '-l', ...extraArgs, '-R', '-f', file, '-p', pidFile, '-r', join(lab.dir, `ka-${tag}.vrrp.pid`), '-c', join(lab.dir, `ka-${tag}.chk.pid`), '-b', bfdPidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.procs.push(child);
  return { proc: new Proc(child), pidFile, bfdPidFile };
}

function pidOf(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined; // no BFD child (yet)
  }
}

/** SIGKILL keepalived's BFD child (no AdminDown leaves it), then the parent. */
export async function killKeepalivedBfd(k: KeepalivedBfd): Promise<void> {
  const bfd = pidOf(k.bfdPidFile);
  if (bfd) try { process.kill(bfd, 'SIGKILL'); } catch { /* gone */ }
  k.proc.kill('SIGKILL');
  await k.proc.exited();
}
