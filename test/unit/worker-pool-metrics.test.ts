// The worker pool metrics (WORKER_POOL_METRIC_CATALOG): the catalogue's naming rules, what each definition reads from
// fixed readings (memory not available: no sample, never 0), the exact Prometheus text of fixed readings, and both
// exporters on fake worker pools driven by a fake clock (pools that come and go, histograms per task in OpenTelemetry).
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram as OtelHistogram, MetricData } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { Histogram } from '../../src/core/histogram.js';
import { Inspector } from '../../src/core/inspector.js';
import type { WorkerPoolStats, WorkerSnapshot } from '../../src/core/worker-pool-stats.js';
import {
  DEFAULT_DURATION_BUCKETS_SECONDS,
  METRIC_CATALOG,
  OTEL_WORKER_POOL_NAME_ATTRIBUTE,
  OTEL_WORKER_POOL_PROFILE_ATTRIBUTE,
  OTEL_WORKER_STATUS_ATTRIBUTE,
  OTEL_WORKER_ID_ATTRIBUTE,
  PROMETHEUS_POOL_NAME_LABEL,
  PROMETHEUS_PROFILE_LABEL,
  WORKER_POOL_METRIC_CATALOG,
} from '../../src/exporters/metric-catalog.js';
import { OtelExporter } from '../../src/exporters/otel-exporter.js';
import { PrometheusExporter } from '../../src/exporters/prometheus-exporter.js';
import { WorkerPoolExposition, type WorkerPoolReading } from '../../src/exporters/worker-pool-exposition.js';
import { EMPTY_DISTRIBUTION } from '../support/pool-stats-fixture.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakeWorkerPoolAdapter } from '../support/fake-worker-pool-adapter.js';

const FORMAT = { openMetrics: false, defaultLabels: {} };

/** Stats of a thread pool with every field a distinct value, so a metric reading the wrong one shows. */
function statsFixture(over: Partial<WorkerPoolStats> = {}): WorkerPoolStats {
  return {
    poolName: 'images',
    driver: 'piscina',
    timestamp: '2026-01-01T00:00:00.000Z',
    profile: 'thread',
    workers: 11,
    busyWorkers: 3,
    availableWorkers: 4,
    startingWorkers: 2,
    minWorkers: 1,
    maxWorkers: 12,
    tasksPerWorker: 2,
    capacity: 24,
    capacityUsed: 6,
    capacityAvailable: 18,
    utilizationPercent: 25,
    level: 'LOW',
    averageLoadPerWorker: 0.55,
    queueSize: 7,
    queueLimit: 50,
    counters: {
      tasksQueued: 101,
      tasksStarted: 102,
      tasksCompleted: 103,
      tasksFailed: 104,
      tasksRejected: 105,
      workersStarted: 106,
      workersExited: 107,
      workersCrashed: 108,
      workerErrors: 109,
    },
    trackedForMillis: 60_000,
    runTime: EMPTY_DISTRIBUTION,
    waitTime: EMPTY_DISTRIBUTION,
    memory: { sampledWorkers: 1, totalMb: 12.5, averageMb: 12.5, minMb: 12.5, maxMb: 12.5 },
    ...over,
  };
}

/** A live worker with a memory reading of `memoryMb`, or none (`not-available`) when null. */
function workerFixture(id: number, memoryMb: number | null, over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    id,
    threadId: 10 + id,
    pid: null,
    profile: 'thread',
    capacity: 2,
    load: 1,
    status: 'available',
    startedAt: '2026-01-01T00:00:00.000Z',
    exitedAt: null,
    exitCode: null,
    exitSignal: null,
    crashed: false,
    lastError: null,
    memoryMb,
    memoryStatus: memoryMb === null ? 'not-available' : 'sampled',
    memorySource: 'v8-heap-used',
    memorySampledAt: memoryMb === null ? null : '2026-01-01T00:00:00.000Z',
    memoryNote: memoryMb === null ? "no answer from the worker thread: load poolscope/worker in the worker's file" : null,
    memoryTrend: null,
    ...over,
  };
}

