/**
 * The messages between a tracker (main thread) and poolscope/worker (inside a worker thread) about the thread's V8
 * heap, over one process-wide `BroadcastChannel`. A channel of its own, apart from the pools' MessagePorts and
 * parentPort, so the pools' own messaging never sees these. Shared by core (the asking side) and src/worker (the
 * answering side); imports nothing, so the worker helper loads this file alone.
 *
 * A BroadcastChannel delivers to every other instance of the same name in the process, other workers included:
 * each side acts only on the kind it expects, so an answer is never taken for a request.
 */

/** The channel's name. */
export const WORKER_HEAP_CHANNEL = 'poolscope:worker-heap';

/** Bumped when a message's shape changes; a side ignores versions it does not know. */
export const WORKER_HEAP_PROTOCOL_VERSION = 1;

/** Asks the listed threads (or every thread with the helper, when null) for their heap. */
export interface WorkerHeapRequest {
  readonly kind: 'poolscope:heap-request';
  readonly v: number;
  readonly id: number;
  readonly threadIds: readonly number[] | null;
}

/** A thread's answer (`id` 0: sent unasked when the helper loads). */
export interface WorkerHeapAnswer {
  readonly kind: 'poolscope:heap-answer';
  readonly v: number;
  readonly id: number;
  readonly threadId: number;
  /** `v8.getHeapStatistics().used_heap_size` of the thread's isolate. */
  readonly heapUsedBytes: number;
}

export function isWorkerHeapRequest(data: unknown): data is WorkerHeapRequest {
  const message = data as Partial<WorkerHeapRequest> | null;
  return (
    typeof message === 'object' &&
    message !== null &&
    message.kind === 'poolscope:heap-request' &&
    message.v === WORKER_HEAP_PROTOCOL_VERSION &&
    typeof message.id === 'number' &&
    (message.threadIds === null || Array.isArray(message.threadIds))
  );
}

export function isWorkerHeapAnswer(data: unknown): data is WorkerHeapAnswer {
  const message = data as Partial<WorkerHeapAnswer> | null;
  return (
    typeof message === 'object' &&
    message !== null &&
    message.kind === 'poolscope:heap-answer' &&
    message.v === WORKER_HEAP_PROTOCOL_VERSION &&
    typeof message.threadId === 'number' &&
    typeof message.heapUsedBytes === 'number' &&
    Number.isFinite(message.heapUsedBytes)
  );
}
