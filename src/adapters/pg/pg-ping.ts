import { PoolPingError } from '../../errors.js';
import type { PgClientInternal, PgPoolInternal } from './pg-types.js';

/** A pg.Client is an EventEmitter: the ping listens for its `'error'` while it holds it. */
interface ErrorListenable {
  on?(event: 'error', listener: (error: unknown) => void): unknown;
  removeListener?(event: 'error', listener: (error: unknown) => void): unknown;
}

/**
 * Readiness check: borrows a connection through pg's own `connect` (no lease is recorded, so the app's counters
 * and leak checks are untouched), runs `SELECT 1` and returns it; a connection whose query fails is destroyed.
 * A connection that arrives after the timeout is still queried and returned, never leaked.
 *
 * While borrowed, the client is listened to for `'error'` (as pg-pool's own `pool.query()` does): pg-pool listens
 * only on idle clients, and a socket that breaks under the ping (a reset read while the `SELECT 1` is written) makes
 * pg emit `'error'` on the client, which without a listener would crash the process. The listener is added inside
 * pg's callback, where the hand-over happens, and removed when the client goes back.
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
        const listenable = client as PgClientInternal & ErrorListenable;
        let returned = false;
        const giveBack = (error: unknown): void => {
          if (returned) return;
          returned = true;
          listenable.removeListener?.('error', giveBack);
          try {
            done?.(error ?? undefined);
          } finally {
            settle(error ?? undefined);
          }
        };
        listenable.on?.('error', giveBack);
        try {
          client.query('SELECT 1', (queryError: unknown) => giveBack(queryError ?? undefined));
        } catch (error) {
          giveBack(error);
        }
      });
    } catch (error) {
      settle(error);
    }
  });
}
