import type { EventBus, EventTopic, LeaseAcquiredEvent, LeaseReleasedEvent, QueryExecutedEvent } from './pool-events.js';
import { LeaseList } from './lease-list.js';
import type { Clock } from './monotonic-clock.js';
import { isoAt, IsoFormatter } from './monotonic-clock.js';
import type { OwnerContext } from './owner-context.js';
import type { Lease, LeaseSnapshot } from './lease.js';
import { leaseSnapshot } from './lease.js';
import { Histogram } from './histogram.js';
import type { FormattedStack, FrameRules, StackHolder } from './stack-capture.js';
import { captureStack, formatStack, MAX_CAPTURED_FRAMES, StackCapturePolicy } from './stack-capture.js';
import { SaturationWatch } from './saturation-watch.js';
import { PoolHistory } from './pool-history.js';
import { healthLevel, utilizationPercent } from './pool-health.js';
import { capabilitiesOf, type AdapterCapabilities, type PoolAdapter } from './pool-adapter.js';
import type { PoolCounters, PoolStats } from './pool-stats.js';
import type { PoolSnapshot, SnapshotReason } from './pool-snapshot.js';
import type { ResolvedPoolTrackingOptions } from './pool-tracker-options.js';
import type { ReachabilityReport } from './reachability-probe.js';

/**
 * One pool's state, shared by its writer (PoolTracker, fed by the adapter) and its readers (PoolView): the leases
 * held and waiting, counters, distributions, history and the detectors' memory. Internal to core: applications and
 * readers see it only through PoolView.
 */

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

/** The counters, mutable here; readers get a copy as PoolCounters. */
export class MutableCounters implements PoolCounters {
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

/** The percentiles each history sample keeps of its interval's waits and holds. */
const HISTORY_QUANTILES: readonly number[] = [0.5, 0.95, 0.99];

export class PoolState {
  readonly name: string;
  readonly options: ResolvedPoolTrackingOptions;
  readonly adapter: PoolAdapter;
  /** What the adapter can observe (read once: an adapter's capabilities do not change). */
  readonly capabilities: AdapterCapabilities;
  readonly ctx: TrackerContext;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly stacks: StackCapturePolicy;
  readonly frameRules: FrameRules;
  readonly saturation: SaturationWatch;
  readonly history: PoolHistory;
  /** Held leases, oldest checkout first (an intrusive list: no hashing per checkout). */
  readonly held = new LeaseList();
  /** Callers waiting for a connection, in arrival order. */
  readonly waiting = new LeaseList();
  readonly counters = new MutableCounters();
  readonly waitTime = new Histogram();
  readonly useTime = new Histogram();
  readonly createTime = new Histogram();
  readonly acquiredTopic: EventTopic<LeaseAcquiredEvent>;
  readonly releasedTopic: EventTopic<LeaseReleasedEvent>;
  readonly queryTopic: EventTopic<QueryExecutedEvent>;
  /** The lease that last returned each connection inside a transaction (onDirtyRelease 'report'), by connection. */
  readonly dirtyBy = new WeakMap<object, Lease>();
  durationListeners: readonly DurationListener[] = [];
  nextLeaseId = 1;
  closed = false;
  /** The readiness ping in progress, shared by concurrent probes. */
  probe: Promise<ReachabilityReport> | undefined = undefined;
  /** The wait and use histograms' counts at the previous history sample, for per-interval percentiles. */
  readonly #waitMark = new Float64Array(Histogram.bucketCount);
  readonly #useMark = new Float64Array(Histogram.bucketCount);
  readonly #waitPercentiles: number[] = [];
  readonly #holdPercentiles: number[] = [];
  readonly #iso = new IsoFormatter();
  readonly #toIso = (monotonicMillis: number): string => this.#iso.format(this.clock.toWallMillis(monotonicMillis));

  constructor(adapter: PoolAdapter, options: ResolvedPoolTrackingOptions, ctx: TrackerContext) {
    this.name = options.name;
    this.options = options;
    this.adapter = adapter;
    this.capabilities = capabilitiesOf(adapter);
    this.ctx = ctx;
    this.clock = ctx.clock;
    this.bus = ctx.bus;
    this.acquiredTopic = ctx.bus.topic('lease-acquired');
    this.releasedTopic = ctx.bus.topic('lease-released');
    this.queryTopic = ctx.bus.topic('query-executed');
    this.stacks = new StackCapturePolicy(options.stackCapture, options.stackCaptureBudgetPerSecond, options.stackFrameLimit);
    this.frameRules = {
      hidden: options.hiddenFrames,
      library: options.libraryFrames,
      application: options.applicationFrames,
      keep: options.stackFrameLimit,
    };
    this.saturation = new SaturationWatch(options.saturationPercent, options.saturationCooldownMillis, options.expectFull);
    this.history = new PoolHistory(ctx.historyCapacity);
  }

