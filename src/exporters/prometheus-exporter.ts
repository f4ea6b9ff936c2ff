/**
 * Prometheus exposition of every tracked pool through prom-client (an optional peer dependency: this module is
 * reached only through the `poolscope/prometheus` subpath, never from the package root).
 *
 * Values are read when the registry is scraped, from the trackers' stats and distributions: nothing is added to
 * the checkout path. Pools tracked later appear at the next scrape; an untracked pool's series disappear.
 *
 * ```ts
 * import { PrometheusExporter } from 'poolscope/prometheus';
 * const exporter = new PrometheusExporter(inspector);
 * res.setHeader('Content-Type', exporter.contentType);
 * res.end(await exporter.metrics());
 * ```
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Metric, RegistryContentType } from 'prom-client';
import { OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { Histogram } from '../core/histogram.js';
import type { DurationKind, PoolTracker } from '../core/pool-tracker.js';
import type { PoolStats } from '../core/pool-stats.js';
import type { HistogramMetricDefinition, MetricDefinition } from './metric-catalog.js';
import {
  CONNECTION_STATES,
  DEFAULT_DURATION_BUCKETS_SECONDS,
  METRIC_CATALOG,
  PROMETHEUS_POOL_NAME_LABEL,
  PROMETHEUS_STATE_LABEL,
  validateBucketsSeconds,
} from './metric-catalog.js';

/** Options of a PrometheusExporter. All optional. */
export interface PrometheusExporterOptions {
  /** The prom-client Registry to register on (yours, to serve it with your other metrics). Default: a new Registry. */
  readonly registry?: Registry<RegistryContentType>;
  /**
   * Histogram bucket upper bounds in seconds, ascending (`+Inf` is added). Default DEFAULT_DURATION_BUCKETS_SECONDS.
   * Buckets are summed from poolscope's own log-scale buckets: see docs/reference/metrics.md, "Buckets".
   */
  readonly buckets?: readonly number[];
}

type LabelName = typeof PROMETHEUS_POOL_NAME_LABEL | typeof PROMETHEUS_STATE_LABEL;

/** One sample of prom-client's `get()` result (what Registry#getMetricsAsString and getMetricsAsJSON read). */
interface MetricSample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/**
 * Exports the pools of one Inspector as Prometheus metrics (see docs/reference/metrics.md for the names). One
 * exporter per registry: registering on a registry that already holds a metric of the same name throws
 * OptionsError. `close()` removes the metrics again.
 */
export class PrometheusExporter {
  /** The registry the metrics are registered on (the one given, or a new one). */
  readonly registry: Registry<RegistryContentType>;
  readonly #inspector: Inspector;
  readonly #buckets: readonly number[];
  readonly #registered: { readonly name: string; readonly metric: unknown }[] = [];
  /** Stats of every pool, read once per scrape (all collect callbacks of one scrape run in the same tick). */
  #scrape: Map<string, PoolStats> | undefined;
  #closed = false;

  constructor(inspector: Inspector, options: PrometheusExporterOptions = {}) {
    if (inspector === null || typeof inspector !== 'object' || typeof inspector.poolNames !== 'function') {
      throw new OptionsError('inspector', inspector, 'a poolscope Inspector (new PrometheusExporter(inspector, options))');
    }
    if (options === null || typeof options !== 'object') {
      throw new OptionsError('options', options, 'an object { registry?, buckets? } (or nothing)');
    }
    const registry = options.registry ?? new Registry();
    if (
      registry === null ||
      typeof registry !== 'object' ||
      typeof registry.registerMetric !== 'function' ||
      typeof registry.getSingleMetric !== 'function'
    ) {
      throw new OptionsError('registry', registry, "a prom-client Registry (import { Registry } from 'prom-client')");
    }
    this.#buckets = options.buckets === undefined ? DEFAULT_DURATION_BUCKETS_SECONDS : validateBucketsSeconds('buckets', options.buckets);
    this.#inspector = inspector;
    this.registry = registry;

    // Check every name before registering any, so a conflict leaves the registry untouched.
    for (const definition of METRIC_CATALOG) {
      if (registry.getSingleMetric(definition.prometheusName) !== undefined) {
        throw new OptionsError(
          'registry',
          registry,
          `a prom-client Registry without a metric named "${definition.prometheusName}" (it already has one: is another ` +
            'PrometheusExporter registered on it? close() that one first, or give this exporter its own Registry)',
        );
      }
    }
    for (const definition of METRIC_CATALOG) {
      const metric = this.#createMetric(definition);
      this.#registered.push({ name: definition.prometheusName, metric });
    }
  }

  /** The Content-Type to serve `metrics()` with (the registry's: Prometheus text 0.0.4 or OpenMetrics). */
  get contentType(): RegistryContentType {
    return this.registry.contentType;
  }

