import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram as PromHistogram, Registry } from 'prom-client';
import type { OpenMetricsContentType, RegistryContentType } from 'prom-client';
import { Inspector } from '../../src/core/inspector.js';
import type { PoolTracker } from '../../src/core/pool-tracker.js';
import type { Lease, TransactionStatus } from '../../src/core/lease.js';
import { OptionsError } from '../../src/errors.js';
import { PrometheusExporter } from '../../src/exporters/prometheus-exporter.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS, METRIC_CATALOG, WORKER_POOL_METRIC_CATALOG } from '../../src/exporters/metric-catalog.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePoolAdapter } from '../support/fake-pool-adapter.js';
import { FakeWorkerPoolAdapter } from '../support/fake-worker-pool-adapter.js';

/** Every family the exporter registers: connection pools', then worker pools'. */
const ALL_FAMILIES = [...METRIC_CATALOG, ...WORKER_POOL_METRIC_CATALOG];

// ---- a strict parser of the Prometheus text format (0.0.4) ------------------------------------------------------
// prom-client has no text parser, so this one is written for the test. It rejects anything a scraper could read
// differently: samples before their TYPE, interleaved families, duplicate series, malformed labels or values, and
// histograms whose buckets are not cumulative or whose +Inf bucket differs from _count.

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Family {
  readonly name: string;
  help: string | undefined;
  type: string | undefined;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const family = (name: string): Family => {
    assert.match(name, METRIC_NAME, `metric name ${name}`);
    let found = families.get(name);
    if (found === undefined) {
      found = { name, help: undefined, type: undefined, samples: [] };
      families.set(name, found);
    }
    assert.equal(found.samples.length, 0, `HELP/TYPE of ${name} after its samples`);
    current = found;
    return found;
  };
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line === '') continue;
    let match = /^# HELP (\S+) (.*)$/.exec(line);
    if (match !== null) {
      const f = family(match[1] ?? '');
      assert.equal(f.help, undefined, `second HELP, ${where}`);
      f.help = match[2] ?? '';
      continue;
    }
    match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match !== null) {
      const f = family(match[1] ?? '');
      assert.equal(f.type, undefined, `second TYPE, ${where}`);
      assert.ok(TYPES.has(match[2] ?? ''), `unknown type, ${where}`);
      f.type = match[2];
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment, ${where}`);
    match = /^([^\s{]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match !== null, `malformed sample, ${where}`);
    const name = match[1] ?? '';
    assert.match(name, METRIC_NAME, where);
    const labels = parseLabels(match[2] ?? '', where);
    const rawValue = match[3] ?? '';
    assert.match(rawValue, FLOAT, `value, ${where}`);
    const value = rawValue.endsWith('Inf') ? (rawValue.startsWith('-') ? -Infinity : Infinity) : Number(rawValue);
    assert.ok(current !== undefined, `sample before any TYPE, ${where}`);
    const base = current.type === 'histogram' ? name.replace(/_(bucket|sum|count)$/, '') : name;
    assert.equal(base, current.name, `sample outside its family (interleaved or undeclared), ${where}`);
    assert.ok(current.type !== undefined, `sample before TYPE, ${where}`);
    if (current.type === 'histogram') {
      assert.notEqual(name, current.name, `histogram sample without _bucket/_sum/_count, ${where}`);
      assert.equal(name.endsWith('_bucket'), 'le' in labels, `le exactly on _bucket samples, ${where}`);
    }
    const key = `${name}{${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',')}}`;
    assert.ok(!seen.has(key), `duplicate series ${key}`);
    seen.add(key);
    current.samples.push({ name, labels, value });
  }
  for (const f of families.values()) {
    assert.notEqual(f.type, undefined, `${f.name} has a TYPE`);
    assert.ok(f.help !== undefined && f.help.length > 0, `${f.name} has a HELP`);
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

function parseLabels(body: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    assert.ok(eq > i, `label name, ${where}`);
    const name = body.slice(i, eq);
    assert.match(name, LABEL_NAME, `label name, ${where}`);
    assert.equal(body[eq + 1], '"', `label value quoted, ${where}`);
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = body[j];
      assert.ok(c !== undefined, `unterminated label value, ${where}`);
      if (c === '"') break;
      if (c === '\\') {
        const next = body[j + 1];
        assert.ok(next === '\\' || next === '"' || next === 'n', `bad escape, ${where}`);
        value += next === 'n' ? '\n' : next;
        j += 2;
        continue;
      }
      value += c;
      j += 1;
    }
    assert.ok(!(name in labels), `duplicate label ${name}, ${where}`);
    labels[name] = value;
    i = j + 1;
    if (i < body.length) {
      assert.equal(body[i], ',', `labels separated by commas, ${where}`);
      i += 1;
      assert.ok(i < body.length, `no trailing comma, ${where}`);
    }
  }
  return labels;
}

/** Per label set: ascending le, cumulative counts, +Inf present and equal to _count, _sum present. */
function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (g === undefined) {
      g = { buckets: [] };
      groups.set(key, g);
    }
    if (s.name.endsWith('_bucket')) g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    else if (s.name.endsWith('_sum')) g.sum = s.value;
    else g.count = s.value;
  }
  for (const [key, g] of groups) {
    assert.ok(g.buckets.length > 0 && g.sum !== undefined && g.count !== undefined, `${f.name}${key}: buckets, _sum, _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      const [prevLe, prevCount] = g.buckets[i - 1] ?? [0, 0];
      const [le, count] = g.buckets[i] ?? [0, 0];
      assert.ok(le > prevLe, `${f.name}${key}: le ascending`);
      assert.ok(count >= prevCount, `${f.name}${key}: cumulative buckets`);
    }
    const last = g.buckets.at(-1);
    assert.equal(last?.[0], Infinity, `${f.name}${key}: +Inf bucket last`);
    assert.equal(last?.[1], g.count, `${f.name}${key}: +Inf bucket equals _count`);
  }
}

