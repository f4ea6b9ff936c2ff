import { HttpRouteError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { PoolConfigSnapshot, PoolSnapshot } from '../core/pool-snapshot.js';
import type { PoolStats } from '../core/pool-stats.js';
import type { PoolView } from '../core/pool-view.js';
import type { OpsRequest } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';
import { trackedPool } from './pool-health-route.js';

/**
 * The JSON API under `<prefix>/api/`, read by the CLI and the dashboard. Shapes are stable: fields may be added,
 * never renamed or removed, within a major version (see docs/reference/http.md).
 */

/** One pool in `GET /api/pools` and the body of `GET /api/pools/:name`. */
export interface PoolApiView {
  readonly poolName: string;
  /** The driver (`pg`). */
  readonly driver: string;
  readonly stats: PoolStats;
  /** The pool's settings, an allowlist with the password masked. */
  readonly config: PoolConfigSnapshot;
}

/** The body of `GET /api/pools`. */
export interface PoolListReport {
  readonly timestamp: string;
  /** In tracking order. */
  readonly pools: readonly PoolApiView[];
}

/** The body of `GET /api/snapshots`. */
export interface SnapshotListReport {
  /** Automatic (saturation) snapshots kept by the inspector, oldest first. */
  readonly snapshots: readonly PoolSnapshot[];
}

function poolView(tracker: PoolView): PoolApiView {
  return { poolName: tracker.name, driver: tracker.driver, stats: tracker.stats(), config: tracker.config() };
}

/** `GET /api/pools`: every pool's stats and settings. */
export function poolListRoute(inspector: Inspector): OpsResponse {
  const pools = inspector.poolNames().flatMap((name) => {
    const tracker = inspector.pool(name);
    return tracker === undefined ? [] : [poolView(tracker)];
  });
  const body: PoolListReport = { timestamp: new Date().toISOString(), pools };
  return jsonResponse(200, body);
}

/** `GET /api/pools/:name` (`encodedName` as it appears in the path): one pool, 404 for an unknown name. */
export function poolDetailRoute(inspector: Inspector, encodedName: string): OpsResponse {
  return jsonResponse(200, poolView(trackedPool(inspector, decodePathSegment(encodedName))));
}

/**
 * `GET /api/snapshots[?pool=NAME]`: the automatic snapshots kept, oldest first. `pool` filters by name; a name no
 * pool has now still lists that pool's snapshots (kept from before it was untracked), so it is not a 404.
 */
export function snapshotListRoute(inspector: Inspector, request: OpsRequest): OpsResponse {
  const pool = request.query.pool;
  const body: SnapshotListReport = { snapshots: inspector.recentSnapshots(pool === undefined || pool === '' ? undefined : pool) };
  return jsonResponse(200, body);
}

/** `GET /api/snapshot`: a fresh snapshot of every pool (holders, waiters, owners holding several pools). */
export function snapshotRoute(inspector: Inspector): OpsResponse {
  return jsonResponse(200, inspector.snapshotAll());
}

/** A `:name` path segment, percent-decoded; 400 for malformed percent-encoding. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpRouteError(400, 'POOLSCOPE_ERR_HTTP_BAD_REQUEST', 'The pool name in the path is not valid percent-encoding.');
  }
}
