import { formatMillis } from './format-millis.js';
import type { EventBus, EventTopic, LeaseAcquiredEvent, LeaseReleasedEvent, QueryExecutedEvent } from './pool-events.js';
import { LeaseList } from './lease-list.js';
import type { Clock } from './monotonic-clock.js';
import { isoAt, IsoFormatter } from './monotonic-clock.js';
import type { Owner, OwnerContext } from './owner-context.js';
import { ownerSnapshot } from './owner-context.js';
import type { LeaseSnapshot, TransactionStatus } from './lease.js';
import { describeAcquireSite, Lease, leaseSnapshot, roundMillis } from './lease.js';
import {
  acquireTimeoutMessage,
  describeTimeout,
  dirtyReleaseMessage,
  doubleReleaseMessage,
  foreignReleaseMessage,
  inheritedTransactionMessage,
  leakReturnedMessage,
  leakSuspectedMessage,
  ownerEndedMessage,
  releaseInFlightMessage,
  staleReleaseMessage,
} from './misuse-reports.js';
import { Histogram } from './histogram.js';
import type { FormattedStack, FrameRules } from './stack-capture.js';
import { captureStack, formatStack, MAX_CAPTURED_FRAMES, StackCapturePolicy } from './stack-capture.js';
import { findNewLeaks, leakSweepIntervalMillis } from './leak-detector.js';
import { SaturationWatch } from './saturation-watch.js';
import { PoolHistory } from './pool-history.js';
import { healthLevel, utilizationPercent } from './pool-health.js';
import type { PoolAdapter } from './pool-adapter.js';
import type { PoolCounters, PoolStats } from './pool-stats.js';
import type { PoolConfigSnapshot, PoolSnapshot, SnapshotReason } from './pool-snapshot.js';
import type { ResolvedPoolTrackingOptions } from './pool-tracker-options.js';
import type { ReachabilityReport } from './reachability-probe.js';
import { DEFAULT_PROBE_TIMEOUT_MILLIS, probeReachability } from './reachability-probe.js';
import { applyStatementToDepth, applyStatusToDepth, statusAfterFailedQuery } from './transaction-depth.js';

/** The three timed phases of a checkout, as OTel's semconv names them. */
export const DURATION_KINDS = ['wait_time', 'use_time', 'create_time'] as const;
export type DurationKind = (typeof DURATION_KINDS)[number];

/**
 * Receives every recorded duration as it happens (milliseconds). For exporters whose API has no asynchronous
 * histogram (OpenTelemetry); it runs on the checkout path, so keep it tiny. It must not throw (errors go to onError).
 */
export type DurationListener = (kind: DurationKind, millis: number) => void;

/** What a tracker gets from its inspector. */
export interface TrackerContext {
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly owners: OwnerContext;
  readonly historyCapacity: number;
  /** Stores an automatic snapshot (ring buffer) and announces it. */
  readonly storeSnapshot: (snapshot: PoolSnapshot) => void;
  readonly nextSnapshotId: () => number;
  readonly onError: (error: unknown) => void;
  /** A checkout completed for an owner that had already ended (it asked before ending): check it after the grace. */
  readonly checkoutAfterOwnerEnded: (lease: Lease) => void;
}

/** What `release` decided (for a dirty release, per `onDirtyRelease`). */
export interface ReleaseVerdict {
  /** Destroy the connection instead of returning it. */
  readonly destroy: boolean;
  /** Send ROLLBACK before the connection goes back to the pool (destroy it if that fails). */
  readonly rollback: boolean;
}

const CLEAN_RELEASE: ReleaseVerdict = Object.freeze({ destroy: false, rollback: false });

/** Why a pool's callers time out, attached to pg's timeout error. */
export interface AcquireTimeoutReport {
  readonly poolName: string;
  readonly waitMillis: number;
  readonly stats: PoolStats;
  /** Longest holders, longest first (at most 5). */
  readonly holders: readonly LeaseSnapshot[];
  /** The explanation appended to the driver's message. */
  readonly text: string;
}

/** How long (past the threshold) every checkout is captured after a leak was suspected on an uncaptured lease. */
const ESCALATION_MILLIS = 60_000;

