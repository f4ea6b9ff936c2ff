import { PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { PoolView } from '../../core/pool-view.js';
import type { PoolTrackingOptions } from '../../core/pool-tracker-options.js';
import type { Mysql2AnyPoolLike, Mysql2PoolInternal } from './mysql2-types.js';
import { generatedApplicationName } from '../pg/pg-application-name.js';
import { Mysql2PoolAdapter } from './mysql2-pool-adapter.js';
import { WRAPPED } from './mysql2-types.js';

/**
 * Instruments one existing mysql2 pool instance without changing what it does. Per instance, never a prototype:
 * - the pool's `getConnection` (own property) records each checkout's wait, owner and (per the capture policy)
 *   stack; mysql2's `query()` / `execute()` and the promise pool's methods go through it, so one-shot queries are
 *   leases too; `releaseConnection` and `_removeConnection` follow direct releases and removed connections; `query`
 *   and `execute` mark one-shot checkouts (their lease ends when mysql2 drops their lost connection);
 * - each checkout installs the connection's `release` (an own property until the next checkout), so double and
 *   foreign releases are reported, and still reach mysql2, which ignores a second release as it always did;
 * - each connection's `query`, `execute`, `emit`, `handlePacket`, `destroy` and `end` (own properties, set once
 *   per connection) follow statements (their text, never their values), the server's transaction status from the
 *   protocol's status flags, connection errors and lost sessions;
 * - mysql2 runs callbacks in the async context of whoever opened the connection's socket or released it: the
 *   callbacks of `getConnection(cb)` and `query(sql, cb)` are run as the caller's owner (poolscope's owner context
 *   only), and a release running in the socket's context is never taken as a foreign release;
 * - the pool's `'connection'` event counts created connections;
 * - unless the pool's config sets one, the `program_name` connection attribute of new connections is set (see
 *   `nameMysql2Connections`); connections already open keep theirs.
 */

/**
 * Starts tracking a mysql2 pool under `options.name` and returns its read-only view (PoolView). Accepts a callback
 * pool (`mysql.createPool(config)` from `mysql2`) or a promise pool (`createPool(config)` from `mysql2/promise`, or
 * `pool.promise()`): both are the same callback pool underneath, tracked once. Throws POOLSCOPE_ERR_POOL_UNSUPPORTED
 * for an object that is not a mysql2 pool, POOLSCOPE_ERR_POOL_ALREADY_TRACKED if poolscope already wraps it, and
 * the option and name errors of `Inspector.registerPool`.
 *
 * New connections carry the connection attribute `program_name` = `<appName>/<instanceId>/<pool name>` (see
 * `generatedApplicationName`) unless the pool's `connectAttributes` has a `program_name`; `options.applicationName`
 * sets another name or (`false`) turns this off.
 *
 * ```ts
 * const pool = mysql.createPool({ host: '127.0.0.1', user: 'app', database: 'shop', connectionLimit: 10 });
 * trackMysql2Pool(inspector, pool, { name: 'main' });
 * ```
 */
export function trackMysql2Pool(inspector: Inspector, pool: Mysql2AnyPoolLike, options: PoolTrackingOptions): PoolView {
  const internal = asMysql2Pool(pool);
  if ((internal.getConnection as unknown as Record<symbol, unknown>)[WRAPPED] === true) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_ALREADY_TRACKED',
      `This mysql2 pool is already tracked by poolscope (asked to track it as "${String(options?.name)}"; a promise ` +
        'pool and its .pool are the same pool). Track each pool once; to rename it, untrack it first.',
      options?.name,
    );
  }
  const adapter = new Mysql2PoolAdapter(internal);
  const tracker = inspector.registerPool(adapter, options);
  adapter.attach(tracker);
  const choice = tracker.options.applicationName;
  if (choice !== false) adapter.nameConnections(choice ?? generatedApplicationName(inspector.appName, inspector.instanceId, tracker.name));
  return tracker.view;
}

/** The callback pool of `pool` (itself, or a promise pool's `.pool`), checked to be a mysql2 pool. */
function asMysql2Pool(pool: unknown): Mysql2PoolInternal {
  const given = pool as { pool?: unknown } | null | undefined;
  const inner = given !== null && typeof given === 'object' && given.pool !== null && typeof given.pool === 'object' ? given.pool : pool;
  const candidate = inner as Partial<Mysql2PoolInternal> | null | undefined;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.getConnection !== 'function' ||
    typeof candidate.releaseConnection !== 'function' ||
    typeof candidate._removeConnection !== 'function' ||
    typeof candidate.on !== 'function' ||
    !isQueue(candidate._allConnections) ||
    !isQueue(candidate._freeConnections) ||
    !isQueue(candidate._connectionQueue) ||
    candidate.config === null ||
    typeof candidate.config !== 'object' ||
    candidate.config.connectionConfig === null ||
    typeof candidate.config.connectionConfig !== 'object'
  ) {
    throw new PoolTrackingError(
      'POOLSCOPE_ERR_POOL_UNSUPPORTED',
      'trackMysql2Pool() needs a mysql2 pool (mysql2 3.x): mysql.createPool(config) from "mysql2", or createPool(config) ' +
        'from "mysql2/promise" (an object with getConnection(), releaseConnection(), on(), config.connectionConfig and ' +
        'its connection lists). A single connection (createConnection) is not a pool; for a PoolCluster, track each ' +
        'of its pools.',
    );
  }
  return candidate as Mysql2PoolInternal;
}

function isQueue(value: unknown): boolean {
  return value !== null && typeof value === 'object' && typeof (value as { length?: unknown }).length === 'number' && typeof (value as { get?: unknown }).get === 'function';
}
