import { InspectorClosedError, OptionsError } from '../errors.js';
import { duplicatePoolNameError, poolNotTrackedError } from './pool-registry-errors.js';
import type { Clock } from './monotonic-clock.js';
import { isoAt } from './monotonic-clock.js';
import { EVENT_TYPES, EventBus } from './pool-events.js';
import type { PoolscopeEventOf, PoolscopeEventType } from './pool-events.js';
import type { OwnerContext, OwnerOptions, OwnerSnapshot } from './owner-context.js';
import { ownerSnapshot } from './owner-context.js';
import { OwnerScopes } from './owner-scopes.js';
import { PoolTracker } from './pool-tracker.js';
import type { PoolView } from './pool-view.js';
import type { PoolAdapter } from './pool-adapter.js';
import type { PoolTrackingDefaults, PoolTrackingOptions } from './pool-tracker-options.js';
import { resolvePoolTrackingOptions } from './pool-tracker-options.js';
import type { InspectorSnapshot, PoolSnapshot } from './pool-snapshot.js';
import { inspectorSnapshot } from './pool-snapshot.js';
import type { PoolStats } from './pool-stats.js';
import { RingBuffer } from './ring-buffer.js';
import type { PoolHistoryPoint } from './pool-history.js';
import type { AlertSnapshot } from './alert-rules.js';
import { AlertSchedule } from './alert-schedule.js';
import type { InspectorOptions } from './inspector-options.js';
import { containedErrorHook, resolveInspectorOptions } from './inspector-options.js';
import type { HttpRequestLike, HttpResponseLike } from './http-owner.js';
import { httpOwnerMiddleware, wrapHttpHandler } from './http-owner.js';
import { WorkerPoolRegistry } from './worker-pool-registry.js';
import type { WorkerPoolAdapter, WorkerPoolTracker, WorkerPoolTrackingOptions, WorkerPoolView } from './worker-pool-registry.js';

// Option types and HTTP shapes live in their own files; re-exported so imports from this file keep working.
export type { AlertOptions, InspectorOptions } from './inspector-options.js';
export type { HttpRequestLike, HttpResponseLike } from './http-owner.js';

/**
 * The entry point: tracks named pools, their leases and owners, takes snapshots, keeps history and emits events.
 * Create one per process (or per test); `close()` stops every timer and detaches every wrapper.
 *
 * ```ts
 * const inspector = new Inspector();
 * trackPgPool(inspector, pool, { name: 'main' });
 * ```
 */
export class Inspector {
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #owners: OwnerContext;
  readonly #trackers = new Map<string, PoolTracker>();
  readonly #workerPools: WorkerPoolRegistry;
  readonly #snapshots: RingBuffer<PoolSnapshot>;
  readonly #defaults: PoolTrackingDefaults;
  readonly #historyCapacity: number;
  readonly #onError: (error: unknown) => void;
  readonly #ownerScopes: OwnerScopes;
  readonly #historyTimer: NodeJS.Timeout | undefined;
  readonly #alerts: AlertSchedule | undefined;
  readonly #appName: string;
  readonly #instanceId: string;
  #nextSnapshotId = 1;
  #closed = false;

