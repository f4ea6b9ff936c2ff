import { PoolPingError } from '../../errors.js';
import type { Mysql2ConnectCallback, Mysql2ConnectionInternal, Mysql2PoolInternal } from './mysql2-types.js';

/**
 * Readiness check: borrows a connection through mysql2's own getConnection (no lease is recorded, so the app's
 * counters and leak checks are untouched), runs `SELECT 1` and gives it back through `giveBack` (mysql2's own
 * release, or its destroy when the query failed). A connection that arrives after the timeout is still queried and
 * given back, never leaked. mysql2 has no acquire timeout of its own: a full pool without a queueLimit makes the ping
 * wait until `timeoutMillis`.
 */
export function pingMysql2Pool(
  pool: Mysql2PoolInternal,
  getConnection: Mysql2PoolInternal['getConnection'],
  giveBack: (connection: Mysql2ConnectionInternal, failed: boolean) => void,
  timeoutMillis: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new PoolPingError('POOLSCOPE_ERR_POOL_PING_FAILED', String(error), { cause: error }));
    };
    const timer = setTimeout(() => settle(new PoolPingError('POOLSCOPE_ERR_POOL_PING_TIMEOUT', `the database did not answer within ${timeoutMillis} ms`)), timeoutMillis);
    timer.unref();
    const connected: Mysql2ConnectCallback = (err, connection) => {
      if (err || connection === undefined) {
        settle(err ?? new PoolPingError('POOLSCOPE_ERR_POOL_PING_FAILED', 'the pool gave no connection'));
        return;
      }
      try {
        connection.query('SELECT 1', (queryError: unknown) => {
          try {
            giveBack(connection, Boolean(queryError));
          } finally {
            settle(queryError ?? undefined);
          }
        });
      } catch (error) {
        giveBack(connection, true);
        settle(error);
      }
    };
    try {
      getConnection.call(pool, connected);
    } catch (error) {
      settle(error);
    }
  });
}
