// lvsd_schedule blocks run with node-cron: drain or restore a real server, write a stats
// snapshot, reload. Reconciled on reload: unchanged schedules keep running.

import cron from 'node-cron';
import type { ConfigModel } from '../config/index.js';

type Schedule = ConfigModel['lvsd_schedule'][number];

/** Arms `fire` on a cron expression; node-cron in the daemon, a manual trigger in tests. */
export type CronScheduler = (expression: string, fire: () => void, name: string) => { stop(): void };

export const nodeCronScheduler: CronScheduler = (expression, fire, name) => {
  const task = cron.schedule(expression, fire, { name });
  return { stop: () => void task.stop() };
};

export interface ScheduleLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class Schedules {
  private readonly tasks = new Map<string, { key: string; task: { stop(): void } }>();

  constructor(
    private readonly log: ScheduleLogger,
    private readonly fire: (name: string, action: string, sch: Schedule) => void,
    private readonly scheduler: CronScheduler = nodeCronScheduler,
  ) {}

  reconcile(list: readonly Schedule[]): void {
    const wanted = new Map(list.map((s) => [s.name, s]));
    for (const [name, t] of this.tasks) {
      const next = wanted.get(name);
      if (!next || JSON.stringify(next) !== t.key) {
        t.task.stop();
        this.tasks.delete(name);
      }
    }
    for (const [name, s] of wanted) {
      if (this.tasks.has(name) || !s.cron || !s.action) continue;
      const action = s.action;
      const task = this.scheduler(s.cron, () => {
        try {
          this.fire(name, action, s);
        } catch (err) {
          this.log.error({ schedule: name, err: String(err) }, 'schedule action failed');
        }
      }, `lvsd-${name}`);
      this.tasks.set(name, { key: JSON.stringify(s), task });
      this.log.info({ schedule: name, cron: s.cron, action }, 'schedule armed');
    }
  }

  stop(): void {
    for (const t of this.tasks.values()) t.task.stop();
    this.tasks.clear();
  }
}
