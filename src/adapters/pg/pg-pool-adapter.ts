import type { PoolAdapter } from '../../core/pool-adapter.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { Lease } from '../../core/lease.js';
import type { PgClientInternal, PgConnectCallback, PgPoolInternal } from './pg-types.js';
import type { ConnectionNaming } from './pg-application-name.js';
import { nameConnections, pgApplicationNameOf, unnameConnections } from './pg-application-name.js';
import { recordPgCheckoutFailure } from './pg-acquire-timeout.js';
import { pgConfigSnapshot, transactionStatusOf } from './pg-client-state.js';
import type { PgClientWrapperHost } from './pg-client-wrappers.js';
import { PgClientWrappers } from './pg-client-wrappers.js';
import type { PgQueryCommenter } from './pg-query-comments.js';
import { wrapRelease } from './pg-release.js';
import { pingPgPool } from './pg-ping.js';

/**
 * The PoolAdapter of one `pg.Pool`: reads its public counters and settings, wraps its `connect` (own property; pg-pool's
 * `query()` calls `this.connect`, so one-shot `pool.query()` checkouts are seen too), and records each checkout's
 * wait, owner, stack, success or failure. The per-client wrappers are in pg-client-wrappers.ts, the release wrapper
 * in pg-release.ts. See trackPgPool (pg-adapter.ts) for the whole picture.
 */

/** Marks poolscope's wrapper functions so a pool is not tracked twice (a registered symbol: no module state). */
export const WRAPPED = Symbol.for('poolscope.pg.wrapped');

export class PgPoolAdapter implements PoolAdapter {
  readonly driver = 'pg';
  readonly #pool: PgPoolInternal;
  #tracker: PoolTracker | undefined;
  #originalConnect: PgPoolInternal['connect'] | undefined;
  #hadOwnConnect = false;
  #wrappedConnect: PgPoolInternal['connect'] | undefined;
  #lastCreated: PgClientInternal | undefined;
  /** The lease whose connect callback is running right now (synchronously), if any. */
  #handover: Lease | undefined;
  #detached = false;
  /** The application_name poolscope set on the pool's options, and what was there before. */
  #named: ConnectionNaming | undefined;
  readonly #onConnect = (client: PgClientInternal) => {
    if (this.#detached) return;
    try {
      this.#lastCreated = client;
      const record = this.#wrappers.wrap(client);
      // pg-pool emits 'connect' from the client's connect callback, i.e. in its socket's async context.
      record.driverOwner = this.#tracker?.currentOwner();
      this.#tracker?.connectionCreated();
    } catch (error) {
      this.#report(error);
    }
  };
  readonly #onRemove = (client: PgClientInternal) => {
    if (this.#detached) return;
    try {
      this.#wrappers.forget(client);
      this.#tracker?.connectionRemoved();
    } catch (error) {
      this.#report(error);
    }
  };

  /** What the client and release wrappers read from this adapter. */
  readonly #host: PgClientWrapperHost;
  readonly #wrappers: PgClientWrappers;

