import { PoolPingError } from '../../errors.js';
import type { PgPoolInternal } from './pg-types.js';

/**
 * Readiness check: borrows a connection through pg's own `connect` (no lease is recorded, so the app's counters
 * and leak checks are untouched), runs `SELECT 1` and returns it; a connection whose query fails is destroyed.
 * A connection that arrives after the timeout is still queried and returned, never leaked.
 */
export function pingPgPool(pool: PgPoolInternal, connect: PgPoolInternal['connect'], timeoutMillis: number): Promise<void> {
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
    try {
      connect.call(pool, (err, client, done) => {
        if (err || client === undefined) {
          settle(err ?? new PoolPingError('POOLSCOPE_ERR_POOL_PING_FAILED', 'the pool gave no connection'));
          return;
        }
        client.query('SELECT 1', (queryError: unknown) => {
          try {
            done?.(queryError ?? undefined);
          } finally {
            settle(queryError ?? undefined);
          }
        });
      });
    } catch (error) {
      settle(error);
    }
  });
}
