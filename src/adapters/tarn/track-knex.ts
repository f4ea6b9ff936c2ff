import { PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { PoolView } from '../../core/pool-view.js';
import type { PoolTrackingOptions } from '../../core/pool-tracker-options.js';
import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import { maskConnectionString } from '../../core/connection-string-mask.js';
import { KnexClientHooks } from './knex-client-hooks.js';
import { asTarnPool, attachTarn, isTarnPool, refuseTracked } from './track-tarn-pool.js';
import type { KnexClientInternal, KnexLike } from './tarn-types.js';

/**
 * Tracks the pool of a Knex instance (`knex.client.pool`, the tarn pool Knex made from its `pool` settings) as it
 * is: no setting changes, nothing of tarn replaced (see trackTarnPool). Besides what trackTarnPool follows:
 * - the lease's site is your line: the one that built the query (`knex('orders').where(...)`, `knex.raw(...)`,
 *   `knex.schema`) or called `knex.transaction(...)`, although Knex checks the connection out later, from a
 *   microtask (knex-client-hooks.ts; the site follows the pool's stack capture mode and budget);
 * - Knex's "Timeout acquiring a connection" error gets poolscope's explanation (who holds the connections);
 * - on PostgreSQL (Knex's `pg` client, whose connections are `pg.Client`s) each connection's queries, transaction
 *   status and depth (Knex's BEGIN / SAVEPOINT / RELEASE SAVEPOINT / ROLLBACK TO SAVEPOINT / COMMIT) and backend pid
 *   are followed, and readiness pings run `SELECT 1` on a connection of the pool without recording a lease. Other
 *   dialects are tracked like `resourceKind: 'opaque'` (no queries, transactions or session ids).
 *
 * Track the instance after `knex(config)` and before `knex.destroy()`; a pool Knex makes again later
 * (`knex.initialize()` after a destroy) is another pool: untrack the old name and track again. Throws
 * POOLSCOPE_ERR_POOL_UNSUPPORTED for something that is not a Knex instance with a tarn pool (a transaction, a
 * destroyed instance, an instance given an external pool with `connectionPool`: track that pool itself),
 * POOLSCOPE_ERR_POOL_ALREADY_TRACKED, and the option and name errors of `Inspector.registerPool`.
 *
 * ```ts
 * const db = knex({ client: 'pg', connection: process.env.DATABASE_URL, pool: { min: 0, max: 10 } });
 * trackKnex(inspector, db, { name: 'main' });
 * ```
 */
export function trackKnex(inspector: Inspector, knex: KnexLike, options: PoolTrackingOptions): PoolView {
  const client = knexClientOf(knex);
  const pool = asTarnPool(client.pool, 'trackKnex() found no tarn pool at knex.client.pool');
  refuseTracked(pool, options);
  const pgResources = client.driverName === 'pg';
  // The hooks need the resolved options, known once the pool is registered; the adapter reads them through this.
  const installed: { hooks?: KnexClientHooks } = {};
  const tracker = attachTarn(inspector, pool, options, {
    pgResources,
    pingResource: undefined,
    sites: {
      get pending() {
        return installed.hooks?.pending;
      },
    },
    dispose: disposeKnexConnection,
    extraConfig: () => knexConnectionConfig(client.connectionSettings),
    onDetach: () => installed.hooks?.detach(),
  });
  const hooks = new KnexClientHooks(client, tracker.options, (hideAbove) => tracker.captureSite(hideAbove), (error) => tracker.reportInternalError(error));
  installed.hooks = hooks;
  hooks.install();
  return tracker.view;
}

function knexClientOf(knex: unknown): KnexClientInternal {
  const client = (knex as Partial<KnexLike> | null | undefined)?.client as Partial<KnexClientInternal> | null | undefined;
  if ((typeof knex !== 'function' && typeof knex !== 'object') || client === null || typeof client !== 'object' || typeof client.acquireConnection !== 'function') {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'trackKnex() needs a Knex instance (what knex(config) returns, Knex 3.x), whose knex.client holds the pool. ' +
        'For a tarn pool of your own use trackTarnPool(inspector, pool, options).',
    );
  }
  if (client.transacting === true) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'trackKnex() was given a Knex transaction, which borrows one connection and has no pool. Track the Knex ' +
        'instance the transaction came from.',
    );
  }
  const pool: unknown = client.pool;
  if (pool === undefined || pool === null) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'This Knex instance has no pool (knex.client.pool is empty): it was destroyed, or made with pool.max 0. ' +
        'Track it after knex(config) (or knex.initialize()), before knex.destroy().',
    );
  }
  if (!isTarnPool(pool)) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      "This Knex instance uses an external pool (knex({ connectionPool })), which Knex wraps in an object of its own. " +
        'Track the pool you gave it instead: trackPgPool(inspector, pgPool, options) for a pg.Pool.',
    );
  }
  return client as KnexClientInternal;
}

/**
 * Knex's own way to retire a connection: a connection with `__knex__disposed` set fails Knex's validation at its
 * next checkout, and tarn destroys it (Knex sets it itself when the connection emits 'error' or 'end').
 */
function disposeKnexConnection(resource: unknown, reason: string): void {
  if (typeof resource !== 'object' || resource === null) return;
  const connection = resource as { __knex__disposed?: unknown };
  if (connection.__knex__disposed === undefined || connection.__knex__disposed === null) connection.__knex__disposed = reason;
}

/** Where Knex connects (host, port, database, user; a connection string with its password masked); never the password. */
function knexConnectionConfig(settings: unknown): PoolConfigSnapshot {
  if (typeof settings === 'string') return { connectionString: maskConnectionString(settings) };
  if (settings === null || typeof settings !== 'object') return {};
  const s = settings as Record<string, unknown>;
  const out: { -readonly [K in keyof PoolConfigSnapshot]: PoolConfigSnapshot[K] } = {};
  if (typeof s.host === 'string') out.host = s.host;
  if (typeof s.database === 'string') out.database = s.database;
  if (typeof s.user === 'string') out.user = s.user;
  const port = typeof s.port === 'string' ? Number(s.port) : s.port;
  if (typeof port === 'number' && Number.isFinite(port)) out.port = port;
  if (typeof s.connectionString === 'string') out.connectionString = maskConnectionString(s.connectionString);
  return out;
}