function definition(id: string): (typeof WORKER_POOL_METRIC_CATALOG)[number] {
  const found = WORKER_POOL_METRIC_CATALOG.find((m) => m.id === id);
  assert.ok(found !== undefined, id);
  return found;
}

describe('WORKER_POOL_METRIC_CATALOG', () => {
  test('names are unique across both catalogues, poolscope.worker_pool.* in OpenTelemetry, lint-clean in Prometheus', () => {
    const all = [...METRIC_CATALOG, ...WORKER_POOL_METRIC_CATALOG];
    for (const key of ['id', 'otelName', 'prometheusName'] as const) {
      const values = all.map((m) => m[key]);
      assert.deepEqual(values.filter((v, i) => values.indexOf(v) !== i), [], `duplicate ${key}`);
    }
    for (const m of WORKER_POOL_METRIC_CATALOG) {
      const name = m.prometheusName;
      assert.equal(m.origin, 'poolscope', name);
      assert.match(m.otelName, /^poolscope\.worker_pool(\.[a-z][a-z0-9_]*)+$/, m.otelName);
      assert.match(name, /^poolscope_worker_pool_[a-z0-9_]+$/, name);
      assert.equal(name.endsWith('_total'), m.prometheusType === 'counter', `${name}: _total exactly on counters`);
      if (m.prometheusType !== 'histogram') assert.doesNotMatch(name, /_(count|sum|bucket)$/, `${name}: no histogram suffix`);
      assert.equal(m.shape === 'histogram', m.prometheusType === 'histogram', name);
      const suffix: Record<string, RegExp> = { s: /_seconds$/, By: /_bytes$/, '1': /_ratio$/ };
      if (suffix[m.unit] !== undefined) assert.match(name, suffix[m.unit] ?? /$/, `${name}: unit ${m.unit}`);
      assert.ok(['s', 'By', '1'].includes(m.unit) || /^\{[a-z]+\}$/.test(m.unit), `${m.otelName}: UCUM unit ${m.unit}`);
      const instruments: Record<string, readonly string[]> = {
        counter: ['ObservableCounter'],
        gauge: ['ObservableUpDownCounter', 'ObservableGauge'],
        histogram: ['Histogram'],
      };
      assert.ok(instruments[m.prometheusType]?.includes(m.otelInstrument), `${m.otelName}: ${m.otelInstrument}`);
      // Every series names its pool and profile; per status adds the status, per worker the worker's id.
      assert.deepEqual(m.prometheusLabels.slice(0, 2), [PROMETHEUS_POOL_NAME_LABEL, PROMETHEUS_PROFILE_LABEL], name);
      assert.deepEqual(m.otelAttributes.slice(0, 2), [OTEL_WORKER_POOL_NAME_ATTRIBUTE, OTEL_WORKER_POOL_PROFILE_ATTRIBUTE], m.otelName);
      const extra = { 'per-status': ['status', OTEL_WORKER_STATUS_ATTRIBUTE], 'per-worker': ['worker_id', OTEL_WORKER_ID_ATTRIBUTE] }[m.shape as string];
      assert.deepEqual(m.prometheusLabels.slice(2), extra === undefined ? [] : [extra[0]], name);
      assert.deepEqual(m.otelAttributes.slice(2), extra === undefined ? [] : [extra[1]], m.otelName);
      assert.ok(m.help.length > 0 && !m.help.includes('\n'), `${name}: one-line help`);
    }
  });

  test('each definition reads its own field; a queue without a limit and a pool without capacity read right', () => {
    const stats = statsFixture();
    const read: Record<string, unknown> = {};
    for (const m of WORKER_POOL_METRIC_CATALOG) {
      if (m.shape === 'scalar') read[m.id] = m.read(stats);
      else if (m.shape === 'per-status') read[m.id] = Object.fromEntries(['starting', 'available', 'busy', 'unknown'].map((s) => [s, m.read(stats, s as 'busy')]));
      else if (m.shape === 'per-worker') read[m.id] = m.read(workerFixture(1, 12.5));
      else read[m.id] = m.durationKind;
    }
    assert.deepEqual(read, {
      worker_pool_worker_count: { starting: 2, available: 4, busy: 3, unknown: 2 },
      worker_pool_worker_max: 12,
      worker_pool_capacity_limit: 24,
      worker_pool_capacity_usage: 6,
      worker_pool_utilization: 0.25,
      worker_pool_queue_size: 7,
      worker_pool_queue_limit: 50,
      worker_pool_completed_tasks: 103,
      worker_pool_failed_tasks: 104,
      worker_pool_rejected_tasks: 105,
      worker_pool_crashed_workers: 108,
      worker_pool_task_wait_time: 'wait_time',
      worker_pool_task_run_time: 'run_time',
      worker_pool_worker_memory_usage: 12.5 * 1024 * 1024,
    });
    const limit = definition('worker_pool_queue_limit');
    assert.ok(limit.shape === 'scalar');
    assert.equal(limit.read(statsFixture({ queueLimit: null })), null, 'unbounded: no value');
    const utilization = definition('worker_pool_utilization');
    assert.ok(utilization.shape === 'scalar');
    assert.equal(utilization.read(statsFixture({ capacity: 0, capacityUsed: 0 })), 0, 'no division by zero');
    assert.equal(utilization.read(statsFixture({ capacity: 3, capacityUsed: 1 })), 1 / 3, 'the exact ratio, not the rounded percent');
  });

  test('memory per worker: bytes of the latest reading; nothing (never 0) when not available, pending or exited', () => {
    const memory = definition('worker_pool_worker_memory_usage');
    assert.ok(memory.shape === 'per-worker');
    assert.equal(memory.read(workerFixture(1, 48.25, { memoryStatus: 'sampled', memorySource: 'rss' })), 48.25 * 1048576);
    assert.equal(memory.read(workerFixture(1, 0.01)), 10486, 'rounded to whole bytes');
    assert.equal(memory.read(workerFixture(1, null)), null, 'not available');
    assert.equal(memory.read(workerFixture(1, null, { memoryStatus: 'pending', memoryNote: 'asked the worker thread; no answer yet' })), null, 'pending');
    assert.equal(memory.read(workerFixture(1, 30, { status: 'exited', memoryStatus: 'not-available' })), null, 'exited');
  });
});

