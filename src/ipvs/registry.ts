// The default scheduler registry for the table: src/sched's factory and address fold.
import { createScheduler, foldAddress } from '../sched/index.js';
import type { SchedulerRegistry } from './table.js';

export const defaultSchedulerRegistry: SchedulerRegistry = { createScheduler, foldAddress };
