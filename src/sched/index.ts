// The scheduler registry: the only entry point other areas use.
//
// List order. Every scheduler reads `dests` in the kernel's list order. The kernel inserts a
// newly added dest at the HEAD of the service's list (list_add_rcu in __ip_vs_update_dest), so
// the array the ipvs table passes to update() must already be in that order: most recently
// added first. The table owns that order; schedulers never reorder.
//
// Call update(dests) after every add, delete or edit (weight, flags), one change per call when
// kernel-exact state transitions matter (wrr's cw, rr's cursor and mh's last_weight evolve
// per change, exactly as the kernel's add_dest/del_dest/upd_dest hooks). A fresh scheduler
// is in the state the kernel has for an empty service.
import { DestinationHashingScheduler } from './dh.js';
import { InvalidSchedOptionError, UnknownSchedulerError } from './errors.js';
import { WeightedFailoverScheduler } from './fo.js';
import { LocalityLeastConnectionScheduler } from './lblc.js';
import { LocalityReplicatedScheduler } from './lblcr.js';
import { LeastConnectionScheduler } from './lc.js';
import { LOCALITY_DEFAULT_EXPIRATION_MS } from './locality-table.js';
import { MaglevHashingScheduler, MH_DEFAULT_TABLE_SIZE, MH_TABLE_SIZES } from './mh.js';
import { NeverQueueScheduler } from './nq.js';
import { OverflowScheduler } from './ovf.js';
import { RoundRobinScheduler } from './rr.js';
import { ShortestExpectedDelayScheduler } from './sed.js';
import { SourceHashingScheduler } from './sh.js';
import { WeightedLeastConnectionScheduler } from './wlc.js';
import { WeightedRoundRobinScheduler } from './wrr.js';
import {
  SCHEDULER_NAMES,
  type GarbageCollectingScheduler,
  type SchedFlagName,
  type SchedFlags,
  type SchedOptions,
  type Scheduler,
  type SchedulerName,
} from './types.js';

export * from './types.js';
export * from './errors.js';
export { foldAddress, hash32, hash_32, addressFamily } from './hash.js';
export { LOCALITY_GC_INTERVAL_MS } from './locality-table.js';
export { MH_TABLE_SIZES, MH_DEFAULT_TABLE_SIZE } from './mh.js';

const NAMES: ReadonlySet<string> = new Set(SCHEDULER_NAMES);

export function isSchedulerName(s: string): s is SchedulerName {
  return NAMES.has(s);
}

/** Which of the four scheduler flags a scheduler honours (sh-* for sh, mh-* for mh). */
export function schedulerAcceptsFlag(name: SchedulerName, flag: SchedFlagName): boolean {
  return (name === 'sh' && flag.startsWith('sh-')) || (name === 'mh' && flag.startsWith('mh-'));
}

/** True when the scheduler needs collectGarbage(now) every LOCALITY_GC_INTERVAL_MS. */
export function needsGarbageCollection(s: Scheduler): s is GarbageCollectingScheduler {
  return typeof (s as Partial<GarbageCollectingScheduler>).collectGarbage === 'function';
}

/**
 * A new scheduler for one service. `flags.fallback`/`flags.port` mean sh-fallback/sh-port for
 * sh and mh-fallback/mh-port for mh; other schedulers ignore them. Throws UnknownSchedulerError
 * or InvalidSchedOptionError on bad input (never from pick()).
 */
export function createScheduler(name: SchedulerName, flags?: Partial<SchedFlags>, options?: SchedOptions): Scheduler {
  const f: SchedFlags = { fallback: flags?.fallback ?? false, port: flags?.port ?? false };
  const expiration = options?.localityExpirationMs ?? LOCALITY_DEFAULT_EXPIRATION_MS;
  if (!Number.isFinite(expiration) || expiration < 0) {
    throw new InvalidSchedOptionError('localityExpirationMs', 'must be a non-negative number of ms');
  }
  const mhSize = options?.mhTableSize ?? MH_DEFAULT_TABLE_SIZE;
  if (!(MH_TABLE_SIZES as readonly number[]).includes(mhSize)) {
    throw new InvalidSchedOptionError('mhTableSize', `must be one of ${MH_TABLE_SIZES.join(', ')}`);
  }
  switch (name) {
    case 'rr':
      return new RoundRobinScheduler();
    case 'wrr':
      return new WeightedRoundRobinScheduler();
    case 'lc':
      return new LeastConnectionScheduler(options?.indexed ?? false);
    case 'wlc':
      return new WeightedLeastConnectionScheduler(options?.indexed ?? false);
    case 'sed':
      return new ShortestExpectedDelayScheduler(options?.indexed ?? false);
    case 'nq':
      return new NeverQueueScheduler();
    case 'lblc':
      return new LocalityLeastConnectionScheduler(expiration);
    case 'lblcr':
      return new LocalityReplicatedScheduler(expiration);
    case 'sh':
      return new SourceHashingScheduler(f);
    case 'dh':
      return new DestinationHashingScheduler();
    case 'fo':
      return new WeightedFailoverScheduler(options?.indexed ?? false);
    case 'ovf':
      return new OverflowScheduler(options?.indexed ?? false);
    case 'mh':
      return new MaglevHashingScheduler(f, mhSize);
    default:
      throw new UnknownSchedulerError(String(name));
  }
}
