// notify_master/backup/fault/stop, then `notify` with INSTANCE|GROUP, name, state, priority, and
// the notify FIFO line `INSTANCE "name" MASTER 100` (keepalived's formats).
import { constants, openSync, writeSync, closeSync } from 'node:fs';
import type { Logger } from 'pino';
import { runCommand } from './exec.js';
import type { NotifySpec, VrrpState } from './types.js';

export type NotifyKind = 'INSTANCE' | 'GROUP';

export function fifoLine(kind: NotifyKind, name: string, state: VrrpState, priority: number): string {
  return `${kind} "${name}" ${state} ${priority}\n`;
}

export class Notifier {
  constructor(
    private readonly logger: Logger,
    private readonly fifo?: string,
  ) {}

  async run(spec: NotifySpec | undefined, kind: NotifyKind, name: string, state: VrrpState, priority: number): Promise<void> {
    this.writeFifo(fifoLine(kind, name, state, priority));
    if (!spec) return;
    const specific = state === 'MASTER' ? spec.master : state === 'BACKUP' ? spec.backup : state === 'FAULT' ? spec.fault : state === 'STOP' ? spec.stop : undefined;
    if (specific) this.report(kind, name, 'notify_' + state.toLowerCase(), await runCommand(specific, [], 30_000));
    if (spec.any) this.report(kind, name, 'notify', await runCommand(spec.any, [kind, name, state, String(priority)], 30_000));
  }

  private report(kind: NotifyKind, name: string, hook: string, r: { ok: boolean; error?: string }): void {
    if (!r.ok) this.logger.warn({ kind, name, hook, error: r.error }, 'notify script failed');
  }

  private writeFifo(line: string): void {
    if (!this.fifo) return;
    try {
      // Non-blocking: no reader means ENXIO, and VRRP must never wait on a FIFO.
      const fd = openSync(this.fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      try {
        writeSync(fd, line);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      this.logger.debug({ fifo: this.fifo, error: (e as Error).message }, 'notify fifo not written');
    }
  }
}
