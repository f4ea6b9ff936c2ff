import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, bucketUpperBoundMillis, lastBucketIndexAtOrBelow } from '../../src/core/histogram.js';
import { EMPTY_DISTRIBUTION } from '../support/pool-stats-fixture.js';

/** Documented: "a relative error of at most about 9% (bucket width 2^(1/4))", i.e. half a bucket, 2^(1/8) - 1. */
const MAX_RELATIVE_ERROR = 2 ** (1 / 8) - 1 + 1e-6;

/** The exact q-quantile of a sorted sample (nearest rank, as the histogram ranks). */
function exactQuantile(sorted: readonly number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

function assertWithinRelativeError(actual: number, expected: number, label: string): void {
  const error = Math.abs(actual - expected) / expected;
  assert.ok(
    error <= MAX_RELATIVE_ERROR,
    `${label}: got ${actual}, exact ${expected}, relative error ${(error * 100).toFixed(2)}% > ${(MAX_RELATIVE_ERROR * 100).toFixed(2)}%`,
  );
}

describe('Histogram summary', () => {
  test('count, sum, min, max and mean follow the recorded values', () => {
    const h = new Histogram();
    for (const v of [3, 7.5, 12, 0.25]) h.record(v);
    const s = h.snapshot();
    assert.equal(s.count, 4);
    assert.equal(h.count, 4);
    assert.equal(s.sumMillis, 22.75);
    assert.equal(h.sumMillis, 22.75);
    assert.equal(s.minMillis, 0.25);
    assert.equal(s.maxMillis, 12);
    assert.equal(s.meanMillis, 5.688); // 22.75 / 4 = 5.6875, rounded to 0.001
  });

  test('an empty histogram snapshots to all zeros', () => {
    const s = new Histogram().snapshot();
    assert.deepEqual(s, EMPTY_DISTRIBUTION);
    assert.equal(new Histogram().quantile(0.5), 0);
  });

  test('a single value is reported exactly at every percentile (clamped to min and max)', () => {
    const h = new Histogram();
    h.record(42.123);
    const s = h.snapshot();
    assert.equal(s.p50Millis, 42.123);
    assert.equal(s.p99Millis, 42.123);
    assert.equal(s.minMillis, 42.123);
    assert.equal(s.maxMillis, 42.123);
  });

  test('zero, negative and NaN durations count as 0', () => {
    const h = new Histogram();
    h.record(0);
    h.record(-5);
    h.record(Number.NaN);
    h.record(10);
    const s = h.snapshot();
    assert.equal(s.count, 4);
    assert.equal(s.sumMillis, 10);
    assert.equal(s.minMillis, 0);
    assert.equal(s.maxMillis, 10);
    assert.equal(s.meanMillis, 2.5);
    // Half the observations are 0: p50 is within the first bucket (resolution 1 us).
    assert.ok(s.p50Millis >= 0 && s.p50Millis <= 0.001, `p50 ${s.p50Millis}`);
    assert.ok(!Number.isNaN(s.p99Millis));
    // The three zero-like values sit in the first bucket.
    assert.deepEqual(h.cumulativeCounts([bucketUpperBoundMillis(0)]), [3]);
  });

  test('percentiles never leave the observed [min, max] range', () => {
    const h = new Histogram();
    for (let i = 0; i < 50; i++) h.record(100 + i);
    const s = h.snapshot();
    for (const p of [s.p50Millis, s.p90Millis, s.p95Millis, s.p99Millis]) {
      assert.ok(p >= 100 && p <= 149, `percentile ${p} outside [100, 149]`);
    }
  });
});

describe('Histogram percentiles within the documented relative error (~9%)', () => {
  const cases: { name: string; values: number[] }[] = [
    { name: 'uniform 1..1000 ms', values: Array.from({ length: 1000 }, (_, i) => i + 1) },
    { name: 'uniform 0.1..100 ms in 0.1 steps', values: Array.from({ length: 1000 }, (_, i) => (i + 1) / 10) },
    {
      name: 'log-uniform 0.01 ms..10 s',
      values: Array.from({ length: 2000 }, (_, i) => 0.01 * 10 ** ((6 * i) / 1999)),
    },
  ];
  for (const { name, values } of cases) {
    test(name, () => {
      const h = new Histogram();
      // Insertion order must not matter: record in a scrambled order.
      for (let i = 0; i < values.length; i++) h.record(values[(i * 7919) % values.length] as number);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.95, 0.99]) {
        assertWithinRelativeError(h.quantile(q), exactQuantile(sorted, q), `${name} q=${q}`);
      }
      const s = h.snapshot();
      assert.equal(s.count, values.length);
      assertWithinRelativeError(s.p90Millis, exactQuantile(sorted, 0.9), `${name} snapshot p90`);
    });
  }

  test('a value just above a bucket boundary is still reported within ~9%', () => {
    const h = new Histogram();
    const v = bucketUpperBoundMillis(60) * 1.001; // just inside bucket 61
    for (let i = 0; i < 99; i++) h.record(v);
    h.record(10_000); // keeps max far away so the clamp cannot hide the bucket's upper bound
    assertWithinRelativeError(h.quantile(0.5), v, 'p50 of a value just above a boundary');
  });
});

