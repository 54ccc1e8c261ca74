import { describe, expect, it } from '@jest/globals';
import { VrrpMachine, type MachineAction, type MachineOptions } from '../../src/vrrp/machine.js';
import { advertIntervalCs, masterDownUs, skewUs } from '../../src/vrrp/timers.js';
import { effectivePriority } from '../../src/vrrp/priority.js';

const S = 1_000_000;
const base: MachineOptions = { version: 2, priority: 100, advertIntCs: 100, initialState: 'BACKUP', ownAddr: '192.0.2.2' };
const mk = (o: Partial<MachineOptions> = {}) => new VrrpMachine({ ...base, ...o });
const types = (a: MachineAction[]) => a.map((x) => (x.type === 'transition' ? `${x.from}>${x.to}` : x.type === 'send' ? `send${x.priority}` : x.type === 'garp' ? `garp${x.count}` : x.type));
const peer = (priority: number, src = '192.0.2.1', intervalCs = 100) => ({ priority, src, intervalCs });

/** Runs the machine until `until`, stepping to each deadline like the shell's timer does. */
function runTo(m: VrrpMachine, from: number, until: number): Array<[number, MachineAction[]]> {
  const log: Array<[number, MachineAction[]]> = [];
  let now = from;
  for (;;) {
    const d = m.nextDeadline();
    if (d === null || d > until) return log;
    now = Math.max(now, d);
    const a = m.tick(now);
    if (a.length) log.push([now, a]);
  }
}

describe('timers (spec 2.1 worked examples, integer µs)', () => {
  it('v2 interval 1 s, p100: skew 609375 µs, down 3.609375 s', () => {
    expect(skewUs(100, 100)).toBe(609_375);
    expect(masterDownUs(100, 100)).toBe(3_609_375);
  });
  it('v2 p150: down 3.414 s', () => expect(masterDownUs(150, 100)).toBe(3_414_062));
  it('v3 advert_int 0.05, p100: skew 30.47 ms, down 180.47 ms', () => {
    expect(advertIntervalCs(3, 0.05)).toBe(5);
    expect(skewUs(100, 5)).toBe(30_468);
    expect(masterDownUs(100, 5)).toBe(180_468);
  });
  it('v2 rounds a fractional advert_int to whole seconds (at least 1); v3 to centiseconds', () => {
    expect(advertIntervalCs(2, 0.05)).toBe(100);
    expect(advertIntervalCs(2, 2.4)).toBe(200);
    expect(advertIntervalCs(3, 40.96)).toBe(4095);
  });
  it('down_timer_adverts scales the interval part', () => expect(masterDownUs(100, 100, 5)).toBe(5 * S + 609_375));
});

describe('startup (vrrp_init_state)', () => {
  it('state BACKUP: Backup, VIPs removed, Master after the full Master_Down_Interval', () => {
    const m = mk();
    expect(types(m.start(0))).toEqual(['removeVips', 'INIT>BACKUP']);
    expect(m.nextDeadline()).toBe(3_609_375);
    expect(m.tick(3_609_374)).toEqual([]);
    expect(types(m.tick(3_609_375))).toEqual(['send100', 'addVips', 'garp5', 'BACKUP>MASTER']);
    expect(m.state).toBe('MASTER');
  });
  it('priority 255 with state MASTER: Master at once', () => {
    const m = mk({ priority: 255, initialState: 'MASTER' });
    expect(types(m.start(0))).toEqual(['send255', 'addVips', 'garp5', 'INIT>MASTER']);
  });
  it('state MASTER below 255: Backup, down timer one interval plus the minimum skew', () => {
    const m = mk({ initialState: 'MASTER' });
    m.start(0);
    expect(m.state).toBe('BACKUP');
    expect(m.nextDeadline()).toBe(S + skewUs(255, 100));
  });
  it('a fault at start: Fault, nothing scheduled', () => {
    const m = mk();
    m.setFault(0, 'if', true);
    expect(types(m.start(0))).toEqual(['INIT>FAULT']);
    expect(m.nextDeadline()).toBeNull();
  });
});