function valueOf(families: Map<string, Family>, sampleName: string, labels: Record<string, string>): number | undefined {
  const familyName = families.has(sampleName) ? sampleName : sampleName.replace(/_(bucket|sum|count)$/, '');
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = families
    .get(familyName)
    ?.samples.filter((s) => s.name === sampleName && JSON.stringify(Object.entries(s.labels).sort()) === wanted);
  assert.ok(found === undefined || found.length <= 1, 'at most one sample per series');
  return found?.[0]?.value;
}

/** The cumulative bucket counts of a pool's histogram, in le order, without +Inf. */
function bucketsOf(families: Map<string, Family>, name: string, pool: string): { le: string; value: number }[] {
  return (families.get(name)?.samples ?? [])
    .filter((s) => s.name === `${name}_bucket` && s.labels.pool_name === pool && s.labels.le !== '+Inf')
    .map((s) => ({ le: s.labels.le ?? '', value: s.value }));
}

function poolsIn(families: Map<string, Family>): string[] {
  const pools = new Set<string>();
  for (const f of families.values()) for (const s of f.samples) if (s.labels.pool_name !== undefined) pools.add(s.labels.pool_name);
  return [...pools].sort();
}

// ---- fixtures ----------------------------------------------------------------------------------------------------

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

function hide(): void {}

function checkout(s: Setup, tracker: PoolTracker, waitMillis: number, created = false): Lease {
  const lease = tracker.checkoutStarted(hide);
  s.clock.advance(waitMillis);
  tracker.checkoutSucceeded(lease, {}, 1000 + lease.id, created, 'idle');
  return lease;
}

function release(tracker: PoolTracker, lease: Lease, status: TransactionStatus = 'idle'): void {
  tracker.releaseStarted(lease, status, false, hide);
}

function exporterFor(t: TestContext, inspector: Inspector, options?: ConstructorParameters<typeof PrometheusExporter>[1]): PrometheusExporter {
  const exporter = new PrometheusExporter(inspector, options);
  t.after(() => exporter.close());
  return exporter;
}

const WAIT = 'db_client_connection_wait_time_seconds';
const USE = 'db_client_connection_use_time_seconds';
const CREATE = 'db_client_connection_create_time_seconds';
const DEFAULT_LES = DEFAULT_DURATION_BUCKETS_SECONDS.map(String);

function cumulative(values: number[]): { le: string; value: number }[] {
  assert.equal(values.length, DEFAULT_LES.length);
  return values.map((value, i) => ({ le: DEFAULT_LES[i] ?? '', value }));
}

