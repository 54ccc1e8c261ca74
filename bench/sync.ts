// Connection sync: what one core does per announced entry on each side. Master: table change ->
// outbox (policy, entry, packing) -> datagrams; backup: decode -> install into the table.
// Bounded: 200,000 connections, a few seconds per section.
import { createTable, type Conn, type ServiceSpec } from '../src/ipvs/index.js';
import { SyncInstaller } from '../src/sync/backup.js';
import { decodeMessage } from '../src/sync/codec.js';
import { SyncOutbox } from '../src/sync/master.js';

const N = 200_000;
const dr = (i: number) => ({ addr: `198.51.100.${i}`, port: 80, weight: 1, method: 'DR' as const, uThreshold: 0, lThreshold: 0 });
const svc: ServiceSpec = { key: { kind: 'addr', protocol: 'tcp', addr: '203.0.113.10', port: 80 }, scheduler: 'rr', dests: [1, 2, 3, 4].map(dr) };
const client = (i: number): [string, number] => [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1024 + (i % 60000)];

export default async function bench(): Promise<void> {
  const m = createTable();
  const b = createTable();
  for (const t of [m, b]) t.applySpec({ services: [svc] }, 0);
  const outbox = new SyncOutbox({ syncid: 1, maxlen: 1472, timeoutOf: (c) => m.timeoutFor(c) });
  const service = m.findService(svc.key)!;
  const conns: Conn[] = [];
  for (let i = 0; i < N; i++) {
    const [a, p] = client(i);
    const r = m.schedule(service, { clientAddr: a, clientPort: p, vaddr: '203.0.113.10', vport: 80 }, 0);
    if (r.ok) conns.push(r.conn);
  }

  m.syncObserver = (c, now) => outbox.offer(c, now);
  let t = performance.now();
  for (const c of conns) m.setState(c, 'ESTABLISHED', 1);
  const msgs = outbox.drain();
  const masterMs = performance.now() - t;
  const bytes = msgs.reduce((n, x) => n + x.length, 0);
  console.log(`master: ${N} ESTABLISHED changes -> ${msgs.length} datagrams (${(bytes / 1e6).toFixed(1)} MB, ${(N / msgs.length).toFixed(1)} entries each) in ${masterMs.toFixed(0)} ms = ${((masterMs * 1000) / N).toFixed(2)} us/entry`);

  // unchanged connections seen again by the engine's flow dump: the policy's cost per touch
  t = performance.now();
  for (const c of conns) m.touch(c, 2);
  const touchMs = performance.now() - t;
  console.log(`master: ${N} touches of unchanged entries (nothing due) in ${touchMs.toFixed(0)} ms = ${((touchMs * 1000) / N).toFixed(2)} us/touch, ${outbox.drain().length} datagrams`);

  const inst = new SyncInstaller(b);
  t = performance.now();
  let entries = 0;
  for (const msg of msgs) {
    const d = decodeMessage(msg, 1);
    if (!d.ok) throw d.error;
    entries += d.message.conns.length;
    inst.install(d.message.conns, 3);
  }
  const backupMs = performance.now() - t;
  console.log(`backup: ${entries} entries decoded and installed (new) in ${backupMs.toFixed(0)} ms = ${((backupMs * 1000) / entries).toFixed(2)} us/entry; table holds ${b.connectionCount}`);

  t = performance.now();
  for (const msg of msgs) {
    const d = decodeMessage(msg, 1);
    if (d.ok) inst.install(d.message.conns, 4);
  }
  const updMs = performance.now() - t;
  console.log(`backup: the same ${entries} entries again (updates) in ${updMs.toFixed(0)} ms = ${((updMs * 1000) / entries).toFixed(2)} us/entry`);
  m.syncObserver = null;
}
