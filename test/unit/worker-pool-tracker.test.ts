import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolscopeEventOf, PoolscopeEventType } from '../../src/core/pool-events.js';
import type { WorkerProfile } from '../../src/core/worker-pool-adapter.js';
import type { WorkerPoolTracker } from '../../src/core/worker-pool-tracker.js';
import type { WorkerPoolTrackingOptions } from '../../src/core/worker-pool-options.js';
import { readProcessMemory } from '../../src/core/worker-memory.js';
import { PoolNameError, PoolTrackingError, InspectorClosedError } from '../../src/errors.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeWorkerPoolAdapter, type FakeWorker } from '../support/fake-worker-pool-adapter.js';

interface Setup {
  readonly clock: FakeClock;
  readonly inspector: Inspector;
  readonly adapter: FakeWorkerPoolAdapter;
  readonly tracker: WorkerPoolTracker;
  readonly errors: unknown[];
}

function setup(t: TestContext, profile: WorkerProfile = 'thread', options: Partial<WorkerPoolTrackingOptions> = {}): Setup {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, alerts: false, onError: (error) => errors.push(error) });
  t.after(() => inspector.close());
  const adapter = new FakeWorkerPoolAdapter(profile);
  const tracker = inspector.registerWorkerPool(adapter, { name: 'w', memorySampleIntervalMillis: 0, ...options });
  return { clock, inspector, adapter, tracker, errors };
}

function collect<T extends PoolscopeEventType>(inspector: Inspector, type: T): PoolscopeEventOf<T>[] {
  const events: PoolscopeEventOf<T>[] = [];
  inspector.on(type, (event) => {
    events.push(event);
  });
  return events;
}

describe('WorkerPoolTracker: stats', () => {
  test('capacity is maxWorkers x tasksPerWorker; used, available, level and average load come from the workers', (t) => {
    const s = setup(t);
    s.adapter.max = 4;
    s.adapter.perWorker = 16;
    s.adapter.add({ threadId: 1, load: 10 });
    s.adapter.add({ threadId: 2, load: 16 });
    s.adapter.add({ threadId: 3, load: 0, ready: false });
    s.adapter.queue = 3;
    s.adapter.limit = 100;
    const stats = s.tracker.view.stats();
    assert.equal(stats.profile, 'thread');
    assert.equal(stats.driver, 'fake');
    assert.equal(stats.capacity, 64);
    assert.equal(stats.capacityUsed, 26);
    assert.equal(stats.capacityAvailable, 38);
    assert.equal(stats.utilizationPercent, 40.6);
    assert.equal(stats.level, 'LOW');
    assert.equal(stats.workers, 3);
    assert.equal(stats.busyWorkers, 1);
    assert.equal(stats.availableWorkers, 1);
    assert.equal(stats.startingWorkers, 1);
    assert.equal(stats.averageLoadPerWorker, 8.67);
    assert.equal(stats.queueSize, 3);
    assert.equal(stats.queueLimit, 100);
    assert.equal(stats.timestamp, new Date(s.clock.toWallMillis(s.clock.now())).toISOString());
  });

  test('a worker whose load the library does not give is `unknown`; capacityUsed falls back on the tasks seen running', (t) => {
    const s = setup(t);
    s.adapter.add({ threadId: 1, load: null });
    const task = s.tracker.taskQueued();
    s.tracker.taskStarted(task);
    const snapshot = s.tracker.view.snapshot();
    assert.equal(snapshot.stats.capacityUsed, 1);
    assert.equal(snapshot.workers[0]?.status, 'unknown');
    assert.equal(snapshot.workers[0]?.load, null);
  });

  test('run and wait times from queued / started / finished; counters', (t) => {
    const s = setup(t);
    const worker = s.adapter.add({ threadId: 7 });
    const ok = s.tracker.taskQueued();
    s.clock.advance(5);
    s.tracker.taskStarted(ok, worker.key);
    s.clock.advance(20);
    s.tracker.taskFinished(ok, true);
    const failed = s.tracker.taskQueued();
    s.tracker.taskStarted(failed);
    s.clock.advance(2);
    s.tracker.taskFinished(failed, false);
    const never = s.tracker.taskQueued();
    s.tracker.taskFinished(never, false);
    const stats = s.tracker.view.stats();
    assert.deepEqual(
      { ...stats.counters },
      {
        tasksQueued: 3,
        tasksStarted: 2,
        tasksCompleted: 1,
        tasksFailed: 2,
        tasksRejected: 0,
        workersStarted: 0,
        workersExited: 0,
        workersCrashed: 0,
        workerErrors: 0,
      },
    );
    assert.equal(stats.runTime.count, 2);
    assert.equal(stats.runTime.maxMillis, 20);
    assert.equal(stats.waitTime.count, 2);
    assert.equal(stats.waitTime.maxMillis, 5);
  });
});

