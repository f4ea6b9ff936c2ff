/**
 * The one catalogue of the metrics poolscope exports: every metric's OpenTelemetry name (semconv where semconv has
 * one), its Prometheus name, type, unit, labels and help, and how its value is read from a pool (connection pools in
 * METRIC_CATALOG, worker pools in WORKER_POOL_METRIC_CATALOG). Both exporters are
 * driven by this list, docs/reference/metrics.md documents it, and test/unit/metric-catalog.test.ts keeps the two in
 * step. Nothing here imports prom-client or @opentelemetry/api: the catalogue is safe to re-export from the root.
 */
import { CONNECTION_METRICS } from './connection-metrics.js';
import type { MetricDefinition } from './metric-definition.js';
import { POOLSCOPE_POOL_METRICS } from './poolscope-pool-metrics.js';
import type { WorkerPoolMetricDefinition } from './worker-pool-metric-definition.js';
import { WORKER_POOL_METRICS } from './worker-pool-metrics.js';

export {
  CONNECTION_STATES,
  OTEL_INSTRUMENT_KINDS,
  OTEL_POOL_NAME_ATTRIBUTE,
  OTEL_STATE_ATTRIBUTE,
  PROMETHEUS_METRIC_TYPES,
  PROMETHEUS_POOL_NAME_LABEL,
  PROMETHEUS_STATE_LABEL,
} from './metric-definition.js';
export type {
  ConnectionState,
  HistogramMetricDefinition,
  MetricDefinition,
  OtelInstrumentKind,
  PerStateMetricDefinition,
  PrometheusMetricType,
  ScalarMetricDefinition,
} from './metric-definition.js';
export { DEFAULT_DURATION_BUCKETS_SECONDS, validateBucketsSeconds } from './histogram-buckets.js';
export {
  LIVE_WORKER_STATUSES,
  OTEL_WORKER_ID_ATTRIBUTE,
  OTEL_WORKER_POOL_NAME_ATTRIBUTE,
  OTEL_WORKER_POOL_PROFILE_ATTRIBUTE,
  OTEL_WORKER_STATUS_ATTRIBUTE,
  PROMETHEUS_PROFILE_LABEL,
  PROMETHEUS_WORKER_ID_LABEL,
  PROMETHEUS_WORKER_STATUS_LABEL,
} from './worker-pool-metric-definition.js';
export type {
  LiveWorkerStatus,
  WorkerMetricDefinition,
  WorkerPoolHistogramMetricDefinition,
  WorkerPoolMetricDefinition,
  WorkerPoolPerStatusMetricDefinition,
  WorkerPoolScalarMetricDefinition,
} from './worker-pool-metric-definition.js';

/**
 * Every metric poolscope exports, in exposition order. `db.client.connection.idle.max` is deliberately absent:
 * pg.Pool has no limit on idle connections other than `max` itself, so the value would only repeat
 * `db.client.connection.max` (semconv: instrumentations that do not collect a value MUST NOT emit the instrument).
 */
export const METRIC_CATALOG: readonly MetricDefinition[] = Object.freeze([...CONNECTION_METRICS, ...POOLSCOPE_POOL_METRICS]);

/**
 * Every worker pool metric (Piscina, workerpool) poolscope exports, in exposition order (after METRIC_CATALOG's).
 * All are poolscope's own names (`poolscope.worker_pool.*`): semconv has no worker pools.
 */
export const WORKER_POOL_METRIC_CATALOG: readonly WorkerPoolMetricDefinition[] = WORKER_POOL_METRICS;
