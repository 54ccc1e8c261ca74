// What the lvsadm end-to-end tests share: free loopback ports, real backends (TCP and UDP) that
// answer a fixed text, a spawned lvsd with its control socket in a temp dir, lvsadm spawned as a
// separate process, and a tiny printf so expected listings are written from ipvsadm's own format
// strings rather than from our renderers.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '../../src/control/index.js';
import type { TableView } from '../../src/control/index.js';
import { lvsdBin, repoRoot } from '../helpers/paths.js';

export const lvsadmBin = join(repoRoot, 'dist', 'src', 'bin', 'lvsadm.js');

// ---- ports ----------------------------------------------------------------------------------

/** A port free for TCP and UDP on `host` (and on `alsoOn`) right now: the kernel picks, we re-check. */
export async function freePort(host: string, alsoOn: string[] = []): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, host, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    let free = true;
    for (const h of [host, ...alsoOn]) free = free && await portFreeOn(h, port);
    if (free) return port;
  }
  throw new Error(`no free port on ${host}`);
}

function portFreeOn(host: string, port: number): Promise<boolean> {
  const udp = new Promise<boolean>((resolve) => {
    const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    u.once('error', () => resolve(false));
    u.bind(port, host, () => u.close(() => resolve(true)));
  });
  const tcp = new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
  return Promise.all([udp, tcp]).then(([a, b]) => a && b);
}

// ---- backends -------------------------------------------------------------------------------

export interface Backend {
  host: string;
  port: number;
  /** the exact bytes this backend answers each request with */
  reply: string;
  close(): Promise<void>;
}

/**
 * A TCP real server: reads one request chunk, writes `reply` once, and ends when the client ends
 * (allowHalfOpen false), so the client always closes first and the proxy sees FIN_WAIT then
 * TIME_WAIT.
 */
export async function tcpBackend(host: string, port: number, reply: string): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.once('data', () => s.write(reply));
    s.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    host, port, reply,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A UDP real server: answers every datagram with `reply`. */
export async function udpBackend(host: string, port: number, reply: string): Promise<Backend> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (_m, rinfo) => sock.send(reply, rinfo.port, rinfo.address));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => resolve());
  });
  return { host, port, reply, close: () => new Promise<void>((resolve) => sock.close(() => resolve())) };
}

// ---- clients --------------------------------------------------------------------------------

/**
 * One TCP exchange through the VIP: connect, write `request` once, wait for the whole reply (it
 * ends with a newline), end, wait for close. Returns the reply and the client's local port (the
 * `source` of `-c`).
 */
export function tcpExchange(host: string, port: number, request: string, timeoutMs = 5000): Promise<{ reply: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let reply = '';
    let localPort = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`tcp exchange with ${host}:${port} timed out (got ${JSON.stringify(reply)})`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => {
      localPort = s.localPort ?? 0;
      s.write(request);
    });
    s.on('data', (d: string) => {
      reply += d;
      if (reply.endsWith('\n')) s.end();
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, localPort });
    });
  });
}

/** A UDP client socket; `ask` sends one datagram and waits for its one answer. */
export async function udpClient(host: string): Promise<{ port: number; ask(vip: string, vport: number, msg: string): Promise<string>; close(): void }> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => sock.bind(0, host, () => resolve()));
  return {
    port: sock.address().port,
    ask: (vip, vport, msg) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sock.off('message', onMsg);
        reject(new Error(`no UDP answer from ${vip}:${vport}`));
      }, 5000);
      const onMsg = (m: Buffer): void => {
        clearTimeout(timer);
        resolve(m.toString('utf8'));
      };
      sock.once('message', onMsg);
      sock.send(msg, vport, vip);
    }),
    close: () => sock.close(),
  };
}

// ---- the daemon -----------------------------------------------------------------------------

export interface RunningLvsd {
  dir: string;
  conf: string;
  socket: string;
  proc: ChildProcess;
  /** every JSON log event so far */
  logs(): Record<string, unknown>[];
  client: ControlClient;
  /** kill (SIGTERM, then SIGKILL) and remove the temp dir */
  stop(): Promise<void>;
}

/** Spawns `lvsd -n -f CONF --control-socket SOCK --workers 0` and waits for its control socket. */
export async function startLvsd(configText: (dir: string) => string): Promise<RunningLvsd> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-e2e-lvsadm-'));
  const conf = join(dir, 'lvsd.conf');
  const socket = join(dir, 'control.sock');
  writeFileSync(conf, configText(dir));
  const proc = spawn(process.execPath, [lvsdBin, '-n', '-f', conf, '--control-socket', socket, '--workers', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        events.push({ raw: line });
      }
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (stderr += d));
  const client = new ControlClient(socket, 2000);
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`lvsd exited ${proc.exitCode}: ${stderr}`);
    }
    const started = events.some((e) => e.msg === 'lvsd started');
    if (started) {
      try {
        await client.snapshot();
        break;
      } catch {
        // not yet
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`lvsd did not start: ${stderr}`);
    }
    await sleep(50);
  }
  return { dir, conf, socket, proc, logs: () => events, client, stop };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls the table until `ready(view)` holds (counters are folded in on the proxy's 1 s sweep). */
export async function waitForTable(client: ControlClient, ready: (v: TableView) => boolean, what: string, timeoutMs = 8000): Promise<TableView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await client.snapshot({ connections: true });
    if (ready(v)) return v;
    if (Date.now() > deadline) throw new Error(`table never reached: ${what}\n${JSON.stringify(v.services.map((s) => [s.key, s.stats]))}`);
    await sleep(100);
  }
}

export interface LvsadmRun {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs the real lvsadm binary against the socket, optionally feeding stdin. */
export function lvsadm(socket: string, args: string[], stdin = ''): Promise<LvsadmRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [lvsadmBin, '--socket', socket, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8');
    p.stderr.setEncoding('utf8');
    p.stdout.on('data', (d: string) => (stdout += d));
    p.stderr.on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ stdout, stderr, code }));
    p.stdin.end(stdin);
  });
}

// ---- printf ---------------------------------------------------------------------------------

/**
 * C printf for the conversions ipvsadm's listings use: %s %d %u %llu with an optional `-` flag
 * and width, and %02d. Written here so expected text follows ipvsadm's format strings literally.
 */
export function printf(fmt: string, ...args: (string | number)[]): string {
  let i = 0;
  return fmt.replace(/%(-?)(0?)(\d*)(?:ll)?([sdu%])/g, (_m, minus: string, zero: string, width: string, conv: string) => {
    if (conv === '%') return '%';
    const v = String(args[i++]);
    const w = width === '' ? 0 : Number(width);
    if (minus) return v.padEnd(w, ' ');
    return v.padStart(w, zero ? '0' : ' ');
  });
}
