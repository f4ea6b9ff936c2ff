/**
 * Prometheus exposition of every tracked pool, connection pools and worker pools, through prom-client (an optional
 * peer dependency: this module is reached only through the `poolscope/prometheus` subpath, never from the package
 * root).
 *
 * Values are read when the registry is scraped, from the trackers' stats and distributions: nothing is added to
 * the checkout path or per task, nothing is cached between scrapes. Pools tracked later appear at the next scrape; an untracked
 * pool's series disappear. poolscope's metrics are registered on a prom-client Registry (so `registry.metrics()`
 * and your own metrics keep working); `exporter.metrics()` gives the same text faster, writing poolscope's families
 * itself (prometheus-exposition.ts says why).
 *
 * ```ts
 * import { PrometheusExporter } from 'poolscope/prometheus';
 * const exporter = new PrometheusExporter(inspector);
 * res.setHeader('Content-Type', exporter.contentType);
 * res.end(await exporter.metrics());
 * ```
 */
import { Registry } from 'prom-client';
import type { Metric, RegistryContentType } from 'prom-client';
import { OptionsError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { MetricDefinitionBase } from './metric-definition.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS, METRIC_CATALOG, WORKER_POOL_METRIC_CATALOG, validateBucketsSeconds } from './metric-catalog.js';
import type { ExpositionFormat, MetricSample, PoolReading } from './prometheus-exposition.js';
import { PrometheusExposition, poolReadingOf } from './prometheus-exposition.js';
import type { WorkerPoolReading } from './worker-pool-exposition.js';
import { WorkerPoolExposition, workerPoolReadingOf } from './worker-pool-exposition.js';

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

/** What the exporter reads of a prom-client Registry beyond its typed API (see #fastFormat). */
interface RegistryInternals {
  readonly getMetricsAsArray?: unknown;
  readonly getSingleMetricAsString?: unknown;
  readonly _defaultLabels?: unknown;
}

/** Every pool (connection and worker pools) read once for one scrape. */
interface ScrapeReading {
  readonly pools: readonly PoolReading[];
  readonly workerPools: readonly WorkerPoolReading[];
}

/** One of poolscope's families on the registry: its name and how its text and samples are made from a scrape. */
interface RegisteredFamily {
  readonly name: string;
  text(scrape: ScrapeReading, format: ExpositionFormat): string;
  samples(scrape: ScrapeReading): MetricSample[];
}

/**
 * Exports the pools (connection pools and worker pools) of one Inspector as Prometheus metrics (see docs/reference/metrics.md for the names). One
 * exporter per registry: registering on a registry that already holds a metric of the same name throws
 * OptionsError. `close()` removes the metrics again.
 */
export class PrometheusExporter {
  /** The registry the metrics are registered on (the one given, or a new one). */
  readonly registry: Registry<RegistryContentType>;
  readonly #inspector: Inspector;
  /** poolscope's metric objects on the registry, with their families. */
  readonly #registered = new Map<object, RegisteredFamily>();
  /** Pools read once for the metrics of one `registry.metrics()` call (all their get() calls run in the same tick). */
  #scrape: ScrapeReading | undefined;
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
    const buckets = options.buckets === undefined ? DEFAULT_DURATION_BUCKETS_SECONDS : validateBucketsSeconds('buckets', options.buckets);
    const exposition = new PrometheusExposition(buckets);
    const workerExposition = new WorkerPoolExposition(buckets);
    this.#inspector = inspector;
    this.registry = registry;
    const families: [MetricDefinitionBase, RegisteredFamily][] = [
      ...METRIC_CATALOG.map((definition): [MetricDefinitionBase, RegisteredFamily] => [
        definition,
        {
          name: definition.prometheusName,
          text: (scrape, format) => exposition.family(definition, scrape.pools, format),
          samples: (scrape) => exposition.samples(definition, scrape.pools),
        },
      ]),
      ...WORKER_POOL_METRIC_CATALOG.map((definition): [MetricDefinitionBase, RegisteredFamily] => [
        definition,
        {
          name: definition.prometheusName,
          text: (scrape, format) => workerExposition.family(definition, scrape.workerPools, format),
          samples: (scrape) => workerExposition.samples(definition, scrape.workerPools),
        },
      ]),
    ];

    // Check every name before registering any, so a conflict leaves the registry untouched.
    for (const [definition] of families) {
      if (registry.getSingleMetric(definition.prometheusName) !== undefined) {
        throw new OptionsError(
          'registry',
          registry,
          `a prom-client Registry without a metric named "${definition.prometheusName}" (it already has one: is another ` +
            'PrometheusExporter registered on it? close() that one first, or give this exporter its own Registry)',
        );
      }
    }
    for (const [definition, family] of families) {
      const metric = new PoolscopeMetric(definition, () => family.samples(this.#scrapeReading()));
      // prom-client's own Gauge/Counter/Histogram keep values they are given; these read the trackers when scraped.
      // The registry accepts any object with name/help/type/get()/reset() (lib/registry.js), which PoolscopeMetric is.
      registry.registerMetric(metric as unknown as Metric<string>);
      this.#registered.set(metric, family);
    }
  }

  /** The Content-Type to serve `metrics()` with (the registry's: Prometheus text 0.0.4 or OpenMetrics). */
  get contentType(): RegistryContentType {
    return this.registry.contentType;
  }

  /**
   * The registry's exposition text (poolscope's metrics and anything else registered on it), read now. The same text
   * `registry.metrics()` gives, faster: poolscope's families are written directly (see prometheus-exposition.ts) and
   * only the registry's other metrics go through prom-client. Nothing is cached between calls.
   */
  async metrics(): Promise<string> {
    const registry = this.registry;
    const format = this.#fastFormat();
    if (format === undefined) return registry.metrics();
    const metrics = registry.getMetricsAsArray();
    for (const metric of metrics) {
      if (this.#registered.has(metric)) continue;
      // Another metric: prom-client writes it. An OpenMetrics registry renames counters while writing them
      // (Registry#metrics), which only its own serializer does right; so does a metric not found under its name.
      if (format.openMetrics || (registry.getSingleMetric(metric.name) as unknown) !== metric) return registry.metrics();
    }
    const scrape = this.#read();
    const texts = metrics.map((metric) => {
      const family = this.#registered.get(metric);
      return family === undefined ? registry.getSingleMetricAsString(metric.name) : family.text(scrape, format);
    });
    const families = await Promise.all(texts);
    return format.openMetrics ? `${families.join('\n')}\n# EOF\n` : `${families.join('\n\n')}\n`;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Removes poolscope's metrics from the registry (the rest of the registry is left alone). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [metric, family] of this.#registered) {
      if ((this.registry.getSingleMetric(family.name) as unknown) === metric) this.registry.removeSingleMetric(family.name);
    }
    this.#registered.clear();
    this.#scrape = undefined;
  }

  /**
   * The format to write poolscope's families in directly, or undefined to let prom-client serialize everything.
   * prom-client has no public getter for default labels; its Registry keeps them in `_defaultLabels` (15.x). If that
   * field or a method is missing (another prom-client version, a look-alike registry), the exporter falls back to
   * `registry.metrics()`: slower, never wrong.
   */
  #fastFormat(): ExpositionFormat | undefined {
    const registry = this.registry;
    const internals = registry as unknown as RegistryInternals;
    if (typeof internals.getMetricsAsArray !== 'function' || typeof internals.getSingleMetricAsString !== 'function') return undefined;
    const defaultLabels = internals._defaultLabels;
    if (defaultLabels === null || typeof defaultLabels !== 'object') return undefined;
    const contentType: string = registry.contentType;
    if (contentType !== Registry.PROMETHEUS_CONTENT_TYPE && contentType !== Registry.OPENMETRICS_CONTENT_TYPE) return undefined;
    return { openMetrics: contentType === Registry.OPENMETRICS_CONTENT_TYPE, defaultLabels: defaultLabels as Record<string, unknown> };
  }

  /** The pools of one `registry.metrics()` call: read by the first get(), dropped after the current tick. */
  #scrapeReading(): ScrapeReading {
    let scrape = this.#scrape;
    if (scrape === undefined) {
      scrape = this.#read();
      this.#scrape = scrape;
      queueMicrotask(() => {
        this.#scrape = undefined;
      });
    }
    return scrape;
  }

  #read(): ScrapeReading {
    return { pools: this.#readPools(), workerPools: this.#readWorkerPools() };
  }

  /** Every tracked pool's stats and histograms, read now. */
  #readPools(): PoolReading[] {
    if (this.#closed) return [];
    const pools: PoolReading[] = [];
    for (const name of this.#inspector.poolNames()) {
      const tracker = this.#inspector.pool(name);
      if (tracker === undefined) continue;
      try {
        pools.push(poolReadingOf(tracker.name, tracker.stats(), tracker.distributions()));
      } catch (error) {
        // One pool failing to read must not fail the scrape: it is left out, the error goes to the inspector's onError.
        this.#inspector.reportError(error);
      }
    }
    return pools;
  }

  /** Every tracked worker pool's stats, live workers and distributions, read now (same failure rule as pools). */
  #readWorkerPools(): WorkerPoolReading[] {
    if (this.#closed) return [];
    const pools: WorkerPoolReading[] = [];
    for (const name of this.#inspector.workerPoolNames()) {
      const view = this.#inspector.workerPool(name);
      if (view === undefined || view.closed) continue;
      try {
        pools.push(workerPoolReadingOf(view));
      } catch (error) {
        this.#inspector.reportError(error);
      }
    }
    return pools;
  }
}

/**
 * One of poolscope's metric families on a prom-client Registry, in the object shape the Registry reads: `name`,
 * `help`, `type`, `aggregator`, `labelNames`, `get()` (samples; histogram samples carry `metricName`
 * `<name>_bucket|_sum|_count` and an `le` label) and `reset()`.
 */
class PoolscopeMetric {
  /** Writable: an OpenMetrics registry renames counters (drops `_total`) by assignment while writing them. */
  name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  readonly #samples: () => MetricSample[];

  constructor(definition: MetricDefinitionBase, samples: () => MetricSample[]) {
    this.name = definition.prometheusName;
    this.help = definition.help;
    this.type = definition.prometheusType;
    this.labelNames = definition.prometheusLabels;
    this.#samples = samples;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricSample[] }> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.#samples() });
  }

  /** `registry.resetMetrics()` calls this; the values belong to the trackers, so there is nothing to reset. */
  reset(): void {
    // Nothing: every scrape reads the trackers afresh.
  }
}
