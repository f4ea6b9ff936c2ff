import type { PoolTracker } from '../../core/pool-tracker.js';
import type { Lease } from '../../core/lease.js';
import type { Owner } from '../../core/owner-context.js';
import type { PgClientInternal } from './pg-types.js';
import type { Submittable } from './pg-submittable.js';
import { followSubmittable, isFollowable } from './pg-submittable.js';
import { transactionStatusOf } from './pg-client-state.js';
import type { LeaseComment, PgQueryCommenter } from './pg-query-comments.js';

/**
 * The per-client wrappers of the pg adapter: each client's `query` and `emit` (own properties, set once per client)
 * follow queries, transaction status and connection errors for the lease holding it. An `'error'` without listeners
 * still throws as before, because no listener is added. Submittables (pg-cursor, pg-query-stream) are followed to
 * their end through their own handlers (see pg-submittable.ts). With queryComments on, the text of each other
 * statement gets the lease's comment on its way to pg (see pg-query-comments.ts).
 */

/** What the client wrappers read from their adapter. */
export interface PgClientWrapperHost {
  /** The pool's tracker (undefined before attach). */
  readonly tracker: PoolTracker | undefined;
  /** True once the adapter detached: wrappers then pass everything straight to pg. */
  readonly detached: boolean;
  /** The lease whose connect callback is running right now (synchronously), if any. */
  readonly handover: Lease | undefined;
  /** Hands an error of poolscope's own bookkeeping to the inspector's onError. */
  report(error: unknown): void;
}

/** One wrapped client's record. */
export interface ClientWrappers {
  /** The lease holding this client now (read by the query wrapper instead of a Map lookup). */
  lease: Lease | undefined;
  /** The owner in whose async context pg runs this client's socket callbacks (current when it connected). */
  driverOwner: Owner | undefined;
  /** The query comment of the lease holding this client (queryComments; see pg-query-comments.ts). */
  queryComment: LeaseComment | undefined;
  readonly hadOwnQuery: boolean;
  readonly hadOwnEmit: boolean;
  readonly query: PgClientInternal['query'];
  readonly emit: PgClientInternal['emit'];
}

/** Wraps clients of one pool and undoes it at detach. */
export class PgClientWrappers {
  readonly #host: PgClientWrapperHost;
  readonly #clients = new Map<PgClientInternal, ClientWrappers>();
  /** Each wrapped client's record is also an own property under this key (one symbol per adapter, not global). */
  readonly #recordKey = Symbol('poolscope.pg.client');
  /** Set when the pool's queryComments is on: each statement through a lease gets its comment. */
  commenter: PgQueryCommenter | undefined = undefined;

  constructor(host: PgClientWrapperHost) {
    this.#host = host;
  }

  /** Wraps `client`'s query and emit once (later calls return the same record). */
  wrap(client: PgClientInternal): ClientWrappers {
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
      queryComment: undefined,
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

  /** The pool removed `client`: forget it (its wrappers go with it). */
  forget(client: PgClientInternal): void {
    this.#clients.delete(client);
    delete (client as unknown as Record<symbol, unknown>)[this.#recordKey];
  }

  /** Puts back every wrapped client's own query and emit (those someone else replaced since are left alone). */
  unwrapAll(): void {
    for (const [client, wrappers] of this.#clients) {
      delete (client as unknown as Record<symbol, unknown>)[this.#recordKey];
      if (client.query === wrappers.query) restore(client, 'query', wrappers.hadOwnQuery);
      if (client.emit === wrappers.emit) restore(client, 'emit', wrappers.hadOwnEmit);
    }
    this.#clients.clear();
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
    const host = this.#host;
    const tracker = host.tracker;
    const lease = host.detached ? undefined : record.lease;
    if (lease === undefined || tracker === undefined) return original.call(thisArg, config, values, callback);

    // A query sent from inside the connect callback (pool.query does) starts when the checkout did.
    const started = lease === host.handover && lease.queriesRun === 0 ? lease.acquiredAt : tracker.now();
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
      this.#host.report(error);
    }
    if (submittable !== undefined) return this.#querySubmittable(tracker, lease, client, original, thisArg, submittable, values, callback, started, followed);
    // queryComments: the text pg sends carries the lease's comment (the lease records the text as written).
    const commenter = this.commenter;
    if (commenter !== undefined && text !== undefined) config = commenter.annotate(config, text, lease, record);

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
      this.#host.report(error);
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
    const host = this.#host;
    if (host.detached) return;
    try {
      const message = error instanceof Error ? error.message : String(error);
      host.tracker?.connectionFailed(host.tracker.leaseOf(client), message);
    } catch (reportError) {
      host.report(reportError);
    }
  }

}

function restore(client: PgClientInternal, key: 'query' | 'emit', hadOwn: boolean): void {
  if (hadOwn) return; // someone else set it; leave theirs in place
  delete (client as Partial<PgClientInternal>)[key];
}
