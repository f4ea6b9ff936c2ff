import { PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { WorkerProfile } from '../../core/worker-pool-adapter.js';
import type { WorkerPoolTrackingOptions } from '../../core/worker-pool-options.js';
import type { WorkerPoolView } from '../../core/worker-pool-view.js';
import { WORKERPOOL_WRAPPED, WorkerpoolAdapter } from './workerpool-adapter.js';
import type { WorkerpoolPoolInternal, WorkerpoolPoolLike } from './workerpool-types.js';

/**
 * Starts tracking a workerpool pool (workerpool 9.x, 10.x; `workerType` 'thread', 'process', or 'auto', which is a
 * worker thread in Node) under `options.name` and returns its read-only view. Per instance, never a prototype, and
 * without changing what the pool does:
 * - `pool.exec` (own property) sees each task queued, and the pool refusing one when its queue is full
 *   (`maxQueueSize`: workerpool throws, and the caller still gets that error); it returns workerpool's own promise,
 *   untouched (`timeout()`, `cancel()` work as before);
 * - `pool._createWorkerHandler` and each worker handler's `exec` (own properties) see each worker start and each
 *   task start on its worker;
 * - each worker's 'exit' (and 'error') tells a crash from a worker the pool terminated.
 * Memory per worker: a process's resident memory is read by pid (Linux); a thread's heap needs
 * `import 'poolscope/worker'` in the worker file.
 *
 * Throws POOLSCOPE_ERR_POOL_UNSUPPORTED for an object that is not a workerpool pool, or one of `workerType: 'web'`
 * (browsers), POOLSCOPE_ERR_POOL_ALREADY_TRACKED if poolscope already wraps it, and the option and name errors of
 * `Inspector.registerWorkerPool`.
 *
 * ```ts
 * const pool = workerpool.pool(new URL('./worker.mjs', import.meta.url).pathname, { workerType: 'process' });
 * trackWorkerpool(inspector, pool, { name: 'reports' });
 * ```
 */
export function trackWorkerpool(inspector: Inspector, pool: WorkerpoolPoolLike, options: WorkerPoolTrackingOptions): WorkerPoolView {
  const internal = asWorkerpool(pool);
  if ((internal.exec as unknown as Record<symbol, unknown>)[WORKERPOOL_WRAPPED] === true) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
      `This workerpool pool is already tracked by poolscope (asked to track it as "${String(options?.name)}"). ` +
        'Track each pool once; to rename it, untrack it first (inspector.untrackWorkerPool(name)).',
      options?.name,
    );
  }
  const adapter = new WorkerpoolAdapter(internal, profileOf(internal.workerType));
  const tracker = inspector.registerWorkerPool(adapter, options);
  adapter.attach(tracker);
  return tracker.view;
}

/** workerpool's workerType as a profile: 'auto' runs worker threads in Node (workerpool falls back to processes only without worker_threads). */
function profileOf(workerType: string): WorkerProfile {
  if (workerType === 'process') return 'process';
  if (workerType === 'thread' || workerType === 'auto') return 'thread';
  throw new PoolTrackingError(
    'POOLSCOPE_ERR_POOL_UNSUPPORTED',
    `trackWorkerpool() tracks pools of workerType 'thread', 'process' or 'auto' (Node); this one has ${JSON.stringify(workerType)}. ` +
      "Web workers run in a browser, where poolscope does not.",
  );
}

function asWorkerpool(pool: unknown): WorkerpoolPoolInternal {
  const candidate = pool as Partial<Record<keyof WorkerpoolPoolInternal, unknown>> | null | undefined;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.exec !== 'function' ||
    typeof candidate.stats !== 'function' ||
    !Array.isArray(candidate.workers) ||
    typeof candidate.workerType !== 'string' ||
    typeof candidate.maxQueueSize !== 'number'
  ) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'trackWorkerpool() needs a workerpool pool (workerpool 9.x or 10.x): an object with exec(), stats(), workers, ' +
        'workerType and maxQueueSize, as `workerpool.pool(script, options)` gives.',
    );
  }
  return candidate as unknown as WorkerpoolPoolInternal;
}
