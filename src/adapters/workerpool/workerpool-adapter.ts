import type { WorkerPoolAdapter, WorkerPoolConfigSnapshot, WorkerProfile, WorkerReading } from '../../core/worker-pool-adapter.js';
import type { WorkerPoolTracker, WorkerTask } from '../../core/worker-pool-tracker.js';
import { replaceOwnMethod } from '../worker-pool/own-method.js';
import { isWorkerEmitter, watchWorkerExit } from '../worker-pool/worker-exit-watch.js';
import type { WorkerpoolHandlerInternal, WorkerpoolPoolInternal, WorkerpoolPromiseLike } from './workerpool-types.js';

/** Marks poolscope's `exec` wrapper (Symbol.for: seen by every copy of poolscope in the process). */
export const WORKERPOOL_WRAPPED = Symbol.for('poolscope.workerpool.wrapped');

/** What poolscope keeps per worker handler: how to undo its `exec` wrapper and stop watching its exit. */
interface AdoptedHandler {
  readonly restoreExec: () => void;
  readonly stopWatch: () => void;
}

/**
 * A workerpool Pool seen through the WorkerPoolAdapter contract. Own properties of the instance only: the pool's
 * `exec` (each task queued, and refused when the queue is full), its `_createWorkerHandler` (each new worker), and
 * each worker handler's `exec` (the task's start, on that worker). workerpool runs one task per worker at a time.
 */
export class WorkerpoolAdapter implements WorkerPoolAdapter {
  readonly driver = 'workerpool';
  readonly profile: WorkerProfile;
  readonly #pool: WorkerpoolPoolInternal;
  #tracker: WorkerPoolTracker | undefined;
  readonly #undo: (() => void)[] = [];
  readonly #handlers = new Map<WorkerpoolHandlerInternal, AdoptedHandler>();
  /** Handlers whose worker exited (the pool drops them from its list soon after). */
  readonly #gone = new WeakSet<WorkerpoolHandlerInternal>();
  /** Tasks not settled yet, by the promise `exec()` returned (the resolver's promise a handler gets). */
  readonly #tasks = new Map<unknown, WorkerTask>();
  /** The task being submitted: the pool may start it on a worker before its `exec()` returns. */
  #submitting: WorkerTask | undefined;
  #detached = false;

  constructor(pool: WorkerpoolPoolInternal, profile: WorkerProfile) {
    this.#pool = pool;
    this.profile = profile;
  }

