// systemd notifications (Type=notify). READY=1 and STATUS= go through the systemd-notify package;
// it can express only --ready/--status/--pid, so RELOADING=1, STOPPING=1 and WATCHDOG=1 run the
// same `systemd-notify` binary (systemd 252 takes VARIABLE=VALUE arguments) the same way.
// Both routes send from a child process, so the unit needs NotifyAccess=all (see
// systemd/lvsd.service). Messages go out one at a time, in order; failures are logged, never thrown.

import { execFile } from 'node:child_process';
import notify from 'systemd-notify';

export interface NotifyLogger {
  warn(obj: object, msg: string): void;
}

export class SystemdNotifier {
  readonly enabled: boolean;
  private chain: Promise<void> = Promise.resolve();
  private watchdogTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: NotifyLogger,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.enabled = !!env.NOTIFY_SOCKET;
  }

  ready(status: string): Promise<void> {
    return this.enqueue('READY=1', () => notify({ ready: true, status, pid: process.pid }));
  }

  status(status: string): Promise<void> {
    return this.enqueue('STATUS', () => notify({ status, pid: process.pid }));
  }

  reloading(): Promise<void> {
    return this.raw('RELOADING=1');
  }

  stopping(): Promise<void> {
    return this.raw('STOPPING=1');
  }

  /** Starts WATCHDOG=1 pings at half of WatchdogSec when systemd asks for them. */
  startWatchdog(): void {
    const usec = Number(this.env.WATCHDOG_USEC);
    const pid = this.env.WATCHDOG_PID ? Number(this.env.WATCHDOG_PID) : process.pid;
    if (!this.enabled || !usec || pid !== process.pid) return;
    this.watchdogTimer = setInterval(() => void this.raw('WATCHDOG=1'), Math.max(1, Math.floor(usec / 2000)));
    this.watchdogTimer.unref();
  }

  stopWatchdog(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.watchdogTimer = null;
  }

  /** Resolves when every queued message has been handed to systemd (or failed). */
  flush(): Promise<void> {
    return this.chain;
  }

  private raw(assignment: string): Promise<void> {
    return this.enqueue(assignment, () => new Promise<void>((resolve, reject) => {
      execFile('systemd-notify', [`--pid=${process.pid}`, assignment], { env: this.env, timeout: 5000 }, (err) => (err ? reject(err) : resolve()));
    }));
  }

  private enqueue(what: string, send: () => Promise<unknown>): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.chain = this.chain.then(
      () => send().then(() => undefined),
    ).catch((err: unknown) => {
      this.logger.warn({ err: String(err), message: what }, 'systemd notification failed');
    });
    return this.chain;
  }
}
