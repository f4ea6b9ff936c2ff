/**
 * The part of a workerpool Pool (workerpool 9.x, 10.x) that poolscope reads and wraps, as structural types:
 * poolscope does not import workerpool (an optional peer).
 */

/** What `trackWorkerpool` accepts: `workerpool.pool(script, options)`. */
export interface WorkerpoolPoolLike {
  exec(...args: never[]): unknown;
  stats(): { readonly pendingTasks: number; readonly activeTasks: number; readonly totalWorkers: number };
  readonly workerType: string;
  readonly maxQueueSize: number;
  readonly maxWorkers: number | undefined;
  readonly minWorkers: number | undefined;
}

/** workerpool's Promise (its own implementation, not a native promise): `then` calls back synchronously. */
export interface WorkerpoolPromiseLike {
  then(onResolved: (value: unknown) => unknown, onRejected: (error: unknown) => unknown): unknown;
}

/** A worker under a handler: a worker_threads Worker (`threadId`) or a ChildProcess (`pid`); `ready` once it said so. */
export interface WorkerpoolWorkerInternal {
  readonly threadId?: number;
  readonly pid?: number;
  readonly ready?: boolean;
  readonly isWorkerThread?: boolean;
  readonly isChildProcess?: boolean;
}

/** workerpool's WorkerHandler: one worker, the tasks it is processing, its termination state. */
export interface WorkerpoolHandlerInternal {
  worker: WorkerpoolWorkerInternal | null;
  exec(method: unknown, params?: unknown, resolver?: { readonly promise?: unknown }, options?: unknown): unknown;
  readonly processing?: Record<string, unknown>;
  readonly cleaning?: boolean;
  readonly terminating?: boolean;
  readonly terminated?: boolean;
}

/** `WorkerpoolPoolLike` with the internals poolscope reads (marked private in workerpool's types, plain fields in JS). */
export interface WorkerpoolPoolInternal extends WorkerpoolPoolLike {
  exec(method: unknown, params?: unknown, options?: unknown): unknown;
  readonly workers: readonly WorkerpoolHandlerInternal[];
  readonly taskQueue?: { size(): number };
  readonly workerTerminateTimeout?: unknown;
  readonly emitStdStreams?: unknown;
  /** Creates each new WorkerHandler (called as `this._createWorkerHandler()`): wrapped to see workers as they start. */
  _createWorkerHandler?: () => WorkerpoolHandlerInternal;
}
