import type { AdapterCapabilities, PoolAdapter } from '../../core/pool-adapter.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { Lease } from '../../core/lease.js';
import { messageOf } from '../../errors.js';
import { enrichTimeoutError } from '../../core/acquire-timeout-report.js';
import { connectionOf, ResourceLeases } from '../resource-pool/resource-leases.js';
import { reportUnknownRelease } from '../resource-pool/unknown-release.js';
import { pingThroughPool } from '../resource-pool/resource-ping.js';
import type { GenericPoolInternal } from './generic-pool-types.js';
import { genericPoolConfigSnapshot } from './generic-pool-config.js';
import type { FactoryDelegation } from './generic-pool-factory.js';
import { delegateFactory } from './generic-pool-factory.js';

/**
 * The PoolAdapter of one generic-pool Pool. generic-pool emits no event for a checkout or a release, so the
 * instance's `acquire`, `release` and `destroy` are wrapped (own properties; `use()` calls them through `this`, so
 * its checkouts are seen too). Each wrapper calls generic-pool's own method with the same `this` and arguments;
 * `release` and `destroy` return its very promise, `acquire` one derived from it by its own `then()` that settles
 * the same way (as pg-pool's connect() wrapper makes its own promise): a rejection (a timeout, "Resource not
 * currently part of this pool") reaches the caller as it would without poolscope, only a timeout's message gets
 * poolscope's explanation appended first.
 * generic-pool's factory (`pool._factory`, its own field) is replaced by a delegate that calls the same factory, to
 * count the resources created and destroyed; `factoryCreateError` / `factoryDestroyError` count their errors.
 */

/** Marks poolscope's wrappers so a pool is not tracked twice (a registered symbol: no module state). */
export const GENERIC_POOL_WRAPPED = Symbol.for('poolscope.generic-pool.wrapped');

/** What the adapter is told beyond generic-pool's API (trackGenericPool's options). */
export interface GenericPoolAdapterSetup {
  /** The server-side session id of a resource, when the user says how to read it. */
  readonly sessionIdOf: ((resource: unknown) => unknown) | undefined;
  /** A readiness check of one resource, when the user gives one. */
  readonly pingResource: ((resource: unknown) => unknown) | undefined;
}

type Wrapped = 'acquire' | 'release' | 'destroy';

export class GenericPoolAdapter implements PoolAdapter {
  readonly driver = 'generic-pool';
  readonly capabilities: AdapterCapabilities;
  /** Present when `pingResource` was given. */
  readonly ping: ((timeoutMillis: number) => Promise<void>) | undefined;
  readonly #pool: GenericPoolInternal;
  readonly #setup: GenericPoolAdapterSetup;
  readonly #leases = new ResourceLeases();
  readonly #originals: { [K in Wrapped]: GenericPoolInternal[K] };
  readonly #installed: { key: Wrapped; wrapper: unknown; hadOwn: boolean }[] = [];
  #factory: FactoryDelegation | undefined;
  #tracker: PoolTracker | undefined;
  #detached = false;

