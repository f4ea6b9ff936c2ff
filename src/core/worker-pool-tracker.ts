import type { WorkerPoolAdapter, WorkerReading } from './worker-pool-adapter.js';
import type { ResolvedWorkerPoolTrackingOptions } from './worker-pool-options.js';
import type { WorkerPoolContext } from './worker-pool-state.js';
import { WorkerPoolState } from './worker-pool-state.js';
import { WorkerPoolView } from './worker-pool-view.js';
import { WorkerTask } from './worker-record.js';
import { workerPoolHistorySample } from './worker-pool-readings.js';
import type { WorkerRecord } from './worker-record.js';

export { WorkerTask } from './worker-record.js';
export type { WorkerPoolContext } from './worker-pool-state.js';

/** How a worker ended, as the adapter saw it. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** True when the pool asked for it (idle timeout, close, terminate, an aborted task); false for a crash. */
  readonly expected: boolean;
}

/**
 * The writer of one worker pool's bookkeeping: the adapter that registered the pool calls the `task*` and `worker*`
 * methods from its wrappers and listeners. Everything else reads the pool through `view` (a WorkerPoolView, which
 * the tracker also is). Per task: one small record, two clock reads, two histogram records; events only when wanted.
 */
export class WorkerPoolTracker extends WorkerPoolView {
  /** The read-only view of this pool, for everyone but the adapter. */
  readonly view: WorkerPoolView;
  #memoryTimer: NodeJS.Timeout | undefined;

  constructor(adapter: WorkerPoolAdapter, options: ResolvedWorkerPoolTrackingOptions, ctx: WorkerPoolContext) {
    const state = new WorkerPoolState(adapter, options, ctx);
    super(state);
    this.view = new WorkerPoolView(state);
    if (options.memorySampleIntervalMillis > 0) {
      this.#memoryTimer = setInterval(() => this.#sampleInBackground(), options.memorySampleIntervalMillis);
      this.#memoryTimer.unref();
    }
  }

  /** The tracker's clock (monotonic ms). */
  now(): number {
    return this.state.clock.now();
  }

  // ---- tasks: called by adapters ---------------------------------------------------------------------------------

  /** A task was handed to the pool (`run()`, `exec()`). */
  taskQueued(): WorkerTask {
    const s = this.state;
    s.counters.tasksQueued += 1;
    return new WorkerTask(s.clock.now());
  }

  /** `task` started on a worker (`worker`: the library's object for it, when the library says which). */
  taskStarted(task: WorkerTask, worker?: object, now: number = this.state.clock.now()): void {
    if (task.startedAt !== 0 || task.settled) return;
    const s = this.state;
    task.startedAt = now;
    s.counters.tasksStarted += 1;
    s.running += 1;
    s.waitTime.record(now - task.queuedAt);
    if (s.durationListeners.length > 0) s.notifyDuration('wait_time', now - task.queuedAt);
    // A worker not seen yet (one that was there before tracking) is met through a reading of the pool, once.
    const record = worker === undefined ? undefined : (s.recordOf(worker) ?? (s.syncWorkers(now), s.recordOf(worker)));
    if (record === undefined) {
      this.checkCapacity();
      return;
    }
    // The worker is known: its own count says whether it is full, without reading every worker.
    task.worker = record;
    record.running += 1;
    if (s.bus.wants('worker-capacity-reached')) this.#capacityEdge(record, record.running, s.adapter.tasksPerWorker(), now);
  }

  /** `task` settled: with a result (`ok`) or an error (thrown by the task, the worker died, aborted, pool closed). */
  taskFinished(task: WorkerTask, ok: boolean): void {
    if (task.settled) return;
    task.settled = true;
    const s = this.state;
    const now = s.clock.now();
    const started = task.startedAt !== 0;
    if (started) {
      s.running -= 1;
      s.runTime.record(now - task.startedAt);
      if (s.durationListeners.length > 0) s.notifyDuration('run_time', now - task.startedAt);
      const record = task.worker;
      if (record !== undefined) {
        record.running -= 1;
        record.atCapacity = false;
      }
    }
    if (ok) s.counters.tasksCompleted += 1;
    else s.counters.tasksFailed += 1;
    if (s.taskTopic.wanted) {
      s.bus.emit({
        type: 'worker-task-executed',
        poolName: s.name,
        workerId: task.worker?.id ?? null,
        durationMillis: started ? now - task.startedAt : 0,
        waitMillis: (started ? task.startedAt : now) - task.queuedAt,
        ok,
      });
    }
  }

  /** The pool refused `task`: its queue was at its limit. The caller gets the library's own error. */
  taskRejected(task: WorkerTask): void {
    if (task.settled) return;
    task.settled = true;
    const s = this.state;
    s.counters.tasksRejected += 1;
    s.rejectedSinceEvent += 1;
    if (!s.bus.wants('worker-pool-saturated')) return;
    const now = s.clock.now();
    if (now - s.lastSaturatedEventAt < s.options.saturationCooldownMillis) return;
    s.lastSaturatedEventAt = now;
    const rejected = s.rejectedSinceEvent;
    s.rejectedSinceEvent = 0;
    const adapter = s.adapter;
    const capacity = adapter.tasksPerWorker();
    let busy = 0;
    let available = 0;
    for (const reading of s.syncWorkers(now)) {
      if (!reading.ready || reading.load === null) continue;
      if (reading.load >= capacity) busy += 1;
      else available += 1;
    }
    const queueSize = adapter.queueSize();
    const queueLimit = adapter.queueLimit() ?? queueSize;
    s.bus.emit({
      type: 'worker-pool-saturated',
      poolName: s.name,
      queueSize,
      queueLimit,
      busyWorkers: busy,
      availableWorkers: available,
      rejectedTasks: rejected,
      message:
        `Worker pool "${s.name}" refused ${rejected} task${rejected === 1 ? '' : 's'}: its queue is at its limit ` +
        `(${queueSize}/${queueLimit}), ${busy} worker${busy === 1 ? '' : 's'} busy, ${available} available. ` +
        'Add workers, raise the queue limit, or slow the producers down.',
    });
  }

