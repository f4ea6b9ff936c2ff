import type { PoolAdapter } from '../../core/pool-adapter.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { Lease } from '../../core/lease.js';
import { MYSQL2_CAPABILITIES, WRAPPED, type Mysql2ConnectCallback, type Mysql2ConnectionInternal, type Mysql2PoolInternal } from './mysql2-types.js';
import type { Mysql2Host } from './mysql2-connection-wrappers.js';
import { Mysql2ConnectionWrappers } from './mysql2-connection-wrappers.js';
import { endCheckout, giveBackQuietly, releaseThroughPool, startCheckout } from './mysql2-release.js';
import { transactionStatusOfFlags } from './mysql2-server-status.js';
import { mysql2ConfigSnapshot, mysql2MaxOf, type Mysql2PoolConfigSnapshot } from './mysql2-pool-config.js';
import { recordCheckoutFailure } from './mysql2-pool-limits.js';
import { nameMysql2Connections, unnameMysql2Connections, type ProgramNaming } from './mysql2-program-name.js';
import { pingMysql2Pool } from './mysql2-ping.js';
import { InstalledPoolFunctions, oneShotMarker } from './mysql2-pool-functions.js';

/**
 * The PoolAdapter of one mysql2 pool (the callback pool; a promise pool's `.pool`): reads its connection lists, and
 * wraps three of its functions as own properties (never the prototype):
 * - `getConnection`: each call is a checkout (wait, owner, stack); mysql2's `query()` and `execute()` call
 *   `this.getConnection`, so one-shot `pool.query()` / `pool.execute()` checkouts are seen too, and so are the
 *   promise pool's, which call the callback pool's;
 * - `releaseConnection`: a direct `pool.releaseConnection(conn)` ends the lease like `conn.release()`;
 * - `_removeConnection` (mysql2 calls it once per connection leaving the pool: destroyed, closed by the server,
 *   failed, idle too long): counts removed connections; mysql2 has no pool event for it.
 * The pool's `'connection'` event counts created connections. Per-connection wrappers: mysql2-connection-wrappers.ts;
 * releases: mysql2-release.ts. See trackMysql2Pool (mysql2-adapter.ts) for the whole picture.
 */

type Wrappable = 'getConnection' | 'releaseConnection' | '_removeConnection' | 'query' | 'execute';

export class Mysql2PoolAdapter implements PoolAdapter {
  readonly driver = 'mysql2';
  readonly capabilities = MYSQL2_CAPABILITIES;
  readonly #pool: Mysql2PoolInternal;
  readonly #host: Mysql2Host;
  readonly #wrappers: Mysql2ConnectionWrappers;
  /** Each wrapped pool function: mysql2's, whether it was an own property, poolscope's. */
  readonly #installed: InstalledPoolFunctions<Wrappable>;
  #originalGetConnection: Mysql2PoolInternal['getConnection'] | undefined;
  #named: ProgramNaming | undefined;
  /** Marks the callbacks poolscope hands to getConnection (mysql2 re-submits a queued one after a removal). */
  readonly #ownCallback = Symbol('poolscope.mysql2.callback');
  /** Inside mysql2's own `pool.query()` / `pool.execute()` (they call getConnection synchronously): a one-shot. */
  readonly #oneShotDepth = { value: 0 };

  readonly #onConnection = (connection: Mysql2ConnectionInternal): void => {
    const tracker = this.#host.tracker;
    if (this.#host.detached || tracker === undefined) return;
    try {
      const record = this.#wrappers.wrap(connection, 0); // a new session: no transaction
      record.fresh = true;
      // mysql2 emits 'connection' from the handshake's end, i.e. in its socket's async context.
      record.driverOwner = tracker.currentOwner();
      tracker.connectionCreated();
    } catch (error) {
      this.#report(error);
    }
  };

  constructor(pool: Mysql2PoolInternal) {
    this.#pool = pool;
    this.#installed = new InstalledPoolFunctions(pool);
    const host: Mysql2Host = {
      tracker: undefined,
      detached: false,
      quietReleases: 0,
      report: (error) => this.#report(error),
    };
    this.#host = host;
    this.#wrappers = new Mysql2ConnectionWrappers(host);
  }