describe('WorkerPoolExposition: the text of fixed readings', () => {
  function reading(): WorkerPoolReading {
    const runTime = new Histogram();
    const waitTime = new Histogram();
    for (const millis of [0.5, 3, 40, 700]) runTime.record(millis);
    waitTime.record(2);
    return {
      poolName: 'images',
      profile: 'thread',
      stats: statsFixture({ queueLimit: null }),
      workers: [workerFixture(1, 9.5), workerFixture(2, null), workerFixture(3, null, { status: 'starting', memoryStatus: 'pending' })],
      distributions: { runTime, waitTime },
    };
  }

  test('every shape, exact lines: no queue limit line when unbounded, memory only for the worker that has a reading', () => {
    const exposition = new WorkerPoolExposition(DEFAULT_DURATION_BUCKETS_SECONDS);
    const text = WORKER_POOL_METRIC_CATALOG.map((m) => exposition.family(m, [reading()], FORMAT)).join('\n\n');
    const lines = text.split('\n').filter((line) => !line.startsWith('#') && line !== '');
    const at = (prefix: string): string[] => lines.filter((line) => line.startsWith(prefix));
    const pool = 'pool_name="images",profile="thread"';
    assert.deepEqual(at('poolscope_worker_pool_workers{'), [
      `poolscope_worker_pool_workers{${pool},status="starting"} 2`,
      `poolscope_worker_pool_workers{${pool},status="available"} 4`,
      `poolscope_worker_pool_workers{${pool},status="busy"} 3`,
      `poolscope_worker_pool_workers{${pool},status="unknown"} 2`,
    ]);
    assert.deepEqual(at('poolscope_worker_pool_capacity_'), [`poolscope_worker_pool_capacity_limit{${pool}} 24`, `poolscope_worker_pool_capacity_usage{${pool}} 6`]);
    assert.deepEqual(at('poolscope_worker_pool_utilization_ratio'), [`poolscope_worker_pool_utilization_ratio{${pool}} 0.25`]);
    assert.deepEqual(at('poolscope_worker_pool_queue_'), [`poolscope_worker_pool_queue_size{${pool}} 7`], 'no queue_limit sample when unbounded');
    assert.ok(text.includes('# TYPE poolscope_worker_pool_queue_limit gauge'), 'the family is still declared');
    assert.deepEqual(at('poolscope_worker_pool_completed_tasks_total'), [`poolscope_worker_pool_completed_tasks_total{${pool}} 103`]);
    assert.deepEqual(at('poolscope_worker_pool_crashed_workers_total'), [`poolscope_worker_pool_crashed_workers_total{${pool}} 108`]);
    assert.deepEqual(at('poolscope_worker_pool_worker_memory_usage_bytes'), [
      `poolscope_worker_pool_worker_memory_usage_bytes{${pool},worker_id="1"} ${9.5 * 1048576}`,
    ]);
    // Histograms in seconds, cumulative, +Inf = _count, exact _sum.
    const run = at('poolscope_worker_pool_task_run_time_seconds');
    assert.deepEqual(run.slice(0, 4), [
      `poolscope_worker_pool_task_run_time_seconds_bucket{le="0.001",${pool}} 1`,
      `poolscope_worker_pool_task_run_time_seconds_bucket{le="0.005",${pool}} 2`,
      `poolscope_worker_pool_task_run_time_seconds_bucket{le="0.01",${pool}} 2`,
      `poolscope_worker_pool_task_run_time_seconds_bucket{le="0.05",${pool}} 3`,
    ]);
    assert.deepEqual(run.slice(-3), [
      `poolscope_worker_pool_task_run_time_seconds_bucket{le="+Inf",${pool}} 4`,
      `poolscope_worker_pool_task_run_time_seconds_sum{${pool}} 0.7435`,
      `poolscope_worker_pool_task_run_time_seconds_count{${pool}} 4`,
    ]);
    assert.equal(at('poolscope_worker_pool_task_wait_time_seconds_count')[0], `poolscope_worker_pool_task_wait_time_seconds_count{${pool}} 1`);
  });

  test('OpenMetrics: counter families without _total, samples with it; default labels after the own ones', () => {
    const exposition = new WorkerPoolExposition([1]);
    const text = exposition.family(definition('worker_pool_failed_tasks'), [reading()], { openMetrics: true, defaultLabels: { region: 'eu', profile: 'x' } });
    assert.equal(
      text,
      '# HELP poolscope_worker_pool_failed_tasks ' +
        `${definition('worker_pool_failed_tasks').help}\n# TYPE poolscope_worker_pool_failed_tasks counter\n` +
        'poolscope_worker_pool_failed_tasks_total{pool_name="images",profile="thread",region="eu"} 104',
    );
  });
});

