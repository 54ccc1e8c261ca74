// Reload time for 10,000 real servers (1,000 services x 10), measured in-process on a running
// Daemon (the whole SIGHUP path: read + parse + validate the file, plan, apply to the table,
// reconcile checkers, engine and schedules), when one weight changes and when 1,000 change;
// goal < 200 ms. Also the pieces (load, diff, IpvsTable.applySpec) and a keep-alive connection
// held through every reload (evidence that live connections are not touched).

import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { diffConfigs, loadConfig } from '../src/config/index.js';
import { Daemon } from '../src/daemon/daemon.js';
import { SystemdNotifier } from '../src/daemon/sd-notify.js';
import { tableSpecOf } from '../src/daemon/specs.js';
import { createTable } from '../src/ipvs/index.js';
import { tempDir } from '../test/e2e/harness.js';

const SERVICES = 1000;
const PER_SERVICE = 10;
const ROUNDS = 5;

/** Service i listens on 127.42.x.y:18000 (all of 127/8 is local); service 0's real servers are real. */
function configText(socket: string, backendPorts: number[], weight: (svc: number, rs: number) => number): string {
  const out = ['lvsd_defs {', `    control_socket ${socket}`, '    workers 0', '}'];
  for (let s = 0; s < SERVICES; s++) {
    out.push(`virtual_server 127.42.${s >> 8}.${s & 255} 18000 {`, '    lvs_sched wrr', '    protocol TCP');
    for (let r = 0; r < PER_SERVICE; r++) {
      const [ip, port] = s === 0 ? ['127.0.0.1', backendPorts[r]] : [`127.43.${s >> 8}.${s & 255}`, 8000 + r];
      out.push(`    real_server ${ip} ${port} {`, `        weight ${weight(s, r)}`, '    }');
    }
    out.push('}');
  }
  return out.join('\n') + '\n';
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;

export default async function reloadBench(): Promise<void> {
  const tmp = tempDir('lvsd-bench-reload-');
  const backends: http.Server[] = [];
  const logger = pino({ level: 'silent' });
  let daemon: Daemon | null = null;
  try {
    for (let i = 0; i < PER_SERVICE; i++) {
      const srv = http.createServer((_req, res) => res.end('ok\n'));
      srv.keepAliveTimeout = 60000;
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      backends.push(srv);
    }
    const ports = backends.map((b) => (b.address() as net.AddressInfo).port);
    const file = join(tmp.dir, 'lvsd.conf');
    const sock = join(tmp.dir, 'control.sock');
    const base = (s: number, r: number) => 1 + ((s + r) % 5);
    writeFileSync(file, configText(sock, ports, base));

    const t0 = performance.now();
    daemon = new Daemon({ file, configId: 'bench', logger, notifier: new SystemdNotifier(logger, {}), workers: 0 });
    await daemon.start();
    console.log(`start: ${SERVICES} services x ${PER_SERVICE} real servers up in ${(performance.now() - t0).toFixed(0)} ms`);

    // One keep-alive connection to service 0, held across every reload.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const clientPorts = new Set<number>();
    let answered = 0;
    const ask = () => new Promise<void>((resolve, reject) => {
      http.get({ host: '127.42.0.0', port: 18000, agent }, (res) => {
        clientPorts.add(res.socket.localPort!);
        res.resume();
        res.on('end', () => {
          answered++;
          resolve();
        });
      }).on('error', reject);
    });
    await ask();

    const scenarios: Array<[string, (round: number) => (s: number, r: number) => number]> = [
      ['no change', () => base],
      ['1 weight changes', (k) => (s, r) => (s === 0 && r === 0 ? 10 + k : base(s, r))],
      ['1,000 weights change (one per service)', (k) => (s, r) => (r === 0 ? 10 + k : base(s, r))],
    ];
    for (const [name, weights] of scenarios) {
      const times: number[] = [];
      const parts = { loadMs: [] as number[], planMs: [] as number[], applyMs: [] as number[], tableLiveMs: [] as number[] };
      for (let k = 0; k < ROUNDS; k++) {
        // Back to the base first (untimed), then the timed change.
        writeFileSync(file, configText(sock, ports, base));
        await daemon.reload();
        writeFileSync(file, configText(sock, ports, weights(k)));
        const t = performance.now();
        const r = await daemon.reload();
        times.push(performance.now() - t);
        if (!r.ok) throw new Error(`reload failed: ${r.errors.map((e) => e.message).join('; ')}`);
        for (const k of ['loadMs', 'planMs', 'applyMs', 'tableLiveMs'] as const) parts[k].push(r.timings[k]);
        await ask();
      }
      console.log(`reload, ${name}: ${fmt(times)}${median(times) < 200 ? '' : '  (over the 200 ms goal)'}`);
      console.log(`  load (read+parse+validate) ${median(parts.loadMs).toFixed(1)} ms, plan ${median(parts.planMs).toFixed(1)} ms, apply (table, checkers, engine, running file) ${median(parts.applyMs).toFixed(1)} ms; new table live after ${median(parts.tableLiveMs).toFixed(1)} ms`);
    }

    // The pieces on their own, for the 1,000-weight change.
    const a = loadConfig(file, { configId: 'bench' });
    writeFileSync(file, configText(sock, ports, (s, r) => (r === 0 ? 99 : base(s, r))));
    const loads: number[] = [];
    const diffs: number[] = [];
    const applies: number[] = [];
    const table = createTable();
    const specA = tableSpecOf(a.config!);
    table.applySpec(specA, 0);
    for (let k = 0; k < ROUNDS; k++) {
      let t = performance.now();
      const b = loadConfig(file, { configId: 'bench' });
      loads.push(performance.now() - t);
      t = performance.now();
      diffConfigs(a.config!, b.config!);
      diffs.push(performance.now() - t);
      const specB = tableSpecOf(b.config!);
      t = performance.now();
      table.applySpec(specB, 0);
      applies.push(performance.now() - t);
      table.applySpec(specA, 0);
    }
    console.log(`pieces alone, 1,000 weights: loadConfig ${fmt(loads)}; diffConfigs ${fmt(diffs)}; IpvsTable.applySpec ${fmt(applies)}`);

    await ask();
    console.log(`held keep-alive connection: ${answered} requests answered on ${clientPorts.size} connection(s) across ${ROUNDS * scenarios.length * 2} reloads`);
    agent.destroy();
  } finally {
    await daemon?.stop();
    for (const b of backends) {
      b.closeAllConnections();
      b.close();
    }
    tmp.cleanup();
  }
}
