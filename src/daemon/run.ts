// The daemon's process shell: logging, pid file, signals, systemd notifications. lvsd never
// forks (-n is accepted for keepalived compatibility); run it under systemd or a supervisor.

import { rmSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import type { Logger } from 'pino';
import pretty from 'pino-pretty';
import { ConfigError, fileLineReader, formatDiagnostic, summary } from '../config/index.js';
import { Daemon } from './daemon.js';
import { SystemdNotifier } from './sd-notify.js';

export interface RunOptions {
  useFile: string;
  configId: string;
  logConsole?: boolean;
  logDetail?: boolean;
  logLevel?: string;
  pidFile?: string;
  controlSocket?: string;
  workers?: number;
}

export function createLogger(o: Pick<RunOptions, 'logConsole' | 'logDetail' | 'logLevel'>): Logger {
  const level = o.logDetail ? 'debug' : (o.logLevel ?? 'info');
  const base = { name: 'lvsd' };
  // One JSON event per line on stdout (journald-friendly); -l for humans.
  return o.logConsole ? pino({ level, base }, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' })) : pino({ level, base }, pino.destination({ sync: false }));
}

export async function runDaemon(o: RunOptions): Promise<number | undefined> {
  const log = createLogger(o);
  const notifier = new SystemdNotifier(log);
  const daemon = new Daemon({ file: o.useFile, configId: o.configId, logger: log, notifier, controlSocket: o.controlSocket, workers: o.workers });
  try {
    await daemon.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      const readLine = fileLineReader();
      for (const d of err.diagnostics) process.stderr.write(formatDiagnostic(d, readLine) + '\n');
      const errors = err.diagnostics.filter((d) => d.severity === 'error').length;
      process.stderr.write(`${o.useFile}: ${summary(errors, err.diagnostics.length - errors)}; not starting\n`);
      return 1;
    }
    log.fatal({ err: String((err as Error).stack ?? err) }, 'could not start');
    await daemon.stop().catch(() => undefined);
    return 1;
  }
  if (o.pidFile) writeFileSync(o.pidFile, `${process.pid}\n`);
  await notifier.ready(daemon.statusText());
  notifier.startWatchdog();

  // Signals are serialised: a reload never overlaps another reload or the stop.
  let busy: Promise<unknown> = Promise.resolve();
  const serial = (fn: () => Promise<unknown>) => {
    busy = busy.then(fn, fn).catch((err) => log.error({ err: String(err) }, 'signal handler failed'));
  };
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      serial(async () => {
        notifier.stopWatchdog();
        await daemon.stop();
        await notifier.flush();
        if (o.pidFile) rmSync(o.pidFile, { force: true });
        resolve(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => serial(() => daemon.reload()));
    process.on('SIGUSR1', () => serial(async () => log.info({ file: daemon.dumpState() }, 'state written')));
    process.on('SIGUSR2', () => serial(async () => log.info({ file: daemon.dumpStats() }, 'stats written')));
  });
}
