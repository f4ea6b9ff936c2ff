// poolscope/workerpool: tracks workerpool pools (worker threads and child processes). Loads nothing of workerpool
// (an optional peer): any object shaped like a workerpool pool is accepted; see docs/reference/worker-pools.md.

export { trackWorkerpool } from './track-workerpool.js';
export type { WorkerpoolPoolLike } from './workerpool-types.js';
export type { WorkerPoolView } from '../../core/worker-pool-view.js';
export type { WorkerPoolTrackingOptions } from '../../core/worker-pool-options.js';