// ---- both exporters on fake worker pools ---------------------------------------------------------------------------

interface Setup {
  readonly clock: FakeClock;
  readonly inspector: Inspector;
}

function setup(t: TestContext): Setup {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock, historyIntervalMillis: 0, alerts: false, onError: (error) => errors.push(error) });
  t.after(() => {
    inspector.close();
    assert.deepEqual(errors, [], 'no error reached onError');
  });
  return { clock, inspector };
}

/** A thread pool of two workers (loads 2 and 1 of 2) and a queue of 3 of 10. */
function threadPool(s: Setup, name: string): { adapter: FakeWorkerPoolAdapter; tracker: ReturnType<Inspector['registerWorkerPool']> } {
  const adapter = new FakeWorkerPoolAdapter('thread');
  adapter.perWorker = 2;
  adapter.max = 2;
  adapter.queue = 3;
  adapter.limit = 10;
  adapter.add({ threadId: 21, load: 2 });
  adapter.add({ threadId: 22, load: 1 });
  const tracker = s.inspector.registerWorkerPool(adapter, { name, memorySampleIntervalMillis: 0 });
  return { adapter, tracker };
}

/** Runs a task: `wait` ms queued, `run` ms on a worker. */
function task(s: Setup, tracker: ReturnType<Inspector['registerWorkerPool']>, wait: number, run: number, ok = true): void {
  const t = tracker.taskQueued();
  s.clock.advance(wait);
  tracker.taskStarted(t);
  s.clock.advance(run);
  tracker.taskFinished(t, ok);
}

