/**
 * Writes poolscope's metric families in the Prometheus text format (0.0.4) and OpenMetrics, byte for byte as
 * prom-client's Registry writes them, without going through prom-client's per-sample formatting.
 *
 * Why not prom-client's serializer: at 1,000 pools a scrape is about 50,000 lines. prom-client's
 * `Registry#getMetricsAsString` builds every line from a sample object (label objects spread and merged, an
 * `Object.entries` per line, three regex replaces per label value, a WeakMap lookup and an array join per line); fed
 * with the cheapest sample objects it can take, it needed 54-80 ms for those lines alone on the development machine,
 * more than the whole budget of a scrape. Writing the lines directly (one string concatenation per line, the pool's
 * label escaped once per scrape, the `le` values formatted once per exporter) takes 10-20 ms. The exporter keeps
 * prom-client's Registry (content type, your other metrics, `registry.metrics()` and `getMetricsAsJSON()` still see
 * poolscope's metrics through `samples()`); only the text of poolscope's own families is written here. A unit test
 * compares this text with prom-client's own, for both formats and with default labels.
 */
import type { Histogram } from '../core/histogram.js';
import { lastBucketIndexAtOrBelow } from '../core/histogram.js';
import type { PoolStats } from '../core/pool-stats.js';
import type { HistogramMetricDefinition, MetricDefinition } from './metric-catalog.js';
import { CONNECTION_STATES, PROMETHEUS_POOL_NAME_LABEL, PROMETHEUS_STATE_LABEL } from './metric-catalog.js';
import { metricAppliesTo } from './metric-definition.js';

/** One pool's duration histograms, as `PoolTracker#distributions()` gives them. */
export interface PoolDistributions {
  readonly waitTime: Histogram;
  readonly useTime: Histogram;
  readonly createTime: Histogram;
}

/** One pool, read once for one scrape. */
export interface PoolReading {
  readonly poolName: string;
  /** `pool_name="<escaped name>"`, built once per scrape. */
  readonly poolLabel: string;
  readonly stats: PoolStats;
  readonly distributions: PoolDistributions;
}

/** How the registry being served writes its text. */
export interface ExpositionFormat {
  /** OpenMetrics (prom-client names a counter family without `_total` and its samples with it). */
  readonly openMetrics: boolean;
  /** The registry's default labels (`registry.setDefaultLabels`), added after a sample's own labels. */
  readonly defaultLabels: Readonly<Record<string, unknown>>;
}

/** One sample in the shape prom-client's Registry reads from a metric's `get()`. */
export interface MetricSample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/** A PoolReading for `poolName`, from its stats and distributions. */
export function poolReadingOf(poolName: string, stats: PoolStats, distributions: PoolDistributions): PoolReading {
  return { poolName, poolLabel: `${PROMETHEUS_POOL_NAME_LABEL}="${escapeLabelValue(poolName)}"`, stats, distributions };
}

/**
 * Writes the families of METRIC_CATALOG for a set of pools. Histogram buckets are summed from each pool's own
 * fine log-scale buckets into the configured bounds (the bucket indexes are found once, here).
 */
export class PrometheusExposition {
  /** The `le` label values: each bound as prom-client formats a number label, then `+Inf`. */
  readonly #leValues: readonly string[];
  /** Per bound: the last of poolscope's own buckets it sums up to. */
  readonly #lastIndexes: readonly number[];
  readonly #boundsSeconds: readonly number[];
  /** Reused per histogram read (rendering is synchronous). */
  readonly #cumulative: number[] = [];

  constructor(boundsSeconds: readonly number[]) {
    this.#boundsSeconds = boundsSeconds;
    this.#leValues = [...boundsSeconds.map((bound) => String(bound)), '+Inf'];
    this.#lastIndexes = boundsSeconds.map((bound) => lastBucketIndexAtOrBelow(bound * 1000));
  }

  /**
   * The text of one family: `# HELP`, `# TYPE` and one line per sample, joined by `\n`, without a trailing newline
   * (prom-client's `Registry#getMetricsAsString`; the caller joins families the way `Registry#metrics` does).
   */
  family(definition: MetricDefinition, pools: readonly PoolReading[], format: ExpositionFormat): string {
    const counter = definition.prometheusType === 'counter';
    const familyName = format.openMetrics && counter ? definition.prometheusName.replace(/_total$/, '') : definition.prometheusName;
    const sampleName = format.openMetrics && counter ? `${familyName}_total` : familyName;
    let text = `# HELP ${escapeString(familyName)} ${escapeString(definition.help)}\n# TYPE ${escapeString(familyName)} ${definition.prometheusType}`;
    switch (definition.shape) {
      case 'scalar': {
        const tail = `${defaultLabelText(format.defaultLabels, [PROMETHEUS_POOL_NAME_LABEL])}} `;
        const head = `\n${sampleName}{`;
        for (const pool of pools) {
          if (metricAppliesTo(definition, pool.stats)) text += head + pool.poolLabel + tail + sampleValue(definition.read(pool.stats));
        }
        return text;
      }
      case 'per-state': {
        const tail = `${defaultLabelText(format.defaultLabels, [PROMETHEUS_POOL_NAME_LABEL, PROMETHEUS_STATE_LABEL])}} `;
        const head = `\n${sampleName}{`;
        for (const pool of pools) {
          for (const state of CONNECTION_STATES) {
            text += `${head}${pool.poolLabel},${PROMETHEUS_STATE_LABEL}="${state}"${tail}${sampleValue(definition.read(pool.stats, state))}`;
          }
        }
        return text;
      }
      case 'histogram':
        return text + this.#histogramLines(definition, pools, format);
    }
  }

