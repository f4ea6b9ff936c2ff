import type { WorkerPoolAdapter, WorkerPoolConfigSnapshot, WorkerReading } from '../../core/worker-pool-adapter.js';
import type { WorkerPoolTracker, WorkerTask } from '../../core/worker-pool-tracker.js';
import { replaceOwnMethod } from '../worker-pool/own-method.js';
import { followTask } from '../worker-pool/task-settlement.js';
import { isWorkerEmitter, watchWorkerExit } from '../worker-pool/worker-exit-watch.js';
import type { PiscinaInternal, PiscinaThread, PiscinaWorkerInterface } from './piscina-types.js';

/** Marks poolscope's `run` wrapper (Symbol.for: seen by every copy of poolscope in the process). */
export const PISCINA_WRAPPED = Symbol.for('poolscope.piscina.wrapped');

/** The messages of Piscina's queue-full rejections (piscina's dist/errors.js: TaskQueueAtLimit, NoTaskQueueAvailable). */
export const PISCINA_QUEUE_FULL_MESSAGES: readonly string[] = ['Task queue is at limit', 'No task queue available and all Workers are busy'];

/** Piscina's `atomics` when the pool's options do not set it. */
const DEFAULT_ATOMICS = 'sync';

/**
 * A Piscina pool seen through the WorkerPoolAdapter contract, and the wrapper of its `run` (an own property of the
 * instance). Piscina does not say when a queued task starts or on which worker: a task counts as started when
 * Piscina's `queueSize` holds fewer tasks than poolscope has seen waiting, oldest first (Piscina's queue is FIFO
 * unless a custom taskQueue says otherwise). poolscope looks at every `run()`, every settled task and every new
 * worker, which is when Piscina hands out queued tasks. `queueSize` is read at once, unlike the tasks' results,
 * which reach poolscope a microtask later; it leaves out tasks waiting for a worker that is starting, so those
 * count as started while their worker starts (only while Piscina grows the pool or replaces a worker).
 */