  constructor(options: InspectorOptions = {}) {
    const resolved = resolveInspectorOptions(options);
    this.#clock = resolved.clock;
    this.#appName = resolved.appName;
    this.#instanceId = resolved.instanceId;
    this.#onError = containedErrorHook(resolved.onError);
    this.#bus = new EventBus(this.#onError);
    this.#workerPools = new WorkerPoolRegistry({ clock: this.#clock, bus: this.#bus, onError: this.#onError, historyCapacity: resolved.historyCapacity });
    this.#ownerScopes = new OwnerScopes({
      clock: this.#clock,
      reportEnded: (lease, owner) => this.#trackers.get(lease.poolName)?.reportOwnerEnded(lease, owner),
      graceMillis: (lease) => this.#trackers.get(lease.poolName)?.options.ownerEndGraceMillis ?? 0,
      onError: this.#onError,
    });
    this.#owners = this.#ownerScopes.context;
    this.#defaults = resolved.defaults;
    this.#historyCapacity = resolved.historyCapacity;
    this.#snapshots = new RingBuffer(resolved.snapshotBufferSize);
    if (resolved.historyIntervalMillis > 0) {
      // Each tracker contains its own failures (onError).
      this.#historyTimer = setInterval(() => {
        this.#trackers.forEach((tracker) => tracker.sampleHistory());
        this.#workerPools.sampleHistory();
      }, resolved.historyIntervalMillis);
      this.#historyTimer.unref();
    }
    if (resolved.alerts !== undefined) {
      this.#alerts = new AlertSchedule(resolved.alerts, {
        clock: this.#clock,
        bus: this.#bus,
        onError: this.#onError,
        stats: () => this.allStats(),
      });
    }
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The application's name in generated application_names (InspectorOptions.appName or its default). */
  get appName(): string {
    return this.#appName;
  }

  /** This process's name in generated application_names (InspectorOptions.instanceId or its default). */
  get instanceId(): string {
    return this.#instanceId;
  }

  /**
   * Registers a pool through a driver adapter. Adapters call this (e.g. `trackPgPool`); applications rarely do.
   * Throws on a duplicate or invalid name, or after close().
   */
  registerPool(adapter: PoolAdapter, options: PoolTrackingOptions): PoolTracker {
    if (this.#closed) throw new InspectorClosedError('registerPool');
    const resolved = resolvePoolTrackingOptions(options, this.#defaults);
    if (this.#trackers.has(resolved.name)) throw duplicatePoolNameError('pool', resolved.name, 'untrack');
    const tracker = new PoolTracker(adapter, resolved, {
      clock: this.#clock,
      bus: this.#bus,
      owners: this.#owners,
      historyCapacity: this.#historyCapacity,
      storeSnapshot: (snapshot) => this.#storeSnapshot(snapshot),
      nextSnapshotId: () => this.#nextSnapshotId++,
      onError: this.#onError,
      checkoutAfterOwnerEnded: (lease) => this.#ownerScopes.checkoutAfterOwnerEnded(lease),
    });
    this.#trackers.set(resolved.name, tracker);
    if (this.#bus.wants('pool-tracked')) this.#bus.emit({ type: 'pool-tracked', poolName: resolved.name, driver: adapter.driver });
    return tracker;
  }

  /** Stops tracking a pool and removes poolscope's wrappers from it (the pool keeps working). */
  untrack(name: string): void {
    const tracker = this.#require(name);
    this.#trackers.delete(name);
    tracker.close();
    if (this.#bus.wants('pool-untracked')) this.#bus.emit({ type: 'pool-untracked', poolName: name });
  }

  /** Names of the tracked pools, in tracking order. */
  poolNames(): string[] {
    return [...this.#trackers.keys()];
  }

  /** The read-only view of a pool (stats, snapshot, distributions, history, readiness), or undefined. */
  pool(name: string): PoolView | undefined {
    return this.#trackers.get(name)?.view;
  }

  /** Stats of one pool (throws POOLSCOPE_ERR_POOL_NOT_TRACKED for an unknown name). */
  stats(name: string): PoolStats {
    return this.#require(name).stats();
  }

  /** Stats of every pool. */
  allStats(): PoolStats[] {
    return [...this.#trackers.values()].map((t) => t.stats());
  }

  /** A snapshot of one pool now. */
  snapshot(name: string): PoolSnapshot {
    return this.#require(name).snapshot('manual');
  }

  /** A snapshot of every pool now, plus the owners holding connections of several pools at once. */
  snapshotAll(): InspectorSnapshot {
    const pools = [...this.#trackers.values()].map((t) => t.snapshot('manual'));
    return inspectorSnapshot(pools, isoAt(this.#clock, this.#clock.now()));
  }

  /** Automatic (saturation) snapshots kept in the ring buffer, oldest first; optionally of one pool. */
  recentSnapshots(poolName?: string): PoolSnapshot[] {
    const all = this.#snapshots.toArray();
    return poolName === undefined ? all : all.filter((s) => s.poolName === poolName);
  }

  /** History samples of a pool, oldest first; `sinceMillis` limits them to the last N milliseconds. */
  history(name: string, options: { readonly sinceMillis?: number } = {}): PoolHistoryPoint[] {
    const tracker = this.#require(name);
    const since = options.sinceMillis === undefined ? undefined : this.#clock.toWallMillis(this.#clock.now()) - options.sinceMillis;
    return tracker.history(since);
  }

  /**
   * Registers a worker pool (Piscina, workerpool) through its adapter (`trackPiscina`, `trackWorkerpool` call this).
   * Worker pools have a namespace of their own. Throws on a duplicate or invalid name, or after close().
   */
  registerWorkerPool(adapter: WorkerPoolAdapter, options: WorkerPoolTrackingOptions): WorkerPoolTracker {
    if (this.#closed) throw new InspectorClosedError('registerWorkerPool');
    return this.#workerPools.register(adapter, options);
  }

  /** The read-only view of a worker pool (stats, snapshot of every worker, memory), or undefined. */
  workerPool(name: string): WorkerPoolView | undefined {
    return this.#workerPools.view(name);
  }

  /** Names of the tracked worker pools, in tracking order. */
  workerPoolNames(): string[] {
    return this.#workerPools.names();
  }

  /** Stops tracking a worker pool and removes poolscope's wrappers (throws POOLSCOPE_ERR_POOL_NOT_TRACKED if unknown). */
  untrackWorkerPool(name: string): void {
    this.#workerPools.untrack(name);
  }

  /** Subscribes to one event type; returns the unsubscribe function. Listeners that throw go to `onError`. */
  on<T extends PoolscopeEventType>(type: T, listener: (event: PoolscopeEventOf<T>) => void): () => void {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw new OptionsError('type', type, `one of ${EVENT_TYPES.map((t) => `'${t}'`).join(', ')}`);
    }
    if (typeof listener !== 'function') throw new OptionsError('listener', listener, 'a function (event) => void');
    return this.#bus.on(type, listener);
  }

  /**
   * Runs `fn` as `owner`: every checkout inside (on any tracked pool, through any await) is attributed to it. When
   * `fn` returns (or its promise settles), the owner ends, and leases it still holds after the grace period are
   * reported as `owner-ended-holding`. A promise is returned as it is; any other thenable (a query builder that
   * runs when awaited) is awaited once, and the promise of that run is returned, so its query runs once.
   */
  runAs<T>(owner: string | OwnerOptions, fn: () => T): T {
    return this.#ownerScopes.runAs(owner, fn);
  }

  /** The current owner, if the caller runs inside one. */
  currentOwner(): OwnerSnapshot | undefined {
    const owner = this.#owners.current();
    return owner === undefined ? undefined : ownerSnapshot(owner, (t) => isoAt(this.#clock, t));
  }

  /**
   * Connect/Express-style middleware: each request becomes an owner labelled `METHOD /path` (query string dropped)
   * that ends when the response finishes or the connection closes.
   */
  httpOwnerMiddleware(): (req: HttpRequestLike, res: HttpResponseLike, next: (error?: unknown) => void) => void {
    return httpOwnerMiddleware(this.#owners, () => this.#closed);
  }

  /** Wraps a node:http request handler so each request runs as an owner (see httpOwnerMiddleware). */
  wrapHttpHandler<Req extends HttpRequestLike, Res extends HttpResponseLike>(
    handler: (req: Req, res: Res) => unknown,
  ): (req: Req, res: Res) => unknown {
    return wrapHttpHandler(this.httpOwnerMiddleware(), handler);
  }

  /** Stops every timer, detaches every pool wrapper, drops listeners. Idempotent; the pools keep working. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#historyTimer);
    this.#alerts?.close();
    for (const tracker of this.#trackers.values()) tracker.close();
    this.#workerPools.close();
    const names = [...this.#trackers.keys()];
    this.#trackers.clear();
    if (this.#bus.wants('pool-untracked')) {
      for (const name of names) this.#bus.emit({ type: 'pool-untracked', poolName: name });
    }
    this.#bus.clear();
    this.#snapshots.clear();
    this.#ownerScopes.close();
  }

  /**
   * Evaluates the alert rules now against every pool (the timer does this every `alerts.intervalMillis`), emits
   * `alert-firing`/`alert-resolved` events and calls `alerts.onAlert`. Does nothing when alerts are off or after close.
   */
  evaluateAlerts(): void {
    if (this.#closed) return;
    this.#alerts?.evaluate();
  }

  /**
   * Hands an error to the inspector's `onError` hook (default: one process warning). For exporters and integrations
   * that run poolscope work outside the app's call path; never throws.
   */
  reportError(error: unknown): void {
    this.#onError(error);
  }

  /** Alerts pending (condition holds, duration not reached) and firing, firing first. Empty when alerts are off. */
  activeAlerts(): AlertSnapshot[] {
    return this.#alerts?.active() ?? [];
  }

  #require(name: string): PoolTracker {
    const tracker = this.#trackers.get(name);
    if (tracker === undefined) throw poolNotTrackedError('pool', name, this.poolNames());
    return tracker;
  }

  #storeSnapshot(snapshot: PoolSnapshot): void {
    this.#snapshots.push(snapshot);
    this.#bus.emit({ type: 'snapshot-taken', poolName: snapshot.poolName, snapshot });
  }
}
