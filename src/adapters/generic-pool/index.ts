// poolscope/generic-pool: track a generic-pool pool (generic-pool 3.x) of any resource. Does not load generic-pool
// (an optional peer dependency): structural types only (docs/reference/adapter-generic-pool.md).
export { trackGenericPool } from './track-generic-pool.js';
export type { GenericPoolTrackingOptions } from './track-generic-pool.js';
export type { GenericPoolConfigSnapshot } from './generic-pool-config.js';
export type { GenericPoolLike, GenericPoolEvent } from './generic-pool-types.js';
export { acquireTimeoutReportOf } from '../../core/acquire-timeout-report.js';
