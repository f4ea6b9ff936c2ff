// The Prometheus exporter on a real PostgreSQL: two real pg.Pools driven into known states (one full with callers
// queued, one whose caller timed out), scraped for exact values, then linted by promtool.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type pg from 'pg';
import { trackPgPool } from '../../src/index.js';
import type { Inspector } from '../../src/index.js';
import { PrometheusExporter } from '../../src/exporters/prometheus-exporter.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS, METRIC_CATALOG } from '../../src/exporters/metric-catalog.js';
import { Inspector as CoreInspector } from '../../src/core/inspector.js';
import { Counter, Registry } from 'prom-client';
import { gunzipSync } from 'node:zlib';
import { gzipExposition } from '../../src/http/metrics-route.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { eventually, TestResources } from '../support/pg-test-kit.js';

let db: TestDatabase;
const res = new TestResources();
const exporters: PrometheusExporter[] = [];

before(async () => {
  db = await createTestDatabase('prom');
});
afterEach(async () => {
  for (const exporter of exporters.splice(0)) exporter.close();
  await res.closeAll();
});
after(() => db?.drop());

// ---- reading the exposition ----------------------------------------------------------------------------------------

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Samples of an exposition (every non-comment line must be `name{a="b",...} value`; the unit tests check the rest). */
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

/** The value of one series; fails unless exactly one sample matches. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  assert.equal(found.length, 1, `one sample ${name}${JSON.stringify(labels)}`);
  return found[0]?.value ?? NaN;
}

/** The values a pool shows for the catalogue's pool-level series. */
function poolView(samples: Sample[], pool: string): Record<string, number> {
  const l = { pool_name: pool };
  return {
    used: valueOf(samples, 'db_client_connection_usage', { ...l, state: 'used' }),
    idle: valueOf(samples, 'db_client_connection_usage', { ...l, state: 'idle' }),
    pending: valueOf(samples, 'db_client_connection_pending_requests', l),
    max: valueOf(samples, 'db_client_connection_max', l),
    timeouts: valueOf(samples, 'db_client_connection_timeouts_total', l),
    waitCount: valueOf(samples, 'db_client_connection_wait_time_seconds_count', l),
    waitInf: valueOf(samples, 'db_client_connection_wait_time_seconds_bucket', { ...l, le: '+Inf' }),
    useCount: valueOf(samples, 'db_client_connection_use_time_seconds_count', l),
    createCount: valueOf(samples, 'db_client_connection_create_time_seconds_count', l),
    utilization: valueOf(samples, 'poolscope_pool_utilization_ratio', l),
  };
}

// ---- driving real pools ------------------------------------------------------------------------------------------

interface KnownState {
  readonly inspector: Inspector;
  readonly exporter: PrometheusExporter;
  readonly orders: pg.Pool;
  readonly held: pg.PoolClient[];
  readonly waiting: Promise<pg.PoolClient>[];
  readonly reportsClient: pg.PoolClient;
}

/**
 * `orders` (max 3): three connections held, two callers queued behind them. `reports` (max 1): its connection held
 * and one caller that gave up after connectionTimeoutMillis.
 */
async function knownState(): Promise<KnownState> {
  const inspector = res.inspector();
  const orders = res.pool(db.url, { max: 3, connectionTimeoutMillis: 60_000 });
  const reports = res.pool(db.url, { max: 1, connectionTimeoutMillis: 30_000 });
  trackPgPool(inspector, orders, { name: 'orders' });
  trackPgPool(inspector, reports, { name: 'reports' });
  const exporter = new PrometheusExporter(inspector);
  exporters.push(exporter);

  const held = await Promise.all([orders.connect(), orders.connect(), orders.connect()]);
  const waiting = [orders.connect(), orders.connect()];
  await eventually(() => inspector.stats('orders').pending === 2, 'two callers queued on orders');

  const reportsClient = await reports.connect();
  // Opening the connection may take longer than 100 ms on a loaded machine; only the second caller must time out,
  // so the short timeout is set once the pool's only connection is held (pg-pool reads it at each connect()).
  reports.options.connectionTimeoutMillis = 100;
  await assert.rejects(reports.connect(), /timeout/i);
  return { inspector, exporter, orders, held, waiting, reportsClient };
}

async function finish(state: KnownState): Promise<void> {
  for (const client of state.held) client.release();
  for (const client of await Promise.all(state.waiting)) client.release();
  state.reportsClient.release();
  // pg-pool tells of a release before the client is back on its idle list: wait for both.
  await eventually(() => { const o = state.inspector.stats('orders'); return o.used === 0 && o.idle === 3; }, 'orders drained, all idle');
}

// ---- promtool ------------------------------------------------------------------------------------------------------

/** The promtool binary, or undefined when it is not installed. */
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

// ---- tests ---------------------------------------------------------------------------------------------------------

