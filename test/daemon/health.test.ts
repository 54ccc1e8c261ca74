// HealthOverlay: checker events and schedule drains seen through a service's configured spec.

import { describe, expect, test } from '@jest/globals';
import type { CheckEvent } from '../../src/check/index.js';
import { HealthOverlay } from '../../src/daemon/health.js';
import type { DestSpec, ServiceSpec } from '../../src/ipvs/index.js';

const VS = 'TCP 192.0.2.1:80';
const dest = (addr: string, weight: number): DestSpec => ({ addr, port: 80, weight, method: 'NAT', uThreshold: 0, lThreshold: 0, tunnel: null });
const SPEC: ServiceSpec = {
  key: { kind: 'addr', protocol: 'tcp', addr: '192.0.2.1', port: 80 },
  scheduler: 'wrr',
  dests: [dest('198.51.100.1', 3), dest('198.51.100.2', 2)],
  sorryServer: dest('198.51.100.99', 1),
};
const ev = (rs: string, e: Partial<CheckEvent>): CheckEvent => ({ kind: 'rs', vs: VS, rs, up: true, weight: 3, inTable: true, checker: 'TCP#0', reason: 'ok', took_ms: 1, ...e });
const weights = (s: ServiceSpec) => s.dests.map((d) => `${d.addr}/${d.weight}`);

describe('HealthOverlay', () => {
  test('with no events the configured spec goes through unchanged (no sorry server in use)', () => {
    const h = new HealthOverlay();
    const s = h.effective(VS, SPEC);
    expect(s.dests).toEqual(SPEC.dests);
    expect(s.sorryServer).toBeNull();
  });

  test('a down real server leaves; inhibit (inTable, weight 0) keeps it at weight 0; up brings it back', () => {
    const h = new HealthOverlay();
    expect(h.apply(ev('198.51.100.1:80', { up: false, inTable: false, weight: 3 }))).toBe(true);
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.2/2']);
    expect(h.apply(ev('198.51.100.1:80', { up: false, inTable: true, weight: 0 }))).toBe(true);
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/0', '198.51.100.2/2']);
    expect(h.apply(ev('198.51.100.1:80', { up: true, inTable: true, weight: 3 }))).toBe(true);
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/3', '198.51.100.2/2']);
    // The same news twice is no change.
    expect(h.apply(ev('198.51.100.1:80', { up: true, inTable: true, weight: 3 }))).toBe(false);
  });

  test('a dynamic weight from a checker overrides the configured one', () => {
    const h = new HealthOverlay();
    h.apply(ev('198.51.100.2:80', { weight: 7 }));
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/3', '198.51.100.2/7']);
  });

  test('a schedule drain sets weight 0 whatever the checkers say; restore gives it back', () => {
    const h = new HealthOverlay();
    expect(h.setDrained(VS, '198.51.100.1:80', true)).toBe(true);
    expect(h.setDrained(VS, '198.51.100.1:80', true)).toBe(false);
    expect(h.isDrained(VS, '198.51.100.1:80')).toBe(true);
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/0', '198.51.100.2/2']);
    h.apply(ev('198.51.100.1:80', { weight: 5 }));
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/0', '198.51.100.2/2']);
    expect(h.setDrained(VS, '198.51.100.1:80', false)).toBe(true);
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/5', '198.51.100.2/2']);
  });

  test('quorum lost with a sorry server: the real servers leave and the sorry server serves', () => {
    const h = new HealthOverlay();
    expect(h.apply({ ...ev('', {}), kind: 'sorry', inTable: true })).toBe(true);
    const s = h.effective(VS, SPEC);
    expect(s.dests).toEqual([]);
    expect(s.sorryServer).toEqual(SPEC.sorryServer);
    expect(h.apply({ ...ev('', {}), kind: 'sorry', inTable: false })).toBe(true);
    expect(h.effective(VS, SPEC).dests).toHaveLength(2);
    expect(h.apply({ ...ev('', {}), kind: 'quorum', up: false })).toBe(false);
  });

  test('retain forgets real servers and services that a reload removed', () => {
    const h = new HealthOverlay();
    h.apply(ev('198.51.100.1:80', { up: false, inTable: false }));
    h.setDrained(VS, '198.51.100.2:80', true);
    h.apply({ ...ev('', {}), kind: 'sorry', inTable: true });
    h.retain(new Map());
    const s = h.effective(VS, SPEC);
    expect(weights(s)).toEqual(['198.51.100.1/3', '198.51.100.2/2']);
    expect(s.sorryServer).toBeNull();
  });

  test('retain keeps the real servers that stay and forgets only the others', () => {
    const h = new HealthOverlay();
    h.apply(ev('198.51.100.1:80', { up: false, inTable: false }));
    h.apply(ev('198.51.100.2:80', { weight: 7 }));
    h.setDrained(VS, '198.51.100.1:80', true);
    h.setDrained(VS, '198.51.100.2:80', true);
    h.retain(new Map([[VS, new Set(['198.51.100.2:80'])]]));
    // .1 forgotten (back at its configured 3, not drained); .2 keeps weight 7 and its drain.
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/3', '198.51.100.2/0']);
    expect(h.isDrained(VS, '198.51.100.1:80')).toBe(false);
    expect(h.setDrained(VS, '198.51.100.2:80', false)).toBe(true);
    expect(weights(h.effective(VS, SPEC))).toEqual(['198.51.100.1/3', '198.51.100.2/7']);
  });
});
