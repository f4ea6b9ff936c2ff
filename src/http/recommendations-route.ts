import { HttpRouteError } from '../errors.js';
import type { Inspector } from '../core/inspector.js';
import type { Recommendation } from '../core/recommendations.js';
import { poolRecommendationInputs, recommend, workerPoolRecommendationInputs } from '../core/recommendations.js';
import type { OpsRequest } from './ops-request.js';
import type { OpsResponse } from './ops-response.js';
import { jsonResponse } from './ops-response.js';

/** The body of `GET /api/recommendations`. */
export interface RecommendationsReport {
  readonly timestamp: string;
  /** Critical first, then by pool in tracking order (see `recommend`). */
  readonly recommendations: readonly Recommendation[];
}

/**
 * `GET /api/recommendations[?pool=NAME]`: the recommendation rules (`recommend`) over every pool and worker pool, or
 * those named NAME (a connection pool, a worker pool, or both when both have that name), each connection pool read
 * with its stats, its history and its current holders, each worker pool with its snapshot. 404
 * `POOLSCOPE_ERR_POOL_NOT_TRACKED` when neither kind has the name. The server's connection budget is not judged here
 * (the route does not query the database).
 */
export function recommendationsRoute(inspector: Inspector, request: OpsRequest): OpsResponse {
  const pool = request.query.pool;
  const all = pool === undefined || pool === '';
  const names = all ? inspector.poolNames() : inspector.pool(pool) === undefined ? [] : [pool];
  const workerNames = all ? inspector.workerPoolNames() : inspector.workerPool(pool) === undefined ? [] : [pool];
  if (!all && names.length === 0 && workerNames.length === 0) {
    throw new HttpRouteError(
      404,
      'POOLSCOPE_ERR_POOL_NOT_TRACKED',
      `No pool named ${JSON.stringify(pool)} is tracked. Tracked pools: ${inspector.poolNames().join(', ') || 'none'}. ` +
        `Tracked worker pools: ${inspector.workerPoolNames().join(', ') || 'none'}.`,
    );
  }
  const inputs = poolRecommendationInputs(inspector, names);
  const workerPools = workerPoolRecommendationInputs(inspector, workerNames);
  const body: RecommendationsReport = { timestamp: new Date().toISOString(), recommendations: recommend({ pools: inputs, workerPools }) };
  return jsonResponse(200, body);
}
