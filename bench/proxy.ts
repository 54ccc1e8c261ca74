// bench proxy: lvsd's proxy engine side by side with HAProxy (TCP mode) and direct access, on the
// same nginx backends on loopback, each proxy with the same number of workers/threads. Prints
// keep-alive req/s, new connections/s, MB/s for a large file, p99 latency, memory per idle
// connection, and the lvsd/HAProxy ratio of each; lvsd runs with the native relay helper (when it
// builds) and with the Node relay. Also times engine.reconcile() over 1,000 unchanged services.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { join } from 'node:path';
import { createTable, type IpvsTable } from '../src/ipvs/index.js';
import { ProxyEngine } from '../src/forward/proxy/index.js';

const WORKERS = Math.max(1, Math.min(2, os.availableParallelism()));
const DURATION_S = Number(process.env.LVSD_BENCH_PROXY_SECONDS ?? 2);
const IDLE_CONNS = 2000;
const NGINX = { addr: '127.0.0.1', port: 18180 };
const HAPROXY = { addr: '127.0.0.41', port: 18181 };
const LVSD = { addr: '127.0.0.42', port: 18182 };
const LVSD_NODE = { addr: '127.0.0.43', port: 18183 };

function have(cmd: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitPort(addr: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: addr, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${addr}:${port} did not come up`);
}

function stopPid(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 3000).unref();
  });
}

/** wrk run (async: lvsd's primary runs in this process); requests/s, MB/s, p99 in ms. */
async function wrk(url: string, conns: number, extra: string[] = []): Promise<{ rps: number; mbps: number; p99: number }> {
  const p = spawn('wrk', ['-t', String(WORKERS), '-c', String(conns), '-d', `${DURATION_S}s`, '--latency', ...extra, url], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout!.setEncoding('utf8');
  p.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => p.once('exit', r));
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const t = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
  const unit: Record<string, number> = { B: 1 / 1e6, KB: 1024 / 1e6, MB: 1048576 / 1e6, GB: 1073741824 / 1e6 };
  const mbps = t ? Number(t[1]) * (unit[t[2]!] ?? 0) : 0;
  const q = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = q ? Number(q[1]) * (q[2] === 'us' ? 0.001 : q[2] === 's' ? 1000 : 1) : NaN;
  return { rps, mbps, p99 };
}

function rssKiB(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      sum += Number(m?.[1] ?? 0);
    } catch {
      // process gone
    }
  }
  return sum;
}

// lvsd's primary is this process: collect garbage before each RSS sample, so the figure is the
// connections' memory and not whatever the load runs before left for V8 to collect.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Holds N idle connections to addr:port; says "ready" when all are up, exits when stdin closes. */
const IDLE_CLIENT = `
const net = require('node:net');
const [addr, port, n] = process.argv.slice(1);
let up = 0;
const socks = [];
function more() {
  for (let i = 0; i < 200 && socks.length < Number(n); i++) {
    const s = net.connect({ host: addr, port: Number(port) }, () => { if (++up % 200 === 0 || up === Number(n)) next(); });
    s.on('error', () => { if (++up % 200 === 0 || up === Number(n)) next(); });
    socks.push(s);
  }
}
function next() { if (up >= Number(n)) process.stdout.write('ready\\n'); else more(); }
more();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** Live V8 memory of this process after a full collection (KiB). */
function selfLiveKiB(): number {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / 1024;
}

/**
 * Opens IDLE_CONNS idle connections through a proxy, from a child process (the clients' own
 * sockets must not count: lvsd's primary is this process). The growth per connection of the
 * proxy's processes' RSS, plus for lvsd the primary's live heap: its RSS moves with garbage the
 * earlier load left, by more than the connections themselves take.
 */
async function memPerIdle(addr: string, port: number, pids: () => number[], withSelf: boolean): Promise<number> {
  await sleep(200);
  const before = rssKiB(pids()) + (withSelf ? selfLiveKiB() : 0);
  const clients = spawn(process.execPath, ['-e', IDLE_CLIENT, addr, String(port), String(IDLE_CONNS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => {
    clients.stdout!.once('data', () => resolve());
    clients.once('exit', () => resolve());
  });
  await sleep(1500);
  const after = rssKiB(pids()) + (withSelf ? selfLiveKiB() : 0);
  clients.stdin!.end();
  await new Promise((r) => clients.once('exit', r));
  await sleep(500);
  return (after - before) / IDLE_CONNS;
}

interface Target {
  name: string;
  addr: string;
  port: number;
  /** processes whose RSS counts as the proxy's memory; null: not measured (direct) */
  pids: (() => number[]) | null;
  /** count this process's live heap too (lvsd's primary) */
  withSelf?: boolean;
}

type Figure = 'keepAlive' | 'newConn' | 'large';
const FIGURES: readonly Figure[] = ['keepAlive', 'newConn', 'large'];

/** One short wrk run of a figure against t: the figure's value (and p99 for keep-alive). */
async function runFigure(fig: Figure, t: Target): Promise<{ value: number; p99: number }> {
  const url = `http://${t.addr}:${t.port}`;
  if (fig === 'keepAlive') {
    const r = await wrk(`${url}/small`, 64);
    return { value: r.rps, p99: r.p99 };
  }
  if (fig === 'newConn') return { value: (await wrk(`${url}/small`, 32, ['-H', 'Connection: close'])).rps, p99: NaN };
  return { value: (await wrk(`${url}/large`, 4)).mbps, p99: NaN };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Measured {
  /** per target: every run's value and p99 */
  runs: Map<string, { value: number[]; p99: number[] }>;
  /** per compared target: value/baseline of each A-B pair */
  ratios: Map<string, number[]>;
}

/**
 * The machine drifts by 30-40 % over a bench, so a figure is taken in short interleaved rounds:
 * each round runs the baseline (HAProxy) right next to each compared target, in the order A B
 * in even rounds and B A in odd ones, and the ratio of each such pair is kept. The median of
 * the per-pair ratios (and their range) is what drift cannot bias; `extraRounds` limits the
 * targets that are only shown (direct nginx, the Node relay) to their first rounds.
 */
async function measureFigure(fig: Figure, baseline: Target, compared: Target[], rounds: number, extra: Target[], extraRounds: number): Promise<Measured> {
  const runs = new Map<string, { value: number[]; p99: number[] }>();
  const ratios = new Map<string, number[]>(compared.map((t) => [t.name, []]));
  const run = async (t: Target): Promise<number> => {
    const r = await runFigure(fig, t);
    let e = runs.get(t.name);
    if (!e) runs.set(t.name, (e = { value: [], p99: [] }));
    e.value.push(r.value);
    e.p99.push(r.p99);
    return r.value;
  };
  for (let round = 0; round < rounds; round++) {
    for (const t of compared) {
      let a: number, b: number;
      if (round % 2 === 0) {
        b = await run(baseline);
        a = await run(t);
      } else {
        a = await run(t);
        b = await run(baseline);
      }
      if (b > 0) ratios.get(t.name)!.push(a / b);
    }
    if (round < extraRounds) for (const t of extra) await run(t);
  }
  return { runs, ratios };
}

/** Idle memory (fresh processes first), then every figure in interleaved rounds; prints all. */
async function measureAll(baseline: Target, compared: Target[], extra: Target[]): Promise<void> {
  const rounds = Math.max(1, Number(process.env.LVSD_BENCH_PROXY_ROUNDS ?? 6));
  const wantedFigs = (process.env.LVSD_BENCH_PROXY_FIGURES ?? '').split(',').filter(Boolean);
  const figs = wantedFigs.length ? FIGURES.filter((f) => wantedFigs.includes(f)) : FIGURES;
  const all = [baseline, ...compared, ...extra];
  const mem = new Map<string, number>();
  // idle memory first, on fresh processes: after the load, expiring TIME_WAIT entries and the
  // collection of the load's garbage would shrink the figure while it is being taken
  if (process.env.LVSD_BENCH_PROXY_MEMORY !== '0') {
    for (const t of all) if (t.pids) mem.set(t.name, await memPerIdle(t.addr, t.port, t.pids, t.withSelf ?? false));
  }
  const results = new Map<Figure, Measured>();
  for (const f of figs) results.set(f, await measureFigure(f, baseline, compared, rounds, extra, Math.min(2, rounds)));
  const med = (f: Figure, name: string, what: 'value' | 'p99' = 'value'): number | null => {
    const r = results.get(f)?.runs.get(name)?.[what];
    return r && r.length ? median(r) : null;
  };
  const fmt = (x: number | null, digits: number, width: number): string => (x === null ? 'n/a' : x.toFixed(digits)).padStart(width);
  console.log(`(figures: median over runs; lvsd and HAProxy ${rounds} runs each, interleaved; others ${Math.min(2, rounds)})`);
  for (const t of all) {
    const m = mem.get(t.name);
    console.log(`${t.name.padEnd(11)} keep-alive ${fmt(med('keepAlive', t.name), 0, 8)} req/s  new-conn ${fmt(med('newConn', t.name), 0, 7)} conn/s  large ${fmt(med('large', t.name), 0, 6)} MB/s  p99 ${fmt(med('keepAlive', t.name, 'p99'), 2, 0)} ms  idle ${m === undefined ? 'n/a' : m.toFixed(1) + ' KiB/conn'}`);
  }
  const goals: Record<Figure, string> = { keepAlive: '>= 1.0', newConn: '>= 0.9', large: '>= 1.0' };
  const label: Record<Figure, string> = { keepAlive: 'keep-alive', newConn: 'new-conn', large: 'large' };
  for (const t of compared) {
    const parts: string[] = [];
    for (const f of figs) {
      const rs = results.get(f)!.ratios.get(t.name)!;
      if (!rs.length) continue;
      parts.push(`${label[f]} ${median(rs).toFixed(2)}x [${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)}] (goal ${goals[f]})`);
    }
    const p99 = med('keepAlive', t.name, 'p99');
    const hp99 = med('keepAlive', baseline.name, 'p99');
    if (p99 !== null && hp99) parts.push(`p99 ${(p99 / hp99).toFixed(2)}x`);
    const m = mem.get(t.name);
    const hm = mem.get(baseline.name);
    if (m !== undefined && hm) parts.push(`idle memory ${(m / hm).toFixed(2)}x (goal <= 1.0)`);
    console.log(`${t.name}/${baseline.name} (median of per-pair ratios [range]): ${parts.join('  ')}`);
  }
}

/** engine.reconcile() with 1,000 services that did not change (a reload calls it). */
async function reconcileCost(): Promise<void> {
  const table = createTable();
  table.applySpec({ services: Array.from({ length: 1000 }, (_, i) => ({
    key: { kind: 'addr' as const, protocol: i % 2 ? 'tcp' as const : 'udp' as const, addr: `127.0.2.${1 + (i % 250)}`, port: 21000 + i },
    scheduler: 'rr' as const,
    dests: [{ addr: NGINX.addr, port: NGINX.port, weight: 1, method: 'NAT' as const, uThreshold: 0, lThreshold: 0 }],
  })) }, performance.now());
  const engine = new ProxyEngine({ workers: WORKERS });
  await engine.start(table);
  try {
    await sleep(200);
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      await engine.reconcile();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`reconcile, 1,000 unchanged services: median ${times[50]!.toFixed(2)} ms, p90 ${times[90]!.toFixed(2)} ms (goal < 5 ms)`);
  } finally {
    await engine.stop(0);
  }
}

export default async function bench(): Promise<void> {
  for (const tool of ['nginx', 'haproxy', 'wrk']) {
    if (!have(tool)) {
      console.log(`proxy bench skipped: ${tool} is not installed (apt-get install nginx haproxy wrk)`);
      return;
    }
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'lvsd-bench-proxy-'));
  const procs: ChildProcess[] = [];
  const engines: ProxyEngine[] = [];
  try {
    writeFileSync(join(dir, 'small'), 'x'.repeat(100));
    writeFileSync(join(dir, 'large'), Buffer.alloc(32 * 1024 * 1024, 7));
    writeFileSync(join(dir, 'nginx.conf'), `
worker_processes ${WORKERS};
pid ${dir}/nginx.pid;
error_log ${dir}/nginx.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  server { listen ${NGINX.addr}:${NGINX.port} backlog=4096; root ${dir}; }
}
`);
    writeFileSync(join(dir, 'haproxy.cfg'), `
global
  nbthread ${WORKERS}
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
listen vs
  bind ${HAPROXY.addr}:${HAPROXY.port}
  server rs1 ${NGINX.addr}:${NGINX.port}
`);
    const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    procs.push(nginx);
    const haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    procs.push(haproxy);
    await waitPort(NGINX.addr, NGINX.port);
    await waitPort(HAPROXY.addr, HAPROXY.port);

    console.log(`workers/threads: ${WORKERS}; wrk ${DURATION_S}s per run; idle memory over ${IDLE_CONNS} connections`);
    // LVSD_BENCH_PROXY_WORKERS=0 runs the Node relay in the primary (for comparison)
    const workers = Number(process.env.LVSD_BENCH_PROXY_WORKERS ?? WORKERS);
    const baseline: Target = { name: 'haproxy', ...HAPROXY, pids: () => [haproxy.pid!] };
    const compared: Target[] = [];
    const extra: Target[] = [{ name: 'direct', ...NGINX, pids: null }];
    const lvsd: { name: string; engine: ProxyEngine; table: IpvsTable }[] = [];
    // LVSD_BENCH_PROXY_NODE=0 leaves the Node relay out (quicker A/B of the native one)
    const relays = process.env.LVSD_BENCH_PROXY_NODE === '0' ? [['native', LVSD] as const] : [['native', LVSD] as const, ['node', LVSD_NODE] as const];
    for (const [relay, at] of relays) {
      const table = createTable();
      table.applySpec({ services: [{
        key: { kind: 'addr', protocol: 'tcp', addr: at.addr, port: at.port }, scheduler: 'rr',
        dests: [{ addr: NGINX.addr, port: NGINX.port, weight: 1, method: 'FULLNAT', uThreshold: 0, lThreshold: 0 }],
      }] }, performance.now());
      const engine = new ProxyEngine({ workers, relay });
      engines.push(engine);
      let fellBack = false;
      engine.on('event', (e: { type: string }) => {
        if (e.type === 'relay-fallback') fellBack = true;
      });
      await engine.start(table);
      if (fellBack) {
        console.log('lvsd native relay: not available here (the helper does not build); measured without it');
        continue;
      }
      await waitPort(at.addr, at.port);
      // lvsd's memory: its helpers/workers and this process (the primary, which owns the table)
      const t: Target = { name: `lvsd-${relay}`, ...at, pids: () => engine.workerPids(), withSelf: true };
      // the Node relay is shown for comparison; the native one is the engine's default
      if (relay === 'native') compared.push(t);
      else extra.push(t);
      lvsd.push({ name: t.name, engine, table });
    }
    await measureAll(baseline, compared.length ? compared : extra.splice(1), extra);
    for (const { name, engine, table } of lvsd) {
      const svc = table.services[0]!;
      engine.sweep();
      console.log(`${name} table: conns ${svc.stats.conns}, in ${svc.stats.inBytes} B, out ${svc.stats.outBytes} B (exact totals across ${workers} workers)`);
    }
    for (const e of engines.splice(0)) await e.stop(0);
    await reconcileCost();
  } finally {
    for (const e of engines) await e.stop(0);
    for (const p of procs) await stopPid(p);
    rmSync(dir, { recursive: true, force: true });
  }
}
