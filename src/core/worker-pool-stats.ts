import type { DistributionSnapshot } from './histogram.js';
import type { WorkerPoolConfigSnapshot, WorkerProfile, WorkerStatus } from './worker-pool-adapter.js';
import type { WorkerPoolLevel } from './worker-pool-level.js';

/** What a worker pool view reports: every type here is JSON-serialisable. Durations in milliseconds. */

/** Cumulative counters of one worker pool since it was tracked. */
export interface WorkerPoolCounters {
  /** Tasks handed to the pool (`run()`, `exec()`), rejected ones included. */
  readonly tasksQueued: number;
  /** Tasks that started on a worker. */
  readonly tasksStarted: number;
  /** Tasks that finished with a result. */
  readonly tasksCompleted: number;
  /** Tasks that settled with an error (thrown by the task, worker crash, abort, pool closed), rejections excluded. */
  readonly tasksFailed: number;
  /** Tasks the pool refused because its queue was at its limit. */
  readonly tasksRejected: number;
  /** Workers the pool started since tracking. */
  readonly workersStarted: number;
  /** Workers that exited, for any reason. */
  readonly workersExited: number;
  /** Of those, exits the pool did not ask for (a crash, `process.exit()` in a task, an uncaught error). */
  readonly workersCrashed: number;
  /** `'error'` events of the workers (an uncaught exception in a thread, a failed spawn). */
  readonly workerErrors: number;
}

/** Memory across the live workers that have a reading (seed 002's memory stats). Null fields: no worker has one. */
export interface WorkerPoolMemorySummary {
  /** Live workers with a memory reading. */
  readonly sampledWorkers: number;
  readonly totalMb: number | null;
  readonly averageMb: number | null;
  readonly minMb: number | null;
  readonly maxMb: number | null;
}

/** A point-in-time view of one worker pool. */
export interface WorkerPoolStats {
  readonly poolName: string;
  /** The library: `piscina`, `workerpool`. */
  readonly driver: string;
  /** ISO-8601 time of the reading. */
  readonly timestamp: string;
  readonly profile: WorkerProfile;
  /** Live workers (starting ones included). */
  readonly workers: number;
  readonly busyWorkers: number;
  readonly availableWorkers: number;
  readonly startingWorkers: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Tasks one worker runs at once. */
  readonly tasksPerWorker: number;
  /**
   * Tasks the pool can run at once: maxWorkers x tasksPerWorker. (The pool's maximum, not its live workers: a pool
   * that starts workers on demand is not full while it can still start one.)
   */
  readonly capacity: number;
  /** Tasks running now. */
  readonly capacityUsed: number;
  readonly capacityAvailable: number;
  /** capacityUsed / capacity, percent with one decimal. */
  readonly utilizationPercent: number;
  readonly level: WorkerPoolLevel;
  /** Tasks running per live worker (seed 002's "average load per worker"); null without live workers. */
  readonly averageLoadPerWorker: number | null;
  /** Tasks waiting for a worker. */
  readonly queueSize: number;
  /** The queue's limit; null when unbounded. */
  readonly queueLimit: number | null;
  readonly counters: WorkerPoolCounters;
  /** Time since the pool was tracked: the span of `counters`, `runTime` and `waitTime`. */
  readonly trackedForMillis: number;
  /** From the start of a task on a worker to its result. */
  readonly runTime: DistributionSnapshot;
  /** From `run()`/`exec()` to the start on a worker. */
  readonly waitTime: DistributionSnapshot;
  readonly memory: WorkerPoolMemorySummary;
}

/** How a worker's memory reading stands. */
export const WORKER_MEMORY_STATUSES = ['sampled', 'pending', 'not-available'] as const;
export type WorkerMemoryStatus = (typeof WORKER_MEMORY_STATUSES)[number];

/**
 * What `memoryMb` measures: a thread's own V8 heap in use (`v8.getHeapStatistics().used_heap_size`, read inside the
 * thread by poolscope/worker), or a child process's resident set size (VmRSS of /proc/<pid>/status).
 */
export const WORKER_MEMORY_SOURCES = ['v8-heap-used', 'rss'] as const;
export type WorkerMemorySource = (typeof WORKER_MEMORY_SOURCES)[number];

/** A worker's memory over the samples kept (the last 32): growth across samples is a leak's signature. */
export interface WorkerMemoryTrend {
  readonly samples: number;
  readonly firstMb: number;
  readonly lastMb: number;
  readonly minMb: number;
  readonly maxMb: number;
  /** lastMb - firstMb. */
  readonly growthMb: number;
  /** Time from the first sample kept to the last. */
  readonly spanMillis: number;
}

/** One worker at one moment. */
export interface WorkerSnapshot {
  /** poolscope's id of the worker, unique in its pool (1, 2, ...; never reused). */
  readonly id: number;
  readonly threadId: number | null;
  readonly pid: number | null;
  readonly profile: WorkerProfile;
  /** Tasks it runs at once. */
  readonly capacity: number;
  /** Tasks running on it now; null when the library does not say (status `unknown`) or it has exited. */
  readonly load: number | null;
  readonly status: WorkerStatus;
  /** When it started; null when it started before tracking. */
  readonly startedAt: string | null;
  readonly exitedAt: string | null;
  readonly exitCode: number | null;
  /** The signal that ended a child process. */
  readonly exitSignal: string | null;
  /** True when it exited without the pool asking (a crash). */
  readonly crashed: boolean;
  /** The last `'error'` the worker emitted (its message), if any. */
  readonly lastError: string | null;
  /** The latest memory reading in MB; null when there is none (never 0 for unknown): see memoryStatus and memoryNote. */
  readonly memoryMb: number | null;
  readonly memoryStatus: WorkerMemoryStatus;
  readonly memorySource: WorkerMemorySource | null;
  readonly memorySampledAt: string | null;
  /** Why there is no reading (`not-available`, `pending`), else null. */
  readonly memoryNote: string | null;
  /** Null with fewer than two samples. */
  readonly memoryTrend: WorkerMemoryTrend | null;
}

/** Everything about one worker pool at one moment. */
export interface WorkerPoolSnapshot {
  readonly poolName: string;
  readonly takenAt: string;
  readonly stats: WorkerPoolStats;
  readonly config: WorkerPoolConfigSnapshot;
  /** Live workers by id, then the most recently exited ones (newest first, at most 16). */
  readonly workers: readonly WorkerSnapshot[];
}
