import type { AdapterCapabilities, PoolAdapter } from '../../core/pool-adapter.js';
import type { PoolTracker } from '../../core/pool-tracker.js';
import type { PoolConfigSnapshot } from '../../core/pool-snapshot.js';
import type { Lease, TransactionStatus } from '../../core/lease.js';
import { messageOf } from '../../errors.js';
import { enrichTimeoutError } from '../../core/acquire-timeout-report.js';
import { connectionOf, ResourceLeases } from '../resource-pool/resource-leases.js';
import { reportUnknownRelease } from '../resource-pool/unknown-release.js';
import { pingThroughPool } from '../resource-pool/resource-ping.js';
import { TarnPgResources } from './tarn-pg-resources.js';
import type { TarnPoolInternal } from './tarn-types.js';
import { tarnLends } from './tarn-pool-lists.js';
import type { TarnAdapterSetup } from './tarn-adapter-setup.js';
import { isTarnTimeout } from './tarn-acquire-timeout.js';
import { tarnConfigSnapshot } from './tarn-pool-config.js';

/**
 * The PoolAdapter of one tarn Pool (Knex's pool, or one of your own). tarn tells what happens through its own event
 * emitter, with a listener run synchronously at each step, so poolscope only listens; nothing of the pool is
 * replaced:
 * - `acquireRequest` (inside `acquire()`, in the caller's synchronous call) starts the lease: wait, owner, stack;
 *   `acquireSuccess` / `acquireFail` (before the caller's own continuation) settle it, and a TimeoutError gets
 *   poolscope's explanation appended before the caller sees it;
 * - `release` (inside `release(resource)`, before tarn looks the resource up) ends the lease holding the resource;
 *   a resource no lease holds is a double release (a lease of this pool held it before) or the release of something
 *   this pool never lent; tarn's answer (`false`) is left as it is;
 * - `createSuccess` / `createFail` / `destroyRequest` / `destroyFail` count connections and their errors.
 * With pg.Client resources (Knex on PostgreSQL), each client's `query` and `emit` are followed (tarn-pg-resources.ts).
 */

/** Marks a tarn pool poolscope tracks (a registered symbol: no module state), so it is not tracked twice. */
export const TARN_TRACKED = Symbol.for('poolscope.tarn.tracked');

const PG_CAPABILITIES: AdapterCapabilities = Object.freeze({ queries: true, transactions: true, sessionIds: true });
const OPAQUE_CAPABILITIES: AdapterCapabilities = Object.freeze({ queries: false, transactions: false, sessionIds: false });

type Listener = (...args: never[]) => void;

export class TarnPoolAdapter implements PoolAdapter {
  readonly driver = 'tarn';
  readonly capabilities: AdapterCapabilities;
  /** Present when a resource can be checked (pg.Client resources, or `pingResource`). */
  readonly ping: ((timeoutMillis: number) => Promise<void>) | undefined;
  readonly #pool: TarnPoolInternal;
  readonly #setup: TarnAdapterSetup;
  readonly #leases = new ResourceLeases();
  /** Leases asked for and not settled yet, by tarn's event id. */
  readonly #waiting = new Map<number, Lease>();
  readonly #pg: TarnPgResources | undefined;
  readonly #listeners: [string, Listener][] = [];
  #tracker: PoolTracker | undefined;
  #detached = false;
  /** True while poolscope's own acquire (a ping's) runs: it records no lease. */
  #untracked = false;

