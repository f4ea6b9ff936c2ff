import { OptionsError } from '../errors.js';
import { checkPoolName, nonNegative } from './pool-tracker-options.js';
import type { WorkerPoolThresholds } from './worker-pool-level.js';
import { resolveWorkerPoolThresholds } from './worker-pool-level.js';

/** Per worker pool settings. Every field but `name` has a default. */
export interface WorkerPoolTrackingOptions {
  /**
   * Unique name of the worker pool within the inspector. Worker pools have their own namespace: a worker pool may
   * share its name with a connection pool (`inspector.workerPool(name)` and `inspector.pool(name)` are apart).
   */
  readonly name: string;
  /** Utilization bounds of the levels LOW / GOOD / HIGH / CRITICAL. Default 60 / 80 / 90 (seed 002). */
  readonly thresholds?: Partial<WorkerPoolThresholds>;
  /**
   * Least time between two `worker-pool-saturated` events of this pool, and between two `worker-capacity-reached`
   * events of one worker. Default 10000.
   */
  readonly saturationCooldownMillis?: number;
  /**
   * How often each worker's memory is sampled in the background (an unref'd timer), so that its growth shows across
   * samples. Default 10000; 0: only when read (stats(), snapshot(), sampleMemory()).
   */
  readonly memorySampleIntervalMillis?: number;
}

/** WorkerPoolTrackingOptions validated, with every default filled in. */
export interface ResolvedWorkerPoolTrackingOptions {
  readonly name: string;
  readonly thresholds: WorkerPoolThresholds;
  readonly saturationCooldownMillis: number;
  readonly memorySampleIntervalMillis: number;
}

export const DEFAULT_WORKER_SATURATION_COOLDOWN_MILLIS = 10_000;
export const DEFAULT_MEMORY_SAMPLE_INTERVAL_MILLIS = 10_000;

/** Validates `options` (throws a coded error naming the first bad option) and fills in the defaults. */
export function resolveWorkerPoolTrackingOptions(options: WorkerPoolTrackingOptions): ResolvedWorkerPoolTrackingOptions {
  if (options === null || typeof options !== 'object') {
    throw new OptionsError('options', options, "an object with at least a name, e.g. { name: 'images' }");
  }
  return {
    name: checkPoolName(options.name),
    thresholds: resolveWorkerPoolThresholds(options.thresholds),
    saturationCooldownMillis: nonNegative(
      'saturationCooldownMillis',
      options.saturationCooldownMillis,
      DEFAULT_WORKER_SATURATION_COOLDOWN_MILLIS,
    ),
    memorySampleIntervalMillis: nonNegative(
      'memorySampleIntervalMillis',
      options.memorySampleIntervalMillis,
      DEFAULT_MEMORY_SAMPLE_INTERVAL_MILLIS,
    ),
  };
}
