// Which events mail: VRRP states once each (last_email_state), no_email_faults, sync groups when
// all members agree, real servers on a checker's up/down (not at start, not on reloads), quorum.
import { describe, expect, it } from '@jest/globals';
import { AlertTracker, alertSubject, type AlertPolicy, type CheckChange, type VsPolicy } from '../../src/alert/index.js';

function policyWith(over: Partial<AlertPolicy> = {}): AlertPolicy {
  const vs: VsPolicy = {
    display: '[192.0.2.10]:tcp:80',
    alert: true,
    quorum: 2,
    hysteresis: 1,
    omega: false,
    rs: new Map([
      ['198.51.100.1:8080', { display: '[198.51.100.1]:tcp:8080', alert: true }],
      ['198.51.100.2:8080', { display: '[198.51.100.2]:tcp:8080', alert: false }],
    ]),
  };
  return {
    mail: null,
    noEmailFaults: false,
    vrrpInstances: new Map([['VI_1', true], ['VI_2', true], ['VI_3', false]]),
    vrrpGroups: new Map([['G1', { alert: true, members: ['VI_1', 'VI_2'] }]]),
    virtualServers: new Map([['TCP 192.0.2.10:80', vs]]),
    ...over,
  };
}

const rs = (rsEp: string, up: boolean, checker: string, reason = 'ok'): CheckChange => ({ kind: 'rs', vs: 'TCP 192.0.2.10:80', rs: rsEp, up, weight: up ? 1 : 0, checker, reason });

describe('AlertTracker: VRRP', () => {
  it('mails each instance state once, never INIT, and not for an instance with smtp_alert off', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith({ vrrpGroups: new Map() }));
    expect(t.vrrpState('VI_1', 'INIT')).toEqual([]);
    expect(t.vrrpState('VI_1', 'BACKUP')).toEqual([{ kind: 'vrrp-instance', name: 'VI_1', state: 'BACKUP' }]);
    expect(t.vrrpState('VI_1', 'BACKUP')).toEqual([]);
    expect(t.vrrpState('VI_1', 'MASTER')).toEqual([{ kind: 'vrrp-instance', name: 'VI_1', state: 'MASTER' }]);
    expect(t.vrrpState('VI_1', 'FAULT')).toEqual([{ kind: 'vrrp-instance', name: 'VI_1', state: 'FAULT' }]);
    expect(t.vrrpState('VI_1', 'STOP')).toEqual([{ kind: 'vrrp-instance', name: 'VI_1', state: 'STOP' }]);
    expect(t.vrrpState('VI_3', 'MASTER')).toEqual([]);
  });

  it('no_email_faults: FAULT sends nothing, and the next BACKUP still does not repeat the last mail', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith({ noEmailFaults: true, vrrpGroups: new Map() }));
    expect(t.vrrpState('VI_1', 'BACKUP')).toHaveLength(1);
    expect(t.vrrpState('VI_1', 'FAULT')).toEqual([]);
    // keepalived's last_email_state is still BACKUP: back to BACKUP is not news.
    expect(t.vrrpState('VI_1', 'BACKUP')).toEqual([]);
    expect(t.vrrpState('VI_1', 'MASTER')).toHaveLength(1);
  });

  it('a sync group mails when all its members reach the same state', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith());
    expect(t.vrrpState('VI_1', 'BACKUP')).toEqual([{ kind: 'vrrp-instance', name: 'VI_1', state: 'BACKUP' }]);
    expect(t.vrrpState('VI_2', 'BACKUP')).toEqual([
      { kind: 'vrrp-instance', name: 'VI_2', state: 'BACKUP' },
      { kind: 'vrrp-group', name: 'G1', state: 'BACKUP' },
    ]);
    expect(t.vrrpState('VI_2', 'MASTER').map((a) => a.kind)).toEqual(['vrrp-instance']);
    expect(t.vrrpState('VI_1', 'MASTER').map((a) => a.kind)).toEqual(['vrrp-instance', 'vrrp-group']);
  });

  it('an instance a reload removes: "Entering FAULT state", or "Deleted" with notify_deleted; its STOP then sends nothing', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith({ vrrpGroups: new Map(), vrrpNotifyDeleted: new Set(['VI_2']) }));
    t.vrrpState('VI_1', 'MASTER');
    t.vrrpState('VI_2', 'BACKUP');
    expect(t.setPolicy(policyWith({ vrrpGroups: new Map(), vrrpInstances: new Map() }))).toEqual([
      { kind: 'vrrp-instance', name: 'VI_1', state: 'FAULT' },
      { kind: 'vrrp-instance', name: 'VI_2', state: 'DELETED' },
    ]);
    expect(t.vrrpState('VI_1', 'STOP')).toEqual([]);
    expect(alertSubject({ kind: 'vrrp-instance', name: 'VI_2', state: 'DELETED' }, 'lb1')).toBe('[lb1] VRRP Instance VI_2 - Deleted');
  });

  it('subjects as keepalived writes them', () => {
    expect(alertSubject({ kind: 'vrrp-instance', name: 'VI_1', state: 'MASTER' }, 'lb1')).toBe('[lb1] VRRP Instance VI_1 - Entering MASTER state');
    expect(alertSubject({ kind: 'vrrp-group', name: 'G1', state: 'STOP' }, 'lb1')).toBe('[lb1] VRRP Group G1 - Stopping');
  });
});

