// Bench of the nft engine in network namespaces (needs root and wrk): the real lvsd daemon runs in
// the director namespace with one config serving two services on the same real server:
// VIP:8000 with `engine nft` (kernel NAT, lvsd picks each new flow) and DIRECTOR:8500 with
// `engine proxy` (userspace relay, one worker per core). The same wrk load from the client
// namespace measures direct (to a real server), nft and proxy: keep-alive req/s, 1 MB responses
// (MB/s) and a new connection per request (conn/s, every one scheduled by lvsd).
// Then DR as deployed (nft-dr-topology.ts: the replies bypass the director) against direct.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { lvsdBin, repoRoot } from '../test/helpers/paths.js';
import { DIRECTOR4_CLIENT, Topology, VIP4, rs4 } from '../test/netns/nft-topology.js';
import { DrBypassTopology } from '../test/netns/nft-dr-topology.js';

type Figures = { rps: number; mbps: number };

const NGINX_PORT = 8081;
/** wrk connections (LVSD_BENCH_NFT_CONNS overrides, to see whether a path is latency-bound). */
const CONNS = Number(process.env.LVSD_BENCH_NFT_CONNS ?? 32);

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
  server { listen ${NGINX_PORT}; root ${root}; }
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

async function wrk(topo: { client: string }, url: string, extra: string[]): Promise<Figures> {
  const stdout = await new Promise<string>((resolve) => {
    const p = spawn('ip', ['netns', 'exec', topo.client, 'wrk', '-t2', `-c${CONNS}`, '-d4s', ...extra, url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const t = setTimeout(() => p.kill('SIGKILL'), 20000);
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const t = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(stdout);
  const unit: Record<string, number> = { B: 1 / 1e6, KB: 1 / 1024, MB: 1, GB: 1024 };
  const mbps = t ? Number(t[1]) * (unit[t[2]] ?? NaN) : NaN;
  return { rps, mbps };
}

function config(sock: string): string {
  // One real server (nginx on rs1, the direct target) behind both services: all three paths end
  // at the same server, so the figures compare the forwarding paths only.
  const rs = `    real_server ${rs4(1)} ${NGINX_PORT} {\n        weight 1\n    }`;
  return `lvsd_defs {
    engine nft
    control_socket ${sock}
    drain_timeout 0
}
virtual_server ${VIP4} 8000 {
    lvs_sched wlc
    lvs_method NAT
    protocol TCP
${rs}
}
virtual_server ${DIRECTOR4_CLIENT} 8500 {
    engine proxy
    lvs_sched wlc
    protocol TCP
${rs}
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

async function drBench(): Promise<void> {
  const topo = new DrBypassTopology();
  const dir = mkdtempSync(join(os.tmpdir(), 'lvsd-bench-nft-dr-'));
  let lvsd: ChildProcess | null = null;
  let nginx: ChildProcess | null = null;
  try {
    await topo.create();
    nginx = await startNginx(topo.rs[0], dir);
    const conf = join(dir, 'lvsd.conf');
    const sock = join(dir, 'control.sock');
    writeFileSync(conf, `lvsd_defs {
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
`);
    lvsd = await startLvsd(topo, conf, sock);
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
  } finally {
    await tearDown(lvsd, nginx, topo, dir);
  }
}

export default async (): Promise<void> => {
  if (process.getuid?.() !== 0 || spawnSync('wrk', ['-v']).error) {
    console.log('nft bench skipped: needs root and wrk');
    return;
  }
  const topo = new Topology();
  const dir = mkdtempSync(join(os.tmpdir(), 'lvsd-bench-nft-'));
  let lvsd: ChildProcess | null = null;
  let nginx: ChildProcess | null = null;
  try {
    await topo.create();
    nginx = await startNginx(topo.rs[0], dir);
    const conf = join(dir, 'lvsd.conf');
    const sock = join(dir, 'control.sock');
    writeFileSync(conf, config(sock));
    lvsd = await startLvsd(topo, conf, sock);
    const direct = `http://${rs4(1)}:${NGINX_PORT}`;
    const nft = `http://${VIP4}:8000`;
    const proxy = `http://${DIRECTOR4_CLIENT}:8500`;
    console.log(`nginx on one real server; lvsd in the director namespace; proxy workers: one per core (${os.availableParallelism()}); wrk -t2 -c${CONNS} -d4s from the client namespace`);
    for (const r of ROWS) {
      const [d, n, p] = [await wrk(topo, direct + r.path, r.extra), await wrk(topo, nft + r.path, r.extra), await wrk(topo, proxy + r.path, r.extra)];
      const [dv, nv, pv] = [r.pick(d), r.pick(n), r.pick(p)];
      console.log(
        `${r.name.padEnd(38)} direct ${dv.toFixed(1).padStart(9)}  nft ${nv.toFixed(1).padStart(9)}  proxy ${pv.toFixed(1).padStart(9)}` +
          `  nft/direct ${(nv / dv).toFixed(2)}  nft/proxy ${(nv / pv).toFixed(2)}`,
      );
    }
    const stats = lvsadmStats(sock);
    console.log(`lvsadm -L -n --stats after the runs (Conns = flows lvsd picked):\n${stats.trimEnd()}`);
  } finally {
    await tearDown(lvsd, nginx, topo, dir);
  }
  await drBench();
};
