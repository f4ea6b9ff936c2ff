/**
 * Histogram bucket bounds of the duration metrics: the defaults, and the validation of a user's `buckets` option.
 */
import { OptionsError } from '../errors.js';

/**
 * Default histogram bucket upper bounds, in seconds: 10 bounds (13 series per pool and histogram with `+Inf`, `_sum`
 * and `_count`). Semconv advises no boundaries for the connection-pool histograms; these are the ones it advises for
 * `db.client.operation.duration` (0.001 .. 10, a 1-5 step per decade), so pool times line up with operation times on
 * one dashboard, plus 30 s, the default leak threshold (a use_time above it is a suspected leak). Everything under
 * 1 ms (a checkout served by an idle connection waits tens of microseconds) falls in the first bucket. See
 * docs/reference/metrics.md, "Buckets".
 */
export const DEFAULT_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30]);

/**
 * Validates a `buckets` option (upper bounds in seconds) and returns a frozen copy. Throws OptionsError unless it is
 * a non-empty array of finite numbers > 0 in strictly ascending order (`+Inf` is always added by the exporters); the
 * message names the first bad bound and its index.
 */
export function validateBucketsSeconds(option: string, value: unknown): readonly number[] {
  const expected = 'a non-empty array of finite numbers of seconds > 0 in strictly ascending order, e.g. [0.001, 0.01, 0.1, 1]';
  if (!Array.isArray(value)) throw new OptionsError(option, value, expected);
  if (value.length === 0) throw new OptionsError(option, value, `${expected} (${option} is empty)`);
  const bounds = value as unknown[];
  for (let i = 0; i < bounds.length; i++) {
    const problem = boundProblem(bounds, i);
    if (problem !== undefined) throw new OptionsError(option, value, `${expected} (${option}[${i}] ${problem})`);
  }
  return Object.freeze([...(value as number[])]);
}

/** What is wrong with `bounds[i]`, or undefined. */
function boundProblem(bounds: readonly unknown[], i: number): string | undefined {
  const bound = bounds[i];
  if (typeof bound !== 'number') {
    return `is ${bound === null || bound === undefined ? String(bound) : `the ${typeof bound} ${JSON.stringify(bound) ?? String(bound)}`}, not a number`;
  }
  if (Number.isNaN(bound)) return 'is NaN, not a finite number';
  if (bound === Number.POSITIVE_INFINITY) return 'is Infinity: leave it out, the +Inf bucket is always added';
  if (bound <= 0) return `is ${bound}, not > 0`;
  const previous = bounds[i - 1];
  if (i > 0 && typeof previous === 'number' && bound <= previous) return `is ${bound}, not greater than the bound before it (${previous})`;
  return undefined;
}