describe('Histogram buckets', () => {
  test('bucket bounds grow by 2^(1/4), start at 1 us and end with an overflow bucket', () => {
    assert.equal(bucketUpperBoundMillis(0), 0.001);
    for (const i of [1, 10, 80, 150]) {
      const ratio = bucketUpperBoundMillis(i) / bucketUpperBoundMillis(i - 1);
      assert.ok(Math.abs(ratio - 2 ** 0.25) < 1e-9, `ratio at ${i} is ${ratio}`);
    }
    assert.equal(bucketUpperBoundMillis(10_000), Number.POSITIVE_INFINITY);
  });

  test('cumulativeCounts is monotonic and ends at the total count', () => {
    const h = new Histogram();
    const values = [0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];
    for (const v of values) h.record(v);
    const bounds = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];
    const counts = h.cumulativeCounts(bounds);
    assert.equal(counts.length, bounds.length);
    for (let i = 1; i < counts.length; i++) {
      assert.ok((counts[i] as number) >= (counts[i - 1] as number), `not monotonic at ${bounds[i]}: ${counts.join(',')}`);
    }
    assert.equal(counts.at(-1), values.length);
    assert.deepEqual(h.cumulativeCounts([Number.POSITIVE_INFINITY]), [values.length]);
    assert.deepEqual(h.cumulativeCounts([]), []);
  });

  test('at its own bucket bounds, cumulativeCounts counts exactly the observations <= the bound', () => {
    const h = new Histogram();
    const values: number[] = [];
    // Values spread over many buckets, including some exactly on a bound.
    for (let i = 0; i < 300; i++) values.push(0.0007 * 1.05 ** i);
    for (const i of [20, 40, 41, 90]) values.push(bucketUpperBoundMillis(i));
    for (const v of values) h.record(v);
    const indexes = [0, 5, 20, 39, 40, 41, 60, 89, 90, 100, 120];
    const bounds = indexes.map((i) => bucketUpperBoundMillis(i));
    const expected = bounds.map((b) => values.filter((v) => v <= b).length);
    assert.deepEqual(h.cumulativeCounts(bounds), expected);
  });

  test('cumulativeCountsAtIndexes (indexes from lastBucketIndexAtOrBelow) gives what cumulativeCounts gives', () => {
    const h = new Histogram();
    for (let i = 0; i < 400; i++) h.record(0.0004 * 1.07 ** i);
    for (const i of [0, 3, 40, 41, 90]) h.record(bucketUpperBoundMillis(i));
    const boundSets = [
      [0.0005, 0.001, 1, 1.024, 5, 10, 50, 100, 500, 1000, 5000, 10_000, 30_000],
      [bucketUpperBoundMillis(40), bucketUpperBoundMillis(41), 1e12],
      [Number.POSITIVE_INFINITY],
      [],
    ];
    for (const bounds of boundSets) {
      const indexes = bounds.map((bound) => lastBucketIndexAtOrBelow(bound));
      assert.deepEqual(h.cumulativeCountsAtIndexes(indexes), h.cumulativeCounts(bounds), bounds.join(','));
    }
    assert.equal(lastBucketIndexAtOrBelow(0.0005), -1, 'below our first bound');
    assert.equal(lastBucketIndexAtOrBelow(bucketUpperBoundMillis(40)), 40, 'exactly on a bound');
    const reused = [9, 9, 9, 9];
    assert.equal(h.cumulativeCountsAtIndexes([0, 156], reused), reused, 'writes into the array given');
    assert.deepEqual(reused, [h.cumulativeCounts([0.001])[0], h.count]);
  });

  test('a coarser bound between two of ours counts up to our bound just below it', () => {
    const h = new Histogram();
    const below = bucketUpperBoundMillis(53); // ~9.74 ms, the last of our bounds <= 10 ms
    h.record(below * 0.99); // counted at 10 ms
    h.record(9.9); // above our bound just below 10 ms: lands in the bucket ending above 10, so not counted at 10
    h.record(20);
    assert.deepEqual(h.cumulativeCounts([10, 100]), [1, 3]);
  });
});

describe('Histogram interval quantiles', () => {
  test('quantiles of what was recorded since the mark; NaN for an empty interval; the mark moves on', () => {
    const histogram = new Histogram();
    const mark = new Float64Array(Histogram.bucketCount);
    const out: number[] = [];
    assert.ok(histogram.intervalQuantiles(mark, [0.5, 0.99], out).every(Number.isNaN), 'nothing recorded yet');
    for (let i = 0; i < 100; i++) histogram.record(100);
    const [p50, p99] = histogram.intervalQuantiles(mark, [0.5, 0.99], out);
    assert.ok(Math.abs((p50 ?? 0) - 100) <= 10 && Math.abs((p99 ?? 0) - 100) <= 10, `${p50} ${p99}`);
    for (let i = 0; i < 10; i++) histogram.record(1);
    const [second] = histogram.intervalQuantiles(mark, [0.5], out);
    assert.ok(Math.abs((second ?? 0) - 1) <= 0.1, `only the second interval's values count: ${second}`);
    assert.ok(histogram.intervalQuantiles(mark, [0.5], out).every(Number.isNaN), 'nothing since');
    assert.equal(histogram.count, 110, 'the histogram itself is untouched');
  });
});