export class PiscinaAdapter implements WorkerPoolAdapter {
  readonly driver = 'piscina';
  readonly profile = 'thread' as const;
  readonly #pool: PiscinaInternal;
  #tracker: WorkerPoolTracker | undefined;
  readonly #undo: (() => void)[] = [];
  /** 'workerCreate' interfaces by thread id (their currentUsage is live). */
  readonly #interfaces = new Map<number, PiscinaWorkerInterface>();
  /** The Worker objects watched for their exit, and the thread ids Piscina destroyed itself. */
  readonly #watched = new Map<object, () => void>();
  readonly #destroyRequested = new Set<number>();
  /** Workers already running when tracking began (their load is unknown until Piscina says). */
  readonly #preexisting = new WeakSet<object>();
  /** Tasks queued by poolscope and not seen starting yet, oldest first from #head. */
  #fifo: WorkerTask[] = [];
  #head = 0;
  #waiting = 0;
  #detached = false;
  /** #observe for queueMicrotask, made once. */
  readonly #observeLater = (): void => {
    try {
      this.#observe();
    } catch (error) {
      this.#tracker?.reportInternalError(error);
    }
  };

  constructor(pool: PiscinaInternal) {
    this.#pool = pool;
  }

  attach(tracker: WorkerPoolTracker): void {
    this.#tracker = tracker;
    const pool = this.#pool;
    for (const thread of pool.threads) {
      this.#preexisting.add(thread);
      this.#watch(thread);
    }
    const onCreate = (worker: PiscinaWorkerInterface): void => this.#guard(() => this.#workerCreated(worker));
    const onDestroy = (worker: PiscinaWorkerInterface): void => this.#guard(() => this.#workerDestroyed(worker));
    pool.on('workerCreate', onCreate as (...args: unknown[]) => void);
    pool.on('workerDestroy', onDestroy as (...args: unknown[]) => void);
    this.#undo.push(() => {
      pool.off('workerCreate', onCreate as (...args: unknown[]) => void);
      pool.off('workerDestroy', onDestroy as (...args: unknown[]) => void);
    });
    const original = pool.run;
    const through = (thisArg: unknown, task: unknown, options: unknown): Promise<unknown> => this.#run(thisArg, original, task, options);
    const run = function run(this: unknown, task: unknown, options?: unknown): Promise<unknown> {
      return through(this, task, options);
    };
    Object.defineProperty(run, PISCINA_WRAPPED, { value: true });
    this.#undo.push(replaceOwnMethod(pool as unknown as Record<'run', unknown>, 'run', run));
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    for (const undo of this.#undo.splice(0)) undo();
    for (const stop of this.#watched.values()) stop();
    this.#watched.clear();
    this.#fifo = [];
    this.#head = 0;
  }

  // ---- WorkerPoolAdapter -------------------------------------------------------------------------------------------

  tasksPerWorker(): number {
    const value = this.#pool.options.concurrentTasksPerWorker;
    return typeof value === 'number' && value >= 1 ? value : 1;
  }

  maxWorkers(): number {
    return this.#pool.maxThreads;
  }

  minWorkers(): number {
    return this.#pool.minThreads;
  }

  queueSize(): number {
    return this.#pool.queueSize;
  }

  queueLimit(): number | null {
    const limit = this.#pool.options.maxQueue;
    return typeof limit === 'number' && Number.isFinite(limit) ? limit : null;
  }

  workers(): readonly WorkerReading[] {
    const capacity = this.tasksPerWorker();
    const readings: WorkerReading[] = [];
    for (const thread of this.#pool.threads) {
      if (!this.#watched.has(thread)) this.#watch(thread);
      const worker = this.#interfaces.get(thread.threadId);
      if (worker !== undefined) {
        const usage = worker.currentUsage;
        readings.push({ key: thread, threadId: thread.threadId, pid: null, load: Number.isFinite(usage) ? usage : capacity, ready: true });
      } else if (this.#preexisting.has(thread)) {
        readings.push({ key: thread, threadId: thread.threadId, pid: null, load: null, ready: true });
      } else {
        // Piscina announces a worker ('workerCreate') when it is ready for tasks: until then it is starting.
        readings.push({ key: thread, threadId: thread.threadId, pid: null, load: 0, ready: false });
      }
    }
    return readings;
  }

  config(): WorkerPoolConfigSnapshot {
    const options = this.#pool.options;
    const config: Record<string, string | number | boolean | null> = {};
    for (const key of ['minThreads', 'maxThreads', 'maxQueue', 'concurrentTasksPerWorker', 'idleTimeout', 'niceIncrement', 'closeTimeout'] as const) {
      const value = options[key];
      if (typeof value === 'number') config[key] = Number.isFinite(value) ? value : null;
    }
    for (const key of ['atomics'] as const) if (typeof options[key] === 'string') config[key] = options[key] as string;
    for (const key of ['recordTiming', 'stricterFIFO'] as const) if (typeof options[key] === 'boolean') config[key] = options[key] as boolean;
    return config;
  }

  threadMemoryHint(): string | null {
    const atomics = this.#pool.options.atomics ?? DEFAULT_ATOMICS;
    if (atomics !== 'sync') return null;
    return (
      "Piscina's atomics: 'sync' (its default) parks an idle worker in Atomics.wait, where it cannot answer; " +
      "set atomics: 'async' in the pool's options so that it answers between tasks"
    );
  }

  // ---- the run() wrapper -------------------------------------------------------------------------------------------

  #run(thisArg: unknown, original: PiscinaInternal['run'], task: unknown, options: unknown): Promise<unknown> {
    const tracker = this.#tracker;
    if (this.#detached || tracker === undefined) return original.call(thisArg, task, options);
    let record: WorkerTask | undefined;
    try {
      record = tracker.taskQueued();
      this.#fifo.push(record);
      this.#waiting += 1;
    } catch (error) {
      tracker.reportInternalError(error);
    }
    let promise: Promise<unknown>;
    try {
      promise = original.call(thisArg, task, options);
    } catch (error) {
      if (record !== undefined) this.#settled(record, false, undefined);
      throw error;
    }
    if (record === undefined) return promise;
    if (promise === null || typeof promise !== 'object' || typeof (promise as { then?: unknown }).then !== 'function') {
      this.#settled(record, true, undefined);
      return promise;
    }
    const followed = record;
    const result = followTask(promise, (ok, error) => this.#settled(followed, ok, error));
    // Look a microtask later: a task Piscina refused or rejected at once (full queue, aborted signal, bad arguments)
    // has settled by then, so it is not taken for a queued task that started.
    queueMicrotask(this.#observeLater);
    return result;
  }

  #settled(task: WorkerTask, ok: boolean, error: unknown): void {
    this.#guard(() => {
      const tracker = this.#tracker;
      if (tracker === undefined || task.settled) return;
      // A task still not seen starting never ran (refused, aborted while queued, rejected at once, pool closed):
      // Piscina hands out a queued task before it settles the one that made room, and poolscope looks then.
      if (task.startedAt === 0) {
        this.#waiting -= 1;
        if (!ok && isQueueFull(error)) {
          tracker.taskRejected(task);
          return;
        }
      }
      tracker.taskFinished(task, ok);
      this.#observe();
    });
  }

  /** Marks as started the oldest tasks poolscope saw waiting that Piscina's queue no longer holds. */
  #observe(): void {
    const tracker = this.#tracker;
    if (tracker === undefined || this.#detached || this.#waiting === 0) return;
    let toStart = this.#waiting - this.#pool.queueSize;
    if (toStart <= 0) return;
    const now = tracker.now();
    const fifo = this.#fifo;
    while (toStart > 0 && this.#head < fifo.length) {
      const task = fifo[this.#head++] as WorkerTask;
      if (task.settled || task.startedAt !== 0) continue;
      this.#waiting -= 1;
      toStart -= 1;
      tracker.taskStarted(task, undefined, now);
    }
    if (this.#head > 1024 && this.#head * 2 > fifo.length) {
      this.#fifo = fifo.slice(this.#head);
      this.#head = 0;
    }
  }

  // ---- workers -----------------------------------------------------------------------------------------------------

  #workerCreated(worker: PiscinaWorkerInterface): void {
    this.#interfaces.set(worker.id, worker);
    const thread = this.#pool.threads.find((candidate) => candidate.threadId === worker.id);
    if (thread !== undefined) {
      if (!this.#watched.has(thread)) this.#watch(thread);
      if (!this.#preexisting.has(thread)) this.#tracker?.workerStarted({ key: thread, threadId: worker.id, pid: null });
    }
    // Piscina hands queued tasks to the new worker right after announcing it; its load is known from now on.
    queueMicrotask(() =>
      this.#guard(() => {
        this.#observe();
        this.#tracker?.checkCapacity();
      }),
    );
  }

  #workerDestroyed(worker: PiscinaWorkerInterface): void {
    this.#destroyRequested.add(worker.id);
    this.#interfaces.delete(worker.id);
  }

  #watch(thread: PiscinaThread): void {
    if (!isWorkerEmitter(thread)) return;
    const threadId = thread.threadId;
    const identity = { key: thread, threadId, pid: null };
    let errored = false;
    const stop = watchWorkerExit(thread, {
      onError: (message) => {
        errored = true;
        this.#tracker?.workerErrored(identity, message);
      },
      onExit: (code) => {
        this.#watched.delete(thread);
        // Piscina destroys a worker it no longer needs (idle timeout, abort, close) before it exits; a worker that
        // exits on its own, or after an uncaught error, crashed.
        const expected = this.#destroyRequested.delete(threadId) && !errored;
        this.#interfaces.delete(threadId);
        this.#tracker?.workerExited(identity, { code, signal: null, expected });
      },
      onInternalError: (error) => this.#tracker?.reportInternalError(error),
    });
    this.#watched.set(thread, stop);
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#tracker?.reportInternalError(error);
    }
  }
}

function isQueueFull(error: unknown): boolean {
  return error instanceof Error && PISCINA_QUEUE_FULL_MESSAGES.includes(error.message);
}

