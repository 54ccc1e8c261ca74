// The pure state rules, driven with explicit times and results (no sockets, no timers).
import { describe, expect, it } from '@jest/globals';
import { CheckCore, type CoreAction } from '../../src/check/core.js';
import type { CheckEvent, CheckResult, VirtualServerCheckSpec } from '../../src/check/types.js';

const ok: CheckResult = { ok: true, reason: 'ok', tookMs: 1 };
const fail: CheckResult = { ok: false, reason: 'ECONNREFUSED', tookMs: 1 };
const events = (a: CoreAction[]): CheckEvent[] => a.flatMap((x) => (x.kind === 'emit' ? [x.event] : []));
const scripts = (a: CoreAction[]): string[] => a.flatMap((x) => (x.kind === 'script' ? [`${x.why} ${x.script.command}`] : []));
const schedules = (a: CoreAction[]): number[] => a.flatMap((x) => (x.kind === 'schedule' ? [x.atMs] : []));

function vs(over: Partial<VirtualServerCheckSpec> = {}, n = 2, rsOver = {}): VirtualServerCheckSpec {
  return {
    id: '192.0.2.1:80',
    delayLoopMs: 10_000,
    warmupMs: 0,
    realServers: Array.from({ length: n }, (_, i) => ({
      addr: `198.51.100.${i + 1}`,
      port: 80,
      weight: 2,
      checkers: [{ type: 'TCP' as const }],
      ...rsOver,
    })),
    ...over,
  };
}

function keys(core: CheckCore): string[] {
  return [...core.checkers.keys()];
}

describe('retry and delay_before_retry', () => {
  it('an up checker fails retry+1 times, delay_before_retry apart, before going down', () => {
    const core = new CheckCore([vs({ retry: 2, delayBeforeRetryMs: 500 }, 1)]);
    core.start(0);
    const [k] = keys(core);
    let a = core.result(k!, fail, 1000);
    expect(events(a)).toEqual([]);
    expect(schedules(a)).toEqual([1500]);
    a = core.result(k!, fail, 1500);
    expect(events(a)).toEqual([]);
    expect(schedules(a)).toEqual([2000]);
    a = core.result(k!, fail, 2000);
    expect(events(a).map((e) => [e.kind, e.up, e.inTable])).toEqual([['quorum', false, true], ['rs', false, false]]);
    expect(schedules(a)).toEqual([12_000]); // back to delay_loop
    // a down checker that keeps failing stays down without retries or events
    a = core.result(k!, fail, 12_000);
    expect(events(a)).toEqual([]);
    expect(schedules(a)).toEqual([22_000]);
    // one success brings it back
    a = core.result(k!, ok, 22_000);
    expect(events(a).map((e) => [e.kind, e.up, e.weight])).toEqual([['quorum', true, 2], ['rs', true, 2]]);
  });

  it('a success between failures resets the retry count', () => {
    const core = new CheckCore([vs({ retry: 1 }, 1)]);
    core.start(0);
    const [k] = keys(core);
    core.result(k!, fail, 1);
    core.result(k!, ok, 2);
    expect(events(core.result(k!, fail, 3))).toEqual([]);
    expect(events(core.result(k!, fail, 4))[0]).toMatchObject({ up: false });
  });

  it('uses keepalived defaults: retry 1 (DNS 3, MISC 0), delay_before_retry 1 s (HTTP 3 s, DNS delay_loop)', () => {
    const core = new CheckCore([{ id: 'v', realServers: [{ addr: '198.51.100.1', port: 53, checkers: [{ type: 'DNS' }, { type: 'HTTP', urls: [] }, { type: 'MISC', script: { command: '/bin/true' } }] }] }]);
    const t = [...core.checkers.values()].map((c) => [c.timing.retry, c.timing.delayBeforeRetryMs, c.timing.delayLoopMs, c.timing.connectTimeoutMs, c.timing.warmupMs]);
    expect(t).toEqual([[3, 60_000, 60_000, 5000, 60_000], [1, 3000, 60_000, 5000, 60_000], [0, 1000, 60_000, 5000, 60_000]]);
  });
});

describe('alpha', () => {
  it('starts the server down (not in the table) until a check succeeds', () => {
    const core = new CheckCore([vs({ alpha: true, retry: 0 }, 1, { notifyDown: { command: 'down.sh' } })]);
    const start = events(core.start(0));
    expect(start.find((e) => e.kind === 'rs')).toMatchObject({ up: false, inTable: false });
    const [k] = keys(core);
    // first failing check under alpha announces "down" via notify_down
    const a = core.result(k!, fail, 100);
    expect(scripts(a)).toEqual(['notify_down down.sh']);
    expect(events(core.result(k!, ok, 200)).find((e) => e.kind === 'rs')).toMatchObject({ up: true, inTable: true, weight: 2 });
  });
});

