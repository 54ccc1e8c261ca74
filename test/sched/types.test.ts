import { describe, expect, it } from '@jest/globals';
import { SCHEDULER_NAMES } from '../../src/sched/types.js';

describe('scheduler names', () => {
  it('lists the 13 IPVS schedulers in ipvsadm order', () => {
    expect(SCHEDULER_NAMES).toEqual(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr', 'sh', 'dh', 'fo', 'ovf', 'mh']);
  });
});
