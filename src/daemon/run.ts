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

  // Signals are serialised: a reload never overlaps the start, another reload or the stop. The
  // handlers go in before anything starts: systemd may send SIGHUP as soon as READY=1 arrives,
  // and Node's default action for SIGHUP/SIGUSR1/SIGUSR2 would end (or debug) the process.
  let running = false;
  let busy: Promise<unknown> = Promise.resolve();
  const serial = (fn: () => Promise<unknown>) => {
    busy = busy.then(fn, fn).catch((err) => log.error({ err: String(err) }, 'signal handler failed'));
  };
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    serial(async () => {
      if (!running) return; // start failed or never finished: nothing to drain
      notifier.stopWatchdog();
      await daemon.stop();
      await notifier.flush();
      if (o.pidFile) rmSync(o.pidFile, { force: true });
      resolveExit(0);
    });
  };
  const whenRunning = (fn: () => Promise<unknown>) => () => serial(async () => (running && !stopping ? fn() : undefined));
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGTERM', () => stop('SIGTERM')],
    ['SIGINT', () => stop('SIGINT')],
    ['SIGHUP', whenRunning(() => daemon.reload())],
    ['SIGUSR1', whenRunning(async () => log.info({ file: daemon.dumpState() }, 'state written'))],
    ['SIGUSR2', whenRunning(async () => log.info({ file: daemon.dumpStats() }, 'stats written'))],
  ];
  for (const [sig, h] of handlers) process.on(sig, h);
  const removeHandlers = () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };

  const startResult = await startDaemon(daemon, o, log);
  if (startResult !== 0) {
    removeHandlers();
    return startResult;
  }
  running = true;
  if (o.pidFile) writeFileSync(o.pidFile, `${process.pid}\n`);
  await notifier.ready(daemon.statusText());
  notifier.startWatchdog();
  if (stopping) {
    // A SIGTERM during start: its stop ran before we were running; stop now.
    stopping = false;
    stop('SIGTERM');
  }
  const code = await exited;
  removeHandlers();
  return code;
}

async function startDaemon(daemon: Daemon, o: RunOptions, log: Logger): Promise<number> {
  try {
    await daemon.start();
    return 0;
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
}