  // ---- workers: called by adapters -------------------------------------------------------------------------------

  /**
   * The pool started a worker (after tracking). A worker a read met first, while it was starting, started when it
   * was first seen.
   */
  workerStarted(worker: Pick<WorkerReading, 'key' | 'threadId' | 'pid'>): void {
    const s = this.state;
    const record = s.ensureRecord(worker, s.clock.now());
    if (record.startedAt !== undefined) return;
    record.startedAt = record.seenAt;
    s.counters.workersStarted += 1;
  }

  /** A worker emitted `'error'` (an uncaught exception in a thread, a failed spawn). */
  workerErrored(worker: Pick<WorkerReading, 'key' | 'threadId' | 'pid'>, message: string): void {
    const s = this.state;
    s.counters.workerErrors += 1;
    s.ensureRecord(worker, s.clock.now()).lastError = message;
  }

  /** A worker exited; an exit the pool did not ask for is reported once as `worker-exited`. */
  workerExited(worker: Pick<WorkerReading, 'key' | 'threadId' | 'pid'>, exit: WorkerExit): void {
    const s = this.state;
    const now = s.clock.now();
    const record = s.ensureRecord(worker, now);
    s.markExited(record, now);
    if (record.exitCode === null) record.exitCode = exit.code;
    if (record.exitSignal === null) record.exitSignal = exit.signal;
    if (exit.expected || record.exitReported) return;
    record.exitReported = true;
    record.crashed = true;
    s.counters.workersCrashed += 1;
    if (s.bus.wants('worker-exited')) this.#emitExited(record);
  }

  /**
   * Emits `worker-capacity-reached` for each worker that has filled up since the last check (only when someone
   * listens: it reads every worker's load). Adapters call it after a task started.
   */
  checkCapacity(): void {
    const s = this.state;
    if (!s.bus.wants('worker-capacity-reached')) return;
    const now = s.clock.now();
    const capacity = s.adapter.tasksPerWorker();
    for (const reading of s.syncWorkers(now)) {
      const record = s.recordOf(reading.key);
      if (record !== undefined) this.#capacityEdge(record, reading.load, capacity, now);
    }
  }

  /**
   * Records one history sample (the inspector's history timer runs this): the workers' loads, capacity, queue, the
   * tasks since the previous sample and their percentiles, the latest memory readings (never asks for new ones).
   * Never throws: a failure goes to onError.
   */
  sampleHistory(): void {
    const s = this.state;
    if (s.closed) return;
    try {
      s.history.record(workerPoolHistorySample(s, s.clock.now()), s.runTime, s.waitTime);
    } catch (error) {
      s.ctx.onError(error);
    }
  }

  /** Hands an error raised inside an adapter's own bookkeeping to the inspector's onError. */
  reportInternalError(error: unknown): void {
    this.state.ctx.onError(error);
  }

  /** Stops the memory timer, detaches the adapter's wrappers and listeners. Idempotent. */
  close(): void {
    const s = this.state;
    if (s.closed) return;
    if (this.#memoryTimer !== undefined) clearInterval(this.#memoryTimer);
    this.#memoryTimer = undefined;
    s.close();
    try {
      s.adapter.detach();
    } catch (error) {
      s.ctx.onError(error);
    }
  }

  /** Emits worker-capacity-reached when `record` has just filled up (and its cooldown has passed). */
  #capacityEdge(record: WorkerRecord, load: number | null, capacity: number, now: number): void {
    const s = this.state;
    if (load === null || load < capacity) {
      record.atCapacity = false;
      return;
    }
    if (record.atCapacity) return;
    record.atCapacity = true;
    if (now - record.lastCapacityEventAt < s.options.saturationCooldownMillis) return;
    record.lastCapacityEventAt = now;
    s.bus.emit({
      type: 'worker-capacity-reached',
      poolName: s.name,
      workerId: record.id,
      threadId: record.threadId,
      pid: record.pid,
      profile: s.adapter.profile,
      capacity,
      load,
      message: `Worker pool "${s.name}": ${record.describe()} is at its full capacity (${load}/${capacity} tasks).`,
    });
  }

  #emitExited(record: WorkerRecord): void {
    const s = this.state;
    const how = record.exitSignal !== null ? `signal ${record.exitSignal}` : `exit code ${String(record.exitCode)}`;
    s.bus.emit({
      type: 'worker-exited',
      poolName: s.name,
      workerId: record.id,
      threadId: record.threadId,
      pid: record.pid,
      profile: s.adapter.profile,
      exitCode: record.exitCode,
      signal: record.exitSignal,
      error: record.lastError,
      message:
        `Worker pool "${s.name}": ${record.describe()} exited without the pool asking (${how}` +
        `${record.lastError === null ? '' : `: ${record.lastError}`}); the tasks it was running failed.`,
    });
  }

  #sampleInBackground(): void {
    const s = this.state;
    try {
      const now = s.clock.now();
      s.syncWorkers(now);
      s.sampleMemory(now, true);
    } catch (error) {
      s.ctx.onError(error);
    }
  }
}
