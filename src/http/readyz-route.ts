import type { Inspector } from '../core/inspector.js';
import type { HealthLevel } from '../core/pool-health.js';
import type { PoolStats } from '../core/pool-stats.js';
import type { ProbeSkipReason, ReachabilityReport } from '../core/reachability-probe.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';

/** One pool in the `GET /readyz` answer. */
export interface ReadyzPoolReport {
  readonly poolName: string;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  /** Connections checked out. */
  readonly usedCount: number;
  readonly maxCount: number;
  /** used / max, whole percent. */
  readonly utilizationPercent: number;
  readonly level: HealthLevel;
  /** The pool is full by design: its utilization never makes the service unready. */
  readonly expectFull: boolean;
  /** When the counters were read (ISO-8601). */
  readonly timestamp: string;
  /** true: the database answered the ping; false: it did not; null: not pinged (see `probe.skipped`). */
  readonly reachable: boolean | null;
  readonly probe: {
    readonly checkedAt: string;
    readonly latencyMillis: number | null;
    /** The driver's message when `reachable` is false. */
    readonly error: string | null;
    readonly skipped: ProbeSkipReason | null;
  };
  /** Whether this pool lets the service take traffic. */
  readonly ready: boolean;
  /** Why not, for people (null when ready). */
  readonly reason: string | null;
}

/** The body of `GET /readyz` (seed 001's shape, extended). */
export interface ReadyzReport {
  /** `ok` with status 200, `unavailable` with status 503. */
  readonly status: 'ok' | 'unavailable';
  readonly timestamp: string;
  readonly pools: readonly ReadyzPoolReport[];
}

/** Longest driver message kept in an answer. */
const MAX_ERROR_LENGTH = 300;

/**
 * Readiness of one pool: not ready when its level is `critical` (unless it is `expectFull`), or when its database
 * did not answer the ping. A pool that could not be pinged (every connection busy, no ping support) is judged on its
 * counters alone.
 */
export function poolReadiness(stats: PoolStats, probe: ReachabilityReport): ReadyzPoolReport {
  const reasons: string[] = [];
  if (!stats.expectFull && stats.level === 'critical') {
    reasons.push(
      `pool "${stats.poolName}" is critical: ${stats.used}/${stats.max} connections in use (${stats.utilizationPercent}%), ${stats.pending} waiting`,
    );
  }
  const error = probe.error === null ? null : truncate(probe.error, MAX_ERROR_LENGTH);
  if (probe.reachable === false) reasons.push(`the database of pool "${stats.poolName}" did not answer: ${error ?? 'no reason given'}`);
  return {
    poolName: stats.poolName,
    totalCount: stats.total,
    idleCount: stats.idle,
    waitingCount: stats.pending,
    usedCount: stats.used,
    maxCount: stats.max,
    utilizationPercent: stats.utilizationPercent,
    level: stats.level,
    expectFull: stats.expectFull,
    timestamp: stats.timestamp,
    reachable: probe.reachable,
    probe: { checkedAt: probe.checkedAt, latencyMillis: probe.latencyMillis, error, skipped: probe.skipped },
    ready: reasons.length === 0,
    reason: reasons.length === 0 ? null : reasons.join('; '),
  };
}

/**
 * `GET /readyz`: 200 `ok` when every pool is ready, else 503 `unavailable` (see poolReadiness). Pings every pool's
 * database in parallel (only where a connection is free: a probe never queues behind the app). No pool tracked:
 * 200 with an empty list. A closed inspector: 503 with an empty list (the app is shutting down).
 */
export async function readyzRoute(inspector: Inspector, probeTimeoutMillis: number): Promise<OpsResponse> {
  const trackers = inspector.poolNames().flatMap((name) => {
    const tracker = inspector.pool(name);
    return tracker === undefined ? [] : [tracker];
  });
  const pools = await Promise.all(
    trackers.map(async (tracker) => {
      const probe = await tracker.probe(probeTimeoutMillis);
      // Counters read after the ping, so a ping's own checkout is over.
      return poolReadiness(tracker.stats(), probe);
    }),
  );
  const ready = !inspector.closed && pools.every((pool) => pool.ready);
  const body: ReadyzReport = { status: ready ? 'ok' : 'unavailable', timestamp: new Date().toISOString(), pools };
  return jsonResponse(ready ? 200 : 503, body);
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 3)}...` : text;
}
