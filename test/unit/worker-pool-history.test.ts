// A worker pool's history (view.history()) on a fake pool and a fake clock: what a sample holds, tasks counted
// between samples, the interval's percentiles, the ring's bound, `since`; and the worker-pool-tracked / -untracked
// events the exporters attach on.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolscopeEvent } from '../../src/core/pool-events.js';
import type { WorkerPoolTracker } from '../../src/core/worker-pool-tracker.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeWorkerPoolAdapter } from '../support/fake-worker-pool-adapter.js';

function setup(t: TestContext, historyRetentionMillis = 100 * 3_600_000): { clock: FakeClock; inspector: Inspector; adapter: FakeWorkerPoolAdapter; tracker: WorkerPoolTracker } {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  // The timer never fires within a test (an hour): the test samples by hand, as the timer would. The retention is
  // a number of samples (retention / interval): 100 by default.
  const inspector = new Inspector({ clock, alerts: false, historyIntervalMillis: 3_600_000, historyRetentionMillis, onError: (e) => errors.push(e) });
  t.after(() => {
    inspector.close();
    assert.deepEqual(errors, []);
  });
  const adapter = new FakeWorkerPoolAdapter('process');
  adapter.max = 4;
  adapter.add({ pid: 1, load: 1 });
  adapter.add({ pid: 2, load: 0 });
  const tracker = inspector.registerWorkerPool(adapter, { name: 'reports', memorySampleIntervalMillis: 0 });
  return { clock, inspector, adapter, tracker };
}

function task(clock: FakeClock, tracker: WorkerPoolTracker, wait: number, run: number, ok = true): void {
  const t = tracker.taskQueued();
  clock.advance(wait);
  tracker.taskStarted(t);
  clock.advance(run);
  tracker.taskFinished(t, ok);
}

describe('WorkerPoolView#history()', () => {
  test('each sample: the pool at that moment, the tasks since the previous sample and their percentiles', (t) => {
    const { clock, adapter, tracker } = setup(t);
    assert.deepEqual(tracker.view.history(), [], 'no sample yet');
    task(clock, tracker, 2, 10);
    task(clock, tracker, 4, 20, false);
    adapter.queue = 3;
    tracker.sampleHistory();
    clock.advance(1000);
    adapter.live[1]!.load = 1;
    adapter.queue = 0;
    tracker.sampleHistory();
    const [first, second] = tracker.view.history();
    assert.deepEqual(first, {
      timestamp: new Date(clock.toWallMillis(1036)).toISOString(),
      workers: 2,
      capacity: 4,
      capacityUsed: 1,
      utilizationPercent: 25,
      queueSize: 3,
      tasksCompleted: 1,
      tasksFailed: 1,
      tasksRejected: 0,
      runP50Millis: first?.runP50Millis,
      runP95Millis: first?.runP95Millis,
      runP99Millis: first?.runP99Millis,
      waitP50Millis: first?.waitP50Millis,
      waitP95Millis: first?.waitP95Millis,
      waitP99Millis: first?.waitP99Millis,
      memoryTotalMb: null,
    });
    // Percentiles come from log-scale buckets (within about 9%), clamped to what was recorded.
    assert.ok(Math.abs((first?.runP50Millis ?? 0) - 10) <= 1, `run p50 ${first?.runP50Millis}`);
    assert.equal(first?.runP99Millis, 20, 'the largest run time, clamped to the maximum');
    assert.ok(Math.abs((first?.waitP50Millis ?? 0) - 2) <= 0.2, `wait p50 ${first?.waitP50Millis}`);
    assert.deepEqual(
      [second?.capacityUsed, second?.utilizationPercent, second?.queueSize, second?.tasksCompleted, second?.tasksFailed, second?.runP95Millis, second?.waitP95Millis],
      [2, 50, 0, 0, 0, null, null],
      'nothing ended in the second interval: no percentiles (null, never 0)',
    );
  });

  test('memory: the live workers\' latest readings, summed (this process, read by pid)', (t) => {
    const { adapter, tracker } = setup(t);
    adapter.live[0]!.pid = process.pid;
    tracker.view.stats(); // a read samples process workers at once
    tracker.sampleHistory();
    const total = tracker.view.history()[0]?.memoryTotalMb;
    if (process.platform === 'linux') assert.ok(total !== null && total !== undefined && total > 1, `memory ${total}`);
    else assert.equal(total, null);
  });

  test('bounded by the retention; since a wall-clock time; nothing after untracking', (t) => {
    const { clock, inspector, tracker } = setup(t, 3 * 3_600_000);
    for (let i = 0; i < 5; i++) {
      task(clock, tracker, 1, 1);
      tracker.sampleHistory();
      clock.advance(1000);
    }
    const points = tracker.view.history();
    assert.equal(points.length, 3, 'retention / interval samples kept');
    assert.deepEqual(points.map((p) => p.tasksCompleted), [1, 1, 1]);
    const last = points.at(-1);
    assert.deepEqual(tracker.view.history(Date.parse(last?.timestamp ?? '')), [last]);
    inspector.untrackWorkerPool('reports');
    tracker.sampleHistory();
    assert.equal(tracker.view.history().length, 3);
  });
});

describe('worker-pool-tracked / worker-pool-untracked', () => {
  test('registering, untracking and closing announce each worker pool once', (t) => {
    const { inspector } = setup(t);
    const events: PoolscopeEvent[] = [];
    inspector.on('worker-pool-tracked', (event) => events.push(event));
    inspector.on('worker-pool-untracked', (event) => events.push(event));
    const thread = new FakeWorkerPoolAdapter('thread');
    inspector.registerWorkerPool(thread, { name: 'images' });
    inspector.untrackWorkerPool('images');
    inspector.registerWorkerPool(new FakeWorkerPoolAdapter('thread'), { name: 'images' });
    inspector.close();
    assert.deepEqual(events, [
      { type: 'worker-pool-tracked', poolName: 'images', driver: 'fake', profile: 'thread' },
      { type: 'worker-pool-untracked', poolName: 'images' },
      { type: 'worker-pool-tracked', poolName: 'images', driver: 'fake', profile: 'thread' },
      { type: 'worker-pool-untracked', poolName: 'reports' },
      { type: 'worker-pool-untracked', poolName: 'images' },
    ]);
  });
});
