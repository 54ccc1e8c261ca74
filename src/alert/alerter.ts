// The daemon's handle on email alerts: events in, mails out through a bounded queue, a few
// connections at a time, so a slow or dead SMTP server never holds up VRRP or the checkers and a
// burst of alerts waits its turn instead of opening hundreds of connections. Failures are logged
// and counted; nothing here throws at the caller.

import { hostname, userInfo } from 'node:os';
import { alertBody, alertSubject, type Alert } from './alert.js';
import { SmtpError } from './errors.js';
import { composeMessage, rfc5322Date } from './message.js';
import type { AlertPolicy, HostIdentity, MailSettings } from './policy.js';
import { sendMail, type SmtpOutcome, type SmtpRequest } from './smtp-client.js';
import { AlertTracker, type CheckChange } from './tracker.js';

/** The part of a pino logger we use. */
export interface AlertLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AlerterOptions {
  logger: AlertLogger;
  /** Wall clock, epoch ms (the Date header). */
  now?: () => number;
  /** Minutes east of UTC at that instant (the Date header's zone; default the host's). */
  utcOffsetMinutes?: (epochMs: number) => number;
  /** Sends one mail (default: SMTP over TCP). */
  send?: (r: SmtpRequest) => Promise<SmtpOutcome>;
  /** Mails waiting to be sent at most; more are dropped and counted (default 256). */
  maxQueue?: number;
  /** SMTP connections at once (default 2). */
  concurrency?: number;
}

export interface AlertCounters {
  /** Mails accepted into the queue. */
  queued: number;
  sent: number;
  failed: number;
  /** Mails dropped because the queue was full. */
  dropped: number;
}

interface Job {
  settings: MailSettings;
  alert: Alert;
  subject: string;
  data: string;
}

export class Alerter {
  readonly counters: AlertCounters = { queued: 0, sent: 0, failed: 0, dropped: 0 };
  private readonly tracker = new AlertTracker();
  private readonly queue: Job[] = [];
  private active = 0;
  private droppedInStreak = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly now: () => number;
  private readonly offset: (ms: number) => number;
  private readonly send: (r: SmtpRequest) => Promise<SmtpOutcome>;

  constructor(private readonly o: AlerterOptions) {
    this.now = o.now ?? Date.now;
    this.offset = o.utcOffsetMinutes ?? ((ms) => -new Date(ms).getTimezoneOffset());
    this.send = o.send ?? sendMail;
  }

  /** A loaded configuration (start, reload); live real servers it no longer has are mailed. */
  setPolicy(p: AlertPolicy): void {
    for (const a of this.tracker.setPolicy(p)) this.enqueue(a);
  }

  /** The daemon is stopping (before the checkers stop): omega virtual servers' last mails. */
  shutdown(): void {
    for (const a of this.tracker.shutdown()) this.enqueue(a);
  }

  /** A VRRP instance's new state (the runtime's state-change event). */
  vrrpState(name: string, to: 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP'): void {
    for (const a of this.tracker.vrrpState(name, to)) this.enqueue(a);
  }

  /** A check runner event. */
  checkEvent(e: CheckChange): void {
    const a = this.tracker.checkEvent(e);
    if (a) this.enqueue(a);
  }

  /** Queues one alert's mail; false when it was not (no mail configured, or the queue is full). */
  enqueue(alert: Alert): boolean {
    const settings = this.tracker.current.mail;
    if (!settings) return false;
    const subject = alertSubject(alert, settings.routerId);
    if (this.queue.length >= (this.o.maxQueue ?? 256)) {
      this.counters.dropped++;
      if (this.droppedInStreak++ === 0) this.o.logger.warn({ subject, queued: this.queue.length }, 'smtp alert queue full: dropping alerts');
      return false;
    }
    if (this.droppedInStreak > 0) {
      this.o.logger.warn({ dropped: this.droppedInStreak }, 'smtp alert queue has room again');
      this.droppedInStreak = 0;
    }
    const t = this.now();
    const data = composeMessage({ date: rfc5322Date(t, this.offset(t)), from: settings.from, to: settings.to, subject, body: alertBody(alert) });
    this.queue.push({ settings, alert, subject, data });
    this.counters.queued++;
    this.pump();
    return true;
  }

  /** Resolves when nothing is queued or being sent, or after `timeoutMs` (stop: last mails). */
  async idle(timeoutMs = Infinity): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => {
      const t = Number.isFinite(timeoutMs) ? setTimeout(resolve, timeoutMs) : undefined;
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private pump(): void {
    while (this.active < (this.o.concurrency ?? 2) && this.queue.length) {
      const job = this.queue.shift()!;
      this.active++;
      void this.deliver(job).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) for (const w of this.waiters.splice(0)) w();
      });
    }
  }

  private async deliver(job: Job): Promise<void> {
    const s = job.settings;
    let out: SmtpOutcome;
    try {
      out = await this.send({ host: s.host, port: s.port, helo: s.helo, from: s.from, to: s.to, data: job.data, timeoutMs: s.timeoutMs });
    } catch (e) {
      // A custom sender that throws: still only a failed mail.
      out = { ok: false, error: e instanceof SmtpError ? e : new SmtpError('ESMTP_PROTOCOL', String(e), 'send') };
    }
    const server = `${s.host}:${s.port}`;
    if (out.ok) {
      this.counters.sent++;
      this.o.logger.info({ server, subject: job.subject }, 'smtp alert sent');
    } else {
      this.counters.failed++;
      const err = out.error;
      this.o.logger.warn({ server, subject: job.subject, code: err?.code, step: err?.step, status: err?.status, error: err?.message }, 'smtp alert not sent');
    }
  }
}

/** This host's name and the user lvsd runs as (for the default HELO and sender). */
export function localIdentity(): HostIdentity {
  let user = process.env.USER ?? 'root';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid: keep $USER
  }
  return { hostname: hostname(), user };
}
