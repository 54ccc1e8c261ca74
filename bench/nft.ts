// Bench of the nft engine in network namespaces (needs root and wrk): the real lvsd daemon runs in
// the director namespace with one config serving two services on the same real server:
// VIP:8000 with `engine nft` (kernel NAT, lvsd picks each new flow) and DIRECTOR:8500 with
// `engine proxy` (userspace relay, one worker per core). The same wrk load from the client
// namespace measures direct (to a real server), nft and proxy: keep-alive req/s, 1 MB responses
// (MB/s) and a new connection per request (conn/s, every one scheduled by lvsd).
// Beside the raw rates, the director's CPU cost: whole-machine busy CPU time (/proc/stat) per GB
// and per new connection on each path, over interleaved rounds, and the director's marginal cost
// (path - direct); on a machine where wrk, nginx and the director share the cores, MB/s alone
// stops at the shared ceiling, CPU per unit does not.
// Then DR as deployed (nft-dr-topology.ts: the replies bypass the director) against direct.
// LVSD_BENCH_NFT_PARTS=keepalive,rounds,dr selects parts; LVSD_BENCH_NFT_ROUNDS (default 4).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { lvsdBin, repoRoot } from '../test/helpers/paths.js';
import { DIRECTOR4_CLIENT, Topology, VIP4, rs4 } from '../test/netns/nft-topology.js';
import { DrBypassTopology } from '../test/netns/nft-dr-topology.js';

/** One wrk run: rates, totals, and the whole machine's busy CPU seconds during it. */
type Figures = {
  rps: number; mbps: number; requests: number; bytes: number; errors: number;
  /** Whole machine: user+nice+system+irq+softirq of all CPUs during the run. */
  busyS: number;
  /** The bench's own processes (wrk, nginx, lvsd and its helpers) plus all irq+softirq time. */
  ownS: number;
  /** lvsd's processes by command name. */
  procs: Map<string, number>;
};

const NGINX_PORT = 8081;
/**
 * The nft service's real server port. Not the direct one: NAT keeps the client's address, so with
 * both on one port, a client port reused after ~28k connections makes a NAT flow whose reply
 * tuple is a direct flow's still in TIME_WAIT in the director's conntrack (120 s): the insert
 * clashes, the SYN is dropped and retried after 1 s, and the later rounds' conn/s collapsed.
 */
const NGINX_NFT_PORT = 8082;
/** wrk connections (LVSD_BENCH_NFT_CONNS overrides, to see whether a path is latency-bound). */
const CONNS = Number(process.env.LVSD_BENCH_NFT_CONNS ?? 32);
/** Interleaved rounds of the CPU-cost loads (direct, nft, proxy in rotating order). */
const ROUNDS = Math.max(1, Number(process.env.LVSD_BENCH_NFT_ROUNDS ?? 4));
const PARTS = new Set((process.env.LVSD_BENCH_NFT_PARTS ?? 'keepalive,rounds,dr').split(','));
/** wrk's binary units ("11.78GB read", "Transfer/sec: 2.5GB"). */
const UNIT: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds of the whole machine so far: busy (user+nice+system+irq+softirq) and irq+softirq alone. */
function machineCpuS(): { busy: number; irq: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq] = f;
  return { busy: (user + nice + system + irq + softirq) / CLK_TCK, irq: (irq + softirq) / CLK_TCK };
}

/** CPU seconds (user+system) used so far by `root` and its descendants, summed by command name. */
function treeCpuS(root: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (root === undefined) return out;
  const procs: { pid: number; ppid: number; comm: string; cpu: number }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let st: string;
    try {
      st = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = st.lastIndexOf(')');
    const f = st.slice(close + 2).split(' ');
    procs.push({ pid: Number(d), comm: st.slice(st.indexOf('(') + 1, close), ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
  }
  const inTree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!inTree.has(p.pid) && inTree.has(p.ppid)) { inTree.add(p.pid); grew = true; }
  }
  for (const p of procs) if (inTree.has(p.pid)) out.set(p.comm, (out.get(p.comm) ?? 0) + p.cpu);
  return out;
}

