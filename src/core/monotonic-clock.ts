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

/** Milliseconds of 10000-01-01T00:00:00Z: past it toISOString writes a six-digit year, which the cache does not. */
const YEAR_10000_MILLIS = 253_402_300_800_000;

/**
 * ISO-8601 text of wall-clock milliseconds, as `new Date(ms).toISOString()` writes it, reusing the text up to the
 * second from the previous call (a snapshot of thousands of leases formats timestamps of the same few seconds).
 * One per reader (a tracker): a memo, not shared state.
 */
export class IsoFormatter {
  #second = Number.NaN;
  #prefix = '';

  format(wallMillis: number): string {
    if (!(wallMillis >= 0 && wallMillis < YEAR_10000_MILLIS)) return new Date(wallMillis).toISOString();
    const whole = Math.floor(wallMillis);
    const second = Math.floor(whole / 1000);
    if (second !== this.#second) {
      this.#prefix = new Date(second * 1000).toISOString().slice(0, 20); // 'YYYY-MM-DDTHH:MM:SS.'
      this.#second = second;
    }
    const millis = whole - second * 1000;
    return `${this.#prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
  }
}
