// lvsd's systemd notifications on a real NOTIFY_SOCKET: the exact sequence for start, reload,
// failed reload and stop, each message carrying lvsd's pid (MAINPID=, and as the sender
// credentials when root, which is how systemd attributes them with NotifyAccess=all).

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { configText, freePort, LvsdProcess, startBackend, tempDir } from './harness.js';
import type { Backend, TempDir } from './harness.js';
import { NotifyListener, notifyListenerMissing } from './notify-listener.js';
import type { Notification } from './notify-listener.js';

const missing = notifyListenerMissing();
if (missing) console.log(`skipping systemd notification tests: ${missing}`);
const maybe = missing ? test.skip : test;

let tmp: TempDir;
let backend: Backend;
let listener: NotifyListener;
let lvsd: LvsdProcess | null = null;

beforeAll(async () => {
  tmp = tempDir();
  backend = await startBackend();
  if (!missing) {
    listener = new NotifyListener(tmp.path('notify.sock'));
    await listener.start();
  }
});

afterAll(async () => {
  await lvsd?.stop();
  listener?.stop();
  await backend.close();
  tmp.cleanup();
});

/** Lifecycle messages only (STATUS-only updates from health events may come in between). */
const lifecycle = (ms: Notification[]) => ms.filter((m) => m.fields.READY || m.fields.RELOADING || m.fields.STOPPING);

describe('systemd notifications', () => {
  maybe('start READY+STATUS, reload RELOADING then READY, failed reload READY with a failure STATUS, stop STOPPING', async () => {
    const file = tmp.path('lvsd.conf');
    const conf = { controlSocket: tmp.path('control.sock'), vs: [{ port: await freePort(), rs: [{ port: backend.port, weight: 1 }] }] };
    writeFileSync(file, configText(conf));
    lvsd = await LvsdProcess.start(file, [], { NOTIFY_SOCKET: listener.path });
    await listener.waitUntil((ms) => lifecycle(ms).length >= 1);

    conf.vs[0].rs[0].weight = 2;
    writeFileSync(file, configText(conf));
    lvsd.child.kill('SIGHUP');
    await listener.waitUntil((ms) => lifecycle(ms).length >= 3);

    writeFileSync(file, 'virtual_server {\n');
    lvsd.child.kill('SIGHUP');
    await listener.waitUntil((ms) => lifecycle(ms).length >= 5);

    const exit = await lvsd.stop();
    expect(exit.code).toBe(0);
    await listener.waitUntil((ms) => lifecycle(ms).length >= 6);

    const seq = lifecycle(listener.messages).map((m) => {
      const { MAINPID, ...rest } = m.fields;
      expect(MAINPID).toBe(String(lvsd!.pid));
      return rest;
    });
    expect(seq).toEqual([
      { READY: '1', STATUS: '1 services, 1/1 real servers up' },
      { RELOADING: '1' },
      { READY: '1', STATUS: '1 services, 1/1 real servers up' },
      { RELOADING: '1' },
      { READY: '1', STATUS: expect.stringMatching(/^reload failed \(\d+ errors?\); 1 services, 1\/1 real servers up$/) },
      { STOPPING: '1' },
    ]);
    for (const m of listener.messages) {
      expect(m.fields.MAINPID).toBe(String(lvsd.pid));
      // systemd-notify --pid=N sends with N's credentials when it may (root); else its own.
      if (process.getuid?.() === 0) expect(m.pid).toBe(lvsd.pid);
    }
    // Anything else was a STATUS update.
    for (const m of listener.messages.filter((x) => !lifecycle([x]).length)) expect(Object.keys(m.fields).sort()).toEqual(['MAINPID', 'STATUS']);
  }, 30000);
});