  attach(tracker: WorkerPoolTracker): void {
    this.#tracker = tracker;
    const pool = this.#pool;
    for (const handler of pool.workers) this.#adopt(handler, false);
    const create = pool._createWorkerHandler;
    if (typeof create === 'function') {
      const adopt = (handler: WorkerpoolHandlerInternal): void => this.#adopt(handler, true);
      const createWorkerHandler = function (this: unknown): WorkerpoolHandlerInternal {
        const handler = create.call(this);
        adopt(handler);
        return handler;
      };
      this.#undo.push(replaceOwnMethod(pool as unknown as Record<'_createWorkerHandler', unknown>, '_createWorkerHandler', createWorkerHandler));
    }
    const original = pool.exec;
    const through = (thisArg: unknown, method: unknown, params: unknown, options: unknown): unknown =>
      this.#exec(thisArg, original, method, params, options);
    // Pool#exec(method, params, options): an argument left out and one passed as undefined are the same to it.
    const exec = function exec(this: unknown, method: unknown, params?: unknown, options?: unknown): unknown {
      return through(this, method, params, options);
    };
    Object.defineProperty(exec, WORKERPOOL_WRAPPED, { value: true });
    this.#undo.push(replaceOwnMethod(pool as unknown as Record<'exec', unknown>, 'exec', exec));
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    for (const undo of this.#undo.splice(0)) undo();
    for (const adopted of this.#handlers.values()) {
      adopted.restoreExec();
      adopted.stopWatch();
    }
    this.#handlers.clear();
    this.#tasks.clear();
  }

  // ---- WorkerPoolAdapter -------------------------------------------------------------------------------------------

  tasksPerWorker(): number {
    return 1;
  }

  maxWorkers(): number {
    const max = this.#pool.maxWorkers;
    return typeof max === 'number' && max >= 1 ? max : 1;
  }

  minWorkers(): number {
    const min = this.#pool.minWorkers;
    return typeof min === 'number' && min >= 0 ? min : 0;
  }

  queueSize(): number {
    const queue = this.#pool.taskQueue;
    return queue !== undefined && typeof queue.size === 'function' ? queue.size() : this.#pool.stats().pendingTasks;
  }

  queueLimit(): number | null {
    const limit = this.#pool.maxQueueSize;
    return typeof limit === 'number' && Number.isFinite(limit) ? limit : null;
  }

  workers(): readonly WorkerReading[] {
    const readings: WorkerReading[] = [];
    for (const handler of this.#pool.workers) {
      if (this.#gone.has(handler) || handler.terminated === true) continue;
      if (!this.#handlers.has(handler)) this.#adopt(handler, true);
      const worker = handler.worker;
      const processing = handler.processing;
      readings.push({
        key: handler,
        ...identityOf(handler),
        load: processing === undefined ? null : Object.keys(processing).length,
        ready: worker?.ready === true,
      });
    }
    return readings;
  }

  config(): WorkerPoolConfigSnapshot {
    const pool = this.#pool;
    const config: Record<string, string | number | boolean | null> = { workerType: pool.workerType };
    if (typeof pool.maxWorkers === 'number') config.maxWorkers = pool.maxWorkers;
    if (typeof pool.minWorkers === 'number') config.minWorkers = pool.minWorkers;
    config.maxQueueSize = Number.isFinite(pool.maxQueueSize) ? pool.maxQueueSize : null;
    if (typeof pool.workerTerminateTimeout === 'number') config.workerTerminateTimeout = pool.workerTerminateTimeout;
    if (typeof pool.emitStdStreams === 'boolean') config.emitStdStreams = pool.emitStdStreams;
    return config;
  }

  // ---- the wrappers ------------------------------------------------------------------------------------------------

  #exec(thisArg: unknown, original: WorkerpoolPoolInternal['exec'], method: unknown, params: unknown, options: unknown): unknown {
    const tracker = this.#tracker;
    // A function is sent as exec('run', [source, params]): that inner call is the task poolscope follows.
    if (this.#detached || tracker === undefined || typeof method !== 'string') return original.call(thisArg, method, params, options);
    let task: WorkerTask | undefined;
    let full = false;
    try {
      task = tracker.taskQueued();
      full = this.queueSize() >= this.#pool.maxQueueSize; // workerpool's own test, just before it throws
    } catch (error) {
      tracker.reportInternalError(error);
    }
    const previous = this.#submitting;
    this.#submitting = task;
    let promise: unknown;
    try {
      promise = original.call(thisArg, method, params, options);
    } catch (error) {
      if (task !== undefined) this.#guard(() => (full ? tracker.taskRejected(task) : tracker.taskFinished(task, false)));
      throw error;
    } finally {
      this.#submitting = previous;
    }
    if (task !== undefined) this.#follow(promise, task);
    return promise;
  }

  #follow(promise: unknown, task: WorkerTask): void {
    const tracker = this.#tracker;
    if (tracker === undefined) return;
    if (promise === null || typeof promise !== 'object' || typeof (promise as Partial<WorkerpoolPromiseLike>).then !== 'function') {
      this.#guard(() => tracker.taskFinished(task, true));
      return;
    }
    this.#tasks.set(promise, task);
    const settle = (ok: boolean): void => {
      this.#tasks.delete(promise);
      this.#guard(() => tracker.taskFinished(task, ok));
    };
    // workerpool's promises report no unhandled rejection, so following one changes nothing for the caller.
    (promise as WorkerpoolPromiseLike).then(
      () => settle(true),
      () => settle(false),
    );
  }

  /** A handler got a task (its exec ran): the task started on that worker. */
  #started(handler: WorkerpoolHandlerInternal, resolver: { readonly promise?: unknown } | undefined): void {
    const tracker = this.#tracker;
    if (tracker === undefined || this.#detached) return;
    const known = resolver?.promise === undefined ? undefined : this.#tasks.get(resolver.promise);
    const task = known ?? this.#submitting;
    if (task === undefined || task.startedAt !== 0) return;
    tracker.taskStarted(task, handler);
  }

  #adopt(handler: WorkerpoolHandlerInternal, started: boolean): void {
    if (this.#handlers.has(handler) || this.#gone.has(handler) || this.#detached) return;
    const tracker = this.#tracker;
    const identity = { key: handler, ...identityOf(handler) };
    const original = handler.exec;
    const onStarted = (resolver: { readonly promise?: unknown } | undefined): void => this.#guard(() => this.#started(handler, resolver));
    const exec = function exec(this: unknown, method: unknown, params?: unknown, resolver?: { readonly promise?: unknown }, options?: unknown): unknown {
      const result = original.call(this, method, params, resolver, options);
      onStarted(resolver); // after: the handler counts the task as processing now
      return result;
    };
    const restoreExec = replaceOwnMethod(handler as unknown as Record<'exec', unknown>, 'exec', exec);
    const emitter = handler.worker;
    const stopWatch = isWorkerEmitter(emitter)
      ? watchWorkerExit(emitter, {
          onError: (message) => this.#tracker?.workerErrored(identity, message),
          // The pool asks a worker to go with terminate(), which sets `cleaning` (or `terminating` while busy)
          // before the worker exits; an exit without it is a crash.
          onExit: (code, signal) => {
            this.#handlers.get(handler)?.restoreExec();
            this.#handlers.delete(handler);
            this.#gone.add(handler);
            this.#tracker?.workerExited(identity, { code, signal, expected: handler.cleaning === true || handler.terminating === true });
          },
          onInternalError: (error) => this.#tracker?.reportInternalError(error),
        })
      : () => undefined;
    this.#handlers.set(handler, { restoreExec, stopWatch });
    if (started) tracker?.workerStarted(identity);
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#tracker?.reportInternalError(error);
    }
  }
}

/** The thread id (a worker thread) or pid (a child process) of a handler's worker. */
function identityOf(handler: WorkerpoolHandlerInternal): { readonly threadId: number | null; readonly pid: number | null } {
  const worker = handler.worker;
  if (worker === null || worker === undefined) return { threadId: null, pid: null };
  const threadId = typeof worker.threadId === 'number' && worker.threadId >= 0 ? worker.threadId : null;
  const pid = worker.isWorkerThread === true ? null : typeof worker.pid === 'number' ? worker.pid : null;
  return { threadId, pid };
}
