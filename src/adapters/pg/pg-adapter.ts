import { ConnectionDestroyedError, PoolPingError, PoolTrackingError } from '../../errors.js';
import type { Inspector } from '../../core/inspector.js';
import type { PoolAdapter } from '../../core/pool-adapter.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { PoolTrackingOptions } from '../../core/pool-tracker-options.js';
import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { Lease } from '../../core/lease.js';
import type { Owner } from '../../core/owner-context.js';
import type { PgClientInternal, PgConnectCallback, PgPoolInternal, PgPoolLike } from './pg-types.js';
import { generatedApplicationName, pgApplicationNameOf } from './pg-application-name.js';
import type { Submittable } from './pg-submittable.js';
import { followSubmittable, isFollowable } from './pg-submittable.js';
import { enrichTimeoutError, PG_ACQUIRE_TIMEOUT_MESSAGE } from './pg-acquire-timeout.js';
import { pgConfigSnapshot, transactionStatusOf } from './pg-client-state.js';

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
 * - the pool's `'connect'` and `'remove'` events count created and removed connections;
 * - unless the pool's config names its connections, `pool.options.application_name` is set (see
 *   `pgApplicationNameOf`), which pg-pool passes to every new client; connections already open keep their name.
 */

/** Marks poolscope's wrapper functions so a pool is not tracked twice (a registered symbol: no module state). */
const WRAPPED = Symbol.for('poolscope.pg.wrapped');

/**
 * Starts tracking `pool` under `options.name` and returns its tracker. Throws POOLSCOPE_ERR_POOL_UNSUPPORTED for
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
export function trackPgPool(inspector: Inspector, pool: PgPoolLike, options: PoolTrackingOptions): PoolTracker {
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
  const choice = tracker.options.applicationName;
  if (choice !== false) {
    adapter.nameConnections(choice ?? generatedApplicationName(inspector.appName, inspector.instanceId, tracker.name), choice !== undefined);
  }
  return tracker;
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
        'waitingCount and options. A pg.Client is not a pool; wrap your connections in new pg.Pool(config).',
    );
  }
  return candidate as PgPoolInternal;
}

interface ClientWrappers {
  /** The lease holding this client now (read by the query wrapper instead of a Map lookup). */
  lease: Lease | undefined;
  /** The owner in whose async context pg runs this client's socket callbacks (current when it connected). */
  driverOwner: Owner | undefined;
  readonly hadOwnQuery: boolean;
  readonly hadOwnEmit: boolean;
  readonly query: PgClientInternal['query'];
  readonly emit: PgClientInternal['emit'];
}

