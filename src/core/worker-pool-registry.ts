import type { EventBus } from './pool-events.js';
import type { Clock } from './monotonic-clock.js';
import type { WorkerPoolAdapter } from './worker-pool-adapter.js';
import type { WorkerPoolTrackingOptions } from './worker-pool-options.js';
import { resolveWorkerPoolTrackingOptions } from './worker-pool-options.js';
import { WorkerPoolTracker } from './worker-pool-tracker.js';
import type { WorkerPoolView } from './worker-pool-view.js';
import { WorkerHeapChannel } from './worker-heap-channel.js';
import { duplicatePoolNameError, poolNotTrackedError } from './pool-registry-errors.js';

export type { WorkerPoolAdapter } from './worker-pool-adapter.js';
export type { WorkerPoolTrackingOptions } from './worker-pool-options.js';
export type { WorkerPoolTracker } from './worker-pool-tracker.js';
export type { WorkerPoolView } from './worker-pool-view.js';

/**
 * An inspector's worker pools (Piscina, workerpool): their trackers by name, and the heap channel their thread
 * workers answer on. Worker pools have a namespace of their own, apart from connection pools: the surfaces list them
 * apart, and a worker pool's events are worker-* events, so a shared name is never ambiguous.
 */
export class WorkerPoolRegistry {
  readonly #trackers = new Map<string, WorkerPoolTracker>();
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #onError: (error: unknown) => void;
  readonly #heap: WorkerHeapChannel;
  readonly #historyCapacity: number;

  constructor(ctx: {
    readonly clock: Clock;
    readonly bus: EventBus;
    readonly onError: (error: unknown) => void;
    /** History samples kept per pool (1 when history is off). */
    readonly historyCapacity: number;
  }) {
    this.#clock = ctx.clock;
    this.#bus = ctx.bus;
    this.#onError = ctx.onError;
    this.#historyCapacity = ctx.historyCapacity;
    this.#heap = new WorkerHeapChannel(ctx.onError);
  }

  /** Registers a worker pool; throws on an invalid or duplicate name. */
  register(adapter: WorkerPoolAdapter, options: WorkerPoolTrackingOptions): WorkerPoolTracker {
    const resolved = resolveWorkerPoolTrackingOptions(options);
    if (this.#trackers.has(resolved.name)) throw duplicatePoolNameError('worker pool', resolved.name, 'untrackWorkerPool');
    const tracker = new WorkerPoolTracker(adapter, resolved, {
      clock: this.#clock,
      bus: this.#bus,
      onError: this.#onError,
      heap: this.#heap,
      historyCapacity: this.#historyCapacity,
    });
    this.#trackers.set(resolved.name, tracker);
    if (this.#bus.wants('worker-pool-tracked')) {
      this.#bus.emit({ type: 'worker-pool-tracked', poolName: resolved.name, driver: adapter.driver, profile: adapter.profile });
    }
    return tracker;
  }

  /** The read-only view of a worker pool, or undefined. */
  view(name: string): WorkerPoolView | undefined {
    return this.#trackers.get(name)?.view;
  }

  /** Names of the tracked worker pools, in tracking order. */
  names(): string[] {
    return [...this.#trackers.keys()];
  }

  /** Stops tracking a worker pool and removes poolscope's wrappers from it (the pool keeps working). */
  untrack(name: string): void {
    const tracker = this.#trackers.get(name);
    if (tracker === undefined) throw poolNotTrackedError('worker pool', name, this.names());
    this.#trackers.delete(name);
    tracker.close();
    this.#untracked(name);
  }

  /** Records a history sample of every worker pool (the inspector's history timer). Never throws. */
  sampleHistory(): void {
    for (const tracker of this.#trackers.values()) tracker.sampleHistory();
  }

  /** Untracks every worker pool and closes the heap channel. */
  close(): void {
    const names = this.names();
    for (const tracker of this.#trackers.values()) tracker.close();
    this.#trackers.clear();
    this.#heap.close();
    for (const name of names) this.#untracked(name);
  }

  #untracked(name: string): void {
    if (this.#bus.wants('worker-pool-untracked')) this.#bus.emit({ type: 'worker-pool-untracked', poolName: name });
  }
}
