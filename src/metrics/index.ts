export type { MetricsSource, VrrpInstanceMetrics, CheckerMetrics, ReloadMetrics } from './source.js';
export { createMetricsRegistry } from './registry.js';
export { MetricsServer, MetricsListenError, parseListen } from './server.js';