  constructor(pool: TarnPoolInternal, setup: TarnAdapterSetup) {
    this.#pool = pool;
    this.#setup = setup;
    this.capabilities = setup.pgResources ? PG_CAPABILITIES : OPAQUE_CAPABILITIES;
    if (setup.pgResources) {
      this.#pg = new TarnPgResources({
        tracker: () => this.#tracker,
        detached: () => this.#detached,
        report: (error) => this.#report(error),
      });
    }
    const check = setup.pingResource ?? (this.#pg === undefined ? undefined : (resource: unknown) => this.#pg?.ping(resource));
    this.ping = check === undefined ? undefined : (timeoutMillis) => this.#ping(check, timeoutMillis);
  }

  attach(tracker: PoolTracker): void {
    this.#tracker = tracker;
    Object.defineProperty(this.#pool, TARN_TRACKED, { value: true, configurable: true, enumerable: false, writable: true });
    this.#listen('acquireRequest', this.#onAcquireRequest);
    this.#listen('acquireSuccess', this.#onAcquireSuccess);
    this.#listen('acquireFail', this.#onAcquireFail);
    this.#listen('release', this.#onRelease);
    this.#listen('createSuccess', this.#onCreateSuccess);
    this.#listen('createFail', this.#onCreateFail);
    this.#listen('destroyRequest', this.#onDestroyRequest);
    this.#listen('destroyFail', this.#onDestroyFail);
  }

  // ---- PoolAdapter --------------------------------------------------------------------------------------------

  /** Resources lent, idle, and being created (tarn's numUsed + numFree + numPendingCreates). */
  totalCount(): number {
    const pool = this.#pool;
    return pool.numUsed() + pool.numFree() + pool.numPendingCreates();
  }

  idleCount(): number {
    return this.#pool.numFree();
  }

  /** Callers queued in tarn's `pendingAcquires` (those a resource is being created for included). */
  waitingCount(): number {
    return this.#pool.numPendingAcquires();
  }

  max(): number {
    const max = this.#pool.max;
    return typeof max === 'number' && max > 0 ? max : 1;
  }

  min(): number {
    const min = this.#pool.min;
    return typeof min === 'number' && min > 0 ? min : 0;
  }

  /** tarn's settings, and the setup's extra ones (see tarnConfigSnapshot). */
  config(): PoolConfigSnapshot {
    return tarnConfigSnapshot(this.#pool, this.#setup.extraConfig?.());
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const pool = this.#pool;
    for (const [event, listener] of this.#listeners.splice(0)) pool.removeListener(event, listener);
    delete (pool as unknown as Record<symbol, unknown>)[TARN_TRACKED];
    this.#pg?.unwrapAll();
    try {
      this.#setup.onDetach?.();
    } catch (error) {
      this.#report(error);
    }
    this.#waiting.clear();
    this.#leases.clear();
  }

  // ---- tarn's events --------------------------------------------------------------------------------------------

  #listen(event: string, listener: Listener): void {
    this.#listeners.push([event, listener]);
    this.#pool.on(event, listener);
  }

  /** Inside `acquire()`, in the caller's synchronous call: the lease starts (stack and owner are the caller's). */
  readonly #onAcquireRequest = (eventId: number): void => {
    const tracker = this.#tracker;
    if (this.#detached || this.#untracked || tracker === undefined) return;
    try {
      const pool = this.#pool;
      // More idle resources than callers queued: tarn hands one over after its validation, which is no wait.
      // Under Knex, the site taken where the user's code made the query (tarn's acquire runs from a microtask).
      const lease = tracker.checkoutStarted(pool.acquire, pool.numFree() > pool.numPendingAcquires(), this.#setup.sites?.pending);
      this.#waiting.set(eventId, lease);
      // A caller about to queue behind a full pool: check saturation once it is queued (after this listener).
      if (pool.numFree() === 0 && pool.numUsed() + pool.numPendingCreates() >= this.max()) queueMicrotask(this.#checkSaturation);
    } catch (error) {
      this.#report(error);
    }
  };

  readonly #checkSaturation = (): void => {
    if (this.#detached) return;
    try {
      this.#tracker?.checkSaturation();
    } catch (error) {
      this.#report(error);
    }
  };

  /** tarn resolved the acquire (before the caller's continuation runs). */
  readonly #onAcquireSuccess = (eventId: number, resource: unknown): void => {
    const lease = this.#waiting.get(eventId);
    const tracker = this.#tracker;
    if (lease === undefined || tracker === undefined || this.#detached) return;
    this.#waiting.delete(eventId);
    try {
      // Created for this caller: a resource tarn made that no lease had, handed to a caller that waited.
      const created = this.#leases.takeFresh(resource) && lease.acquiredAt === 0;
      const pg = this.#pg;
      const record = pg?.observe(resource);
      const pid = pg === undefined ? null : pg.sessionIdOf(resource);
      const status: TransactionStatus = pg === undefined ? 'unknown' : pg.statusOf(resource);
      tracker.checkoutSucceeded(lease, connectionOf(resource), pid, created, status);
      this.#leases.lent(resource, lease);
      pg?.lend(record, lease);
    } catch (error) {
      this.#report(error);
    }
  };

  /** tarn rejected the acquire (timeout, create error, pool destroyed), before the caller's handler runs. */
  readonly #onAcquireFail = (eventId: number, error: unknown): void => {
    const lease = this.#waiting.get(eventId);
    const tracker = this.#tracker;
    if (lease === undefined || tracker === undefined || this.#detached) return;
    this.#waiting.delete(eventId);
    try {
      const report = tracker.checkoutFailed(lease, isTarnTimeout(error), messageOf(error));
      if (report !== undefined && error instanceof Error) enrichTimeoutError(error, report);
    } catch (failure) {
      this.#report(failure);
    }
  };

  /** Inside `release(resource)`, before tarn looks the resource up among those it lent. */
  readonly #onRelease = (resource: unknown): void => {
    const tracker = this.#tracker;
    if (this.#detached || tracker === undefined) return;
    try {
      const hideAbove = this.#pool.release;
      const lease = this.#leases.returned(resource);
      if (lease !== undefined) {
        const pg = this.#pg;
        pg?.giveBack(resource, lease);
        const status: TransactionStatus = pg === undefined ? 'unknown' : pg.statusOf(resource);
        const verdict = tracker.releaseStarted(lease, status, false, hideAbove);
        if ((verdict.destroy || verdict.rollback) && pg !== undefined) {
          pg.cleanUpDirty(resource, verdict.destroy, this.#setup.dispose, (message) => this.#tracker?.connectionFailed(undefined, message));
        }
        return;
      }
      // Lent before tracking began, or to poolscope's own ping: tarn takes it back, nothing to say.
      if (tarnLends(this.#pool, resource)) return;
      const last = this.#leases.lastLeaseOf(resource);
      if (last !== undefined) tracker.releaseRepeated(last, hideAbove);
      else reportUnknownRelease(tracker, hideAbove);
    } catch (error) {
      this.#report(error);
    }
  };

  readonly #onCreateSuccess = (_eventId: number, resource: unknown): void => {
    if (this.#detached) return;
    try {
      this.#leases.created(resource);
      // Followed from the start, so an error it emits while idle is reported too.
      this.#pg?.observe(resource);
      this.#tracker?.connectionCreated();
    } catch (error) {
      this.#report(error);
    }
  };

  readonly #onCreateFail = (_eventId: number, error: unknown): void => {
    if (this.#detached) return;
    try {
      const pool = this.#pool;
      // With propagateCreateError (Knex's default) tarn rejects the first queued acquire with this very error, and
      // that checkout's failure reports it (with its lease): counted once.
      if (pool.propagateCreateError === true && pool.numPendingAcquires() > 0) return;
      this.#tracker?.connectionFailed(undefined, messageOf(error));
    } catch (failure) {
      this.#report(failure);
    }
  };

  readonly #onDestroyRequest = (_eventId: number, resource: unknown): void => {
    if (this.#detached) return;
    try {
      this.#pg?.forget(resource);
      this.#tracker?.connectionRemoved();
    } catch (error) {
      this.#report(error);
    }
  };

  readonly #onDestroyFail = (_eventId: number, _resource: unknown, error: unknown): void => {
    if (this.#detached) return;
    try {
      this.#tracker?.connectionFailed(undefined, `destroying a resource failed: ${messageOf(error)}`);
    } catch (failure) {
      this.#report(failure);
    }
  };

  // ---- helpers ------------------------------------------------------------------------------------------------

  /** Readiness: a resource borrowed around the bookkeeping, checked, and given back. */
  #ping(check: (resource: unknown) => unknown, timeoutMillis: number): Promise<void> {
    const pool = this.#pool;
    return pingThroughPool(
      () => {
        this.#untracked = true;
        try {
          return pool.acquire().promise;
        } finally {
          this.#untracked = false;
        }
      },
      (resource) => {
        pool.release(resource);
      },
      check,
      timeoutMillis,
    );
  }

  #report(error: unknown): void {
    this.#tracker?.reportInternalError(error);
  }
}
