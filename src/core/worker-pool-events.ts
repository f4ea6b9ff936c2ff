import type { WorkerProfile } from './worker-pool-adapter.js';

/**
 * The events of worker pools (seed 002's, in Node form). Members of the PoolscopeEvent union (pool-events.ts), which
 * lists their diagnostics_channel names; `poolName` is the worker pool's name.
 */

/**
 * The pool refused a task because its queue was at its limit (Piscina's maxQueue, workerpool's maxQueueSize).
 * At most once per `saturationCooldownMillis`; `rejectedTasks` counts the refusals since the previous event.
 */
export interface WorkerPoolSaturatedEvent {
  readonly type: 'worker-pool-saturated';
  readonly poolName: string;
  readonly queueSize: number;
  readonly queueLimit: number;
  readonly busyWorkers: number;
  readonly availableWorkers: number;
  /** Tasks refused since the previous event of this pool (this one included). */
  readonly rejectedTasks: number;
  readonly message: string;
}

/**
 * A worker reached its full task capacity (load = tasks per worker): it takes no more tasks until one finishes.
 * Once per time it fills up, at most once per worker per `saturationCooldownMillis`.
 */
export interface WorkerCapacityReachedEvent {
  readonly type: 'worker-capacity-reached';
  readonly poolName: string;
  readonly workerId: number;
  readonly threadId: number | null;
  readonly pid: number | null;
  readonly profile: WorkerProfile;
  readonly capacity: number;
  readonly load: number;
  readonly message: string;
}

/** A task settled (not for tasks refused by a full queue: see worker-pool-saturated). Built only when someone listens. */
export interface WorkerTaskExecutedEvent {
  readonly type: 'worker-task-executed';
  readonly poolName: string;
  /** The worker that ran it; null when the library does not say (Piscina) or it never started. */
  readonly workerId: number | null;
  /** Run time: from its start on a worker to its result; 0 when it never started. */
  readonly durationMillis: number;
  /** From `run()`/`exec()` to its start (to its end when it never started). */
  readonly waitMillis: number;
  /** True when it gave a result, false when it settled with an error. */
  readonly ok: boolean;
}

/** A worker pool was registered (`trackPiscina`, `trackWorkerpool`): exporters start reporting it. */
export interface WorkerPoolTrackedEvent {
  readonly type: 'worker-pool-tracked';
  readonly poolName: string;
  readonly driver: string;
  readonly profile: WorkerProfile;
}

/** A worker pool was untracked (`untrackWorkerPool`, or the inspector closed); its metrics disappear. */
export interface WorkerPoolUntrackedEvent {
  readonly type: 'worker-pool-untracked';
  readonly poolName: string;
}

/** A worker exited without the pool asking: a crash, an uncaught error, `process.exit()` inside a task. */
export interface WorkerExitedEvent {
  readonly type: 'worker-exited';
  readonly poolName: string;
  readonly workerId: number;
  readonly threadId: number | null;
  readonly pid: number | null;
  readonly profile: WorkerProfile;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The worker's last `'error'` (message), if it emitted one. */
  readonly error: string | null;
  readonly message: string;
}