describe('Backup', () => {
  it('an equal or higher advert restarts the down timer', () => {
    const m = mk();
    m.start(0);
    expect(m.receive(2 * S, peer(100))).toEqual([]);
    expect(m.nextDeadline()).toBe(2 * S + 3_609_375);
    m.receive(4 * S, peer(200));
    expect(m.masterPriority).toBe(200);
    expect(m.nextDeadline()).toBe(4 * S + 3_609_375);
  });
  it('a lower advert is discarded and we preempt when our own down timer runs out', () => {
    const m = mk({ priority: 150 });
    m.start(0);
    const down = masterDownUs(150, 100);
    expect(types(m.receive(S, peer(100)))).toEqual(['log']);
    expect(m.nextDeadline()).toBe(down);
    expect(types(m.tick(down))).toContain('BACKUP>MASTER');
  });
  it('nopreempt: a lower master is accepted and kept', () => {
    const m = mk({ priority: 150, nopreempt: true });
    m.start(0);
    for (let t = S; t < 30 * S; t += S) {
      m.receive(t, peer(100));
      expect(runTo(m, t, t + S - 1)).toEqual([]);
    }
    expect(m.state).toBe('BACKUP');
  });
  it('preempt_delay: a lower master is accepted until the delay ends, then we preempt after our down timer', () => {
    const m = mk({ priority: 150, preemptDelayUs: 5 * S });
    m.start(0);
    let t = S;
    expect(types(m.receive(t, peer(100)))).toEqual(['log']); // delay starts
    let became = -1;
    for (; t < 20 * S && became < 0; t += S) {
      if (t > S) m.receive(t, peer(100));
      for (const [at, acts] of runTo(m, t, t + S - 1)) if (types(acts).includes('BACKUP>MASTER')) became = at;
    }
    // The delay runs while preempt_time > now (keepalived's timercmp), i.e. until 6 s exclusive:
    // adverts at 1..5 s are accepted, the one at 6 s is discarded, so the down timer last
    // restarted at 5 s fires at 5 s + Master_Down_Interval.
    expect(became).toBe(5 * S + masterDownUs(150, 100));
  });
  it('preempt_delay is cancelled by an equal or higher advert and ignored with state MASTER', () => {
    const m = mk({ priority: 150, preemptDelayUs: 5 * S });
    m.start(0);
    m.receive(S, peer(100));
    m.receive(2 * S, peer(200));
    m.receive(3 * S, peer(100)); // delay starts again from here
    expect(types(m.receive(3 * S, peer(100)))).toEqual([]);
    expect(mk({ initialState: 'MASTER', preemptDelayUs: 5 * S }).options.preemptDelayUs).toBe(0);
  });
  it('priority 0: the down timer becomes Skew_Time', () => {
    const m = mk();
    m.start(0);
    m.receive(S, peer(0));
    expect(m.nextDeadline()).toBe(S + 609_375);
    expect(types(m.tick(S + 609_375))).toContain('BACKUP>MASTER');
  });
  it('v3: adopts the master\'s interval for its down timer; back to its own on becoming master', () => {
    const m = mk({ version: 3, advertIntCs: 5 });
    m.start(0);
    m.receive(S, peer(200, '192.0.2.1', 100));
    expect(m.masterAdverIntCs).toBe(100);
    expect(m.nextDeadline()).toBe(S + masterDownUs(100, 100));
    m.tick(m.nextDeadline()!);
    expect(m.state).toBe('MASTER');
    expect(m.masterAdverIntCs).toBe(5);
  });
  it('v2 keeps its own interval whatever the advert says', () => {
    const m = mk();
    m.start(0);
    m.receive(S, peer(200, '192.0.2.1', 300));
    expect(m.masterAdverIntCs).toBe(100);
  });
});

function master(o: Partial<MachineOptions> = {}): VrrpMachine {
  const m = mk(o);
  m.start(0);
  m.tick(m.nextDeadline()!);
  expect(m.state).toBe('MASTER');
  return m;
}

