// What the end-to-end tests share: real HTTP backends on loopback, a config writer, and the real
// lvsd process (spawned from dist/) with its JSON log lines collected and awaited.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, lvsdBin } from '../helpers/paths.js';

export const lvsadmBin = join(repoRoot, 'dist', 'src', 'bin', 'lvsadm.js');

export interface Backend {
  port: number;
  hits: number;
  server: http.Server;
  close(): Promise<void>;
}

/** An HTTP server answering `backend PORT` on any path (GET /health included). */
export async function startBackend(opts: { delayMs?: number } = {}): Promise<Backend> {
  const b = { port: 0, hits: 0 } as Backend;
  const server = http.createServer((req, res) => {
    b.hits++;
    const send = () => res.end(`backend ${b.port}\n`);
    if (opts.delayMs && req.url !== '/health') setTimeout(send, opts.delayMs);
    else send();
  });
  server.keepAliveTimeout = 30000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  b.port = (server.address() as net.AddressInfo).port;
  b.server = server;
  b.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return b;
}

/** A port nobody listens on right now (bound then released: good enough on loopback). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface RsDef {
  port: number;
  weight: number;
  /** Health check: TCP_CHECK, HTTP_GET /health, or none (always in the table). */
  check?: 'tcp' | 'http' | 'none';
}

export interface VsDef {
  port: number;
  sched?: string;
  rs: RsDef[];
}

export interface ConfDef {
  controlSocket: string;
  stateFile?: string;
  statsFile?: string;
  drainTimeout?: number;
  vs: VsDef[];
  /** Raw text appended (lvsd_schedule blocks and the like). */
  extra?: string;
}

export function configText(c: ConfDef): string {
  const lines = [
    'global_defs {', '    router_id lvsd_e2e', '}',
    'lvsd_defs {',
    `    control_socket ${c.controlSocket}`,
    `    drain_timeout ${c.drainTimeout ?? 2}`,
    ...(c.stateFile ? [`    state_file ${c.stateFile}`] : []),
    ...(c.statsFile ? [`    stats_file ${c.statsFile}`] : []),
    '}',
  ];
  for (const vs of c.vs) {
    lines.push(`virtual_server 127.0.0.1 ${vs.port} {`, `    lvs_sched ${vs.sched ?? 'wrr'}`, '    protocol TCP', '    delay_loop 1');
    for (const rs of vs.rs) {
      lines.push(`    real_server 127.0.0.1 ${rs.port} {`, `        weight ${rs.weight}`);
      if (rs.check === 'tcp') lines.push('        TCP_CHECK {', '            connect_timeout 1', '        }');
      if (rs.check === 'http') lines.push('        HTTP_GET {', '            url {', '                path /health', '                status_code 200', '            }', '            connect_timeout 1', '        }');
      lines.push('    }');
    }
    lines.push('}');
  }
  if (c.extra) lines.push(c.extra);
  return lines.join('\n') + '\n';
}

export interface TempDir {
  dir: string;
  path(name: string): string;
  cleanup(): void;
}

export function tempDir(prefix = 'lvsd-e2e-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: (n) => join(dir, n), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** The real lvsd process with its log: every stdout JSON line is kept and can be awaited. */
export class LvsdProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];
  private out = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.out += chunk;
      let nl;
      while ((nl = this.out.indexOf('\n')) !== -1) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
      }
      for (const w of this.waiters) w();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      for (const w of this.waiters) w();
      resolve({ code, signal });
    }));
  }

  static spawn(args: string[], env: NodeJS.ProcessEnv = {}): LvsdProcess {
    const child = spawn(process.execPath, [lvsdBin, ...args], { cwd: repoRoot, env: { ...process.env, NOTIFY_SOCKET: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    return new LvsdProcess(child);
  }

  /** Starts lvsd on a config file and waits for "lvsd started". */
  static async start(file: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<LvsdProcess> {
    const p = LvsdProcess.spawn(['-n', '-f', file, '--workers', '0', ...extraArgs], env);
    await p.waitFor((l) => l.msg === 'lvsd started', 15000);
    return p;
  }

  get pid(): number {
    return this.child.pid!;
  }

  count(pred: (l: LogLine) => boolean): number {
    return this.lines.filter(pred).length;
  }

  /** Resolves with the first line (from index `from`) matching; rejects on timeout or exit. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs = 10000, from = 0): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.slice(from).find(pred);
        if (hit) return done(null, hit);
        if (this.child.exitCode !== null || this.child.signalCode !== null) done(new Error(`lvsd exited (${this.child.exitCode ?? this.child.signalCode}) before the awaited log line; stderr: ${this.stderr.join('')}`));
      };
      const timer = setTimeout(() => done(new Error(`timed out waiting for a log line; last lines:\n${this.lines.slice(-5).map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${this.stderr.join('')}`)), timeoutMs);
      const done = (err: Error | null, line?: LogLine) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        if (err) reject(err);
        else resolve(line!);
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Sends a signal and waits for the log line it produces (counted from now). */
  async signal(sig: NodeJS.Signals, pred: (l: LogLine) => boolean, timeoutMs = 10000): Promise<LogLine> {
    const from = this.lines.length;
    this.child.kill(sig);
    return this.waitFor(pred, timeoutMs, from);
  }

  /** SIGTERM (then SIGKILL after a grace period): always leaves no process behind. */
  async stop(graceMs = 8000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const r = await this.exited;
      clearTimeout(t);
      return r;
    }
    return this.exited;
  }
}

/** `lvsadm ARGS` against a control socket; returns stdout (throws with stderr on failure). */
export function lvsadm(socket: string, args: string[]): string {
  const r = spawnSync(process.execPath, [lvsadmBin, ...args], { env: { ...process.env, LVSD_CONTROL_SOCKET: socket }, encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0) throw new Error(`lvsadm ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `lvsd ARGS` run to completion (for -t and --diff). */
export function lvsdSync(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [lvsdBin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 15000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One GET; resolves with the body or rejects. `agent: false` opens a new connection. */
export function get(port: number, agent: http.Agent | false, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Overwrites a config file atomically (a reload never reads half a file). */
export function writeConfig(file: string, text: string): void {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}
