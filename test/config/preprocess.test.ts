import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Diagnostics } from '../../src/config/diagnostics.js';
import { preprocess } from '../../src/config/preprocess.js';
import { tempTree } from '../helpers/paths.js';

let cleanups: Array<() => void> = [];
afterEach(() => {
  cleanups.forEach((c) => c());
  cleanups = [];
});

function run(files: Record<string, string>, configId = 'main', env: Record<string, string> = {}) {
  const t = tempTree(files);
  cleanups.push(t.cleanup);
  const diag = new Diagnostics();
  const pre = preprocess(join(t.dir, 'main.conf'), { configId, env, random: () => 0.5 }, diag);
  const text = pre.lines.map((l) => l.text.trim()).filter((l) => l !== '');
  return { dir: t.dir, pre, diag, text, msgs: diag.items.map((d) => `${d.loc ? `${d.loc.file.slice(t.dir.length + 1)}:${d.loc.line}:${d.loc.col}` : '-'}: ${d.severity}: ${d.message}`) };
}

describe('include', () => {
  it('includes relative to the including file, nested, with globs in sorted order', () => {
    const r = run({
      'main.conf': 'a 1\ninclude conf.d/*.conf\nz 26\n',
      'conf.d/b.conf': 'b 2\ninclude ../sub/c.conf\n',
      'conf.d/a.conf': 'a2 2\n',
      'sub/c.conf': 'c 3\n',
    });
    expect(r.msgs).toEqual([]);
    expect(r.text).toEqual(['a 1', 'a2 2', 'b 2', 'c 3', 'z 26']);
    expect(r.pre.files.map((f) => f.slice(r.dir.length + 1))).toEqual(['main.conf', 'conf.d/a.conf', 'conf.d/b.conf', 'sub/c.conf']);
    // Lines keep their own file and line number.
    const c = r.pre.lines.find((l) => l.text === 'c 3');
    expect(c && c.file.endsWith('sub/c.conf') && c.line === 1).toBe(true);
  });

  it('expands csh-style braces', () => {
    const r = run({ 'main.conf': 'include {x,y}.conf\n', 'x.conf': 'x 1\n', 'y.conf': 'y 1\n' });
    expect(r.text).toEqual(['x 1', 'y 1']);
  });

  it('reports an include cycle with the chain, at the include line', () => {
    const r = run({ 'main.conf': '\ninclude a.conf\n', 'a.conf': 'x 1\n  include main.conf\n' });
    expect(r.msgs).toHaveLength(1);
    expect(r.msgs[0]).toMatch(/^a\.conf:2:3: error: include cycle: .*main\.conf -> .*a\.conf -> .*main\.conf$/);
  });

  it('reports a missing include file as an error, and an empty pattern as a warning', () => {
    const r = run({ 'main.conf': 'include nothere.conf\ninclude none/*.conf\nincludew none/*.conf\n' });
    expect(r.msgs[0]).toMatch(/^main\.conf:1:1: error: cannot open '.*nothere\.conf': no such file$/);
    expect(r.msgs[1]).toBe("main.conf:2:1: warning: include pattern 'none/*.conf' matches no file");
    expect(r.msgs[2]).toBe("main.conf:3:1: error: include pattern 'none/*.conf' matches no file");
  });
});

describe('comments and conditionals', () => {
  it('strips # and ! comments outside quotes', () => {
    const r = run({ 'main.conf': 'a 1 # c\nb "x # y" ! c\n! whole line\n' });
    expect(r.text).toEqual(['a 1', 'b "x # y"']);
  });

  it('keeps @id lines for the matching id and @^id lines for the others (man page example)', () => {
    const files = { 'main.conf': '@main router_id main_router\n@backup router_id backup_router\n@^main 1.2.3.4\n@^backup 1.2.3.5\n' };
    expect(run(files, 'main').text).toEqual(['router_id main_router', '1.2.3.5']);
    expect(run(files, 'backup').text).toEqual(['router_id backup_router', '1.2.3.4']);
    expect(run(files, 'other').text).toEqual(['1.2.3.4', '1.2.3.5']);
  });

  it('keeps columns when a conditional prefix is removed', () => {
    const r = run({ 'main.conf': '@main weight 5\n' });
    const l = r.pre.lines[0];
    // The prefix becomes indentation, which is dropped and remembered as a column shift.
    expect(l.text).toBe('weight 5');
    expect(l.colMap).toBeNull();
    expect(l.colShift).toBe(6);
  });
});

