// The pure vrrp_track_process matcher against keepalived's rules (track_process.c check_params,
// read_procs; vrrp_parser.c: parameters or param_match imply full_command).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compileProcessMatch, parseStat, processMatches, type ProcInfo } from '../../src/vrrp/process-match.js';
import type { VrrpTrackProcessSpec } from '../../src/vrrp/types.js';

const proc = (comm: string, argv: string[] | null, extra: Partial<ProcInfo> = {}): ProcInfo => ({
  pid: 100,
  ppid: 1,
  comm,
  zombie: false,
  cmdline: argv ? Buffer.from(argv.map((a) => `${a}\0`).join('')) : null,
  ...extra,
});
const m = (s: Omit<VrrpTrackProcessSpec, 'name'>) => compileProcessMatch({ name: 't', ...s });

describe('parseStat', () => {
  it('reads comm, state and ppid, with spaces and parentheses inside comm', () => {
    expect(parseStat('1234 (haproxy) S 1 1234 1234 0 -1')).toEqual({ comm: 'haproxy', state: 'S', ppid: 1 });
    expect(parseStat('77 (Web Content) R 12 77')).toEqual({ comm: 'Web Content', state: 'R', ppid: 12 });
    expect(parseStat('78 (a) b) (c) Z 5 78')).toEqual({ comm: 'a) b) (c', state: 'Z', ppid: 5 });
  });
  it('returns null for what is not a stat line', () => {
    expect(parseStat('')).toBeNull();
    expect(parseStat('12 haproxy S 1')).toBeNull();
    expect(parseStat('12 (x)')).toBeNull();
    expect(parseStat('12 (x) S notanumber')).toBeNull();
  });
  it('never throws on any text (comm is chosen by the process)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (t) => {
      const r = parseStat(t);
      expect(r === null || typeof r.comm === 'string').toBe(true);
    }), { numRuns: 2000 });
  });
});

describe('processMatches', () => {
  it('by name: comm must equal process exactly (pgrep "^name$", never a pattern or prefix)', () => {
    const x = m({ process: 'ssh' });
    expect(processMatches(x, proc('ssh', null))).toBe(true);
    expect(processMatches(x, proc('sshd', null))).toBe(false);
    expect(processMatches(x, proc('ss', null))).toBe(false);
    expect(processMatches(m({ process: 'ss.' }), proc('ssh', null))).toBe(false);
  });
  it('zombies do not count', () => {
    expect(processMatches(m({ process: 'ssh' }), proc('ssh', null, { zombie: true }))).toBe(false);
  });
  it('full_command: argv[0] must equal process; the name is not looked at', () => {
    const x = m({ process: '/usr/sbin/haproxy', fullCommand: true });
    expect(processMatches(x, proc('haproxy', ['/usr/sbin/haproxy', '-f', 'x.cfg']))).toBe(true);
    expect(processMatches(x, proc('haproxy', ['haproxy', '-f', 'x.cfg']))).toBe(false);
    expect(processMatches(x, proc('haproxy', null))).toBe(false);
    expect(processMatches(x, proc('haproxy', []))).toBe(false); // kernel threads: empty cmdline
  });
  it('parameters imply full_command and an exact match of all of them', () => {
    const x = m({ process: 'sleep', params: ['1000'] });
    expect(x.fullCommand).toBe(true);
    expect(x.paramMatch).toBe('exact');
    expect(processMatches(x, proc('sleep', ['sleep', '1000']))).toBe(true);
    expect(processMatches(x, proc('sleep', ['sleep', '100']))).toBe(false);
    expect(processMatches(x, proc('sleep', ['sleep', '10000']))).toBe(false);
    expect(processMatches(x, proc('sleep', ['sleep', '1000', 'x']))).toBe(false);
    expect(processMatches(x, proc('sleep', ['sleep']))).toBe(false);
  });
  it('bare param_match (exact) with no parameters: the command must have none', () => {
    const x = m({ process: 'sleep', paramMatch: 'exact' });
    expect(processMatches(x, proc('sleep', ['sleep']))).toBe(true);
    expect(processMatches(x, proc('sleep', ['sleep', '5']))).toBe(false);
  });
  it('partial: the configured parameters are the first ones, whole', () => {
    const x = m({ process: 'nginx', params: ['-c', '/etc/a.conf'], paramMatch: 'partial' });
    expect(processMatches(x, proc('nginx', ['nginx', '-c', '/etc/a.conf']))).toBe(true);
    expect(processMatches(x, proc('nginx', ['nginx', '-c', '/etc/a.conf', '-g', 'daemon off;']))).toBe(true);
    expect(processMatches(x, proc('nginx', ['nginx', '-c', '/etc/a.conf.bak']))).toBe(false);
    expect(processMatches(x, proc('nginx', ['nginx', '-c']))).toBe(false);
  });
  it('initial: the last configured parameter may be longer', () => {
    const x = m({ process: 'nginx', params: ['-c', '/etc/a'], paramMatch: 'initial' });
    expect(processMatches(x, proc('nginx', ['nginx', '-c', '/etc/a']))).toBe(true);
    expect(processMatches(x, proc('nginx', ['nginx', '-c', '/etc/a.conf']))).toBe(true);
    expect(processMatches(x, proc('nginx', ['nginx', '-c', '/etc/a', 'more']))).toBe(true);
    expect(processMatches(x, proc('nginx', ['nginx', '-c', '/etc/b.conf']))).toBe(false);
    expect(processMatches(x, proc('nginx', ['nginx', '-cx', '/etc/a']))).toBe(false);
  });
  it('partial/initial with no parameters match any parameters', () => {
    expect(processMatches(m({ process: 'sleep', paramMatch: 'partial' }), proc('sleep', ['sleep', '9']))).toBe(true);
    expect(processMatches(m({ process: 'sleep', paramMatch: 'initial' }), proc('sleep', ['sleep']))).toBe(true);
  });
  it('never throws on arbitrary cmdline bytes and comm', () => {
    const x = [m({ process: 'a' }), m({ process: 'a', params: ['b'] }), m({ process: 'a', params: ['b', 'c'], paramMatch: 'initial' }), m({ process: 'a', params: ['b'], paramMatch: 'partial' })];
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 20 }), fc.boolean(), (bytes, comm, zombie) => {
      for (const y of x) expect(typeof processMatches(y, { pid: 1, ppid: 0, comm, zombie, cmdline: Buffer.from(bytes) })).toBe('boolean');
    }), { numRuns: 1000 });
  });
});
