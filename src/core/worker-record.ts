import type { WorkerProfile, WorkerReading } from './worker-pool-adapter.js';
import { WorkerMemory } from './worker-memory.js';
import type { WorkerPoolCounters } from './worker-pool-stats.js';

/** The bookkeeping records of a worker pool tracker: one per worker, one per task, and the counters. Internal to core. */

/** One worker, from the first time the tracker sees it until it is dropped from the exited list. */
export class WorkerRecord {
  readonly id: number;
  readonly key: object;
  threadId: number | null;
  pid: number | null;
  /** When the tracker first saw it (monotonic ms). */
  readonly seenAt: number;
  /** When it started (monotonic ms); undefined for a worker that was there before tracking. */
  startedAt: number | undefined;
  /** The latest reading's load (null: the library does not say) and readiness. */
  load: number | null = 0;
  ready = true;
  exitedAt: number | undefined;
  exitCode: number | null = null;
  exitSignal: string | null = null;
  crashed = false;
  /** True once a worker-exited event was emitted for it (an exit is reported once). */
  exitReported = false;
  lastError: string | null = null;
  readonly memory: WorkerMemory;
  /** When its heap was first asked for (thread workers), to tell "no answer yet" from "no helper". */
  heapAskedAt: number | undefined;
  /** Tasks the adapter said started on it and not finished (adapters that know the worker of a task). */
  running = 0;
  /** At full capacity at the last check, and when worker-capacity-reached was last emitted for it. */
  atCapacity = false;
  lastCapacityEventAt = Number.NEGATIVE_INFINITY;

  constructor(id: number, profile: WorkerProfile, reading: Pick<WorkerReading, 'key' | 'threadId' | 'pid'>, seenAt: number) {
    this.id = id;
    this.key = reading.key;
    this.threadId = reading.threadId;
    this.pid = reading.pid;
    this.seenAt = seenAt;
    this.memory = new WorkerMemory(profile === 'thread' ? 'v8-heap-used' : 'rss');
  }

  get exited(): boolean {
    return this.exitedAt !== undefined;
  }

  /** "worker 3 (thread 12)", "worker 2 (pid 4242)": how messages name it. */
  describe(): string {
    const where = this.threadId !== null ? ` (thread ${this.threadId})` : this.pid !== null ? ` (pid ${this.pid})` : '';
    return `worker ${this.id}${where}`;
  }
}

/** One task from `run()`/`exec()` to its result. */
export class WorkerTask {
  readonly queuedAt: number;
  /** Monotonic ms of its start on a worker; 0 until then. */
  startedAt = 0;
  worker: WorkerRecord | undefined;
  settled = false;

  constructor(queuedAt: number) {
    this.queuedAt = queuedAt;
  }
}

/** The counters, mutable here; readers get a copy as WorkerPoolCounters. */
export class MutableWorkerCounters implements WorkerPoolCounters {
  tasksQueued = 0;
  tasksStarted = 0;
  tasksCompleted = 0;
  tasksFailed = 0;
  tasksRejected = 0;
  workersStarted = 0;
  workersExited = 0;
  workersCrashed = 0;
  workerErrors = 0;
}
