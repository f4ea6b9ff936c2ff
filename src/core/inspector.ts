import os from 'node:os';
import path from 'node:path';
import { InspectorClosedError, PoolNameError, PoolTrackingError, OptionsError } from '../errors.js';
import type { Clock } from './monotonic-clock.js';
import { isoAt, systemClock } from './monotonic-clock.js';
import { EVENT_TYPES, EventBus } from './pool-events.js';
import type { PoolscopeEventOf, PoolscopeEventType } from './pool-events.js';
import type { Owner, OwnerOptions, OwnerSnapshot } from './owner-context.js';
import { OwnerContext, ownerSnapshot } from './owner-context.js';
import type { Lease } from './lease.js';
import { PoolTracker } from './pool-tracker.js';
import type { PoolAdapter } from './pool-adapter.js';
import type { PoolTrackingDefaults, PoolTrackingOptions } from './pool-tracker-options.js';
import { nonNegative, resolvePoolTrackingOptions } from './pool-tracker-options.js';
import type { InspectorSnapshot, MultiPoolOwner, PoolSnapshot } from './pool-snapshot.js';
import type { PoolStats } from './pool-stats.js';
import { RingBuffer } from './saturation-watch.js';
import type { PoolHistoryPoint } from './pool-history.js';
import { DEFAULT_HISTORY_INTERVAL_MILLIS, DEFAULT_HISTORY_RETENTION_MILLIS } from './pool-history.js';
import type { AlertRule, AlertSnapshot } from './alert-rules.js';
import { AlertEvaluator, DEFAULT_ALERT_RULES, validateAlertRules } from './alert-rules.js';
import type { AlertFiringEvent, AlertResolvedEvent } from './pool-events.js';

/** Alert evaluation settings (see docs/reference/api.md, "Alerts"). */
export interface AlertOptions {
  /** The rules. Default DEFAULT_ALERT_RULES: utilization above 80% for 5 minutes; any caller waiting, at once. */
  readonly rules?: readonly AlertRule[];
  /** How often the rules are evaluated. Default 1000. */
  readonly intervalMillis?: number;
  /** Called on every firing and resolved alert (as well as the `alert-firing`/`alert-resolved` events). */
  readonly onAlert?: (event: AlertFiringEvent | AlertResolvedEvent) => void;
}

/** Options of an Inspector. All optional. */
export interface InspectorOptions {
  /** Settings applied to every tracked pool unless the pool sets its own. */
  readonly defaults?: PoolTrackingDefaults;
  /** History sample interval. Default 1000; 0 disables history. */
  readonly historyIntervalMillis?: number;
  /** How far back history reaches. Default 900000 (15 minutes). */
  readonly historyRetentionMillis?: number;
  /** Automatic snapshots kept (all pools together). Default 50. */
  readonly snapshotBufferSize?: number;
  /**
   * Called with any error raised inside poolscope's own work or a listener (never thrown into your code).
   * Default: one `process.emitWarning` with code `POOLSCOPE_INTERNAL_ERROR`, then silence.
   */
  readonly onError?: (error: unknown) => void;
  /** Alert rules evaluated on a timer; `false` turns alerts off. Default: on, with DEFAULT_ALERT_RULES. */
  readonly alerts?: AlertOptions | false;
  /** Time source (tests). */
  readonly clock?: Clock;
  /**
   * Names this application in the application_name poolscope gives each pool's connections
   * (`<appName>/<instanceId>/<pool name>`, see PoolTrackingOptions.applicationName). Default: the
   * `npm_package_name` environment variable (set by `npm run`/`npm start`), else the main script's file name
   * without extension, else `node`.
   */
  readonly appName?: string;
  /** Names this process in that application_name. Default `<host name>-<pid>` (host name cut to 20 characters). */
  readonly instanceId?: string;
}

/** Minimal view of an HTTP request for owner labelling (node:http, Express, Fastify's raw request). */
export interface HttpRequestLike {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}

/** Minimal view of an HTTP response: the owner ends on `finish` or `close`. */
export interface HttpResponseLike {
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

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
  readonly #snapshots: RingBuffer<PoolSnapshot>;
  readonly #defaults: PoolTrackingDefaults;
  readonly #historyCapacity: number;
  readonly #onError: (error: unknown) => void;
  readonly #ownerTimers = new Set<NodeJS.Timeout>();
  #historyTimer: NodeJS.Timeout | undefined;
  readonly #alerts: AlertEvaluator | undefined;
  readonly #onAlert: ((event: AlertFiringEvent | AlertResolvedEvent) => void) | undefined;
  #alertTimer: NodeJS.Timeout | undefined;
  readonly #appName: string;
  readonly #instanceId: string;
  #nextSnapshotId = 1;
  #warned = false;
  #closed = false;

