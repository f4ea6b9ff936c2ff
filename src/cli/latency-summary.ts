import { InternalError } from '../errors.js';
import type { DistributionSnapshot } from '../core/histogram.js';

/** Latency percentiles of a set of measured durations (milliseconds). */

/**
 * The nearest-rank percentile `p` (0-100) of values sorted ascending: the smallest value with at least p% of the
 * values at or below it. NaN for no values.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
  const n = sortedAscending.length;
  if (n === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new InternalError(`percentile must be in [0, 100], not ${p}`);
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sortedAscending[rank - 1] as number;
}

/** min, p50, p95, p99, max and mean of some durations, rounded to 0.001 ms. */
export interface LatencySummary {
  readonly count: number;
  readonly minMillis: number;
  readonly p50Millis: number;
  readonly p95Millis: number;
  readonly p99Millis: number;
  readonly maxMillis: number;
  readonly meanMillis: number;
}

/** The summary of `millis` (any order), or null when there are none. */
export function summarizeLatencies(millis: readonly number[]): LatencySummary | null {
  if (millis.length === 0) return null;
  const sorted = [...millis].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    minMillis: round(sorted[0] as number),
    p50Millis: round(percentile(sorted, 50)),
    p95Millis: round(percentile(sorted, 95)),
    p99Millis: round(percentile(sorted, 99)),
    maxMillis: round(sorted[sorted.length - 1] as number),
    meanMillis: round(sum / sorted.length),
  };
}

function round(millis: number): number {
  return Math.round(millis * 1000) / 1000;
}

/** Milliseconds for people: 2 decimals below 10, 1 below 1000, none above. */
export function formatMillisShort(millis: number): string {
  if (millis < 10) return millis.toFixed(2);
  if (millis < 1000) return millis.toFixed(1);
  return millis.toFixed(0);
}

/** A row of the CLI's time tables: label, p50, p95, p99, max (ms) and count; dashes when nothing was measured. */
export function distributionRow(label: string, d: DistributionSnapshot): string[] {
  if (d.count === 0) return [label, '-', '-', '-', '-', '0'];
  return [label, formatMillisShort(d.p50Millis), formatMillisShort(d.p95Millis), formatMillisShort(d.p99Millis), formatMillisShort(d.maxMillis), String(d.count)];
}
