// Email alerts: what an event costs the daemon's event path (10,000 real servers going down at
// once), and how fast a burst of mails drains to an SMTP server on loopback (smtp-server, two
// connections at a time as the daemon runs it). smtp-server holds its 220 greeting back for
// ~100-200 ms (it watches for clients that talk first), so the burst figure is mostly that wait.
import { Alerter, EMPTY_POLICY, type AlertPolicy, type RsPolicy } from '../src/alert/index.js';
import { MailSink, MemoryLog } from '../test/alert/mail-sink.js';

const RS = 10_000;

function policy(port: number, mail: boolean): AlertPolicy {
  const rs = new Map<string, RsPolicy>();
  for (let i = 0; i < RS; i++) rs.set(`10.${i >> 8}.${i & 255}.1:80`, { display: `[10.${i >> 8}.${i & 255}.1]:tcp:80`, alert: true });
  return {
    ...EMPTY_POLICY,
    mail: mail ? { host: '127.0.0.1', port, helo: 'bench', from: 'lvsd@bench', to: ['ops@example.com'], timeoutMs: 5000, routerId: 'bench' } : null,
    vrrpInstances: new Map([['VI_1', true]]),
    virtualServers: new Map([['TCP 192.0.2.1:80', { display: '[192.0.2.1]:tcp:80', alert: false, quorum: 1, hysteresis: 0, omega: false, rs }]]),
  };
}

type Ev = Parameters<Alerter['checkEvent']>[0];

function eventsOf(up: boolean, checker: string): Ev[] {
  const out: Ev[] = [];
  for (let i = 0; i < RS; i++) out.push({ kind: 'rs', vs: 'TCP 192.0.2.1:80', rs: `10.${i >> 8}.${i & 255}.1:80`, up, weight: up ? 1 : 0, checker, reason: 'x' });
  return out;
}

/** Feeds the events; returns the ms they took (the events are built beforehand). */
function feed(a: Alerter, evs: Ev[]): number {
  const t0 = performance.now();
  for (const e of evs) a.checkEvent(e);
  return performance.now() - t0;
}

export default async function bench(): Promise<void> {
  // 1. The event path: no mail configured, then mail configured with a full queue (drops).
  const sink = await new MailSink().start();
  try {
    for (const mail of [false, true]) {
      const ups = eventsOf(true, '');
      const downs = eventsOf(false, 'TCP#0');
      // One untimed round first, so the figure is not the compiler warming up.
      const warm = new Alerter({ logger: new MemoryLog(), maxQueue: 0 });
      warm.setPolicy(policy(sink.port, mail));
      feed(warm, ups);
      feed(warm, downs);
      const a = new Alerter({ logger: new MemoryLog(), maxQueue: 0 });
      a.setPolicy(policy(sink.port, mail));
      feed(a, ups);
      const ms = feed(a, downs);
      console.log(`checker events, ${RS} real servers down at once, ${mail ? 'mail on (queue full: each one dropped)' : 'no mail configured'}: ${((ms * 1000) / RS).toFixed(2)} us/event`);
    }

    // 2. A burst of mails to a local SMTP server.
    for (const n of [100, 400]) {
      const a = new Alerter({ logger: new MemoryLog(), maxQueue: n });
      a.setPolicy(policy(sink.port, true));
      const before = sink.mails.length;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) a.enqueue({ kind: 'vrrp-instance', name: `VI_${i}`, state: 'MASTER' });
      await a.idle();
      const ms = performance.now() - t0;
      const got = sink.mails.length - before;
      const perMail = (ms * 2) / Math.max(got, 1);
      console.log(`burst of ${n} mails to smtp-server on loopback (2 connections): ${got} received in ${ms.toFixed(0)} ms, ${((got / ms) * 1000).toFixed(0)} mails/s (${perMail.toFixed(0)} ms per mail per connection), failed ${a.counters.failed}`);
    }
  } finally {
    await sink.close();
  }
}