describe('parameters', () => {
  it('substitutes $NAME before whitespace and ${NAME} anywhere, at use time (man page example)', () => {
    const r = run({
      'main.conf': '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n$UNDEF stays ${UNDEF}\n',
    });
    expect(r.text).toEqual(['10.2.0.100/32', '10.2.10.100/32', '$UNDEF stays ${UNDEF}']);
  });

  it('combines with conditionals both ways (man page examples)', () => {
    const r = run({ 'main.conf': '@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n$IF_MAIN=@main\n$IF_MAIN weight 3\n' });
    expect(r.text).toEqual(['priority 240', 'weight 3']);
    expect(run({ 'main.conf': '$IF_MAIN=@main\n$IF_MAIN weight 3\n' }, 'backup').text).toEqual([]);
  });

  it('expands multi-line definitions, nested, with definitions inside them', () => {
    const r = run({
      'main.conf': [
        '$RS= \\',
        'real_server 192.168.${VS}.${N} 80 { \\',
        '  weight ${N} \\',
        '}',
        '$VS_BODY= \\',
        'virtual_server 10.0.${VS}.4 80 { \\',
        '  $N=1 \\',
        '  $RS \\',
        '  $N=2 \\',
        '  $RS \\',
        '}',
        '$VS=7',
        '$VS_BODY',
      ].join('\n'),
    });
    expect(r.msgs).toEqual([]);
    expect(r.text).toEqual(['virtual_server 10.0.7.4 80 {', 'real_server 192.168.7.1 80 {', 'weight 1', '}', 'real_server 192.168.7.2 80 {', 'weight 2', '}', '}']);
  });

  it('provides _PWD, _INSTANCE, _ENV, _RANDOM, _HASH and _BANG', () => {
    const r = run({ 'main.conf': 'a ${_PWD}\nb ${_INSTANCE}\nc ${_ENV HOME_X}\nd ${_RANDOM 10 20}\ne x${_HASH}y${_BANG}z\n' }, 'node1', { HOME_X: '/h' });
    expect(r.text).toEqual([`a ${r.dir}`, 'b node1', 'c /h', 'd 15', 'e x#y!z']);
  });

  it('maps columns after a substitution back to the original line', () => {
    const r = run({ 'main.conf': '$X=a_long_value\n  key $X bad\n' });
    const l = r.pre.lines[0];
    const col = l.text.indexOf('bad');
    expect(l.colMap && l.colMap[col]).toBe('  key $X '.length);
    expect(l.colMap && l.colMap[l.text.indexOf('a_long_value') + 3]).toBe(6);
  });

  it('stops a definition that grows forever, with an error', () => {
    const r = run({ 'main.conf': '$A=x $A\n$A\n' });
    expect(r.msgs[0]).toMatch(/^main\.conf:2:1: error: parameter expansion nested more than 32 deep/);
  });
});

describe('sequences and lists', () => {
  it('expands ~SEQ with start, step and end, and ~SEQx in hex (man page examples)', () => {
    expect(run({ 'main.conf': '~SEQ(SUBNET, 0, 3) ip 10.0.${SUBNET}.1\n' }).text).toEqual(['ip 10.0.0.1', 'ip 10.0.1.1', 'ip 10.0.2.1', 'ip 10.0.3.1']);
    expect(run({ 'main.conf': '~SEQx(S, 0x90, 0x10, 0xc0) fe80::20:${S}:1\n' }).text).toEqual(['fe80::20:90:1', 'fe80::20:a0:1', 'fe80::20:b0:1', 'fe80::20:c0:1']);
    expect(run({ 'main.conf': '~SEQ(N, 3) n${N}\n' }).text).toEqual(['n1', 'n2', 'n3']);
    expect(run({ 'main.conf': '~SEQ(N, 5, 3) n${N}\n' }).text).toEqual(['n5', 'n4', 'n3']);
  });

  it('nests ~LST and ~SEQ (man page example)', () => {
    const r = run({ 'main.conf': '~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n' });
    expect(r.text).toEqual(['192.168.10.1', '192.170.10.1', '192.168.20.4', '192.170.20.4']);
  });

  it('reports a malformed sequence at its place', () => {
    const r = run({ 'main.conf': 'x\n   ~SEQ(N, 1, 0, 5) a\n' });
    expect(r.msgs).toEqual(['main.conf:2:4: error: ~SEQ(N, 1, 0, 5): step must not be 0']);
  });
});
