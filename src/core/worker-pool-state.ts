import type { EventBus, EventTopic, WorkerTaskExecutedEvent } from './pool-events.js';
import type { Clock } from './monotonic-clock.js';
import { Histogram } from './histogram.js';
import type { WorkerPoolAdapter, WorkerReading } from './worker-pool-adapter.js';
import type { ResolvedWorkerPoolTrackingOptions } from './worker-pool-options.js';
import { MutableWorkerCounters, WorkerRecord } from './worker-record.js';
import type { WorkerHeapChannel } from './worker-heap-channel.js';
import type { WorkerHeapAnswer } from './worker-heap-protocol.js';
import { megabytes, readProcessMemory } from './worker-memory.js';
import { WorkerPoolHistory } from './worker-pool-history.js';

/**
 * One worker pool's state, shared by its writer (WorkerPoolTracker, fed by the adapter) and its readers
 * (WorkerPoolView): the workers it has seen, counters, distributions and memory sampling. Internal to core.
 */

/** What a worker pool tracker gets from its inspector. */
export interface WorkerPoolContext {
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly onError: (error: unknown) => void;
  /** The inspector's heap channel (thread pools subscribe to it). */
  readonly heap: WorkerHeapChannel;
  /** History samples kept (the inspector's retention / interval); 1 when history is off. */
  readonly historyCapacity: number;
}

/** The two durations of a task: its wait (`run()`/`exec()` to its start) and its run time (start to result). */
export const WORKER_DURATION_KINDS = ['wait_time', 'run_time'] as const;
export type WorkerDurationKind = (typeof WORKER_DURATION_KINDS)[number];
/** Receives each task's wait when it starts and its run time when it ends (exporters' histograms). */
export type WorkerDurationListener = (kind: WorkerDurationKind, millis: number) => void;

/** Exited workers kept for snapshots. */
export const EXITED_WORKERS_KEPT = 16;
/** A read (stats, snapshot) samples memory again when the last sample is older than this. */
export const MEMORY_READ_REFRESH_MILLIS = 1000;
/** A thread that has not answered this long after it was first asked is reported as not answering. */
export const HEAP_ANSWER_TIMEOUT_MILLIS = 1000;

/** A pending `sampleMemory()`: the threads it still waits for. */
interface MemoryWaiter {
  readonly waiting: Set<number>;
  readonly done: () => void;
}

export class WorkerPoolState {
  readonly name: string;
  readonly options: ResolvedWorkerPoolTrackingOptions;
  readonly adapter: WorkerPoolAdapter;
  readonly ctx: WorkerPoolContext;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly counters = new MutableWorkerCounters();
  readonly runTime = new Histogram();
  readonly waitTime = new Histogram();
  readonly history: WorkerPoolHistory;
  /** Duration listeners (the OpenTelemetry exporter's histograms), replaced on change; empty: nothing is called per task. */
  durationListeners: readonly WorkerDurationListener[] = [];
  readonly taskTopic: EventTopic<WorkerTaskExecutedEvent>;
  /** Live workers by the library's object; exited ones, newest last. */
  readonly live = new Map<object, WorkerRecord>();
  readonly exited: WorkerRecord[] = [];
  /** Every record by the library's object, exited ones too (an exit may be reported after the pool dropped it). */
  readonly #all = new WeakMap<object, WorkerRecord>();
  readonly #byThreadId = new Map<number, WorkerRecord>();
  #nextWorkerId = 1;
  /** Tasks seen starting and not finished (the fallback for capacityUsed when the library does not give loads). */
  running = 0;
  /** Refusals since the last worker-pool-saturated event, and when it was emitted. */
  rejectedSinceEvent = 0;
  lastSaturatedEventAt = Number.NEGATIVE_INFINITY;
  lastMemorySampleAt = Number.NEGATIVE_INFINITY;
  /** When the pool was tracked (monotonic ms): the start of the counters and distributions. */
  readonly trackedAt: number;
  readonly #waiters = new Set<MemoryWaiter>();
  readonly #unsubscribeHeap: (() => void) | undefined;
  closed = false;

  constructor(adapter: WorkerPoolAdapter, options: ResolvedWorkerPoolTrackingOptions, ctx: WorkerPoolContext) {
    this.name = options.name;
    this.options = options;
    this.adapter = adapter;
    this.ctx = ctx;
    this.clock = ctx.clock;
    this.trackedAt = ctx.clock.now();
    this.bus = ctx.bus;
    this.taskTopic = ctx.bus.topic('worker-task-executed');
    this.history = new WorkerPoolHistory(ctx.historyCapacity);
    if (adapter.profile === 'thread') this.#unsubscribeHeap = ctx.heap.subscribe((answer) => this.#heapAnswered(answer));
  }

  /** The record of the library's worker object, if the tracker has seen it (live or exited). */
  recordOf(key: object): WorkerRecord | undefined {
    return this.#all.get(key);
  }

