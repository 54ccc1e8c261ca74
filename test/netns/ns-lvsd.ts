// The real lvsd (`lvsd -n -f CONF`) started in a network namespace by a root test: its JSON log
// lines collected, its stderr kept for failure messages, lvsadm against its control socket.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { lvsdBin, repoRoot } from '../helpers/paths.js';

const lvsadmBin = join(repoRoot, 'dist', 'src', 'bin', 'lvsadm.js');

export class NsLvsd {
  readonly logs: Record<string, unknown>[] = [];
  stderr = '';
  readonly proc: ChildProcess;
  /** the exit code (null when killed by a signal) */
  readonly exited: Promise<number | null>;

  constructor(ns: string, conf: string, private readonly sock: string) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, lvsdBin, '-n', '-f', conf, '--control-socket', sock, '--workers', '0'], {
      cwd: repoRoot, env: { ...process.env, NOTIFY_SOCKET: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.logs.push({ raw: line });
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
  }

  /** Polls `cond` every 100 ms; the timeout's error carries lvsd's stderr and last log lines. */
  async until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}; stderr: ${this.stderr}; last log: ${JSON.stringify(this.logs.slice(-3))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Resolves once lvsd logged "lvsd started" or exited (the caller checks which). */
  started(timeoutMs = 60000): Promise<void> {
    return this.until(() => this.logs.some((l) => l.msg === 'lvsd started') || this.proc.exitCode !== null, 'lvsd started', timeoutMs);
  }

  /** The VRRP state this lvsd last logged ("vrrp state" line), if any. */
  vrrpState(): string | undefined {
    return this.logs.filter((l) => l.msg === 'vrrp state').at(-1)?.to as string | undefined;
  }

  /** Resolves once the last logged VRRP state is `to`. */
  untilVrrp(to: string, what: string, timeoutMs: number): Promise<void> {
    return this.until(() => this.vrrpState() === to, what, timeoutMs);
  }

  lvsadm(...args: string[]): string {
    const r = spawnSync(process.execPath, [lvsadmBin, '--socket', this.sock, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lvsadm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** SIGKILL unless it already exited (tests end this way after a failure). */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}
