import type { Lease } from './lease.js';

/**
 * Leak detection with HikariCP's semantics: a lease held longer than the threshold is reported once; if it is
 * returned later, that is reported too ("unleaked"). A sweep over the held leases runs on a timer (no per-checkout
 * timer), so a leak is reported between `threshold` and `threshold + interval` after the checkout.
 */

/** Default leak threshold: 30 s. A checkout held that long in a request path is almost always a bug. */
export const DEFAULT_LEAK_THRESHOLD_MILLIS = 30_000;

/** The sweep interval for a threshold: a quarter of it, between 25 ms and 1 s. */
export function leakSweepIntervalMillis(thresholdMillis: number): number {
  return Math.min(1000, Math.max(25, Math.floor(thresholdMillis / 4)));
}

/** The held leases that crossed the threshold at `now` and were not reported yet, oldest first. */
export function findNewLeaks(held: Iterable<Lease>, now: number, thresholdMillis: number): Lease[] {
  const found: Lease[] = [];
  if (thresholdMillis <= 0) return found;
  for (const lease of held) {
    if (!lease.leakReported && lease.state === 'held' && now - lease.acquiredAt >= thresholdMillis) found.push(lease);
  }
  found.sort((a, b) => a.acquiredAt - b.acquiredAt);
  return found;
}
