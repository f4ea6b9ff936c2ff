import { Histogram } from './histogram.js';

/**
 * A worker pool's time series, like a connection pool's (pool-history.ts): one sample per history interval of the
 * inspector (default 1 s) for its retention (default 15 minutes), in a fixed ring of typed arrays. No allocation per
 * sample; a sample reads the library's workers once and never asks the workers for their memory.
 */

/** One sample of a worker pool (`WorkerPoolView#history()`). */
export interface WorkerPoolHistoryPoint {
  /** ISO-8601 time of the sample. */
  readonly timestamp: string;
  /** Live workers (starting ones included). */
  readonly workers: number;
  readonly capacity: number;
  /** Tasks running at the sample. */
  readonly capacityUsed: number;
  readonly utilizationPercent: number;
  readonly queueSize: number;
  /** Tasks that finished with a result since the previous sample. */
  readonly tasksCompleted: number;
  /** Tasks that settled with an error since the previous sample. */
  readonly tasksFailed: number;
  /** Tasks refused by a full queue since the previous sample. */
  readonly tasksRejected: number;
  /** Run time percentiles (ms) of the tasks that finished since the previous sample; null when none did. */
  readonly runP50Millis: number | null;
  readonly runP95Millis: number | null;
  readonly runP99Millis: number | null;
  /** Wait percentiles (ms) of the tasks that started since the previous sample; null when none did. */
  readonly waitP50Millis: number | null;
  readonly waitP95Millis: number | null;
  readonly waitP99Millis: number | null;
  /** Memory of the live workers with a reading (their latest), summed; null when none has one (never 0 for unknown). */
  readonly memoryTotalMb: number | null;
}

/** What one sample records (totals are cumulative; the ring stores their differences). */
export interface WorkerPoolHistorySample {
  wallMillis: number;
  workers: number;
  capacity: number;
  capacityUsed: number;
  utilizationPercent: number;
  queueSize: number;
  completedTotal: number;
  failedTotal: number;
  rejectedTotal: number;
  /** NaN when no live worker has a reading. */
  memoryTotalMb: number;
}

const [T, WORKERS, CAPACITY, USED, UTIL, QUEUE, COMPLETED, FAILED, REJECTED, RUN, WAIT, MEMORY] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15] as const;
const COLUMNS = 16;
const QUANTILES = [0.5, 0.95, 0.99] as const;

export class WorkerPoolHistory {
  readonly #capacity: number;
  readonly #data: Float64Array;
  #next = 0;
  #size = 0;
  #lastCompleted = 0;
  #lastFailed = 0;
  #lastRejected = 0;
  /** The run and wait histograms' bucket counts at the previous sample (for the interval's percentiles). */
  readonly #runMark = new Float64Array(Histogram.bucketCount);
  readonly #waitMark = new Float64Array(Histogram.bucketCount);
  readonly #runPercentiles: number[] = [];
  readonly #waitPercentiles: number[] = [];

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
    this.#data = new Float64Array(this.#capacity * COLUMNS);
  }

  get size(): number {
    return this.#size;
  }

  /** Records a sample, with the percentiles of what `runTime` and `waitTime` recorded since the previous one. */
  record(sample: WorkerPoolHistorySample, runTime: Histogram, waitTime: Histogram): void {
    const run = runTime.intervalQuantiles(this.#runMark, QUANTILES, this.#runPercentiles);
    const wait = waitTime.intervalQuantiles(this.#waitMark, QUANTILES, this.#waitPercentiles);
    const base = this.#next * COLUMNS;
    const d = this.#data;
    d[base + T] = sample.wallMillis;
    d[base + WORKERS] = sample.workers;
    d[base + CAPACITY] = sample.capacity;
    d[base + USED] = sample.capacityUsed;
    d[base + UTIL] = sample.utilizationPercent;
    d[base + QUEUE] = sample.queueSize;
    d[base + COMPLETED] = sample.completedTotal - this.#lastCompleted;
    d[base + FAILED] = sample.failedTotal - this.#lastFailed;
    d[base + REJECTED] = sample.rejectedTotal - this.#lastRejected;
    for (let k = 0; k < 3; k++) {
      d[base + RUN + k] = run[k] ?? Number.NaN;
      d[base + WAIT + k] = wait[k] ?? Number.NaN;
    }
    d[base + MEMORY] = sample.memoryTotalMb;
    this.#lastCompleted = sample.completedTotal;
    this.#lastFailed = sample.failedTotal;
    this.#lastRejected = sample.rejectedTotal;
    this.#next = (this.#next + 1) % this.#capacity;
    if (this.#size < this.#capacity) this.#size += 1;
  }

  /** Samples oldest first, optionally only those at or after `sinceWallMillis`. */
  points(sinceWallMillis = Number.NEGATIVE_INFINITY): WorkerPoolHistoryPoint[] {
    const out: WorkerPoolHistoryPoint[] = [];
    const start = (this.#next - this.#size + this.#capacity) % this.#capacity;
    const d = this.#data;
    for (let i = 0; i < this.#size; i++) {
      const base = ((start + i) % this.#capacity) * COLUMNS;
      const t = d[base + T] ?? 0;
      if (t < sinceWallMillis) continue;
      out.push({
        timestamp: new Date(t).toISOString(),
        workers: d[base + WORKERS] ?? 0,
        capacity: d[base + CAPACITY] ?? 0,
        capacityUsed: d[base + USED] ?? 0,
        utilizationPercent: d[base + UTIL] ?? 0,
        queueSize: d[base + QUEUE] ?? 0,
        tasksCompleted: d[base + COMPLETED] ?? 0,
        tasksFailed: d[base + FAILED] ?? 0,
        tasksRejected: d[base + REJECTED] ?? 0,
        runP50Millis: roundedOrNull(d[base + RUN]),
        runP95Millis: roundedOrNull(d[base + RUN + 1]),
        runP99Millis: roundedOrNull(d[base + RUN + 2]),
        waitP50Millis: roundedOrNull(d[base + WAIT]),
        waitP95Millis: roundedOrNull(d[base + WAIT + 1]),
        waitP99Millis: roundedOrNull(d[base + WAIT + 2]),
        memoryTotalMb: roundedOrNull(d[base + MEMORY]),
      });
    }
    return out;
  }
}

/** A stored value as the JSON shows it: rounded to three decimals, null for none (NaN). */
function roundedOrNull(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : Math.round(value * 1000) / 1000;
}