  readonly #onCreateError = (error: unknown): void => this.#safely((t) => t.connectionFailed(undefined, messageOf(error)));
  readonly #onDestroyError = (error: unknown): void =>
    this.#safely((t) => t.connectionFailed(undefined, `destroying a resource failed: ${messageOf(error)}`));
  readonly #created = (resource: unknown): void =>
    this.#safely((t) => {
      this.#leases.created(resource);
      t.connectionCreated();
    });
  readonly #destroying = (): void => this.#safely((t) => t.connectionRemoved());

  constructor(pool: GenericPoolInternal, setup: GenericPoolAdapterSetup) {
    this.#pool = pool;
    this.#setup = setup;
    this.#originals = { acquire: pool.acquire, release: pool.release, destroy: pool.destroy };
    this.capabilities = Object.freeze({ queries: false, transactions: false, sessionIds: setup.sessionIdOf !== undefined });
    const check = setup.pingResource;
    this.ping = check === undefined ? undefined : (timeoutMillis) => this.#ping(check, timeoutMillis);
  }

  attach(tracker: PoolTracker): void {
    this.#tracker = tracker;
    const pool = this.#pool;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrappers keep generic-pool's `this`
    const adapter = this;
    const { acquire, release, destroy } = this.#originals;
    const acquireWrapper = function poolscopeAcquire(this: unknown): PromiseLike<unknown> {
      // eslint-disable-next-line prefer-rest-params -- generic-pool's exact arguments
      return adapter.#acquire(this, acquire, arguments, acquireWrapper);
    };
    const releaseWrapper = function poolscopeRelease(this: unknown, resource: unknown): PromiseLike<void> {
      // eslint-disable-next-line prefer-rest-params -- generic-pool's exact arguments
      return adapter.#giveBack(this, release, arguments, resource, false, releaseWrapper);
    };
    const destroyWrapper = function poolscopeDestroy(this: unknown, resource: unknown): PromiseLike<void> {
      // eslint-disable-next-line prefer-rest-params -- generic-pool's exact arguments
      return adapter.#giveBack(this, destroy, arguments, resource, true, destroyWrapper);
    };
    Object.defineProperty(acquireWrapper, GENERIC_POOL_WRAPPED, { value: true });
    this.#install('acquire', acquireWrapper);
    this.#install('release', releaseWrapper);
    this.#install('destroy', destroyWrapper);
    this.#factory = delegateFactory(pool, { created: this.#created, destroying: this.#destroying });
    pool.on('factoryCreateError', this.#onCreateError);
    pool.on('factoryDestroyError', this.#onDestroyError);
  }

  // ---- PoolAdapter --------------------------------------------------------------------------------------------

  /** Resources the pool has, those being created included (generic-pool's `size`). */
  totalCount(): number {
    return this.#pool.size;
  }

  idleCount(): number {
    return this.#pool.available;
  }

  /** Callers in generic-pool's queue (`pending`; those a resource is being created for included). */
  waitingCount(): number {
    return this.#pool.pending;
  }

  max(): number {
    const max = this.#pool.max;
    return typeof max === 'number' && max > 0 ? max : 1;
  }

  min(): number {
    const min = this.#pool.min;
    return typeof min === 'number' && min > 0 ? min : 0;
  }

  /** generic-pool's resolved options (see genericPoolConfigSnapshot). */
  config(): PoolConfigSnapshot {
    return genericPoolConfigSnapshot(this.#pool._config, this.max(), this.min());
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const pool = this.#pool;
    pool.removeListener('factoryCreateError', this.#onCreateError);
    pool.removeListener('factoryDestroyError', this.#onDestroyError);
    const own = pool as unknown as Record<string, unknown>;
    for (const { key, wrapper, hadOwn } of this.#installed.splice(0)) {
      if (own[key] !== wrapper) continue; // someone else replaced it since: leave theirs
      if (hadOwn) own[key] = this.#originals[key];
      else delete own[key];
    }
    this.#factory?.undo();
    this.#factory = undefined;
    this.#leases.clear();
  }

  // ---- checkout and release -----------------------------------------------------------------------------------

  #install(key: Wrapped, wrapper: unknown): void {
    const own = this.#pool as unknown as Record<string, unknown>;
    this.#installed.push({ key, wrapper, hadOwn: Object.hasOwn(own, key) });
    own[key] = wrapper;
  }

  #acquire(
    thisArg: unknown,
    original: GenericPoolInternal['acquire'],
    args: IArguments,
    hideAbove: (...args: never[]) => unknown,
  ): PromiseLike<unknown> {
    const tracker = this.#tracker;
    if (this.#detached || tracker === undefined) return Reflect.apply(original, thisArg, args) as PromiseLike<unknown>;
    let lease: Lease;
    try {
      // More idle resources than callers queued: generic-pool hands one over at once, which is no wait.
      const pool = this.#pool;
      lease = tracker.checkoutStarted(hideAbove, pool.available > pool.pending);
    } catch (error) {
      this.#report(error);
      return Reflect.apply(original, thisArg, args) as PromiseLike<unknown>;
    }
    let acquired: PromiseLike<unknown>;
    try {
      acquired = Reflect.apply(original, thisArg, args) as PromiseLike<unknown>;
    } catch (error) {
      this.#failed(tracker, lease, error);
      throw error;
    }
    if (this.#pool.pending > 0) {
      try {
        tracker.checkSaturation();
      } catch (error) {
        this.#report(error);
      }
    }
    if (acquired === null || typeof acquired?.then !== 'function') return acquired;
    // The caller gets a promise derived from generic-pool's (made by its own then(), so of its Promise class) that
    // settles the same way, after the bookkeeping: the lease is held, or the timeout explained, when the caller's
    // code runs. Derived rather than observed, so that a rejection nobody handles is still reported as unhandled.
    return acquired.then(
      (resource) => {
        this.#acquired(tracker, lease, resource);
        return resource;
      },
      (error: unknown) => {
        this.#failed(tracker, lease, error);
        throw error;
      },
    );
  }

  #acquired(tracker: PoolTracker, lease: Lease, resource: unknown): void {
    if (this.#detached) return;
    try {
      // Created for this caller: a resource the factory made that no lease had, handed to a caller that waited.
      const created = this.#leases.takeFresh(resource) && lease.acquiredAt === 0;
      tracker.checkoutSucceeded(lease, connectionOf(resource), this.#sessionIdOf(resource), created, 'unknown');
      this.#leases.lent(resource, lease);
    } catch (error) {
      this.#report(error);
    }
  }

  #failed(tracker: PoolTracker, lease: Lease, error: unknown): void {
    if (this.#detached) return;
    try {
      // generic-pool's acquire timeout: its TimeoutError ("ResourceRequest timed out"), named so.
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      const report = tracker.checkoutFailed(lease, timedOut, messageOf(error));
      if (report !== undefined && error instanceof Error) enrichTimeoutError(error, report);
    } catch (failure) {
      this.#report(failure);
    }
  }

  /** `release(resource)` or `destroy(resource)`: ends the lease holding it, or reports a resource not lent. */
  #giveBack(
    thisArg: unknown,
    original: GenericPoolInternal['release'],
    args: IArguments,
    resource: unknown,
    destroying: boolean,
    hideAbove: (...args: never[]) => unknown,
  ): PromiseLike<void> {
    const tracker = this.#tracker;
    if (!this.#detached && tracker !== undefined) {
      try {
        const lease = this.#leases.returned(resource);
        if (lease !== undefined) {
          // No transactions here (the adapter cannot see them): a release is never dirty.
          tracker.releaseStarted(lease, 'unknown', destroying, hideAbove);
        } else if (!this.#pool.isBorrowedResource(resource)) {
          // Not lent now (generic-pool rejects it): lent by this pool before, or never.
          const last = this.#leases.lastLeaseOf(resource);
          if (last !== undefined) tracker.releaseRepeated(last, hideAbove);
          else reportUnknownRelease(tracker, hideAbove);
        }
        // Else lent before tracking began: generic-pool takes it back, nothing to say.
      } catch (error) {
        this.#report(error);
      }
    }
    return Reflect.apply(original, thisArg, args) as PromiseLike<void>;
  }

  // ---- resources ----------------------------------------------------------------------------------------------

  #sessionIdOf(resource: unknown): number | null {
    const read = this.#setup.sessionIdOf;
    if (read === undefined) return null;
    try {
      const id = read(resource);
      return typeof id === 'number' && Number.isFinite(id) ? id : null;
    } catch (error) {
      this.#report(error);
      return null;
    }
  }

  /** Bookkeeping that must never throw into generic-pool; nothing after detach. */
  #safely(record: (tracker: PoolTracker) => void): void {
    const tracker = this.#tracker;
    if (this.#detached || tracker === undefined) return;
    try {
      record(tracker);
    } catch (error) {
      this.#report(error);
    }
  }

  /** Readiness: a resource borrowed through generic-pool's own methods (no lease), checked, and given back. */
  #ping(check: (resource: unknown) => unknown, timeoutMillis: number): Promise<void> {
    const pool = this.#pool;
    const { acquire, release } = this.#originals;
    return pingThroughPool(
      () => acquire.call(pool),
      (resource) => void release.call(pool, resource).then(undefined, () => undefined),
      check,
      timeoutMillis,
    );
  }

  #report(error: unknown): void {
    this.#tracker?.reportInternalError(error);
  }
}

