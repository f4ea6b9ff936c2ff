/**
 * The one catalogue of the metrics poolscope exports: every metric's OpenTelemetry name (semconv where semconv has
 * one), its Prometheus name, type, unit, labels and help, and how its value is read from a pool. Both exporters are
 * driven by this list, docs/reference/metrics.md documents it, and test/unit/metric-catalog.test.ts keeps the two in
 * step. Nothing here imports prom-client or @opentelemetry/api: the catalogue is safe to re-export from the root.
 */
import { OptionsError } from '../errors.js';
import type { DurationKind } from '../core/pool-tracker.js';
import type { PoolStats } from '../core/pool-stats.js';

/** The Prometheus metric types poolscope uses. */
export const PROMETHEUS_METRIC_TYPES = ['gauge', 'counter', 'histogram'] as const;
export type PrometheusMetricType = (typeof PROMETHEUS_METRIC_TYPES)[number];

/** The OpenTelemetry instruments poolscope uses (semconv's "updowncounter" on a reading is the observable one). */
export const OTEL_INSTRUMENT_KINDS = ['ObservableUpDownCounter', 'ObservableCounter', 'ObservableGauge', 'Histogram'] as const;
export type OtelInstrumentKind = (typeof OTEL_INSTRUMENT_KINDS)[number];

/** Values of the connection state attribute/label of `db.client.connection.count`. */
export const CONNECTION_STATES = ['idle', 'used'] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** OpenTelemetry attribute naming the pool (semconv, required on every db.client.connection.* metric). */
export const OTEL_POOL_NAME_ATTRIBUTE = 'db.client.connection.pool.name';
/** OpenTelemetry attribute of the connection state (semconv). */
export const OTEL_STATE_ATTRIBUTE = 'db.client.connection.state';
/** Prometheus label naming the pool. */
export const PROMETHEUS_POOL_NAME_LABEL = 'pool_name';
/** Prometheus label of the connection state. */
export const PROMETHEUS_STATE_LABEL = 'state';

/**
 * Default histogram bucket upper bounds, in seconds: 10 bounds (13 series per pool and histogram with `+Inf`, `_sum`
 * and `_count`). Semconv advises no boundaries for the connection-pool histograms; these are the ones it advises for
 * `db.client.operation.duration` (0.001 .. 10, a 1-5 step per decade), so pool times line up with operation times on
 * one dashboard, plus 30 s, the default leak threshold (a use_time above it is a suspected leak). Everything under
 * 1 ms (a checkout served by an idle connection waits tens of microseconds) falls in the first bucket. See
 * docs/reference/metrics.md, "Buckets".
 */
export const DEFAULT_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30]);

interface MetricDefinitionBase {
  /** Stable identifier, independent of either naming scheme. */
  readonly id: string;
  /** OpenTelemetry name (semconv for `db.client.connection.*`). */
  readonly otelName: string;
  /** Prometheus name (lint-clean: `promtool check metrics`). */
  readonly prometheusName: string;
  readonly prometheusType: PrometheusMetricType;
  readonly otelInstrument: OtelInstrumentKind;
  /** UCUM unit, as OpenTelemetry reports it (`s`, `{connection}`, `1`). */
  readonly unit: string;
  /** OpenTelemetry attributes of every data point. */
  readonly otelAttributes: readonly string[];
  /** Prometheus labels of every sample (besides `le` on histogram buckets). */
  readonly prometheusLabels: readonly string[];
  /** One sentence; the Prometheus HELP text and the OpenTelemetry description. */
  readonly help: string;
  /** Where the name comes from. */
  readonly origin: 'semconv' | 'poolscope';
}

/** A value per pool read from its stats at collection time. */
export interface ScalarMetricDefinition extends MetricDefinitionBase {
  readonly shape: 'scalar';
  readonly prometheusType: 'gauge' | 'counter';
  readonly otelInstrument: 'ObservableUpDownCounter' | 'ObservableCounter' | 'ObservableGauge';
  readonly read: (stats: PoolStats) => number;
}

/** A value per pool and connection state (`idle`, `used`). */
export interface PerStateMetricDefinition extends MetricDefinitionBase {
  readonly shape: 'per-state';
  readonly prometheusType: 'gauge';
  readonly otelInstrument: 'ObservableUpDownCounter';
  readonly read: (stats: PoolStats, state: ConnectionState) => number;
}

/** A duration distribution per pool, exported in seconds. */
export interface HistogramMetricDefinition extends MetricDefinitionBase {
  readonly shape: 'histogram';
  readonly prometheusType: 'histogram';
  readonly otelInstrument: 'Histogram';
  readonly unit: 's';
  /** The tracker's duration kind (`addDurationListener`) and distribution (`distributions()`) it reads. */
  readonly durationKind: DurationKind;
}

export type MetricDefinition = ScalarMetricDefinition | PerStateMetricDefinition | HistogramMetricDefinition;

const POOL_ATTRIBUTES = [OTEL_POOL_NAME_ATTRIBUTE] as const;
const POOL_LABELS = [PROMETHEUS_POOL_NAME_LABEL] as const;

