// systemd/lvsd.service passes `systemd-analyze verify`. verify insists that every Exec* binary
// exists and is executable, and /usr/bin/lvsd is not installed on a build machine, so we verify a
// copy that differs only in that path: it points at a two-line wrapper running this checkout's
// dist/src/bin/lvsd.js with node. The wrapper is real (the test runs `lvsd -t` through it), and
// a copy pointing at a missing binary must fail, so the verify is known to check something.

import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lvsdBin, repoRoot } from '../helpers/paths.js';
import { tempDir } from './harness.js';

const unitPath = join(repoRoot, 'systemd', 'lvsd.service');
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const missing = analyze.error ? 'systemd-analyze (package systemd) is not installed' : null;
if (missing) console.log(`skipping the unit verification: ${missing}`);
const maybe = missing ? test.skip : test;

const tmp = tempDir('lvsd-unit-');
afterAll(() => tmp.cleanup());

function verify(unitText: string, name: string): { status: number | null; output: string } {
  const file = tmp.path(name);
  writeFileSync(file, unitText);
  // --man=no: Documentation=man:keepalived.conf(5) is only there when keepalived is installed.
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe('systemd/lvsd.service', () => {
  const unit = readFileSync(unitPath, 'utf8');

  test('declares what lvsd relies on', () => {
    const set = (k: string) => unit.split('\n').filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
    expect(set('Type')).toEqual(['notify']);
    expect(set('NotifyAccess')).toEqual(['all']);
    expect(set('ExecStart')).toEqual(['/usr/bin/lvsd -n -f /etc/lvsd/lvsd.conf']);
    expect(set('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(set('RuntimeDirectory')).toEqual(['lvsd']);
    expect(set('ProtectSystem')).toEqual(['strict']);
    for (const cap of ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_NET_BIND_SERVICE']) {
      expect(set('CapabilityBoundingSet')[0].split(' ')).toContain(cap);
      expect(set('AmbientCapabilities')[0].split(' ')).toContain(cap);
    }
  });

  maybe('passes systemd-analyze verify (with ExecStart pointing at this checkout)', () => {
    const wrapper = tmp.path('lvsd');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(lvsdBin)} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const version = spawnSync(wrapper, ['--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toBe('lvsd 0.1.0');

    const copy = unit.replaceAll('/usr/bin/lvsd', wrapper);
    expect(copy.split('\n').length).toBe(unit.split('\n').length);
    const ok = verify(copy, 'lvsd.service');
    expect(ok.output).toBe('');
    expect(ok.status).toBe(0);

    const broken = verify(unit.replaceAll('/usr/bin/lvsd', tmp.path('absent')), 'broken.service');
    expect(broken.status).not.toBe(0);
    expect(broken.output).toContain('is not executable');
  });
});