/** Processes whose CPU the rounds report per new connection (lvsd's tree, by command name). */
let watched: number | undefined;
/** nginx's master: its tree is part of the bench's own CPU. */
let server: number | undefined;
const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, x) => a + x, 0);

/** nginx in rs1's namespace (a Node server caps 1 MB responses near 2 GB/s, hiding the paths). */
async function startNginx(rsNs: string, dir: string): Promise<ChildProcess> {
  const root = join(dir, 'www');
  mkdirSync(root);
  writeFileSync(join(root, 'big'), Buffer.alloc(1_000_000, 97));
  writeFileSync(join(root, 'index.html'), 'ok\n');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `worker_processes 2;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx.err')};
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen ${NGINX_PORT}; listen ${NGINX_NFT_PORT}; root ${root}; }
}
`);
  const p = spawn('ip', ['netns', 'exec', rsNs, 'nginx', '-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const r = spawnSync('ip', ['netns', 'exec', rsNs, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${NGINX_PORT}`]);
    if (r.status === 0) return p;
  }
  p.kill('SIGKILL');
  throw new Error('nginx did not start');
}

async function wrk(topo: { client: string }, url: string, extra: string[], seconds = 4): Promise<Figures> {
  const procs0 = treeCpuS(watched);
  const server0 = sum(treeCpuS(server));
  const cpu0 = machineCpuS();
  // bash's `times` prints wrk's user and system CPU (its second line: the children's).
  const args = ['-t2', `-c${CONNS}`, `-d${seconds}s`, ...extra, url];
  const stdout = await new Promise<string>((resolve) => {
    const p = spawn('ip', ['netns', 'exec', topo.client, 'bash', '-c', 'wrk "$@"; times', 'wrk', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const t = setTimeout(() => p.kill('SIGKILL'), 20000 + seconds * 1000);
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
  const cpu = machineCpuS();
  const busyS = cpu.busy - cpu0.busy;
  const procs = treeCpuS(watched);
  for (const [k, v] of procs) procs.set(k, v - (procs0.get(k) ?? 0));
  const times = [...stdout.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)];
  const child = times[1];
  const wrkS = child ? Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4]) : NaN;
  const ownS = wrkS + (sum(treeCpuS(server)) - server0) + sum(procs) + (cpu.irq - cpu0.irq);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const t = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(stdout);
  const mbps = t ? (Number(t[1]) * (UNIT[t[2]] ?? NaN)) / UNIT.MB : NaN;
  const total = /(\d+) requests in [\d.]+\w+, ([\d.]+)(\w+) read/.exec(stdout);
  const requests = total ? Number(total[1]) : NaN;
  const bytes = total ? Number(total[2]) * (UNIT[total[3]] ?? NaN) : NaN;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const errors = (sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return { rps, mbps, requests, bytes, errors, busyS, ownS, procs };
}

function config(sock: string): string {
  // One real server (nginx on rs1, the direct target) behind both services: all three paths end
  // at the same server, so the figures compare the forwarding paths only (nft on its own port).
  const rs = (port: number): string => `    real_server ${rs4(1)} ${port} {\n        weight 1\n    }`;
  return `lvsd_defs {
    engine nft
    control_socket ${sock}
    drain_timeout 0
}
virtual_server ${VIP4} 8000 {
    lvs_sched wlc
    lvs_method NAT
    protocol TCP
${rs(NGINX_NFT_PORT)}
}
virtual_server ${DIRECTOR4_CLIENT} 8500 {
    engine proxy
    lvs_sched wlc
    protocol TCP
${rs(NGINX_PORT)}
}
`;
}

async function startLvsd(topo: { director: string }, conf: string, sock: string): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', topo.director, process.execPath, lvsdBin, '-n', '-f', conf, '--control-socket', sock], {
    cwd: repoRoot, env: { ...process.env, NOTIFY_SOCKET: '' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('lvsd did not start in 60 s')), 60000);
    createInterface({ input: p.stdout! }).on('line', (l) => {
      if (l.includes('"lvsd started"')) {
        clearTimeout(t);
        resolve();
      }
    });
    p.once('exit', (c) => reject(new Error(`lvsd exited ${c}`)));
  });
  return p;
}