  /** The registry's exposition text (poolscope's metrics and anything else registered on it), read now. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Removes poolscope's metrics from the registry (the rest of the registry is left alone). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { name, metric } of this.#registered) {
      if (this.registry.getSingleMetric(name) === metric) this.registry.removeSingleMetric(name);
    }
    this.#registered.length = 0;
    this.#scrape = undefined;
  }

  #createMetric(definition: MetricDefinition): unknown {
    const registers = [this.registry];
    const name = definition.prometheusName;
    const help = definition.help;
    // `self` rather than `this` inside collect(): prom-client calls collect with the metric as `this`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    switch (definition.shape) {
      case 'per-state':
        return new Gauge<LabelName>({
          name,
          help,
          labelNames: [PROMETHEUS_POOL_NAME_LABEL, PROMETHEUS_STATE_LABEL],
          registers,
          collect() {
            this.reset();
            for (const stats of self.#readPools().values()) {
              for (const state of CONNECTION_STATES) {
                this.set({ [PROMETHEUS_POOL_NAME_LABEL]: stats.poolName, [PROMETHEUS_STATE_LABEL]: state }, definition.read(stats, state));
              }
            }
          },
        });
      case 'scalar':
        if (definition.prometheusType === 'counter') {
          return new Counter<LabelName>({
            name,
            help,
            labelNames: [PROMETHEUS_POOL_NAME_LABEL],
            registers,
            collect() {
              this.reset();
              for (const stats of self.#readPools().values()) {
                this.inc({ [PROMETHEUS_POOL_NAME_LABEL]: stats.poolName }, definition.read(stats));
              }
            },
          });
        }
        return new Gauge<LabelName>({
          name,
          help,
          labelNames: [PROMETHEUS_POOL_NAME_LABEL],
          registers,
          collect() {
            this.reset();
            for (const stats of self.#readPools().values()) {
              this.set({ [PROMETHEUS_POOL_NAME_LABEL]: stats.poolName }, definition.read(stats));
            }
          },
        });
      case 'histogram': {
        const metric = new BucketHistogramMetric(definition, this.#buckets, () => this.#histograms(definition.durationKind));
        // prom-client's own Histogram cannot be loaded from existing buckets; the registry accepts any object with
        // name/help/type/get()/reset() (lib/registry.js), which is what BucketHistogramMetric is.
        this.registry.registerMetric(metric as unknown as Metric<string>);
        return metric;
      }
    }
  }

  /** Every tracked pool's stats, read once per scrape. */
  #readPools(): Map<string, PoolStats> {
    if (this.#closed) return new Map();
    let pools = this.#scrape;
    if (pools === undefined) {
      pools = new Map();
      for (const tracker of this.#trackers()) {
        try {
          pools.set(tracker.name, tracker.stats());
        } catch (error) {
          // One pool failing to read must not fail the scrape; the error goes to the inspector's onError.
          this.#inspector.reportError(error);
        }
      }
      this.#scrape = pools;
      queueMicrotask(() => {
        this.#scrape = undefined;
      });
    }
    return pools;
  }

  #histograms(kind: DurationKind): { poolName: string; histogram: Histogram }[] {
    if (this.#closed) return [];
    return this.#trackers().map((tracker) => ({ poolName: tracker.name, histogram: distributionOf(tracker, kind) }));
  }

  #trackers(): PoolTracker[] {
    const trackers: PoolTracker[] = [];
    for (const name of this.#inspector.poolNames()) {
      const tracker = this.#inspector.pool(name);
      if (tracker !== undefined) trackers.push(tracker);
    }
    return trackers;
  }
}

function distributionOf(tracker: PoolTracker, kind: DurationKind): Histogram {
  const distributions = tracker.distributions();
  switch (kind) {
    case 'wait_time':
      return distributions.waitTime;
    case 'use_time':
      return distributions.useTime;
    case 'create_time':
      return distributions.createTime;
  }
}

/**
 * A Prometheus histogram whose buckets are summed at scrape time from each pool's Histogram (milliseconds) into the
 * configured bounds (seconds). Implements the object shape prom-client's Registry reads: `name`, `help`, `type`,
 * `aggregator`, `get()` (samples with `metricName` `<name>_bucket|_sum|_count` and an `le` label) and `reset()`.
 */
class BucketHistogramMetric {
  /** Writable: an OpenMetrics registry rewrites counter names (not histograms), by assignment. */
  name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = [PROMETHEUS_POOL_NAME_LABEL];
  readonly #boundsMillis: readonly number[];
  readonly #bounds: readonly number[];
  readonly #read: () => { poolName: string; histogram: Histogram }[];

  constructor(
    definition: HistogramMetricDefinition,
    boundsSeconds: readonly number[],
    read: () => { poolName: string; histogram: Histogram }[],
  ) {
    this.name = definition.prometheusName;
    this.help = definition.help;
    this.#bounds = boundsSeconds;
    this.#boundsMillis = boundsSeconds.map((bound) => bound * 1000);
    this.#read = read;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricSample[] }> {
    const values: MetricSample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const { poolName, histogram } of this.#read()) {
      // count, sum and buckets read together, synchronously: one consistent view of the pool's histogram.
      const count = histogram.count;
      const sumSeconds = histogram.sumMillis / 1000;
      const cumulative = histogram.cumulativeCounts(this.#boundsMillis);
      for (let i = 0; i < this.#bounds.length; i++) {
        values.push({ metricName: bucketName, labels: { le: this.#bounds[i] ?? 0, [PROMETHEUS_POOL_NAME_LABEL]: poolName }, value: cumulative[i] ?? 0 });
      }
      values.push({ metricName: bucketName, labels: { le: '+Inf', [PROMETHEUS_POOL_NAME_LABEL]: poolName }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: { [PROMETHEUS_POOL_NAME_LABEL]: poolName }, value: sumSeconds });
      values.push({ metricName: `${this.name}_count`, labels: { [PROMETHEUS_POOL_NAME_LABEL]: poolName }, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** `registry.resetMetrics()` calls this; the values belong to the trackers, so there is nothing to reset. */
  reset(): void {
    // Nothing: every scrape reads the trackers afresh.
  }
}
