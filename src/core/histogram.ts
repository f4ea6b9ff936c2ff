/**
 * A fixed-bucket, log-scale histogram of durations in milliseconds. Recording is allocation-free (one typed-array
 * increment); percentiles are read from the buckets with a relative error of at most about 9% (bucket width 2^(1/4)).
 *
 * Why not a library: HDR histograms give percentiles but not cumulative buckets at fixed bounds, which Prometheus
 * needs; these buckets serve both (an exporter sums them into any coarser set of bounds).
 */

/** Smallest bucket upper bound, in milliseconds (1 microsecond). */
const MIN_BOUND_MILLIS = 0.001;
/** Buckets per doubling. */
const STEPS_PER_DOUBLING = 4;
/** Half a bucket's width as a factor. */
const HALF_STEP = 2 ** (1 / (2 * STEPS_PER_DOUBLING));
/** 1 us .. about 5.4 days in 2^(1/4) steps, then one overflow bucket. */
const BUCKET_COUNT = 4 * 39 + 1;
const LOG2_MIN = Math.log2(MIN_BOUND_MILLIS);

/** Read-only summary of a distribution, in milliseconds. */
export interface DistributionSnapshot {
  readonly count: number;
  readonly sumMillis: number;
  readonly minMillis: number;
  readonly maxMillis: number;
  readonly meanMillis: number;
  readonly p50Millis: number;
  readonly p90Millis: number;
  readonly p95Millis: number;
  readonly p99Millis: number;
}

/** The upper bound (inclusive) of bucket `index`, in milliseconds. */
export function bucketUpperBoundMillis(index: number): number {
  if (index >= BUCKET_COUNT - 1) return Number.POSITIVE_INFINITY;
  return MIN_BOUND_MILLIS * 2 ** (index / STEPS_PER_DOUBLING);
}

/**
 * The index of our last bucket whose upper bound is at or below `boundMillis` (within 1e-9, relative): the buckets a
 * coarser bound `le` sums up to, as `cumulativeCounts` reads them. -1 when even our first bound is above it (less
 * than 1 us). Read-only helper for exporters that read many histograms at the same bounds: compute the indexes once,
 * then call `cumulativeCountsAtIndexes` per histogram.
 */
export function lastBucketIndexAtOrBelow(boundMillis: number): number {
  let index = -1;
  while (index + 1 < BUCKET_COUNT && bucketUpperBoundMillis(index + 1) <= boundMillis * (1 + 1e-9)) index++;
  return index;
}

export class Histogram {
  readonly #counts = new Float64Array(BUCKET_COUNT);
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  /** Records one duration in milliseconds. Negative or NaN values count as 0. */
  record(millis: number): void {
    // NaN, negatives and -Infinity count as 0; +Infinity as the largest finite double (keeps JSON numeric).
    const value = millis > 0 ? (millis === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : millis) : 0;
    let index = 0;
    if (value > MIN_BOUND_MILLIS) {
      index = Math.ceil((Math.log2(value) - LOG2_MIN) * STEPS_PER_DOUBLING - 1e-9);
      if (index >= BUCKET_COUNT) index = BUCKET_COUNT - 1;
    }
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#count += 1;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  get count(): number {
    return this.#count;
  }

  get sumMillis(): number {
    return this.#sum;
  }

  /**
   * The value at quantile `q` (0..1): the geometric middle of its bucket (relative error at most 2^(1/8) - 1,
   * about 9%), clamped to the observed min and max.
   */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) {
        const middle = i === 0 ? MIN_BOUND_MILLIS : bucketUpperBoundMillis(i) / HALF_STEP;
        return Math.min(Math.max(middle, this.#min), this.#max);
      }
    }
    return this.#max;
  }

  /**
   * Cumulative counts at the given upper bounds (milliseconds, ascending), the way Prometheus buckets read:
   * each entry counts the observations <= its bound. A bound between two of ours counts up to ours just below it.
   */
  cumulativeCounts(boundsMillis: readonly number[]): number[] {
    const result: number[] = [];
    let i = 0;
    let running = 0;
    for (const bound of boundsMillis) {
      while (i < BUCKET_COUNT && bucketUpperBoundMillis(i) <= bound * (1 + 1e-9)) {
        running += this.#counts[i] ?? 0;
        i++;
      }
      result.push(running);
    }
    return result;
  }

  /**
   * Cumulative counts at bucket indexes from `lastBucketIndexAtOrBelow` (ascending), written into `out` (which is
   * returned): entry k counts the observations in our buckets 0..lastIndexes[k]. The same numbers `cumulativeCounts`
   * gives for the bounds the indexes came from, without recomputing our bucket bounds on every read.
   */
  cumulativeCountsAtIndexes(lastIndexes: readonly number[], out: number[] = []): number[] {
    const counts = this.#counts;
    let i = 0;
    let running = 0;
    for (let k = 0; k < lastIndexes.length; k++) {
      const last = Math.min(lastIndexes[k] ?? -1, BUCKET_COUNT - 1);
      while (i <= last) running += counts[i++] ?? 0;
      out[k] = running;
    }
    out.length = lastIndexes.length;
    return out;
  }

  /**
   * Quantiles of what was recorded since the previous call with the same `mark` (a Float64Array of `bucketCount`
   * entries holding the counts seen then, brought up to date here): per-interval percentiles for a time series.
   * Each is the geometric middle of its bucket, clamped to the observed min and max; NaN when nothing was recorded
   * in between. No allocation.
   */
  intervalQuantiles(mark: Float64Array, qs: readonly number[], out: number[]): number[] {
    const counts = this.#counts;
    let total = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) total += (counts[i] ?? 0) - (mark[i] ?? 0);
    for (let k = 0; k < qs.length; k++) out[k] = Number.NaN;
    out.length = qs.length;
    if (total > 0) {
      let seen = 0;
      let k = 0;
      for (let i = 0; i < BUCKET_COUNT && k < qs.length; i++) {
        seen += (counts[i] ?? 0) - (mark[i] ?? 0);
        while (k < qs.length && seen >= Math.max(1, Math.ceil((qs[k] ?? 0) * total))) {
          const middle = i === 0 ? MIN_BOUND_MILLIS : bucketUpperBoundMillis(i) / HALF_STEP;
          out[k] = Math.min(Math.max(middle, this.#min), this.#max);
          k++;
        }
      }
    }
    mark.set(counts);
    return out;
  }

  /** Entries a mark for `intervalQuantiles` needs. */
  static get bucketCount(): number {
    return BUCKET_COUNT;
  }

  snapshot(): DistributionSnapshot {
    const count = this.#count;
    return {
      count,
      sumMillis: round3(this.#sum),
      minMillis: count === 0 ? 0 : round3(this.#min),
      maxMillis: round3(this.#max),
      meanMillis: count === 0 ? 0 : round3(this.#sum / count),
      p50Millis: round3(this.quantile(0.5)),
      p90Millis: round3(this.quantile(0.9)),
      p95Millis: round3(this.quantile(0.95)),
      p99Millis: round3(this.quantile(0.99)),
    };
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