  constructor(options: InspectorOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new OptionsError('options', options, 'an object (or nothing) for new Inspector()');
    }
    this.#clock = options.clock ?? systemClock;
    this.#appName = nonEmptyString('appName', options.appName) ?? defaultAppName();
    this.#instanceId = nonEmptyString('instanceId', options.instanceId) ?? defaultInstanceId();
    const userOnError = options.onError;
    if (userOnError !== undefined && typeof userOnError !== 'function') {
      throw new OptionsError('onError', userOnError, 'a function (error) => void');
    }
    this.#onError = (error) => {
      try {
        if (userOnError !== undefined) userOnError(error);
        else this.#warnOnce(error);
      } catch {
        // The error hook itself failed: nothing safe is left to tell.
      }
    };
    this.#bus = new EventBus(this.#onError);
    this.#owners = new OwnerContext(this.#clock, (owner) => this.#ownerEnded(owner));
    this.#defaults = options.defaults ?? {};
    // Validate the defaults once, with a placeholder name, so a bad default fails here and not at trackPgPool().
    resolvePoolTrackingOptions({ name: 'defaults' }, this.#defaults);
    const interval = nonNegative('historyIntervalMillis', options.historyIntervalMillis, DEFAULT_HISTORY_INTERVAL_MILLIS);
    const retention = nonNegative('historyRetentionMillis', options.historyRetentionMillis, DEFAULT_HISTORY_RETENTION_MILLIS);
    this.#historyCapacity = interval > 0 ? Math.max(1, Math.ceil(retention / interval)) : 1;
    const bufferSize = options.snapshotBufferSize ?? 50;
    if (!Number.isInteger(bufferSize) || bufferSize <= 0) {
      throw new OptionsError('snapshotBufferSize', bufferSize, 'a whole number > 0');
    }
    this.#snapshots = new RingBuffer(bufferSize);
    if (interval > 0) {
      this.#historyTimer = setInterval(() => this.#sampleHistory(), interval);
      this.#historyTimer.unref();
    }
    const alerts = options.alerts ?? {};
    if (alerts !== false) {
      if (alerts === null || typeof alerts !== 'object') {
        throw new OptionsError('alerts', alerts, 'an object { rules?, intervalMillis?, onAlert? } or false');
      }
      const rules = alerts.rules === undefined ? DEFAULT_ALERT_RULES : validateAlertRules(alerts.rules);
      if (alerts.onAlert !== undefined && typeof alerts.onAlert !== 'function') {
        throw new OptionsError('alerts.onAlert', alerts.onAlert, 'a function (event) => void');
      }
      const every = nonNegative('alerts.intervalMillis', alerts.intervalMillis, 1000);
      this.#alerts = new AlertEvaluator(rules, this.#onError);
      this.#onAlert = alerts.onAlert;
      if (every > 0 && rules.length > 0) {
        this.#alertTimer = setInterval(() => this.evaluateAlerts(), every);
        this.#alertTimer.unref();
      }
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
    if (this.#trackers.has(resolved.name)) {
      throw new PoolNameError(
        'POOLSCOPE_ERR_POOL_DUPLICATE_NAME',
        resolved.name,
        `A pool named "${resolved.name}" is already tracked by this inspector. Give each pool a unique name ` +
          `(e.g. "${resolved.name}-2"), or untrack("${resolved.name}") first.`,
      );
    }
    const tracker = new PoolTracker(adapter, resolved, {
      clock: this.#clock,
      bus: this.#bus,
      owners: this.#owners,
      historyCapacity: this.#historyCapacity,
      storeSnapshot: (snapshot) => this.#storeSnapshot(snapshot),
      nextSnapshotId: () => this.#nextSnapshotId++,
      onError: this.#onError,
      checkoutAfterOwnerEnded: (lease) => this.#checkOwnerEnd([lease], lease.owner),
    });
    this.#trackers.set(resolved.name, tracker);
    if (this.#bus.wants('pool-tracked')) this.#bus.emit({ type: 'pool-tracked', poolName: resolved.name, driver: adapter.driver });
    return tracker;
  }

  /** Stops tracking a pool and removes poolscope's wrappers from it (the pool keeps working). */
  untrack(name: string): void {
    const tracker = this.#trackers.get(name);
    if (tracker === undefined) {
      throw new PoolTrackingError(
        'POOLSCOPE_ERR_POOL_NOT_TRACKED',
        `No pool named "${name}" is tracked. Tracked pools: ${this.poolNames().join(', ') || 'none'}.`,
        name,
      );
    }
    this.#trackers.delete(name);
    tracker.close();
    if (this.#bus.wants('pool-untracked')) this.#bus.emit({ type: 'pool-untracked', poolName: name });
  }

  /** Names of the tracked pools, in tracking order. */
  poolNames(): string[] {
    return [...this.#trackers.keys()];
  }

  /** The tracker of a pool, or undefined. */
  pool(name: string): PoolTracker | undefined {
    return this.#trackers.get(name);
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
    const byOwner = new Map<number, { owner: OwnerSnapshot; leases: Record<string, number[]> }>();
    for (const pool of pools) {
      for (const holder of pool.holders) {
        if (holder.owner === null) continue;
        let entry = byOwner.get(holder.owner.id);
        if (entry === undefined) {
          entry = { owner: holder.owner, leases: {} };
          byOwner.set(holder.owner.id, entry);
        }
        (entry.leases[pool.poolName] ??= []).push(holder.id);
      }
    }
    const multiPoolOwners: MultiPoolOwner[] = [...byOwner.values()].filter((e) => Object.keys(e.leases).length > 1);
    return { takenAt: isoAt(this.#clock, this.#clock.now()), pools, multiPoolOwners };
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
    const options = typeof owner === 'string' ? { label: owner } : owner;
    if (options === null || typeof options !== 'object' || typeof options.label !== 'string' || options.label === '') {
      throw new OptionsError('owner', owner, "a non-empty label, or { label, kind }, e.g. runAs('job send-mail', fn)");
    }
    const scope = this.#owners.start(options);
    let result: T;
    try {
      result = this.#owners.enter(scope, fn);
    } catch (error) {
      this.#owners.end(scope);
      throw error;
    }
    if (result instanceof Promise) {
      const end = () => this.#owners.end(scope);
      result.then(end, end);
    } else if (isPromiseLike(result)) {
      // A thenable that is not a promise may run its work on each then() (Knex builders, Drizzle and Prisma
      // queries): call it once, and hand the caller the promise of that one run.
      const end = () => this.#owners.end(scope);
      return result.then(
        (value) => {
          end();
          return value;
        },
        (error: unknown) => {
          end();
          throw error;
        },
      ) as T;
    } else {
      this.#owners.end(scope);
    }
    return result;
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
    return (req, res, next) => {
      if (this.#closed) {
        next();
        return;
      }
      const owner = this.#owners.start({ label: requestLabel(req), kind: 'request' });
      const end = () => this.#owners.end(owner);
      res.once('finish', end);
      res.once('close', end);
      this.#owners.enter(owner, next);
    };
  }

  /** Wraps a node:http request handler so each request runs as an owner (see httpOwnerMiddleware). */
  wrapHttpHandler<Req extends HttpRequestLike, Res extends HttpResponseLike>(
    handler: (req: Req, res: Res) => unknown,
  ): (req: Req, res: Res) => unknown {
    const middleware = this.httpOwnerMiddleware();
    return (req, res) => {
      let result: unknown;
      middleware(req, res, () => {
        result = handler(req, res);
      });
      return result;
    };
  }

  /** Stops every timer, detaches every pool wrapper, drops listeners. Idempotent; the pools keep working. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#historyTimer !== undefined) clearInterval(this.#historyTimer);
    this.#historyTimer = undefined;
    for (const timer of this.#ownerTimers) clearTimeout(timer);
    this.#ownerTimers.clear();
    if (this.#alertTimer !== undefined) clearInterval(this.#alertTimer);
    this.#alertTimer = undefined;
    for (const tracker of this.#trackers.values()) tracker.close();
    const names = [...this.#trackers.keys()];
    this.#trackers.clear();
    if (this.#bus.wants('pool-untracked')) {
      for (const name of names) this.#bus.emit({ type: 'pool-untracked', poolName: name });
    }
    this.#bus.clear();
    this.#snapshots.clear();
    this.#owners.disable();
  }

  /**
   * Evaluates the alert rules now against every pool (the timer does this every `alerts.intervalMillis`), emits
   * `alert-firing`/`alert-resolved` events and calls `alerts.onAlert`. Does nothing when alerts are off or after close.
   */
  evaluateAlerts(): void {
    const evaluator = this.#alerts;
    if (evaluator === undefined || this.#closed) return;
    try {
      const now = this.#clock.now();
      const iso = (time: number): string => isoAt(this.#clock, time);
      for (const transition of evaluator.evaluate(this.allStats(), now, iso)) {
        const { alert } = transition;
        const event: AlertFiringEvent | AlertResolvedEvent =
          transition.kind === 'firing'
            ? {
                type: 'alert-firing',
                poolName: alert.poolName,
                alert,
                message: `Alert ${alert.rule} (${alert.severity}) firing: ${alert.summary}`,
              }
            : {
                type: 'alert-resolved',
                poolName: alert.poolName,
                alert,
                firingMillis: transition.firingMillis,
                message: `Alert ${alert.rule} resolved on pool '${alert.poolName}' after ${Math.round(transition.firingMillis / 100) / 10} s`,
              };
        this.#bus.emit(event);
        if (this.#onAlert !== undefined) {
          try {
            this.#onAlert(event);
          } catch (error) {
            this.#onError(error);
          }
        }
      }
    } catch (error) {
      this.#onError(error);
    }
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
    if (this.#alerts === undefined) return [];
    return this.#alerts.active((time) => isoAt(this.#clock, time));
  }

  #require(name: string): PoolTracker {
    const tracker = this.#trackers.get(name);
    if (tracker === undefined) {
      throw new PoolTrackingError(
        'POOLSCOPE_ERR_POOL_NOT_TRACKED',
        `No pool named "${name}" is tracked. Tracked pools: ${this.poolNames().join(', ') || 'none'}.`,
        name,
      );
    }
    return tracker;
  }

  #storeSnapshot(snapshot: PoolSnapshot): void {
    this.#snapshots.push(snapshot);
    this.#bus.emit({ type: 'snapshot-taken', poolName: snapshot.poolName, snapshot });
  }

  #sampleHistory(): void {
    for (const tracker of this.#trackers.values()) {
      try {
        tracker.sampleHistory();
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  #ownerEnded(owner: Owner): void {
    const held = owner.held;
    if (held === undefined || held.length === 0 || this.#closed) return;
    this.#checkOwnerEnd([...held], owner);
  }

  /** Reports `leases` of the ended `owner` still held after the grace period. */
  #checkOwnerEnd(leases: readonly Lease[], owner: Owner | undefined): void {
    if (owner === undefined || this.#closed) return;
    let grace = 0;
    for (const lease of leases) grace = Math.max(grace, this.#trackers.get(lease.poolName)?.options.ownerEndGraceMillis ?? 0);
    const timer = setTimeout(() => {
      this.#ownerTimers.delete(timer);
      for (const lease of leases) {
        try {
          if (lease.state === 'held') this.#trackers.get(lease.poolName)?.reportOwnerEnded(lease, owner);
        } catch (error) {
          this.#onError(error);
        }
      }
    }, grace);
    timer.unref();
    this.#ownerTimers.add(timer);
  }

  #warnOnce(error: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    const message = error instanceof Error ? error.message : String(error);
    process.emitWarning(`poolscope: an error inside poolscope or one of its listeners was contained: ${message}`, {
      code: 'POOLSCOPE_INTERNAL_ERROR',
    });
  }
}

function nonEmptyString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new OptionsError(option, value, 'a non-empty string');
  return value;
}

/** `npm_package_name` (npm/pnpm/yarn scripts), else the main script's base name, else `node`. */
function defaultAppName(): string {
  const fromNpm = process.env.npm_package_name;
  if (typeof fromNpm === 'string' && fromNpm.trim() !== '') return fromNpm;
  const main = process.argv[1];
  if (typeof main === 'string' && main !== '') {
    const base = path.basename(main, path.extname(main));
    if (base !== '') return base;
  }
  return 'node';
}

/** `<host name up to its first dot, at most 20 characters>-<pid>`. */
function defaultInstanceId(): string {
  let host = '';
  try {
    host = os.hostname().split('.')[0] ?? '';
  } catch {
    // no host name: the pid alone
  }
  host = host.slice(0, 20);
  return host === '' ? String(process.pid) : `${host}-${process.pid}`;
}

function requestLabel(req: HttpRequestLike): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return `${req.method ?? 'GET'} ${q === -1 ? url : url.slice(0, q)}`;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
