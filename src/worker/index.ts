// poolscope/worker: the helper a worker thread loads so that poolscope can read its memory. Add one line to the
// worker's file (the one Piscina or workerpool runs):
//
//   import 'poolscope/worker';
//
// Only the thread itself can read its V8 heap. Loaded in a worker thread, this module answers the inspector's heap
// requests on a BroadcastChannel of its own (poolscope:worker-heap, see src/core/worker-heap-protocol.ts): apart from
// the pool's MessagePorts and parentPort, so the pool's messaging is untouched; unref'd, so the thread still exits
// as it would without it. It also sends one reading when it loads. In the main thread (or a child process, whose
// memory poolscope reads by pid) it does nothing.
//
// It answers when the thread's event loop runs: between tasks and while a task awaits. A thread blocked in a
// synchronous task, or parked in Atomics.wait between tasks (Piscina's default `atomics: 'sync'`), answers later.
//
// This is the one poolscope module that acts when loaded: it is imported for that effect, once per thread.

import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import v8 from 'node:v8';
import type { WorkerHeapAnswer } from '../core/worker-heap-protocol.js';
import { isWorkerHeapRequest, WORKER_HEAP_CHANNEL, WORKER_HEAP_PROTOCOL_VERSION } from '../core/worker-heap-protocol.js';

export { WORKER_HEAP_CHANNEL } from '../core/worker-heap-protocol.js';

if (!isMainThread) answerHeapRequests();

function answerHeapRequests(): void {
  let channel: BroadcastChannel;
  try {
    channel = new BroadcastChannel(WORKER_HEAP_CHANNEL);
  } catch {
    return; // no BroadcastChannel: memory reads "not available", the worker runs as before
  }
  channel.onmessage = (event: unknown) => {
    const data = (event as { data?: unknown }).data;
    if (!isWorkerHeapRequest(data)) return; // answers from other threads travel on the same channel
    if (data.threadIds !== null && !data.threadIds.includes(threadId)) return;
    send(channel, data.id);
  };
  channel.unref();
  send(channel, 0);
}

function send(channel: BroadcastChannel, id: number): void {
  try {
    const answer: WorkerHeapAnswer = {
      kind: 'poolscope:heap-answer',
      v: WORKER_HEAP_PROTOCOL_VERSION,
      id,
      threadId,
      heapUsedBytes: v8.getHeapStatistics().used_heap_size,
    };
    channel.postMessage(answer);
  } catch {
    // The channel closed as the thread exits: nothing to answer.
  }
}
