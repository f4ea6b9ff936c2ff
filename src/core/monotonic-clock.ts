import { performance } from 'node:perf_hooks';

/**
 * Time source of the core. `now()` is monotonic milliseconds (for durations); `toWallMillis()` turns one of its
 * readings into epoch milliseconds (for timestamps shown to people). Tests pass a fake clock.
 */
export interface Clock {
  now(): number;
  toWallMillis(monotonicMillis: number): number;
}

/** The real clock: `performance.now()` and `performance.timeOrigin`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  toWallMillis: (monotonicMillis) => performance.timeOrigin + monotonicMillis,
};

/** ISO-8601 text of a monotonic reading. */
export function isoAt(clock: Clock, monotonicMillis: number): string {
  return new Date(clock.toWallMillis(monotonicMillis)).toISOString();
}