  constructor(pool: PgPoolInternal) {
    this.#pool = pool;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the host's getters read this adapter's fields
    const adapter = this;
    this.#host = {
      get tracker() {
        return adapter.#tracker;
      },
      get detached() {
        return adapter.#detached;
      },
      get handover() {
        return adapter.#handover;
      },
      report: (error) => this.#report(error),
    };
    this.#wrappers = new PgClientWrappers(this.#host);
  }

  attach(tracker: PoolTracker): void {
    this.#tracker = tracker;
    const pool = this.#pool;
    const original = pool.connect;
    this.#originalConnect = original;
    this.#hadOwnConnect = Object.hasOwn(pool, 'connect');
    const viaAdapter = (thisArg: unknown, callback: PgConnectCallback | undefined): unknown =>
      this.connect(thisArg, original, callback, wrapped);
    // A named function expression (it keeps pg's `this`): the wrapper, and the frame hidden from captured stacks.
    const wrapped = function poolscopeConnect(this: unknown, callback?: PgConnectCallback): unknown {
      return viaAdapter(this, callback);
    };
    Object.defineProperty(wrapped, WRAPPED, { value: true });
    this.#wrappedConnect = wrapped;
    pool.connect = wrapped;
    pool.on('connect', this.#onConnect);
    pool.on('remove', this.#onRemove);
  }

  /** Turns on query comments (queryComments) for the statements sent through this pool's leases from now on. */
  commentQueries(commenter: PgQueryCommenter): void {
    this.#wrappers.commenter = commenter;
  }

  /**
   * Sets `pool.options.application_name` to `name` for the connections the pool opens from now on, unless the
   * pool's config names them: its application_name (options or connection string) always wins; PGAPPNAME and
   * fallback_application_name win unless `explicit` (a name the user gave poolscope). Never throws.
   */
  nameConnections(name: string, explicit: boolean): void {
    try {
      this.#named = nameConnections(this.#pool.options, name, explicit);
    } catch (error) {
      this.#report(error);
    }
  }

  // ---- PoolAdapter --------------------------------------------------------------------------------------------

  totalCount(): number {
    return this.#pool.totalCount;
  }

  idleCount(): number {
    return this.#pool.idleCount;
  }

  /**
   * Callers queued that neither an idle connection nor a free slot is about to serve. pg-pool queues every
   * `connect()` made while it has idle clients and serves the queue on the next tick (from idle clients, then by
   * opening new ones up to max), so its raw `waitingCount` is briefly non-zero on a pool with room; only the excess
   * is real waiting.
   */
  waitingCount(): number {
    const pool = this.#pool;
    const excess = pool.waitingCount - pool.idleCount - Math.max(0, this.max() - pool.totalCount);
    return excess > 0 ? excess : 0;
  }

  max(): number {
    const max = this.#pool.options.max;
    return typeof max === 'number' && max > 0 ? max : 10;
  }

  min(): number {
    const min = this.#pool.options.min;
    return typeof min === 'number' && min > 0 ? min : 0;
  }

  /** The pool's settings; `application_name` is also filled from PGAPPNAME or fallback_application_name. */
  config(): PoolConfigSnapshot {
    const options = this.#pool.options;
    const snapshot = pgConfigSnapshot(options);
    if (snapshot.application_name !== undefined) return snapshot;
    const resolved = pgApplicationNameOf(options);
    if (resolved.source !== 'environment' && resolved.source !== 'fallback') return snapshot;
    return { ...snapshot, application_name: resolved.name };
  }

  /** Readiness check through pg's own `connect` (see pingPgPool): no lease is recorded. */
  ping(timeoutMillis: number): Promise<void> {
    return pingPgPool(this.#pool, this.#originalConnect ?? this.#pool.connect, timeoutMillis);
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const pool = this.#pool;
    pool.removeListener('connect', this.#onConnect);
    pool.removeListener('remove', this.#onRemove);
    if (pool.connect === this.#wrappedConnect && this.#originalConnect !== undefined) {
      if (this.#hadOwnConnect) pool.connect = this.#originalConnect;
      else delete (pool as { connect?: unknown }).connect;
    }
    this.#wrappers.unwrapAll();
    this.#wrappers.commenter = undefined;
    if (this.#named !== undefined) unnameConnections(pool.options, this.#named);
    this.#named = undefined;
    this.#lastCreated = undefined;
  }

  // ---- checkout -----------------------------------------------------------------------------------------------

  connect(
    thisArg: unknown,
    original: PgPoolInternal['connect'],
    callback: PgConnectCallback | undefined,
    hideAbove: (...args: never[]) => unknown,
  ): unknown {
    const tracker = this.#tracker;
    if (this.#detached || tracker === undefined) return original.call(thisArg, callback);
    const settle = this.#settle;
    let lease: Lease;
    try {
      // More idle connections than waiters: pg-pool hands one over on the next tick, which is no wait.
      const pool = this.#pool;
      lease = tracker.checkoutStarted(hideAbove, pool.idleCount > pool.waitingCount);
    } catch (error) {
      this.#report(error);
      return original.call(thisArg, callback);
    }
    if (typeof callback === 'function') {
      const result = original.call(thisArg, function poolscopeConnected(err, client, done) {
        return settle(lease, arguments.length, err, client, done, callback, true);
      });
      this.#afterConnectCall(tracker);
      return result;
    }
    // Promise form: ask pg in callback form and settle our own promise (pool.Promise, like pg-pool does).
    const PromiseImpl = this.#pool.Promise ?? Promise;
    const promise = new PromiseImpl<PgClientInternal>((resolve, reject) => {
      original.call(thisArg, (err, client, done) =>
        settle(
          lease,
          3,
          err,
          client,
          done,
          (settledErr, settledClient) => {
            if (settledErr) reject(settledErr);
            else resolve(settledClient as PgClientInternal);
          },
          false,
        ),
      );
    });
    this.#afterConnectCall(tracker);
    return promise;
  }

  #afterConnectCall(tracker: PoolTracker): void {
    if (this.#pool.waitingCount === 0) return; // nobody queued: checkoutSucceeded checks utilization
    try {
      tracker.checkSaturation();
    } catch (error) {
      this.#report(error);
    }
  }

  /**
   * pg's connect callback arrived (with `argc` arguments); records it and calls the caller's callback, as the
   * caller's owner when `asOwner` (pg may call it in another request's context: the one whose release freed the
   * connection). An arrow field, so the `function` wrapper handed to pg (which needs `arguments.length`) can call it
   * without `this`.
   */
  readonly #settle = (
    lease: Lease,
    argc: number,
    err: Error | undefined | null,
    client: PgClientInternal | undefined,
    done: ((release?: unknown) => void) | undefined,
    callback: PgConnectCallback,
    asOwner: boolean,
  ): void => {
    const tracker = this.#tracker;
    if (err || client === undefined || tracker === undefined || this.#detached) {
      if (err && tracker !== undefined && !this.#detached) recordPgCheckoutFailure(tracker, lease, err, (error) => this.#report(error));
      // Exactly what pg passed: 1 argument on some errors, 3 on others.
      if (asOwner && tracker !== undefined) {
        if (argc <= 1) tracker.runAsOwner(lease.owner, callback, err);
        else tracker.runAsOwner(lease.owner, callback, err, client, done);
      } else if (argc <= 1) callback(err);
      else callback(err, client, done);
      return;
    }
    let release = done;
    try {
      const record = this.#wrappers.wrap(client);
      const created = client === this.#lastCreated;
      if (created) this.#lastCreated = undefined;
      const pid = client.processID;
      tracker.checkoutSucceeded(lease, client, typeof pid === 'number' ? pid : null, created, transactionStatusOf(client));
      record.lease = lease;
      release = wrapRelease(this.#host, tracker, lease, client, record, client.release);
      client.release = release;
    } catch (error) {
      this.#report(error);
    }
    // A query sent from inside the callback (pool.query does) starts when the checkout did: no second clock read.
    const previous = this.#handover;
    this.#handover = lease;
    try {
      if (!asOwner || tracker.currentOwner() === lease.owner) callback(undefined, client, release);
      else tracker.runAsOwner(lease.owner, callback, undefined, client, release);
    } finally {
      this.#handover = previous;
    }
  }

  #report(error: unknown): void {
    this.#tracker?.reportInternalError(error);
  }
}