  /** The samples of one family for prom-client's Registry (what `registry.metrics()` and `getMetricsAsJSON()` read). */
  samples(definition: MetricDefinition, pools: readonly PoolReading[]): MetricSample[] {
    const values: MetricSample[] = [];
    switch (definition.shape) {
      case 'scalar':
        for (const pool of pools) {
          if (metricAppliesTo(definition, pool.stats)) values.push({ labels: { [PROMETHEUS_POOL_NAME_LABEL]: pool.poolName }, value: definition.read(pool.stats) });
        }
        return values;
      case 'per-state':
        for (const pool of pools) {
          for (const state of CONNECTION_STATES) {
            values.push({
              labels: { [PROMETHEUS_POOL_NAME_LABEL]: pool.poolName, [PROMETHEUS_STATE_LABEL]: state },
              value: definition.read(pool.stats, state),
            });
          }
        }
        return values;
      case 'histogram': {
        const name = definition.prometheusName;
        const bucketName = `${name}_bucket`;
        for (const pool of pools) {
          const histogram = distributionOf(pool.distributions, definition);
          // count, sum and buckets read together, synchronously: one consistent view of the pool's histogram.
          const count = histogram.count;
          const cumulative = histogram.cumulativeCountsAtIndexes(this.#lastIndexes, this.#cumulative);
          for (let i = 0; i < this.#boundsSeconds.length; i++) {
            values.push({
              metricName: bucketName,
              labels: { le: this.#boundsSeconds[i] ?? 0, [PROMETHEUS_POOL_NAME_LABEL]: pool.poolName },
              value: cumulative[i] ?? 0,
            });
          }
          values.push({ metricName: bucketName, labels: { le: '+Inf', [PROMETHEUS_POOL_NAME_LABEL]: pool.poolName }, value: count });
          values.push({ metricName: `${name}_sum`, labels: { [PROMETHEUS_POOL_NAME_LABEL]: pool.poolName }, value: histogram.sumMillis / 1000 });
          values.push({ metricName: `${name}_count`, labels: { [PROMETHEUS_POOL_NAME_LABEL]: pool.poolName }, value: count });
        }
        return values;
      }
    }
  }

  #histogramLines(definition: HistogramMetricDefinition, pools: readonly PoolReading[], format: ExpositionFormat): string {
    const name = definition.prometheusName;
    const bucketHead = `\n${name}_bucket{le="`;
    const bucketTail = `${defaultLabelText(format.defaultLabels, ['le', PROMETHEUS_POOL_NAME_LABEL])}} `;
    const poolTail = `${defaultLabelText(format.defaultLabels, [PROMETHEUS_POOL_NAME_LABEL])}} `;
    const sumHead = `\n${name}_sum{`;
    const countHead = `\n${name}_count{`;
    const leValues = this.#leValues;
    const bounds = leValues.length - 1;
    let text = '';
    for (const pool of pools) {
      const histogram = distributionOf(pool.distributions, definition);
      // count, sum and buckets read together, synchronously: one consistent view of the pool's histogram.
      const count = histogram.count;
      const sumSeconds = histogram.sumMillis / 1000;
      const cumulative = histogram.cumulativeCountsAtIndexes(this.#lastIndexes, this.#cumulative);
      const labels = `",${pool.poolLabel}${bucketTail}`;
      for (let i = 0; i < bounds; i++) text += bucketHead + (leValues[i] ?? '') + labels + sampleValue(cumulative[i] ?? 0);
      text += `${bucketHead}+Inf${labels}${sampleValue(count)}`;
      text += sumHead + pool.poolLabel + poolTail + sampleValue(sumSeconds);
      text += countHead + pool.poolLabel + poolTail + sampleValue(count);
    }
    return text;
  }
}

function distributionOf(distributions: PoolDistributions, definition: HistogramMetricDefinition): Histogram {
  switch (definition.durationKind) {
    case 'wait_time':
      return distributions.waitTime;
    case 'use_time':
      return distributions.useTime;
    case 'create_time':
      return distributions.createTime;
  }
}

/**
 * The default labels a sample with the labels `own` gets, as `,name="value"` each: prom-client merges them as
 * `{ ...own, ...defaults, ...own }`, so they follow the sample's own labels and never replace one.
 */
export function defaultLabelText(defaults: Readonly<Record<string, unknown>>, own: readonly string[]): string {
  let text = '';
  for (const [name, value] of Object.entries(defaults)) {
    if (!own.includes(name)) text += `,${name}="${typeof value === 'string' ? escapeLabelValue(value) : String(value)}"`;
  }
  return text;
}

/** A label value escaped as the text format requires (backslash, newline, double quote). */
export function escapeLabelValue(value: string): string {
  return /[\\\n"]/.test(value) ? escapeString(value).replace(/"/g, '\\"') : value;
}

/** HELP text and names: backslash and newline escaped. */
export function escapeString(value: string): string {
  return /[\\\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : value;
}

/** A sample value: `+Inf`, `-Inf`, `NaN`, else JavaScript's shortest round-trip form (what prom-client writes). */
export function sampleValue(value: number): string {
  if (Number.isFinite(value)) return `${value}`;
  if (Number.isNaN(value)) return 'NaN';
  return value < 0 ? '-Inf' : '+Inf';
}
