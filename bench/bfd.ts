// BFD: codec cost per packet, and the CPU that N sessions cost at keepalived's default 10 ms
// intervals (both ends in this process, on loopback: 2 x N x 100 packets/s each way).
import { BfdRunner, decodeControl, encodeControl, BfdState, type BfdInstanceSpec } from '../src/bfd/index.js';

const quiet = { info: () => undefined, warn: () => undefined };

function codec(): void {
  const n = 1_000_000;
  const pkt = { diag: 0, state: BfdState.Up, poll: false, final: false, demand: false, detectMult: 5, myDiscr: 0x11223344, yourDiscr: 0x55667788, desiredMinTxUs: 10_000, requiredMinRxUs: 10_000 };
  let t = process.hrtime.bigint();
  let buf = encodeControl(pkt);
  for (let i = 0; i < n; i++) buf = encodeControl({ ...pkt, myDiscr: (i % 1000) + 1 });
  const enc = Number(process.hrtime.bigint() - t) / n;
  t = process.hrtime.bigint();
  let ok = 0;
  for (let i = 0; i < n; i++) if (decodeControl(buf).ok) ok++;
  const dec = Number(process.hrtime.bigint() - t) / n;
  console.log(`codec: encode ${enc.toFixed(0)} ns/packet, decode+checks ${dec.toFixed(0)} ns/packet (${ok === n ? 'all valid' : 'BAD'})`);
}

async function sessions(n: number, ms: number, seconds: number): Promise<void> {
  const port = 30000 + Math.floor(Math.random() * 10000);
  const runners: BfdRunner[] = [];
  const spec = (name: string, neighbor: string, source: string): BfdInstanceSpec => ({ name, neighbor, source, minRxMs: ms, minTxMs: ms, idleTxMs: 1000, multiplier: 3, passive: false, ttl: 255, multihop: false });
  for (let i = 0; i < n; i++) {
    const a = new BfdRunner({ logger: quiet, port });
    const b = new BfdRunner({ logger: quiet, port });
    await a.start([spec('s', `127.0.3.${i + 1}`, `127.0.2.${i + 1}`)]);
    await b.start([spec('s', `127.0.2.${i + 1}`, `127.0.3.${i + 1}`)]);
    runners.push(a, b);
  }
  const allUp = () => runners.every((r) => r.isUp('s'));
  const t0 = Date.now();
  while (!allUp() && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500)); // Poll Sequences done: everyone at `ms`
  let downs = 0;
  for (const r of runners) r.onChange((_n, up) => (downs += up ? 0 : 1));
  // event-loop lag: both ends share this loop, so a stall silences both and can expire sessions
  let maxLag = 0;
  let last = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 10);
    last = now;
  }, 10);
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - w0;
  clearInterval(lag);
  const pct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const pps = (2 * n * 1000) / (ms * 0.875);
  console.log(`sessions: ${n} sessions, both ends here, ${ms} ms intervals (~${pps.toFixed(0)} packets/s sent and received): ${pct.toFixed(1)} % of one core; session downs in ${seconds} s: ${downs}; max event-loop lag ${maxLag.toFixed(0)} ms; loadavg ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
  for (const r of runners) await r.stop();
}

export default async function bfdBench(): Promise<void> {
  codec();
  await sessions(10, 10, 5);
  await sessions(100, 10, 5);
  await sessions(100, 100, 5);
}
