import type { Lease } from './lease.js';
import { describeAcquireSite } from './lease.js';
import { formatMillis } from './format-millis.js';
import { leakSuspectedMessage } from './misuse-reports.js';
import type { PoolState } from './pool-state.js';

/**
 * Leak detection with HikariCP's semantics: a lease held longer than the threshold is reported once; if it is
 * returned later, that is reported too ("unleaked"). A sweep over the held leases runs on a timer (no per-checkout
 * timer), so a leak is reported between `threshold` and `threshold + interval` after the checkout.
 */

/** The default threshold (30 s) lives with the other tracking defaults; re-exported here where it is looked for. */
export { DEFAULT_LEAK_THRESHOLD_MILLIS } from './pool-tracker-options.js';

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

/** After a leak on a lease with no stack, every checkout of the pool is captured for the threshold plus this. */
const ESCALATION_MILLIS = 60_000;

/** Reports the pool's leases held past its leak threshold (run by the tracker's timer; each lease once). */
export function sweepLeaks(state: PoolState): void {
  try {
    const now = state.clock.now();
    const threshold = state.options.leakThresholdMillis;
    for (const lease of findNewLeaks(state.held, now, threshold)) {
      lease.leakReported = true;
      state.counters.leaksSuspected += 1;
      const view = state.view(lease, now);
      let where = describeAcquireSite(view);
      if (lease.stack === undefined && state.stacks.mode === 'adaptive') {
        state.stacks.captureAllUntil(now + threshold + ESCALATION_MILLIS);
        where +=
          ` (stack capture is adaptive and sampled this checkout out; every checkout of "${state.name}" is captured for the next ` +
          `${formatMillis(threshold + ESCALATION_MILLIS)}, so the next leak names its file:line)`;
      } else if (lease.stack === undefined && state.stacks.mode === 'off') {
        where += ' (stack capture is off for this pool)';
      }
      state.bus.emit({
        type: 'leak-suspected',
        poolName: state.name,
        lease: view,
        thresholdMillis: threshold,
        message: leakSuspectedMessage(state.name, lease, now, threshold, where),
      });
    }
  } catch (error) {
    state.ctx.onError(error);
  }
}
