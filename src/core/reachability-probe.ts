import type { PoolAdapter } from './pool-adapter.js';
import type { Clock } from './monotonic-clock.js';
import { isoAt } from './monotonic-clock.js';
import { messageOf } from '../errors.js';

/** Default time a readiness ping may take before the database counts as unreachable. */
export const DEFAULT_PROBE_TIMEOUT_MILLIS = 2000;

/** Why a probe did not ping the database. */
export const PROBE_SKIP_REASONS = ['no-free-connection', 'not-supported', 'closed'] as const;
export type ProbeSkipReason = (typeof PROBE_SKIP_REASONS)[number];

/** Whether a pool's database answered a readiness ping. */
export interface ReachabilityReport {
  readonly poolName: string;
  /**
   * true: the database answered; false: it did not (see `error`); null: not pinged (see `skipped`), for instance
   * because every connection is checked out: a ping would queue behind the app's own callers.
   */
  readonly reachable: boolean | null;
  readonly checkedAt: string;
  /** How long the ping took, when it ran. */
  readonly latencyMillis: number | null;
  /** What went wrong (the driver's message), when `reachable` is false. Never a stack trace. */
  readonly error: string | null;
  readonly skipped: ProbeSkipReason | null;
}

/**
 * Pings the pool's database only when that can be served without waiting (an idle connection or a free slot), so a
 * readiness probe never competes with the app's callers for a connection.
 */
export async function probeReachability(
  poolName: string,
  adapter: PoolAdapter,
  clock: Clock,
  timeoutMillis: number,
): Promise<ReachabilityReport> {
  const startedAt = clock.now();
  const report = (reachable: boolean | null, error: string | null, skipped: ProbeSkipReason | null): ReachabilityReport => {
    const now = clock.now();
    return {
      poolName,
      reachable,
      checkedAt: isoAt(clock, now),
      latencyMillis: reachable === null ? null : Math.round((now - startedAt) * 1000) / 1000,
      error,
      skipped,
    };
  };
  if (adapter.ping === undefined) return report(null, null, 'not-supported');
  if (adapter.idleCount() === 0 && adapter.totalCount() >= adapter.max()) return report(null, null, 'no-free-connection');
  try {
    await adapter.ping(timeoutMillis);
    return report(true, null, null);
  } catch (error) {
    return report(false, messageOf(error), null);
  }
}
