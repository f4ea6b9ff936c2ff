import type { Owner } from './owner-context.js';
import { Lease, type TransactionStatus } from './lease.js';
import type { StackHolder } from './stack-capture.js';
import { leakSweepIntervalMillis, sweepLeaks } from './leak-detector.js';
import type { PoolAdapter } from './pool-adapter.js';
import type { ResolvedPoolTrackingOptions } from './pool-tracker-options.js';
import { PoolState, type TrackerContext } from './pool-state.js';
import { PoolView } from './pool-view.js';
import { reportAcquireTimeout, type AcquireTimeoutReport } from './acquire-timeout-report.js';
import { CLEAN_RELEASE, reportInheritedTransaction, reportOwnerEnded, reportRepeatedRelease, type ReleaseVerdict } from './release-misuse.js';
import { reportUncleanRelease, reportUnknownRelease } from './release-misuse.js';
import { applyStatusToDepth } from './transaction-depth.js';
import { recordQueryFinished, recordQueryStarted } from './query-bookkeeping.js';

export { DURATION_KINDS } from './pool-state.js';
export type { DurationKind, DurationListener, TrackerContext } from './pool-state.js';
export type { AcquireTimeoutReport } from './acquire-timeout-report.js';
export type { ReleaseVerdict } from './release-misuse.js';

/**
 * The writer of one pool's bookkeeping: the adapter that registered the pool calls the `checkout*`, `release*`,
 * `query*` and `connection*` methods from its wrappers; they never throw. Everything else reads the pool through
 * `view` (a PoolView, which the tracker also is): stats, snapshots, distributions, history, readiness.
 * The misuse reports (release-misuse.ts), the leak sweep (leak-detector.ts) and the timeout explanation
 * (acquire-timeout-report.ts) live beside it; this file keeps the hot path.
 */
export class PoolTracker extends PoolView {
  /** The read-only view of this pool, for everyone but the adapter. */
  readonly view: PoolView;
  #leakTimer: NodeJS.Timeout | undefined;

  constructor(adapter: PoolAdapter, options: ResolvedPoolTrackingOptions, ctx: TrackerContext) {
    const state = new PoolState(adapter, options, ctx);
    super(state);
    this.view = new PoolView(state);
    if (options.leakThresholdMillis > 0) {
      this.#leakTimer = setInterval(() => sweepLeaks(state), leakSweepIntervalMillis(options.leakThresholdMillis));
      this.#leakTimer.unref();
    }
  }

  // ---- hot path: called by adapters ------------------------------------------------------------------------------

  /**
   * A caller asked for a connection. `hideAbove` is the adapter's wrapper (hidden from the stack with all above).
   * `immediate`: the pool has an idle connection for this caller (more idle than waiting), so the hand-over is not
   * a wait: the checkout is stamped with this call's time, and the clock is not read again when it arrives.
   * `site`: the caller's stack, taken earlier by the adapter with `captureSite()` (a query builder that checks out
   * from a microtask, where the caller is no longer on the stack); null when that capture was sampled out.
   */
  checkoutStarted(hideAbove: (...args: never[]) => unknown, immediate = false, site?: StackHolder | null): Lease {
    const s = this.state;
    const now = s.clock.now();
    const stack = site === undefined ? s.captureSite(hideAbove, now) : (site ?? undefined);
    const lease = new Lease(s.nextLeaseId++, s.name, s.ctx.owners.current(), stack, now);
    if (immediate) lease.acquiredAt = now;
    s.waiting.add(lease);
    return lease;
  }

  /** The caller got `connection`. `created` when the pool opened it for this caller. */
  checkoutSucceeded(
    lease: Lease,
    connection: object,
    backendPid: number | null,
    created: boolean,
    status: TransactionStatus = 'unknown',
  ): void {
    const s = this.state;
    // acquiredAt is already set for an immediate hand-over (see checkoutStarted): no clock read.
    const now = lease.acquiredAt === 0 ? s.clock.now() : lease.acquiredAt;
    lease.state = 'held';
    lease.acquiredAt = now;
    lease.connection = connection;
    lease.backendPid = backendPid;
    // A connection returned dirty by its previous holder arrives inside a transaction.
    if (status !== 'unknown') {
      applyStatusToDepth(lease, status);
      if (status !== 'idle') reportInheritedTransaction(s, lease, connection, now);
    }
    s.waiting.remove(lease);
    s.held.add(lease);
    s.counters.acquires += 1;
    const waited = now - lease.waitStart;
    s.waitTime.record(waited);
    if (created) s.createTime.record(waited);
    if (s.durationListeners.length !== 0) {
      s.notifyDuration('wait_time', waited);
      if (created) s.notifyDuration('create_time', waited);
    }
    const owner = lease.owner;
    if (owner !== undefined) {
      (owner.held ??= []).push(lease);
      if (owner.endedAt !== undefined) s.ctx.checkoutAfterOwnerEnded(lease);
    }
    if (s.acquiredTopic.wanted) {
      s.bus.emit({ type: 'lease-acquired', poolName: s.name, lease: s.view(lease, now) });
    }
    this.checkSaturation(now);
  }