  /** The record of `reading`'s worker, created on first sight (at `now`). */
  ensureRecord(reading: Pick<WorkerReading, 'key' | 'threadId' | 'pid'>, now: number): WorkerRecord {
    const known = this.#all.get(reading.key);
    if (known !== undefined) {
      if (known.threadId === null && reading.threadId !== null) this.#setThreadId(known, reading.threadId);
      if (known.pid === null && reading.pid !== null) known.pid = reading.pid;
      return known;
    }
    const record = new WorkerRecord(this.#nextWorkerId++, this.adapter.profile, reading, now);
    this.#all.set(reading.key, record);
    this.live.set(reading.key, record);
    if (record.threadId !== null) this.#setThreadId(record, record.threadId);
    return record;
  }

  /**
   * Reads the library's live workers and brings the records in line: new workers get a record; workers the library
   * no longer lists are moved to the exited list (their exit details may follow). Returns the readings.
   */
  syncWorkers(now: number): readonly WorkerReading[] {
    const readings = this.adapter.workers();
    const listed = new Set<WorkerRecord>();
    for (const reading of readings) {
      const record = this.ensureRecord(reading, now);
      record.load = reading.load;
      record.ready = reading.ready;
      listed.add(record);
    }
    if (listed.size !== this.live.size) {
      for (const record of this.live.values()) if (!listed.has(record)) this.markExited(record, now);
    }
    return readings;
  }

  /** Moves a live record to the exited list (idempotent). */
  markExited(record: WorkerRecord, now: number): void {
    if (record.exitedAt !== undefined) return;
    record.exitedAt = now;
    record.load = null;
    record.atCapacity = false;
    this.counters.workersExited += 1;
    this.live.delete(record.key);
    if (record.threadId !== null && this.#byThreadId.get(record.threadId) === record) this.#byThreadId.delete(record.threadId);
    this.exited.push(record);
    if (this.exited.length > EXITED_WORKERS_KEPT) this.exited.shift();
  }

  /**
   * Samples every live worker's memory: process workers are read now (/proc); thread workers are asked, and their
   * answers arrive later. `force`: also when the last sample is recent.
   */
  sampleMemory(now: number, force: boolean): void {
    const due = force || now - this.lastMemorySampleAt >= MEMORY_READ_REFRESH_MILLIS;
    if (this.adapter.profile === 'process') {
      for (const record of this.live.values()) {
        // A worker never read is read at once, whatever the refresh interval.
        if (!due && record.memory.sampled) continue;
        if (record.pid === null) continue;
        const reading = readProcessMemory(record.pid);
        if ('mb' in reading) record.memory.record(now, reading.mb);
        else record.memory.failure = reading.note;
      }
      if (due) this.lastMemorySampleAt = now;
      return;
    }
    if (!due) return;
    this.lastMemorySampleAt = now;
    const threadIds: number[] = [];
    for (const record of this.live.values()) if (record.threadId !== null) threadIds.push(record.threadId);
    if (this.ctx.heap.request(threadIds) === 0) return;
    for (const record of this.live.values()) if (record.threadId !== null) record.heapAskedAt ??= now;
  }

  /** Samples now and resolves once every live thread answered, or after `timeoutMillis`. Never rejects. */
  sampleMemoryAndWait(timeoutMillis: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    const now = this.clock.now();
    this.syncWorkers(now);
    this.sampleMemory(now, true);
    const waiting = new Set<number>();
    if (this.adapter.profile === 'thread') {
      for (const record of this.live.values()) if (record.threadId !== null) waiting.add(record.threadId);
    }
    if (waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      // Not unref'd: whoever awaits this wants the answer (or the timeout), and the wait is bounded.
      const timer = setTimeout(() => waiter.done(), timeoutMillis);
      const waiter: MemoryWaiter = {
        waiting,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Hands a task's duration to every listener; a listener that throws goes to onError. */
  notifyDuration(kind: WorkerDurationKind, millis: number): void {
    for (const listener of this.durationListeners) {
      try {
        listener(kind, millis);
      } catch (error) {
        this.ctx.onError(error);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.durationListeners = [];
    this.#unsubscribeHeap?.();
    for (const waiter of [...this.#waiters]) waiter.done();
  }

  #setThreadId(record: WorkerRecord, threadId: number): void {
    record.threadId = threadId;
    if (record.exitedAt === undefined) this.#byThreadId.set(threadId, record);
  }

  #heapAnswered(answer: WorkerHeapAnswer): void {
    const record = this.#byThreadId.get(answer.threadId);
    if (record === undefined || record.exitedAt !== undefined) return;
    const now = this.clock.now();
    record.memory.record(now, megabytes(answer.heapUsedBytes));
    for (const waiter of [...this.#waiters]) {
      if (waiter.waiting.delete(answer.threadId) && waiter.waiting.size === 0) waiter.done();
    }
  }
}
