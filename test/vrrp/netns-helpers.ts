// Helpers for the root tests: namespaces joined by a bridge, lvsd harness and keepalived as child
// processes, a TCP probe. Everything created is tracked and removed by cleanup(), also on failure.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const isRoot = process.getuid?.() === 0;
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const harnessPath = join(repoRoot, 'dist/src/vrrp/harness.js');

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function nsExec(ns: string, cmd: string[], timeoutMs = 10_000): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Lab {
  names: Record<string, string>;
  dir: string;
  procs: ChildProcess[];
  cleanup(): void;
}

/**
 * Routers r1, r2 (and more) plus a client namespace `cl` holding a bridge; each router has one veth
 * (`eth0` inside) into the bridge. IPv4 192.0.2.N/24 and 2001:db8::N/64 with N = index + 1;
 * the client is .10 / ::10.
 */
export function makeLab(area: string, routers = ['r1', 'r2']): Lab {
  const sfx = Math.random().toString(36).slice(2, 7);
  const names: Record<string, string> = { cl: `lvsd-${area}-${sfx}-cl` };
  const dir = mkdtempSync(join(tmpdir(), `lvsd-${area}-`));
  const lab: Lab = {
    names,
    dir,
    procs: [],
    cleanup() {
      for (const p of lab.procs) if (p.exitCode === null && p.signalCode === null && p.pid) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
      for (const n of Object.values(names)) try { ip('netns', 'del', n); } catch { /* not created */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    ip('netns', 'add', names.cl);
    nsExec(names.cl, ['ip', 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    nsExec(names.cl, ['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'br0']);
    nsExec(names.cl, ['ip', 'addr', 'add', '2001:db8::10/64', 'dev', 'br0', 'nodad']);
    nsExec(names.cl, ['ip', 'link', 'set', 'br0', 'up']);
    nsExec(names.cl, ['ip', 'link', 'set', 'lo', 'up']);
    routers.forEach((r, i) => {
      const n = `lvsd-${area}-${sfx}-${r}`;
      names[r] = n;
      ip('netns', 'add', n);
      ip('link', 'add', 'eth0', 'netns', n, 'type', 'veth', 'peer', 'name', `p-${r}`, 'netns', names.cl);
      nsExec(names.cl, ['ip', 'link', 'set', `p-${r}`, 'master', 'br0', 'up']);
      nsExec(n, ['ip', 'addr', 'add', `192.0.2.${i + 1}/24`, 'dev', 'eth0']);
      nsExec(n, ['ip', 'addr', 'add', `2001:db8::${i + 1}/64`, 'dev', 'eth0', 'nodad']);
      nsExec(n, ['ip', 'link', 'set', 'eth0', 'up']);
      nsExec(n, ['ip', 'link', 'set', 'lo', 'up']);
    });
  } catch (e) {
    lab.cleanup();
    throw e;
  }
  return lab;
}

/** Wait until every router has a usable IPv6 link-local address (DAD finished). */
export async function waitLinkLocal(lab: Lab, routers: string[], timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const r of routers) {
    while (!/inet6 fe80::[^\n]*scope link\s*(\n|$)/.test(nsExec(lab.names[r], ['ip', '-6', 'addr', 'show', 'dev', 'eth0'])) || /tentative/.test(nsExec(lab.names[r], ['ip', '-6', 'addr', 'show', 'dev', 'eth0']))) {
      if (Date.now() > until) throw new Error(`no link-local on ${r}`);
      await sleep(100);
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Event {
  event: string;
  instance?: string;
  from?: string;
  to?: string;
  priority?: number;
  t: number;
  [k: string]: unknown;
}

/** A child process whose stdout JSON lines (lvsd harness) or log lines (keepalived) are collected. */
export class Proc {
  readonly events: Event[] = [];
  readonly lines: string[] = [];
  /** keepalived only: its VRRP child's pidfile. */
  vrrpPidFile?: string;
  private waiters: Array<() => void> = [];
  constructor(readonly child: ChildProcess) {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(l);
        if (l.startsWith('{')) try { this.events.push(JSON.parse(l) as Event); } catch { /* log line */ }
        for (const w of this.waiters.splice(0)) w();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', () => { for (const w of this.waiters.splice(0)) w(); });
  }
  async waitFor<T>(pred: () => T | undefined | false, timeoutMs: number, what = 'condition'): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what}; last lines:\n${this.lines.slice(-15).join('\n')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 100));
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }
  /** The latest state of an instance according to its state events. */
  state(instance?: string): string | undefined {
    const ev = this.events.filter((e) => e.event === 'state' && (!instance || e.instance === instance));
    return ev[ev.length - 1]?.to;
  }
  waitState(to: string, timeoutMs: number, instance?: string): Promise<Event> {
    const start = this.events.length;
    void start;
    return this.waitFor(() => (this.state(instance) === to ? this.events.filter((e) => e.event === 'state').pop() : undefined), timeoutMs, `state ${to}`);
  }
  kill(sig: NodeJS.Signals): void {
    if (!this.child.pid || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.child.pid, sig);
    } catch {
      // already gone
    }
  }
  exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((r) => this.child.on('exit', () => r()));
  }
}

export function startHarness(lab: Lab, router: string, spec: object): Proc {
  const file = join(lab.dir, `${router}-${Math.random().toString(36).slice(2, 6)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  const child = spawn('ip', ['netns', 'exec', lab.names[router], process.execPath, harnessPath, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.procs.push(child);
  return new Proc(child);
}

/** keepalived (VRRP only, foreground, console log) with a config file we write. */
export function startKeepalived(lab: Lab, router: string, conf: string): Proc {
  const tag = `${router}-${Math.random().toString(36).slice(2, 6)}`;
  const file = join(lab.dir, `${tag}.conf`);
  writeFileSync(file, conf);
  const child = spawn(
    'ip',
    ['netns', 'exec', lab.names[router], '/usr/sbin/keepalived', '--dont-fork', '--log-console', '--vrrp', '-f', file, '-p', join(lab.dir, `${tag}.pid`), '-r', join(lab.dir, `${tag}.vrrp.pid`)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  lab.procs.push(child);
  const p = new Proc(child);
  p.vrrpPidFile = join(lab.dir, `${tag}.vrrp.pid`);
  return p;
}

/**
 * keepalived's VRRP work runs in a child process that shuts down gracefully (priority 0) when its
 * parent dies, so a real crash needs both killed: the child by the PID in its own pidfile.
 */
export function killKeepalivedHard(p: Proc): void {
  try {
    const pid = Number(readFileSync(p.vrrpPidFile!, 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // no VRRP child (yet)
  }
  p.kill('SIGKILL');
}

export const hasKeepalived = existsSync('/usr/sbin/keepalived');
/** iputils arping (Debian iputils-arping) sends lvsd's gratuitous ARPs. */
export const hasArping = ['/usr/bin/arping', '/usr/sbin/arping', '/bin/arping'].some((p) => existsSync(p));

/** Addresses on eth0 of a router. */
export function addrs(lab: Lab, router: string): string {
  return nsExec(lab.names[router], ['ip', 'addr', 'show', 'dev', 'eth0']);
}

/** A TCP service on port 8080 in a namespace that answers with its name. */
export function startEcho(lab: Lab, router: string): Proc {
  // A client may reset a probe midway: ignore socket errors so the server never dies of it.
  const code = `require('net').createServer(s=>{s.on('error',()=>{});s.end(${JSON.stringify(router)}+'\\n')}).listen(8080,'::',()=>console.log('{"event":"listening","t":0}'))`;
  const child = spawn('ip', ['netns', 'exec', lab.names[router], process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.procs.push(child);
  return new Proc(child);
}

/** Connect from the client namespace to addr:8080; returns the answering router's name or ''. */
export function probe(lab: Lab, addr: string, timeoutMs = 1000): string {
  const code = `const s=require('net').connect({host:${JSON.stringify(addr)},port:8080,timeout:${timeoutMs}});let d='';s.on('data',x=>d+=x);s.on('end',()=>{process.stdout.write(d.trim());process.exit(0)});s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(1))`;
  try {
    return nsExec(lab.names.cl, [process.execPath, '-e', code], timeoutMs + 3000).trim();
  } catch {
    return '';
  }
}

export function readLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Probe until `want` answers or the time is up; returns the last answer. */
export async function probeUntil(lab: Lab, addr: string, want: string, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  let who = '';
  while ((who = probe(lab, addr, 300)) !== want && Date.now() < until) await sleep(50);
  return who;
}
