import { PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { WorkerPoolTrackingOptions } from '../../core/worker-pool-options.js';
import type { WorkerPoolView } from '../../core/worker-pool-view.js';
import { PISCINA_WRAPPED, PiscinaAdapter } from './piscina-adapter.js';
import type { PiscinaInternal, PiscinaLike } from './piscina-types.js';

/**
 * Starts tracking a Piscina pool (worker threads; piscina 5.x, 4.x with 'workerCreate') under `options.name` and
 * returns its read-only view. Per instance, never a prototype, and without changing what the pool does:
 * - `pool.run` (own property) times each task (queued, started, finished or failed) and sees the pool refuse one
 *   when its queue is full (`maxQueue`); the caller gets the same result or the same error, from a promise that
 *   follows Piscina's (an unhandled rejection stays unhandled);
 * - 'workerCreate' / 'workerDestroy' listeners give each worker's load (`currentUsage`);
 * - each worker's 'exit' (and 'error', when Piscina listens to it) tells a crash from a worker Piscina retired.
 * Track the pool right after `new Piscina(...)` (same tick): workers started before tracking show load `null`
 * (status `unknown`) until they are replaced. For memory per worker, import 'poolscope/worker' in the worker file.
 *
 * Throws POOLSCOPE_ERR_POOL_UNSUPPORTED for an object that is not a Piscina pool, POOLSCOPE_ERR_POOL_ALREADY_TRACKED
 * if poolscope already wraps it, and the option and name errors of `Inspector.registerWorkerPool`.
 *
 * ```ts
 * const pool = new Piscina({ filename: new URL('./worker.mjs', import.meta.url).href });
 * trackPiscina(inspector, pool, { name: 'images' });
 * ```
 */
export function trackPiscina(inspector: Inspector, pool: PiscinaLike, options: WorkerPoolTrackingOptions): WorkerPoolView {
  const internal = asPiscina(pool);
  if ((internal.run as unknown as Record<symbol, unknown>)[PISCINA_WRAPPED] === true) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
      `This Piscina pool is already tracked by poolscope (asked to track it as "${String(options?.name)}"). ` +
        'Track each pool once; to rename it, untrack it first (inspector.untrackWorkerPool(name)).',
      options?.name,
    );
  }
  const adapter = new PiscinaAdapter(internal);
  const tracker = inspector.registerWorkerPool(adapter, options);
  adapter.attach(tracker);
  return tracker.view;
}

function asPiscina(pool: unknown): PiscinaInternal {
  const candidate = pool as Partial<Record<keyof PiscinaInternal, unknown>> | null | undefined;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.run !== 'function' ||
    typeof candidate.on !== 'function' ||
    typeof candidate.off !== 'function' ||
    !Array.isArray(candidate.threads) ||
    typeof candidate.queueSize !== 'number' ||
    typeof candidate.maxThreads !== 'number' ||
    typeof candidate.minThreads !== 'number' ||
    candidate.options === null ||
    typeof candidate.options !== 'object'
  ) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'trackPiscina() needs a Piscina pool (piscina 4.x or 5.x): an object with run(), on(), off(), threads, ' +
        'queueSize, maxThreads, minThreads and options, as `new Piscina({ filename })` gives.',
    );
  }
  return candidate as unknown as PiscinaInternal;
}
