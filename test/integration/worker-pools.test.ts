// Worker pools (issue 16, seed 002): real Piscina and workerpool pools running real tasks in real workers
// (test/fixtures/workers/): worker threads and child processes side by side. Tasks that must stay running while the
// test looks are held until the test creates a file (holdUntilFile), so nothing depends on timing; every wait is an
// event or a bounded `eventually`.

import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import workerpool from 'workerpool';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolscopeEventOf, PoolscopeEventType } from '../../src/core/pool-events.js';
import type { WorkerPoolView } from '../../src/core/worker-pool-view.js';
import type { WorkerSnapshot } from '../../src/core/worker-pool-stats.js';
import { trackPiscina } from '../../src/adapters/piscina/index.js';
import { trackWorkerpool } from '../../src/adapters/workerpool/index.js';
import { PoolTrackingError } from '../../src/errors.js';
import { eventually, eventOnce, listenTo } from '../support/wait-for.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/workers/', import.meta.url));
const PISCINA_WORKER = pathToFileURL(path.join(FIXTURES, 'piscina-worker.mjs')).href;
/** The tasks without poolscope/worker: a worker that cannot answer memory requests. */
const BARE_TASKS = pathToFileURL(path.join(FIXTURES, 'tasks.mjs')).href;
const WORKERPOOL_WORKER = path.join(FIXTURES, 'workerpool-worker.mjs');
const WORKER_TYPES = ['thread', 'process'] as const;
/** A bound per test against hangs (never a timing assertion). */
const TEST_TIMEOUT = { timeout: 60_000 };

function newInspector(t: TestContext): { inspector: Inspector; errors: unknown[] } {
  const errors: unknown[] = [];
  const inspector = new Inspector({ alerts: false, historyIntervalMillis: 0, onError: (error) => errors.push(error) });
  t.after(() => inspector.close());
  return { inspector, errors };
}

function collect<T extends PoolscopeEventType>(inspector: Inspector, type: T): PoolscopeEventOf<T>[] {
  const events: PoolscopeEventOf<T>[] = [];
  inspector.on(type, (event) => {
    events.push(event);
  });
  return events;
}

function nextEvent<T extends PoolscopeEventType>(inspector: Inspector, type: T): Promise<PoolscopeEventOf<T>> {
  return eventOnce((listener) => inspector.on(type, listener), `a ${type} event`);
}

