/**
 * The shape of a worker pool metric definition (WORKER_POOL_METRIC_CATALOG, worker-pool-metrics.ts): the same names,
 * types, unit and help as a connection pool metric (MetricDefinitionBase), read from a worker pool's stats, its live
 * workers or its distributions. Also the attributes and labels worker pool metrics carry.
 */
import type { Histogram } from '../core/histogram.js';
import type { WorkerPoolStats, WorkerSnapshot } from '../core/worker-pool-stats.js';
import type { MetricDefinitionBase } from './metric-definition.js';

/** OpenTelemetry attribute naming the worker pool (poolscope's: semconv has no worker pools). */
export const OTEL_WORKER_POOL_NAME_ATTRIBUTE = 'poolscope.worker_pool.name';
/** OpenTelemetry attribute of the pool's profile, `thread` or `process`. */
export const OTEL_WORKER_POOL_PROFILE_ATTRIBUTE = 'poolscope.worker_pool.profile';
/** OpenTelemetry attribute of a worker's status on `poolscope.worker_pool.worker.count`. */
export const OTEL_WORKER_STATUS_ATTRIBUTE = 'poolscope.worker_pool.worker.status';
/** OpenTelemetry attribute of a worker's id (poolscope's: 1, 2, ... per pool, never reused). */
export const OTEL_WORKER_ID_ATTRIBUTE = 'poolscope.worker_pool.worker.id';
/** Prometheus label of the pool's profile (the pool's name is `pool_name`, as for connection pools). */
export const PROMETHEUS_PROFILE_LABEL = 'profile';
/** Prometheus label of a worker's status. */
export const PROMETHEUS_WORKER_STATUS_LABEL = 'status';
/** Prometheus label of a worker's id. */
export const PROMETHEUS_WORKER_ID_LABEL = 'worker_id';

export const WORKER_POOL_ATTRIBUTES = [OTEL_WORKER_POOL_NAME_ATTRIBUTE, OTEL_WORKER_POOL_PROFILE_ATTRIBUTE] as const;
export const WORKER_POOL_LABELS = ['pool_name', PROMETHEUS_PROFILE_LABEL] as const;

/** The statuses of a live worker, each a series of `poolscope.worker_pool.worker.count` (`exited` is not live). */
export const LIVE_WORKER_STATUSES = ['starting', 'available', 'busy', 'unknown'] as const;
export type LiveWorkerStatus = (typeof LIVE_WORKER_STATUSES)[number];

/** A value per worker pool read from its stats; `null`: no sample (the pool has no such value, e.g. no queue limit). */
export interface WorkerPoolScalarMetricDefinition extends MetricDefinitionBase {
  readonly shape: 'scalar';
  readonly prometheusType: 'gauge' | 'counter';
  readonly otelInstrument: 'ObservableUpDownCounter' | 'ObservableCounter' | 'ObservableGauge';
  readonly read: (stats: WorkerPoolStats) => number | null;
}

/** A value per worker pool and live worker status. */
export interface WorkerPoolPerStatusMetricDefinition extends MetricDefinitionBase {
  readonly shape: 'per-status';
  readonly prometheusType: 'gauge';
  readonly otelInstrument: 'ObservableUpDownCounter';
  readonly read: (stats: WorkerPoolStats, status: LiveWorkerStatus) => number;
}

/** A value per live worker; `null`: no sample for that worker (e.g. its memory is not available: never a 0). */
export interface WorkerMetricDefinition extends MetricDefinitionBase {
  readonly shape: 'per-worker';
  readonly prometheusType: 'gauge';
  readonly otelInstrument: 'ObservableUpDownCounter';
  readonly read: (worker: WorkerSnapshot) => number | null;
}

/** A task duration distribution per worker pool, exported in seconds. */
export interface WorkerPoolHistogramMetricDefinition extends MetricDefinitionBase {
  readonly shape: 'histogram';
  readonly prometheusType: 'histogram';
  readonly otelInstrument: 'Histogram';
  readonly unit: 's';
  /** The view's distribution (`distributions()`) and duration kind (`addDurationListener`) it reads. */
  readonly durationKind: 'wait_time' | 'run_time';
}

export type WorkerPoolMetricDefinition =
  | WorkerPoolScalarMetricDefinition
  | WorkerPoolPerStatusMetricDefinition
  | WorkerMetricDefinition
  | WorkerPoolHistogramMetricDefinition;

/** One worker pool's distributions, as `WorkerPoolView#distributions()` gives them. */
export interface WorkerPoolDistributions {
  readonly runTime: Histogram;
  readonly waitTime: Histogram;
}

/** The histogram a definition reads. */
export function workerDistributionOf(distributions: WorkerPoolDistributions, definition: WorkerPoolHistogramMetricDefinition): Histogram {
  return definition.durationKind === 'run_time' ? distributions.runTime : distributions.waitTime;
}