describe('WorkerPoolTracker: events', () => {
  test('worker-task-executed: duration, wait, success and the worker (when the adapter says which)', (t) => {
    const s = setup(t);
    const events = collect(s.inspector, 'worker-task-executed');
    const worker = s.adapter.add({ threadId: 7 });
    const task = s.tracker.taskQueued();
    s.clock.advance(3);
    s.tracker.taskStarted(task, worker.key);
    s.clock.advance(10);
    s.tracker.taskFinished(task, true);
    const lost = s.tracker.taskQueued();
    s.clock.advance(4);
    s.tracker.taskFinished(lost, false);
    s.tracker.taskFinished(lost, false); // settles once
    assert.deepEqual(events, [
      { type: 'worker-task-executed', poolName: 'w', workerId: 1, durationMillis: 10, waitMillis: 3, ok: true },
      { type: 'worker-task-executed', poolName: 'w', workerId: null, durationMillis: 0, waitMillis: 4, ok: false },
    ]);
  });

  test('worker-pool-saturated on a refused task, at most once per cooldown, counting the refusals between', (t) => {
    const s = setup(t, 'process', { saturationCooldownMillis: 1000 });
    const events = collect(s.inspector, 'worker-pool-saturated');
    s.adapter.add({ pid: 11, load: 1 });
    s.adapter.add({ pid: 12, load: 0 });
    s.adapter.queue = 5;
    s.adapter.limit = 5;
    s.tracker.taskRejected(s.tracker.taskQueued());
    s.tracker.taskRejected(s.tracker.taskQueued());
    s.tracker.taskRejected(s.tracker.taskQueued());
    s.clock.advance(1000);
    s.tracker.taskRejected(s.tracker.taskQueued());
    assert.equal(events.length, 2);
    assert.deepEqual(
      { ...events[0], message: undefined },
      { type: 'worker-pool-saturated', poolName: 'w', queueSize: 5, queueLimit: 5, busyWorkers: 1, availableWorkers: 1, rejectedTasks: 1, message: undefined },
    );
    assert.match(events[0]?.message ?? '', /refused 1 task: its queue is at its limit \(5\/5\)/);
    assert.equal(events[1]?.rejectedTasks, 3);
    assert.equal(s.tracker.view.stats().counters.tasksRejected, 4);
    assert.equal(s.tracker.view.stats().counters.tasksFailed, 0);
  });

  test('worker-capacity-reached when a worker fills up; again only after it had room and the cooldown passed', (t) => {
    const s = setup(t, 'thread', { saturationCooldownMillis: 1000 });
    const events = collect(s.inspector, 'worker-capacity-reached');
    s.adapter.perWorker = 2;
    const worker = s.adapter.add({ threadId: 4 });
    const first = s.tracker.taskQueued();
    s.tracker.taskStarted(first, worker.key);
    assert.equal(events.length, 0);
    const second = s.tracker.taskQueued();
    s.tracker.taskStarted(second, worker.key);
    assert.equal(events.length, 1);
    assert.deepEqual(
      { ...events[0], message: undefined },
      { type: 'worker-capacity-reached', poolName: 'w', workerId: 1, threadId: 4, pid: null, profile: 'thread', capacity: 2, load: 2, message: undefined },
    );
    s.tracker.taskFinished(first, true);
    const third = s.tracker.taskQueued();
    s.tracker.taskStarted(third, worker.key); // full again, within the cooldown: no event
    assert.equal(events.length, 1);
    s.tracker.taskFinished(third, true);
    s.clock.advance(1000);
    s.tracker.taskStarted(s.tracker.taskQueued(), worker.key);
    assert.equal(events.length, 2);
  });

  test('without the worker of a task, capacity is read from every worker (Piscina)', (t) => {
    const s = setup(t, 'thread');
    const events = collect(s.inspector, 'worker-capacity-reached');
    const worker = s.adapter.add({ threadId: 4, load: 1 });
    s.tracker.taskStarted(s.tracker.taskQueued());
    assert.equal(events.length, 1);
    s.tracker.taskStarted(s.tracker.taskQueued()); // still full: no new edge
    worker.load = 0;
    s.tracker.checkCapacity();
    worker.load = 1;
    s.tracker.checkCapacity(); // full again, but within the cooldown
    assert.equal(events.length, 1);
  });

  test('worker-exited for an exit the pool did not ask for, once; an expected exit is only counted', (t) => {
    const s = setup(t, 'process');
    const events = collect(s.inspector, 'worker-exited');
    const crashed = s.adapter.add({ pid: 501 });
    const retired = s.adapter.add({ pid: 502 });
    s.tracker.view.stats(); // both seen
    s.tracker.workerErrored(crashed, 'boom');
    s.adapter.remove(crashed);
    s.tracker.workerExited(crashed, { code: 1, signal: null, expected: false });
    s.tracker.workerExited(crashed, { code: 1, signal: null, expected: false });
    s.adapter.remove(retired);
    s.tracker.workerExited(retired, { code: 0, signal: null, expected: true });
    assert.equal(events.length, 1);
    assert.deepEqual(
      { ...events[0], message: undefined },
      { type: 'worker-exited', poolName: 'w', workerId: 1, threadId: null, pid: 501, profile: 'process', exitCode: 1, signal: null, error: 'boom', message: undefined },
    );
    assert.match(events[0]?.message ?? '', /worker 1 \(pid 501\) exited without the pool asking \(exit code 1: boom\)/);
    const snapshot = s.tracker.view.snapshot();
    assert.deepEqual(
      snapshot.workers.map((w) => [w.id, w.status, w.exitCode, w.crashed, w.lastError, w.memoryMb, w.memoryStatus]),
      [
        [2, 'exited', 0, false, null, null, 'not-available'],
        [1, 'exited', 1, true, 'boom', null, 'not-available'],
      ],
    );
    const counters = snapshot.stats.counters;
    assert.deepEqual([counters.workersExited, counters.workersCrashed, counters.workerErrors], [2, 1, 1]);
  });

  test('a worker the library stops listing is exited; its exit details may follow; at most 16 exited are kept', (t) => {
    const s = setup(t, 'process');
    const workers = Array.from({ length: 20 }, (_, i) => s.adapter.add({ pid: 1000 + i }));
    s.tracker.view.stats();
    for (const worker of workers) s.adapter.remove(worker);
    const snapshot = s.tracker.view.snapshot();
    assert.equal(snapshot.stats.workers, 0);
    assert.equal(snapshot.workers.length, 16);
    assert.equal(snapshot.workers[0]?.status, 'exited');
    assert.equal(snapshot.stats.counters.workersExited, 20);
    const last = workers[19] as FakeWorker;
    s.tracker.workerExited(last, { code: 7, signal: null, expected: false });
    assert.equal(s.tracker.view.snapshot().workers.find((w) => w.pid === 1019)?.exitCode, 7);
    assert.equal(s.tracker.view.stats().counters.workersExited, 20);
  });

  test('workers started after tracking are counted and carry startedAt', (t) => {
    const s = setup(t, 'thread');
    const before = s.adapter.add({ threadId: 1 });
    s.tracker.view.stats();
    const after = s.adapter.add({ threadId: 2 });
    s.tracker.workerStarted(after);
    s.tracker.workerStarted(after);
    // Met first by a read while starting, announced ready later: it started when first seen.
    const starting = s.adapter.add({ threadId: 3, ready: false });
    const seenAt = new Date(s.clock.toWallMillis(s.clock.now())).toISOString();
    assert.equal(s.tracker.view.snapshot().workers[2]?.status, 'starting');
    s.clock.advance(50);
    starting.ready = true;
    s.tracker.workerStarted(starting);
    const snapshot = s.tracker.view.snapshot();
    assert.equal(snapshot.stats.counters.workersStarted, 2);
    assert.deepEqual(
      snapshot.workers.map((w) => [w.threadId, w.startedAt === null, w.status]),
      [
        [before.threadId, true, 'available'],
        [2, false, 'available'],
        [3, false, 'available'],
      ],
    );
    assert.equal(snapshot.workers[2]?.startedAt, seenAt);
  });
});

