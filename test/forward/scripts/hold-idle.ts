// Child script for the 10,000-idle-connections test: the proxy engine with relay workers and N
// clients that connect and stay idle; the real server runs in its own process. Each process then
// holds at most ~N fds (clients here; N/workers * 2 per worker; N in the backend), which fits a
// 20,000 RLIMIT_NOFILE. Prints one JSON line with what it measured.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTable } from '../../../src/ipvs/index.js';
import { ProxyEngine } from '../../../src/forward/proxy/index.js';

const N = Number(process.argv[2] ?? 10000);
const WORKERS = Number(process.argv[3] ?? 2);
const VIP = '127.0.0.30';

const backend = spawn(process.execPath, [fileURLToPath(new URL('./idle-backend.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
const bport = await new Promise<number>((resolve) => backend.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
const table = createTable();
table.applySpec({ services: [{
  key: { kind: 'addr', protocol: 'tcp', addr: VIP, port: 18090 }, scheduler: 'wlc',
  dests: [{ addr: '127.0.0.1', port: bport, weight: 1, method: 'FULLNAT', uThreshold: 0, lThreshold: 0 }],
}] }, performance.now());
const engine = new ProxyEngine({ workers: WORKERS });
await engine.start(table);

const clients: net.Socket[] = [];
let greeted = 0;
let errors = 0;
const t0 = Date.now();
for (let i = 0; i < N; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, N - i) }, () => new Promise<void>((resolve) => {
    const c = net.connect({ host: VIP, port: 18090 });
    clients.push(c);
    c.once('data', () => {
      greeted++;
      resolve();
    });
    c.on('error', () => {
      errors++;
      resolve();
    });
  })));
}
const connectMs = Date.now() - t0;
await new Promise((r) => setTimeout(r, 1500)); // let worker batches arrive
const d = table.services[0]!.dests[0]!;
const result = { n: N, greeted, errors, connectMs, open: engine.openConnections, active: d.activeConns, inactive: d.inactiveConns };
for (const c of clients) c.destroy();
const tEnd = Date.now() + 10000;
while (engine.openConnections > 0 && Date.now() < tEnd) await new Promise((r) => setTimeout(r, 50));
const after = { openAfterClose: engine.openConnections };
await engine.stop(0);
backend.stdin!.end();
backend.kill();
console.log(JSON.stringify({ ...result, ...after }));
process.exit(0);
