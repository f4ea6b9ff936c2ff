import type { Inspector } from '../core/inspector.js';
import type { Recommendation } from '../core/recommendations.js';
import { poolRecommendationInputs, recommend } from '../core/recommendations.js';
import type { OpsRequest } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';
import { trackedPool } from './pool-health-route.js';

/** The body of `GET /api/recommendations`. */
export interface RecommendationsReport {
  readonly timestamp: string;
  /** Critical first, then by pool in tracking order (see `recommend`). */
  readonly recommendations: readonly Recommendation[];
}

/**
 * `GET /api/recommendations[?pool=NAME]`: the recommendation rules (`recommend`) over every pool, or one, each read
 * with its stats, its history and its current holders. 404 `POOLSCOPE_ERR_POOL_NOT_TRACKED` for an unknown pool.
 * The server's connection budget is not judged here (the route does not query the database).
 */
export function recommendationsRoute(inspector: Inspector, request: OpsRequest): OpsResponse {
  const pool = request.query.pool;
  const names = pool === undefined || pool === '' ? inspector.poolNames() : [trackedPool(inspector, pool).name];
  const inputs = poolRecommendationInputs(inspector, names);
  const body: RecommendationsReport = { timestamp: new Date().toISOString(), recommendations: recommend({ pools: inputs }) };
  return jsonResponse(200, body);
}