  /** A checkout's stack per the capture policy (undefined when sampled out); now and then a deep probe, learned from. */
  captureSite(hideAbove: (...args: never[]) => unknown, now: number): StackHolder | undefined {
    const stacks = this.stacks;
    if (!stacks.shouldCapture(now)) return undefined;
    if (!stacks.probeDue(now)) return captureStack(stacks.captureLimit, hideAbove);
    // Now and then a deep capture, formatted at once, tells how deep this pool's call sites need capturing.
    const stack = captureStack(MAX_CAPTURED_FRAMES, hideAbove);
    stacks.learn(formatStack(stack, this.frameRules));
    return stack;
  }

  /** A lease as readers see it; its stack is formatted on the first read and kept. */
  view(lease: Lease, now: number): LeaseSnapshot {
    return leaseSnapshot(lease, now, this.clock, this.formatted(lease), this.#toIso, this.capabilities);
  }

  /** A lease's stack, formatted on the first call and kept on the lease. */
  formatted(lease: Lease): FormattedStack {
    let formatted: FormattedStack | undefined = lease.formatted;
    if (formatted === undefined) {
      formatted = formatStack(lease.stack, this.frameRules);
      lease.formatted = formatted;
      // A stack cut by the capture limit before any frame of the user's code: capture deeper from now on.
      if (formatted.locationStatus === 'no-user-frame') this.stacks.learn(formatted);
    }
    return formatted;
  }

  holdersLongestFirst(): Lease[] {
    return this.held.toArray().sort((a, b) => a.acquiredAt - b.acquiredAt);
  }

  stats(): PoolStats {
    const used = this.held.size;
    const max = this.adapter.max();
    const pending = this.adapter.waitingCount();
    return {
      poolName: this.name,
      timestamp: isoAt(this.clock, this.clock.now()),
      total: this.adapter.totalCount(),
      idle: this.adapter.idleCount(),
      used,
      pending,
      max,
      min: this.adapter.min(),
      utilizationPercent: utilizationPercent(used, max),
      level: healthLevel(used, max, pending, this.options),
      capabilities: this.capabilities,
      expectFull: this.options.expectFull,
      counters: { ...this.counters },
      waitTime: this.waitTime.snapshot(),
      useTime: this.useTime.snapshot(),
      createTime: this.createTime.snapshot(),
    };
  }

  /** Holders (longest first) and waiters (longest first), with stacks formatted now. */
  snapshot(reason: SnapshotReason): PoolSnapshot {
    const now = this.clock.now();
    const waiters = this.waiting.toArray().sort((a, b) => a.waitStart - b.waitStart);
    return {
      id: this.ctx.nextSnapshotId(),
      poolName: this.name,
      takenAt: isoAt(this.clock, now),
      reason,
      stats: this.stats(),
      config: this.adapter.config(),
      holders: this.holdersLongestFirst().map((lease) => this.view(lease, now)),
      waiters: waiters.map((lease) => this.view(lease, now)),
    };
  }

  /** Records one history sample. */
  sampleHistory(): void {
    const used = this.held.size;
    const max = this.adapter.max();
    this.history.record({
      wallMillis: this.clock.toWallMillis(this.clock.now()),
      total: this.adapter.totalCount(),
      idle: this.adapter.idleCount(),
      used,
      pending: this.adapter.waitingCount(),
      max,
      utilizationPercent: utilizationPercent(used, max),
      acquiresTotal: this.counters.acquires,
      timeoutsTotal: this.counters.timeouts,
      waitPercentiles: this.waitTime.intervalQuantiles(this.#waitMark, HISTORY_QUANTILES, this.#waitPercentiles),
      holdPercentiles: this.useTime.intervalQuantiles(this.#useMark, HISTORY_QUANTILES, this.#holdPercentiles),
    });
  }

  /** Takes an automatic (saturation) snapshot off the caller's path, stores and announces it. */
  snapshotSaturationSoon(): void {
    setImmediate(() => {
      if (this.closed) return;
      try {
        this.counters.saturationSnapshots += 1;
        const snapshot = this.snapshot('saturation');
        this.bus.emit({ type: 'saturated', poolName: this.name, stats: snapshot.stats });
        this.ctx.storeSnapshot(snapshot);
      } catch (error) {
        this.ctx.onError(error);
      }
    }).unref();
  }

  notifyDuration(kind: DurationKind, millis: number): void {
    for (const listener of this.durationListeners) {
      try {
        listener(kind, millis);
      } catch (error) {
        this.ctx.onError(error);
      }
    }
  }
}