describe('PrometheusExporter: worker pools', () => {
  test('values read at scrape time; a worker pool tracked later appears, an untracked one disappears', async (t) => {
    const s = setup(t);
    const registry = new Registry();
    const exporter = new PrometheusExporter(s.inspector, { registry });
    t.after(() => exporter.close());
    assert.doesNotMatch(await exporter.metrics(), /pool_name="images"/);

    const { adapter, tracker } = threadPool(s, 'images');
    task(s, tracker, 5, 20);
    task(s, tracker, 1, 2, false);
    let text = await exporter.metrics();
    assert.ok(text.includes('poolscope_worker_pool_capacity_usage{pool_name="images",profile="thread"} 3\n'), 'loads 2 + 1');
    assert.ok(text.includes('poolscope_worker_pool_utilization_ratio{pool_name="images",profile="thread"} 0.75\n'));
    assert.ok(text.includes('poolscope_worker_pool_queue_limit{pool_name="images",profile="thread"} 10\n'));
    assert.ok(text.includes('poolscope_worker_pool_workers{pool_name="images",profile="thread",status="busy"} 1\n'));
    assert.ok(text.includes('poolscope_worker_pool_completed_tasks_total{pool_name="images",profile="thread"} 1\n'));
    assert.ok(text.includes('poolscope_worker_pool_failed_tasks_total{pool_name="images",profile="thread"} 1\n'));
    assert.ok(text.includes('poolscope_worker_pool_task_wait_time_seconds_sum{pool_name="images",profile="thread"} 0.006\n'));
    assert.ok(text.includes('poolscope_worker_pool_task_run_time_seconds_count{pool_name="images",profile="thread"} 2\n'));
    assert.doesNotMatch(text, /worker_memory_usage_bytes\{/, 'threads that never answered: no memory sample');
    assert.equal(text, await registry.metrics(), "the same text as prom-client's serializer");

    adapter.live[0]!.load = 0;
    adapter.queue = 0;
    text = await exporter.metrics();
    assert.ok(text.includes('poolscope_worker_pool_capacity_usage{pool_name="images",profile="thread"} 1\n'), 'read again at the next scrape');
    assert.ok(text.includes('poolscope_worker_pool_queue_size{pool_name="images",profile="thread"} 0\n'));

    s.inspector.untrackWorkerPool('images');
    assert.doesNotMatch(await exporter.metrics(), /pool_name="images"/);
  });
});

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

function pointsOf(metrics: Map<string, MetricData>, name: string, pool: string): DataPoint<unknown>[] {
  return [...(metrics.get(name)?.dataPoints ?? [])].filter((p) => p.attributes[OTEL_WORKER_POOL_NAME_ATTRIBUTE] === pool);
}

describe('OtelExporter: worker pools', () => {
  function otel(t: TestContext, s: Setup, histograms = true): { reader: TestReader; exporter: OtelExporter } {
    const reader = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
    const provider = new MeterProvider({ readers: [reader] });
    const exporter = new OtelExporter(s.inspector, { meter: provider.getMeter('poolscope-test'), histograms });
    t.after(async () => {
      exporter.close();
      await provider.shutdown();
    });
    return { reader, exporter };
  }

  test('names, units, attributes and values; task histograms recorded per task, in seconds', async (t) => {
    const s = setup(t);
    const early = threadPool(s, 'early');
    const { reader } = otel(t, s);
    task(s, early.tracker, 4, 10);
    const late = threadPool(s, 'late'); // tracked after the exporter: attached on worker-pool-tracked
    task(s, late.tracker, 2, 30);
    task(s, late.tracker, 2, 50);
    const metrics = await reader.read();
    for (const m of WORKER_POOL_METRIC_CATALOG) {
      const metric = metrics.get(m.otelName);
      if (m.shape === 'per-worker') {
        assert.equal(metric?.dataPoints.length ?? 0, 0, 'no memory reading: no point');
        continue;
      }
      assert.ok(metric !== undefined, `${m.otelName} reported`);
      assert.equal(metric.descriptor.unit, m.unit, m.otelName);
      assert.equal(metric.descriptor.description, m.help, m.otelName);
      const type = m.shape === 'histogram' ? DataPointType.HISTOGRAM : m.otelInstrument === 'ObservableGauge' ? DataPointType.GAUGE : DataPointType.SUM;
      assert.equal(metric.dataPointType, type, m.otelName);
      for (const p of metric.dataPoints) assert.deepEqual(Object.keys(p.attributes).sort(), [...m.otelAttributes].sort(), m.otelName);
    }
    const value = (name: string, pool: string, status?: string): unknown =>
      pointsOf(metrics, name, pool).find((p) => status === undefined || p.attributes[OTEL_WORKER_STATUS_ATTRIBUTE] === status)?.value;
    assert.equal(value('poolscope.worker_pool.capacity.usage', 'late'), 3);
    assert.equal(value('poolscope.worker_pool.utilization', 'late'), 0.75);
    assert.equal(value('poolscope.worker_pool.worker.count', 'late', 'busy'), 1);
    assert.equal(value('poolscope.worker_pool.worker.count', 'late', 'available'), 1);
    assert.equal(value('poolscope.worker_pool.completed_tasks', 'late'), 2);
    assert.equal(pointsOf(metrics, 'poolscope.worker_pool.task.run_time', 'late')[0]?.attributes[OTEL_WORKER_POOL_PROFILE_ATTRIBUTE], 'thread');
    const run = value('poolscope.worker_pool.task.run_time', 'late') as OtelHistogram;
    assert.deepEqual([run.count, run.sum], [2, 0.08]);
    const wait = value('poolscope.worker_pool.task.wait_time', 'early') as OtelHistogram;
    assert.deepEqual([wait.count, wait.sum], [1, 0.004]);
  });

  test('an untracked worker pool is neither observed nor recorded; close() detaches; histograms: false records nothing', async (t) => {
    const s = setup(t);
    const gone = threadPool(s, 'gone');
    const { reader, exporter } = otel(t, s);
    s.inspector.untrackWorkerPool('gone');
    task(s, gone.tracker, 1, 1);
    let metrics = await reader.read();
    assert.deepEqual(pointsOf(metrics, 'poolscope.worker_pool.capacity.usage', 'gone'), []);
    assert.deepEqual(pointsOf(metrics, 'poolscope.worker_pool.task.run_time', 'gone'), []);

    const kept = threadPool(s, 'kept');
    exporter.close();
    task(s, kept.tracker, 1, 1);
    metrics = await reader.read();
    assert.deepEqual(pointsOf(metrics, 'poolscope.worker_pool.task.run_time', 'kept'), [], 'nothing recorded after close()');

    const quiet = otel(t, s, false);
    task(s, kept.tracker, 1, 1);
    metrics = await quiet.reader.read();
    assert.equal(metrics.has('poolscope.worker_pool.task.run_time'), false);
    assert.equal(pointsOf(metrics, 'poolscope.worker_pool.completed_tasks', 'kept')[0]?.value, 2);
  });
});
