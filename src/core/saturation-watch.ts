/**
 * Decides when a pool is saturated enough for an automatic snapshot: utilization at or above a threshold
 * (default 80%, seed 000) or callers queued, at most once per cooldown.
 */

/** RingBuffer lives in ring-buffer.ts; re-exported here for code that imported it from this file. */
export { RingBuffer } from './ring-buffer.js';

export const DEFAULT_SATURATION_PERCENT = 80;
export const DEFAULT_SATURATION_COOLDOWN_MILLIS = 10_000;

export class SaturationWatch {
  readonly #percent: number;
  readonly #cooldownMillis: number;
  readonly #expectFull: boolean;
  #lastTrigger = Number.NEGATIVE_INFINITY;

  constructor(percent: number, cooldownMillis: number, expectFull: boolean) {
    this.#percent = percent;
    this.#cooldownMillis = cooldownMillis;
    this.#expectFull = expectFull;
  }

  /** True when the pool is saturated (ignores the cooldown). Pools that are full by design count only their queue. */
  isSaturated(used: number, max: number, pending: number): boolean {
    if (pending > 0) return true;
    if (this.#expectFull || max <= 0) return false;
    return used * 100 >= this.#percent * max;
  }

  /** True (and starts the cooldown) when a snapshot should be taken now. */
  shouldTrigger(now: number, used: number, max: number, pending: number): boolean {
    if (now - this.#lastTrigger < this.#cooldownMillis) return false;
    if (!this.isSaturated(used, max, pending)) return false;
    this.#lastTrigger = now;
    return true;
  }
}
