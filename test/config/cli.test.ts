// `lvsd -t` as operators run it: a real process, real files, exit codes and compiler-style output.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { lvsdBin, repoRoot, tempTree } from '../helpers/paths.js';

const tree = tempTree({
  'good.conf': 'virtual_server 192.0.2.1 80 {\n  lvs_sched rr\n  real_server 198.51.100.1 80 {\n    weight 2\n  }\n}\n',
  'warn.conf': 'virtual_server 192.0.2.1 80 {\n  lb_algo rr\n  real_server 198.51.100.1 80 {\n  }\n}\n',
  'bad.conf': 'virtual_server 192.0.2.1 80 {\n\tlvs_sched rr\n\treal_server 198.51.100.1 80 {\n\t\tweight 99999\n\t}\n}\n',
  'cycle.conf': 'include cycle2.conf\n',
  'cycle2.conf': 'include cycle.conf\n',
});
afterAll(() => tree.cleanup());

function lvsd(...args: string[]) {
  const r = spawnSync(process.execPath, [lvsdBin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 20000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('lvsd -t', () => {
  it('exits 0 on a valid file and says so', () => {
    const f = join(tree.dir, 'good.conf');
    const r = lvsd('-t', '-f', f);
    expect(r.code).toBe(0);
    expect(r.err.trim()).toBe(`${f}: 0 errors, 0 warnings - configuration OK`);
    expect(r.out).toBe('');
  });

  it('prints an error with its place, the source line and a caret, and exits 1', () => {
    const f = join(tree.dir, 'bad.conf');
    const r = lvsd('-t', '-f', f);
    expect(r.code).toBe(1);
    expect(r.err.split('\n').slice(0, 4)).toEqual([
      `${f}:4:10: error: 'weight' 99999 is out of range 0..65535`,
      '    \t\tweight 99999',
      '    \t\t       ^',
      `${f}: 1 error, 0 warnings`,
    ]);
  });

  it('passes with warnings unless --strict', () => {
    const f = join(tree.dir, 'warn.conf');
    const r = lvsd('-t', '-f', f);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`${f}:2:3: warning: 'lb_algo' is an old spelling of 'lvs_sched'`);
    expect(lvsd('-t', '--strict', '-f', f).code).toBe(1);
  });

  it('reports an include cycle', () => {
    const f = join(tree.dir, 'cycle.conf');
    const r = lvsd('-t', '-f', f);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(tree.dir, 'cycle2.conf')}:1:1: error: include cycle: ${f} -> ${join(tree.dir, 'cycle2.conf')} -> ${f}`);
  });

  it('--dump prints the resolved model as JSON with defaults filled in', () => {
    const r = lvsd('-t', '--dump', '-f', join(tree.dir, 'good.conf'));
    expect(r.code).toBe(0);
    const model = JSON.parse(r.out);
    const vs = model.virtual_server[0];
    expect(vs.key).toEqual({ kind: 'ip', ip: '192.0.2.1', family: 4, port: 80 });
    expect([vs.lvs_sched, vs.protocol, vs.delay_loop, vs.lvs_method]).toEqual(['rr', 'TCP', 60, { method: 'NAT', tunnel: null }]);
    expect(vs.real_server[0]).toMatchObject({ ip: '198.51.100.1', port: 80, weight: 2, uthreshold: 0, lthreshold: 0, inhibit_on_failure: false });
    // Stable: the same file dumps to the same text.
    expect(lvsd('-t', '--dump', '-f', join(tree.dir, 'good.conf')).out).toBe(r.out);
  });

  it('fails clearly on a missing file', () => {
    const r = lvsd('-t', '-f', join(tree.dir, 'nope.conf'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: cannot open '${join(tree.dir, 'nope.conf')}': no such file`);
  });

  it('checks the sample configuration shipped in etc/', () => {
    const r = lvsd('-t', '-f', join(repoRoot, 'etc', 'lvsd.conf'));
    expect(r.err).not.toMatch(/error:/);
    expect(r.code).toBe(0);
  });
});
