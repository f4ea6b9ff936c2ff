// Worker pool metrics on real pools (issue 16): a Piscina pool of worker threads and a workerpool pool of child
// processes running real tasks (test/fixtures/workers/), scraped through GET /metrics of the ops server for exact
// values, linted by promtool (skipped without it), read through OpenTelemetry's SDK, and their history. Tasks that
// must stay running while the test looks are held until the test creates a file, so nothing depends on timing.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Histogram as OtelHistogram, MetricData } from '@opentelemetry/sdk-metrics';
import { Piscina } from 'piscina';
import workerpool from 'workerpool';
import { Inspector } from '../../src/core/inspector.js';
import { trackPiscina } from '../../src/adapters/piscina/index.js';
import { trackWorkerpool } from '../../src/adapters/workerpool/index.js';
import { OtelExporter } from '../../src/exporters/otel-exporter.js';
import { PrometheusExporter } from '../../src/exporters/prometheus-exporter.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS, WORKER_POOL_METRIC_CATALOG } from '../../src/exporters/metric-catalog.js';
import { startOpsServer } from '../../src/http/node-server.js';
import type { WorkerPoolView } from '../../src/core/worker-pool-view.js';
import { eventually } from '../support/wait-for.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/workers/', import.meta.url));
const PISCINA_WORKER = pathToFileURL(path.join(FIXTURES, 'piscina-worker.mjs')).href;
const WORKERPOOL_WORKER = path.join(FIXTURES, 'workerpool-worker.mjs');
/** A bound per test against hangs (never a timing assertion). */
const TEST_TIMEOUT = { timeout: 60_000 };

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of an exposition (every non-comment line must be `name{a="b",...} value`). */
function samplesOf(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$/.exec(line);
    assert.ok(match !== null, `malformed line ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] ?? ''] = pair[2] ?? '';
    const raw = match[3] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: raw === '+Inf' ? Infinity : Number(raw) });
  }
  return samples;
}

/** The value of one series, or undefined when there is none; fails when several match. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  assert.ok(found.length <= 1, `at most one sample ${name}${wanted}`);
  return found[0]?.value;
}

/** promtool, or undefined when it is not installed. */
function findPromtool(): string | undefined {
  for (const candidate of ['promtool', '/usr/bin/promtool']) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (probe.error === undefined && probe.status === 0) return candidate;
  }
  return undefined;
}

function promtoolCheck(binary: string, text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

/** A reader the test collects from directly. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}

  async read(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    assert.deepEqual(errors, [], 'no collection errors');
    const metrics = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) metrics.set(metric.descriptor.name, metric);
    return metrics;
  }
}

interface TestPools {
  readonly inspector: Inspector;
  readonly images: WorkerPoolView;
  readonly reports: WorkerPoolView;
  /** Releases every held task and waits for them. */
  release(): Promise<void>;
  readonly errors: unknown[];
}

/**
 * `images`: Piscina, 2 threads x 2 tasks each, 5 tasks held (4 running, 1 queued). `reports`: workerpool processes,
 * 2 workers, queue limit 4, one task done, one failed, one held. Memory sampled (threads answer through
 * poolscope/worker, processes are read by pid).
 */
async function testPools(t: TestContext, inspectorOptions: ConstructorParameters<typeof Inspector>[0] = {}): Promise<TestPools> {
  const errors: unknown[] = [];
  const inspector = new Inspector({ alerts: false, historyIntervalMillis: 0, ...inspectorOptions, onError: (error) => errors.push(error) });
  t.after(() => inspector.close());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'poolscope-worker-metrics-'));
  const gate = path.join(dir, 'open');
  const piscina = new Piscina({ filename: PISCINA_WORKER, minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 2, atomics: 'async' });
  const images = trackPiscina(inspector, piscina, { name: 'images' });
  const pool = workerpool.pool(WORKERPOOL_WORKER, { workerType: 'process', minWorkers: 2, maxWorkers: 2, maxQueueSize: 4 });
  const reports = trackWorkerpool(inspector, pool, { name: 'reports' });
  // after() hooks run in the order they were added: release the held tasks, end the pools, then remove the gate.
  t.after(async () => {
    writeFileSync(gate, '');
    await piscina.destroy();
    await pool.terminate(true);
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(await pool.exec('echo', [1]), 1);
  await assert.rejects(Promise.resolve(pool.exec('fail', ['on purpose'])), /on purpose/);
  const held = [
    ...Array.from({ length: 5 }, () => piscina.run(gate, { name: 'holdUntilFile' })),
    Promise.resolve(pool.exec('holdUntilFile', [gate])),
  ];
  await eventually(() => images.stats().capacityUsed === 4 && images.stats().queueSize === 1, () => JSON.stringify(images.stats()));
  await eventually(() => reports.stats().capacityUsed === 1, () => JSON.stringify(reports.stats()));
  // Every worker's first memory reading (threads answer through poolscope/worker when their event loop is free; a
  // loaded machine may need more than one ask).
  await eventually(
    async () => {
      await Promise.all([images.sampleMemory(), reports.sampleMemory()]);
      // Process memory is read from /proc: elsewhere it is not available (and has no series).
      const views = process.platform === 'linux' ? [images, reports] : [images];
      return views.every((view) => view.snapshot().workers.every((worker) => worker.status === 'exited' || worker.memoryMb !== null));
    },
    () => `a memory reading of every worker: ${JSON.stringify([images, reports].map((view) => view.snapshot().workers.map((w) => w.memoryNote)))}`,
  );
  return {
    inspector,
    images,
    reports,
    errors,
    async release() {
      writeFileSync(gate, '');
      assert.deepEqual(await Promise.all(held), Array(6).fill('released'));
    },
  };
}

describe('worker pool metrics on real pools', TEST_TIMEOUT, () => {
  test('GET /metrics: exact values for a Piscina thread pool and a workerpool process pool; memory per worker', async (t) => {
    const pools = await testPools(t);
    const exporter = new PrometheusExporter(pools.inspector);
    t.after(() => exporter.close());
    const server = await startOpsServer(pools.inspector, { port: 0, metrics: exporter });
    t.after(() => server.close());
    const answer = await fetch(`${server.url}/metrics`);
    assert.equal(answer.status, 200);
    const text = await answer.text();
    for (const m of WORKER_POOL_METRIC_CATALOG) assert.ok(text.includes(`# TYPE ${m.prometheusName} ${m.prometheusType}\n`), m.prometheusName);
    const samples = samplesOf(text);
    const images = { pool_name: 'images', profile: 'thread' };
    const reports = { pool_name: 'reports', profile: 'process' };
    const at = (name: string, labels: Record<string, string>): number | undefined => valueOf(samples, `poolscope_worker_pool_${name}`, labels);

    assert.deepEqual(
      ['starting', 'available', 'busy', 'unknown'].map((status) => at('workers', { ...images, status })),
      [0, 0, 2, 0],
      'images: both threads at their 2 tasks',
    );
    assert.deepEqual(
      ['worker_max', 'capacity_limit', 'capacity_usage', 'utilization_ratio', 'queue_size', 'queue_limit'].map((name) => at(name, images)),
      [2, 4, 4, 1, 1, undefined],
      'images: 4 of 4 running, 1 queued, no queue limit (no series)',
    );
    assert.deepEqual(
      ['starting', 'available', 'busy', 'unknown'].map((status) => at('workers', { ...reports, status })),
      [0, 1, 1, 0],
      'reports: one process busy, one available',
    );
    assert.deepEqual(
      ['worker_max', 'capacity_limit', 'capacity_usage', 'utilization_ratio', 'queue_size', 'queue_limit'].map((name) => at(name, reports)),
      [2, 2, 1, 0.5, 0, 4],
    );
    assert.deepEqual(
      ['completed_tasks_total', 'failed_tasks_total', 'rejected_tasks_total', 'crashed_workers_total'].map((name) => at(name, reports)),
      [1, 1, 0, 0],
    );
    assert.equal(at('task_run_time_seconds_count', reports), 2, 'the task done and the one that failed');
    assert.equal(at('task_wait_time_seconds_count', reports), 3, 'every task that started');
    assert.equal(at('task_wait_time_seconds_bucket', { le: '+Inf', ...images }), 4, 'the 4 started of 5');
    assert.equal(samples.filter((s) => s.name === 'poolscope_worker_pool_task_wait_time_seconds_bucket' && s.labels.pool_name === 'images').length, DEFAULT_DURATION_BUCKETS_SECONDS.length + 1);

    // Memory: one series per live worker with a reading (testPools waited for every worker's first one; a reading is
    // only ever replaced by a newer one), its id as the label, real values in bytes.
    for (const [labels, view] of [[images, pools.images], [reports, pools.reports]] as const) {
      const ids = view.snapshot().workers.filter((worker) => worker.status !== 'exited').map((worker) => String(worker.id));
      assert.equal(ids.length, 2);
      const series = samples.filter((s) => s.name === 'poolscope_worker_pool_worker_memory_usage_bytes' && s.labels.pool_name === labels.pool_name);
      const expected = labels.profile === 'thread' || process.platform === 'linux' ? ids.sort() : [];
      assert.deepEqual(series.map((s) => s.labels.worker_id).sort(), expected, `${labels.pool_name}: a series per live worker`);
      for (const s of series) assert.ok(s.value > 1_000_000 && Number.isInteger(s.value), `${labels.pool_name} worker ${s.labels.worker_id}: ${s.value} bytes`);
    }

    await pools.release();
    const after = samplesOf(await (await fetch(`${server.url}/metrics`)).text());
    assert.equal(valueOf(after, 'poolscope_worker_pool_capacity_usage', images), 0);
    assert.equal(valueOf(after, 'poolscope_worker_pool_completed_tasks_total', images), 5);
    assert.equal(valueOf(after, 'poolscope_worker_pool_completed_tasks_total', reports), 2);
    pools.inspector.untrackWorkerPool('reports');
    const untracked = samplesOf(await exporter.metrics());
    assert.deepEqual([...new Set(untracked.filter((s) => s.name.startsWith('poolscope_worker_pool_')).map((s) => s.labels.pool_name))], ['images']);
    assert.deepEqual(pools.errors, []);
  });

  test('promtool check metrics accepts the exposition of real worker pools without a lint message', async (t) => {
    const promtool = findPromtool();
    if (promtool === undefined) {
      t.skip('promtool not installed: apt-get install prometheus');
      return;
    }
    const pools = await testPools(t);
    const exporter = new PrometheusExporter(pools.inspector);
    t.after(() => exporter.close());
    const during = await exporter.metrics();
    await pools.release();
    for (const text of [during, await exporter.metrics()]) {
      assert.ok(text.includes('poolscope_worker_pool_task_run_time_seconds_bucket{le="+Inf",pool_name="reports",profile="process"}'));
      const { code, output } = await promtoolCheck(promtool, text);
      assert.equal(output.trim(), '', 'no lint output');
      assert.equal(code, 0, 'promtool exit code');
    }
  });

  test('OpenTelemetry: the same values, and the task histograms recorded per task', async (t) => {
    const reader = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
    const provider = new MeterProvider({ readers: [reader] });
    t.after(() => provider.shutdown());
    const errors: unknown[] = [];
    const inspector = new Inspector({ alerts: false, historyIntervalMillis: 0, onError: (error) => errors.push(error) });
    t.after(() => inspector.close());
    // The exporter first: the pools are attached when tracked (worker-pool-tracked), so no task is missed.
    const exporter = new OtelExporter(inspector, { meter: provider.getMeter('poolscope-test') });
    t.after(() => exporter.close());
    const pool = workerpool.pool(WORKERPOOL_WORKER, { workerType: 'thread', maxWorkers: 2 });
    t.after(() => pool.terminate(true));
    trackWorkerpool(inspector, pool, { name: 'threads' });
    assert.deepEqual(await Promise.all([pool.exec('sleep', [5]), pool.exec('spin', [2]).then(() => 'spun'), pool.exec('echo', ['x'])]), [5, 'spun', 'x']);
    await assert.rejects(Promise.resolve(pool.exec('fail', [])));
    const metrics = await reader.read();
    const pointOf = (name: string): unknown => metrics.get(name)?.dataPoints.find((p) => p.attributes['poolscope.worker_pool.name'] === 'threads')?.value;
    assert.equal(pointOf('poolscope.worker_pool.completed_tasks'), 3);
    assert.equal(pointOf('poolscope.worker_pool.failed_tasks'), 1);
    assert.equal(pointOf('poolscope.worker_pool.capacity.limit'), 2);
    assert.equal((pointOf('poolscope.worker_pool.task.run_time') as OtelHistogram).count, 4);
    assert.equal((pointOf('poolscope.worker_pool.task.wait_time') as OtelHistogram).count, 4);
    assert.deepEqual(errors, []);
  });

  test('history: a sample per interval with capacity used, queue, the tasks done since the previous one and their percentiles', async (t) => {
    const pools = await testPools(t, { historyIntervalMillis: 50 });
    await eventually(
      () => pools.images.history().some((point) => point.capacityUsed === 4 && point.queueSize === 1 && point.utilizationPercent === 100),
      () => `a history sample with 4 of 4 running and 1 queued: ${JSON.stringify(pools.images.history().at(-1))}`,
    );
    await pools.release();
    await eventually(
      () => pools.images.history().reduce((sum, point) => sum + point.tasksCompleted, 0) === 5,
      () => `the 5 completions across the samples: ${JSON.stringify(pools.images.history().slice(-3))}`,
    );
    // Read twice in the same tick: the timer samples between ticks only.
    const points = pools.images.history();
    const since = Date.parse(points.at(-1)?.timestamp ?? '');
    assert.deepEqual(pools.images.history(since), points.slice(-1), 'since a wall-clock time');
    assert.ok(points.every((point) => point.capacity === 4 && point.workers === 2));
    const done = points.filter((point) => point.tasksCompleted > 0);
    assert.ok(done.every((point) => point.runP50Millis !== null && point.runP95Millis !== null && point.runP99Millis !== null), JSON.stringify(done));
    assert.ok(points.some((point) => point.memoryTotalMb !== null && point.memoryTotalMb > 1));
    // Each sample counts since the one before (the first since tracking): their sums are the pool's counters.
    const sum = (key: 'tasksCompleted' | 'tasksFailed'): number => pools.reports.history().reduce((total, point) => total + point[key], 0);
    await eventually(() => sum('tasksCompleted') === 2 && sum('tasksFailed') === 1, () => `reports: ${sum('tasksCompleted')} done, ${sum('tasksFailed')} failed`);
    assert.deepEqual(pools.errors, []);
  });
});