describe('inhibit_on_failure', () => {
  it('sets weight 0 and keeps the destination instead of removing it', () => {
    const core = new CheckCore([vs({ retry: 0, inhibitOnFailure: true }, 1)]);
    core.start(0);
    const e = events(core.result(keys(core)[0]!, fail, 1)).find((x) => x.kind === 'rs');
    expect(e).toMatchObject({ up: false, inTable: true, weight: 0, reason: 'ECONNREFUSED', checker: 'TCP#0' });
  });
});

describe('several checkers on one real server', () => {
  it('is up only while all of them are up', () => {
    const core = new CheckCore([vs({ retry: 0 }, 1, { checkers: [{ type: 'TCP' }, { type: 'PING' }] })]);
    core.start(0);
    const [a, b] = keys(core);
    expect(events(core.result(a!, fail, 1))).toHaveLength(2); // rs down + quorum lost
    expect(events(core.result(b!, fail, 2))).toEqual([]); // already down
    expect(events(core.result(a!, ok, 3))).toEqual([]); // b still down
    expect(events(core.result(b!, ok, 4)).find((e) => e.kind === 'rs')).toMatchObject({ up: true });
  });
});

describe('quorum and hysteresis', () => {
  // 4 servers of weight 2 (sum 8), quorum 5, hysteresis 2: lose below 3, regain at 7.
  const spec = vs({ retry: 0, quorum: 5, hysteresis: 2, quorumUp: { command: 'qup' }, quorumDown: { command: 'qdown' } }, 4);
  it('loses quorum below quorum - hysteresis and regains it at quorum + hysteresis', () => {
    const core = new CheckCore([spec]);
    expect(events(core.start(0)).filter((e) => e.kind === 'quorum')).toEqual([]);
    const k = keys(core);
    const q = (a: CoreAction[]): unknown[] => events(a).filter((e) => e.kind === 'quorum').map((e) => [e.up, e.weight]);
    expect(q(core.result(k[0]!, fail, 1))).toEqual([]); // 6
    expect(q(core.result(k[1]!, fail, 2))).toEqual([]); // 4: below quorum but within hysteresis
    const lost = core.result(k[2]!, fail, 3); // 2 < 3
    expect(q(lost)).toEqual([[false, 2]]);
    expect(scripts(lost)).toEqual(['quorum_down qdown']);
    expect(q(core.result(k[2]!, ok, 4))).toEqual([]); // 4
    expect(q(core.result(k[1]!, ok, 5))).toEqual([]); // 6 < 7
    const gained = core.result(k[0]!, ok, 6); // 8 >= 7
    expect(q(gained)).toEqual([[true, 8]]);
    expect(scripts(gained)).toEqual(['quorum_up qup']);
  });

  it('swaps the real servers for the sorry server when quorum is lost, and back', () => {
    const core = new CheckCore([vs({ retry: 0, quorum: 4, sorryServer: { addr: '203.0.113.9', port: 80 } }, 2)]);
    const init = events(core.start(0));
    expect(init.find((e) => e.kind === 'sorry')).toMatchObject({ up: false, inTable: false });
    const k = keys(core);
    const lost = events(core.result(k[0]!, fail, 1));
    expect(lost.map((e) => [e.kind, e.rs, e.up, e.inTable])).toEqual([
      ['quorum', '', false, true],
      ['rs', '198.51.100.1:80', false, false],
      ['rs', '198.51.100.2:80', true, false], // alive but swapped out
      ['sorry', '203.0.113.9:80', true, true],
    ]);
    const back = events(core.result(k[0]!, ok, 2));
    expect(back.map((e) => [e.kind, e.rs, e.inTable])).toEqual([
      ['quorum', '', true],
      ['rs', '198.51.100.1:80', true],
      ['rs', '198.51.100.2:80', true],
      ['sorry', '203.0.113.9:80', false],
    ]);
  });
});

