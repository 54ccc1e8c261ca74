// npm run demo: lvsd on the sample etc/lvsd.conf, unprivileged, on loopback. Three HTTP backends
// (127.0.0.1:8081-8083, GET /health), traffic through the VIP 127.0.0.1:8080 and its
// distribution, a backend killed (it leaves the table) and restarted (it comes back), a reload
// with a weight change (plan and new distribution), then everything is stopped and removed.

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { repoRoot } from '../test/helpers/paths.js';
import { get, lvsadm, LvsdProcess, tempDir } from '../test/e2e/harness.js';

const VIP_PORT = 8080;
const BACKEND_PORTS = [8081, 8082, 8083];
const REQUESTS = 60;

function listen(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok\n' : `backend ${port}\n`));
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`127.0.0.1:${port}: ${err.code} (is npm start or another demo running?)`)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function distribution(): Promise<string> {
  const counts = new Map<string, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const body = (await get(VIP_PORT, false)).trim();
    counts.set(body, (counts.get(body) ?? 0) + 1);
  }
  return [...counts].sort().map(([b, n]) => `    ${b}: ${String(n).padStart(3)} ${'#'.repeat(n)}`).join('\n');
}

const indent = (s: string) => s.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');

async function waitForTable(sock: string, pred: (listing: string) => boolean, timeoutMs = 10000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const listing = lvsadm(sock, ['-L', '-n']);
    if (pred(listing)) return listing;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the table did not change as expected:\n${listing}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export default async function demo(): Promise<void> {
  const t0 = Date.now();
  const tmp = tempDir('lvsd-demo-');
  const file = join(tmp.dir, 'lvsd.conf');
  copyFileSync(join(repoRoot, 'etc', 'lvsd.conf'), file);
  const sock = /control_socket\s+(\S+)/.exec(readFileSync(file, 'utf8'))![1];
  const servers = new Map<number, http.Server>();
  let lvsd: LvsdProcess | null = null;
  try {
    for (const p of BACKEND_PORTS) servers.set(p, await listen(p));
    console.log(`1. backends listening on ${BACKEND_PORTS.map((p) => `127.0.0.1:${p}`).join(', ')}`);
    lvsd = await LvsdProcess.start(file, ['--workers', '1']);
    const started = lvsd.lines.find((l) => l.msg === 'lvsd started')!;
    console.log(`2. lvsd started (pid ${lvsd.pid}) on a copy of etc/lvsd.conf; plan:\n${indent((started.plan as string[]).join('\n'))}`);
    console.log(`\n   lvsadm -L -n\n${indent(lvsadm(sock, ['-L', '-n']))}`);
    console.log(`\n3. ${REQUESTS} requests to 127.0.0.1:${VIP_PORT} (wrr, weights 3:2:1):\n${await distribution()}`);

    const victim = 8083;
    await close(servers.get(victim)!);
    servers.delete(victim);
    const gone = await waitForTable(sock, (l) => !l.includes(`127.0.0.1:${victim}`));
    const down = await lvsd.waitFor((l) => l.rs === `127.0.0.1:${victim}` && l.up === false, 3000);
    console.log(`\n4. killed the backend on ${victim}: the ${down.checker} checker took it out (${down.reason})\n${indent(gone)}`);
    console.log(`   ${REQUESTS} requests:\n${await distribution()}`);

    servers.set(victim, await listen(victim));
    const back = await waitForTable(sock, (l) => l.includes(`127.0.0.1:${victim}`));
    console.log(`\n5. restarted it: back in the table\n${indent(back)}`);

    const text = readFileSync(file, 'utf8').replace(/(real_server 127\.0\.0\.1 8083 \{\s*\n\s*weight )1/, '$14');
    writeFileSync(file, text);
    const reloaded = await lvsd.signal('SIGHUP', (l) => l.msg === 'reload applied');
    console.log(`\n6. edited the weight of 8083 (1 -> 4) and sent SIGHUP: plan applied in ${reloaded.took_ms} ms\n${indent((reloaded.plan as string[]).join('\n'))}`);
    console.log(`${indent(lvsadm(sock, ['-L', '-n']))}\n   ${REQUESTS} requests (weights 3:2:4):\n${await distribution()}`);

    const exit = await lvsd.stop();
    lvsd = null;
    console.log(`\n7. SIGTERM: lvsd drained and exited ${exit.code}; demo took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await lvsd?.stop();
    for (const s of servers.values()) await close(s);
    tmp.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  demo().catch((err) => {
    console.error(`demo failed: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