  attach(tracker: PoolTracker): void {
    this.#host.tracker = tracker;
    const pool = this.#pool;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrappers are `function`s (they keep mysql2's `this`)
    const adapter = this;
    const getConnection = pool.getConnection;
    this.#originalGetConnection = getConnection;
    const wrappedGetConnection = function poolscopeGetConnection(this: unknown, callback?: Mysql2ConnectCallback): unknown {
      return adapter.#getConnection(this, getConnection, callback, wrappedGetConnection);
    };
    Object.defineProperty(wrappedGetConnection, WRAPPED, { value: true });
    const releaseConnection = pool.releaseConnection;
    const wrappedReleaseConnection = function poolscopeReleaseConnection(this: unknown, connection: Mysql2ConnectionInternal): unknown {
      return adapter.#releaseConnection(this, releaseConnection, connection, wrappedReleaseConnection);
    };
    const removeConnection = pool._removeConnection;
    const wrappedRemoveConnection = function poolscopeRemoveConnection(this: unknown, connection: Mysql2ConnectionInternal): unknown {
      adapter.#removed(connection, wrappedRemoveConnection);
      // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
      return Reflect.apply(removeConnection, this, arguments);
    };
    this.#install('getConnection', wrappedGetConnection);
    this.#install('releaseConnection', wrappedReleaseConnection);
    this.#install('_removeConnection', wrappedRemoveConnection);
    // One-shots are marked (see #removed): mysql2 releases their connection itself, never when it is lost.
    for (const key of ['query', 'execute'] as const) {
      const original = pool[key];
      if (typeof original === 'function') this.#install(key, oneShotMarker(original as (...args: unknown[]) => unknown, this.#oneShotDepth));
    }
    pool.on('connection', this.#onConnection);
    // Connections opened before tracking: followed from now on (their transaction status is unknown until their
    // next statement ends).
    const all = pool._allConnections;
    for (let i = 0; i < all.length; i++) {
      const connection = all.get(i);
      if (connection !== undefined && connection.authorized === true) this.#wrappers.wrap(connection);
    }
  }

  /** Sets the `program_name` attribute of the connections the pool opens from now on (see nameMysql2Connections). */
  nameConnections(name: string): void {
    try {
      this.#named = nameMysql2Connections(this.#pool.config.connectionConfig, name);
    } catch (error) {
      this.#report(error);
    }
  }

  // ---- PoolAdapter --------------------------------------------------------------------------------------------

  totalCount(): number {
    return this.#pool._allConnections.length;
  }

  idleCount(): number {
    return this.#pool._freeConnections.length;
  }

  /** Callers queued by mysql2 (it queues only when no connection is free and the pool is at its limit). */
  waitingCount(): number {
    return this.#pool._connectionQueue.length;
  }

  max(): number {
    return mysql2MaxOf(this.#pool.config);
  }

  /** mysql2 keeps no minimum: idle connections past idleTimeout are closed down to none. */
  min(): number {
    return 0;
  }

  config(): Mysql2PoolConfigSnapshot {
    return mysql2ConfigSnapshot(this.#pool.config);
  }

  /** Readiness check through mysql2's own getConnection (see pingMysql2Pool): no lease is recorded. */
  ping(timeoutMillis: number): Promise<void> {
    const giveBack = (connection: Mysql2ConnectionInternal, failed: boolean): void =>
      giveBackQuietly(this.#host, this.#wrappers.recordOf(connection), connection, failed);
    return pingMysql2Pool(this.#pool, this.#originalGetConnection ?? this.#pool.getConnection, giveBack, timeoutMillis);
  }

  detach(): void {
    const host = this.#host;
    if (host.detached) return;
    host.detached = true;
    const pool = this.#pool;
    pool.removeListener('connection', this.#onConnection);
    this.#installed.restoreAll();
    this.#wrappers.unwrapAll();
    if (this.#named !== undefined) unnameMysql2Connections(pool.config.connectionConfig, this.#named);
    this.#named = undefined;
  }

  // ---- checkout -----------------------------------------------------------------------------------------------

  #install(key: Wrappable, wrapper: (...args: never[]) => unknown): void {
    this.#installed.install(key, wrapper);
  }

  #getConnection(
    thisArg: unknown,
    original: Mysql2PoolInternal['getConnection'],
    callback: Mysql2ConnectCallback | undefined,
    hideAbove: (...args: never[]) => unknown,
  ): unknown {
    const tracker = this.#host.tracker;
    if (this.#host.detached || tracker === undefined || typeof callback !== 'function') return original.call(thisArg, callback);
    // A waiter mysql2 re-submits (its connection was removed meanwhile): still the same checkout.
    if ((callback as unknown as Record<symbol, unknown>)[this.#ownCallback] === true) return original.call(thisArg, callback);
    const pool = this.#pool;
    let lease: Lease;
    try {
      // A free connection is handed over on the next tick: no wait.
      lease = tracker.checkoutStarted(hideAbove, pool._freeConnections.length > 0 && !pool._closed);
    } catch (error) {
      this.#report(error);
      return original.call(thisArg, callback);
    }
    const settle = this.#settle;
    const oneShot = this.#oneShotDepth.value > 0;
    const connected = function poolscopeConnected(err: Error | null | undefined, connection?: Mysql2ConnectionInternal): void {
      // eslint-disable-next-line prefer-rest-params -- mysql2's exact arguments
      settle(lease, oneShot, arguments, err, connection, callback);
    };
    (connected as unknown as Record<symbol, unknown>)[this.#ownCallback] = true;
    let result: unknown;
    try {
      result = original.call(thisArg, connected);
    } catch (error) {
      // mysql2 threw instead of calling back (e.g. a connection it could not even create): the checkout is over.
      if (lease.state === 'waiting') recordCheckoutFailure(tracker, lease, error, this.#reportError);
      throw error;
    }
    if (pool._connectionQueue.length > 0) {
      try {
        tracker.checkSaturation();
      } catch (error) {
        this.#report(error);
      }
    }
    return result;
  }

  /**
   * mysql2's getConnection callback arrived; records it and calls the caller's callback as the caller's owner
   * (mysql2 calls a queued caller back in the async context of whoever released the connection). An arrow field,
   * so the `function` handed to mysql2 can call it without `this`.
   */
  readonly #settle = (
    lease: Lease,
    oneShot: boolean,
    args: IArguments,
    err: Error | null | undefined,
    connection: Mysql2ConnectionInternal | undefined,
    callback: Mysql2ConnectCallback,
  ): void => {
    const tracker = this.#host.tracker;
    if (tracker === undefined || this.#host.detached) {
      Reflect.apply(callback, undefined, args);
      return;
    }
    if (err || connection === undefined) {
      if (err) recordCheckoutFailure(tracker, lease, err, this.#reportError);
      if (tracker.currentOwner() === lease.owner) Reflect.apply(callback, undefined, args);
      else tracker.runAsOwner(lease.owner, Reflect.apply, callback, undefined, args);
      return;
    }
    try {
      const record = this.#wrappers.wrap(connection);
      const created = record.fresh;
      record.fresh = false;
      const id = connection.threadId;
      tracker.checkoutSucceeded(lease, connection, typeof id === 'number' ? id : null, created, transactionStatusOfFlags(record.status));
      startCheckout(this.#host, record, lease, oneShot);
    } catch (error) {
      this.#report(error);
    }
    if (tracker.currentOwner() === lease.owner) Reflect.apply(callback, undefined, args);
    else tracker.runAsOwner(lease.owner, Reflect.apply, callback, undefined, args);
  };

  /** `pool.releaseConnection(connection)`: mysql2's own release calls it (let through); an app call ends the lease. */
  #releaseConnection(
    thisArg: unknown,
    original: Mysql2PoolInternal['releaseConnection'],
    connection: Mysql2ConnectionInternal,
    hideAbove: (...args: never[]) => unknown,
  ): unknown {
    const host = this.#host;
    // poolscope's own releases, mysql2's internal call for a removed connection, anything after detach: as is.
    if (host.detached || host.quietReleases > 0 || connection === null || typeof connection !== 'object' || connection._pool !== this.#pool) {
      return original.call(thisArg, connection);
    }
    const record = this.#wrappers.recordOf(connection);
    const checkout = record?.checkout;
    if (record === undefined || checkout === undefined) return original.call(thisArg, connection);
    return releaseThroughPool(host, record, checkout, hideAbove, () => original.call(thisArg, connection));
  }

  /**
   * mysql2 removed `connection` from the pool (once per connection). One lent to mysql2's own one-shot
   * `pool.query()` / `pool.execute()` whose session ended (KILL, a reset, a restart) is never released: mysql2
   * releases it on the command's 'end', which a lost connection never emits. Its lease ends here, as destroyed. (A
   * connection the app holds stays its holder's, with the connection error shown, until the app releases it.)
   */
  #removed(connection: Mysql2ConnectionInternal, hideAbove: (...args: never[]) => unknown): void {
    const tracker = this.#host.tracker;
    if (this.#host.detached || tracker === undefined) return;
    try {
      const record = this.#wrappers.recordOf(connection);
      if (record === undefined) return; // never opened (its handshake failed), or opened before tracking and never seen
      if (record.checkout?.oneShot === true) endCheckout(this.#host, record, hideAbove);
      this.#wrappers.forget(connection);
      tracker.connectionRemoved();
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    this.#host.tracker?.reportInternalError(error);
  }

  readonly #reportError = (error: unknown): void => this.#report(error);
}
