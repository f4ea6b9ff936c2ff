import type { Histogram } from './histogram.js';
import type { WorkerPoolConfigSnapshot, WorkerProfile } from './worker-pool-adapter.js';
import type { ResolvedWorkerPoolTrackingOptions } from './worker-pool-options.js';
import { workerPoolSnapshot, workerPoolStats } from './worker-pool-readings.js';
import type { WorkerPoolHistoryPoint } from './worker-pool-history.js';
import type { WorkerDurationListener, WorkerPoolState } from './worker-pool-state.js';
import type { WorkerPoolSnapshot, WorkerPoolStats } from './worker-pool-stats.js';

/** How long `sampleMemory()` waits for thread workers' answers when not told. */
export const DEFAULT_MEMORY_SAMPLE_TIMEOUT_MILLIS = 1000;

/**
 * The read-only view of one tracked worker pool: what routes, exporters, the CLI and applications read.
 * `inspector.workerPool(name)`, `trackPiscina(...)` and `trackWorkerpool(...)` return it. The bookkeeping that
 * feeds it belongs to the adapter that registered the pool, through WorkerPoolTracker.
 */
export class WorkerPoolView {
  /** The pool's state; readers go through the methods below. */
  protected readonly state: WorkerPoolState;

  constructor(state: WorkerPoolState) {
    this.state = state;
  }

  /** The worker pool's unique name in its inspector (worker pools have a namespace of their own). */
  get name(): string {
    return this.state.name;
  }

  /** The library: `piscina`, `workerpool`. */
  get driver(): string {
    return this.state.adapter.driver;
  }

  /** `thread` or `process`. */
  get profile(): WorkerProfile {
    return this.state.adapter.profile;
  }

  /** The tracking options in force (defaults applied). */
  get options(): ResolvedWorkerPoolTrackingOptions {
    return this.state.options;
  }

  /** True once the pool was untracked or its inspector closed. */
  get closed(): boolean {
    return this.state.closed;
  }

  /**
   * Profile, workers, capacity (used, available), utilization and its level, queue, counters, run and wait times,
   * memory summary, now. Memory is the latest sample of each worker (a read samples again when the last sample is
   * older than a second; thread answers arrive after the read): `await sampleMemory()` first for fresh readings.
   */
  stats(): WorkerPoolStats {
    return workerPoolStats(this.state, this.state.clock.now());
  }

  /** Stats, the pool's settings (an allowlist) and every worker: id, thread id or pid, load, status, memory. */
  snapshot(): WorkerPoolSnapshot {
    return workerPoolSnapshot(this.state, this.state.clock.now());
  }

  /** The pool's settings (an allowlist: never env, argv, workerData or fork options). */
  config(): WorkerPoolConfigSnapshot {
    return this.state.adapter.config();
  }

  /**
   * Samples every worker's memory now: process workers are read at once; thread workers are asked and the promise
   * resolves when each has answered or after `timeoutMillis` (default 1000). Never rejects. Read `snapshot()` after.
   */
  sampleMemory(options: { readonly timeoutMillis?: number } = {}): Promise<void> {
    const timeout = options.timeoutMillis ?? DEFAULT_MEMORY_SAMPLE_TIMEOUT_MILLIS;
    return this.state.sampleMemoryAndWait(Number.isFinite(timeout) && timeout >= 0 ? timeout : DEFAULT_MEMORY_SAMPLE_TIMEOUT_MILLIS);
  }

  /**
   * The in-process history, oldest first, optionally since a wall-clock time: one sample per history interval of the
   * inspector (`historyIntervalMillis`, default 1 s; none when it is 0) for its retention (default 15 minutes).
   */
  history(sinceWallMillis?: number): WorkerPoolHistoryPoint[] {
    return this.state.history.points(sinceWallMillis);
  }

  /**
   * Calls `listener` with each task's wait when it starts and its run time when it ends, in ms (the OpenTelemetry
   * exporter's histograms). Returns the function that removes it. A listener that throws goes to onError.
   */
  addDurationListener(listener: WorkerDurationListener): () => void {
    const state = this.state;
    if (state.closed) return () => undefined;
    state.durationListeners = [...state.durationListeners, listener];
    return () => {
      state.durationListeners = state.durationListeners.filter((existing) => existing !== listener);
    };
  }

  /** The distributions themselves (for exporters that need buckets). Read them; do not record into them. */
  distributions(): { readonly runTime: Histogram; readonly waitTime: Histogram } {
    return { runTime: this.state.runTime, waitTime: this.state.waitTime };
  }
}