describe('WorkerPoolTracker: memory', () => {
  test('a thread without the helper reads pending, then not available with the reason (never 0)', (t) => {
    const s = setup(t, 'thread');
    s.adapter.add({ threadId: 424242 });
    s.adapter.hint = "set atomics: 'async'";
    const first = s.tracker.view.snapshot().workers[0];
    assert.equal(first?.memoryMb, null);
    assert.equal(first?.memoryStatus, 'pending');
    assert.equal(first?.memorySource, 'v8-heap-used');
    s.clock.advance(5000);
    const later = s.tracker.view.snapshot().workers[0];
    assert.equal(later?.memoryMb, null);
    assert.equal(later?.memoryStatus, 'not-available');
    assert.match(later?.memoryNote ?? '', /import 'poolscope\/worker'.*set atomics: 'async'/);
    assert.deepEqual({ ...s.tracker.view.stats().memory }, { sampledWorkers: 0, totalMb: null, averageMb: null, minMb: null, maxMb: null });
  });

  test('a process is read by pid: this process reads its resident memory; a pid that is gone reads not available', { skip: process.platform !== 'linux' && 'reads /proc (Linux)' }, (t) => {
    const s = setup(t, 'process');
    s.adapter.add({ pid: process.pid });
    s.adapter.add({ pid: 2 ** 22 + 12345 });
    const workers = s.tracker.view.snapshot().workers;
    assert.equal(workers[0]?.memoryStatus, 'sampled');
    assert.equal(workers[0]?.memorySource, 'rss');
    assert.ok((workers[0]?.memoryMb ?? 0) > 1, `resident memory of this process: ${workers[0]?.memoryMb}`);
    assert.equal(workers[1]?.memoryMb, null);
    assert.equal(workers[1]?.memoryStatus, 'not-available');
    assert.match(workers[1]?.memoryNote ?? '', /could not read \/proc\/\d+\/status \(ENOENT\)/);
    assert.equal(s.tracker.view.stats().memory.sampledWorkers, 1);
  });

  test('elsewhere than Linux, process memory is not available, saying why', () => {
    assert.deepEqual(readProcessMemory(process.pid, 'darwin'), { note: 'not available on darwin (read from /proc on Linux only)' });
  });

  test('sampleMemory() resolves without thread answers after its timeout, never rejects', async (t) => {
    const s = setup(t, 'thread');
    s.adapter.add({ threadId: 424243 });
    await s.tracker.view.sampleMemory({ timeoutMillis: 20 });
    assert.equal(s.tracker.view.snapshot().workers[0]?.memoryMb, null);
  });

  test('the snapshot is JSON: it survives a round trip unchanged', (t) => {
    const s = setup(t, 'process');
    s.adapter.add({ pid: process.pid });
    const snapshot = s.tracker.view.snapshot();
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
  });
});

