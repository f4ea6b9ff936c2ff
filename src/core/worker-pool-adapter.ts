/**
 * What the core needs from a worker pool library (Piscina, workerpool): the contract a worker pool adapter
 * (src/adapters/<library>/) fulfils. It lives in core, like PoolAdapter, so imports keep flowing one way.
 *
 * Seed 002's two profiles: `process` (a child process per worker, one task at a time, full isolation) and `thread`
 * (worker threads in this process; a worker may run several tasks at once).
 */

/** How a pool's workers run. */
export const WORKER_PROFILES = ['thread', 'process'] as const;
export type WorkerProfile = (typeof WORKER_PROFILES)[number];

/**
 * Where a worker stands:
 * - `starting`: created, not ready for tasks yet;
 * - `available`: running fewer tasks than its capacity (idle included);
 * - `busy`: at its capacity (the pool gives it no more tasks);
 * - `exited`: gone (kept a while in snapshots, see WorkerSnapshot.exitedAt);
 * - `unknown`: the library does not say how many tasks it runs (a Piscina worker started before tracking).
 */
export const WORKER_STATUSES = ['starting', 'available', 'busy', 'exited', 'unknown'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

/** One live worker as the library sees it now. */
export interface WorkerReading {
  /** The library's object for this worker (identity only; never read by the core, never serialised). */
  readonly key: object;
  /** The worker thread's id (thread profile), else null. */
  readonly threadId: number | null;
  /** The child process's pid (process profile), else null. */
  readonly pid: number | null;
  /**
   * Tasks running on it now, as the library counts them; null when the library does not say. A task that holds the
   * worker exclusively (Piscina's abortable tasks) counts as the worker's whole capacity.
   */
  readonly load: number | null;
  /** False while the worker is starting (not ready for tasks). */
  readonly ready: boolean;
}

/** An allowlist of the pool's settings (never env, argv, workerData or fork options). Absent fields are not set. */
export type WorkerPoolConfigSnapshot = Readonly<Record<string, string | number | boolean | null>>;

export interface WorkerPoolAdapter {
  /** The library's name: `piscina`, `workerpool`. */
  readonly driver: string;
  readonly profile: WorkerProfile;
  /** Tasks one worker runs at once (Piscina's concurrentTasksPerWorker; 1 for workerpool). */
  tasksPerWorker(): number;
  /** The most and the fewest workers the pool keeps. */
  maxWorkers(): number;
  minWorkers(): number;
  /** Tasks waiting for a worker. */
  queueSize(): number;
  /** The most tasks the queue holds before the pool rejects new ones; null when unbounded. */
  queueLimit(): number | null;
  /** The live workers now (not the exited ones). */
  workers(): readonly WorkerReading[];
  config(): WorkerPoolConfigSnapshot;
  /**
   * Why a thread worker may not answer poolscope/worker's memory requests in this pool, if the library's settings
   * explain it (Piscina's default `atomics: 'sync'` parks idle workers in Atomics.wait), else null.
   */
  threadMemoryHint?(): string | null;
  /** Removes every wrapper and listener the adapter installed. Idempotent. */
  detach(): void;
}
