// Scale through the proxy engine: a 1 GB transfer arrives intact, and 10,000 concurrent idle
// connections are held (in a child with RLIMIT_NOFILE raised by `ulimit -n`).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTable, type IpvsTable } from '../../src/ipvs/index.js';
import { ProxyEngine } from '../../src/forward/proxy/index.js';
import { type Backend, RELAYS, rawBackend, until } from './helpers.js';

const VIP = '127.0.0.21';
const PORT = 18087;

describe.each(RELAYS)('scale (%s relay)', (relay) => {
  let sink: Backend;
  let engine: ProxyEngine;
  let table: IpvsTable;

  beforeAll(async () => {
    // the real server hashes what it receives and answers the hex digest when the client ends
    sink = await rawBackend('127.0.0.1', 'sink', (s) => {
      const h = createHash('sha256');
      s.on('data', (d) => h.update(d));
      s.on('end', () => s.end(h.digest('hex')));
    });
    table = createTable();
    table.applySpec({ services: [{
      key: { kind: 'addr', protocol: 'tcp', addr: VIP, port: PORT }, scheduler: 'rr',
      dests: [{ addr: sink.addr, port: sink.port, weight: 1, method: 'FULLNAT', uThreshold: 0, lThreshold: 0 }],
    }] }, performance.now());
    engine = new ProxyEngine({ workers: 1, relay });
    await engine.start(table);
  });

  afterAll(async () => {
    await engine.stop(0);
    await sink.close();
  });

  test('1 GB through a relay worker arrives intact (sha256), bytes counted exactly', async () => {
    const block = randomBytes(1 << 20);
    const total = 1024; // blocks of 1 MiB
    const mine = createHash('sha256');
    const c = net.connect({ host: VIP, port: PORT });
    let answer = '';
    c.setEncoding('utf8');
    c.on('data', (d) => (answer += d));
    const ended = new Promise((r) => c.on('end', r));
    await new Promise((r) => c.once('connect', r));
    for (let i = 0; i < total; i++) {
      block.writeUInt32BE(i, 0); // every block differs
      mine.update(block);
      if (!c.write(Buffer.from(block))) await new Promise((r) => c.once('drain', r));
    }
    c.end();
    await ended;
    expect(answer).toBe(mine.digest('hex'));
    await until(() => engine.openConnections === 0, 3000, 'relay to end');
    engine.sweep();
    const stats = table.services[0]!.stats;
    expect([stats.inBytes, stats.outBytes]).toEqual([total << 20, 64]);
  }, 120_000);

  test('10,000 concurrent idle connections are held', () => {
    const script = fileURLToPath(new URL('./scripts/hold-idle.js', import.meta.url));
    // Raise the soft limit as far as allowed (65536, else the hard limit); the layout needs ~10,100
    // fds per process (see scripts/hold-idle.ts).
    const limit = Number(spawnSync('bash', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); ulimit -n'], { encoding: 'utf8' }).stdout.trim());
    if (!(limit >= 10_500)) {
      console.log(`skipped: RLIMIT_NOFILE can only be raised to ${limit}; 10,000 idle connections need ~10,500 per process`);
      return;
    }
    const r = spawnSync('bash', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec node ${script} 10000 2`], {
      encoding: 'utf8', timeout: 90_000, env: { ...process.env, LVSD_PROXY_RELAY: relay },
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`10k idle (${relay} relay):`, out);
    expect(out).toMatchObject({ n: 10000, greeted: 10000, errors: 0, open: 10000, active: 10000, inactive: 0, openAfterClose: 0 });
  }, 120_000);
});
