import { HttpRouteError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { WorkerPoolConfigSnapshot, WorkerProfile } from '../core/worker-pool-adapter.js';
import type { WorkerPoolSnapshot, WorkerPoolStats, WorkerSnapshot } from '../core/worker-pool-stats.js';
import type { WorkerPoolView } from '../core/worker-pool-view.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';
import { decodePathSegment } from './pool-api-routes.js';

/**
 * The worker pools' JSON API (Piscina, workerpool; docs/reference/worker-pools.md): `GET /api/worker-pools` and
 * `GET /api/worker-pools/:name`, read by `poolscope inspect`. Each read is the view's own (`snapshot()`): memory is
 * each worker's latest sample, sampled again when older than a second (threads answer after the read). Shapes are
 * stable like the rest of /api/ (docs/reference/http.md).
 */

/** Why some live workers have no memory reading: one entry per distinct reason, with how many workers it covers. */
export interface WorkerPoolMemoryNote {
  readonly note: string;
  readonly workers: number;
}

/** One worker pool in `GET /api/worker-pools`. */
export interface WorkerPoolApiView {
  readonly poolName: string;
  /** The library: `piscina`, `workerpool`. */
  readonly driver: string;
  readonly profile: WorkerProfile;
  readonly stats: WorkerPoolStats;
  /** The pool's settings (an allowlist: never env, argv, workerData or fork options). */
  readonly config: WorkerPoolConfigSnapshot;
  /** Why live workers lack a memory reading (`memoryNote` of each), most workers first; empty when all have one. */
  readonly memoryNotes: readonly WorkerPoolMemoryNote[];
}

/** The body of `GET /api/worker-pools/:name`: the list entry plus every worker (live by id, then recently exited). */
export interface WorkerPoolDetailView extends WorkerPoolApiView {
  readonly takenAt: string;
  readonly workers: readonly WorkerSnapshot[];
}

/** The body of `GET /api/worker-pools`. */
export interface WorkerPoolListReport {
  readonly timestamp: string;
  /** In tracking order. */
  readonly workerPools: readonly WorkerPoolApiView[];
}

/** `GET /api/worker-pools`: every worker pool's stats, settings and memory notes. */
export function workerPoolListRoute(inspector: Inspector): OpsResponse {
  const workerPools = inspector.workerPoolNames().flatMap((name) => {
    const view = inspector.workerPool(name);
    if (view === undefined) return [];
    const { takenAt: _takenAt, workers: _workers, ...entry } = workerPoolDetail(view.snapshot());
    return [entry];
  });
  const body: WorkerPoolListReport = { timestamp: new Date().toISOString(), workerPools };
  return jsonResponse(200, body);
}

/** `GET /api/worker-pools/:name` (`encodedName` as in the path): one worker pool with its workers; 404 when unknown. */
export function workerPoolDetailRoute(inspector: Inspector, encodedName: string): OpsResponse {
  return jsonResponse(200, workerPoolDetail(trackedWorkerPool(inspector, decodePathSegment(encodedName)).snapshot()));
}

/** The view of `name`, or a 404 naming the tracked worker pools. */
export function trackedWorkerPool(inspector: Inspector, name: string): WorkerPoolView {
  const view = inspector.workerPool(name);
  if (view === undefined) {
    throw new HttpRouteError(
      404,
      'POOLSCOPE_ERR_POOL_NOT_TRACKED',
      `No worker pool named ${JSON.stringify(name)} is tracked. Tracked worker pools: ${inspector.workerPoolNames().join(', ') || 'none'}.`,
    );
  }
  return view;
}

function workerPoolDetail(snapshot: WorkerPoolSnapshot): WorkerPoolDetailView {
  const stats = snapshot.stats;
  return {
    poolName: snapshot.poolName,
    driver: stats.driver,
    profile: stats.profile,
    stats,
    config: snapshot.config,
    memoryNotes: memoryNotes(snapshot.workers),
    takenAt: snapshot.takenAt,
    workers: snapshot.workers,
  };
}

/** The distinct reasons live workers have no memory reading, most workers first. */
export function memoryNotes(workers: readonly WorkerSnapshot[]): WorkerPoolMemoryNote[] {
  const counts = new Map<string, number>();
  for (const worker of workers) {
    if (worker.status === 'exited' || worker.memoryStatus === 'sampled') continue;
    const note = worker.memoryNote ?? 'no reading';
    counts.set(note, (counts.get(note) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([note, count]) => ({ note, workers: count }));
}