// ---- tests -------------------------------------------------------------------------------------------------------

describe('PrometheusExporter: exposition', () => {
  test('two pools, every metric with its exact value, in a strictly valid exposition', async (t) => {
    const s = setup(t);
    const ordersAdapter = new FakePoolAdapter({ max: 10, min: 2, total: 4, idle: 2 });
    const orders = s.inspector.registerPool(ordersAdapter, { name: 'orders', leakThresholdMillis: 0 });
    const reports = s.inspector.registerPool(new FakePoolAdapter({ max: 2, min: 0, total: 2, idle: 0 }), {
      name: 'reports',
      leakThresholdMillis: 1000,
    });
    const exporter = exporterFor(t, s.inspector);

    // orders: a checkout that opened a connection (3 ms), one served at once (0.25 ms); the first is released
    // 40.25 ms later inside a transaction (dirty), then released again (double).
    const o1 = checkout(s, orders, 3, true);
    checkout(s, orders, 0.25);
    s.clock.advance(40);
    release(orders, o1, 'in-transaction');
    orders.releaseRepeated(o1, hide);
    ordersAdapter.set({ waiting: 1 });

    // reports: two checkouts fill it (saturation snapshot follows), a third times out; both held past the threshold.
    checkout(s, reports, 0.05, true);
    checkout(s, reports, 1.5, true);
    const r3 = reports.checkoutStarted(hide);
    s.clock.advance(30);
    reports.checkoutFailed(r3, true, 'timeout exceeded when trying to connect');
    s.clock.advance(1000);
    reports.sweepLeaks();
    await new Promise((resolve) => setImmediate(resolve)); // the saturation snapshot runs off the checkout path

    const families = parseExposition(await exporter.metrics());
    assert.deepEqual(
      [...families.keys()].sort(),
      ALL_FAMILIES.map((m) => m.prometheusName).sort(),
      'exactly the catalogues, nothing else in a fresh registry',
    );
    for (const m of ALL_FAMILIES) {
      const f = families.get(m.prometheusName);
      assert.equal(f?.type, m.prometheusType, m.prometheusName);
      assert.equal(f?.help, m.help, m.prometheusName);
    }
    assert.deepEqual(poolsIn(families), ['orders', 'reports']);

    const expected: Record<string, { orders: number; reports: number }> = {
      db_client_connection_max: { orders: 10, reports: 2 },
      db_client_connection_idle_min: { orders: 2, reports: 0 },
      db_client_connection_pending_requests: { orders: 1, reports: 0 },
      db_client_connection_timeouts_total: { orders: 0, reports: 1 },
      poolscope_pool_utilization_ratio: { orders: 0.1, reports: 1 },
      poolscope_pool_leaks_suspected_total: { orders: 0, reports: 2 },
      poolscope_pool_dirty_releases_total: { orders: 1, reports: 0 },
      poolscope_pool_double_releases_total: { orders: 1, reports: 0 },
      poolscope_pool_foreign_releases_total: { orders: 0, reports: 0 },
      poolscope_pool_releases_in_flight_total: { orders: 0, reports: 0 },
      poolscope_pool_saturation_snapshots_total: { orders: 0, reports: 1 },
      [`${WAIT}_count`]: { orders: 2, reports: 2 },
      [`${CREATE}_count`]: { orders: 1, reports: 2 },
      [`${USE}_count`]: { orders: 1, reports: 0 },
    };
    for (const [name, values] of Object.entries(expected)) {
      for (const pool of ['orders', 'reports'] as const) {
        assert.equal(valueOf(families, name, { pool_name: pool }), values[pool], `${name}{pool_name="${pool}"}`);
      }
    }
    const usage = families.get('db_client_connection_usage')?.samples.map((x) => `${x.labels.pool_name}/${x.labels.state}=${x.value}`);
    assert.deepEqual(usage?.sort(), ['orders/idle=2', 'orders/used=1', 'reports/idle=0', 'reports/used=2']);

    // Durations in seconds; sums exact.
    assert.ok(Math.abs((valueOf(families, `${WAIT}_sum`, { pool_name: 'orders' }) ?? NaN) - 0.00325) < 1e-12);
    assert.ok(Math.abs((valueOf(families, `${WAIT}_sum`, { pool_name: 'reports' }) ?? NaN) - 0.00155) < 1e-12);
    assert.ok(Math.abs((valueOf(families, `${USE}_sum`, { pool_name: 'orders' }) ?? NaN) - 0.04025) < 1e-12);
    assert.ok(Math.abs((valueOf(families, `${CREATE}_sum`, { pool_name: 'orders' }) ?? NaN) - 0.003) < 1e-12);
    // Buckets (le: 0.001 0.005 0.01 0.05 0.1 0.5 1 5 10 30).
    assert.deepEqual(bucketsOf(families, WAIT, 'orders'), cumulative([1, 2, 2, 2, 2, 2, 2, 2, 2, 2]));
    assert.deepEqual(bucketsOf(families, WAIT, 'reports'), cumulative([1, 2, 2, 2, 2, 2, 2, 2, 2, 2]));
    assert.deepEqual(bucketsOf(families, USE, 'orders'), cumulative([0, 0, 0, 1, 1, 1, 1, 1, 1, 1]));
    assert.deepEqual(bucketsOf(families, USE, 'reports'), cumulative([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert.deepEqual(bucketsOf(families, CREATE, 'reports'), cumulative([1, 2, 2, 2, 2, 2, 2, 2, 2, 2]));
  });

  test('values are read at scrape time: a second scrape sees the new state', async (t) => {
    const s = setup(t);
    const adapter = new FakePoolAdapter({ max: 4, total: 1, idle: 1 });
    const tracker = s.inspector.registerPool(adapter, { name: 'main', leakThresholdMillis: 0 });
    const exporter = exporterFor(t, s.inspector);
    let families = parseExposition(await exporter.metrics());
    assert.equal(valueOf(families, 'db_client_connection_usage', { pool_name: 'main', state: 'used' }), 0);
    assert.equal(valueOf(families, `${WAIT}_count`, { pool_name: 'main' }), 0);
    const lease = checkout(s, tracker, 1);
    adapter.set({ idle: 0 });
    families = parseExposition(await exporter.metrics());
    assert.equal(valueOf(families, 'db_client_connection_usage', { pool_name: 'main', state: 'used' }), 1);
    assert.equal(valueOf(families, 'db_client_connection_usage', { pool_name: 'main', state: 'idle' }), 0);
    assert.equal(valueOf(families, 'poolscope_pool_utilization_ratio', { pool_name: 'main' }), 0.25);
    assert.equal(valueOf(families, `${WAIT}_count`, { pool_name: 'main' }), 1);
    release(tracker, lease);
    families = parseExposition(await exporter.metrics());
    assert.equal(valueOf(families, 'db_client_connection_usage', { pool_name: 'main', state: 'used' }), 0);
    assert.equal(valueOf(families, `${USE}_count`, { pool_name: 'main' }), 1);
  });

  test('a pool tracked later appears; an untracked pool disappears; the others keep their cumulative counters', async (t) => {
    const s = setup(t);
    const a = s.inspector.registerPool(new FakePoolAdapter({ max: 3 }), { name: 'a', leakThresholdMillis: 0 });
    const exporter = exporterFor(t, s.inspector);
    release(a, checkout(s, a, 1));
    assert.deepEqual(poolsIn(parseExposition(await exporter.metrics())), ['a']);

    const b = s.inspector.registerPool(new FakePoolAdapter({ max: 5 }), { name: 'b', leakThresholdMillis: 0 });
    checkout(s, b, 2);
    let families = parseExposition(await exporter.metrics());
    assert.deepEqual(poolsIn(families), ['a', 'b']);
    assert.equal(valueOf(families, 'db_client_connection_max', { pool_name: 'b' }), 5);
    assert.equal(valueOf(families, `${WAIT}_count`, { pool_name: 'b' }), 1);

    s.inspector.untrack('a');
    families = parseExposition(await exporter.metrics());
    assert.deepEqual(poolsIn(families), ['b'], 'every series of the untracked pool is gone');
    for (const m of METRIC_CATALOG) assert.ok(families.has(m.prometheusName), `${m.prometheusName} still declared`);
    assert.equal(valueOf(families, `${WAIT}_count`, { pool_name: 'b' }), 1);

    // Re-tracking a name starts a new tracker, whose counters start at zero (a counter reset, as Prometheus expects).
    s.inspector.registerPool(new FakePoolAdapter({ max: 3 }), { name: 'a', leakThresholdMillis: 0 });
    families = parseExposition(await exporter.metrics());
    assert.deepEqual(poolsIn(families), ['a', 'b']);
    assert.equal(valueOf(families, `${WAIT}_count`, { pool_name: 'a' }), 0);

    s.inspector.close();
    families = parseExposition(await exporter.metrics());
    assert.deepEqual(poolsIn(families), [], 'a closed inspector has no pools');
  });

  test('the pool name is the pool_name label as given (every character a pool name may hold)', async (t) => {
    const s = setup(t);
    s.inspector.registerPool(new FakePoolAdapter({ max: 1 }), { name: 'Tenant_42:ro.replica-1', leakThresholdMillis: 0 });
    const exporter = exporterFor(t, s.inspector);
    const families = parseExposition(await exporter.metrics());
    assert.deepEqual(poolsIn(families), ['Tenant_42:ro.replica-1']);
  });
});

test('PrometheusExporter: a pool whose stats cannot be read is left out and reported to onError; the scrape goes on', async (t) => {
  class BrokenAdapter extends FakePoolAdapter {
    override totalCount(): number {
      throw new Error('driver exploded');
    }
  }
  const errors: unknown[] = [];
  const inspector = new Inspector({ clock: new FakeClock(), historyIntervalMillis: 0, alerts: false, onError: (e) => errors.push(e) });
  t.after(() => inspector.close());
  inspector.registerPool(new BrokenAdapter({ max: 1 }), { name: 'broken', leakThresholdMillis: 0 });
  inspector.registerPool(new FakePoolAdapter({ max: 7 }), { name: 'fine', leakThresholdMillis: 0 });
  const exporter = exporterFor(t, inspector);
  const families = parseExposition(await exporter.metrics());
  assert.equal(valueOf(families, 'db_client_connection_max', { pool_name: 'fine' }), 7);
  assert.equal(valueOf(families, 'db_client_connection_max', { pool_name: 'broken' }), undefined);
  assert.equal(errors.length, 1, 'read once per scrape, reported once');
  assert.match(String(errors[0]), /driver exploded/);
});

describe('PrometheusExporter: histogram buckets', () => {
  test('buckets are cumulative and +Inf and _count equal the checkout count', async (t) => {
    const s = setup(t);
    const tracker = s.inspector.registerPool(new FakePoolAdapter({ max: 100 }), { name: 'p', leakThresholdMillis: 0 });
    const exporter = exporterFor(t, s.inspector);
    const waits = [0.05, 0.3, 2, 7, 60, 2000, 45_000];
    for (const wait of waits) release(tracker, checkout(s, tracker, wait));
    const families = parseExposition(await exporter.metrics());
    assert.deepEqual(bucketsOf(families, WAIT, 'p'), cumulative([2, 3, 4, 4, 5, 5, 5, 6, 6, 6]));
    assert.equal(valueOf(families, `${WAIT}_bucket`, { pool_name: 'p', le: '+Inf' }), waits.length);
    assert.equal(valueOf(families, `${WAIT}_count`, { pool_name: 'p' }), waits.length);
    assert.equal(valueOf(families, `${USE}_count`, { pool_name: 'p' }), waits.length);
    const sum = valueOf(families, `${WAIT}_sum`, { pool_name: 'p' }) ?? NaN;
    assert.ok(Math.abs(sum - 47.06935) < 1e-9, `sum ${sum}`);
  });

  test('documented approximation: a value just under a decimal bound is counted in the next bucket up', async (t) => {
    const s = setup(t);
    const tracker = s.inspector.registerPool(new FakePoolAdapter({ max: 10 }), { name: 'p', leakThresholdMillis: 0 });
    const exporter = exporterFor(t, s.inspector);
    // 0.95 ms <= 1 ms, but poolscope's bucket holding it ends at 1.024 ms, above the le="0.001" bound (see metrics.md).
    checkout(s, tracker, 0.95);
    const families = parseExposition(await exporter.metrics());
    assert.equal(valueOf(families, `${WAIT}_bucket`, { pool_name: 'p', le: '0.001' }), 0);
    assert.equal(valueOf(families, `${WAIT}_bucket`, { pool_name: 'p', le: '0.005' }), 1);
  });

  test('custom buckets: exactly the given bounds, then +Inf', async (t) => {
    const s = setup(t);
    const tracker = s.inspector.registerPool(new FakePoolAdapter({ max: 10 }), { name: 'p', leakThresholdMillis: 0 });
    const exporter = exporterFor(t, s.inspector, { buckets: [0.001024, 0.25] });
    checkout(s, tracker, 1.024); // exactly poolscope's bound 2^10 us: counted in le="0.001024"
    checkout(s, tracker, 100);
    const families = parseExposition(await exporter.metrics());
    assert.deepEqual(
      families
        .get(WAIT)
        ?.samples.filter((x) => x.name === `${WAIT}_bucket`)
        .map((x) => [x.labels.le, x.value]),
      [
        ['0.001024', 1],
        ['0.25', 2],
        ['+Inf', 2],
      ],
    );
  });
});

describe('PrometheusExporter: the direct writer and prom-client write the same text', () => {
  /** Three pools with durations spread over every default bucket, two of them created. */
  function busyInspector(t: TestContext): Setup {
    const s = setup(t);
    const waits = [0.02, 0.3, 0.9, 2, 7, 40, 90, 300, 900, 2000, 8000, 20_000, 45_000];
    for (const [p, name] of ['orders', 'reports', 'Tenant_42:ro.replica-1'].entries()) {
      const tracker = s.inspector.registerPool(new FakePoolAdapter({ max: 10 + p, min: p, total: 4, idle: 2, waiting: p }), {
        name,
        leakThresholdMillis: 0,
      });
      for (const [i, wait] of waits.slice(p).entries()) {
        const lease = checkout(s, tracker, wait, i % 3 === 0);
        s.clock.advance(wait * 2 + 0.123);
        release(tracker, lease, i === 1 ? 'in-transaction' : 'idle');
      }
      checkout(s, tracker, 1.5);
    }
    // Worker pools: every shape (per status, scalars with and without a queue limit, histograms, memory per worker).
    for (const [p, name] of ['images', 'Reports_7:ro.replica-1'].entries()) {
      const adapter = new FakeWorkerPoolAdapter(p === 0 ? 'thread' : 'process');
      adapter.limit = p === 0 ? null : 8;
      adapter.add({ threadId: p === 0 ? 3 : null, pid: p === 0 ? null : process.pid, load: 1 });
      adapter.add({ ready: false });
      const tracker = s.inspector.registerWorkerPool(adapter, { name, memorySampleIntervalMillis: 0 });
      for (const [i, wait] of waits.slice(p).entries()) {
        const task = tracker.taskQueued();
        s.clock.advance(wait);
        tracker.taskStarted(task);
        s.clock.advance(wait * 3 + 0.5);
        tracker.taskFinished(task, i % 4 !== 0);
      }
    }
    return s;
  }

  /**
   * exporter.metrics() against prom-client's own serializer (registry.metrics(), which reads poolscope's samples
   * through get()); `direct` says whether exporter.metrics() must have written poolscope's families itself.
   */
  async function assertSameText(t: TestContext, exporter: PrometheusExporter, direct: boolean): Promise<string> {
    const registry = exporter.registry as Registry<RegistryContentType>;
    const expected = await registry.metrics();
    const serializer = t.mock.method(registry, 'metrics');
    const actual = await exporter.metrics();
    assert.equal(serializer.mock.callCount(), direct ? 0 : 1, direct ? 'written directly' : "prom-client's serializer");
    serializer.mock.restore();
    assertSameLines(actual, expected);
    assertSameLines(await registry.metrics(), actual, 'and again, after prom-client renamed OpenMetrics counters');
    return actual;
  }

  /** Compares line by line: a failure names the first differing line (a diff of two long texts takes minutes). */
  function assertSameLines(actual: string, expected: string, message = ''): void {
    const a = actual.split('\n');
    const e = expected.split('\n');
    const first = a.findIndex((line, i) => line !== e[i]);
    if (first !== -1) assert.equal(a[first], e[first], `${message} line ${first + 1}`);
    assert.equal(a.length, e.length, `${message} line count`);
  }

  test('a registry of its own, default and custom buckets', async (t) => {
    const s = busyInspector(t);
    const text = await assertSameText(t, exporterFor(t, s.inspector), true);
    parseExposition(text);
    assert.ok(text.includes('db_client_connection_wait_time_seconds_bucket{le="0.001",pool_name="orders"} 2\n'), text.slice(0, 200));
    // Worker pools too: a process's memory (this process, read by pid); none for a thread that never answered.
    assert.match(text, /\npoolscope_worker_pool_worker_memory_usage_bytes\{pool_name="Reports_7:ro\.replica-1",profile="process",worker_id="1"\} [1-9]\d+\n/);
    assert.doesNotMatch(text, /memory_usage_bytes\{pool_name="images"/);
    await assertSameText(t, exporterFor(t, s.inspector, { buckets: [0.000512, 0.002, 0.25, 3600] }), true);
  });

  test('your registry: your metrics in registration order, default labels (escaped, never replacing a label)', async (t) => {
    const s = busyInspector(t);
    const registry = new Registry();
    const requests = new Counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['route'], registers: [registry] });
    requests.inc({ route: '/a' }, 3);
    const exporter = exporterFor(t, s.inspector, { registry });
    new Gauge({ name: 'app_up', help: 'Up.', registers: [registry] }).set(1);
    new PromHistogram({ name: 'app_latency_seconds', help: 'Latency.', buckets: [0.1, 1], registers: [registry] }).observe(0.5);
    await assertSameText(t, exporter, true);
    registry.setDefaultLabels({ region: 'eu "west"\\1\nb', pool_name: 'not used on poolscope samples', shard: 3 });
    const text = await assertSameText(t, exporter, true);
    parseExposition(text);
    assert.ok(text.includes('db_client_connection_max{pool_name="orders",region="eu \\"west\\"\\\\1\\nb",shard="3"} 10\n'), 'default labels after the pool label, escaped');
  });

  test('OpenMetrics: written directly on a registry of its own; through prom-client with your metrics on it', async (t) => {
    const s = busyInspector(t);
    const own = new Registry<OpenMetricsContentType>();
    own.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const text = await assertSameText(t, exporterFor(t, s.inspector, { registry: own }), true);
    assert.ok(text.includes('# TYPE poolscope_pool_dirty_releases counter\npoolscope_pool_dirty_releases_total{pool_name="orders"} 1\n'), 'OpenMetrics counter family and sample names');
    assert.ok(text.endsWith('\n# EOF\n'), 'OpenMetrics ends with # EOF');

    const shared = new Registry<OpenMetricsContentType>();
    shared.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    new Counter({ name: 'app_requests_total', help: 'Requests.', registers: [shared] }).inc();
    await assertSameText(t, exporterFor(t, s.inspector, { registry: shared }), false);
  });

  test('an empty inspector: every family declared, no samples', async (t) => {
    const s = setup(t);
    const text = await assertSameText(t, exporterFor(t, s.inspector), true);
    assert.equal(parseExposition(text).size, ALL_FAMILIES.length);
  });
});

describe('PrometheusExporter: registry', () => {
  test('close() removes only its metrics; idempotent; the user registry keeps its own', async (t) => {
    const s = setup(t);
    s.inspector.registerPool(new FakePoolAdapter({ max: 1 }), { name: 'p', leakThresholdMillis: 0 });
    const registry = new Registry();
    const mine = new Counter({ name: 'app_requests_total', help: 'Requests.', registers: [registry] });
    mine.inc(3);
    const exporter = new PrometheusExporter(s.inspector, { registry });
    assert.equal(exporter.registry, registry);
    assert.equal(exporter.contentType, registry.contentType);
    registry.resetMetrics(); // must not break poolscope's metrics (they are read from the trackers)
    mine.inc(3);
    let families = parseExposition(await exporter.metrics());
    assert.equal(families.size, ALL_FAMILIES.length + 1);
    assert.equal(valueOf(families, 'app_requests_total', {}), 3);
    assert.equal(valueOf(families, 'db_client_connection_max', { pool_name: 'p' }), 1);

    exporter.close();
    assert.equal(exporter.closed, true);
    exporter.close();
    families = parseExposition(await registry.metrics());
    assert.deepEqual([...families.keys()], ['app_requests_total']);
    for (const m of ALL_FAMILIES) assert.equal(registry.getSingleMetric(m.prometheusName), undefined);

    // The names are free again: a new exporter can register on the same registry.
    const again = exporterFor(t, s.inspector, { registry });
    assert.equal(valueOf(parseExposition(await again.metrics()), 'db_client_connection_max', { pool_name: 'p' }), 1);
  });

  test('a second exporter on the same registry fails with OptionsError and changes nothing', async (t) => {
    const s = setup(t);
    s.inspector.registerPool(new FakePoolAdapter({ max: 1 }), { name: 'p', leakThresholdMillis: 0 });
    const registry = new Registry();
    const first = exporterFor(t, s.inspector, { registry });
    const before = registry.getMetricsAsArray();
    assert.throws(
      () => new PrometheusExporter(s.inspector, { registry }),
      (error: unknown) =>
        error instanceof OptionsError &&
        error.code === 'POOLSCOPE_ERR_OPTIONS_INVALID' &&
        error.option === 'registry' &&
        error.message.includes('"db_client_connection_usage"') &&
        error.message.includes('close()'),
    );
    assert.deepEqual(registry.getMetricsAsArray(), before, 'registry untouched');
    assert.equal(valueOf(parseExposition(await first.metrics()), 'db_client_connection_max', { pool_name: 'p' }), 1);
  });

  test('a clash with one of your own metric names fails before registering anything', (t) => {
    const s = setup(t);
    const registry = new Registry();
    new Counter({ name: 'poolscope_pool_dirty_releases_total', help: 'Mine.', registers: [registry] });
    assert.throws(
      () => new PrometheusExporter(s.inspector, { registry }),
      (error: unknown) => error instanceof OptionsError && error.message.includes('"poolscope_pool_dirty_releases_total"'),
    );
    assert.deepEqual(
      registry.getMetricsAsArray().map((m) => m.name),
      ['poolscope_pool_dirty_releases_total'],
    );
  });

  test('an OpenMetrics registry: its content type, counters per OpenMetrics, close() still removes everything', async (t) => {
    const s = setup(t);
    s.inspector.registerPool(new FakePoolAdapter({ max: 2 }), { name: 'p', leakThresholdMillis: 0 });
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const exporter = new PrometheusExporter(s.inspector, { registry });
    assert.equal(exporter.contentType, Registry.OPENMETRICS_CONTENT_TYPE);
    const text = await exporter.metrics();
    assert.ok(text.endsWith('# EOF\n'), 'OpenMetrics ends with # EOF');
    assert.ok(text.includes('# TYPE db_client_connection_timeouts counter\n'), 'OpenMetrics names the counter family without _total');
    assert.ok(text.includes('db_client_connection_timeouts_total{pool_name="p"} 0\n'), 'OpenMetrics counter sample with _total');
    assert.ok(text.includes('db_client_connection_wait_time_seconds_count{pool_name="p"} 0\n'), 'histogram _count sample');
    exporter.close();
    assert.deepEqual(registry.getMetricsAsArray(), []);
  });

  test('invalid options fail with OptionsError', (t) => {
    const s = setup(t);
    const invalid: [unknown, string][] = [
      [{ buckets: [] }, 'buckets'],
      [{ buckets: [0, 1] }, 'buckets'],
      [{ buckets: [1, 1] }, 'buckets'],
      [{ buckets: [2, 1] }, 'buckets'],
      [{ buckets: [0.1, Infinity] }, 'buckets'],
      [{ buckets: '0.1' }, 'buckets'],
      [{ registry: {} }, 'registry'],
      [null, 'options'],
    ];
    for (const [options, option] of invalid) {
      assert.throws(
        () => new PrometheusExporter(s.inspector, options as never),
        (error: unknown) => error instanceof OptionsError && error.option === option,
        JSON.stringify(options),
      );
    }
    assert.throws(() => new PrometheusExporter({} as never), (error: unknown) => error instanceof OptionsError && error.option === 'inspector');
  });
});
