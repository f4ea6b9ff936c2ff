// poolscope/piscina: tracks Piscina worker thread pools. Loads nothing of piscina (an optional peer): any object
// shaped like a Piscina pool is accepted; see docs/reference/worker-pools.md.

export { trackPiscina } from './track-piscina.js';
export { PISCINA_QUEUE_FULL_MESSAGES } from './piscina-adapter.js';
export type { PiscinaLike } from './piscina-types.js';
export type { WorkerPoolView } from '../../core/worker-pool-view.js';
export type { WorkerPoolTrackingOptions } from '../../core/worker-pool-options.js';