describe('Master', () => {
  it('advertises every interval and sends the second GARP burst after garp_master_delay', () => {
    const m = master();
    const t0 = 3_609_375;
    const log = runTo(m, t0, t0 + 6 * S);
    const sends = log.filter(([, a]) => types(a).includes('send100')).map(([t]) => t - t0);
    expect(sends).toEqual([1, 2, 3, 4, 5, 6].map((k) => k * S));
    const garps = log.filter(([, a]) => types(a).includes('garp5')).map(([t]) => t - t0);
    expect(garps).toEqual([5 * S]);
  });
  it('garp_master_refresh sends refresh_repeat GARPs every period', () => {
    const m = master({ garpDelayUs: 0, garpRefreshUs: 2 * S, garpRefreshRepeat: 2 });
    const t0 = 3_609_375;
    const garps = runTo(m, t0, t0 + 6 * S).filter(([, a]) => types(a).includes('garp2')).map(([t]) => t - t0);
    expect(garps).toEqual([2 * S, 4 * S, 6 * S]);
  });
  it('a higher priority advert: Backup, VIPs removed, no priority-0 advert', () => {
    const m = master();
    expect(types(m.receive(5 * S, peer(200)))).toEqual(['removeVips', 'MASTER>BACKUP']);
    expect(m.nextDeadline()).toBe(5 * S + 3_609_375);
  });
  it('higher_prio_send_advert: one advert before yielding', () => {
    const m = master({ higherPrioSendAdvert: true });
    expect(types(m.receive(5 * S, peer(200)))).toEqual(['send100', 'removeVips', 'MASTER>BACKUP']);
  });
  it('equal priority: the higher address wins', () => {
    expect(types(master({ ownAddr: '192.0.2.2' }).receive(5 * S, peer(100, '192.0.2.3')))).toEqual(['removeVips', 'MASTER>BACKUP']);
    expect(types(master({ ownAddr: '192.0.2.2' }).receive(5 * S, peer(100, '192.0.2.1')))).toEqual(['send100']);
    expect(types(master({ ownAddr: '192.0.2.2' }).receive(5 * S, peer(100, '192.0.2.2')))).toEqual(['log']);
  });
  it('a lower advert: stay Master and force a new election with one advert (unless lower_prio_no_advert)', () => {
    expect(types(master().receive(5 * S, peer(50)))).toEqual(['send100']);
    expect(master({ lowerPrioNoAdvert: true }).receive(5 * S, peer(50))).toEqual([]);
  });
  it('priority 0 from another router: answer with an advert at once', () => {
    const m = master();
    expect(types(m.receive(5 * S, peer(0)))).toEqual(['send100']);
    expect(m.state).toBe('MASTER');
  });
  it('v3: yielding to a master adopts its interval', () => {
    const m = master({ version: 3, advertIntCs: 5 });
    m.receive(S * 10, peer(200, '192.0.2.1', 20));
    expect(m.masterAdverIntCs).toBe(20);
    expect(m.nextDeadline()).toBe(S * 10 + masterDownUs(100, 20));
  });
  it('a new effective priority goes into the next advert', () => {
    const m = master();
    m.setPriority(4 * S, 90);
    const [[, acts]] = runTo(m, 4 * S, 4_609_375);
    expect(types(acts)).toEqual(['send90']);
  });
});