const ROWS: { name: string; pick: (f: Figures) => number; extra: string[]; path: string }[] = [
  { name: 'small responses, keep-alive (req/s)', pick: (f) => f.rps, extra: [], path: '/' },
  { name: '1 MB responses (MB/s)', pick: (f) => f.mbps, extra: [], path: '/big' },
  { name: 'new connection per request (conn/s)', pick: (f) => f.rps, extra: ['-H', 'Connection: close'], path: '/' },
];
const [KEEPALIVE, BIG, CLOSE] = ROWS;

type PathName = 'direct' | 'nft' | 'proxy';
const PATHS: PathName[] = ['direct', 'nft', 'proxy'];

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const sorted = (xs: number[]): number[] => xs.filter(Number.isFinite).sort((a, b) => a - b);
function median(xs: number[]): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
/** "min-max (median m)" of a series. */
function range(xs: number[], digits = 2): string {
  const s = sorted(xs);
  if (s.length === 0) return 'n/a';
  return `${fmt(s[0], digits)}-${fmt(s[s.length - 1], digits)} (median ${fmt(median(s), digits)})`;
}

/**
 * One cost table: per path the busy CPU per unit (from each round's run), the marginal cost of
 * nft and proxy against the same round's direct run, and proxy marginal / nft marginal. When nft's
 * marginal cost is not clearly above zero (its range reaches 0, or its spread exceeds its median),
 * only a bound is printed: nft's marginal is at most its largest round value, so the ratio is at
 * least proxy's smallest marginal over that.
 */
function printCost(title: string, unit: string, scale: number, runs: Record<PathName, Figures[]>, per: (f: Figures) => number, cpu: (f: Figures) => number): void {
  const cost = (p: PathName): number[] => runs[p].map((f) => (cpu(f) / per(f)) * scale);
  const marg = (p: PathName): number[] => runs[p].map((_, i) => cost(p)[i] - cost('direct')[i]);
  console.log(`${title}: ${unit}, ${runs.direct.length} interleaved rounds (min-max, median)`);
  for (const p of PATHS) console.log(`  ${p.padEnd(7)} ${range(cost(p), 3)}`);
  const [mn, mp] = [marg('nft'), marg('proxy')];
  console.log(`  marginal (path - direct, same round): nft ${range(mn, 3)}  proxy ${range(mp, 3)}`);
  const sn = sorted(mn);
  const sp = sorted(mp);
  if (sn.length === 0 || sp.length === 0) return;
  const nftMed = median(sn);
  const noisy = sn[0] <= 0 || sn[sn.length - 1] - sn[0] > Math.abs(nftMed);
  if (!noisy) {
    const ratios = mp.map((x, i) => x / mn[i]);
    console.log(`  capacity ratio (proxy marginal / nft marginal): ${range(ratios, 1)}; from the medians ${fmt(median(sp) / nftMed, 1)}x`);
  } else if (sn[sn.length - 1] > 0) {
    console.log(`  nft marginal is within noise of zero (spread ${fmt(sn[sn.length - 1] - sn[0], 3)} > |median| ${fmt(Math.abs(nftMed), 3)}, or a round <= 0):` +
      ` bound nft <= ${fmt(sn[sn.length - 1], 3)} ${unit}, so capacity ratio >= ${fmt(sp[0] / sn[sn.length - 1], 1)}x (proxy's smallest marginal / nft's largest)`);
  } else {
    console.log('  nft marginal <= 0 in every round: below what this machine can resolve; no ratio printed');
  }
}

/** lvsd's processes' CPU per new connection (the nft row): where the scheduling path spends. */
function printTree(runs: Figures[]): void {
  const names = new Set(runs.flatMap((f) => [...f.procs.keys()]));
  const parts = [...names].map((n) => `${n} ${range(runs.map((f) => ((f.procs.get(n) ?? 0) / f.requests) * 1e6), 1)}`);
  console.log(`  nft: lvsd's own processes, CPU us per new connection: ${parts.join('; ')}`);
}