class MutableCounters implements PoolCounters {
  acquires = 0;
  releases = 0;
  creates = 0;
  removes = 0;
  errors = 0;
  timeouts = 0;
  leaksSuspected = 0;
  dirtyReleases = 0;
  doubleReleases = 0;
  foreignReleases = 0;
  releasesInFlight = 0;
  ownerEndedHolding = 0;
  queries = 0;
  queryErrors = 0;
  saturationSnapshots = 0;
}

/**
 * Everything poolscope knows about one pool: its leases (held and waiting), counters, distributions, history, and
 * the detectors. The adapter calls the `checkout*`, `release*`, `query*` and `connection*` methods from its
 * wrappers; they never throw.
 */
export class PoolTracker {
  readonly name: string;
  readonly options: ResolvedPoolTrackingOptions;
  readonly #adapter: PoolAdapter;
  readonly #ctx: TrackerContext;
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #stacks: StackCapturePolicy;
  readonly #frameRules: FrameRules;
  /** The lease that last released each connection inside a transaction (read only when a checkout finds one open). */
  readonly #dirtyBy = new WeakMap<object, Lease>();
  readonly #saturation: SaturationWatch;
  readonly #history: PoolHistory;
  /** Leases holding a connection, oldest checkout first. */
  readonly #held = new LeaseList();
  /** Callers waiting for a connection, oldest first. */
  readonly #waiting = new LeaseList();
  readonly #acquiredTopic: EventTopic<LeaseAcquiredEvent>;
  readonly #releasedTopic: EventTopic<LeaseReleasedEvent>;
  readonly #queryTopic: EventTopic<QueryExecutedEvent>;
  readonly #counters = new MutableCounters();
  readonly #waitTime = new Histogram();
  readonly #useTime = new Histogram();
  readonly #createTime = new Histogram();
  #durationListeners: DurationListener[] = [];
  #probe: Promise<ReachabilityReport> | undefined;
  #nextLeaseId = 1;
  readonly #iso = new IsoFormatter();
  readonly #toIso = (monotonicMillis: number): string => this.#iso.format(this.#clock.toWallMillis(monotonicMillis));
  #leakTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(adapter: PoolAdapter, options: ResolvedPoolTrackingOptions, ctx: TrackerContext) {
    this.name = options.name;
    this.options = options;
    this.#adapter = adapter;
    this.#ctx = ctx;
    this.#clock = ctx.clock;
    this.#bus = ctx.bus;
    this.#acquiredTopic = ctx.bus.topic('lease-acquired');
    this.#releasedTopic = ctx.bus.topic('lease-released');
    this.#queryTopic = ctx.bus.topic('query-executed');
    this.#stacks = new StackCapturePolicy(options.stackCapture, options.stackCaptureBudgetPerSecond, options.stackFrameLimit);
    this.#frameRules = { hidden: options.hiddenFrames, library: options.libraryFrames, keep: options.stackFrameLimit };
    this.#saturation = new SaturationWatch(options.saturationPercent, options.saturationCooldownMillis, options.expectFull);
    this.#history = new PoolHistory(ctx.historyCapacity);
    if (options.leakThresholdMillis > 0) {
      this.#leakTimer = setInterval(() => this.sweepLeaks(), leakSweepIntervalMillis(options.leakThresholdMillis));
      this.#leakTimer.unref();
    }
  }

  get driver(): string {
    return this.#adapter.driver;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- hot path: called by adapters ------------------------------------------------------------------------------

  /**
   * A caller asked for a connection. `hideAbove` is the adapter's wrapper (hidden from the stack with all above).
   * `immediate`: the pool has an idle connection for this caller (more idle than waiting), so the hand-over is not
   * a wait: the checkout is stamped with this call's time, and the clock is not read again when it arrives.
   */
  checkoutStarted(hideAbove: (...args: never[]) => unknown, immediate = false): Lease {
    const now = this.#clock.now();
    const stacks = this.#stacks;
    let stack;
    if (stacks.shouldCapture(now)) {
      if (stacks.probeDue(now)) {
        // Now and then a deep capture, formatted at once, tells how deep this pool's call sites need capturing.
        stack = captureStack(MAX_CAPTURED_FRAMES, hideAbove);
        stacks.learn(formatStack(stack, this.#frameRules));
      } else {
        stack = captureStack(stacks.captureLimit, hideAbove);
      }
    }
    const lease = new Lease(this.#nextLeaseId++, this.name, this.#ctx.owners.current(), stack, now);
    if (immediate) lease.acquiredAt = now;
    this.#waiting.add(lease);
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
    // acquiredAt is already set for an immediate hand-over (see checkoutStarted): no clock read.
    const now = lease.acquiredAt === 0 ? this.#clock.now() : lease.acquiredAt;
    lease.state = 'held';
    lease.acquiredAt = now;
    lease.connection = connection;
    lease.backendPid = backendPid;
    // A connection returned dirty by its previous holder arrives inside a transaction.
    if (status !== 'unknown') {
      applyStatusToDepth(lease, status);
      if (status !== 'idle') this.#inherited(lease, connection, now);
    }
    this.#waiting.remove(lease);
    this.#held.add(lease);
    this.#counters.acquires += 1;
    const waited = now - lease.waitStart;
    this.#waitTime.record(waited);
    if (created) this.#createTime.record(waited);
    if (this.#durationListeners.length !== 0) {
      this.#notifyDuration('wait_time', waited);
      if (created) this.#notifyDuration('create_time', waited);
    }
    const owner = lease.owner;
    if (owner !== undefined) {
      (owner.held ??= []).push(lease);
      if (owner.endedAt !== undefined) this.#ctx.checkoutAfterOwnerEnded(lease);
    }
    if (this.#acquiredTopic.wanted) {
      this.#bus.emit({ type: 'lease-acquired', poolName: this.name, lease: this.#view(lease, now) });
    }
    this.checkSaturation(now);
  }

  /** The caller's `connect()` failed. Returns a report when it was an acquire timeout (to enrich the error). */
  checkoutFailed(lease: Lease, timedOut: boolean, message: string): AcquireTimeoutReport | undefined {
    const now = this.#clock.now();
    this.#waiting.remove(lease);
    lease.state = 'released';
    lease.releasedAt = now;
    if (!timedOut) {
      this.#counters.errors += 1;
      if (this.#bus.wants('connection-error')) {
        this.#bus.emit({ type: 'connection-error', poolName: this.name, leaseId: lease.id, message });
      }
      return undefined;
    }
    this.#counters.timeouts += 1;
    const waitMillis = roundMillis(now - lease.waitStart);
    const stats = this.stats();
    const holders = this.#holdersLongestFirst()
      .slice(0, 5)
      .map((held) => this.#view(held, now));
    const waiterLocation = formatStack(lease.stack, this.#frameRules).location ?? null;
    const text = describeTimeout(stats, holders, waitMillis, waiterLocation);
    const report: AcquireTimeoutReport = { poolName: this.name, waitMillis, stats, holders, text };
    if (this.#bus.wants('acquire-timeout')) {
      this.#bus.emit({
        type: 'acquire-timeout',
        poolName: this.name,
        waitMillis,
        waiterLocation,
        stats,
        holders,
        message: acquireTimeoutMessage(this.name, waitMillis, waiterLocation, text),
      });
    }
    return report;
  }

  /** The lease holding `connection` right now, if any. */
  leaseOf(connection: object): Lease | undefined {
    return this.#held.find((lease) => lease.connection === connection);
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
    const now = this.#clock.now();
    lease.state = 'released';
    lease.releasedAt = now;
    this.#held.remove(lease);
    const ownerHeld = lease.owner?.held;
    if (ownerHeld !== undefined) {
      const index = ownerHeld.indexOf(lease);
      if (index !== -1) {
        const last = ownerHeld.pop() as Lease;
        if (index < ownerHeld.length) ownerHeld[index] = last;
      }
    }
    this.#counters.releases += 1;
    this.#useTime.record(now - lease.acquiredAt);
    if (this.#durationListeners.length !== 0) this.#notifyDuration('use_time', now - lease.acquiredAt);
    // Right after a failed query the driver's status can lag the server's; the predicted one is exact.
    if (lease.lastQueryFailed && lease.inFlight === 0) status = lease.transactionStatus;
    else if (status !== 'unknown') lease.transactionStatus = status;

    const current = this.#ctx.owners.current();
    // Foreign: code running as another owner released a lease it did not take. Not when the release runs in the
    // driver's context for this connection (pg-pool's release after pool.query, a stream's 'end' listener).
    const foreign =
      current !== undefined && current !== driverOwner && lease.owner !== undefined && !current.isSelfOrDescendantOf(lease.owner);
    const open =
      !destroying && (status === 'in-transaction' || status === 'failed' || (status === 'unknown' && lease.transactionDepth > 0));
    // Still inside a transaction it inherited (and never closed): that one was reported at checkout, not this lease.
    const inherited = open && lease.inheritedFrom !== undefined;
    const dirty = open && !inherited;
    if (!foreign && !dirty && lease.inFlight === 0 && !lease.leakReported) {
      if (this.#releasedTopic.wanted) {
        this.#bus.emit({ type: 'lease-released', poolName: this.name, lease: this.#view(lease, now), destroyed: destroying });
      }
      return CLEAN_RELEASE;
    }
    // The release site is captured only when something is wrong (rare), never on a clean release.
    const where =
      foreign || dirty || lease.inFlight > 0
        ? (formatStack(captureStack(MAX_CAPTURED_FRAMES, hideAbove), this.#frameRules).location ?? null)
        : null;
    let destroy = false;
    let rollback = false;

    if (foreign && current !== undefined) {
      this.#counters.foreignReleases += 1;
      this.#bus.emit({
        type: 'foreign-release',
        poolName: this.name,
        lease: this.#view(lease, now),
        releasedBy: ownerSnapshot(current, (t) => isoAt(this.#clock, t)),
        releaseLocation: where,
        message: foreignReleaseMessage(this.name, lease, current, where),
      });
    }
    if (lease.inFlight > 0) {
      this.#counters.releasesInFlight += 1;
      this.#bus.emit({
        type: 'release-in-flight',
        poolName: this.name,
        lease: this.#view(lease, now),
        releaseLocation: where,
        message: releaseInFlightMessage(this.name, lease, where),
      });
    }
    if (dirty) {
      this.#counters.dirtyReleases += 1;
      const action = this.options.onDirtyRelease;
      destroy = action === 'destroy';
      rollback = action === 'rollback';
      lease.dirtyReleaseLocation = where;
      if (action === 'report' && lease.connection !== undefined) this.#dirtyBy.set(lease.connection, lease);
      const view = this.#view(lease, now);
      this.#bus.emit({
        type: 'dirty-release',
        poolName: this.name,
        lease: view,
        releaseLocation: where,
        destroyed: destroy,
        action,
        message: dirtyReleaseMessage(this.name, lease, view, status, where, action),
      });
    }
    if (lease.leakReported) {
      this.#bus.emit({
        type: 'leak-returned',
        poolName: this.name,
        lease: this.#view(lease, now),
        message: leakReturnedMessage(this.name, lease, now),
      });
    }
    if (this.#bus.wants('lease-released')) {
      this.#bus.emit({ type: 'lease-released', poolName: this.name, lease: this.#view(lease, now), destroyed: destroying || destroy });
    }
    return destroy || rollback ? { destroy, rollback } : CLEAN_RELEASE;
  }

  /**
   * A checkout received a connection inside a transaction. When a tracked lease left it open, this lease inherits
   * it (its own release is not a new dirty release) and the lease that left it open is reported, once.
   */
  #inherited(lease: Lease, connection: object, now: number): void {
    const origin = this.#dirtyBy.get(connection);
    if (origin === undefined) return;
    lease.inheritedFrom = origin;
    if (origin.inheritanceReported) return;
    origin.inheritanceReported = true;
    const view = this.#view(lease, now);
    const left = this.#view(origin, now);
    const where = origin.dirtyReleaseLocation;
    this.#bus.emit({
      type: 'inherited-transaction',
      poolName: this.name,
      lease: view,
      leftOpenBy: left,
      releaseLocation: where,
      openedBy: origin.transactionOpenedBy ?? null,
      message: inheritedTransactionMessage(this.name, lease, origin, left),
    });
  }

  /**
   * A release function was called again for a lease already released. When `connection` is now held by another
   * lease it is a foreign release (the stale call would have released someone else's checkout), else a double one.
   */
  releaseRepeated(lease: Lease, hideAbove: (...args: never[]) => unknown): void {
    const now = this.#clock.now();
    const where = formatStack(captureStack(MAX_CAPTURED_FRAMES, hideAbove), this.#frameRules).location ?? null;
    const current = lease.connection === undefined ? undefined : this.leaseOf(lease.connection);
    const view = this.#view(lease, now);
    if (current !== undefined && current !== lease) {
      this.#counters.foreignReleases += 1;
      this.#bus.emit({
        type: 'foreign-release',
        poolName: this.name,
        lease: view,
        releasedBy: ownerView(this.#ctx.owners.current(), this.#clock),
        releaseLocation: where,
        message: staleReleaseMessage(this.name, lease, current, where),
      });
      return;
    }
    this.#counters.doubleReleases += 1;
    this.#bus.emit({
      type: 'double-release',
      poolName: this.name,
      lease: view,
      releaseLocation: where,
      message: doubleReleaseMessage(this.name, lease, view, where),
    });
  }

  /** The tracker's clock (monotonic ms), for adapters timing queries. */
  now(): number {
    return this.#clock.now();
  }

  /** The owner of the current async context (adapters keep driver callbacks in their caller's owner with runAsOwner). */
  currentOwner(): Owner | undefined {
    return this.#ctx.owners.current();
  }

  /** Calls `fn(...args)` as `owner` (poolscope's owner context only; see OwnerContext.runWith). */
  runAsOwner<A extends unknown[], R>(owner: Owner | undefined, fn: (...args: A) => R, ...args: A): R {
    return this.#ctx.owners.runWith(owner, fn, ...args);
  }

  /** Hands an error raised inside an adapter's own bookkeeping to the inspector's onError. */
  reportInternalError(error: unknown): void {
    this.#ctx.onError(error);
  }

  /** A query was sent on a leased connection; `followed` when its completion will be reported. */
  queryStarted(lease: Lease, text: string | undefined, now: number, followed: boolean): void {
    if (followed) lease.inFlight += 1;
    lease.queriesRun += 1;
    lease.queryStart = now;
    lease.lastStatementClosed = false;
    if (text !== undefined) {
      const shown = text.length > this.options.maxQueryTextLength ? text.slice(0, this.options.maxQueryTextLength) : text;
      lease.queryText = shown;
      const before = lease.transactionDepth;
      applyStatementToDepth(lease, text);
      if (before === 0 && lease.transactionDepth > 0) lease.transactionOpenedBy = shown;
    }
  }

  /** A query finished; `status` is the server's transaction status after it. */
  queryFinished(lease: Lease, startedAt: number, ok: boolean, status: TransactionStatus): void {
    if (lease.inFlight > 0) lease.inFlight -= 1;
    if (lease.inFlight === 0) lease.queryStart = 0;
    this.#counters.queries += 1;
    if (!ok) this.#counters.queryErrors += 1;
    lease.lastQueryFailed = !ok;
    const settled = ok ? status : statusAfterFailedQuery(lease, status);
    if (settled !== 'unknown') {
      applyStatusToDepth(lease, settled);
      // It closed the transaction it inherited: what it does from now on is its own.
      if (settled === 'idle') lease.inheritedFrom = undefined;
    }
    if (this.#queryTopic.wanted) {
      this.#bus.emit({
        type: 'query-executed',
        poolName: this.name,
        leaseId: lease.id,
        text: lease.queryText ?? '',
        durationMillis: roundMillis(this.#clock.now() - startedAt),
        ok,
      });
    }
  }

  /** The pool opened a connection. */
  connectionCreated(): void {
    this.#counters.creates += 1;
  }

  /** The pool closed and removed a connection. */
  connectionRemoved(): void {
    this.#counters.removes += 1;
  }

  /** A connection emitted an error (idle, or leased as `lease`). */
  connectionFailed(lease: Lease | undefined, message: string): void {
    this.#counters.errors += 1;
    if (lease !== undefined) lease.connectionError = message;
    if (this.#bus.wants('connection-error')) {
      this.#bus.emit({ type: 'connection-error', poolName: this.name, leaseId: lease?.id ?? null, message });
    }
  }

  /** Checks for saturation and schedules an automatic snapshot (off the caller's path) when due. */
  checkSaturation(now?: number): void {
    const used = this.#held.size;
    const max = this.#adapter.max();
    const pending = this.#adapter.waitingCount();
    // The cheap test first: the clock is read only for a saturated pool.
    if (!this.#saturation.isSaturated(used, max, pending)) return;
    if (!this.#saturation.shouldTrigger(now ?? this.#clock.now(), used, max, pending)) return;
    setImmediate(() => {
      if (this.#closed) return;
      try {
        this.#counters.saturationSnapshots += 1;
        const snapshot = this.snapshot('saturation');
        this.#bus.emit({ type: 'saturated', poolName: this.name, stats: snapshot.stats });
        this.#ctx.storeSnapshot(snapshot);
      } catch (error) {
        this.#ctx.onError(error);
      }
    }).unref();
  }

  // ---- timers --------------------------------------------------------------------------------------------------

  /** Reports leases held past the leak threshold (run by the tracker's timer; callable directly). */
  sweepLeaks(): void {
    try {
      const now = this.#clock.now();
      const threshold = this.options.leakThresholdMillis;
      for (const lease of findNewLeaks(this.#held, now, threshold)) {
        lease.leakReported = true;
        this.#counters.leaksSuspected += 1;
        const view = this.#view(lease, now);
        let where = describeAcquireSite(view);
        if (lease.stack === undefined && this.#stacks.mode === 'adaptive') {
          this.#stacks.captureAllUntil(now + threshold + ESCALATION_MILLIS);
          where +=
            ` (stack capture is adaptive and sampled this checkout out; every checkout of "${this.name}" is captured for the next ` +
            `${formatMillis(threshold + ESCALATION_MILLIS)}, so the next leak names its file:line)`;
        } else if (lease.stack === undefined && this.#stacks.mode === 'off') {
          where += ' (stack capture is off for this pool)';
        }
        this.#bus.emit({
          type: 'leak-suspected',
          poolName: this.name,
          lease: view,
          thresholdMillis: threshold,
          message: leakSuspectedMessage(this.name, lease, now, threshold, where),
        });
      }
    } catch (error) {
      this.#ctx.onError(error);
    }
  }

  /** Reports a lease whose owner ended while holding it (called by the inspector after the grace period). */
  reportOwnerEnded(lease: Lease, owner: Owner): void {
    if (lease.state !== 'held') return;
    const now = this.#clock.now();
    this.#counters.ownerEndedHolding += 1;
    const view = this.#view(lease, now);
    this.#bus.emit({
      type: 'owner-ended-holding',
      poolName: this.name,
      owner: ownerSnapshot(owner, (t) => isoAt(this.#clock, t)),
      lease: view,
      message: ownerEndedMessage(this.name, lease, owner, view, now),
    });
  }

  /** Records one history sample (run by the inspector's timer). */
  sampleHistory(): void {
    const used = this.#held.size;
    const max = this.#adapter.max();
    this.#history.record({
      wallMillis: this.#clock.toWallMillis(this.#clock.now()),
      total: this.#adapter.totalCount(),
      idle: this.#adapter.idleCount(),
      used,
      pending: this.#adapter.waitingCount(),
      max,
      utilizationPercent: utilizationPercent(used, max),
      acquiresTotal: this.#counters.acquires,
      timeoutsTotal: this.#counters.timeouts,
    });
  }

  // ---- reading -------------------------------------------------------------------------------------------------

  stats(): PoolStats {
    const used = this.#held.size;
    const max = this.#adapter.max();
    const pending = this.#adapter.waitingCount();
    return {
      poolName: this.name,
      timestamp: isoAt(this.#clock, this.#clock.now()),
      total: this.#adapter.totalCount(),
      idle: this.#adapter.idleCount(),
      used,
      pending,
      max,
      min: this.#adapter.min(),
      utilizationPercent: utilizationPercent(used, max),
      level: healthLevel(used, max, pending, this.options),
      expectFull: this.options.expectFull,
      counters: { ...this.#counters },
      waitTime: this.#waitTime.snapshot(),
      useTime: this.#useTime.snapshot(),
      createTime: this.#createTime.snapshot(),
    };
  }

  /** The pool's settings (an allowlist; never the password). */
  config(): PoolConfigSnapshot {
    return this.#adapter.config();
  }

  /** The distributions themselves (for exporters that need buckets). */
  distributions(): { readonly waitTime: Histogram; readonly useTime: Histogram; readonly createTime: Histogram } {
    return { waitTime: this.#waitTime, useTime: this.#useTime, createTime: this.#createTime };
  }

  /**
   * Adds a listener told of every wait, use and create duration from now on (see DurationListener). Returns the
   * function that removes it.
   */
  addDurationListener(listener: DurationListener): () => void {
    this.#durationListeners = [...this.#durationListeners, listener];
    return () => {
      this.#durationListeners = this.#durationListeners.filter((existing) => existing !== listener);
    };
  }

  /**
   * Asks whether the pool's database answers (readiness). Pings only when a connection is free, so it never
   * queues behind the app; concurrent calls share one ping. Never rejects.
   */
  probe(timeoutMillis: number = DEFAULT_PROBE_TIMEOUT_MILLIS): Promise<ReachabilityReport> {
    if (this.#closed) {
      return Promise.resolve({
        poolName: this.name,
        reachable: null,
        checkedAt: isoAt(this.#clock, this.#clock.now()),
        latencyMillis: null,
        error: null,
        skipped: 'closed',
      });
    }
    if (this.#probe === undefined) {
      this.#probe = probeReachability(this.name, this.#adapter, this.#clock, timeoutMillis).finally(() => {
        this.#probe = undefined;
      });
    }
    return this.#probe;
  }

  /** Holders (longest first) and waiters (longest first), with stacks formatted now. */
  snapshot(reason: SnapshotReason = 'manual'): PoolSnapshot {
    const now = this.#clock.now();
    const waiters = this.#waiting.toArray().sort((a, b) => a.waitStart - b.waitStart);
    return {
      id: this.#ctx.nextSnapshotId(),
      poolName: this.name,
      takenAt: isoAt(this.#clock, now),
      reason,
      stats: this.stats(),
      config: this.#adapter.config(),
      holders: this.#holdersLongestFirst().map((lease) => this.#view(lease, now)),
      waiters: waiters.map((lease) => this.#view(lease, now)),
    };
  }

  /** Held leases right now (live objects; do not keep them). */
  heldLeases(): IterableIterator<Lease> {
    return this.#held[Symbol.iterator]();
  }

  history(sinceWallMillis?: number): ReturnType<PoolHistory['points']> {
    return this.#history.points(sinceWallMillis);
  }

  /** Stops the leak timer and detaches the adapter's wrappers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#leakTimer !== undefined) clearInterval(this.#leakTimer);
    this.#leakTimer = undefined;
    this.#durationListeners = [];
    try {
      this.#adapter.detach();
    } catch (error) {
      this.#ctx.onError(error);
    }
  }

  #notifyDuration(kind: DurationKind, millis: number): void {
    for (const listener of this.#durationListeners) {
      try {
        listener(kind, millis);
      } catch (error) {
        this.#ctx.onError(error);
      }
    }
  }

  #holdersLongestFirst(): Lease[] {
    return this.#held.toArray().sort((a, b) => a.acquiredAt - b.acquiredAt);
  }

  #view(lease: Lease, now: number): LeaseSnapshot {
    let formatted: FormattedStack | undefined = lease.formatted;
    if (formatted === undefined) {
      formatted = formatStack(lease.stack, this.#frameRules);
      lease.formatted = formatted;
      // A stack cut by the capture limit before any frame of the user's code: capture deeper from now on.
      if (formatted.locationStatus === 'no-user-frame') this.#stacks.learn(formatted);
    }
    return leaseSnapshot(lease, now, this.#clock, formatted, this.#toIso);
  }
}

function ownerView(owner: Owner | undefined, clock: Clock) {
  return owner === undefined ? null : ownerSnapshot(owner, (t) => isoAt(clock, t));
}
