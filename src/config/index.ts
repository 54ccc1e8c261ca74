// The config folder's API.
export { loadConfig, defaultConfigId } from './load.js';
export type { LoadOptions, LoadResult } from './load.js';
export { Diagnostics, ConfigError, formatLoc } from './diagnostics.js';
export type { Diagnostic, Loc } from './diagnostics.js';
export { formatDiagnostic, summary } from './format.js';
export { fileLineReader } from './lines.js';
export { checkersOf } from './resolve.js';
export { vsName } from './validate.js';
export type { ConfigModel } from './keywords/top.js';
export type { VirtualServer, RealServer, VsKey, LvsMethod } from './keywords/lvs.js';
export { diffConfigs, renderPlan } from './diff.js';
export type { PlanItem } from './diff.js';