/** Interleaved rounds of 1 MB and Connection: close loads on the three paths, then the cost tables. */
async function rounds(topo: { client: string }, urls: Record<PathName, string>): Promise<void> {
  const big = { direct: [], nft: [], proxy: [] } as Record<PathName, Figures[]>;
  const close = { direct: [], nft: [], proxy: [] } as Record<PathName, Figures[]>;
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order so no path always runs first (warm caches, a neighbour's build starting).
    const order = PATHS.map((_, i) => PATHS[(i + r) % PATHS.length]);
    for (const [row, store] of [[BIG, big], [CLOSE, close]] as const) {
      const got = {} as Record<PathName, Figures>;
      for (const p of order) {
        got[p] = await wrk(topo, urls[p] + row.path, row.extra, 3);
        store[p].push(got[p]);
      }
      const [dv, nv, pv] = PATHS.map((p) => row.pick(got[p]));
      const errs = PATHS.filter((p) => got[p].errors > 0).map((p) => `${p} ${got[p].errors} errors`);
      console.log(
        `round ${r + 1} ${row.name.padEnd(38)} direct ${fmt(dv, 1).padStart(9)}  nft ${fmt(nv, 1).padStart(9)}  proxy ${fmt(pv, 1).padStart(9)}` +
          `  nft/direct ${fmt(nv / dv)}  nft/proxy ${fmt(nv / pv)}${errs.length ? `  (${errs.join(', ')})` : ''}`,
      );
    }
  }
  for (const [row, store] of [[BIG, big], [CLOSE, close]] as const) {
    const rate = (p: PathName): number[] => store[p].map(row.pick);
    console.log(`${row.name}: direct ${range(rate('direct'), 0)}  nft ${range(rate('nft'), 0)}  proxy ${range(rate('proxy'), 0)}`);
  }
  const whole = (f: Figures): number => f.busyS;
  const own = (f: Figures): number => f.ownS;
  printCost('1 MB responses', 'whole-machine busy CPU s per GB', 1, big, (f) => f.bytes / 1e9, whole);
  printCost('new connection per request', 'whole-machine busy CPU us per connection', 1e6, close, (f) => f.requests, whole);
  // The same with only the bench's processes and the kernel's irq/softirq time (where forwarding
  // runs): other work on a shared machine inflates the whole-machine figures, much less these.
  printCost('1 MB responses', 'own CPU (wrk+nginx+lvsd tree+irq/softirq) s per GB', 1, big, (f) => f.bytes / 1e9, own);
  printCost('new connection per request', 'own CPU (wrk+nginx+lvsd tree+irq/softirq) us per connection', 1e6, close, (f) => f.requests, own);
  printTree(close.nft);
}

/** DR with replies bypassing the director: the real lvsd (engine nft, DR) against direct. */
/** `lvsadm -L -n --stats` of the running lvsd. */
function lvsadmStats(sock: string): string {
  return spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'bin', 'lvsadm.js'), '--socket', sock, '-L', '-n', '--stats'], { encoding: 'utf8' }).stdout;
}

