import type { Clock } from '../../src/core/monotonic-clock.js';

/**
 * A `Clock` for unit tests: `now()` stands still until the test calls `advance()` or `set()`. Wall time is a fixed
 * origin plus the monotonic reading, so ISO timestamps are predictable.
 */
export class FakeClock implements Clock {
  #now: number;
  readonly wallOrigin: number;

  /**
   * @param startMillis the first monotonic reading (default 1000, so 0 never means "unset" by accident)
   * @param wallOrigin epoch milliseconds that monotonic 0 maps to (default 2024-01-01T00:00:00.000Z)
   */
  constructor(startMillis = 1000, wallOrigin = Date.UTC(2024, 0, 1)) {
    this.#now = startMillis;
    this.wallOrigin = wallOrigin;
  }

  now(): number {
    return this.#now;
  }

  toWallMillis(monotonicMillis: number): number {
    return this.wallOrigin + monotonicMillis;
  }

  /** Moves time forward by `millis` (>= 0) and returns the new reading. */
  advance(millis: number): number {
    if (!(millis >= 0)) throw new RangeError(`FakeClock.advance(${millis}): time only moves forward`);
    this.#now += millis;
    return this.#now;
  }

  /** Jumps to an absolute monotonic reading (not before the current one). */
  set(monotonicMillis: number): void {
    if (!(monotonicMillis >= this.#now)) throw new RangeError(`FakeClock.set(${monotonicMillis}): time only moves forward`);
    this.#now = monotonicMillis;
  }
}