describe('Prometheus metrics of real pg pools', () => {
  test('3 held + 2 waiting, and a second pool with a timeout: exact values per pool, then after the waiters ran', async () => {
    const state = await knownState();
    const exposition = await state.exporter.metrics();
    let samples = samplesOf(exposition);
    for (const m of METRIC_CATALOG) assert.ok(exposition.includes(`# TYPE ${m.prometheusName} ${m.prometheusType}\n`), m.prometheusName);

    assert.deepEqual(poolView(samples, 'orders'), {
      used: 3,
      idle: 0,
      pending: 2,
      max: 3,
      timeouts: 0,
      waitCount: 3,
      waitInf: 3,
      useCount: 0,
      createCount: 3,
      utilization: 1,
    });
    assert.deepEqual(poolView(samples, 'reports'), {
      used: 1,
      idle: 0,
      pending: 0,
      max: 1,
      timeouts: 1,
      waitCount: 1,
      waitInf: 1,
      useCount: 0,
      createCount: 1,
      utilization: 1,
    });

    await finish(state);
    samples = samplesOf(await state.exporter.metrics());
    assert.deepEqual(poolView(samples, 'orders'), {
      used: 0,
      idle: 3,
      pending: 0,
      max: 3,
      timeouts: 0,
      waitCount: 5, // the two waiters got connections: a wait each
      waitInf: 5,
      useCount: 5,
      createCount: 3, // ...on connections handed back, not new ones
      utilization: 0,
    });
    const reports = poolView(samples, 'reports');
    assert.equal(reports.timeouts, 1);
    assert.equal(reports.waitCount, 1);
    assert.equal(reports.useCount, 1);
    // Buckets are cumulative and end at _count.
    const buckets = samples.filter((s) => s.name === 'db_client_connection_wait_time_seconds_bucket' && s.labels.pool_name === 'orders');
    assert.equal(buckets.length, DEFAULT_DURATION_BUCKETS_SECONDS.length + 1, 'the default bounds, then +Inf');
    assert.ok(buckets.every((s, i) => i === 0 || s.value >= (buckets[i - 1]?.value ?? 0)), 'cumulative');
    assert.ok(valueOf(samples, 'db_client_connection_wait_time_seconds_sum', { pool_name: 'orders' }) > 0, 'the waiters waited');
  });

  test('an untracked pool disappears from the next scrape; the other pool stays', async () => {
    const state = await knownState();
    await finish(state);
    state.inspector.untrack('reports');
    const samples = samplesOf(await state.exporter.metrics());
    const pools = new Set(samples.map((s) => s.labels.pool_name));
    assert.deepEqual([...pools], ['orders']);
    assert.equal(poolView(samples, 'orders').waitCount, 5);
  });

  test('promtool check metrics accepts the real exposition without a lint message', async (t) => {
    const promtool = findPromtool();
    if (promtool === undefined) {
      t.skip('promtool not installed: apt-get install prometheus');
      return;
    }
    const state = await knownState();
    const during = await state.exporter.metrics();
    await finish(state);
    const afterwards = await state.exporter.metrics();
    for (const text of [during, afterwards]) {
      assert.ok(text.includes('db_client_connection_wait_time_seconds_bucket{le="+Inf",pool_name="orders"}'));
      const { code, output } = await promtoolCheck(promtool, text);
      assert.equal(output.trim(), '', 'no lint output');
      assert.equal(code, 0, 'promtool exit code');
    }
    // The check is real: the mechanical semconv name would be rejected.
    const rejected = await promtoolCheck(
      promtool,
      '# HELP db_client_connection_count x\n# TYPE db_client_connection_count gauge\ndb_client_connection_count 1\n',
    );
    assert.notEqual(rejected.code, 0);
    assert.match(rejected.output, /_count/);
  });

  test('promtool accepts 1,000 pools on a shared registry with default labels, and the gzip body is the same text', async (t) => {
    const promtool = findPromtool();
    if (promtool === undefined) {
      t.skip('promtool not installed: apt-get install prometheus');
      return;
    }
    const clock = new FakeClock();
    const inspector = new CoreInspector({ clock, historyIntervalMillis: 0, alerts: false });
    t.after(() => inspector.close());
    const connect = (): void => undefined; // the adapter's wrapper, hidden from captured stacks
    for (let p = 0; p < 1000; p++) {
      const tracker = inspector.registerPool(new FakePoolAdapter({ max: 10, total: 3, idle: 2 }), { name: `tenant:${p}`, leakThresholdMillis: 0 });
      for (let i = 0; i < 5; i++) {
        const lease = tracker.checkoutStarted(connect);
        clock.advance((p * 7 + i * 13) % 50);
        tracker.checkoutSucceeded(lease, {}, null, i === 0, 'idle');
        clock.advance((p + i * 37) % 2000);
        tracker.releaseStarted(lease, 'idle', false, connect);
      }
    }
    const registry = new Registry();
    registry.setDefaultLabels({ service: 'billing' });
    new Counter({ name: 'app_requests_total', help: 'Requests.', registers: [registry] }).inc(2);
    const exporter = new PrometheusExporter(inspector, { registry });
    t.after(() => exporter.close());
    const text = await exporter.metrics();
    assert.ok(text.includes('db_client_connection_wait_time_seconds_bucket{le="+Inf",pool_name="tenant:999",service="billing"} 5\n'));
    const { code, output } = await promtoolCheck(promtool, text);
    assert.equal(output.trim(), '', 'no lint output');
    assert.equal(code, 0, 'promtool exit code');
    assert.equal(gunzipSync(await gzipExposition(text)).toString('utf8'), text);
  });
});
