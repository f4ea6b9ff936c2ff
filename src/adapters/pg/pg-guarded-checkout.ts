import { PoolTrackingError } from '../../errors.js';
import type { PgPoolClientLike } from './pg-types.js';

/**
 * A checkout whose client listens for `'error'` from the very moment pg-pool hands it over until it is released.
 *
 * pg-pool listens for `'error'` only on idle clients: it removes its listener when it hands a client over and adds it
 * back at release. A server session that ends while the client is lent out (pg_terminate_backend, DROP DATABASE ...
 * WITH (FORCE), a server restart) makes the client emit `'error'`; with no listener, that kills the process.
 * Listening after `await pool.connect()` is too late: pg can hand a client over and read a FATAL from the same socket
 * in one synchronous pass (a new connection's ReadyForQuery followed by the FATAL, or a query's answer whose
 * callback releases the client to a queued caller), before any promise continuation runs. So the checkout uses
 * pg's callback form of `connect` and adds the listener inside the callback, where the hand-over happens.
 */

/** A client lent out by `guardedCheckout()`. */
export interface GuardedCheckout<C> {
  readonly client: C;
  /** The first `'error'` the client emitted while lent out (its session ended), if any. */
  readonly sessionError: Error | undefined;
  /**
   * Stops listening and releases the client: with `err`, else with the session's error when there is one, so that
   * pg-pool destroys a connection whose session ended instead of keeping it. Throws what `release` throws (pg-pool's
   * double-release error).
   */
  release(err?: Error): void;
}

/** A client as the guard sees it: releasable, and an EventEmitter (a pg.Client is). */
interface ListenableClient extends PgPoolClientLike {
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
}

type ConnectCallback = (err: Error | null | undefined, client?: unknown) => void;

/**
 * Checks a client out of `pool` with an `'error'` listener attached at hand-over; `onSessionError` (optional, never
 * allowed to throw into pg) is called with each error the client emits while lent out. Rejects like `connect()`.
 *
 * A pool whose `connect` ignores the callback and returns a promise (not pg-pool) still works: the listener is then
 * added when that promise resolves, the earliest such a pool allows.
 */
export function guardedCheckout<C extends PgPoolClientLike>(
  pool: { connect(...args: never[]): unknown },
  onSessionError?: (error: Error) => void,
): Promise<GuardedCheckout<C>> {
  return new Promise<GuardedCheckout<C>>((resolve, reject) => {
    let settled = false;
    const accept = (client: unknown): void => {
      if (settled) return;
      settled = true;
      // Synchronously, inside pg's callback: the listener is on before pg parses another byte.
      resolve(new Guard<C>(client as C & ListenableClient, onSessionError));
    };
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    let returned: unknown;
    try {
      returned = (pool.connect as (this: unknown, callback: ConnectCallback) => unknown).call(pool, (err, client) => {
        if (err) fail(err);
        else if (client === undefined || client === null) fail(noClient());
        else accept(client);
      });
    } catch (error) {
      fail(error);
      return;
    }
    if (isThenable(returned)) returned.then(accept, fail);
  });
}

class Guard<C> implements GuardedCheckout<C> {
  readonly client: C;
  readonly #listenable: ListenableClient;
  readonly #onSessionError: ((error: Error) => void) | undefined;
  #sessionError: Error | undefined;
  #listening: boolean;
  readonly #onError = (error: Error): void => {
    this.#sessionError ??= error;
    if (this.#onSessionError === undefined) return;
    try {
      this.#onSessionError(error);
    } catch {
      // Called from pg's 'error' emit: nothing may be thrown back into pg's parser.
    }
  };

  constructor(client: C & ListenableClient, onSessionError: ((error: Error) => void) | undefined) {
    this.client = client;
    this.#listenable = client;
    this.#onSessionError = onSessionError;
    this.#listening = typeof client.on === 'function' && typeof client.removeListener === 'function';
    if (this.#listening) client.on?.('error', this.#onError);
  }

  get sessionError(): Error | undefined {
    return this.#sessionError;
  }

  release(err?: Error): void {
    if (this.#listening) {
      this.#listening = false;
      this.#listenable.removeListener?.('error', this.#onError);
    }
    // pg-pool adds its idle listener back inside release(), in the same synchronous call: no gap.
    const passed = err ?? this.#sessionError;
    if (passed === undefined) this.#listenable.release();
    else this.#listenable.release(passed);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function noClient(): PoolTrackingError {
  return new PoolTrackingError(
    'POOLSCOPE_ERR_POOL_UNSUPPORTED',
    'The pool called back from connect() with neither an error nor a client. Pass a pg.Pool (pg-pool 3.x) or a pool ' +
      'whose connect(callback) calls back with (error) or (null, client, release).',
  );
}
