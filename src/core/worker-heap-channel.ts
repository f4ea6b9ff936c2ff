import { BroadcastChannel } from 'node:worker_threads';
import type { WorkerHeapAnswer, WorkerHeapRequest } from './worker-heap-protocol.js';
import { isWorkerHeapAnswer, WORKER_HEAP_CHANNEL, WORKER_HEAP_PROTOCOL_VERSION } from './worker-heap-protocol.js';

/**
 * The asking side of the heap protocol (worker-heap-protocol.ts), one per inspector: opened when the first thread
 * pool subscribes, closed when the last one leaves. The channel is unref'd, so it never keeps the process alive.
 */
export class WorkerHeapChannel {
  #channel: BroadcastChannel | undefined;
  readonly #listeners = new Set<(answer: WorkerHeapAnswer) => void>();
  readonly #onError: (error: unknown) => void;
  #nextId = 1;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Receives every answer from now on (each listener keeps the threads it knows). Returns the unsubscribe function. */
  subscribe(listener: (answer: WorkerHeapAnswer) => void): () => void {
    this.#listeners.add(listener);
    this.#open();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  /** Asks `threadIds` for their heap; returns the request's id (0 when nothing was sent). Never throws. */
  request(threadIds: readonly number[]): number {
    const channel = this.#channel;
    if (channel === undefined || threadIds.length === 0) return 0;
    const id = this.#nextId++;
    const message: WorkerHeapRequest = { kind: 'poolscope:heap-request', v: WORKER_HEAP_PROTOCOL_VERSION, id, threadIds };
    try {
      channel.postMessage(message);
    } catch (error) {
      this.#onError(error);
      return 0;
    }
    return id;
  }

  close(): void {
    const channel = this.#channel;
    this.#channel = undefined;
    this.#listeners.clear();
    if (channel === undefined) return;
    try {
      channel.close();
    } catch (error) {
      this.#onError(error);
    }
  }

  #open(): void {
    if (this.#channel !== undefined) return;
    const channel = new BroadcastChannel(WORKER_HEAP_CHANNEL);
    channel.onmessage = (event: unknown) => this.#receive((event as { data?: unknown }).data);
    channel.unref();
    this.#channel = channel;
  }

  #receive(data: unknown): void {
    if (!isWorkerHeapAnswer(data)) return;
    for (const listener of this.#listeners) {
      try {
        listener(data);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