/**
 * Every metric poolscope exports, in exposition order. `db.client.connection.idle.max` is deliberately absent:
 * pg.Pool has no limit on idle connections other than `max` itself, so the value would only repeat
 * `db.client.connection.max` (semconv: instrumentations that do not collect a value MUST NOT emit the instrument).
 */
export const METRIC_CATALOG: readonly MetricDefinition[] = Object.freeze([
  {
    id: 'connection_count',
    shape: 'per-state',
    otelName: 'db.client.connection.count',
    // promtool rejects a gauge ending in _count; `usage` is the older semconv name (db.client.connections.usage).
    prometheusName: 'db_client_connection_usage',
    prometheusType: 'gauge',
    otelInstrument: 'ObservableUpDownCounter',
    unit: '{connection}',
    otelAttributes: [OTEL_POOL_NAME_ATTRIBUTE, OTEL_STATE_ATTRIBUTE],
    prometheusLabels: [PROMETHEUS_POOL_NAME_LABEL, PROMETHEUS_STATE_LABEL],
    help: 'The number of connections that are currently in the state described by the state attribute (idle or used).',
    origin: 'semconv',
    read: (stats, state) => (state === 'idle' ? stats.idle : stats.used),
  },
  {
    id: 'connection_max',
    shape: 'scalar',
    otelName: 'db.client.connection.max',
    prometheusName: 'db_client_connection_max',
    prometheusType: 'gauge',
    otelInstrument: 'ObservableUpDownCounter',
    unit: '{connection}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'The maximum number of open connections allowed (the pool\'s max).',
    origin: 'semconv',
    read: (stats) => stats.max,
  },
  {
    id: 'connection_idle_min',
    shape: 'scalar',
    otelName: 'db.client.connection.idle.min',
    prometheusName: 'db_client_connection_idle_min',
    prometheusType: 'gauge',
    otelInstrument: 'ObservableUpDownCounter',
    unit: '{connection}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'The minimum number of idle open connections allowed (the pool\'s min; 0 when unset).',
    origin: 'semconv',
    read: (stats) => stats.min,
  },
  {
    id: 'connection_pending_requests',
    shape: 'scalar',
    otelName: 'db.client.connection.pending_requests',
    prometheusName: 'db_client_connection_pending_requests',
    prometheusType: 'gauge',
    otelInstrument: 'ObservableUpDownCounter',
    unit: '{request}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'The number of callers currently waiting for a connection because none is free and the pool is at max.',
    origin: 'semconv',
    read: (stats) => stats.pending,
  },
  {
    id: 'connection_timeouts',
    shape: 'scalar',
    otelName: 'db.client.connection.timeouts',
    prometheusName: 'db_client_connection_timeouts_total',
    prometheusType: 'counter',
    otelInstrument: 'ObservableCounter',
    unit: '{timeout}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
    origin: 'semconv',
    read: (stats) => stats.counters.timeouts,
  },
  {
    id: 'connection_wait_time',
    shape: 'histogram',
    otelName: 'db.client.connection.wait_time',
    prometheusName: 'db_client_connection_wait_time_seconds',
    prometheusType: 'histogram',
    otelInstrument: 'Histogram',
    unit: 's',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'The time it took to obtain an open connection from the pool.',
    origin: 'semconv',
    durationKind: 'wait_time',
  },
  {
    id: 'connection_use_time',
    shape: 'histogram',
    otelName: 'db.client.connection.use_time',
    prometheusName: 'db_client_connection_use_time_seconds',
    prometheusType: 'histogram',
    otelInstrument: 'Histogram',
    unit: 's',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'The time between borrowing a connection and returning it to the pool.',
    origin: 'semconv',
    durationKind: 'use_time',
  },
  {
    id: 'connection_create_time',
    shape: 'histogram',
    otelName: 'db.client.connection.create_time',
    prometheusName: 'db_client_connection_create_time_seconds',
    prometheusType: 'histogram',
    otelInstrument: 'Histogram',
    unit: 's',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'The time it took to create a new connection (for checkouts the pool opened a connection for).',
    origin: 'semconv',
    durationKind: 'create_time',
  },
  {
    id: 'pool_utilization',
    shape: 'scalar',
    otelName: 'poolscope.pool.utilization',
    prometheusName: 'poolscope_pool_utilization_ratio',
    prometheusType: 'gauge',
    otelInstrument: 'ObservableGauge',
    unit: '1',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'Connections in use divided by the pool\'s max (0 to 1).',
    origin: 'poolscope',
    read: (stats) => (stats.max > 0 ? stats.used / stats.max : 0),
  },
  {
    id: 'pool_expect_full',
    shape: 'scalar',
    otelName: 'poolscope.pool.expect_full',
    prometheusName: 'poolscope_pool_expect_full',
    prometheusType: 'gauge',
    otelInstrument: 'ObservableGauge',
    unit: '1',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: '1 when the pool is declared expectFull (full by design, e.g. LISTEN connections), else 0; alert rules exclude such pools from utilization alerts.',
    origin: 'poolscope',
    read: (stats) => (stats.expectFull ? 1 : 0),
  },
  {
    id: 'pool_leaks_suspected',
    shape: 'scalar',
    otelName: 'poolscope.pool.leaks_suspected',
    prometheusName: 'poolscope_pool_leaks_suspected_total',
    prometheusType: 'counter',
    otelInstrument: 'ObservableCounter',
    unit: '{lease}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'Checkouts held longer than the leak threshold (each counted once, when first suspected).',
    origin: 'poolscope',
    read: (stats) => stats.counters.leaksSuspected,
  },
  {
    id: 'pool_dirty_releases',
    shape: 'scalar',
    otelName: 'poolscope.pool.dirty_releases',
    prometheusName: 'poolscope_pool_dirty_releases_total',
    prometheusType: 'counter',
    otelInstrument: 'ObservableCounter',
    unit: '{release}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'Connections released inside an open or failed transaction.',
    origin: 'poolscope',
    read: (stats) => stats.counters.dirtyReleases,
  },
  {
    id: 'pool_double_releases',
    shape: 'scalar',
    otelName: 'poolscope.pool.double_releases',
    prometheusName: 'poolscope_pool_double_releases_total',
    prometheusType: 'counter',
    otelInstrument: 'ObservableCounter',
    unit: '{release}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'release() called again on a checkout already released.',
    origin: 'poolscope',
    read: (stats) => stats.counters.doubleReleases,
  },
  {
    id: 'pool_foreign_releases',
    shape: 'scalar',
    otelName: 'poolscope.pool.foreign_releases',
    prometheusName: 'poolscope_pool_foreign_releases_total',
    prometheusType: 'counter',
    otelInstrument: 'ObservableCounter',
    unit: '{release}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'Releases that hit another checkout: a stale release after the connection was handed on, or one from another owner scope.',
    origin: 'poolscope',
    read: (stats) => stats.counters.foreignReleases,
  },
  {
    id: 'pool_releases_in_flight',
    shape: 'scalar',
    otelName: 'poolscope.pool.releases_in_flight',
    prometheusName: 'poolscope_pool_releases_in_flight_total',
    prometheusType: 'counter',
    otelInstrument: 'ObservableCounter',
    unit: '{release}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'Releases made while a query on the connection had not completed (a missing await).',
    origin: 'poolscope',
    read: (stats) => stats.counters.releasesInFlight,
  },
  {
    id: 'pool_saturation_snapshots',
    shape: 'scalar',
    otelName: 'poolscope.pool.saturation_snapshots',
    prometheusName: 'poolscope_pool_saturation_snapshots_total',
    prometheusType: 'counter',
    otelInstrument: 'ObservableCounter',
    unit: '{snapshot}',
    otelAttributes: POOL_ATTRIBUTES,
    prometheusLabels: POOL_LABELS,
    help: 'Automatic snapshots taken because the pool reached its saturation threshold or callers queued.',
    origin: 'poolscope',
    read: (stats) => stats.counters.saturationSnapshots,
  },
] satisfies MetricDefinition[]);

/**
 * Validates a `buckets` option (upper bounds in seconds) and returns a frozen copy. Throws OptionsError unless it is
 * a non-empty array of finite numbers > 0 in strictly ascending order (`+Inf` is always added by the exporters); the
 * message names the first bad bound and its index.
 */
export function validateBucketsSeconds(option: string, value: unknown): readonly number[] {
  const expected = 'a non-empty array of finite numbers of seconds > 0 in strictly ascending order, e.g. [0.001, 0.01, 0.1, 1]';
  if (!Array.isArray(value)) throw new OptionsError(option, value, expected);
  if (value.length === 0) throw new OptionsError(option, value, `${expected} (${option} is empty)`);
  const bounds = value as unknown[];
  for (let i = 0; i < bounds.length; i++) {
    const problem = boundProblem(bounds, i);
    if (problem !== undefined) throw new OptionsError(option, value, `${expected} (${option}[${i}] ${problem})`);
  }
  return Object.freeze([...(value as number[])]);
}

/** What is wrong with `bounds[i]`, or undefined. */
function boundProblem(bounds: readonly unknown[], i: number): string | undefined {
  const bound = bounds[i];
  if (typeof bound !== 'number') {
    return `is ${bound === null || bound === undefined ? String(bound) : `the ${typeof bound} ${JSON.stringify(bound) ?? String(bound)}`}, not a number`;
  }
  if (Number.isNaN(bound)) return 'is NaN, not a finite number';
  if (bound === Number.POSITIVE_INFINITY) return 'is Infinity: leave it out, the +Inf bucket is always added';
  if (bound <= 0) return `is ${bound}, not > 0`;
  const previous = bounds[i - 1];
  if (i > 0 && typeof previous === 'number' && bound <= previous) return `is ${bound}, not greater than the bound before it (${previous})`;
  return undefined;
}
