import { describe, expect, it } from '@jest/globals';
import {
  createScheduler,
  InvalidSchedOptionError,
  isSchedulerName,
  SCHEDULER_NAMES,
  schedulerAcceptsFlag,
  UnknownSchedulerError,
} from '../../src/sched/index.js';
import type { SchedulerName } from '../../src/sched/index.js';
import { ANY_KEY, dest, key } from './helpers.js';

describe('registry', () => {
  it('creates every scheduler under its own name; each returns null with no dests', () => {
    for (const name of SCHEDULER_NAMES) {
      const s = createScheduler(name);
      expect(s.name).toBe(name);
      expect(s.pick(ANY_KEY, 0)).toBeNull();
      s.update([]);
      expect(s.pick(ANY_KEY, 0)).toBeNull();
    }
  });

  it('every scheduler picks the only available dest and never a quiescent one', () => {
    for (const name of SCHEDULER_NAMES) {
      const a = dest('A', 0);
      const b = dest('B', 3);
      const s = createScheduler(name);
      s.update([a, b]);
      for (let i = 0; i < 5; i++) {
        const d = s.pick(key(`203.0.113.${i + 1}`, `198.51.100.${i + 1}`, 1000 + i), i);
        // sh/dh/mh have no fallback by default, so they may answer null for A's buckets.
        if (d !== null) expect(d).toBe(b);
        else expect(['sh', 'dh', 'mh']).toContain(name);
      }
    }
  });

  it('recognises scheduler names', () => {
    for (const name of SCHEDULER_NAMES) expect(isSchedulerName(name)).toBe(true);
    for (const bad of ['', 'RR', 'wrr ', 'lblcrr', 'random', 'toString']) expect(isSchedulerName(bad)).toBe(false);
  });

  it('says which flags apply to which scheduler', () => {
    expect(schedulerAcceptsFlag('sh', 'sh-fallback')).toBe(true);
    expect(schedulerAcceptsFlag('sh', 'sh-port')).toBe(true);
    expect(schedulerAcceptsFlag('sh', 'mh-port')).toBe(false);
    expect(schedulerAcceptsFlag('mh', 'mh-fallback')).toBe(true);
    expect(schedulerAcceptsFlag('mh', 'mh-port')).toBe(true);
    expect(schedulerAcceptsFlag('mh', 'sh-fallback')).toBe(false);
    for (const name of SCHEDULER_NAMES.filter((n) => n !== 'sh' && n !== 'mh')) {
      for (const flag of ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'] as const) {
        expect(schedulerAcceptsFlag(name, flag)).toBe(false);
      }
    }
  });

  it('reports bad input with stable error codes', () => {
    expect(() => createScheduler('bogus' as SchedulerName)).toThrow(UnknownSchedulerError);
    try {
      createScheduler('bogus' as SchedulerName);
    } catch (e) {
      expect((e as UnknownSchedulerError).code).toBe('ESCHED_UNKNOWN');
    }
    expect(() => createScheduler('mh', {}, { mhTableSize: 4096 })).toThrow(InvalidSchedOptionError);
    expect(() => createScheduler('lblc', {}, { localityExpirationMs: -1 })).toThrow(InvalidSchedOptionError);
  });
});
