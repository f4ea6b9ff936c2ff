// GET /api/worker-pools, /api/worker-pools/:name and the worker pools in /api/recommendations, socket-free
// (OpsRequest in, OpsResponse out) on fake worker pools in known states.
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Inspector } from '../../src/core/inspector.js';
import type { WorkerProfile } from '../../src/core/worker-pool-adapter.js';
import { createOpsHandler, type OpsHandler } from '../../src/http/ops-handler.js';
import { opsRequestOf } from '../../src/http/ops-request.js';
import type { OpsResponse } from '../../src/http/ops-response.js';
import type { PoolListReport } from '../../src/http/pool-api-routes.js';
import type { RecommendationsReport } from '../../src/http/recommendations-route.js';
import type { WorkerPoolDetailView, WorkerPoolListReport } from '../../src/http/worker-pool-routes.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';
import { FakeWorkerPoolAdapter } from '../support/fake-worker-pool-adapter.js';

interface Setup {
  readonly inspector: Inspector;
  readonly clock: FakeClock;
  readonly handler: OpsHandler;
  readonly errors: unknown[];
}

function setup(t: TestContext): Setup {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, alerts: false, onError: (error) => errors.push(error) });
  t.after(() => inspector.close());
  return { inspector, clock, handler: createOpsHandler(inspector, { onError: (error) => errors.push(error) }), errors };
}

/** A fake pool of `workers` workers, each running `load` tasks (thread ids 101.. or this process's pid). */
function addWorkerPool(inspector: Inspector, name: string, profile: WorkerProfile, state: { workers: number; load: number; max?: number; min?: number }): FakeWorkerPoolAdapter {
  const adapter = new FakeWorkerPoolAdapter(profile);
  adapter.max = state.max ?? state.workers;
  adapter.min = state.min ?? 0;
  for (let i = 0; i < state.workers; i += 1) {
    // A process worker's memory is read from /proc/<pid>: this process stands in for the child.
    adapter.add(profile === 'thread' ? { threadId: 101 + i, load: state.load } : { pid: process.pid, load: state.load });
  }
  inspector.registerWorkerPool(adapter, { name, memorySampleIntervalMillis: 0 });
  return adapter;
}

async function get(handler: OpsHandler, path: string, init: { method?: string; remoteAddress?: string } = {}): Promise<OpsResponse> {
  return handler.handle(opsRequestOf(init.method ?? 'GET', path, {}, init.remoteAddress ?? '127.0.0.1'));
}

function json<T>(response: OpsResponse): T {
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  return JSON.parse(String(response.body)) as T;
}

describe('GET /api/worker-pools', () => {
  test('no worker pool: an empty list', async (t) => {
    const { handler } = setup(t);
    const response = await get(handler, '/api/worker-pools');
    assert.equal(response.status, 200);
    const body = json<WorkerPoolListReport>(response);
    assert.deepEqual(Object.keys(body), ['timestamp', 'workerPools']);
    assert.deepEqual(body.workerPools, []);
  });

  test("every worker pool's stats, settings and memory notes, in tracking order; no workers in the list", async (t) => {
    const { inspector, clock, handler, errors } = setup(t);
    addWorkerPool(inspector, 'images', 'thread', { workers: 2, load: 1, max: 2 });
    addWorkerPool(inspector, 'reports', 'process', { workers: 1, load: 0, max: 3 });
    await get(handler, '/api/worker-pools'); // asks the threads; nobody answers them here
    clock.advance(1500);
    const body = json<WorkerPoolListReport>(await get(handler, '/api/worker-pools'));
    assert.deepEqual(body.workerPools.map((p) => [p.poolName, p.driver, p.profile, p.stats.capacity, p.stats.capacityUsed, p.stats.level]), [
      ['images', 'fake', 'thread', 2, 2, 'CRITICAL'],
      ['reports', 'fake', 'process', 3, 0, 'LOW'],
    ]);
    const [images, reports] = body.workerPools;
    assert.deepEqual(Object.keys(images ?? {}), ['poolName', 'driver', 'profile', 'stats', 'config', 'memoryNotes']);
    assert.deepEqual(images?.memoryNotes, [
      { note: "no answer from the worker thread: load poolscope/worker in the worker's file (import 'poolscope/worker')", workers: 2 },
    ]);
    assert.equal(images?.stats.memory.sampledWorkers, 0);
    if (process.platform === 'linux') {
      assert.deepEqual(reports?.memoryNotes, [], 'the process worker was read from /proc');
      assert.equal(reports?.stats.memory.sampledWorkers, 1);
    }
    assert.deepEqual(reports?.config, { maxWorkers: 3 });
    assert.deepEqual(errors, []);
  });

  test('worker pools and connection pools are listed apart, even under one name', async (t) => {
    const { inspector, handler } = setup(t);
    inspector.registerPool(new FakePoolAdapter({ max: 10 }), { name: 'main', leakThresholdMillis: 0 });
    addWorkerPool(inspector, 'main', 'thread', { workers: 1, load: 0 });
    assert.deepEqual(json<PoolListReport>(await get(handler, '/api/pools')).pools.map((p) => p.driver), ['fake']);
    assert.deepEqual(json<WorkerPoolListReport>(await get(handler, '/api/worker-pools')).workerPools.map((p) => p.profile), ['thread']);
    assert.equal(json<WorkerPoolDetailView>(await get(handler, '/api/worker-pools/main')).profile, 'thread');
  });
});