describe('Inspector: worker pools', () => {
  test('a namespace of its own: a worker pool may share a connection pool name; duplicates and unknown names are coded', (t) => {
    const s = setup(t);
    assert.deepEqual(s.inspector.workerPoolNames(), ['w']);
    assert.deepEqual(s.inspector.poolNames(), []);
    assert.equal(s.inspector.workerPool('w'), s.tracker.view);
    assert.equal(s.inspector.pool('w'), undefined);
    assert.throws(
      () => s.inspector.registerWorkerPool(new FakeWorkerPoolAdapter('thread'), { name: 'w' }),
      (error: unknown) => error instanceof PoolNameError && error.code === 'POOLSCOPE_ERR_POOL_DUPLICATE_NAME' && /untrackWorkerPool\("w"\)/.test(error.message),
    );
    assert.throws(
      () => s.inspector.registerWorkerPool(new FakeWorkerPoolAdapter('thread'), { name: 'bad name' }),
      (error: unknown) => error instanceof PoolNameError && error.code === 'POOLSCOPE_ERR_POOL_INVALID_NAME',
    );
    assert.throws(
      () => s.inspector.untrackWorkerPool('nope'),
      (error: unknown) => error instanceof PoolTrackingError && error.code === 'POOLSCOPE_ERR_POOL_NOT_TRACKED' && /Tracked worker pools: w\./.test(error.message),
    );
  });

  test('untrack and close detach the adapter; registering after close throws', (t) => {
    const s = setup(t);
    const other = new FakeWorkerPoolAdapter('process');
    s.inspector.registerWorkerPool(other, { name: 'other' });
    s.inspector.untrackWorkerPool('w');
    assert.equal(s.adapter.detachCalls, 1);
    assert.equal(s.tracker.view.closed, true);
    assert.deepEqual(s.inspector.workerPoolNames(), ['other']);
    s.inspector.close();
    assert.equal(other.detachCalls, 1);
    assert.deepEqual(s.inspector.workerPoolNames(), []);
    assert.throws(() => s.inspector.registerWorkerPool(new FakeWorkerPoolAdapter('thread'), { name: 'late' }), InspectorClosedError);
  });

  test('options are validated', (t) => {
    const s = setup(t);
    assert.throws(
      () => s.inspector.registerWorkerPool(new FakeWorkerPoolAdapter('thread'), { name: 'x', memorySampleIntervalMillis: -1 }),
      /Invalid option memorySampleIntervalMillis/,
    );
    assert.throws(
      () => s.inspector.registerWorkerPool(new FakeWorkerPoolAdapter('thread'), { name: 'x', thresholds: { criticalPercent: 50 } }),
      /Invalid option thresholds.criticalPercent/,
    );
  });
});
