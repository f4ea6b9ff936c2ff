import { PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { PoolView } from '../../core/pool-view.js';
import type { PoolTrackingOptions } from '../../core/pool-tracker-options.js';
import type { PgPoolInternal, PgPoolLike } from './pg-types.js';
import { generatedApplicationName } from './pg-application-name.js';
import { PgPoolAdapter, WRAPPED } from './pg-pool-adapter.js';
import { PgQueryCommenter } from './pg-query-comments.js';

export { PG_ACQUIRE_TIMEOUT_MESSAGE, acquireTimeoutReportOf } from './pg-acquire-timeout.js';
export { generatedApplicationName, pgApplicationNameOf, PG_APPLICATION_NAME_SOURCES } from './pg-application-name.js';
export type { PgApplicationNameResolution, PgApplicationNameSource } from './pg-application-name.js';
export { pgConfigSnapshot, transactionStatusOf } from './pg-client-state.js';

/**
 * Instruments one existing `pg.Pool` instance without changing what it does. Per instance, never a prototype:
 * - `pool.connect` (own property) records the wait, the owner and (per the capture policy) the stack; pg-pool's
 *   `query()` calls `this.connect`, so one-shot `pool.query()` checkouts are seen too;
 * - each checkout's `client.release` is wrapped (one closure per checkout, like pg-pool's own), so stale, double
 *   and foreign releases still reach pg-pool and fail exactly as they would without poolscope;
 * - each client's `query` and `emit` (own properties, set once per client) follow queries, transaction status and
 *   connection errors; an `'error'` without listeners still throws as before, because no listener is added;
 * - a submittable (pg-cursor, pg-query-stream) is followed to its end through its own `handleReadyForQuery` and
 *   `handleError` (own properties for the time it runs, put back after);
 * - pg runs its callbacks in the async context of whoever opened the connection's socket, not of the caller: the
 *   callbacks of `connect(cb)` and `query(text, cb)` are run as the caller's owner (poolscope's owner context only),
 *   and a release running in the socket's context is never taken as a foreign release;
 * - with `queryComments`, the text of each statement sent through a lease gets a sqlcommenter comment naming the
 *   owner, the checkout's file:line, the lease, the pool and the app (pg-query-comments.ts);
 * - the pool's `'connect'` and `'remove'` events count created and removed connections;
 * - unless the pool's config names its connections, `pool.options.application_name` is set (see
 *   `pgApplicationNameOf`), which pg-pool passes to every new client; connections already open keep their name.
 */


/**
 * Starts tracking `pool` under `options.name` and returns its read-only view (PoolView). Throws POOLSCOPE_ERR_POOL_UNSUPPORTED for
 * an object that is not a pg.Pool, POOLSCOPE_ERR_POOL_ALREADY_TRACKED if poolscope already wraps it, and the
 * option and name errors of `Inspector.registerPool`.
 *
 * Connections the pool opens from then on carry the application_name `<appName>/<instanceId>/<pool name>` (see
 * `generatedApplicationName`) unless the pool's own config names them (`application_name` or
 * `fallback_application_name` in its options or connection string, or the PGAPPNAME environment variable);
 * `options.applicationName` sets another name or (`false`) turns this off.
 *
 * ```ts
 * const pool = new pg.Pool({ max: 10 });
 * trackPgPool(inspector, pool, { name: 'main' });
 * ```
 */
export function trackPgPool(inspector: Inspector, pool: PgPoolLike, options: PoolTrackingOptions): PoolView {
  const internal = asPgPool(pool);
  if ((internal.connect as unknown as Record<symbol, unknown>)[WRAPPED] === true) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
      `This pg.Pool is already tracked by poolscope (asked to track it as "${String(options?.name)}"). ` +
        'Track each pool once; to rename it, untrack it first.',
      options?.name,
    );
  }
  const adapter = new PgPoolAdapter(internal);
  const tracker = inspector.registerPool(adapter, options);
  adapter.attach(tracker);
  const comments = tracker.options.queryComments;
  if (comments !== undefined) {
    adapter.commentQueries(new PgQueryCommenter(comments, tracker, inspector.appName, (error) => tracker.reportInternalError(error)));
  }
  const choice = tracker.options.applicationName;
  if (choice !== false) {
    adapter.nameConnections(choice ?? generatedApplicationName(inspector.appName, inspector.instanceId, tracker.name), choice !== undefined);
  }
  return tracker.view;
}

function asPgPool(pool: unknown): PgPoolInternal {
  const candidate = pool as Partial<PgPoolInternal> | null | undefined;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.connect !== 'function' ||
    typeof candidate.on !== 'function' ||
    typeof candidate.totalCount !== 'number' ||
    typeof candidate.idleCount !== 'number' ||
    typeof candidate.waitingCount !== 'number' ||
    candidate.options === null ||
    typeof candidate.options !== 'object'
  ) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'trackPgPool() needs a pg.Pool instance (pg 8.x): an object with connect(), on(), totalCount, idleCount, ' +
        'waitingCount and options. A pg.Client is not a pool; wrap your connections in new pg.Pool(config). ' +
        "For Knex's own pool (knex.client.pool, a tarn pool) use trackKnex from 'poolscope/tarn'; for mysql2 and " +
        "generic-pool pools, trackMysql2Pool ('poolscope/mysql2') and trackGenericPool ('poolscope/generic-pool').",
    );
  }
  return candidate as PgPoolInternal;
}
