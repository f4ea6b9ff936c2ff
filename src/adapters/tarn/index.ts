// poolscope/tarn: track a tarn pool (tarn 3.x), alone or as Knex's pool (Knex 3.x). Loads neither tarn nor knex:
// both are optional peer dependencies, and these modules use structural types only (docs/reference/adapter-tarn.md).
export { trackTarnPool, TARN_RESOURCE_KINDS } from './track-tarn-pool.js';
export type { TarnTrackingOptions, TarnResourceKind } from './track-tarn-pool.js';
export { trackKnex } from './track-knex.js';
export type { TarnConfigSnapshot } from './tarn-pool-config.js';
export type { TarnPoolLike, TarnPendingAcquire, KnexLike } from './tarn-types.js';
export { acquireTimeoutReportOf } from '../../core/acquire-timeout-report.js';
