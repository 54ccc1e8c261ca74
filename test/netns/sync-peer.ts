// A table with a sync daemon in its own process (run inside a network namespace by
// sync-pair.test.ts): commands as JSON lines on stdin, one JSON answer line each on stdout.
//   {"cmd":"start","cfg":SyncDaemonConfig}       -> {"ok":true} | {"ok":false,"code"}
//   {"cmd":"open","client":"a:p","vport":80,"state":"ESTABLISHED"} -> {"ok":true,"dest":"addr"}
//   {"cmd":"flush"} -> {"ok":true}   (the master sends what it has queued now)
//   {"cmd":"conns"} -> {"ok":true,"conns":[...lvsadm -c lines...],"counters":{...}}
//   {"cmd":"pick","client":"a"} -> {"ok":true,"dest":"addr","viaTemplate":bool}
import { createInterface } from 'node:readline';
import { createTable, IpvsTableControl, type ServiceSpec } from '../../src/ipvs/index.js';
import { SyncDaemon, SyncDaemonError } from '../../src/sync/index.js';

const dr = (addr: string) => ({ addr, port: 80, weight: 1, method: 'DR' as const, uThreshold: 0, lThreshold: 0 });
export const PEER_SERVICES: ServiceSpec[] = [
  { key: { kind: 'addr', protocol: 'tcp', addr: '203.0.113.10', port: 80 }, scheduler: 'rr', dests: [dr('198.51.100.2'), dr('198.51.100.3')] },
  { key: { kind: 'addr', protocol: 'tcp', addr: '203.0.113.11', port: 80 }, scheduler: 'rr', persistence: { timeoutS: 300, prefixLen: 24 }, dests: [dr('198.51.100.2'), dr('198.51.100.3')] },
];

const t0 = performance.now();
const now = (): number => performance.now() - t0;
const table = createTable();
table.applySpec({ services: PEER_SERVICES }, 0);
const daemon = new SyncDaemon({ table, now });
const control = new IpvsTableControl(table, { now });
const say = (x: object): void => void process.stdout.write(JSON.stringify(x) + '\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  void (async () => {
    const m = JSON.parse(line) as Record<string, unknown>;
    try {
      switch (m.cmd) {
        case 'start':
          await daemon.start(m.cfg as never);
          return say({ ok: true });
        case 'open': {
          const [caddr, cport] = String(m.client).split(':');
          const vaddr = m.vport === 80 && m.sticky ? '203.0.113.11' : '203.0.113.10';
          const svc = table.lookupService('tcp', vaddr, 80)!;
          const r = table.schedule(svc, { clientAddr: caddr!, clientPort: Number(cport), vaddr, vport: 80 }, now());
          if (!r.ok) return say({ ok: false, code: r.code });
          table.setState(r.conn, String(m.state ?? 'ESTABLISHED') as never, now());
          return say({ ok: true, dest: r.dest.addr });
        }
        case 'flush':
          daemon.flushNow();
          return say({ ok: true });
        case 'pick': {
          const svc = table.lookupService('tcp', '203.0.113.11', 80)!;
          const r = table.schedule(svc, { clientAddr: String(m.client), clientPort: 1, vaddr: '203.0.113.11', vport: 80 }, now());
          return say(r.ok ? { ok: true, dest: r.dest.addr, viaTemplate: r.viaTemplate } : { ok: false });
        }
        case 'conns': {
          const conns = control.snapshot({ connections: true }).connections.map((c) =>
            `${c.protocol} ${c.state} ${c.client.address}:${c.client.port} ${c.virtual.address}:${c.virtual.port} ${c.destination.address}:${c.destination.port} ${c.expireSeconds}`);
          return say({ ok: true, conns, counters: daemon.counters() });
        }
        default:
          return say({ ok: false, code: 'EBADCMD' });
      }
    } catch (err) {
      say({ ok: false, code: err instanceof SyncDaemonError ? err.code : 'EERR', message: (err as Error).message });
    }
  })();
});
process.stdin.on('end', () => void daemon.stopAll().then(() => process.exit(0)));
