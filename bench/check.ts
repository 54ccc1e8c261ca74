// Health checker figures:
//  1. detection time: kill a TCP backend, time until the runner's "down" event, at delay_loop 1 s,
//     connect_timeout 1 s, retry 1 (delay_before_retry 1 s default); 20 runs, median and max.
//  2. CPU used by the runner checking 10,000 real servers with TCP_CHECK every 5 s; the backends
//     are one listener in a child process (so its CPU is not counted), reached at 10,000 distinct
//     127.x addresses on loopback.
import { createServer, type Server } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CheckRunner } from '../src/check/index.js';
import type { CheckEvent, VirtualServerCheckSpec } from '../src/check/types.js';

const quiet = { info: () => {}, warn: () => {} };

function listenTcp(port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

async function detectionOnce(): Promise<number> {
  const { server, port } = await listenTcp();
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => sockets.add(s));
  let downAt = 0;
  let resolveDown: () => void = () => {};
  const down = new Promise<void>((r) => (resolveDown = r));
  const spec: VirtualServerCheckSpec = {
    id: 'bench', delayLoopMs: 1000, connectTimeoutMs: 1000, retry: 1, warmupMs: 0,
    realServers: [{ addr: '127.0.0.1', port, checkers: [{ type: 'TCP' }] }],
  };
  const runner = new CheckRunner([spec], {
    logger: quiet,
    onEvent: (e: CheckEvent) => {
      if (e.kind === 'rs' && !e.up) {
        downAt = performance.now();
        resolveDown();
      }
    },
  });
  runner.start();
  // kill at a random phase of the loop
  await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
  const killedAt = performance.now();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  await Promise.race([down, new Promise((r) => setTimeout(r, 10_000))]);
  await runner.stop();
  return downAt ? downAt - killedAt : Infinity;
}

const BACKEND = `
const net = require('node:net');
const s = net.createServer((c) => { c.on('error', () => {}); c.destroy(); });
s.listen(0, '0.0.0.0', () => process.send(s.address().port));
process.on('disconnect', () => process.exit(0));
`;

async function cpuAtScale(n: number, loopMs: number, measureMs: number): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, ['-e', BACKEND], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((r) => child.once('message', (m) => r(Number(m))));
  // unique addresses 127.1.x.y (y in 1..254), all answered by the one listener on loopback
  const realServers: { addr: string; port: number; checkers: { type: 'TCP' }[] }[] = [];
  for (let j = 0; realServers.length < n; j++) {
    const a = (j >> 8) & 255, b = j & 255;
    if (b !== 0 && b !== 255) realServers.push({ addr: `127.1.${a}.${b}`, port, checkers: [{ type: 'TCP' }] });
  }
  let downs = 0;
  const runner = new CheckRunner([{ id: 'scale', delayLoopMs: loopMs, warmupMs: loopMs, connectTimeoutMs: 3000, realServers }], {
    logger: quiet,
    onEvent: (e) => void (e.kind === 'rs' && !e.up && downs++),
  });
  runner.start();
  await new Promise((r) => setTimeout(r, loopMs)); // every server checked once
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, measureMs));
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  await runner.stop();
  child.disconnect();
  child.kill();
  const pct = ((c.user + c.system) / 1000 / wall) * 100;
  console.log(`TCP_CHECK ${n} real servers every ${loopMs / 1000} s: ${pct.toFixed(1)}% of one core over ${(wall / 1000).toFixed(1)} s (user ${(c.user / 1e6).toFixed(2)} s, sys ${(c.system / 1e6).toFixed(2)} s), ${downs} false downs (goal < 20%)`);
}

export default async function bench(): Promise<void> {
  const runs: number[] = [];
  // 20 runs, 5 at a time (independent backends and runners)
  for (let i = 0; i < 4; i++) runs.push(...(await Promise.all(Array.from({ length: 5 }, detectionOnce))));
  runs.sort((a, b) => a - b);
  const median = (runs[9]! + runs[10]!) / 2;
  console.log(`detection (delay_loop 1 s, connect_timeout 1 s, retry 1; 20 runs): median ${(median / 1000).toFixed(2)} s, min ${(runs[0]! / 1000).toFixed(2)} s, max ${(runs[19]! / 1000).toFixed(2)} s (goal < 2 s)`);
  await cpuAtScale(10_000, 5000, 20_000);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
