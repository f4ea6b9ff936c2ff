/**
 * The shape of a metric definition in the catalogue (METRIC_CATALOG, metric-catalog.ts): its names in both schemes,
 * type, unit, labels and help, and how its value is read from a pool's stats. Also the vocabulary those fields use:
 * metric types, instrument kinds, connection states, and the pool-name and state attributes/labels.
 */
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

/** The attributes and labels of a metric with one value per pool (the pool's name only). */
export const POOL_ATTRIBUTES = [OTEL_POOL_NAME_ATTRIBUTE] as const;
export const POOL_LABELS = [PROMETHEUS_POOL_NAME_LABEL] as const;

export interface MetricDefinitionBase {
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
  /**
   * The adapter capability the value needs (docs/reference/adapters.md): a pool whose adapter lacks it has no sample
   * of this metric, rather than a zero that would read as "none happened".
   */
  readonly requires?: 'queries' | 'transactions';
}

/** Whether `definition` has a value for a pool with these stats (its adapter has what the metric needs). */
export function metricAppliesTo(definition: MetricDefinition, stats: PoolStats): boolean {
  return definition.shape !== 'scalar' || definition.requires === undefined || stats.capabilities[definition.requires];
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