  /** The caller's stack as the pool's capture policy asks (undefined when sampled out), for `checkoutStarted(.., site)`. */
  captureSite(hideAbove: (...args: never[]) => unknown): StackHolder | undefined {
    return this.state.captureSite(hideAbove, this.state.clock.now());
  }

  /** The user's file:line:col that checked `lease` out, if its stack names one (formatted once, kept for snapshots). */
  leaseLocation(lease: Lease): string | undefined {
    if (lease.stack === undefined) return undefined;
    return this.state.formatted(lease).location;
  }

  /** The caller's `connect()` failed. Returns a report when it was an acquire timeout (to enrich the error). */
  checkoutFailed(lease: Lease, timedOut: boolean, message: string): AcquireTimeoutReport | undefined {
    const s = this.state;
    const now = s.clock.now();
    s.waiting.remove(lease);
    lease.state = 'released';
    lease.releasedAt = now;
    if (timedOut) return reportAcquireTimeout(s, lease, now);
    s.counters.errors += 1;
    if (s.bus.wants('connection-error')) {
      s.bus.emit({ type: 'connection-error', poolName: s.name, leaseId: lease.id, message });
    }
    return undefined;
  }

  /** The lease holding `connection` right now, if any. */
  leaseOf(connection: object): Lease | undefined {
    return this.state.held.find((lease) => lease.connection === connection);
  }

  /**
   * First release of `lease`. `status` is the server's transaction status; `destroying` is true when the caller
   * passed an error (the connection is closed, so an open transaction dies with it). `driverOwner` is the owner whose
   * async context the driver's own callbacks run in for this connection (the one that opened its socket): a release
   * running as that owner may come from a driver callback or stream event, so it is never taken as foreign.
   */
  releaseStarted(
    lease: Lease,
    status: TransactionStatus,
    destroying: boolean,
    hideAbove: (...args: never[]) => unknown,
    driverOwner?: Owner,
  ): ReleaseVerdict {
    const s = this.state;
    const now = s.clock.now();
    lease.state = 'released';
    lease.releasedAt = now;
    s.held.remove(lease);
    const ownerHeld = lease.owner?.held;
    if (ownerHeld !== undefined) {
      const index = ownerHeld.indexOf(lease);
      if (index !== -1) {
        const last = ownerHeld.pop() as Lease;
        if (index < ownerHeld.length) ownerHeld[index] = last;
      }
    }
    s.counters.releases += 1;
    s.useTime.record(now - lease.acquiredAt);
    if (s.durationListeners.length !== 0) s.notifyDuration('use_time', now - lease.acquiredAt);
    // Right after a failed query the driver's status can lag the server's; the predicted one is exact.
    if (lease.lastQueryFailed && lease.inFlight === 0) status = lease.transactionStatus;
    else if (status !== 'unknown') lease.transactionStatus = status;

    const current = s.ctx.owners.current();
    // Foreign: code running as another owner released a lease it did not take. Not when the release runs in the
    // driver's context for this connection (pg-pool's release after pool.query, a stream's 'end' listener).
    const foreign =
      current !== undefined && current !== driverOwner && lease.owner !== undefined && !current.isSelfOrDescendantOf(lease.owner);
    const open =
      !destroying && (status === 'in-transaction' || status === 'failed' || (status === 'unknown' && lease.transactionDepth > 0));
    // Still inside a transaction it inherited (and never closed): that one was reported at checkout, not this lease.
    const dirty = open && lease.inheritedFrom === undefined;
    if (!foreign && !dirty && lease.inFlight === 0 && !lease.leakReported) {
      if (s.releasedTopic.wanted) {
        s.bus.emit({ type: 'lease-released', poolName: s.name, lease: s.view(lease, now), destroyed: destroying });
      }
      return CLEAN_RELEASE;
    }
    const foreignOwner = foreign ? current : undefined;
    return reportUncleanRelease(s, lease, { now, status, destroying, foreignOwner, dirty }, hideAbove);
  }

