import { isoAt } from './monotonic-clock.js';
import type { Histogram } from './histogram.js';
import type { PoolHistoryPoint } from './pool-history.js';
import type { PoolStats } from './pool-stats.js';
import type { PoolConfigSnapshot, PoolSnapshot, SnapshotReason } from './pool-snapshot.js';
import type { DurationListener, PoolState } from './pool-state.js';
import type { ResolvedPoolTrackingOptions } from './pool-tracker-options.js';
import type { ReachabilityReport } from './reachability-probe.js';
import { DEFAULT_PROBE_TIMEOUT_MILLIS, probeReachability } from './reachability-probe.js';
import { sweepLeaks } from './leak-detector.js';

/**
 * The read-only view of one tracked pool: what routes, exporters, the CLI and applications read (stats, snapshot,
 * distributions, history, readiness). `inspector.pool(name)` and `trackPgPool(...)` return it. The bookkeeping
 * that feeds it (checkout, release, query) belongs to the adapter that registered the pool, through PoolTracker.
 */
export class PoolView {
  /** The pool's state; readers go through the methods below. */
  protected readonly state: PoolState;

  constructor(state: PoolState) {
    this.state = state;
  }

  /** The pool's unique name in its inspector. */
  get name(): string {
    return this.state.name;
  }

  /** The tracking options in force (defaults applied). */
  get options(): ResolvedPoolTrackingOptions {
    return this.state.options;
  }

  /** The driver's name, e.g. `pg`. */
  get driver(): string {
    return this.state.adapter.driver;
  }

  /** True once the pool was untracked or its inspector closed. */
  get closed(): boolean {
    return this.state.closed;
  }

  /** Counts, utilization, health level, counters and wait/use/create time summaries, now. */
  stats(): PoolStats {
    return this.state.stats();
  }

  /** The pool's settings (an allowlist; never the password). */
  config(): PoolConfigSnapshot {
    return this.state.adapter.config();
  }

  /** The distributions themselves (for exporters that need buckets). Read them; do not record into them. */
  distributions(): { readonly waitTime: Histogram; readonly useTime: Histogram; readonly createTime: Histogram } {
    const { waitTime, useTime, createTime } = this.state;
    return { waitTime, useTime, createTime };
  }

  /**
   * Adds a listener told of every wait, use and create duration from now on (see DurationListener). Returns the
   * function that removes it.
   */
  addDurationListener(listener: DurationListener): () => void {
    const state = this.state;
    state.durationListeners = [...state.durationListeners, listener];
    return () => {
      state.durationListeners = state.durationListeners.filter((existing) => existing !== listener);
    };
  }

  /**
   * Asks whether the pool's database answers (readiness). Pings only when a connection is free, so it never
   * queues behind the app; concurrent calls share one ping. Never rejects.
   */
  probe(timeoutMillis: number = DEFAULT_PROBE_TIMEOUT_MILLIS): Promise<ReachabilityReport> {
    const state = this.state;
    if (state.closed) {
      return Promise.resolve({
        poolName: state.name,
        reachable: null,
        checkedAt: isoAt(state.clock, state.clock.now()),
        latencyMillis: null,
        error: null,
        skipped: 'closed',
      });
    }
    if (state.probe === undefined) {
      state.probe = probeReachability(state.name, state.adapter, state.clock, timeoutMillis).finally(() => {
        state.probe = undefined;
      });
    }
    return state.probe;
  }

  /** Holders (longest first) and waiters (longest first), with stacks formatted now. */
  snapshot(reason: SnapshotReason = 'manual'): PoolSnapshot {
    return this.state.snapshot(reason);
  }

  /** The in-process history (utilization, waiting, acquires), oldest first, optionally since a wall-clock time. */
  history(sinceWallMillis?: number): PoolHistoryPoint[] {
    return this.state.history.points(sinceWallMillis);
  }

  /**
   * Reports leases held past the leak threshold now, as the pool's timer does every interval (each lease once).
   * Useful before a shutdown or in a test.
   */
  sweepLeaks(): void {
    sweepLeaks(this.state);
  }
}
