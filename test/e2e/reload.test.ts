// The real lvsd under a steady load loop, reloaded 50 times: weights change, real servers and a
// service come and go, one bad file in the middle changes nothing; services that stayed never fail
// a request. Also `lvsd -t --diff` against the running daemon.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import { ControlClient } from '../../src/control/index.js';
import type { TableView } from '../../src/control/index.js';
import { configText, freePort, get, lvsadm, lvsdSync, LvsdProcess, startBackend, tempDir, writeConfig } from './harness.js';
import type { Backend, ConfDef, RsDef, TempDir, VsDef } from './harness.js';

const RELOADS = 50;
const BAD_AT = 25;

let tmp: TempDir;
let backends: Backend[] = [];
let lvsd: LvsdProcess | null = null;
let portA = 0;
let portB = 0;
let portC = 0;

/** The i-th configuration: A and B stay; C exists on odd steps; weights and members vary. */
function step(i: number): ConfDef {
  const [b1, b2, b3, b4, b5, b6] = backends.map((b) => b.port);
  const a: RsDef[] = [{ port: b1, weight: (i % 5) + 1, check: 'tcp' }, { port: b2, weight: 2, check: 'tcp' }];
  if (i % 3 !== 0) a.push({ port: b3, weight: 1, check: 'tcp' });
  if (i % 2 === 0) a.push({ port: b4, weight: 3, check: 'tcp' });
  const vs: VsDef[] = [
    { port: portA, rs: a },
    { port: portB, sched: 'rr', rs: [{ port: b5, weight: 1 }, { port: b6, weight: (i % 4) + 1 }] },
  ];
  if (i % 2 === 1) vs.push({ port: portC, rs: [{ port: b1, weight: 1 }] });
  return { controlSocket: tmp.path('control.sock'), vs };
}

/** Services and their members with weights: what a reload may change (not the counters). */
function shape(v: TableView): string[] {
  return v.services.map((s) => `${JSON.stringify(s.key)} ${s.scheduler} ${s.dests.map((d) => `${d.address}:${d.port}/${d.weight}`).sort().join(',')}`).sort();
}

/** The layout columns of `lvsadm -L -n` (address, forward, weight), counters dropped. */
function listingLayout(text: string): string {
  return text.split('\n').map((l) => (l.trimStart().startsWith('->') ? l.trim().split(/\s+/).slice(0, 4).join(' ') : l.trim())).join('\n');
}

interface Load {
  ok: number;
  failed: string[];
  stop(): Promise<void>;
}

/** Bounded load: keep-alive and new-connection clients on the services that stay. */
function startLoad(ports: number[], maxMs: number, maxRequests: number): Load {
  const load: Load = { ok: 0, failed: [], stop: async () => undefined };
  const deadline = Date.now() + maxMs;
  let running = true;
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const loop = async (port: number, agent: http.Agent | false) => {
    while (running && Date.now() < deadline && load.ok + load.failed.length < maxRequests) {
      try {
        const body = await get(port, agent);
        if (!body.startsWith('backend ')) throw new Error(`unexpected body ${body}`);
        load.ok++;
      } catch (err) {
        load.failed.push(`${port}: ${(err as Error).message}`);
      }
    }
  };
  const loops = ports.flatMap((p) => [loop(p, keepAlive), loop(p, keepAlive), loop(p, false)]);
  load.stop = async () => {
    running = false;
    await Promise.all(loops);
    keepAlive.destroy();
  };
  return load;
}