describe('AlertTracker: checkers', () => {
  it('the start state sends nothing; a checker taking the server down then up sends one mail each', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith());
    expect(t.checkEvent(rs('198.51.100.1:8080', true, '', 'init'))).toBeNull();
    const down = t.checkEvent(rs('198.51.100.1:8080', false, 'TCP#0', 'ECONNREFUSED'));
    expect(down).toEqual({ kind: 'realserver', vs: '[192.0.2.10]:tcp:80', rs: '[198.51.100.1]:tcp:8080', up: false, body: '=> TCP CHECK failed on service <=' });
    expect(alertSubject(down!, 'lb1')).toBe('[lb1] Realserver [198.51.100.1]:tcp:8080 of virtual server [192.0.2.10]:tcp:80 - DOWN');
    // a weight change while down is not an up/down change
    expect(t.checkEvent(rs('198.51.100.1:8080', false, 'TCP#0'))).toBeNull();
    expect(t.checkEvent(rs('198.51.100.1:8080', true, 'HTTP#1'))).toMatchObject({ up: true, body: '=> CHECK succeed on service <=' });
  });

  it('no mail for a real server with smtp_alert off, for a reload (no checker), or for FILE_CHECK', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith());
    t.checkEvent(rs('198.51.100.2:8080', true, '', 'init'));
    expect(t.checkEvent(rs('198.51.100.2:8080', false, 'TCP#0'))).toBeNull();
    t.checkEvent(rs('198.51.100.1:8080', true, '', 'init'));
    expect(t.checkEvent(rs('198.51.100.1:8080', false, '', 'reload'))).toBeNull();
    expect(t.checkEvent(rs('198.51.100.1:8080', true, 'FILE#0'))).toBeNull();
  });

  it("the checker's words per type (keepalived check_*.c)", () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith());
    t.checkEvent(rs('198.51.100.1:8080', true, '', 'init'));
    const bodies: string[] = [];
    for (const [type, reason] of [['MISC', 'timed out'], ['MISC', 'exit 1'], ['PING', 'timeout'], ['DNS', 'x'], ['UDP', 'x'], ['SMTP', 'connection refused'], ['SSL', 'x']]) {
      bodies.push((t.checkEvent(rs('198.51.100.1:8080', false, `${type}#0`, reason)) as { body: string }).body);
      t.checkEvent(rs('198.51.100.1:8080', true, '', 'reload'));
    }
    expect(bodies).toEqual([
      '=> MISC CHECK timed out on service <=',
      '=> MISC CHECK failed on service <=',
      '=> ICMP CHECK failed on service <=',
      '=> DNS_CHECK: failed on service <=',
      '=> UDP CHECK failed on service <=',
      '=> CHECK failed on service : connection refused <=',
      '=> CHECK failed on service : HTTP/SSL request failed <=',
    ]);
  });

  it('quorum changes mail the virtual server with its threshold and live weight', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith());
    const q = (up: boolean, weight: number, reason: string): CheckChange => ({ kind: 'quorum', vs: 'TCP 192.0.2.10:80', rs: '', up, weight, checker: '', reason });
    const lost = t.checkEvent(q(false, 0, 'lost quorum (sum 0, threshold 1)'))!;
    expect(lost).toEqual({ kind: 'virtualserver', vs: '[192.0.2.10]:tcp:80', up: false, body: '=> Lost quorum 2+1=1 <= 0 <=' });
    expect(alertSubject(lost, 'lb1')).toBe('[lb1] Virtualserver [192.0.2.10]:tcp:80 - DOWN');
    expect(t.checkEvent(q(true, 3, 'gained quorum (sum 3, threshold 3)'))).toMatchObject({ up: true, body: '=> Gained quorum 2+1=3 <= 3 <=' });
    expect(t.checkEvent(q(false, 0, 'starting with quorum down (sum 0, threshold 3)'))).toMatchObject({ body: '=> Starting with quorum down 2+1=3 <= 0 <=' });
  });

  it('a live real server gone from a new configuration: "=> Removing <=" (not when it was down or had no alerts)', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith());
    t.checkEvent(rs('198.51.100.1:8080', true, '', 'init'));
    t.checkEvent(rs('198.51.100.2:8080', true, '', 'init'));
    const vs = policyWith().virtualServers.get('TCP 192.0.2.10:80')!;
    expect(t.setPolicy(policyWith({ virtualServers: new Map([['TCP 192.0.2.10:80', { ...vs, rs: new Map() }]]) }))).toEqual([
      { kind: 'realserver', vs: '[192.0.2.10]:tcp:80', rs: '[198.51.100.1]:tcp:8080', up: false, body: '=> Removing <=' },
    ]);
    // A real server that was down when removed is not news.
    t.setPolicy(policyWith());
    t.checkEvent(rs('198.51.100.1:8080', true, '', 'init'));
    t.checkEvent(rs('198.51.100.1:8080', false, 'TCP#0'));
    expect(t.setPolicy(policyWith({ virtualServers: new Map() }))).toEqual([]);
  });

  it('stopping: live real servers of omega virtual servers only, "=> Shutting down <="', () => {
    const t = new AlertTracker();
    const vs = policyWith().virtualServers.get('TCP 192.0.2.10:80')!;
    t.setPolicy(policyWith());
    t.checkEvent(rs('198.51.100.1:8080', true, '', 'init'));
    expect(t.shutdown()).toEqual([]);
    t.setPolicy(policyWith({ virtualServers: new Map([['TCP 192.0.2.10:80', { ...vs, omega: true }]]) }));
    expect(t.shutdown()).toEqual([{ kind: 'realserver', vs: '[192.0.2.10]:tcp:80', rs: '[198.51.100.1]:tcp:8080', up: false, body: '=> Shutting down <=' }]);
    expect(t.shutdown()).toEqual([]);
  });

  it('a new configuration forgets what went away', () => {
    const t = new AlertTracker();
    t.setPolicy(policyWith());
    t.checkEvent(rs('198.51.100.1:8080', true, '', 'init'));
    t.setPolicy(policyWith({ virtualServers: new Map() }));
    t.setPolicy(policyWith());
    // Seen again from scratch: the first event is a start state again.
    expect(t.checkEvent(rs('198.51.100.1:8080', false, 'TCP#0'))).toBeNull();
  });
});
