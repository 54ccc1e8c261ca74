// Public API of the nft forwarding engine.
export { NftEngine, validateService, type KernelCounters } from './engine.js';
export * from './types.js';
export * from './errors.js';
export { isActiveState, parseConntrackLine, type CtEntry } from './conntrack-line.js';
export { MARK_BASE, MARK_MASK, isLvsdMark } from './marks.js';
export { TableDirector, servicesFromTable, tableState } from './table-director.js';
export { conntrackInsertArgs, renderDrFlowAdds, type DrFlowAdd, type NatFlowAdd } from './sync-adopt.js';