beforeAll(async () => {
  tmp = tempDir();
  backends = await Promise.all(Array.from({ length: 6 }, () => startBackend()));
  [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
});

afterAll(async () => {
  await lvsd?.stop();
  await Promise.all(backends.map((b) => b.close()));
  tmp?.cleanup();
});

describe('lvsd reload under load', () => {
  test(`${RELOADS} reloads: no failed request on services that stayed; a bad file changes nothing; plans logged`, async () => {
    const file = tmp.path('lvsd.conf');
    const sock = tmp.path('control.sock');
    writeConfig(file, configText(step(0)));
    lvsd = await LvsdProcess.start(file);
    const client = new ControlClient(sock);
    const load = startLoad([portA, portB], 45000, 200000);
    const plans: string[][] = [];
    try {
      for (let i = 1; i <= RELOADS; i++) {
        if (i === BAD_AT) {
          const before = shape(await client.snapshot());
          const listingBefore = listingLayout(lvsadm(sock, ['-L', '-n']));
          writeConfig(file, configText(step(i)).replace('lvs_sched wrr', 'lvs_sched nosuch') + 'virtual_server {\n');
          const failed = await lvsd.signal('SIGHUP', (l) => l.msg === 'reload failed: configuration has errors; still running the previous one');
          expect(failed.errors).toBeGreaterThan(0);
          expect(shape(await client.snapshot())).toEqual(before);
          expect(listingLayout(lvsadm(sock, ['-L', '-n']))).toBe(listingBefore);
          continue;
        }
        writeConfig(file, configText(step(i)));
        const applied = await lvsd.signal('SIGHUP', (l) => l.msg === 'reload applied');
        plans.push(applied.plan as string[]);
        // Give the load loop a moment on each table before the next reload.
        await new Promise((r) => setTimeout(r, 40));
      }
    } finally {
      await load.stop();
    }
    expect(load.failed).toEqual([]);
    expect(load.ok).toBeGreaterThan(RELOADS * 5);
    // Every member that stayed in A served part of the load.
    expect(backends[0].hits).toBeGreaterThan(0);
    expect(backends[1].hits).toBeGreaterThan(0);
    console.log(`reload e2e: ${load.ok} requests, 0 failed, across ${RELOADS} reloads`);

    // The plan of step 1 against step 0, exactly: A's b1 1->2, b3 added, b4 removed, B's b6 1->2, C added.
    const [b1, , b3, b4, , b6] = backends.map((b) => b.port);
    const vsA = `TCP 127.0.0.1:${portA}`;
    expect(plans[0]).toEqual(expect.arrayContaining([
      `~weight ${vsA} 127.0.0.1:${b1} 1->2`,
      `+rs ${vsA} 127.0.0.1:${b3}`,
      `-rs ${vsA} 127.0.0.1:${b4}`,
      `~weight TCP 127.0.0.1:${portB} 127.0.0.1:${b6} 1->2`,
      `+vs TCP 127.0.0.1:${portC}`,
    ]));
    // Step 2 removes C again.
    expect(plans[1]).toContain(`-vs TCP 127.0.0.1:${portC}`);

    // The table now is step RELOADS exactly (checkers agree: every backend is up).
    const final = await client.snapshot();
    const want = step(RELOADS);
    const aSvc = final.services.find((s) => s.key.kind === 'addr' && s.key.port === portA)!;
    expect(aSvc.dests.map((d) => `${d.port}/${d.weight}`).sort()).toEqual(want.vs[0].rs.map((r) => `${r.port}/${r.weight}`).sort());
    expect(final.services.some((s) => s.key.kind === 'addr' && s.key.port === portC)).toBe(RELOADS % 2 === 1);
  }, 60000);

  test('lvsd -t --diff prints the plan against the running daemon and changes nothing', async () => {
    expect(lvsd).not.toBeNull();
    const sock = tmp.path('control.sock');
    const same = tmp.path('same.conf');
    writeConfig(same, configText(step(RELOADS)));
    const none = lvsdSync(['-t', '--diff', '-f', same, '--control-socket', sock]);
    expect(none.status).toBe(0);
    expect(none.stdout.trim()).toBe('(no changes)');

    const next = tmp.path('next.conf');
    const def = step(RELOADS);
    def.vs[1].rs[0].weight = 7;
    writeConfig(next, configText(def));
    const before = shape(await new ControlClient(sock).snapshot());
    const diff = lvsdSync(['-t', '--diff', '-f', next, '--control-socket', sock]);
    expect(diff.status).toBe(0);
    expect(diff.stdout.trim()).toBe(`~weight TCP 127.0.0.1:${portB} 127.0.0.1:${backends[4].port} 1->7`);
    expect(shape(await new ControlClient(sock).snapshot())).toEqual(before);

    const nowhere = lvsdSync(['-t', '--diff', '-f', next, '--control-socket', tmp.path('absent.sock')]);
    expect(nowhere.status).toBe(1);
    expect(nowhere.stderr).toContain('cannot read the running configuration');
  });
});