class PgPoolAdapter implements PoolAdapter {
  readonly driver = 'pg';
  readonly #pool: PgPoolInternal;
  readonly #clients = new Map<PgClientInternal, ClientWrappers>();
  /** Each wrapped client's record is also an own property under this key (one symbol per adapter, not global). */
  readonly #recordKey = Symbol('poolscope.pg.client');
  #tracker: PoolTracker | undefined;
  #originalConnect: PgPoolInternal['connect'] | undefined;
  #hadOwnConnect = false;
  #wrappedConnect: PgPoolInternal['connect'] | undefined;
  #lastCreated: PgClientInternal | undefined;
  /** The lease whose connect callback is running right now (synchronously), if any. */
  #handover: Lease | undefined;
  #detached = false;
  /** The application_name poolscope set on the pool's options, and what was there before. */
  #named: { readonly name: string; readonly hadOwn: boolean; readonly previous: unknown } | undefined;
  readonly #onConnect = (client: PgClientInternal) => {
    if (this.#detached) return;
    try {
      this.#lastCreated = client;
      const record = this.#wrapClient(client);
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
      this.#clients.delete(client);
      delete (client as unknown as Record<symbol, unknown>)[this.#recordKey];
      this.#tracker?.connectionRemoved();
    } catch (error) {
      this.#report(error);
    }
  };

  constructor(pool: PgPoolInternal) {
    this.#pool = pool;
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

  /**
   * Sets `pool.options.application_name` to `name` for the connections the pool opens from now on, unless the
   * pool's config names them: its application_name (options or connection string) always wins; PGAPPNAME and
   * fallback_application_name win unless `explicit` (a name the user gave poolscope). Never throws.
   */
  nameConnections(name: string, explicit: boolean): void {
    try {
      const options = this.#pool.options;
      const current = pgApplicationNameOf(options);
      if (!current.settable || current.source === 'config' || current.source === 'connection-string') return;
      if (!explicit && current.source !== undefined) return;
      this.#named = { name, hadOwn: Object.hasOwn(options, 'application_name'), previous: options.application_name };
      options.application_name = name;
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

  /**
   * Readiness check: borrows a connection through pg's own `connect` (no lease is recorded, so the app's counters
   * and leak checks are untouched), runs `SELECT 1` and returns it; a connection whose query fails is destroyed.
   * A connection that arrives after the timeout is still queried and returned, never leaked.
   */
  ping(timeoutMillis: number): Promise<void> {
    const pool = this.#pool;
    const connect = this.#originalConnect ?? pool.connect;
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
    for (const [client, wrappers] of this.#clients) {
      delete (client as unknown as Record<symbol, unknown>)[this.#recordKey];
      if (client.query === wrappers.query) restore(client, 'query', wrappers.hadOwnQuery);
      if (client.emit === wrappers.emit) restore(client, 'emit', wrappers.hadOwnEmit);
    }
    this.#clients.clear();
    const named = this.#named;
    this.#named = undefined;
    if (named !== undefined && pool.options.application_name === named.name) {
      const options = pool.options as Record<string, unknown>;
      if (named.hadOwn) options.application_name = named.previous;
      else delete options.application_name;
    }
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
      if (err && tracker !== undefined && !this.#detached) this.#failed(tracker, lease, err);
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
      const record = this.#wrapClient(client);
      const created = client === this.#lastCreated;
      if (created) this.#lastCreated = undefined;
      const pid = client.processID;
      tracker.checkoutSucceeded(lease, client, typeof pid === 'number' ? pid : null, created, transactionStatusOf(client));
      record.lease = lease;
      release = this.#wrapRelease(tracker, lease, client, record, client.release);
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

  #failed(tracker: PoolTracker, lease: Lease, err: Error): void {
    try {
      const message = typeof err.message === 'string' ? err.message : String(err);
      const timedOut = message.startsWith(PG_ACQUIRE_TIMEOUT_MESSAGE);
      const report = tracker.checkoutFailed(lease, timedOut, message);
      if (report !== undefined) enrichTimeoutError(err, report);
    } catch (error) {
      this.#report(error);
    }
  }

  #wrapRelease(
    tracker: PoolTracker,
    lease: Lease,
    client: PgClientInternal,
    record: ClientWrappers,
    original: (err?: unknown) => void,
  ): (err?: unknown) => void {
    let released = false;
    const release = (err?: unknown): void => {
      if (this.#detached) return original(err);
      if (released) {
        try {
          tracker.releaseRepeated(lease, release);
        } catch (error) {
          this.#report(error);
        }
        return original(err); // pg-pool throws its own double-release error, as without poolscope
      }
      released = true;
      if (record.lease === lease) record.lease = undefined;
      let passed = err;
      try {
        const verdict = tracker.releaseStarted(lease, transactionStatusOf(client), Boolean(err), release, record.driverOwner);
        if (verdict.destroy && !err) {
          passed = new ConnectionDestroyedError('poolscope: connection destroyed because it was released inside a transaction');
        } else if (verdict.rollback && !err) {
          this.#rollbackThenRelease(client, original);
          return undefined;
        }
      } catch (error) {
        this.#report(error);
      }
      return original(passed);
    };
    return release;
  }

  /**
   * `onDirtyRelease: 'rollback'`: ROLLBACK on the released connection (untracked: the lease is over), then pg-pool's
   * release; a connection whose ROLLBACK fails is destroyed. pg-pool counts it as checked out until then.
   */
  #rollbackThenRelease(client: PgClientInternal, release: (err?: unknown) => void): void {
    const settle = (error: unknown): void => {
      try {
        release(error ? new ConnectionDestroyedError('poolscope: connection destroyed because ROLLBACK after a dirty release failed', { cause: error }) : undefined);
      } catch (releaseError) {
        this.#report(releaseError);
      }
    };
    try {
      client.query('ROLLBACK', (error: unknown) => settle(error));
    } catch (error) {
      settle(error);
    }
  }

  // ---- per-client wrappers ------------------------------------------------------------------------------------

  #wrapClient(client: PgClientInternal): ClientWrappers {
    // The record rides on the client under this adapter's own symbol: a property load on every checkout instead of
    // a Map lookup (the Map is kept to undo the wrapping at detach).
    const existing = (client as unknown as Record<symbol, ClientWrappers | undefined>)[this.#recordKey];
    if (existing !== undefined) return existing;
    const originalQuery = client.query;
    const originalEmit = client.emit;
    const queryVia = (thisArg: unknown, config: unknown, values: unknown, callback: unknown): unknown =>
      this.#query(client, record, originalQuery, thisArg, config, values, callback);
    const onError = (error: unknown): void => this.#clientError(client, error);
    const query = function poolscopeQuery(this: unknown, config: unknown, values?: unknown, callback?: unknown): unknown {
      return queryVia(this, config, values, callback);
    };
    const emit = function poolscopeEmit(this: unknown, event: string | symbol, error?: unknown): boolean {
      if (event === 'error') onError(error);
      // pg's exact arguments; its usual emits ('drain', 'end') have none, so no arguments object is made for them.
      if (arguments.length === 1) return originalEmit.call(this, event);
      // eslint-disable-next-line prefer-rest-params -- see above
      return Reflect.apply(originalEmit, this, arguments) as boolean;
    };
    const record: ClientWrappers = {
      lease: undefined,
      driverOwner: undefined,
      hadOwnQuery: Object.hasOwn(client, 'query'),
      hadOwnEmit: Object.hasOwn(client, 'emit'),
      query,
      emit,
    };
    this.#clients.set(client, record);
    Object.defineProperty(client, this.#recordKey, { value: record, configurable: true, writable: true, enumerable: false });
    client.query = query;
    client.emit = emit;
    return record;
  }

  #query(
    client: PgClientInternal,
    record: ClientWrappers,
    original: PgClientInternal['query'],
    thisArg: unknown,
    config: unknown,
    values: unknown,
    callback: unknown,
  ): unknown {
    const tracker = this.#tracker;
    const lease = this.#detached ? undefined : record.lease;
    if (lease === undefined || tracker === undefined) return original.call(thisArg, config, values, callback);

    // A query sent from inside the connect callback (pool.query does) starts when the checkout did.
    const started = lease === this.#handover && lease.queriesRun === 0 ? lease.acquiredAt : tracker.now();
    let text: string | undefined;
    let submittable: Submittable | undefined;
    if (typeof config === 'string') text = config;
    else if (config !== null && typeof config === 'object') {
      const c = config as Submittable;
      if (typeof c.text === 'string') text = c.text;
      if (typeof c.submit === 'function') {
        submittable = c;
        // pg-query-stream keeps its text on its cursor.
        if (text === undefined && typeof c.cursor?.text === 'string') text = c.cursor.text;
      }
    }
    // Completion is followed for callback and promise forms, and for submittables (cursors, streams) through the
    // handlers pg calls when they end; one that lacks them is only counted and named.
    const followed = submittable === undefined || isFollowable(submittable);
    try {
      tracker.queryStarted(lease, text, started, followed);
    } catch (error) {
      this.#report(error);
    }
    if (submittable !== undefined) return this.#querySubmittable(tracker, lease, client, original, thisArg, submittable, values, callback, started, followed);

    const userCallback = typeof values === 'function' ? values : typeof callback === 'function' ? callback : undefined;
    if (userCallback !== undefined) {
      const user = userCallback as (...args: unknown[]) => unknown;
      const owner = tracker.currentOwner();
      const done = this.#queryDone;
      // A function expression, so the user's callback gets pg's own `this` (the Query) and arguments; run as the
      // owner that sent the query (pg calls it in the socket's async context).
      const wrappedCallback = function poolscopeQueryDone(this: unknown, err: unknown, result: unknown): unknown {
        done(tracker, lease, client, started, !err);
        // pg's exact arguments (it passes 1 on some errors); no arguments object on the usual path.
        if (tracker.currentOwner() === owner) {
          // eslint-disable-next-line prefer-rest-params -- see above
          return arguments.length === 2 ? user.call(this, err, result) : Reflect.apply(user, this, arguments);
        }
        // eslint-disable-next-line prefer-rest-params -- see above
        return tracker.runAsOwner(owner, Reflect.apply, user, this, arguments);
      };
      if (typeof values === 'function') values = wrappedCallback;
      else callback = wrappedCallback;
      try {
        return original.call(thisArg, config, values, callback);
      } catch (error) {
        done(tracker, lease, client, started, false);
        throw error;
      }
    }

    if (typeof config === 'string') {
      // Promise form of a text query: pg is asked in callback form and the promise is made here (pg's own way, with
      // the client's Promise), so following it costs no derived promise and no extra microtask. (A config object is
      // passed through: pg would store the callback on the caller's object.)
      const PromiseImpl = client._Promise ?? Promise;
      const done = this.#queryDone;
      let resolve!: (value: unknown) => void;
      let reject!: (reason: unknown) => void;
      const promise = new PromiseImpl<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const settle = (err: unknown, result: unknown): void => {
        done(tracker, lease, client, started, !err);
        if (err) reject(err);
        else resolve(result);
      };
      try {
        original.call(thisArg, config, values, settle);
      } catch (error) {
        done(tracker, lease, client, started, false);
        throw error; // synchronously, as pg's promise form throws
      }
      return promise;
    }

    let result: unknown;
    try {
      result = original.call(thisArg, config, values, callback);
    } catch (error) {
      this.#queryDone(tracker, lease, client, started, false);
      throw error;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        () => this.#queryDone(tracker, lease, client, started, true),
        () => this.#queryDone(tracker, lease, client, started, false),
      );
    } else {
      this.#queryDone(tracker, lease, client, started, true);
    }
    return result;
  }

  /** A followed query ended. An arrow field, so wrappers call it without binding `this`. */
  readonly #queryDone = (tracker: PoolTracker, lease: Lease, client: PgClientInternal, started: number, ok: boolean): void => {
    try {
      tracker.queryFinished(lease, started, ok, transactionStatusOf(client));
    } catch (error) {
      this.#report(error);
    }
  };

  #querySubmittable(
    tracker: PoolTracker,
    lease: Lease,
    client: PgClientInternal,
    original: PgClientInternal['query'],
    thisArg: unknown,
    submittable: Submittable,
    values: unknown,
    callback: unknown,
    started: number,
    followed: boolean,
  ): unknown {
    let finished = !followed;
    const finish = (ok: boolean): void => {
      if (finished) return;
      finished = true;
      this.#queryDone(tracker, lease, client, started, ok);
    };
    if (followed) followSubmittable(submittable, finish);
    try {
      return original.call(thisArg, submittable, values, callback);
    } catch (error) {
      finish(false);
      throw error;
    }
  }

  #clientError(client: PgClientInternal, error: unknown): void {
    if (this.#detached) return;
    try {
      const message = error instanceof Error ? error.message : String(error);
      this.#tracker?.connectionFailed(this.#tracker.leaseOf(client), message);
    } catch (reportError) {
      this.#report(reportError);
    }
  }

  #report(error: unknown): void {
    this.#tracker?.reportInternalError(error);
  }
}

function restore(client: PgClientInternal, key: 'query' | 'emit', hadOwn: boolean): void {
  if (hadOwn) return; // someone else set it; leave theirs in place
  delete (client as Partial<PgClientInternal>)[key];
}
