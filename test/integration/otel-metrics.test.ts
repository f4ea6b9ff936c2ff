// The OpenTelemetry exporter on a real PostgreSQL, read through @opentelemetry/sdk-metrics: semconv names, units and
// attributes, exact values per pool, histogram counts, pools tracked later, untracked pools and close().
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import type { BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import { trackPgPool } from '../../src/index.js';
import type { Inspector } from '../../src/index.js';
import { OtelExporter } from '../../src/exporters/otel-exporter.js';
import { OptionsError } from '../../src/errors.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS, METRIC_CATALOG, WORKER_POOL_METRIC_CATALOG } from '../../src/exporters/metric-catalog.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually, TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  db = await createTestDatabase('otel');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await res.closeAll();
});
after(() => db?.drop());

/** A reader the test collects from directly. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}

  /** Every metric of the collection by name; fails on collection errors. */
  async read(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    assert.deepEqual(errors, [], 'no collection errors');
    const metrics = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        assert.ok(!metrics.has(metric.descriptor.name), `one stream per name: ${metric.descriptor.name}`);
        metrics.set(metric.descriptor.name, metric);
      }
    }
    return metrics;
  }
}

const POOL = 'db.client.connection.pool.name';
const STATE = 'db.client.connection.state';

function point(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string>): DataPoint<unknown> | undefined {
  const points: readonly DataPoint<unknown>[] = metrics.get(name)?.dataPoints ?? [];
  const wanted = JSON.stringify(Object.entries(attributes).sort());
  const found = points.filter((p) => JSON.stringify(Object.entries(p.attributes).sort()) === wanted);
  assert.ok(found.length <= 1, `at most one point ${name}${wanted}`);
  return found[0];
}

function numberAt(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string>): number | undefined {
  const value = point(metrics, name, attributes)?.value;
  assert.ok(value === undefined || typeof value === 'number', name);
  return value;
}

function histogramAt(metrics: Map<string, MetricData>, name: string, pool: string): Histogram | undefined {
  const value = point(metrics, name, { [POOL]: pool })?.value;
  if (value === undefined) return undefined;
  assert.ok(typeof value === 'object' && value !== null && 'buckets' in value && 'count' in value, `${name} is a histogram`);
  return value as Histogram;
}

function poolsIn(metrics: Map<string, MetricData>): string[] {
  const pools = new Set<string>();
  for (const metric of metrics.values()) for (const p of metric.dataPoints) pools.add(String(p.attributes[POOL]));
  return [...pools].sort();
}

/** What a pool shows through the observable instruments and the histogram counts. */
function poolView(metrics: Map<string, MetricData>, pool: string): Record<string, number | undefined> {
  const a = { [POOL]: pool };
  return {
    used: numberAt(metrics, 'db.client.connection.count', { ...a, [STATE]: 'used' }),
    idle: numberAt(metrics, 'db.client.connection.count', { ...a, [STATE]: 'idle' }),
    pending: numberAt(metrics, 'db.client.connection.pending_requests', a),
    max: numberAt(metrics, 'db.client.connection.max', a),
    idleMin: numberAt(metrics, 'db.client.connection.idle.min', a),
    timeouts: numberAt(metrics, 'db.client.connection.timeouts', a),
    utilization: numberAt(metrics, 'poolscope.pool.utilization', a),
    waitCount: histogramAt(metrics, 'db.client.connection.wait_time', pool)?.count,
    useCount: histogramAt(metrics, 'db.client.connection.use_time', pool)?.count,
    createCount: histogramAt(metrics, 'db.client.connection.create_time', pool)?.count,
  };
}

interface Setup {
  readonly inspector: Inspector;
  readonly cumulative: TestReader;
  readonly delta: TestReader;
  readonly exporter: OtelExporter;
  /** Batch callbacks added to and removed from the meter, with their instruments. */
  readonly batchCalls: { readonly kind: 'add' | 'remove'; readonly callback: unknown; readonly observables: readonly unknown[] }[];
}

function setup(): Setup {
  const inspector = res.inspector();
  const cumulative = new TestReader();
  const delta = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  const provider = new MeterProvider({ readers: [cumulative, delta] });
  cleanups.push(() => provider.shutdown());
  const meter = provider.getMeter('poolscope-test');
  const batchCalls: Setup['batchCalls'][number][] = [];
  // The real meter, with its batch-callback calls recorded (the SDK shows no trace of a callback left behind).
  const spied: Meter = Object.assign(Object.create(meter) as Meter, {
    addBatchObservableCallback: (callback: BatchObservableCallback, observables: Observable[]) => {
      batchCalls.push({ kind: 'add', callback, observables: [...observables] });
      meter.addBatchObservableCallback(callback, observables);
    },
    removeBatchObservableCallback: (callback: BatchObservableCallback, observables: Observable[]) => {
      batchCalls.push({ kind: 'remove', callback, observables: [...observables] });
      meter.removeBatchObservableCallback(callback, observables);
    },
  });
  const exporter = new OtelExporter(inspector, { meter: spied });
  cleanups.push(() => exporter.close());
  return { inspector, cumulative, delta, exporter, batchCalls };
}

