/**
 * The part of a Piscina pool (piscina 4.x, 5.x) that poolscope reads and wraps, as structural types: poolscope does
 * not import piscina (an optional peer).
 */

/** What `trackPiscina` accepts: a `new Piscina(...)`. */
export interface PiscinaLike {
  run(task: unknown, options?: unknown): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly threads: readonly object[];
  readonly queueSize: number;
  readonly maxThreads: number;
  readonly minThreads: number;
  readonly options: object;
}

/** Piscina's resolved options (its `options` getter): the fields poolscope reads. */
export interface PiscinaOptionsInternal {
  readonly minThreads?: unknown;
  readonly maxThreads?: unknown;
  readonly maxQueue?: unknown;
  readonly concurrentTasksPerWorker?: unknown;
  readonly idleTimeout?: unknown;
  readonly atomics?: unknown;
  readonly recordTiming?: unknown;
  readonly niceIncrement?: unknown;
  readonly closeTimeout?: unknown;
  readonly stricterFIFO?: unknown;
}

/**
 * A worker as Piscina hands it to 'workerCreate' / 'workerDestroy' listeners and load balancers (`PiscinaWorker`):
 * `id` is the thread's id; `currentUsage` the tasks posted to it (Infinity while it runs an abortable task, which
 * holds it alone).
 */
export interface PiscinaWorkerInterface {
  readonly id: number;
  readonly currentUsage: number;
}

/** A worker_threads Worker of the pool (its `threads`). */
export interface PiscinaThread {
  readonly threadId: number;
}

/** `PiscinaLike` with the internals poolscope reads typed. */
export interface PiscinaInternal extends PiscinaLike {
  readonly options: PiscinaOptionsInternal;
  readonly threads: readonly PiscinaThread[];
}
