// Public API of the virtual server table (pure; time is passed in).
export * from './types.js';
export { IpvsError, type IpvsErrorCode } from './errors.js';
export { RateEstimator, ESTIMATOR_PERIOD_MS, type Rates } from './estimator.js';
export { type Counters } from './stats.js';
export { TCP_STATES, type ConnState, type TcpState, stateTimeoutMs } from './states.js';
export { canonicalAddress, familyOf, maskAddress, isValidAddress } from './address.js';
export {
  IpvsTable, serviceKeyText, endpointText,
  type Change, type Conn, type Dest, type Service, type ScheduleRequest, type ScheduleResult, type SchedulerRegistry,
} from './table.js';
export { IpvsTableControl, type TableControlOptions, toTableKey, toViewKey } from './control.js';
export { defaultSchedulerRegistry } from './registry.js';

import { defaultSchedulerRegistry } from './registry.js';
import { IpvsTable } from './table.js';

/** A table wired to the standard schedulers. */
export function createTable(): IpvsTable {
  return new IpvsTable(defaultSchedulerRegistry);
}