/** A file whose creation releases every task held on it (holdUntilFile). */
function gate(t: TestContext): { readonly path: string; open(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'poolscope-worker-gate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'open');
  return { path: file, open: () => writeFileSync(file, '') };
}

function piscina(t: TestContext, options: ConstructorParameters<typeof Piscina>[0]): Piscina {
  const pool = new Piscina({ filename: PISCINA_WORKER, ...options });
  t.after(() => pool.destroy());
  return pool;
}

type WorkerType = (typeof WORKER_TYPES)[number];

function workerpoolPool(t: TestContext, workerType: WorkerType, options: workerpool.WorkerPoolOptions = {}): ReturnType<typeof workerpool.pool> {
  const pool = workerpool.pool(WORKERPOOL_WORKER, { workerType, ...options });
  t.after(() => pool.terminate(true));
  return pool;
}

/** workerpool's exec as a native promise (its own promises are thenables). */
function exec(pool: ReturnType<typeof workerpool.pool>, method: string, params: unknown[]): Promise<unknown> {
  return Promise.resolve(pool.exec(method, params));
}

function live(view: WorkerPoolView): WorkerSnapshot[] {
  return view.snapshot().workers.filter((worker) => worker.status !== 'exited');
}

describe('Piscina (worker threads)', TEST_TIMEOUT, () => {
  test('stats and snapshot: profile, capacity = workers x tasks per worker, load per worker, queue', async (t) => {
    const { inspector, errors } = newInspector(t);
    const pool = piscina(t, { minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 2, atomics: 'async' });
    const view = trackPiscina(inspector, pool, { name: 'images' });
    const full = collect(inspector, 'worker-capacity-reached');
    const held = gate(t);
    const tasks = Array.from({ length: 5 }, () => pool.run(held.path, { name: 'holdUntilFile' }));
    await eventually(() => view.stats().capacityUsed === 4 && view.stats().queueSize === 1, () => JSON.stringify(view.stats()));
    const stats = view.stats();
    assert.equal(stats.driver, 'piscina');
    assert.equal(stats.profile, 'thread');
    assert.deepEqual([stats.workers, stats.tasksPerWorker, stats.capacity, stats.capacityAvailable], [2, 2, 4, 0]);
    assert.deepEqual([stats.busyWorkers, stats.availableWorkers, stats.averageLoadPerWorker], [2, 0, 2]);
    assert.deepEqual([stats.utilizationPercent, stats.level, stats.queueLimit], [100, 'CRITICAL', null]);
    const workers = live(view);
    assert.equal(workers.length, 2);
    for (const worker of workers) {
      assert.deepEqual([worker.profile, worker.capacity, worker.load, worker.status, worker.pid], ['thread', 2, 2, 'busy', null]);
      assert.equal(typeof worker.threadId, 'number');
    }
    assert.deepEqual(
      full.map((event) => [event.capacity, event.load, event.profile]).sort(),
      [
        [2, 2, 'thread'],
        [2, 2, 'thread'],
      ],
    );
    assert.deepEqual(new Set(full.map((event) => event.workerId)), new Set(workers.map((worker) => worker.id)));
    held.open();
    assert.deepEqual(await Promise.all(tasks), Array(5).fill('released'));
    const after = view.stats();
    assert.deepEqual([after.capacityUsed, after.level, after.queueSize], [0, 'LOW', 0]);
    assert.deepEqual([after.counters.tasksQueued, after.counters.tasksStarted, after.counters.tasksCompleted], [5, 5, 5]);
    assert.deepEqual([after.runTime.count, after.waitTime.count], [5, 5]);
    assert.deepEqual(JSON.parse(JSON.stringify(view.snapshot())).stats.capacity, 4);
    assert.deepEqual(errors, []);
  });

  test('a saturated pool: the caller gets Piscina\'s own error, and worker-pool-saturated is emitted', async (t) => {
    const { inspector } = newInspector(t);
    const pool = piscina(t, { minThreads: 1, maxThreads: 1, maxQueue: 1, atomics: 'async' });
    const view = trackPiscina(inspector, pool, { name: 'thumbs' });
    const held = gate(t);
    const running = pool.run(held.path, { name: 'holdUntilFile' });
    await eventually(() => view.stats().capacityUsed === 1, 'the first task running');
    const queued = pool.run(held.path, { name: 'holdUntilFile' });
    await eventually(() => view.stats().queueSize === 1, 'the second task queued');
    const saturated = nextEvent(inspector, 'worker-pool-saturated');
    await assert.rejects(pool.run(1, { name: 'sleep' }), { message: 'Task queue is at limit' });
    const event = await saturated;
    assert.equal(view.stats().counters.tasksStarted, 1, 'the refused task is not taken for the queued one starting');
    assert.deepEqual(
      [event.poolName, event.queueSize, event.queueLimit, event.busyWorkers, event.availableWorkers, event.rejectedTasks],
      ['thumbs', 1, 1, 1, 0, 1],
    );
    assert.match(event.message, /refused 1 task: its queue is at its limit \(1\/1\)/);
    held.open();
    assert.deepEqual(await Promise.all([running, queued]), ['released', 'released']);
    const counters = view.stats().counters;
    assert.deepEqual([counters.tasksRejected, counters.tasksStarted, counters.tasksCompleted, counters.tasksFailed], [1, 2, 2, 0]);
  });

  test('a worker leaking memory: memoryMb (its V8 heap, through poolscope/worker) grows across samples', async (t) => {
    const { inspector } = newInspector(t);
    const pool = piscina(t, { minThreads: 1, maxThreads: 1, atomics: 'async' });
    const view = trackPiscina(inspector, pool, { name: 'leaky' });
    await pool.run(1, { name: 'sleep' });
    await view.sampleMemory({ timeoutMillis: 5000 });
    const before = live(view)[0];
    assert.equal(before?.memoryStatus, 'sampled', JSON.stringify(before));
    assert.equal(before?.memorySource, 'v8-heap-used');
    await pool.run(24, { name: 'leak' });
    await pool.run(24, { name: 'leak' });
    await view.sampleMemory({ timeoutMillis: 5000 });
    const after = live(view)[0];
    assert.ok((after?.memoryMb ?? 0) > (before?.memoryMb ?? 0) + 24, `heap ${before?.memoryMb} MB -> ${after?.memoryMb} MB`);
    assert.ok((after?.memoryTrend?.growthMb ?? 0) > 24, JSON.stringify(after?.memoryTrend));
    assert.equal(view.stats().memory.sampledWorkers, 1);
  });

  test('without poolscope/worker in the worker file, memory reads not available (never 0), saying why', async (t) => {
    const { inspector } = newInspector(t);
    const pool = new Piscina({ filename: BARE_TASKS, minThreads: 1, maxThreads: 1 });
    t.after(() => pool.destroy());
    const view = trackPiscina(inspector, pool, { name: 'no-helper' });
    await pool.run(1, { name: 'sleep' });
    await view.sampleMemory({ timeoutMillis: 200 });
    await eventually(() => live(view)[0]?.memoryStatus === 'not-available', () => JSON.stringify(live(view)));
    const worker = live(view)[0];
    assert.equal(worker?.memoryMb, null);
    assert.match(worker?.memoryNote ?? '', /import 'poolscope\/worker'/);
    // Piscina's default atomics: 'sync' parks idle workers where they cannot answer: the note says so.
    assert.match(worker?.memoryNote ?? '', /atomics: 'async'/);
  });

  test('a crashing worker: status exited, worker-exited, and the pool runs the next task', async (t) => {
    const { inspector } = newInspector(t);
    const pool = piscina(t, { minThreads: 1, maxThreads: 1, atomics: 'async' });
    const view = trackPiscina(inspector, pool, { name: 'fragile' });
    await pool.run(1, { name: 'sleep' });
    const crashedId = live(view)[0]?.id;
    const exited = nextEvent(inspector, 'worker-exited');
    await assert.rejects(pool.run(3, { name: 'crash' }), { message: 'worker exited with code: 3' });
    const event = await exited;
    assert.deepEqual([event.poolName, event.workerId, event.exitCode, event.profile], ['fragile', crashedId, 3, 'thread']);
    assert.match(event.message, /exited without the pool asking \(exit code 3\)/);
    assert.equal(await pool.run(5, { name: 'sleep' }), 5);
    const snapshot = view.snapshot();
    const crashed = snapshot.workers.find((worker) => worker.id === crashedId);
    assert.deepEqual([crashed?.status, crashed?.exitCode, crashed?.crashed, crashed?.memoryMb], ['exited', 3, true, null]);
    assert.ok(snapshot.workers.some((worker) => worker.status !== 'exited' && worker.id !== crashedId), 'a new worker');
    assert.deepEqual([snapshot.stats.counters.workersCrashed, snapshot.stats.counters.workersExited], [1, 1]);
    assert.ok(snapshot.stats.counters.workersStarted >= 1);
  });

  test('worker-task-executed per task, with success and failure; the caller gets the task\'s own error', async (t) => {
    const { inspector } = newInspector(t);
    const pool = piscina(t, { minThreads: 1, maxThreads: 1, atomics: 'async' });
    trackPiscina(inspector, pool, { name: 'jobs' });
    const executed = collect(inspector, 'worker-task-executed');
    assert.equal(await pool.run(2, { name: 'sleep' }), 2);
    await assert.rejects(pool.run('boom', { name: 'fail' }), { message: 'boom' });
    assert.deepEqual(
      executed.map((event) => [event.poolName, event.ok]),
      [
        ['jobs', true],
        ['jobs', false],
      ],
    );
    for (const event of executed) assert.ok(event.durationMillis > 0 && event.waitMillis >= 0, JSON.stringify(event));
  });

  test('untrack restores run(); tracking twice or a non-pool is refused; closing the pool reports no crash', async (t) => {
    const { inspector } = newInspector(t);
    const pool = new Piscina({ filename: PISCINA_WORKER, minThreads: 1, maxThreads: 1 });
    const exited = collect(inspector, 'worker-exited');
    trackPiscina(inspector, pool, { name: 'a' });
    assert.equal(Object.hasOwn(pool, 'run'), true);
    assert.throws(() => trackPiscina(inspector, pool, { name: 'b' }), (error: unknown) => error instanceof PoolTrackingError && error.code === 'POOLSCOPE_ERR_POOL_ALREADY_TRACKED');
    assert.throws(() => trackPiscina(inspector, {} as Piscina, { name: 'c' }), (error: unknown) => error instanceof PoolTrackingError && error.code === 'POOLSCOPE_ERR_POOL_UNSUPPORTED');
    assert.equal(await pool.run(1, { name: 'sleep' }), 1);
    await pool.destroy();
    assert.deepEqual(exited, [], 'workers Piscina retires are not crashes');
    inspector.untrackWorkerPool('a');
    assert.equal(Object.hasOwn(pool, 'run'), false);
    assert.deepEqual(inspector.workerPoolNames(), []);
  });
});

for (const workerType of WORKER_TYPES) {
  describe(`workerpool, workerType '${workerType}'`, TEST_TIMEOUT, () => {
    test('stats and snapshot: profile, capacity, one task per worker, thread id or pid, queue', async (t) => {
      const { inspector, errors } = newInspector(t);
      const pool = workerpoolPool(t, workerType, { minWorkers: 2, maxWorkers: 2 });
      const view = trackWorkerpool(inspector, pool, { name: `wp-${workerType}` });
      const full = collect(inspector, 'worker-capacity-reached');
      const exited = collect(inspector, 'worker-exited');
      const held = gate(t);
      const tasks = Array.from({ length: 3 }, () => exec(pool, 'holdUntilFile', [held.path]));
      // A worker takes its first task while it starts; it counts as busy once it is ready.
      await eventually(() => view.stats().busyWorkers === 2 && view.stats().queueSize === 1, () => JSON.stringify(view.stats()));
      const stats = view.stats();
      assert.deepEqual([stats.driver, stats.profile], ['workerpool', workerType]);
      assert.deepEqual([stats.workers, stats.tasksPerWorker, stats.capacity, stats.capacityAvailable], [2, 1, 2, 0]);
      assert.deepEqual([stats.busyWorkers, stats.utilizationPercent, stats.level, stats.queueLimit], [2, 100, 'CRITICAL', null]);
      const workers = live(view);
      assert.equal(workers.length, 2);
      for (const worker of workers) {
        assert.deepEqual([worker.profile, worker.capacity, worker.load, worker.status], [workerType, 1, 1, 'busy']);
        if (workerType === 'thread') assert.deepEqual([typeof worker.threadId, worker.pid], ['number', null]);
        else assert.deepEqual([worker.threadId, typeof worker.pid], [null, 'number']);
      }
      assert.deepEqual(new Set(full.map((event) => event.workerId)), new Set(workers.map((worker) => worker.id)));
      held.open();
      assert.deepEqual(await Promise.all(tasks), Array(3).fill('released'));
      const after = view.stats();
      assert.deepEqual([after.capacityUsed, after.level, after.counters.tasksCompleted, after.runTime.count, after.waitTime.count], [0, 'LOW', 3, 3, 3]);
      await pool.terminate();
      assert.deepEqual(exited, [], 'workers the pool terminates are not crashes');
      assert.deepEqual(errors, []);
    });

    test('a saturated pool: the caller gets workerpool\'s own error, and worker-pool-saturated is emitted', async (t) => {
      const { inspector } = newInspector(t);
      const pool = workerpoolPool(t, workerType, { maxWorkers: 1, maxQueueSize: 1 });
      const view = trackWorkerpool(inspector, pool, { name: 'reports' });
      const saturated = collect(inspector, 'worker-pool-saturated');
      const held = gate(t);
      const running = exec(pool, 'holdUntilFile', [held.path]);
      const queued = exec(pool, 'holdUntilFile', [held.path]);
      await eventually(() => view.stats().busyWorkers === 1 && view.stats().queueSize === 1, () => JSON.stringify(view.stats()));
      assert.throws(() => pool.exec('sleep', [1]), { message: 'Max queue size of 1 reached' });
      assert.equal(saturated.length, 1);
      const event = saturated[0];
      assert.deepEqual([event?.queueSize, event?.queueLimit, event?.busyWorkers, event?.availableWorkers, event?.rejectedTasks], [1, 1, 1, 0, 1]);
      held.open();
      assert.deepEqual(await Promise.all([running, queued]), ['released', 'released']);
      assert.deepEqual([view.stats().counters.tasksRejected, view.stats().counters.tasksCompleted], [1, 2]);
    });

    test(`a worker leaking memory: memoryMb grows across samples (${workerType === 'thread' ? 'its V8 heap, through poolscope/worker' : 'its resident memory, from /proc'})`, { skip: workerType === 'process' && process.platform !== 'linux' && 'process memory is read from /proc (Linux)' }, async (t) => {
      const { inspector } = newInspector(t);
      const pool = workerpoolPool(t, workerType, { minWorkers: 1, maxWorkers: 1 });
      const view = trackWorkerpool(inspector, pool, { name: 'leaky' });
      await exec(pool, 'sleep', [1]);
      await view.sampleMemory({ timeoutMillis: 5000 });
      const before = live(view)[0];
      assert.equal(before?.memoryStatus, 'sampled', JSON.stringify(before));
      assert.equal(before?.memorySource, workerType === 'thread' ? 'v8-heap-used' : 'rss');
      await exec(pool, 'leak', [48]);
      await view.sampleMemory({ timeoutMillis: 5000 });
      const after = live(view)[0];
      assert.ok((after?.memoryMb ?? 0) > (before?.memoryMb ?? 0) + 24, `memory ${before?.memoryMb} MB -> ${after?.memoryMb} MB`);
      assert.ok((after?.memoryTrend?.growthMb ?? 0) > 24, JSON.stringify(after?.memoryTrend));
    });

    test('a crashing worker: status exited, worker-exited, and the pool runs the next task', async (t) => {
      const { inspector } = newInspector(t);
      const pool = workerpoolPool(t, workerType, { maxWorkers: 1 });
      const view = trackWorkerpool(inspector, pool, { name: 'fragile' });
      await exec(pool, 'sleep', [1]);
      const crashedId = live(view)[0]?.id;
      const exited = nextEvent(inspector, 'worker-exited');
      await assert.rejects(exec(pool, 'crash', [3]), /Workerpool Worker terminated Unexpectedly/);
      const event = await exited;
      assert.deepEqual([event.workerId, event.exitCode, event.profile], [crashedId, 3, workerType]);
      if (workerType === 'process') assert.equal(typeof event.pid, 'number');
      assert.equal(await exec(pool, 'sleep', [5]), 5);
      const snapshot = view.snapshot();
      const crashed = snapshot.workers.find((worker) => worker.id === crashedId);
      assert.deepEqual([crashed?.status, crashed?.exitCode, crashed?.crashed], ['exited', 3, true]);
      assert.equal(live(view).length, 1);
      assert.deepEqual([snapshot.stats.counters.workersCrashed, snapshot.stats.counters.workersStarted], [1, 2]);
    });

    test('worker-task-executed per task, naming its worker, with success and failure', async (t) => {
      const { inspector } = newInspector(t);
      const pool = workerpoolPool(t, workerType, { maxWorkers: 1 });
      const view = trackWorkerpool(inspector, pool, { name: 'jobs' });
      const executed = collect(inspector, 'worker-task-executed');
      assert.equal(await exec(pool, 'sleep', [2]), 2);
      await assert.rejects(exec(pool, 'fail', ['boom']), { message: 'boom' });
      const workerId = live(view)[0]?.id;
      assert.deepEqual(
        executed.map((event) => [event.workerId, event.ok]),
        [
          [workerId, true],
          [workerId, false],
        ],
      );
      for (const event of executed) assert.ok(event.durationMillis > 0 && event.waitMillis >= 0, JSON.stringify(event));
    });

    test('untrack restores exec(); tracking twice is refused', async (t) => {
      const { inspector } = newInspector(t);
      const pool = workerpoolPool(t, workerType, { maxWorkers: 1 });
      const view = trackWorkerpool(inspector, pool, { name: 'a' });
      assert.equal(await exec(pool, 'sleep', [1]), 1);
      assert.throws(() => trackWorkerpool(inspector, pool, { name: 'b' }), (error: unknown) => error instanceof PoolTrackingError && error.code === 'POOLSCOPE_ERR_POOL_ALREADY_TRACKED');
      inspector.untrackWorkerPool('a');
      assert.equal(view.closed, true);
      assert.equal(Object.hasOwn(pool, 'exec'), false);
      assert.equal(Object.hasOwn(pool, '_createWorkerHandler'), false);
      assert.equal(await exec(pool, 'sleep', [1]), 1);
      assert.equal(view.stats().counters.tasksQueued, 1, 'nothing counted after untrack');
    });
  });
}

test('poolscope/worker: a thread that loads it and has nothing else to do exits on its own (its channel is unref\'d)', async () => {
  const worker = new Worker(new URL('helper-only-worker.mjs', pathToFileURL(FIXTURES)));
  const code = await eventOnce(listenTo(worker, 'exit'), 'the worker thread to exit by itself');
  assert.equal(code, 0);
});

test('workerpool: a web-worker pool is refused (it runs in a browser)', async (t) => {
  const { inspector } = newInspector(t);
  const pool = workerpool.pool(WORKERPOOL_WORKER, { workerType: 'web' });
  t.after(() => pool.terminate(true));
  assert.throws(() => trackWorkerpool(inspector, pool, { name: 'web' }), (error: unknown) => error instanceof PoolTrackingError && error.code === 'POOLSCOPE_ERR_POOL_UNSUPPORTED');
  assert.throws(() => trackWorkerpool(inspector, { exec() {} } as never, { name: 'web' }), /needs a workerpool pool/);
});
