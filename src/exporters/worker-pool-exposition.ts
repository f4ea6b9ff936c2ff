/**
 * The Prometheus samples and text of the worker pool families (WORKER_POOL_METRIC_CATALOG), byte for byte as
 * prom-client's Registry writes them. Worker pools are few (a handful per process, not the thousands of tenant
 * connection pools), so each family's text is written from its samples, one generic line each, rather than with the
 * per-shape string building of prometheus-exposition.ts.
 */
import type { WorkerPoolStats, WorkerSnapshot } from '../core/worker-pool-stats.js';
import type { WorkerPoolView } from '../core/worker-pool-view.js';
import { lastBucketIndexAtOrBelow } from '../core/histogram.js';
import { PROMETHEUS_POOL_NAME_LABEL } from './metric-definition.js';
import type { ExpositionFormat, MetricSample } from './prometheus-exposition.js';
import { defaultLabelText, escapeLabelValue, escapeString, sampleValue } from './prometheus-exposition.js';
import type { WorkerPoolDistributions, WorkerPoolMetricDefinition } from './worker-pool-metric-definition.js';
import {
  LIVE_WORKER_STATUSES,
  PROMETHEUS_PROFILE_LABEL,
  PROMETHEUS_WORKER_ID_LABEL,
  PROMETHEUS_WORKER_STATUS_LABEL,
  workerDistributionOf,
} from './worker-pool-metric-definition.js';

/** One worker pool, read once for one scrape. */
export interface WorkerPoolReading {
  readonly poolName: string;
  readonly profile: string;
  readonly stats: WorkerPoolStats;
  /** The live workers (exited ones have no series). */
  readonly workers: readonly WorkerSnapshot[];
  readonly distributions: WorkerPoolDistributions;
}

/** Reads a worker pool now: one snapshot (stats and workers) and its distributions. */
export function workerPoolReadingOf(view: WorkerPoolView): WorkerPoolReading {
  const snapshot = view.snapshot();
  return {
    poolName: view.name,
    profile: view.profile,
    stats: snapshot.stats,
    workers: snapshot.workers.filter((worker) => worker.status !== 'exited'),
    distributions: view.distributions(),
  };
}

/** Writes the worker pool families for a set of worker pools, with the exporter's histogram bounds. */
export class WorkerPoolExposition {
  readonly #boundsSeconds: readonly number[];
  /** Per bound: the last of poolscope's own buckets it sums up to (found once). */
  readonly #lastIndexes: readonly number[];
  readonly #cumulative: number[] = [];

  constructor(boundsSeconds: readonly number[]) {
    this.#boundsSeconds = boundsSeconds;
    this.#lastIndexes = boundsSeconds.map((bound) => lastBucketIndexAtOrBelow(bound * 1000));
  }

  /** The samples of one family, in the shape prom-client's Registry reads (and the order it writes them). */
  samples(definition: WorkerPoolMetricDefinition, pools: readonly WorkerPoolReading[]): MetricSample[] {
    const values: MetricSample[] = [];
    for (const pool of pools) {
      const labels = { [PROMETHEUS_POOL_NAME_LABEL]: pool.poolName, [PROMETHEUS_PROFILE_LABEL]: pool.profile };
      switch (definition.shape) {
        case 'scalar': {
          const value = definition.read(pool.stats);
          if (value !== null) values.push({ labels, value });
          break;
        }
        case 'per-status':
          for (const status of LIVE_WORKER_STATUSES) {
            values.push({ labels: { ...labels, [PROMETHEUS_WORKER_STATUS_LABEL]: status }, value: definition.read(pool.stats, status) });
          }
          break;
        case 'per-worker':
          for (const worker of pool.workers) {
            const value = definition.read(worker);
            if (value !== null) values.push({ labels: { ...labels, [PROMETHEUS_WORKER_ID_LABEL]: String(worker.id) }, value });
          }
          break;
        case 'histogram': {
          const name = definition.prometheusName;
          const histogram = workerDistributionOf(pool.distributions, definition);
          // count, sum and buckets read together, synchronously: one consistent view of the histogram.
          const count = histogram.count;
          const cumulative = histogram.cumulativeCountsAtIndexes(this.#lastIndexes, this.#cumulative);
          for (let i = 0; i < this.#boundsSeconds.length; i++) {
            values.push({ metricName: `${name}_bucket`, labels: { le: this.#boundsSeconds[i] ?? 0, ...labels }, value: cumulative[i] ?? 0 });
          }
          values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: count });
          values.push({ metricName: `${name}_sum`, labels, value: histogram.sumMillis / 1000 });
          values.push({ metricName: `${name}_count`, labels, value: count });
          break;
        }
      }
    }
    return values;
  }

  /**
   * The text of one family (`# HELP`, `# TYPE`, one line per sample, no trailing newline), as prom-client's
   * `Registry#getMetricsAsString` writes it: the sample's labels in order, then the registry's default labels.
   */
  family(definition: WorkerPoolMetricDefinition, pools: readonly WorkerPoolReading[], format: ExpositionFormat): string {
    const counter = definition.prometheusType === 'counter';
    const familyName = format.openMetrics && counter ? definition.prometheusName.replace(/_total$/, '') : definition.prometheusName;
    const sampleName = format.openMetrics && counter ? `${familyName}_total` : familyName;
    let text = `# HELP ${escapeString(familyName)} ${escapeString(definition.help)}\n# TYPE ${escapeString(familyName)} ${definition.prometheusType}`;
    for (const sample of this.samples(definition, pools)) {
      let labels = '';
      for (const [name, value] of Object.entries(sample.labels)) {
        labels += `${labels === '' ? '' : ','}${name}="${typeof value === 'string' ? escapeLabelValue(value) : String(value)}"`;
      }
      labels += defaultLabelText(format.defaultLabels, Object.keys(sample.labels));
      text += `\n${sample.metricName ?? sampleName}{${labels}} ${sampleValue(sample.value)}`;
    }
    return text;
  }
}
