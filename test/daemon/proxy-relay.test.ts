// lvsd_defs { proxy_relay auto|native|node } picks who relays the proxy engine's TCP: a real
// Daemon is started with each value and serves a real HTTP backend; the relay in use is seen
// from the daemon's child processes (native: lvsd-relay helpers; node: none).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { Daemon } from '../../src/daemon/daemon.js';
import { SystemdNotifier } from '../../src/daemon/sd-notify.js';
import { relayHelperPath } from '../../src/forward/proxy/native-relay.js';
import { freePort, get, startBackend, tempDir, type Backend, type TempDir } from '../e2e/harness.js';
import { configTextLoader } from '../helpers/config-text.js';

/** Names (/proc/PID/comm) of this process's children. */
function childNames(): string[] {
  const names: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) names.push(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
    } catch {
      // the process ended while we looked
    }
  }
  return names;
}

function nativeRelayBuilt(): boolean {
  try {
    relayHelperPath();
    return true;
  } catch {
    return false;
  }
}

const load = configTextLoader('lvsd-relay-cfg-');

describe('proxy_relay selects the relay', () => {
  let backend: Backend;
  let tmp: TempDir;
  beforeAll(async () => {
    backend = await startBackend();
    tmp = tempDir('lvsd-relay-kw-');
  });
  afterAll(async () => {
    await backend.close();
    tmp.cleanup();
  });

  const relays = nativeRelayBuilt() ? (['native', 'node'] as const) : (['node'] as const);
  if (relays.length === 1) console.log('proxy_relay native not tested: native/build/lvsd-relay was not built (needs cc)');

  test.each(relays)('proxy_relay %s serves through that relay', async (relay) => {
    const port = await freePort();
    const file = tmp.path(`${relay}.conf`);
    writeFileSync(file, [
      'lvsd_defs {', `    control_socket ${tmp.path(`${relay}.sock`)}`, '    workers 1', `    proxy_relay ${relay}`, '}',
      `virtual_server 127.0.0.1 ${port} {`, '    lvs_sched rr', '    protocol TCP',
      `    real_server 127.0.0.1 ${backend.port} {`, '        weight 1', '    }', '}', '',
    ].join('\n'));
    const logger = pino({ level: 'silent' });
    const daemon = new Daemon({ file, configId: 'relay', logger, notifier: new SystemdNotifier(logger, {}) });
    await daemon.start();
    try {
      expect(await get(port, false)).toBe(`backend ${backend.port}\n`);
      const helpers = childNames().filter((n) => n === 'lvsd-relay').length;
      if (relay === 'native') expect(helpers).toBe(1);
      else expect(helpers).toBe(0);
    } finally {
      await daemon.stop();
    }
  });

  test('an unknown relay is a config error at its place; none given leaves the choice to the engine', () => {
    expect(load('lvsd_defs {\n    proxy_relay kernel\n}\n').errors).toEqual([
      "2:17: error ECONFIG_VALUE 'kernel' is not one of auto|native|node for 'proxy_relay'",
    ]);
    expect(load('lvsd_defs {\n    workers 1\n}\n').config?.lvsd_defs?.proxy_relay).toBeNull();
  });
});
