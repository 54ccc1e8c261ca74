// MISC_CHECK and the script runner with real scripts: exit codes, misc_dynamic, hanging and
// flooding scripts, quoting, clean environment, dropping root.
import { afterAll, describe, expect, it } from '@jest/globals';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { miscCheck } from '../../src/check/misc.js';
import { runScript, splitCommand } from '../../src/check/script.js';
import type { MiscCheckSpec } from '../../src/check/types.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
function script(name: string, body: string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, body, { mode: 0o755 });
  return p;
}
const misc = (command: string, o: Partial<MiscCheckSpec> = {}): MiscCheckSpec => ({ type: 'MISC', script: { command }, ...o });

describe('MISC_CHECK', () => {
  const exit = script('exit.sh', '#!/bin/sh\nexit "$1"\n');
  it('exit 0 is up, anything else down; misc_dynamic turns 2..255 into weight status-2', async () => {
    expect(await miscCheck(misc(`${exit} 0`), 5000, {})).toMatchObject({ ok: true, reason: 'exit 0' });
    expect(await miscCheck(misc(`${exit} 1`), 5000, {})).toMatchObject({ ok: false, reason: 'exit 1' });
    expect(await miscCheck(misc(`${exit} 12`), 5000, {})).toMatchObject({ ok: false, reason: 'exit 12' });
    expect(await miscCheck(misc(`${exit} 12`, { dynamic: true }), 5000, {})).toMatchObject({ ok: true, weight: 10 });
    expect(await miscCheck(misc(`${exit} 1`, { dynamic: true }), 5000, {})).toMatchObject({ ok: false });
  });

  it('kills a hanging script (and its children) at misc_timeout', async () => {
    const hang = script('hang.sh', '#!/bin/sh\ntrap "" TERM\nsleep 30 &\nwait\n');
    const t0 = Date.now();
    const r = await miscCheck(misc(hang), 300, {}, 200);
    expect(r).toMatchObject({ ok: false, reason: 'timed out' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('caps the output of a script that floods stdout and still times it out', async () => {
    const run = await runScript({ command: '/usr/bin/yes flood' }, { timeoutMs: 300, maxOutputBytes: 1000 });
    expect(run.timedOut).toBe(true);
    expect(run.output.length).toBe(1000);
  });

  it('runs a script without #! through /bin/sh, with a clean environment', async () => {
    const p = script('noshebang', 'echo "$PATH|$HOME|$LVSD_SECRET"\n');
    process.env.LVSD_SECRET = 'leak';
    const run = await runScript({ command: p }, { timeoutMs: 2000 });
    delete process.env.LVSD_SECRET;
    expect(run.output).toBe('/usr/sbin:/usr/bin:/sbin:/bin||\n');
  });

  it('never runs as root unless told to: default user nobody, explicit root allowed', async () => {
    if (process.getuid?.() !== 0) {
      console.log('skipped: user switching needs root');
      return;
    }
    expect((await runScript({ command: '/usr/bin/id -u' }, { timeoutMs: 2000 })).output).toBe('65534\n');
    expect((await runScript({ command: '/usr/bin/id -u', user: 'root' }, { timeoutMs: 2000 })).output).toBe('0\n');
    // enable_script_security: a root script in a world-writable place is refused
    const insecure = script('insecure.sh', '#!/bin/sh\nid -u\n');
    const r = await runScript({ command: insecure, user: 'root' }, { timeoutMs: 2000, policy: { enableScriptSecurity: true } });
    expect(r.error?.code).toBe('ESCRIPTINSECURE');
    // ... but /usr/bin/id is root-owned all the way up
    const ok = await runScript({ command: '/usr/bin/id -u' }, { timeoutMs: 2000, policy: { enableScriptSecurity: true } });
    expect(ok.output).toBe('0\n');
  });

  it('reports a missing program or an unknown user as a failed check', async () => {
    expect((await miscCheck(misc('/nonexistent/x'), 1000, {})).reason).toMatch(/^ESCRIPTEXEC/);
    if (process.getuid?.() === 0)
      expect((await miscCheck(misc('/bin/true', { script: { command: '/bin/true', user: 'no-such-user-x' } }), 1000, {})).reason).toMatch(/^ESCRIPTUSER/);
  });
});

describe('splitCommand', () => {
  it('splits like keepalived: whitespace, quotes, backslash escapes', () => {
    expect(splitCommand(`/bin/n.sh VS_1 "UP now" 'a b'\\ c x\\"y`)).toEqual(['/bin/n.sh', 'VS_1', 'UP now', 'a b c', 'x"y']);
    expect(() => splitCommand('a "b')).toThrow(/unterminated/);
    expect(() => splitCommand('   ')).toThrow(/empty/);
  });
  it('never throws anything but a ScriptError, and round-trips simple words', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      try {
        splitCommand(s);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('ESCRIPTPARSE');
      }
    }));
    fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-z0-9._/-]+$/), { minLength: 1 }), (words) => {
      expect(splitCommand(words.map((w) => `'${w}'`).join(' '))).toEqual(words);
    }));
  });
});

describe('notify script arguments', () => {
  it('passes the configured arguments (quoted ones intact)', async () => {
    const out = join(tmp.dir, 'args.txt');
    const p = script('notify.sh', `#!/bin/sh\nprintf '%s\\n' "$@" > ${out}\n`);
    const r = await runScript({ command: `${p} VS_notify.1 "UP NOW" 10.0.0.4:80`, user: 'root' }, { timeoutMs: 2000 });
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('VS_notify.1\nUP NOW\n10.0.0.4:80\n');
  });
});