/** Stops lvsd (SIGTERM, then SIGKILL after 10 s) and nginx, and removes the namespaces and files. */
async function tearDown(lvsd: ChildProcess | null, nginx: ChildProcess | null, topo: { destroy(): void }, dir: string): Promise<void> {
  if (lvsd && lvsd.exitCode === null) {
    const exited = new Promise((r) => lvsd.once('exit', r));
    lvsd.kill('SIGTERM');
    const t = setTimeout(() => lvsd.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  }
  nginx?.kill('SIGTERM');
  topo.destroy();
  rmSync(dir, { recursive: true, force: true });
}

interface Lab {
  readonly director: string;
  readonly rs: readonly string[];
  create(): Promise<void>;
  destroy(): void;
}
interface Running {
  lvsd: ChildProcess;
  nginx: ChildProcess;
  sock: string;
}

/** Creates the lab, starts nginx on its first real server and lvsd with `config(sock)`, runs `body`, tears all down. */
async function withLab(topo: Lab, prefix: string, config: (sock: string) => string, body: (r: Running) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  let lvsd: ChildProcess | null = null;
  let nginx: ChildProcess | null = null;
  try {
    await topo.create();
    nginx = await startNginx(topo.rs[0], dir);
    const conf = join(dir, 'lvsd.conf');
    const sock = join(dir, 'control.sock');
    writeFileSync(conf, config(sock));
    lvsd = await startLvsd(topo, conf, sock);
    await body({ lvsd, nginx, sock });
  } finally {
    await tearDown(lvsd, nginx, topo, dir);
  }
}

async function drBench(): Promise<void> {
  const config = (sock: string): string => `lvsd_defs {
    engine nft
    control_socket ${sock}
    drain_timeout 0
}
virtual_server ${VIP4} ${NGINX_PORT} {
    lvs_sched wlc
    lvs_method DR
    protocol TCP
    real_server ${rs4(1)} ${NGINX_PORT} {
        weight 1
    }
}
`;
  const topo = new DrBypassTopology();
  await withLab(topo, 'lvsd-bench-nft-dr-', config, async ({ sock }) => {
    console.log('DR, replies bypassing the director (client -> router -> director -> real server; real server -> router -> client):');
    for (const r of ROWS) {
      const [d, n] = [await wrk(topo, `http://${rs4(1)}:${NGINX_PORT}${r.path}`, r.extra), await wrk(topo, `http://${VIP4}:${NGINX_PORT}${r.path}`, r.extra)];
      const [dv, nv] = [r.pick(d), r.pick(n)];
      console.log(`${r.name.padEnd(38)} direct ${dv.toFixed(1).padStart(9)}  nft DR ${nv.toFixed(1).padStart(9)}  DR/direct ${(nv / dv).toFixed(2)}`);
    }
    // Like IPVS (conn_reuse_mode 1), a SYN whose tuple is still in FIN_WAIT goes to the same real
    // server without a pick: Conns (picks) below is how many of the new connections lvsd scheduled.
    const stats = lvsadmStats(sock);
    console.log(`lvsadm -L -n --stats after the DR runs (InPkts/InBytes only: replies bypass the director):\n${stats.trimEnd()}`);
  });
}

export default async (): Promise<void> => {
  if (process.getuid?.() !== 0 || spawnSync('wrk', ['-v']).error) {
    console.log('nft bench skipped: needs root and wrk');
    return;
  }
  const topo = new Topology();
  try {
    await withLab(topo, 'lvsd-bench-nft-', config, async ({ lvsd, nginx, sock }) => {
      watched = lvsd.pid;
      server = nginx.pid;
      const urls: Record<PathName, string> = { direct: `http://${rs4(1)}:${NGINX_PORT}`, nft: `http://${VIP4}:8000`, proxy: `http://${DIRECTOR4_CLIENT}:8500` };
      console.log(`nginx on one real server; lvsd in the director namespace; proxy workers: one per core (${os.availableParallelism()}); wrk -t2 -c${CONNS} from the client namespace`);
      if (PARTS.has('keepalive')) {
        const [d, n, p] = [await wrk(topo, urls.direct + KEEPALIVE.path, []), await wrk(topo, urls.nft + KEEPALIVE.path, []), await wrk(topo, urls.proxy + KEEPALIVE.path, [])];
        console.log(`${KEEPALIVE.name.padEnd(38)} direct ${fmt(d.rps, 1).padStart(9)}  nft ${fmt(n.rps, 1).padStart(9)}  proxy ${fmt(p.rps, 1).padStart(9)}  nft/direct ${fmt(n.rps / d.rps)}  nft/proxy ${fmt(n.rps / p.rps)}`);
      }
      if (PARTS.has('rounds')) await rounds(topo, urls);
      const stats = lvsadmStats(sock);
      console.log(`lvsadm -L -n --stats after the runs (Conns = flows lvsd picked):\n${stats.trimEnd()}`);
    });
  } finally {
    watched = undefined;
    server = undefined;
  }
  if (PARTS.has('dr')) await drBench();
};