  /**
   * A release function was called again for a lease already released. When `connection` is now held by another
   * lease it is a foreign release (the stale call would have released someone else's checkout), else a double one.
   */
  releaseRepeated(lease: Lease, hideAbove: (...args: never[]) => unknown): void {
    const heldNow = lease.connection === undefined ? undefined : this.leaseOf(lease.connection);
    reportRepeatedRelease(this.state, lease, heldNow, hideAbove);
  }

  /** A resource the pool never lent was given back (no lease holds or held it); the pool refused it. */
  releaseUnknown(hideAbove: (...args: never[]) => unknown): void {
    reportUnknownRelease(this.state, hideAbove);
  }

  /** The tracker's clock (monotonic ms), for adapters timing queries. */
  now(): number {
    return this.state.clock.now();
  }

  /** The owner of the current async context (adapters keep driver callbacks in their caller's owner with runAsOwner). */
  currentOwner(): Owner | undefined {
    return this.state.ctx.owners.current();
  }

  /** Calls `fn(...args)` as `owner` (poolscope's owner context only; see OwnerContext.runWith). */
  runAsOwner<A extends unknown[], R>(owner: Owner | undefined, fn: (...args: A) => R, ...args: A): R {
    return this.state.ctx.owners.runWith(owner, fn, ...args);
  }

  /** Hands an error raised inside an adapter's own bookkeeping to the inspector's onError. */
  reportInternalError(error: unknown): void {
    this.state.ctx.onError(error);
  }

  /** A query was sent on a leased connection; `followed` when its completion will be reported. */
  queryStarted(lease: Lease, text: string | undefined, now: number, followed: boolean): void {
    recordQueryStarted(lease, text, now, followed, this.state.options.maxQueryTextLength);
  }

  /**
   * A query finished; `status` is the server's transaction status after it. `exact` when it was read from the reply
   * that ended the query; else a failure's status is predicted as PostgreSQL's (see recordQueryFinished).
   */
  queryFinished(lease: Lease, startedAt: number, ok: boolean, status: TransactionStatus, exact = false): void {
    recordQueryFinished(this.state, lease, startedAt, ok, status, exact);
  }

  /** The pool opened a connection. */
  connectionCreated(): void {
    this.state.counters.creates += 1;
  }

  /** The pool closed and removed a connection. */
  connectionRemoved(): void {
    this.state.counters.removes += 1;
  }

  /** A connection emitted an error (idle, or leased as `lease`). */
  connectionFailed(lease: Lease | undefined, message: string): void {
    const s = this.state;
    s.counters.errors += 1;
    if (lease !== undefined) lease.connectionError = message;
    if (s.bus.wants('connection-error')) {
      s.bus.emit({ type: 'connection-error', poolName: s.name, leaseId: lease?.id ?? null, message });
    }
  }

  /** Checks for saturation and schedules an automatic snapshot (off the caller's path) when due. */
  checkSaturation(now?: number): void {
    const s = this.state;
    const used = s.held.size;
    const max = s.adapter.max();
    const pending = s.adapter.waitingCount();
    // The cheap test first: the clock is read only for a saturated pool.
    if (!s.saturation.isSaturated(used, max, pending)) return;
    if (!s.saturation.shouldTrigger(now ?? s.clock.now(), used, max, pending)) return;
    s.snapshotSaturationSoon();
  }

  // ---- the inspector's timers and its owner checks ---------------------------------------------------------------

  /** Reports a lease whose owner ended while holding it (called by the inspector after the grace period). */
  reportOwnerEnded(lease: Lease, owner: Owner): void {
    reportOwnerEnded(this.state, lease, owner);
  }

  /** Records one history sample (run by the inspector's timer). Never throws: a failure goes to onError. */
  sampleHistory(): void {
    try {
      this.state.sampleHistory();
    } catch (error) {
      this.state.ctx.onError(error);
    }
  }

  /** Held leases right now (live objects; do not keep them). */
  heldLeases(): IterableIterator<Lease> {
    return this.state.held[Symbol.iterator]();
  }

  /** Stops the leak timer and detaches the adapter's wrappers. Idempotent. */
  close(): void {
    const s = this.state;
    if (s.closed) return;
    s.closed = true;
    if (this.#leakTimer !== undefined) clearInterval(this.#leakTimer);
    this.#leakTimer = undefined;
    s.durationListeners = [];
    try {
      s.adapter.detach();
    } catch (error) {
      s.ctx.onError(error);
    }
  }
}
