import { HttpRouteError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { HealthLevel } from '../core/pool-health.js';
import { HEALTH_LEVELS, worstHealthLevel } from '../core/pool-health.js';
import type { PoolView } from '../core/pool-view.js';
import type { OpsRequest } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';

/**
 * The `status` word of `/health/pool` and `/health/details` (seed 004's words) for each health level: the HTTP
 * answers keep these words, and each is one of HEALTH_LEVELS under another name, never a verdict of its own.
 */
export const POOL_HEALTH_STATUS_OF_LEVEL = Object.freeze({
  normal: 'healthy',
  warning: 'degraded',
  critical: 'unhealthy',
} as const satisfies Record<HealthLevel, string>);
export type PoolHealthStatus = (typeof POOL_HEALTH_STATUS_OF_LEVEL)[HealthLevel];
/** The status words, in the order of HEALTH_LEVELS: `healthy`, `degraded`, `unhealthy`. */
export const POOL_HEALTH_STATUSES: readonly PoolHealthStatus[] = Object.freeze(HEALTH_LEVELS.map((level) => POOL_HEALTH_STATUS_OF_LEVEL[level]));

/** The body of `GET /health/pool` (seed 004's shape, plus `poolName`). */
export interface PoolHealthReport {
  readonly poolName: string;
  readonly status: PoolHealthStatus;
  readonly metrics: {
    /** Connections checked out. */
    readonly activeConnections: number;
    readonly idleConnections: number;
    /** Callers waiting for a connection. */
    readonly waitingRequests: number;
    /** Connections open. */
    readonly totalConnections: number;
    /** The pool's max. */
    readonly poolSize: number;
  };
  /** The pool's settings; null where the pool does not set one (the driver's default applies). */
  readonly config: {
    readonly min: number;
    readonly max: number;
    readonly idleTimeout: number | null;
    readonly connectionTimeout: number | null;
  };
  readonly utilization: {
    /** used / max, whole percent. */
    readonly percent: number;
    /** The pool's level (thresholds `warningPercent`/`criticalPercent`; `expectFull` pools judged on waiters). */
    readonly status: HealthLevel;
  };
  readonly timestamp: string;
}

/** The status word of a level: `normal` -> `healthy`, `warning` -> `degraded`, `critical` -> `unhealthy`. */
export function poolHealthStatus(level: HealthLevel): PoolHealthStatus {
  return POOL_HEALTH_STATUS_OF_LEVEL[level];
}

/** The level a status word stands for. */
export function healthLevelOfStatus(status: PoolHealthStatus): HealthLevel {
  return HEALTH_LEVELS.find((level) => POOL_HEALTH_STATUS_OF_LEVEL[level] === status) ?? 'normal';
}

/** The worst of several statuses (`healthy` for none): the status of the worst level. */
export function worstPoolHealthStatus(statuses: readonly PoolHealthStatus[]): PoolHealthStatus {
  return poolHealthStatus(worstHealthLevel(statuses.map(healthLevelOfStatus)));
}

/** The health report of one pool, from its counters (the database is not pinged). */
export function poolHealthReport(tracker: PoolView): PoolHealthReport {
  const stats = tracker.stats();
  const config = tracker.config();
  return {
    poolName: stats.poolName,
    status: poolHealthStatus(stats.level),
    metrics: {
      activeConnections: stats.used,
      idleConnections: stats.idle,
      waitingRequests: stats.pending,
      totalConnections: stats.total,
      poolSize: stats.max,
    },
    config: {
      min: config.min ?? stats.min,
      max: config.max ?? stats.max,
      idleTimeout: config.idleTimeoutMillis ?? null,
      connectionTimeout: config.connectionTimeoutMillis ?? null,
    },
    utilization: { percent: stats.utilizationPercent, status: stats.level },
    timestamp: stats.timestamp,
  };
}

/** The pool a request names with `?pool=`, else the first pool tracked (the only one in a one-pool app). */
export function requestedPool(inspector: Inspector, request: OpsRequest): PoolView {
  const name = request.query.pool;
  if (name === undefined || name === '') {
    const first = inspector.poolNames()[0];
    const tracker = first === undefined ? undefined : inspector.pool(first);
    if (tracker === undefined) {
      throw new HttpRouteError(404, 'POOLSCOPE_ERR_POOL_NOT_TRACKED', 'No pool is tracked yet: track one with trackPgPool(inspector, pool, { name }).');
    }
    return tracker;
  }
  return trackedPool(inspector, name);
}

/** The tracker of `name`, or a 404 naming the tracked pools. */
export function trackedPool(inspector: Inspector, name: string): PoolView {
  const tracker = inspector.pool(name);
  if (tracker === undefined) {
    throw new HttpRouteError(
      404,
      'POOLSCOPE_ERR_POOL_NOT_TRACKED',
      `No pool named ${JSON.stringify(name)} is tracked. Tracked pools: ${inspector.poolNames().join(', ') || 'none'}.`,
    );
  }
  return tracker;
}

/**
 * `GET /health/pool[?pool=NAME]`: one pool's health from its counters. Always 200 while the pool exists (the
 * `status` field carries the verdict; readiness is `/readyz`); 404 for an unknown pool or when none is tracked.
 */
export function poolHealthRoute(inspector: Inspector, request: OpsRequest): OpsResponse {
  return jsonResponse(200, poolHealthReport(requestedPool(inspector, request)));
}
