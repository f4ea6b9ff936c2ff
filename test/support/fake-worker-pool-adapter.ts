// A WorkerPoolAdapter for unit tests: workers, loads and queue set by hand; it wraps no library.
import type { WorkerPoolAdapter, WorkerProfile, WorkerReading } from '../../src/core/worker-pool-adapter.js';

/** A worker of the fake pool: the key object and what the library would say about it. */
export interface FakeWorker {
  readonly key: object;
  threadId: number | null;
  pid: number | null;
  load: number | null;
  ready: boolean;
}

/** A WorkerPoolAdapter whose workers and queue the test sets by hand; it wraps nothing. */
export class FakeWorkerPoolAdapter implements WorkerPoolAdapter {
  readonly driver = 'fake';
  readonly profile: WorkerProfile;
  perWorker = 1;
  max = 4;
  min = 0;
  queue = 0;
  limit: number | null = null;
  hint: string | null = null;
  detachCalls = 0;
  readonly live: FakeWorker[] = [];

  constructor(profile: WorkerProfile) {
    this.profile = profile;
  }

  add(worker: Partial<FakeWorker> = {}): FakeWorker {
    const added = { key: {}, threadId: null, pid: null, load: 0, ready: true, ...worker };
    this.live.push(added);
    return added;
  }

  remove(worker: FakeWorker): void {
    this.live.splice(this.live.indexOf(worker), 1);
  }

  tasksPerWorker(): number {
    return this.perWorker;
  }
  maxWorkers(): number {
    return this.max;
  }
  minWorkers(): number {
    return this.min;
  }
  queueSize(): number {
    return this.queue;
  }
  queueLimit(): number | null {
    return this.limit;
  }
  workers(): readonly WorkerReading[] {
    return this.live.map((w) => ({ key: w.key, threadId: w.threadId, pid: w.pid, load: w.load, ready: w.ready }));
  }
  config(): Record<string, number> {
    return { maxWorkers: this.max };
  }
  threadMemoryHint(): string | null {
    return this.hint;
  }
  detach(): void {
    this.detachCalls += 1;
  }
}
