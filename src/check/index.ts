// Health checkers: public API of src/check/.
export type * from './types.js';
export { CheckSpecError } from './types.js';
export { CheckRunner, type RunnerOptions, type CheckLogger } from './runner.js';
export { systemClock, ManualClock, type Clock } from './clock.js';
export { genhashMain } from './genhash.js';
export { parseStatusRanges } from './http.js';
export { compileBodyRegex, REGEX_OPTIONS } from './body-regex.js';
export { parseHexString } from './udp.js';
export { splitCommand } from './script.js';
export { resolveTiming, type ResolvedTiming } from './timing.js';