/** `orders` (max 3): three held, two queued. `reports` (max 1): one held, one caller timed out. */
async function knownState(s: Setup): Promise<{ held: pg.PoolClient[]; waiting: Promise<pg.PoolClient>[]; reportsClient: pg.PoolClient }> {
  const orders = res.pool(db.url, { max: 3, connectionTimeoutMillis: 60_000 });
  const reports = res.pool(db.url, { max: 1, connectionTimeoutMillis: 30_000 });
  trackPgPool(s.inspector, orders, { name: 'orders' });
  trackPgPool(s.inspector, reports, { name: 'reports' });
  const held = await Promise.all([orders.connect(), orders.connect(), orders.connect()]);
  const waiting = [orders.connect(), orders.connect()];
  await eventually(() => s.inspector.stats('orders').pending === 2, 'two callers queued on orders');
  const reportsClient = await reports.connect();
  // Opening the connection may take longer than 100 ms on a loaded machine; only the second caller must time out,
  // so the short timeout is set once the pool's only connection is held (pg-pool reads it at each connect()).
  reports.options.connectionTimeoutMillis = 100;
  await assert.rejects(reports.connect(), /timeout/i);
  return { held, waiting, reportsClient };
}

describe('OpenTelemetry metrics of real pg pools', () => {
  test('semconv names, units, attributes and exact values per pool; histogram counts in seconds', async () => {
    const s = setup();
    const state = await knownState(s);

    let metrics = await s.cumulative.read();
    for (const m of METRIC_CATALOG) {
      const metric = metrics.get(m.otelName);
      if (m.otelName === 'db.client.connection.use_time') {
        assert.equal(metric, undefined, 'nothing released yet: no use_time point');
        continue;
      }
      assert.ok(metric !== undefined, `${m.otelName} reported`);
      assert.equal(metric.descriptor.unit, m.unit, `${m.otelName} unit`);
      assert.equal(metric.descriptor.description, m.help, `${m.otelName} description`);
      const expectedType = m.shape === 'histogram' ? DataPointType.HISTOGRAM : m.otelInstrument === 'ObservableGauge' ? DataPointType.GAUGE : DataPointType.SUM;
      assert.equal(metric.dataPointType, expectedType, `${m.otelName} data point type`);
      if (metric.dataPointType === DataPointType.SUM) {
        assert.equal(metric.isMonotonic, m.otelInstrument === 'ObservableCounter', `${m.otelName} monotonic`);
      }
      for (const p of metric.dataPoints) {
        assert.deepEqual(Object.keys(p.attributes).sort(), [...m.otelAttributes].sort(), `${m.otelName} attributes`);
      }
    }
    assert.deepEqual(poolView(metrics, 'orders'), {
      used: 3,
      idle: 0,
      pending: 2,
      max: 3,
      idleMin: 0,
      timeouts: 0,
      utilization: 1,
      waitCount: 3,
      useCount: undefined,
      createCount: 3,
    });
    assert.deepEqual(poolView(metrics, 'reports'), {
      used: 1,
      idle: 0,
      pending: 0,
      max: 1,
      idleMin: 0,
      timeouts: 1,
      utilization: 1,
      waitCount: 1,
      useCount: undefined,
      createCount: 1,
    });

    for (const client of state.held) client.release();
    for (const client of await Promise.all(state.waiting)) client.release();
    state.reportsClient.release();
    // pg-pool tells of a release before the client is back on its idle list: wait for both.
    await eventually(() => { const o = s.inspector.stats('orders'); return o.used === 0 && o.idle === 3; }, 'orders drained, all idle');

    metrics = await s.cumulative.read();
    assert.deepEqual(poolView(metrics, 'orders'), {
      used: 0,
      idle: 3,
      pending: 0,
      max: 3,
      idleMin: 0,
      timeouts: 0,
      utilization: 0,
      waitCount: 5,
      useCount: 5,
      createCount: 3,
    });
    const reports = poolView(metrics, 'reports');
    assert.equal(reports.timeouts, 1);
    assert.equal(reports.waitCount, 1);
    assert.equal(reports.useCount, 1);

    // Histograms: the advised boundaries (seconds), counts per bucket adding up, sums matching poolscope's own (ms).
    for (const name of ['db.client.connection.wait_time', 'db.client.connection.use_time', 'db.client.connection.create_time']) {
      const h = histogramAt(metrics, name, 'orders');
      assert.ok(h !== undefined, name);
      assert.deepEqual(h.buckets.boundaries, [...DEFAULT_DURATION_BUCKETS_SECONDS], `${name} boundaries`);
      assert.equal(
        h.buckets.counts.reduce((a, b) => a + b, 0),
        h.count,
        `${name} bucket counts add up`,
      );
    }
    const stats = s.inspector.stats('orders');
    const waitSum = histogramAt(metrics, 'db.client.connection.wait_time', 'orders')?.sum ?? NaN;
    assert.ok(Math.abs(waitSum - stats.waitTime.sumMillis / 1000) < 1e-5, `wait sum ${waitSum} s vs ${stats.waitTime.sumMillis} ms`);
  });

  test('a pool tracked later is attached; an untracked pool stops; close() stops everything', async () => {
    const s = setup();
    const first = res.pool(db.url, { max: 2 });
    trackPgPool(s.inspector, first, { name: 'first' });
    (await first.connect()).release();

    const late = res.pool(db.url, { max: 4 });
    trackPgPool(s.inspector, late, { name: 'late' }); // after the exporter was created
    (await late.connect()).release();
    (await late.connect()).release();

    let cumulative = await s.cumulative.read();
    let delta = await s.delta.read();
    assert.deepEqual(poolsIn(cumulative), ['first', 'late']);
    assert.equal(poolView(cumulative, 'late').waitCount, 2);
    assert.equal(poolView(cumulative, 'late').max, 4);
    assert.equal(poolView(cumulative, 'first').waitCount, 1, 'per-pool state: each pool its own count');
    assert.deepEqual(poolsIn(delta), ['first', 'late']);

    s.inspector.untrack('late');
    (await late.connect()).release(); // not tracked any more: nothing recorded
    (await first.connect()).release();
    delta = await s.delta.read();
    assert.deepEqual(poolsIn(delta), ['first'], 'the untracked pool is no longer observed');
    assert.equal(histogramAt(delta, 'db.client.connection.wait_time', 'first')?.count, 1, 'delta: one new checkout');
    cumulative = await s.cumulative.read();
    // sdk-metrics 2.x keeps the last cumulative values of series no longer observed (see metrics.md); they no longer move.
    assert.equal(poolView(cumulative, 'late').waitCount, 2);
    assert.equal(poolView(cumulative, 'first').waitCount, 2);

    // Each reader gets what was observed since its own last collection (the cumulative read above included):
    // drain the delta reader so that what follows shows only what happens after close().
    await s.delta.read();
    s.exporter.close();
    s.exporter.close();
    assert.equal(s.exporter.closed, true);
    (await first.connect()).release();
    delta = await s.delta.read();
    assert.deepEqual(poolsIn(delta), [], 'nothing observed or recorded after close()');
    const [added, removed, ...more] = s.batchCalls;
    assert.equal(added?.kind, 'add');
    assert.equal(removed?.kind, 'remove', 'close() removed the batch callback (once)');
    assert.equal(removed.callback, added.callback);
    assert.deepEqual(removed.observables, added.observables);
    assert.equal(added.observables.length, [...METRIC_CATALOG, ...WORKER_POOL_METRIC_CATALOG].filter((m) => m.shape !== 'histogram').length);
    assert.deepEqual(more, []);
    cumulative = await s.cumulative.read();
    assert.equal(poolView(cumulative, 'first').waitCount, 2, 'no record after close()');
  });

  test('invalid options fail with OptionsError (no meter, a non-meter, bad buckets or histograms)', () => {
    const inspector = res.inspector();
    const meter = new MeterProvider().getMeter('poolscope-test');
    const invalid: [unknown, string][] = [
      [undefined, 'options'],
      [{}, 'meter'],
      [{ meter: {} }, 'meter'],
      [{ meter, buckets: [1, 0.5] }, 'buckets'],
      [{ meter, histograms: 'no' }, 'histograms'],
    ];
    for (const [options, option] of invalid) {
      assert.throws(
        () => new OtelExporter(inspector, options as never),
        (error: unknown) => error instanceof OptionsError && error.option === option,
        option,
      );
    }
  });

  test('histograms: false records nothing on the checkout path and still reports the gauges', async () => {
    const inspector = res.inspector();
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    cleanups.push(() => provider.shutdown());
    const exporter = new OtelExporter(inspector, { meter: provider.getMeter('poolscope-test'), histograms: false });
    cleanups.push(() => exporter.close());
    const pool = res.pool(db.url, { max: 2 });
    trackPgPool(inspector, pool, { name: 'main' });
    const client = await pool.connect();
    const metrics = await reader.read();
    assert.equal(poolView(metrics, 'main').used, 1);
    for (const m of METRIC_CATALOG.filter((x) => x.shape === 'histogram')) assert.equal(metrics.has(m.otelName), false, m.otelName);
    client.release();
  });
});
