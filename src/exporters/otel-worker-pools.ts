/**
 * The worker pool half of the OpenTelemetry exporter (otel-exporter.ts): the instruments of
 * WORKER_POOL_METRIC_CATALOG, each worker pool's attributes and duration listener, and their observation in the
 * exporter's batch callback. Types only from @opentelemetry/api (the Meter is the caller's).
 */
import type { Attributes, BatchObservableResult, Histogram as OtelHistogram, Meter, MetricOptions, Observable } from '@opentelemetry/api';
import type { Inspector } from '../core/inspector.js';
import type { WorkerDurationKind } from '../core/worker-pool-state.js';
import type { WorkerPoolSnapshot } from '../core/worker-pool-stats.js';
import type { LiveWorkerStatus, WorkerPoolMetricDefinition } from './metric-catalog.js';
import {
  LIVE_WORKER_STATUSES,
  OTEL_WORKER_ID_ATTRIBUTE,
  OTEL_WORKER_POOL_NAME_ATTRIBUTE,
  OTEL_WORKER_POOL_PROFILE_ATTRIBUTE,
  OTEL_WORKER_STATUS_ATTRIBUTE,
  WORKER_POOL_METRIC_CATALOG,
} from './metric-catalog.js';

interface ObservedWorkerMetric {
  readonly definition: Exclude<WorkerPoolMetricDefinition, { shape: 'histogram' }>;
  readonly observable: Observable;
}

/** Attributes of one worker pool, built once when it is attached. */
interface WorkerPoolAttributes {
  readonly pool: Attributes;
  readonly byStatus: Readonly<Record<LiveWorkerStatus, Attributes>>;
}

export class OtelWorkerPools {
  readonly #inspector: Inspector;
  readonly #observed: ObservedWorkerMetric[] = [];
  readonly #histograms: Record<WorkerDurationKind, OtelHistogram | undefined> = { wait_time: undefined, run_time: undefined };
  readonly #recordDurations: boolean;
  /** Per worker pool: its attributes and the function removing its duration listener. */
  readonly #pools = new Map<string, { readonly attributes: WorkerPoolAttributes; readonly detach: () => void }>();

  /** Creates the instruments on `meter` (the histograms only when `recordDurations`). */
  constructor(inspector: Inspector, meter: Meter, buckets: readonly number[], recordDurations: boolean) {
    this.#inspector = inspector;
    this.#recordDurations = recordDurations;
    for (const definition of WORKER_POOL_METRIC_CATALOG) {
      const metricOptions: MetricOptions = { description: definition.help, unit: definition.unit };
      if (definition.shape === 'histogram') {
        if (recordDurations) {
          this.#histograms[definition.durationKind] = meter.createHistogram(definition.otelName, {
            ...metricOptions,
            advice: { explicitBucketBoundaries: [...buckets] },
          });
        }
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
  }

  /** The observable instruments, for the exporter's batch callback. */
  get observables(): Observable[] {
    return this.#observed.map((metric) => metric.observable);
  }

  /** Starts reporting a worker pool: its attributes, and its duration listener when histograms are recorded. */
  attach(poolName: string): void {
    if (this.#pools.has(poolName)) return;
    const view = this.#inspector.workerPool(poolName);
    if (view === undefined) return;
    const pool = Object.freeze({ [OTEL_WORKER_POOL_NAME_ATTRIBUTE]: poolName, [OTEL_WORKER_POOL_PROFILE_ATTRIBUTE]: view.profile });
    const status = (value: LiveWorkerStatus): Attributes => Object.freeze({ ...pool, [OTEL_WORKER_STATUS_ATTRIBUTE]: value });
    const byStatus = { starting: status('starting'), available: status('available'), busy: status('busy'), unknown: status('unknown') };
    const attributes: WorkerPoolAttributes = { pool, byStatus };
    if (!this.#recordDurations) {
      this.#pools.set(poolName, { attributes, detach: () => undefined });
      return;
    }
    const { wait_time: waitTime, run_time: runTime } = this.#histograms;
    // Runs once when a task starts and once when it ends: one record() into this pool's own series.
    const detach = view.addDurationListener((kind, millis) => (kind === 'wait_time' ? waitTime : runTime)?.record(millis / 1000, pool));
    this.#pools.set(poolName, { attributes, detach });
  }

  /** Stops reporting a worker pool (its duration listener removed). */
  detach(poolName: string): void {
    const pool = this.#pools.get(poolName);
    if (pool === undefined) return;
    this.#pools.delete(poolName);
    pool.detach();
  }

  /** Detaches every worker pool. */
  close(): void {
    for (const name of [...this.#pools.keys()]) this.detach(name);
  }

  /** Observes every attached worker pool (one snapshot each); a pool that fails to read goes to onError. */
  observe(result: BatchObservableResult): void {
    for (const [name, { attributes }] of this.#pools) {
      try {
        const view = this.#inspector.workerPool(name);
        if (view === undefined || view.closed) continue;
        this.#observePool(result, view.snapshot(), attributes);
      } catch (error) {
        this.#inspector.reportError(error);
      }
    }
  }

  #observePool(result: BatchObservableResult, snapshot: WorkerPoolSnapshot, attributes: WorkerPoolAttributes): void {
    for (const { definition, observable } of this.#observed) {
      switch (definition.shape) {
        case 'scalar': {
          const value = definition.read(snapshot.stats);
          if (value !== null) result.observe(observable, value, attributes.pool);
          break;
        }
        case 'per-status':
          for (const status of LIVE_WORKER_STATUSES) result.observe(observable, definition.read(snapshot.stats, status), attributes.byStatus[status]);
          break;
        case 'per-worker':
          for (const worker of snapshot.workers) {
            const value = worker.status === 'exited' ? null : definition.read(worker);
            if (value !== null) result.observe(observable, value, { ...attributes.pool, [OTEL_WORKER_ID_ATTRIBUTE]: worker.id });
          }
          break;
      }
    }
  }
}
