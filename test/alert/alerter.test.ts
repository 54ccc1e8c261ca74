// The alerter end to end against a real SMTP server on loopback: a VRRP transition and a real
// server going down and up arrive as keepalived writes them; a refusing, silent or absent server
// is logged and counted and never throws; a burst beyond the queue is dropped, counted, logged.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Alerter, EMPTY_POLICY, type AlertPolicy } from '../../src/alert/index.js';
import { closedPort, MailSink, MemoryLog, ScriptedServer } from './mail-sink.js';

const T = Date.UTC(2026, 10, 29, 18, 0, 5); // Sun 29 Nov 2026 18:00:05 UTC

function policy(port: number, timeoutMs = 2000): AlertPolicy {
  return {
    ...EMPTY_POLICY,
    mail: { host: '127.0.0.1', port, helo: 'lb1.example.com', from: 'lvsd@lb1.example.com', to: ['ops@example.com'], timeoutMs, routerId: 'lb1' },
    vrrpInstances: new Map([['VI_1', true]]),
    virtualServers: new Map([
      ['TCP 192.0.2.10:80', { display: '[192.0.2.10]:tcp:80', alert: false, quorum: 1, hysteresis: 0, omega: false, rs: new Map([['198.51.100.1:8080', { display: '[198.51.100.1]:tcp:8080', alert: true }]]) }],
    ]),
  };
}

const rsEvent = (up: boolean, checker: string) => ({ kind: 'rs' as const, vs: 'TCP 192.0.2.10:80', rs: '198.51.100.1:8080', up, weight: up ? 1 : 0, checker, reason: up ? 'ok' : 'ECONNREFUSED' });

describe('Alerter', () => {
  let sink: MailSink;
  beforeAll(async () => {
    sink = await new MailSink().start();
  });
  afterAll(() => sink.close());

  it('mails a VRRP transition and a real server going down then up, exactly', async () => {
    const log = new MemoryLog();
    const a = new Alerter({ logger: log, now: () => T, utcOffsetMinutes: () => 60 });
    a.setPolicy(policy(sink.port));
    const before = sink.mails.length;
    a.vrrpState('VI_1', 'MASTER');
    a.checkEvent(rsEvent(true, ''));
    a.checkEvent(rsEvent(false, 'TCP#0'));
    a.checkEvent(rsEvent(true, 'TCP#0'));
    await a.idle();
    const mails = (await sink.received(before + 3)).slice(before);
    const head = (subject: string) => `Date: Sun, 29 Nov 2026 19:00:05 +0100\r\nFrom: lvsd@lb1.example.com\r\nSubject: ${subject}\r\nX-Mailer: lvsd\r\nTo: ops@example.com\r\n\r\n`;
    // Sent two at a time: compare as a set.
    expect(mails.map((m) => m.data).sort()).toEqual(
      [
        head('[lb1] VRRP Instance VI_1 - Entering MASTER state') + '=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n',
        head('[lb1] Realserver [198.51.100.1]:tcp:8080 of virtual server [192.0.2.10]:tcp:80 - DOWN') + '=> TCP CHECK failed on service <=\r\n\r\n',
        head('[lb1] Realserver [198.51.100.1]:tcp:8080 of virtual server [192.0.2.10]:tcp:80 - UP') + '=> TCP CHECK succeed on service <=\r\n\r\n',
      ].sort(),
    );
    for (const m of mails) expect(m).toMatchObject({ helo: 'lb1.example.com', from: 'lvsd@lb1.example.com', to: ['ops@example.com'] });
    expect(a.counters).toEqual({ queued: 3, sent: 3, failed: 0, dropped: 0 });
    expect(log.lines.filter((l) => l.msg === 'smtp alert sent')).toHaveLength(3);
  });

  it('a refusing server, a silent one and a closed port: logged as not sent, counted, nothing thrown', async () => {
    const refuse = await new ScriptedServer('220 hi\r\n', ['550 no relay\r\n']).start();
    const mute = await new ScriptedServer(null, []).start();
    try {
      for (const [port, code] of [[refuse.port, 'ESMTP_REPLY'], [mute.port, 'ESMTP_TIMEOUT'], [await closedPort(), 'ESMTP_CONNECT']] as const) {
        const log = new MemoryLog();
        const a = new Alerter({ logger: log });
        a.setPolicy(policy(port, 200));
        a.vrrpState('VI_1', 'BACKUP');
        await a.idle();
        expect(a.counters).toEqual({ queued: 1, sent: 0, failed: 1, dropped: 0 });
        const l = log.lines.find((x) => x.msg === 'smtp alert not sent')!;
        expect(l.level).toBe('warn');
        expect(l.obj).toMatchObject({ server: `127.0.0.1:${port}`, subject: '[lb1] VRRP Instance VI_1 - Entering BACKUP state', code });
      }
    } finally {
      await refuse.close();
      await mute.close();
    }
  });

  it('a burst beyond the queue: the rest dropped, counted, logged once; the queued ones still go', async () => {
    const mute = await new ScriptedServer(null, []).start();
    try {
      const log = new MemoryLog();
      const a = new Alerter({ logger: log, maxQueue: 2, concurrency: 1 });
      a.setPolicy(policy(mute.port, 150));
      const accepted: boolean[] = [];
      for (let i = 0; i < 6; i++) accepted.push(a.enqueue({ kind: 'vrrp-instance', name: `VI_${i}`, state: 'MASTER' }));
      // One being sent, two waiting, three dropped.
      expect(accepted).toEqual([true, true, true, false, false, false]);
      expect(log.lines.filter((l) => l.msg === 'smtp alert queue full: dropping alerts')).toHaveLength(1);
      await a.idle();
      expect(a.counters).toEqual({ queued: 3, sent: 0, failed: 3, dropped: 3 });
      expect(a.enqueue({ kind: 'vrrp-instance', name: 'VI_9', state: 'MASTER' })).toBe(true);
      expect(log.lines.find((l) => l.msg === 'smtp alert queue has room again')?.obj).toEqual({ dropped: 3 });
      await a.idle();
    } finally {
      await mute.close();
    }
  });

  it('without notification_email or smtp_server nothing is queued', () => {
    const a = new Alerter({ logger: new MemoryLog() });
    a.setPolicy({ ...policy(25), mail: null });
    a.vrrpState('VI_1', 'MASTER');
    expect(a.counters.queued).toBe(0);
  });

  it('idle(timeout) does not wait on a slow server for longer than asked', async () => {
    const mute = await new ScriptedServer(null, []).start();
    try {
      const a = new Alerter({ logger: new MemoryLog() });
      a.setPolicy(policy(mute.port, 5000));
      a.vrrpState('VI_1', 'STOP');
      const t0 = Date.now();
      await a.idle(100);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(a.counters.failed).toBe(0); // still in flight
    } finally {
      await mute.close();
    }
  });
});