describe('GET /api/worker-pools/:name', () => {
  test('one worker pool with every worker (live by id, then exited); the name is percent-decoded', async (t) => {
    const { inspector, handler } = setup(t);
    const adapter = addWorkerPool(inspector, 'tenant:42', 'thread', { workers: 3, load: 1, max: 4 });
    await get(handler, '/api/worker-pools/tenant%3A42');
    const gone = adapter.live[2];
    assert.ok(gone !== undefined);
    adapter.remove(gone);
    const body = json<WorkerPoolDetailView>(await get(handler, '/api/worker-pools/tenant%3A42'));
    assert.deepEqual(Object.keys(body), ['poolName', 'driver', 'profile', 'stats', 'config', 'memoryNotes', 'takenAt', 'workers']);
    assert.equal(body.poolName, 'tenant:42');
    assert.equal(body.takenAt, body.stats.timestamp);
    assert.deepEqual(body.workers.map((w) => [w.id, w.threadId, w.status, w.load]), [
      [1, 101, 'busy', 1],
      [2, 102, 'busy', 1],
      [3, 103, 'exited', null],
    ]);
    assert.deepEqual(body.memoryNotes, [{ note: 'asked the worker thread; no answer yet', workers: 2 }], 'exited workers are not counted');
  });

  test('404 for an unknown name (listing the worker pools), 400 for bad encoding, HEAD without a body, 403 outside', async (t) => {
    const { inspector, handler } = setup(t);
    addWorkerPool(inspector, 'images', 'thread', { workers: 1, load: 0 });
    inspector.registerPool(new FakePoolAdapter({ max: 10 }), { name: 'main', leakThresholdMillis: 0 });
    const missing = await get(handler, '/api/worker-pools/main');
    assert.equal(missing.status, 404);
    assert.deepEqual(json(missing), {
      error: 'POOLSCOPE_ERR_POOL_NOT_TRACKED',
      message: 'No worker pool named "main" is tracked. Tracked worker pools: images.',
    });
    const bad = await get(handler, '/api/worker-pools/%E0%A4%A');
    assert.equal(bad.status, 400);
    assert.equal(json<{ error: string }>(bad).error, 'POOLSCOPE_ERR_HTTP_BAD_REQUEST');
    const head = await get(handler, '/api/worker-pools/images', { method: 'HEAD' });
    assert.deepEqual([head.status, head.body, head.headers['content-type']], [200, '', 'application/json; charset=utf-8']);
    assert.equal((await get(handler, '/api/worker-pools/images/x')).status, 404, 'one path segment only');
    for (const path of ['/api/worker-pools', '/api/worker-pools/images']) {
      const refused = await get(handler, path, { remoteAddress: '203.0.113.7' });
      assert.equal(refused.status, 403, path);
    }
    assert.equal((await get(handler, '/api/worker-pools', { method: 'POST' })).status, 405);
  });
});

describe('GET /api/recommendations with worker pools', () => {
  test('judges every worker pool; ?pool= names a worker pool, a connection pool or both; 404 names both lists', async (t) => {
    const { inspector, handler } = setup(t);
    addWorkerPool(inspector, 'images', 'thread', { workers: 2, load: 1, max: 2 });
    addWorkerPool(inspector, 'quiet', 'thread', { workers: 2, load: 0, max: 2 });
    inspector.registerPool(new FakePoolAdapter({ max: 10 }), { name: 'main', leakThresholdMillis: 0 });

    const all = json<RecommendationsReport>(await get(handler, '/api/recommendations')).recommendations;
    assert.deepEqual(all.map((r) => [r.id, r.poolName, r.severity]), [['worker-pool-utilization', 'images', 'critical']]);
    const images = json<RecommendationsReport>(await get(handler, '/api/recommendations?pool=images')).recommendations;
    assert.deepEqual(images.map((r) => r.id), ['worker-pool-utilization']);
    assert.deepEqual(json<RecommendationsReport>(await get(handler, '/api/recommendations?pool=quiet')).recommendations, []);
    assert.deepEqual(json<RecommendationsReport>(await get(handler, '/api/recommendations?pool=main')).recommendations, []);

    const unknown = await get(handler, '/api/recommendations?pool=nope');
    assert.equal(unknown.status, 404);
    assert.deepEqual(json(unknown), {
      error: 'POOLSCOPE_ERR_POOL_NOT_TRACKED',
      message: 'No pool named "nope" is tracked. Tracked pools: main. Tracked worker pools: images, quiet.',
    });
  });
});