describe('Fault and Stop', () => {
  it('Master to Fault: priority 0 advert, VIPs removed; back to Backup with a fresh down timer', () => {
    const m = master();
    expect(types(m.setFault(10 * S, 'if', true))).toEqual(['send0', 'removeVips', 'MASTER>FAULT']);
    expect(m.nextDeadline()).toBeNull();
    expect(m.receive(11 * S, peer(200))).toEqual([]);
    expect(m.setFault(11 * S, 'other', true)).toEqual([]);
    expect(m.setFault(12 * S, 'if', false)).toEqual([]); // still one cause
    expect(types(m.setFault(13 * S, 'other', false))).toEqual(['FAULT>BACKUP']);
    expect(m.nextDeadline()).toBe(13 * S + 3_609_375);
  });
  it('Backup to Fault sends nothing', () => {
    const m = mk();
    m.start(0);
    expect(types(m.setFault(S, 'script', true))).toEqual(['BACKUP>FAULT']);
  });
  it('an owner with state MASTER leaves Fault with one interval plus skew', () => {
    const m = mk({ priority: 255, initialState: 'MASTER' });
    m.start(0);
    m.setFault(S, 'if', true);
    m.setFault(2 * S, 'if', false);
    expect(m.nextDeadline()).toBe(2 * S + S + skewUs(255, 100));
  });
  it('stop from Master: priority 0 advert, VIPs removed, STOP reported with priority 0', () => {
    const m = master();
    const a = m.stop(9 * S);
    expect(types(a)).toEqual(['send0', 'removeVips', 'MASTER>STOP']);
    expect(a[2]).toMatchObject({ priority: 0 });
    expect(m.nextDeadline()).toBeNull();
    expect(m.stop(10 * S)).toEqual([]);
  });
  it('stop from Backup sends nothing', () => {
    const m = mk();
    m.start(0);
    expect(types(m.stop(S))).toEqual(['BACKUP>STOP']);
  });
});

describe('sync group hooks', () => {
  it('a closed gate restarts the down timer and keeps wantMaster', () => {
    const m = mk();
    let open = false;
    m.gate = () => open;
    m.start(0);
    expect(types(m.tick(3_609_375))).toEqual(['log']);
    expect(m.wantMaster).toBe(true);
    expect(m.nextDeadline()).toBe(2 * 3_609_375);
    open = true;
    expect(types(m.tick(2 * 3_609_375))).toContain('BACKUP>MASTER');
  });
  it('force MASTER / BACKUP follow the group; other states ignore it', () => {
    const m = mk();
    m.start(0);
    expect(types(m.force(S, 'MASTER'))).toContain('BACKUP>MASTER');
    expect(types(m.force(2 * S, 'BACKUP'))).toEqual(['removeVips', 'MASTER>BACKUP']);
    m.setFault(3 * S, 'x', true);
    expect(m.force(4 * S, 'MASTER')).toEqual([]);
  });
});

describe('effective priority (spec 2.3)', () => {
  it('adds positive weights while up, negative while down, clamps to 1..254', () => {
    expect(effectivePriority(100, [{ weight: 20, up: true }, { weight: -60, up: false }])).toEqual({ priority: 60, fault: false });
    expect(effectivePriority(100, [{ weight: 20, up: false }, { weight: -60, up: true }])).toEqual({ priority: 100, fault: false });
    expect(effectivePriority(250, [{ weight: 50, up: true }])).toEqual({ priority: 254, fault: false });
    expect(effectivePriority(10, [{ weight: -50, up: false }])).toEqual({ priority: 1, fault: false });
  });
  it('reverse flips the sign of what counts (keepalived weight_multiplier -1); 255 is never adjusted; weight 0 down is a fault', () => {
    // The man page's table: +ve reverse lowers while up, -ve reverse raises while down.
    expect(effectivePriority(100, [{ weight: 20, reverse: true, up: true }]).priority).toBe(80);
    expect(effectivePriority(100, [{ weight: 20, reverse: true, up: false }]).priority).toBe(100);
    expect(effectivePriority(100, [{ weight: -20, reverse: true, up: false }]).priority).toBe(120);
    expect(effectivePriority(100, [{ weight: -20, reverse: true, up: true }]).priority).toBe(100);
    expect(effectivePriority(100, [{ weight: 0, reverse: true, up: true }])).toEqual({ priority: 100, fault: true });
    expect(effectivePriority(100, [{ weight: 0, reverse: true, up: false }])).toEqual({ priority: 100, fault: false });
    expect(effectivePriority(255, [{ weight: -60, up: false }]).priority).toBe(255);
    expect(effectivePriority(100, [{ weight: 0, up: false }])).toEqual({ priority: 100, fault: true });
  });
  it('track_file multiplies the weight by the file value', () => {
    expect(effectivePriority(100, [{ weight: 5, up: true, multiplier: 3 }]).priority).toBe(115);
  });
});
