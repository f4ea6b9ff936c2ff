/**
 * OpenTelemetry metrics of every tracked pool: connection pools under the semconv names (`db.client.connection.*`,
 * attribute `db.client.connection.pool.name`), worker pools under poolscope's (`poolscope.worker_pool.*`, attribute
 * `poolscope.worker_pool.name`). @opentelemetry/api is an optional peer dependency: this module is reached only
 * through the `poolscope/otel` subpath, and it imports the API's types only (the Meter is the caller's).
 *
 * Gauges and counters are observable instruments read in one batch callback at collection time. The duration
 * histograms are synchronous (the API has no asynchronous histogram): each checkout's wait, use and create time, and
 * each task's wait and run time, is recorded through the tracker's duration listener, with the pool's attributes
 * built once per pool.
 *
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { OtelExporter } from 'poolscope/otel';
 * const exporter = new OtelExporter(inspector, { meter: metrics.getMeter('poolscope') });
 * ```
 */
import type {
  Attributes,
  BatchObservableCallback,
  BatchObservableResult,
  Histogram as OtelHistogram,
  Meter,
  MetricOptions,
  Observable,
} from '@opentelemetry/api';
import { OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { DurationKind } from '../core/pool-tracker.js';
import type { PerStateMetricDefinition, ScalarMetricDefinition } from './metric-catalog.js';
import { metricAppliesTo } from './metric-definition.js';
import {
  CONNECTION_STATES,
  DEFAULT_DURATION_BUCKETS_SECONDS,
  METRIC_CATALOG,
  OTEL_POOL_NAME_ATTRIBUTE,
  OTEL_STATE_ATTRIBUTE,
  validateBucketsSeconds,
} from './metric-catalog.js';
import { OtelWorkerPools } from './otel-worker-pools.js';

/** Options of an OtelExporter. */
export interface OtelExporterOptions {
  /** The Meter to create the instruments on, e.g. `metrics.getMeter('poolscope')`. Required. */
  readonly meter: Meter;
  /**
   * Advised explicit bucket boundaries of the duration histograms, in seconds (a View in your MeterProvider still
   * overrides them). Default DEFAULT_DURATION_BUCKETS_SECONDS.
   */
  readonly buckets?: readonly number[];
  /**
   * Record the duration histograms (connection wait, use and create time; task wait and run time). Default true.
   * Each record costs about 1 us in sdk-metrics 2.x (see docs/reference/metrics.md, "Cost"); `false` leaves the
   * checkout path and the tasks untouched and exports the observable gauges and counters only.
   */
  readonly histograms?: boolean;
}

interface ObservedMetric {
  readonly definition: ScalarMetricDefinition | PerStateMetricDefinition;
  readonly observable: Observable;
}

/** Attributes of one pool, built once when the pool is attached (no allocation per observation). */
interface PoolAttributes {
  readonly pool: Attributes;
  readonly idle: Attributes;
  readonly used: Attributes;
}

/**
 * Reports the pools of one Inspector to an OpenTelemetry Meter (see docs/reference/metrics.md for the names).
 * Pools tracked later are attached on `pool-tracked` / `worker-pool-tracked`, detached on `pool-untracked` /
 * `worker-pool-untracked`. Use one exporter per inspector
 * and meter: two exporters on the same meter would record every duration twice. `close()` removes the callback
 * and every listener; the instruments themselves stay on the meter (the API cannot remove them).
 */
export class OtelExporter {
  readonly #inspector: Inspector;
  readonly #meter: Meter;
  readonly #observed: ObservedMetric[] = [];
  readonly #histograms: Record<DurationKind, OtelHistogram | undefined> = {
    wait_time: undefined,
    use_time: undefined,
    create_time: undefined,
  };
  /** Per pool: its attributes and the function removing its duration listener. */
  readonly #pools = new Map<string, { readonly attributes: PoolAttributes; readonly detach: () => void }>();
  /** The worker pools' instruments and attachments. */
  readonly #workerPools: OtelWorkerPools;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #callback: BatchObservableCallback;
  readonly #recordDurations: boolean;
  #closed = false;

  constructor(inspector: Inspector, options: OtelExporterOptions) {
    if (inspector === null || typeof inspector !== 'object' || typeof inspector.poolNames !== 'function') {
      throw new OptionsError('inspector', inspector, 'a poolscope Inspector (new OtelExporter(inspector, { meter }))');
    }
    if (options === null || typeof options !== 'object') {
      throw new OptionsError('options', options, "an object { meter } with an OpenTelemetry Meter, e.g. metrics.getMeter('poolscope')");
    }
    const meter = options.meter;
    if (
      meter === null ||
      typeof meter !== 'object' ||
      typeof meter.createHistogram !== 'function' ||
      typeof meter.addBatchObservableCallback !== 'function'
    ) {
      throw new OptionsError('meter', meter, "an OpenTelemetry Meter, e.g. metrics.getMeter('poolscope') from '@opentelemetry/api'");
    }
    if (options.histograms !== undefined && typeof options.histograms !== 'boolean') {
      throw new OptionsError('histograms', options.histograms, 'true or false');
    }
    this.#recordDurations = options.histograms ?? true;
    const buckets = options.buckets === undefined ? DEFAULT_DURATION_BUCKETS_SECONDS : validateBucketsSeconds('buckets', options.buckets);
    this.#inspector = inspector;
    this.#meter = meter;

    for (const definition of METRIC_CATALOG) {
      const metricOptions: MetricOptions = { description: definition.help, unit: definition.unit };
      if (definition.shape === 'histogram') {
        if (!this.#recordDurations) continue;
        this.#histograms[definition.durationKind] = meter.createHistogram(definition.otelName, {
          ...metricOptions,
          advice: { explicitBucketBoundaries: [...buckets] },
        });
        continue;
      }
      const observable =
        definition.otelInstrument === 'ObservableCounter'
          ? meter.createObservableCounter(definition.otelName, metricOptions)
          : definition.otelInstrument === 'ObservableGauge'
            ? meter.createObservableGauge(definition.otelName, metricOptions)
            : meter.createObservableUpDownCounter(definition.otelName, metricOptions);
      this.#observed.push({ definition, observable });
    }
    this.#workerPools = new OtelWorkerPools(inspector, meter, buckets, this.#recordDurations);

    this.#callback = (result) => this.#observe(result);
    meter.addBatchObservableCallback(this.#callback, this.#observables());
    this.#unsubscribe.push(
      inspector.on('pool-tracked', (event) => this.#attach(event.poolName)),
      inspector.on('pool-untracked', (event) => this.#detach(event.poolName)),
      inspector.on('worker-pool-tracked', (event) => this.#workerPools.attach(event.poolName)),
      inspector.on('worker-pool-untracked', (event) => this.#workerPools.detach(event.poolName)),
    );
    for (const name of inspector.poolNames()) this.#attach(name);
    for (const name of inspector.workerPoolNames()) this.#workerPools.attach(name);
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops reporting: removes the batch callback, the duration listeners and the inspector subscriptions. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#meter.removeBatchObservableCallback(this.#callback, this.#observables());
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    for (const name of [...this.#pools.keys()]) this.#detach(name);
    this.#workerPools.close();
  }

  /** Every observable instrument of the batch callback: the connection pools', then the worker pools'. */
  #observables(): Observable[] {
    return [...this.#observed.map((metric) => metric.observable), ...this.#workerPools.observables];
  }

  #attach(poolName: string): void {
    if (this.#closed || this.#pools.has(poolName)) return;
    const tracker = this.#inspector.pool(poolName);
    if (tracker === undefined) return;
    const attributes: PoolAttributes = {
      pool: Object.freeze({ [OTEL_POOL_NAME_ATTRIBUTE]: poolName }),
      idle: Object.freeze({ [OTEL_POOL_NAME_ATTRIBUTE]: poolName, [OTEL_STATE_ATTRIBUTE]: 'idle' }),
      used: Object.freeze({ [OTEL_POOL_NAME_ATTRIBUTE]: poolName, [OTEL_STATE_ATTRIBUTE]: 'used' }),
    };
    if (!this.#recordDurations) {
      this.#pools.set(poolName, { attributes, detach: () => undefined });
      return;
    }
    const poolAttributes = attributes.pool;
    const { wait_time: waitTime, use_time: useTime, create_time: createTime } = this.#histograms;
    // Runs on the checkout path: a switch and one record() into this pool's own series, nothing else.
    const detach = tracker.addDurationListener((kind, millis) => {
      const seconds = millis / 1000;
      switch (kind) {
        case 'wait_time':
          waitTime?.record(seconds, poolAttributes);
          break;
        case 'use_time':
          useTime?.record(seconds, poolAttributes);
          break;
        case 'create_time':
          createTime?.record(seconds, poolAttributes);
          break;
      }
    });
    this.#pools.set(poolName, { attributes, detach });
  }

  #detach(poolName: string): void {
    const pool = this.#pools.get(poolName);
    if (pool === undefined) return;
    this.#pools.delete(poolName);
    pool.detach();
  }

  #observe(result: BatchObservableResult): void {
    if (this.#closed) return;
    for (const [name, { attributes }] of this.#pools) {
      try {
        const tracker = this.#inspector.pool(name);
        if (tracker === undefined) continue;
        const stats = tracker.stats();
        for (const { definition, observable } of this.#observed) {
          if (definition.shape === 'per-state') {
            for (const state of CONNECTION_STATES) result.observe(observable, definition.read(stats, state), attributes[state]);
          } else if (metricAppliesTo(definition, stats)) {
            result.observe(observable, definition.read(stats), attributes.pool);
          }
        }
      } catch (error) {
        // One pool failing to read must not hide the others; the error goes to the inspector's onError.
        this.#inspector.reportError(error);
      }
    }
    this.#workerPools.observe(result);
  }
}
