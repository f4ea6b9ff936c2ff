/**
 * A per-pool time series in a fixed ring of typed arrays: one sample per interval (default 1 s) for the retention
 * (default 15 minutes, 900 samples). No allocation per sample.
 */

export const DEFAULT_HISTORY_INTERVAL_MILLIS = 1000;
export const DEFAULT_HISTORY_RETENTION_MILLIS = 15 * 60_000;

/** One sample of a pool. */
export interface PoolHistoryPoint {
  /** ISO-8601 time of the sample. */
  readonly timestamp: string;
  readonly total: number;
  readonly idle: number;
  readonly used: number;
  readonly pending: number;
  readonly max: number;
  readonly utilizationPercent: number;
  /** Checkouts since the previous sample. */
  readonly acquires: number;
  /** Acquire timeouts since the previous sample. */
  readonly timeouts: number;
  /** Wait time percentiles (ms) of the checkouts since the previous sample; null when there were none. */
  readonly waitP50Millis: number | null;
  readonly waitP95Millis: number | null;
  readonly waitP99Millis: number | null;
  /** Hold time percentiles (ms) of the releases since the previous sample; null when there were none. */
  readonly holdP50Millis: number | null;
  readonly holdP95Millis: number | null;
  readonly holdP99Millis: number | null;
}

const COLUMNS = 15;
const [T, TOTAL, IDLE, USED, PENDING, MAX, UTIL, ACQ, TIMEOUTS] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
/** Wait p50, p95, p99, then hold p50, p95, p99 (NaN: none in the interval). */
const WAIT = 9;
const HOLD = 12;

export interface HistorySample {
  wallMillis: number;
  total: number;
  idle: number;
  used: number;
  pending: number;
  max: number;
  utilizationPercent: number;
  acquiresTotal: number;
  timeoutsTotal: number;
  /** p50, p95, p99 (ms) of the interval's waits and holds; NaN where there were none. */
  waitPercentiles: readonly number[];
  holdPercentiles: readonly number[];
}

export class PoolHistory {
  readonly #capacity: number;
  readonly #data: Float64Array;
  #next = 0;
  #size = 0;
  #lastAcquires = 0;
  #lastTimeouts = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
    this.#data = new Float64Array(this.#capacity * COLUMNS);
  }

  get capacity(): number {
    return this.#capacity;
  }

  record(sample: HistorySample): void {
    const base = this.#next * COLUMNS;
    const d = this.#data;
    d[base + T] = sample.wallMillis;
    d[base + TOTAL] = sample.total;
    d[base + IDLE] = sample.idle;
    d[base + USED] = sample.used;
    d[base + PENDING] = sample.pending;
    d[base + MAX] = sample.max;
    d[base + UTIL] = sample.utilizationPercent;
    d[base + ACQ] = sample.acquiresTotal - this.#lastAcquires;
    d[base + TIMEOUTS] = sample.timeoutsTotal - this.#lastTimeouts;
    for (let k = 0; k < 3; k++) {
      d[base + WAIT + k] = sample.waitPercentiles[k] ?? Number.NaN;
      d[base + HOLD + k] = sample.holdPercentiles[k] ?? Number.NaN;
    }
    this.#lastAcquires = sample.acquiresTotal;
    this.#lastTimeouts = sample.timeoutsTotal;
    this.#next = (this.#next + 1) % this.#capacity;
    if (this.#size < this.#capacity) this.#size += 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Samples oldest first, optionally only those at or after `sinceWallMillis`. */
  points(sinceWallMillis = Number.NEGATIVE_INFINITY): PoolHistoryPoint[] {
    const out: PoolHistoryPoint[] = [];
    const start = (this.#next - this.#size + this.#capacity) % this.#capacity;
    const d = this.#data;
    for (let i = 0; i < this.#size; i++) {
      const base = ((start + i) % this.#capacity) * COLUMNS;
      const t = d[base + T] ?? 0;
      if (t < sinceWallMillis) continue;
      out.push({
        timestamp: new Date(t).toISOString(),
        total: d[base + TOTAL] ?? 0,
        idle: d[base + IDLE] ?? 0,
        used: d[base + USED] ?? 0,
        pending: d[base + PENDING] ?? 0,
        max: d[base + MAX] ?? 0,
        utilizationPercent: d[base + UTIL] ?? 0,
        acquires: d[base + ACQ] ?? 0,
        timeouts: d[base + TIMEOUTS] ?? 0,
        waitP50Millis: millisOrNull(d[base + WAIT]),
        waitP95Millis: millisOrNull(d[base + WAIT + 1]),
        waitP99Millis: millisOrNull(d[base + WAIT + 2]),
        holdP50Millis: millisOrNull(d[base + HOLD]),
        holdP95Millis: millisOrNull(d[base + HOLD + 1]),
        holdP99Millis: millisOrNull(d[base + HOLD + 2]),
      });
    }
    return out;
  }
}

/** A stored percentile as the JSON shows it: rounded to the microsecond, null for none. */
function millisOrNull(value: number | undefined): number | null {
  return value === undefined || Number.isNaN(value) ? null : Math.round(value * 1000) / 1000;
}