describe('dynamic weights', () => {
  it('misc_dynamic: exit status 2..255 sets the weight to status - 2, 0 restores it, 1 is down', () => {
    const core = new CheckCore([vs({ retry: 0 }, 1, { checkers: [{ type: 'MISC', dynamic: true, script: { command: 'x' } }] })]);
    core.start(0);
    const [k] = keys(core);
    const rsEv = (a: CoreAction[]): unknown => events(a).find((e) => e.kind === 'rs');
    expect(rsEv(core.result(k!, { ok: true, reason: 'exit 12', weight: 10, tookMs: 1 }, 1))).toMatchObject({ up: true, weight: 10 });
    expect(rsEv(core.result(k!, { ok: true, reason: 'exit 22', weight: 20, tookMs: 1 }, 2))).toMatchObject({ weight: 20 });
    expect(rsEv(core.result(k!, ok, 3))).toMatchObject({ weight: 2 });
    expect(rsEv(core.result(k!, fail, 4))).toMatchObject({ up: false });
  });

  it('FILE weight adds to the configured weight; clamps at 0', () => {
    const core = new CheckCore([vs({}, 1, { checkers: [{ type: 'FILE', path: '/x' }] })]);
    core.start(0);
    const [k] = keys(core);
    expect(events(core.result(k!, { ok: true, reason: '', weightDelta: 5, tookMs: 0 }, 1)).find((e) => e.kind === 'rs')).toMatchObject({ weight: 7 });
    expect(events(core.result(k!, { ok: true, reason: '', weightDelta: -9, tookMs: 0 }, 2)).find((e) => e.kind === 'rs')).toMatchObject({ weight: 0, up: true });
  });
});

describe('scheduling', () => {
  it('spreads first checks over warmup (randomness injected) and over 1 s without warmup', () => {
    let i = 0;
    const seq = [0.1, 0.5, 0.9];
    const core = new CheckCore([vs({ warmupMs: 3000 }, 3)], () => seq[i++]!);
    expect(schedules(core.start(1000))).toEqual([1300, 2500, 3700]);
    const flat = new CheckCore([vs({ warmupMs: 0 }, 4)]);
    expect(schedules(flat.start(0))).toEqual([0, 250, 500, 750]);
  });

  it('ha_suspend cancels and later reschedules the checks; results while suspended are ignored', () => {
    const core = new CheckCore([vs({ haSuspend: true }, 1)]);
    core.start(0);
    const [k] = keys(core);
    expect(core.setSuspended(true, 5).map((a) => a.kind)).toEqual(['cancel', 'log']);
    expect(core.result(k!, fail, 6)).toEqual([]);
    expect(schedules(core.setSuspended(false, 7))).toEqual([7]);
  });
});

describe('reconcile', () => {
  it('keeps the state of unchanged checkers, restarts changed ones, emits only differences', () => {
    const core = new CheckCore([vs({ retry: 0 }, 2)]);
    core.start(0);
    const [k1, k2] = keys(core);
    core.result(k1!, fail, 1); // rs1 down
    const spec = vs({ retry: 0 }, 2);
    const changed = { ...spec, realServers: [spec.realServers[0]!, { ...spec.realServers[1]!, checkers: [{ type: 'TCP' as const, connectPort: 81 }] }] };
    const a = core.reconcile([changed], 100);
    expect(a.filter((x) => x.kind === 'cancel').map((x) => x.kind === 'cancel' && x.key)).toEqual([k2]);
    expect(schedules(a)).toHaveLength(1);
    expect(events(a)).toEqual([]); // rs1 still down, rs2 (restarted, not alpha) still up
    expect(core.vss[0]!.rs[0]!.alive).toBe(false);
    expect(keys(core)[0]).toBe(k1); // the unchanged checker kept its key (its timer)
    expect(keys(core)).toHaveLength(2);
  });

  it('an unchanged virtual server is kept as it is: no action, same objects', () => {
    const core = new CheckCore([vs({ retry: 0 }, 3), vs({ id: 'other' }, 1)]);
    core.start(0);
    core.result(keys(core)[0]!, fail, 1);
    const before = core.vss[0];
    // fresh objects, as the daemon makes them from the config on each reload; undefined = unset
    const again = [{ ...vs({ retry: 0 }, 3), alpha: undefined }, vs({ id: 'other' }, 1)];
    expect(core.reconcile(again, 50)).toEqual([]);
    expect(core.vss[0]).toBe(before);
    expect(core.vss[0]!.rs[0]!.alive).toBe(false);
    // removing a virtual server cancels its checkers and nothing else
    const a = core.reconcile([again[1]!], 60);
    expect(a.map((x) => x.kind)).toEqual(['cancel', 'cancel', 'cancel']);
    expect(keys(core)).toHaveLength(1);
  });

  it('turning ha_suspend off on a suspended virtual server starts its kept checkers again', () => {
    const core = new CheckCore([vs({ haSuspend: true }, 1)]);
    core.start(0);
    core.setSuspended(true, 5);
    const a = core.reconcile([vs({ haSuspend: false }, 1)], 10);
    expect(schedules(a)).toEqual([10]);
    expect(core.vss[0]!.suspended).toBe(false);
  });
});

describe('omega', () => {
  it('runs notify_down of live servers and quorum_down on stop', () => {
    const core = new CheckCore([vs({ omega: true, quorumDown: { command: 'qd' } }, 1, { notifyDown: { command: 'nd a' } })]);
    core.start(0);
    expect(scripts(core.stop())).toEqual(['notify_down nd a', 'quorum_down qd']);
  });
});
