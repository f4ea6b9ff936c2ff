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
}

const COLUMNS = 9;
const [T, TOTAL, IDLE, USED, PENDING, MAX, UTIL, ACQ, TIMEOUTS] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;

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
      });
    }
    return out;
  }
}
